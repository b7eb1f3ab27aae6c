/**
 * The decisions behind each recovery action (lib/domain/recovery.ts says which actions run; this
 * module says exactly what each one changes): the slowed schedule expression, when the YouTube
 * quota resets, the restart budget as a conditional write, the bounded timeout and lease raises,
 * the consumer concurrency, the upstream pipelines to refresh, and the recovery's record item.
 * Pure: no clock, no I/O.
 */
import { LAMBDA_MAX_TIMEOUT_SECONDS, maxWorkStepTimeoutSeconds, STEP_TIMEOUT_RAISE_FACTOR_MAX, workStepTimeoutSeconds } from '../registry/index.js';
import type { DependencySpec, JobSpec, WorkerSpec } from '../registry/types.js';
import { parseScheduleExpression } from '../registry/schedule-expression.js';
import { and, or, type Condition } from './lock.js';
import { boundedIncrease, RECOVERY_BOUNDS, type RecoveryAction } from './recovery.js';
import { occurrences } from './schedule-math.js';
import { freshAtOf, STATE_ATTRS, stepTimeoutAttrOf, type StateWrite, type WorkerStateItem } from './worker-state.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

// ---------------------------------------------------------------------------------------------
// API_QUOTA_LOW / REDUCE_RATE: slowing a schedule

/** How far ahead a cron is enumerated to find its shortest interval. */
export const INTERVAL_PROBE_DAYS = 8;

export interface SlowedSchedule {
  readonly expression: string;
  /** The shortest interval between two firings before and after, in minutes. */
  readonly intervalMinutes: number;
  readonly slowedIntervalMinutes: number;
}

/** `rate(n unit)` with AWS's singular unit for 1. */
export function rateExpression(minutes: number): string {
  const [value, unit] = minutes % (24 * 60) === 0 ? [minutes / (24 * 60), 'day'] : minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  return `rate(${value} ${unit}${value === 1 ? '' : 's'})`;
}

/** The shortest gap between consecutive firings over the probe window, in minutes; null when it fires at most once. */
export function shortestIntervalMinutes(expression: string, timezone: string, fromMs: number): number | null {
  const times = occurrences(expression, timezone, fromMs, fromMs + INTERVAL_PROBE_DAYS * DAY_MS);
  let best: number | null = null;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (best === null || gap < best) best = gap;
  }
  return best === null ? null : Math.round(best / MINUTE_MS);
}

const isWild = (field: string): boolean => field === '*' || field === '?';

/**
 * The schedule with its interval multiplied by `factor` (RECOVERY_BOUNDS.scheduleSlowdownFactor).
 * - `rate(n unit)` -> `rate(n*factor unit)`;
 * - a cron that fires every k minutes of every day (minutes `a/k` or `*`, or a fixed minute every
 *   hour or every `/h` hours) keeps its anchor minute and becomes a stepped cron when the new
 *   interval divides an hour or a day: `cron(0/30 * * * ? *)` x4 -> `cron(0 0/2 * * ? *)`;
 * - any other cron becomes `rate(shortest interval x factor)`.
 * Null for `at(...)` (a one-off cannot be slowed) and for a malformed expression.
 */
