/**
 * The health sweep's detection: the anomalies no score report carries, found every few minutes from
 * the registry and the table. Pure: the caller gathers the facts (STATE items, latest reports, queue
 * depths, running executions) and writes the findings.
 *
 * - MISSED_RUN (dead man's switch): a schedule slot passed, plus a grace period, and the job's
 *   `slot_<job>` claim is older than the slot (every run, even a skipped one, claims its slot).
 * - STUCK_EXECUTION: a pipeline RUNNING past its timeout (plus grace): the caller stops it and
 *   records a CRASHED report, so the slot has a report and the lock is released.
 * - UNRECORDED_RUN: a job's slot claim or lock belongs to an execution that no longer runs, and the
 *   slot has no report (its Record step gave up). `unrecordedCandidates` names the executions; the
 *   caller checks the report, records the slot FAILED through the protocol's Record step (which
 *   releases the lock with its fence) and writes the finding (`unrecordedRunFinding`).
 * - QUEUE_OVERFLOW, STALE_DATA, API_QUOTA_LOW, RESOURCE_EXHAUSTION from the design's thresholds.
 * - the intel cycle (intel_orchestrator): a missed cycle is a MISSED_RUN; a failed last cycle a finding.
 *
 * Each finding has a `window`: the slot for a missed run or a stuck execution, else the alert dedup
 * window of its severity, so the finding item `HEALTH#<kind>#<window>` is written once per window.
 */
import { ALL_WORKERS, maxDependencyWaitSeconds, type DependencySpec, type JobSpec, type WorkerSpec } from '../registry/index.js';
import { windowStartFor } from './alerting.js';
import { RULE_BY_CODE, THRESHOLDS, type AnomalyCode, type Severity } from './anomaly-rules.js';
import { lastOccurrence, occurrences } from './schedule-math.js';
import type { WorkerScoreReport } from './score-report.js';
import { freshAtOf, type WorkerStateItem } from './worker-state.js';

/** How often the sweep runs. */
export const SWEEP_INTERVAL_MINUTES = 5;
/** A slot is missed only this long after it passed (Scheduler retries for up to 5 minutes). */
export const MISSED_RUN_GRACE_SECONDS = 10 * 60;
/** How far back the sweep looks for a missed slot (a slot missed longer ago was already found). */
export const MISSED_RUN_LOOKBACK_HOURS = 26;
/** A RUNNING execution is stuck this long after its timeout (Step Functions should have ended it). */
export const STUCK_GRACE_SECONDS = 5 * 60;
/**
 * How far back the sweep looks for executions that ended without their Record step (TIMED_OUT at
 * the machine level, or ABORTED): several sweeps, so one failed sweep misses none. Recording is
 * idempotent (one report per slot), so seeing an execution in several sweeps costs reads only.
 */
export const ENDED_LOOKBACK_MINUTES = 30;
/** Extra age allowed for an ABORTED execution (stopped by hand after running past its timeout). */
export const ENDED_START_SLACK_SECONDS = 3600;

/** The executions an ENDED listing wants: stopped at or after `stoppedSinceMs`. */
export interface EndedWindow {
  /** Epoch ms: the look-back edge. */
  readonly stoppedSinceMs: number;
  /**
   * Epoch ms: an execution started before this cannot have stopped inside the window (it ran at most
   * its timeout plus grace and slack), so a newest-first listing may stop paging there.
   */
  readonly startedSinceMs: number;
}

/** The listing window of a job's ended executions at `nowMs`. */
export function endedWindow(job: Pick<JobSpec, 'timeoutSeconds'> | undefined, nowMs: number, lookbackMinutes: number = ENDED_LOOKBACK_MINUTES): EndedWindow {
  const stoppedSinceMs = nowMs - lookbackMinutes * 60_000;
  // Without the job (not in the registry), Lambda's 900 s maximum stands in for its timeout.
  const maxRunSeconds = (job?.timeoutSeconds ?? 900) + STUCK_GRACE_SECONDS + ENDED_START_SLACK_SECONDS;
  return { stoppedSinceMs, startedSinceMs: stoppedSinceMs - maxRunSeconds * 1000 };
}