export function slowedScheduleExpression(expression: string, timezone: string, factor: number, nowMs: number): SlowedSchedule | null {
  if (!(factor > 1) || !Number.isInteger(factor)) throw new RangeError(`slowdown factor must be an integer above 1, got ${factor}`);
  const parsed = parseScheduleExpression(expression);
  if (!parsed.ok || parsed.schedule.kind === 'at') return null;
  const schedule = parsed.schedule;
  if (schedule.kind === 'rate') {
    const minutes = schedule.value * { minute: 1, hour: 60, day: 24 * 60 }[schedule.unit];
    return { expression: `rate(${schedule.value * factor} ${schedule.unit}s)`, intervalMinutes: minutes, slowedIntervalMinutes: minutes * factor };
  }
  const interval = shortestIntervalMinutes(expression, timezone, nowMs);
  if (interval === null) return null;
  const slowed = interval * factor;
  const [minutes, hours, dom, month, dow, year] = schedule.fields;
  const everyDay = isWild(dom) && month === '*' && isWild(dow) && year === '*';
  const anchor = /^(\d+)(\/\d+)?$/.exec(minutes)?.[1] ?? (minutes.startsWith('*') ? '0' : null);
  const hourly = hours === '*' || /^(\d+)\/\d+$/.test(hours);
  if (everyDay && anchor !== null && hourly) {
    const hourAnchor = /^(\d+)\//.exec(hours)?.[1] ?? '0';
    if (slowed < 60 && 60 % slowed === 0) return { expression: `cron(${anchor}/${slowed} ${hours} * * ? *)`, intervalMinutes: interval, slowedIntervalMinutes: slowed };
    if (slowed % 60 === 0 && 24 % (slowed / 60) === 0) {
      const everyHours = slowed / 60;
      return { expression: `cron(${anchor} ${everyHours === 1 ? '*' : `${hourAnchor}/${everyHours}`} * * ? *)`, intervalMinutes: interval, slowedIntervalMinutes: slowed };
    }
  }
  return { expression: rateExpression(slowed), intervalMinutes: interval, slowedIntervalMinutes: slowed };
}

/** The marker a slowed schedule carries in its description: the original survives in the schedule itself. */
export const SLOWED_MARKER = '[slowed by recovery';
const MARKER_RE = /\s*\[slowed by recovery (\S+); original (.+?) until (\S+)\]$/;
/** EventBridge Scheduler's limit on a description. */
export const SCHEDULE_DESCRIPTION_MAX_CHARS = 512;

export function markSlowed(description: string, alertId: string, originalExpression: string, untilIso: string): string {
  const marker = ` ${SLOWED_MARKER} ${alertId}; original ${originalExpression} until ${untilIso}]`;
  return `${unmarkSlowed(description).slice(0, SCHEDULE_DESCRIPTION_MAX_CHARS - marker.length)}${marker}`;
}

export function unmarkSlowed(description: string): string {
  return description.replace(MARKER_RE, '');
}

/** The recovery that slowed a schedule and its original expression, read back from the description. */
export function slowedBy(description: string): { alertId: string; originalExpression: string; until: string } | null {
  const m = MARKER_RE.exec(description);
  return m ? { alertId: m[1] as string, originalExpression: m[2] as string, until: m[3] as string } : null;
}

// ---------------------------------------------------------------------------------------------
// API_QUOTA_LOW: when the quota resets

/** The YouTube Data API quota resets at midnight Pacific Time. */
export const YOUTUBE_QUOTA_RESET_TIMEZONE = 'America/Los_Angeles';

/** The next midnight in `timezone` strictly after `nowMs` (DST-aware), epoch ms. */
export function quotaResetAtMs(nowMs: number, timezone: string = YOUTUBE_QUOTA_RESET_TIMEZONE): number {
  const [next] = occurrences('cron(0 0 * * ? *)', timezone, nowMs + 1, nowMs + 2 * DAY_MS);
  if (next === undefined) throw new Error(`no midnight in ${timezone} within two days of ${new Date(nowMs).toISOString()}`);
  return next;
}

// ---------------------------------------------------------------------------------------------
// WORKER_CRASH: the restart budget

export const RESTART_ATTRS = { windowStartMs: 'recoveryRestartWindowStartMs', count: 'recoveryRestarts' } as const;
export const RESTART_WINDOW_MS = HOUR_MS;

export type RestartPlan = { readonly allowed: true; readonly write: StateWrite } | { readonly allowed: false; readonly reason: string };

/**
 * At most `max` restarts in an hour that starts at the first restart. A conditional counter on the
 * worker's STATE item: a new window when the last one began over an hour ago, else +1 while under
 * the budget. The condition repeats the decision, so two concurrent recoveries cannot both restart.
 */