export const HEALTH_KINDS = ['MISSED_RUN', 'STUCK_EXECUTION', 'UNRECORDED_RUN', 'QUEUE_OVERFLOW', 'STALE_DATA', 'API_QUOTA_LOW', 'RESOURCE_EXHAUSTION', 'INTEL_CYCLE_FAILED'] as const;
export type HealthKind = (typeof HEALTH_KINDS)[number];

/** Which anomaly each kind is raised as (the alert path's codes). */
export const HEALTH_ANOMALY: Readonly<Record<HealthKind, AnomalyCode>> = {
  MISSED_RUN: 'WORKER_CRASH',
  STUCK_EXECUTION: 'WORKER_CRASH',
  UNRECORDED_RUN: 'WORKER_CRASH',
  QUEUE_OVERFLOW: 'QUEUE_OVERFLOW',
  STALE_DATA: 'STALE_DATA',
  API_QUOTA_LOW: 'API_QUOTA_LOW',
  RESOURCE_EXHAUSTION: 'RESOURCE_EXHAUSTION',
  INTEL_CYCLE_FAILED: 'DEPENDENCY_FAILURE',
};

/** The kind of the item by which the sweep says an incident's condition is gone: `CLEARED_<anomaly>`. */
export type ClearedKind = `CLEARED_${AnomalyCode}`;

export interface HealthFinding {
  readonly kind: HealthKind | ClearedKind;
  readonly anomaly: AnomalyCode;
  readonly severity: Severity;
  readonly worker: string;
  /** Null when the finding is about the worker as a whole. */
  readonly job: string | null;
  readonly detail: string;
  readonly observed: number | string;
  readonly threshold: number | string;
  /** ISO-8601: the dedup window (see the module comment). */
  readonly window: string;
  /** For a stuck execution: the execution to stop. */
  readonly executionArn?: string;
  /** For a missed run or stuck execution: the slot. */
  readonly scheduledTime?: string;
}

export interface RunningExecution {
  readonly worker: string;
  readonly job: string;
  readonly executionArn: string;
  readonly startMs: number;
  readonly scheduledTime: string | null;
}