export function restartPlan(raw: Readonly<Record<string, unknown>> | undefined, nowMs: number, max: number = RECOVERY_BOUNDS.restartsPerHourMax): RestartPlan {
  const start = typeof raw?.[RESTART_ATTRS.windowStartMs] === 'number' ? (raw[RESTART_ATTRS.windowStartMs] as number) : null;
  const count = typeof raw?.[RESTART_ATTRS.count] === 'number' ? (raw[RESTART_ATTRS.count] as number) : 0;
  const expiredBefore = nowMs - RESTART_WINDOW_MS;
  if (start === null || start <= expiredBefore) {
    const condition: Condition = or({ op: 'notExists', attr: RESTART_ATTRS.windowStartMs }, { op: 'le', attr: RESTART_ATTRS.windowStartMs, value: expiredBefore });
    return { allowed: true, write: { condition, set: { [RESTART_ATTRS.windowStartMs]: nowMs, [RESTART_ATTRS.count]: 1 }, add: {}, remove: [] } };
  }
  if (count >= max) {
    return { allowed: false, reason: `restart budget spent: ${count} of ${max} restart(s) since ${new Date(start).toISOString()}` };
  }
  const condition = and({ op: 'eq', attr: RESTART_ATTRS.windowStartMs, value: start }, { op: 'lt', attr: RESTART_ATTRS.count, value: max });
  return { allowed: true, write: { condition, set: {}, add: { [RESTART_ATTRS.count]: 1 }, remove: [] } };
}

// ---------------------------------------------------------------------------------------------
// SLOW_EXECUTION / LOCK_CONTENTION: bounded raises

export type BoundedChange =
  | { readonly kind: 'raise'; readonly fromSeconds: number; readonly toSeconds: number; readonly write: StateWrite }
  | { readonly kind: 'at-bound'; readonly currentSeconds: number; readonly recommendation: string };

/**
 * SLOW_EXECUTION: "increase timeout, check resources". The job's work-step timeout grows by a
 * quarter per recovery, up to its bound (registry maxWorkStepTimeoutSeconds: the registry's step
 * timeout x STEP_TIMEOUT_RAISE_FACTOR_MAX, at most Lambda's 900 s; the function timeout and the
 * pipeline's budget leave room for it). The gate hands the raised timeout to the Work task. At the
 * bound (and for fan-out jobs, whose items keep theirs) the recovery recommends instead.
 */
export function raisedStepTimeout(worker: WorkerSpec, job: JobSpec, state: WorkerStateItem | undefined): BoundedChange {
  const original = workStepTimeoutSeconds(worker, job);
  const bound = maxWorkStepTimeoutSeconds(worker, job);
  const read = state?.stepTimeoutOverrides[job.id] ?? null;
  const current = read ?? original;
  const next = boundedIncrease(current, original, Number.POSITIVE_INFINITY, bound);
  if (next === null) {
    return {
      kind: 'at-bound',
      currentSeconds: current,
      recommendation: job.fanOut
        ? `${worker.id}.${job.id} fans out: each item keeps its ${job.fanOut.itemTimeoutSeconds} s; raise itemTimeoutSeconds in the registry or split the items, and check the resources (memory, upstream latency)`
        : `${worker.id}.${job.id} step timeout is at its bound (${current} s of ${bound} s: ${original} s x ${STEP_TIMEOUT_RAISE_FACTOR_MAX}, at most ${LAMBDA_MAX_TIMEOUT_SECONDS} s); check its resources (memory, upstream latency), raise the budget in the registry, or fan the job out`,
    };
  }
  return { kind: 'raise', fromSeconds: current, toSeconds: next, write: overrideWrite(stepTimeoutAttrOf(job.id), read, next) };
}

/**
 * When a job next runs from its schedules (or, for a stage, its sub-pipeline's), epoch ms; null
 * when it never runs on a schedule (on demand).
 */
export function nextRunAtMs(worker: WorkerSpec, job: JobSpec, nowMs: number, registry: readonly WorkerSpec[]): number | null {
  const cycle = job.schedules.length > 0 ? undefined : registry.find((w) => (w.stages ?? []).some((s) => s.worker === worker.id && s.job === job.id));
  const schedules = job.schedules.length > 0 ? job.schedules : (cycle?.jobs.flatMap((j) => j.schedules) ?? []);
  const next = schedules.flatMap((sch) => occurrences(sch.expression, sch.timezone, nowMs + 1, nowMs + 2 * DAY_MS).slice(0, 1));
  return next.length === 0 ? null : Math.min(...next);
}

/** The lock lease lengthened within RECOVERY_BOUNDS.leaseExtendFactorMax. */
export function extendedLease(worker: WorkerSpec, state: WorkerStateItem | undefined): BoundedChange {
  const original = worker.lockLeaseSeconds;
  const current = state?.leaseSecondsOverride ?? original;
  const next = original > 0 ? boundedIncrease(current, original, RECOVERY_BOUNDS.leaseExtendFactorMax, Number.POSITIVE_INFINITY) : null;
  if (next === null) {
    return {
      kind: 'at-bound',
      currentSeconds: current,
      recommendation:
        original > 0
          ? `${worker.id} lock lease is at its bound (${current} s of ${original} s x ${RECOVERY_BOUNDS.leaseExtendFactorMax}): look for overlapping schedules or a run that outlives its lease`
          : `${worker.id} takes no lock: lock contention cannot come from its lease`,
    };
  }
  return { kind: 'raise', fromSeconds: current, toSeconds: next, write: overrideWrite(STATE_ATTRS.leaseSecondsOverride, state?.leaseSecondsOverride ?? null, next) };
}

/** Sets an override only if it is still the value read: a concurrent raise is not compounded. */
function overrideWrite(attr: string, read: number | null, next: number): StateWrite {
  const condition: Condition = read === null ? { op: 'notExists', attr } : { op: 'eq', attr, value: read };
  return { condition, set: { [attr]: next }, add: { [STATE_ATTRS.version]: 1 }, remove: [] };
}

// ---------------------------------------------------------------------------------------------
// QUEUE_OVERFLOW: consumer concurrency and intake pause

/** SQS event source mapping ScalingConfig.MaximumConcurrency bounds (AWS: 2-1000). */
export const CONSUMER_CONCURRENCY_MIN = 2;
export const CONSUMER_CONCURRENCY_MAX = 1000;
/** The recovery raises the consumers' concurrency to at most this. */
export const CONSUMER_CONCURRENCY_RECOVERY_MAX = 50;
/** How long new jobs are held back after an overflow, in seconds. */
export const INTAKE_PAUSE_SECONDS = 15 * 60;
/** STATE attribute the producer (AuraStream API) and consumer honour: no new jobs before this time. */
export const INTAKE_PAUSED_UNTIL_ATTR = 'intakePausedUntilMs';
/**
 * STATE attribute set when a recovery slows the worker's schedules: until this time (epoch ms) the
 * health sweep does not count a registry slot as missed, since the slowed schedule skips some.
 */
export const SCHEDULE_SLOWED_UNTIL_ATTR = 'scheduleSlowedUntilMs';

/**
 * Doubles the consumers' maximum concurrency, up to CONSUMER_CONCURRENCY_RECOVERY_MAX. Null when
 * there is nothing to raise: unset (the mapping is already unbounded) or already at the cap.
 */
export function scaledConcurrency(current: number | null): number | null {
  if (current === null) return null;
  const from = current;
  const next = Math.min(CONSUMER_CONCURRENCY_RECOVERY_MAX, Math.max(CONSUMER_CONCURRENCY_MIN, from * 2));
  return next > from ? next : null;
}

// ---------------------------------------------------------------------------------------------
// STALE_DATA / DEPENDENCY_FAILURE: the upstream jobs, and the dependents blocked by them

export interface UpstreamTarget {
  readonly worker: string;
  /** The job whose data is consumed (the dependency's `job`): the one run again. */
  readonly job: string;
  readonly optional: boolean;
  readonly relation: DependencySpec['relation'];
  /** Why it is a target, for the record. */
  readonly why: string;
}