export interface SweepFacts {
  readonly nowMs: number;
  readonly workers: readonly WorkerSpec[];
  readonly states: Readonly<Record<string, WorkerStateItem | undefined>>;
  /** The latest report of each worker whose report the rules read (`readsLatestReport`). */
  readonly latestReports: Readonly<Record<string, WorkerScoreReport | undefined>>;
  /** ApproximateNumberOfMessages of each on-demand worker's queue. */
  readonly queueDepths: Readonly<Record<string, number>>;
  readonly running: readonly RunningExecution[];
  /** Quota left per worker (QUOTA items), in percent; else the latest report's `quota_remaining_percent` metric. */
  readonly quotaRemainingPercent?: Readonly<Record<string, number>>;
  /** Peak memory of the latest run per worker, in percent of its limit; else the report's `memory_percent` metric. */
  readonly memoryPercent?: Readonly<Record<string, number>>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The report metrics the sweep's rules read: API_QUOTA_LOW and RESOURCE_EXHAUSTION. */
export const QUOTA_METRIC = 'quota_remaining_percent';
export const MEMORY_METRIC = 'memory_percent';

/**
 * Whether the sweep's rules can find anything in the worker's latest report: it runs as a
 * sub-pipeline (INTEL_CYCLE_FAILED), or it declares a metric the rules read. A report carries only
 * the score metrics its worker declares in the registry (the worker kit drops the others), so the
 * sweep reads no other worker's latest report: from the registry, one Query per sweep instead of one
 * per worker.
 */
export function readsLatestReport(worker: Pick<WorkerSpec, 'executionModel' | 'scoreMetrics'>): boolean {
  return worker.executionModel === 'sub-pipeline' || worker.scoreMetrics.includes(QUOTA_METRIC) || worker.scoreMetrics.includes(MEMORY_METRIC);
}

function finding(kind: HealthKind, worker: string, job: string | null, nowMs: number, rest: Pick<HealthFinding, 'detail' | 'observed' | 'threshold'> & Partial<HealthFinding>): HealthFinding {
  const anomaly = HEALTH_ANOMALY[kind];
  const severity = RULE_BY_CODE[anomaly].severity;
  return { kind, anomaly, severity, worker, job, window: iso(windowStartFor(severity, nowMs)), ...rest };
}

/** The latest slot of a job's schedules that is past its grace, or null. */
export function lastDueSlotMs(worker: WorkerSpec, job: JobSpec, nowMs: number, graceSeconds: number = MISSED_RUN_GRACE_SECONDS): number | null {
  const grace = (graceSeconds + maxDependencyWaitSeconds(worker, job)) * 1000;
  const to = nowMs - grace + 1;
  const from = nowMs - MISSED_RUN_LOOKBACK_HOURS * 3600_000;
  let latest: number | null = null;
  for (const s of job.schedules) {
    const last = lastOccurrence(s.expression, s.timezone, from, to);
    if (last !== null && (latest === null || last > latest)) latest = last;
  }
  return latest;
}

/** Missed runs: a due slot whose claim is missing or older. */
export function missedRuns(facts: SweepFacts): HealthFinding[] {
  const out: HealthFinding[] = [];
  for (const worker of facts.workers) {
    if (worker.executionModel !== 'scheduled' && worker.executionModel !== 'sub-pipeline') continue;
    for (const job of worker.jobs) {
      const slot = lastDueSlotMs(worker, job, facts.nowMs);
      if (slot === null) continue;
      // A recovery slowed the worker's schedules: the slowed schedule skips registry slots until then.
      const slowedUntil = facts.states[worker.id]?.scheduleSlowedUntilMs ?? null;
      if (slowedUntil !== null && slot < slowedUntil) continue;
      const claimed = facts.states[worker.id]?.slots[job.id];
      const claimedMs = claimed === undefined ? null : Date.parse(claimed);
      if (claimedMs !== null && claimedMs >= slot) continue;
      // A run of this slot still in progress has claimed it already; one that has not is missing.
      out.push(
        finding('MISSED_RUN', worker.id, job.id, facts.nowMs, {
          detail: `${worker.id}.${job.id}: no run for the ${iso(slot)} slot (last claimed ${claimed ?? 'never'})`,
          observed: claimed ?? 'never',
          threshold: iso(slot),
          window: iso(slot),
          scheduledTime: iso(slot),
        }),
      );
    }
  }
  return out;
}

/** Executions RUNNING past their pipeline's timeout plus grace. */
export function stuckExecutions(facts: SweepFacts): HealthFinding[] {
  const out: HealthFinding[] = [];
  for (const run of facts.running) {
    const job = facts.workers.find((w) => w.id === run.worker)?.jobs.find((j) => j.id === run.job);
    if (!job) continue;
    const limitMs = (job.timeoutSeconds + STUCK_GRACE_SECONDS) * 1000;
    const ageMs = facts.nowMs - run.startMs;
    if (ageMs <= limitMs) continue;
    out.push(
      finding('STUCK_EXECUTION', run.worker, run.job, facts.nowMs, {
        detail: `${run.executionArn} RUNNING for ${Math.round(ageMs / 1000)} s, past its ${job.timeoutSeconds} s timeout`,
        observed: Math.round(ageMs / 1000),
        threshold: job.timeoutSeconds,
        window: iso(run.startMs),
        executionArn: run.executionArn,
        ...(run.scheduledTime !== null ? { scheduledTime: run.scheduledTime } : {}),
      }),
    );
  }
  return out;
}

/** An execution that claimed a job's slot or holds its lock but no longer runs: its slot may be unreported. */
export interface UnrecordedCandidate {
  readonly worker: string;
  readonly job: string;
  readonly executionArn: string;
  /** The slot it claimed; null when it only holds the lock (its input names the slot). */
  readonly claimedSlot: string | null;
  /** Whether it still holds the job's lock. */
  readonly holdsLock: boolean;
}

/**
 * Slot owners and lock holders that are not among the RUNNING executions of their job's pipeline.
 * Only pipelines whose RUNNING listing succeeded (`listed`, keys `<worker>.<job>`) are judged: an
 * execution missing from a failed listing is not known to have ended. The STATE items must have
 * been read before the listings, so an execution seen in them and absent from a listing has ended.
 */
export function unrecordedCandidates(facts: SweepFacts, listed: ReadonlySet<string>): UnrecordedCandidate[] {
  const running = new Set(facts.running.map((r) => r.executionArn));
  const out: UnrecordedCandidate[] = [];
  for (const worker of facts.workers) {
    const state = facts.states[worker.id];
    if (state === undefined) continue;
    for (const job of worker.jobs) {
      if (!listed.has(`${worker.id}.${job.id}`)) continue;
      const owner = state.slotOwners[job.id];
      const holder = state.locks[job.id]?.holder ?? null;
      const seen = new Set<string>();
      for (const arn of [owner, holder]) {
        if (arn === undefined || arn === null || seen.has(arn) || running.has(arn)) continue;
        seen.add(arn);
        out.push({ worker: worker.id, job: job.id, executionArn: arn, claimedSlot: arn === owner ? (state.slots[job.id] ?? null) : null, holdsLock: arn === holder });
      }
    }
  }
  return out;
}

/** The finding for a slot the sweep recorded because its execution ended without a report. */
export function unrecordedRunFinding(c: Pick<UnrecordedCandidate, 'worker' | 'job' | 'executionArn'>, scheduledTime: string, nowMs: number): HealthFinding {
  return finding('UNRECORDED_RUN', c.worker, c.job, nowMs, {
    detail: `${c.worker}.${c.job}: ${c.executionArn} ended without a report for the ${scheduledTime} slot (its Record step failed); recorded FAILED by the health sweep`,
    observed: 'no report',
    threshold: 'one report per slot',
    window: scheduledTime,
    executionArn: c.executionArn,
    scheduledTime,
  });
}

const TWO_DAYS_MS = 2 * 24 * 3600 * 1000;

/**
 * How old a dependency's data may get before the sweep calls it stale: the dependency's
 * threshold, or, when the consumed job refreshes less often, its longest interval between runs
 * (its own schedules and those of a sub-pipeline it is a stage of) plus its timeout. The threshold
 * holds when the consumer runs (its gate checks it, and the intel cycle refreshes the job first);
 * between runs, data older than the threshold is only stale once a refresh is overdue (youtube
 * games runs every 4 h, creator intel needs it no older than an hour at its run).
 */
export function staleAfterSeconds(dep: DependencySpec, nowMs: number, registry: readonly WorkerSpec[] = ALL_WORKERS): number {
  const threshold = dep.freshnessSeconds ?? 0;
  const job = dep.job === undefined ? undefined : registry.find((w) => w.id === dep.on)?.jobs.find((j) => j.id === dep.job);
  if (job === undefined) return threshold;
  const cycles = registry.filter((w) => (w.stages ?? []).some((s) => s.worker === dep.on && s.job === dep.job));
  const schedules = [...job.schedules, ...cycles.flatMap((c) => c.jobs.flatMap((j) => j.schedules))];
  const times = [...new Set(schedules.flatMap((sch) => occurrences(sch.expression, sch.timezone, nowMs - TWO_DAYS_MS, nowMs)))].sort((a, b) => a - b);
  let gapMs = 0;
  for (let i = 1; i < times.length; i++) gapMs = Math.max(gapMs, (times[i] as number) - (times[i - 1] as number));
  return Math.max(threshold, Math.ceil(gapMs / 1000) + job.timeoutSeconds);
}

/** Queue depth, stale data, quota and memory from the design's thresholds; the intel cycle's last status. */
export function levelFindings(facts: SweepFacts): HealthFinding[] {
  const out: HealthFinding[] = [];
  const { nowMs } = facts;
  for (const worker of facts.workers) {
    const depth = facts.queueDepths[worker.id];
    if (depth !== undefined && depth > THRESHOLDS.queueDepthMax) {
      out.push(finding('QUEUE_OVERFLOW', worker.id, null, nowMs, { detail: `${worker.id} queue holds ${depth} jobs`, observed: depth, threshold: THRESHOLDS.queueDepthMax }));
    }
    for (const dep of worker.dependencies) {
      if (dep.relation !== 'data' || dep.freshnessSeconds === undefined) continue;
      // The freshness of the job consumed: youtube's trending succeeding says nothing of its games.
      const freshAtMs = dep.job === undefined ? (facts.states[dep.on]?.freshAtMs ?? null) : freshAtOf(facts.states[dep.on], dep.job);
      const ageSeconds = freshAtMs === null ? null : Math.round((nowMs - freshAtMs) / 1000);
      const limitSeconds = staleAfterSeconds(dep, nowMs);
      if (ageSeconds !== null && ageSeconds <= limitSeconds) continue;
      out.push(
        finding('STALE_DATA', worker.id, null, nowMs, {
          detail: `${worker.id} needs ${dep.job === undefined ? dep.on : `${dep.on}.${dep.job}`} data no older than ${dep.freshnessSeconds} s at its run, refreshed at least every ${limitSeconds} s; it is ${ageSeconds === null ? 'missing' : `${ageSeconds} s old`}`,
          observed: ageSeconds ?? 'never',
          threshold: limitSeconds,
        }),
      );
    }
    const report = facts.latestReports[worker.id];
    const quota = facts.quotaRemainingPercent?.[worker.id] ?? numericMetric(report, QUOTA_METRIC);
    if (quota !== null && quota < THRESHOLDS.quotaRemainingPercentMin) {
      out.push(finding('API_QUOTA_LOW', worker.id, null, nowMs, { detail: `${worker.id}: ${quota}% of the API quota left`, observed: quota, threshold: THRESHOLDS.quotaRemainingPercentMin }));
    }
    const memory = facts.memoryPercent?.[worker.id] ?? numericMetric(report, MEMORY_METRIC);
    if (memory !== null && memory > THRESHOLDS.memoryPercentMax) {
      out.push(finding('RESOURCE_EXHAUSTION', worker.id, report?.jobId ?? null, nowMs, { detail: `${worker.id} peaked at ${memory}% of its memory`, observed: memory, threshold: THRESHOLDS.memoryPercentMax }));
    }
    if (worker.executionModel === 'sub-pipeline' && (report?.status === 'FAILED' || report?.status === 'CRASHED') && !cycleHealedSince(report, facts)) {
      // The cause names the failed stage (lib/domain/cycle.ts), so the incident lands on that job.
      const cause = report.error?.cause ?? '';
      out.push(finding('INTEL_CYCLE_FAILED', worker.id, report.jobId, nowMs, { detail: `${worker.id}: the last cycle ${report.status}${cause === '' ? '' : `: ${cause}`}`, observed: report.status, threshold: 'SUCCEEDED' }));
    }
  }
  return out;
}

/**
 * Whether the stage a failed cycle names has succeeded since (a recovery retried it): its worker's
 * data is fresher than the failed cycle. Then the failed cycle is no longer a current condition,
 * and the sweep stops raising it until the next cycle tells otherwise.
 */
export function cycleHealedSince(report: WorkerScoreReport, facts: Pick<SweepFacts, 'states'>): boolean {
  const stage = STAGE_NAMED.exec(report.error?.cause ?? '');
  if (stage?.[1] === undefined) return false;
  const freshAtMs = facts.states[stage[1]]?.freshAtMs ?? null;
  return freshAtMs !== null && freshAtMs > Date.parse(report.completedAt);
}

const STAGE_NAMED = /\bstage ([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*) failed\b/;

/** The item that tells the anomaly Lambda an incident's condition is gone (the sweep no longer finds it). */
export function clearedFinding(key: { readonly worker: string; readonly job: string | null; readonly anomaly: AnomalyCode }, nowMs: number): HealthFinding {
  const severity = RULE_BY_CODE[key.anomaly].severity;
  return {
    kind: `CLEARED_${key.anomaly}`,
    anomaly: key.anomaly,
    severity,
    worker: key.worker,
    job: key.job,
    detail: `the health sweep no longer finds ${key.anomaly} on ${key.worker}${key.job === null ? '' : `.${key.job}`}`,
    observed: 'cleared',
    threshold: key.anomaly,
    window: iso(nowMs),
  };
}

function numericMetric(report: WorkerScoreReport | undefined, name: string): number | null {
  const v = report?.metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Everything the sweep finds, in a stable order. */
export function sweep(facts: SweepFacts): HealthFinding[] {
  return [...stuckExecutions(facts), ...missedRuns(facts), ...levelFindings(facts)];
}

/** The finding's item key: one per worker, kind and window (conditional put = dedup at the source). */
export const healthSk = (f: Pick<HealthFinding, 'kind' | 'window' | 'job'>): string => `HEALTH#${f.kind}#${f.job ?? '-'}#${f.window}`;