/** A worker's own refresh job: the first job with a schedule (STALE_DATA on a worker with no data dependency). */
export function refreshJobOf(worker: WorkerSpec): string | null {
  return worker.jobs.find((j) => j.schedules.length > 0)?.id ?? null;
}

/** Worker STATE items by worker id, as read for a recovery. */
export type StatesById = Readonly<Record<string, WorkerStateItem | undefined>>;

const ageText = (freshAtMs: number | null, nowMs: number): string => (freshAtMs === null ? 'never succeeded' : `last succeeded ${Math.round((nowMs - freshAtMs) / 1000)} s ago`);

/**
 * The `data` dependencies of a job whose consumed job is stale now (older than the dependency's
 * freshnessSeconds, or never succeeded): only those are run again. A dependency that is fresh is
 * not a target, whatever its worker's other jobs did (playbook's recovery does not re-run a
 * twitch streams poll that had not failed).
 */
export function staleUpstreams(worker: WorkerSpec, job: JobSpec, states: StatesById, nowMs: number): UpstreamTarget[] {
  const gating = job.gatedBy ?? worker.dependencies.map((d) => d.on);
  const out: UpstreamTarget[] = [];
  for (const d of worker.dependencies) {
    if (d.relation !== 'data' || d.job === undefined || !gating.includes(d.on)) continue;
    const freshAtMs = freshAtOf(states[d.on], d.job);
    const limitMs = (d.freshnessSeconds ?? 0) * 1000;
    if (freshAtMs !== null && nowMs - freshAtMs <= limitMs) continue;
    out.push({ worker: d.on, job: d.job, optional: d.kind === 'optional', relation: d.relation, why: `${d.on}.${d.job} ${ageText(freshAtMs, nowMs)}, limit ${d.freshnessSeconds ?? 0} s` });
  }
  return out;
}

/** A job a DEPENDENCY_FAILURE recovery runs once its upstream succeeded. */
export interface DependentRun {
  readonly worker: string;
  readonly job: string;
}

export interface DependencyRecoveryPlan {
  /** The failed upstream jobs to retry (optional ones are skipped, not retried). */
  readonly upstream: readonly UpstreamTarget[];
  /** The blocked dependents to run once after, in order. */
  readonly dependents: readonly DependentRun[];
}

/**
 * What a DEPENDENCY_FAILURE recovery runs. The anomaly names a job; three cases:
 * - a sub-pipeline (the intel cycle failed because of a stage): the upstream is every stale job a
 *   stage consumes (youtube games), the dependents the stages that consume one (creator intel,
 *   playbook), in stage order;
 * - a job with stale data dependencies (creator intel skipped DEPENDENCY_FAILED): those are the
 *   upstream; the dependents are the job itself and then every other job a failed hard upstream
 *   blocks (playbook too: the incident is on the root cause, and so is its one recovery);
 * - the failed upstream job itself (the incident is keyed on the root cause): itself, and the jobs
 *   whose hard data dependency names it and is stale.
 */
export function dependencyRecoveryPlan(worker: WorkerSpec, job: JobSpec, registry: readonly WorkerSpec[], states: StatesById, nowMs: number): DependencyRecoveryPlan {
  const byId = new Map(registry.map((w) => [w.id, w] as const));
  const stagesOf = (w: WorkerSpec): DependentRun[] => (w.stages ?? []).map((s) => ({ worker: s.worker, job: s.job }));
  const upstreamOf = (run: DependentRun): UpstreamTarget[] => {
    const w = byId.get(run.worker);
    const j = w?.jobs.find((x) => x.id === run.job);
    return w && j ? staleUpstreams(w, j, states, nowMs) : [];
  };
  const unique = (targets: UpstreamTarget[]): UpstreamTarget[] => [...new Map(targets.map((t) => [`${t.worker}.${t.job}`, t] as const)).values()];

  if (worker.executionModel === 'sub-pipeline') {
    const stages = stagesOf(worker);
    const blocked = stages.filter((s) => upstreamOf(s).some((t) => !t.optional));
    return { upstream: unique(stages.flatMap(upstreamOf)), dependents: blocked };
  }
  /** The jobs whose hard data dependency on `worker.job` is stale: the ones its failure blocks. */
  const blockedBy = (upWorker: string, upJob: string): DependentRun[] =>
    registry.flatMap((w) =>
      w.jobs
        .filter((j) => w.dependencies.some((d) => d.on === upWorker && d.job === upJob && d.relation === 'data' && d.kind === 'hard') && staleUpstreams(w, j, states, nowMs).some((t) => t.worker === upWorker && t.job === upJob))
        .map((j) => ({ worker: w.id, job: j.id })),
    );
  const uniqueRuns = (runs: DependentRun[]): DependentRun[] => [...new Map(runs.map((r) => [`${r.worker}.${r.job}`, r] as const)).values()];
  const own = staleUpstreams(worker, job, states, nowMs);
  if (worker.dependencies.length > 0) {
    // The job itself first, then every other job the same failed upstream blocks (one recovery per root cause).
    const others = own.filter((t) => !t.optional).flatMap((t) => blockedBy(t.worker, t.job));
    return { upstream: own, dependents: uniqueRuns([{ worker: worker.id, job: job.id }, ...others]) };
  }
  return { upstream: [{ worker: worker.id, job: job.id, optional: false, relation: 'data', why: `${worker.id}.${job.id} ${ageText(freshAtOf(states[worker.id], job.id), nowMs)}` }], dependents: blockedBy(worker.id, job.id) };
}

/**
 * DEPENDENCY_FAILURE: the wait before each retry of a failed upstream job, in seconds; the last
 * step repeats up to RECOVERY_BOUNDS.upstreamRetriesMax retries. A retry is a new run with its own
 * scheduled time (its slot claim does not collide with the attempt before), and a SKIPPED run is
 * "not yet", never a success.
 */
export const UPSTREAM_RETRY_BACKOFF_SECONDS = [60, 120, 240, 480, 600] as const;

/**
 * The wait before retry `retry` (1-based) of a failed upstream job, in seconds; null past
 * RECOVERY_BOUNDS.upstreamRetriesMax (the recovery gives up: FAILED).
 */
export function upstreamRetryDelaySeconds(retry: number, retriesMax: number = RECOVERY_BOUNDS.upstreamRetriesMax): number | null {
  if (!Number.isInteger(retry) || retry < 1 || retry > retriesMax) return null;
  const ladder = UPSTREAM_RETRY_BACKOFF_SECONDS;
  return ladder[Math.min(retry, ladder.length) - 1] ?? null;
}

/** The longest a DEPENDENCY_FAILURE recovery waits between attempts in all, in seconds (the bound on retrying). */
export function upstreamRetryBoundSeconds(retriesMax: number = RECOVERY_BOUNDS.upstreamRetriesMax): number {
  let total = 0;
  for (let retry = 1; retry <= retriesMax; retry++) total += upstreamRetryDelaySeconds(retry, retriesMax) ?? 0;
  return total;
}

/**
 * STALE_DATA: the jobs whose data is stale. The anomaly is raised on the consumer (creator intel
 * needs youtube games data no older than an hour): its stale data dependencies' jobs. A worker
 * with no data dependency is stale itself: its own refresh job.
 */
export function staleDataTargets(worker: WorkerSpec, job: JobSpec, states: StatesById, nowMs: number): UpstreamTarget[] {
  if (worker.dependencies.some((d) => d.relation === 'data')) return staleUpstreams(worker, job, states, nowMs);
  const own = refreshJobOf(worker);
  return own === null ? [] : [{ worker: worker.id, job: own, optional: false, relation: 'data', why: `${worker.id}.${own} ${ageText(freshAtOf(states[worker.id], own), nowMs)}` }];
}

// ---------------------------------------------------------------------------------------------
// Outcomes: what a recovery achieved, verified

export const RECOVERY_OUTCOMES = ['SUCCEEDED', 'FAILED', 'NOT_APPLICABLE'] as const;
export type RecoveryOutcome = (typeof RECOVERY_OUTCOMES)[number];

/**
 * A recovery's verdict, kept in its summary record (RECOVERY#<alertId> / SUMMARY) for the incident
 * model: SUCCEEDED only with `verified` true (the goal was checked: the run it started SUCCEEDED,
 * the circuit closed after a successful probe, the next run acquired the lock ...), else FAILED or
 * NOT_APPLICABLE, each with the reason.
 */
export interface RecoveryVerdict {
  readonly outcome: RecoveryOutcome;
  readonly verified: boolean;
  readonly reason: string;
  /** The design's action whose goal was checked, or null (no recovery action). */
  readonly action: RecoveryAction | null;
  /** The `worker.job` the action targeted (the upstream job for DEPENDENCY_FAILURE and STALE_DATA). */
  readonly job: string;
}

/** The status a run's Record step wrote, from a `.sync:2` child's output (`$.record.status`); null when it recorded none. */
export function recordedStatus(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return null;
  const record = (output as { record?: unknown }).record;
  if (typeof record !== 'object' || record === null) return null;
  const status = (record as { status?: unknown }).status;
  return typeof status === 'string' ? status : null;
}

/** Why a run does not count as recovered, or null when it SUCCEEDED. */
export function runNotRecovered(what: string, output: unknown, failure: { readonly Error: string; readonly Cause?: string | undefined } | null): string | null {
  if (failure !== null) return `${what} failed: ${failure.Error}`;
  const status = recordedStatus(output);
  if (status === 'SUCCEEDED') return null;
  if (status === null) return `${what} recorded no run (a duplicate slot delivery)`;
  const skip = (output as { record?: { skipReason?: unknown } }).record?.skipReason;
  return `${what} ended ${status}${typeof skip === 'string' ? ` (${skip})` : ''}, not SUCCEEDED`;
}

// ---------------------------------------------------------------------------------------------
// Names and records

/** Step Functions execution names: 1-80 of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_MAX = 80;

/** FNV-1a, 32 bit, hex: a short stable digest for names. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A deterministic execution name for a pipeline a recovery starts: the same alert and purpose give the same name. */
export function recoveryExecutionName(alertId: string, purpose: string, worker: string, job: string, maxLength: number = EXECUTION_NAME_MAX): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '-');
  const tail = `-${shortHash(`${alertId}|${purpose}|${worker}|${job}`)}`;
  return `${safe(`rcv-${purpose}-${worker}-${job}`).slice(0, maxLength - tail.length)}${tail}`;
}

export const recoveryPk = (alertId: string): string => `RECOVERY#${alertId}`;
export const recoveryActionSk = (step: string): string => `ACTION#${step}`;
export const RECOVERY_SUMMARY_SK = 'SUMMARY';
/** Per worker and anomaly: consecutive failed recoveries (the escalation streak). */
export const recoveryStreakSk = (anomaly: string): string => `RECOVERY_STREAK#${anomaly}`;
/** How long recovery records live, in days. */
export const RECOVERY_RETENTION_DAYS = 30;

export const RECOVERY_RESULTS = ['APPLIED', 'SKIPPED', 'RECOMMENDED', 'FAILED'] as const;
export type RecoveryResult = (typeof RECOVERY_RESULTS)[number];

/** One recovery step as recorded: what, why, when, result. */
export interface RecoveryActionRecord {
  readonly alertId: string;
  readonly worker: string;
  readonly job: string;
  readonly anomaly: string;
  /** The Lambda action / state name, e.g. `slow-schedule`. */
  readonly step: string;
  /** The design's action it carries out, when it is one. */
  readonly action: RecoveryAction | null;
  readonly why: string;
  /** ISO-8601. */
  readonly at: string;
  readonly result: RecoveryResult;
  readonly detail: string;
  /** Values changed, for the audit trail and a manual undo (e.g. original schedule expressions). */
  readonly changes: Readonly<Record<string, unknown>>;
}

export function recoveryExpiresAt(nowMs: number, retentionDays: number = RECOVERY_RETENTION_DAYS): number {
  return Math.floor(nowMs / 1000) + retentionDays * 24 * 3600;
}
