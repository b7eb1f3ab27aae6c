/**
 * The health sweep's logic (`makeHandler(deps)`), over ports: every few minutes it gathers the facts
 * (STATE items, latest reports, queue depths, RUNNING executions), lets lib/domain/health-sweep.ts
 * find what is wrong, and writes each finding once (`WORKER#<w>` / `HEALTH#<kind>#<job|->#<window>`,
 * conditional put). A stuck execution is also stopped and recorded: a CRASHED report for its slot
 * through the protocol's Record step, with the RUN gate rebuilt from the job's lock, so the lock is
 * released and the slot has its report. Executions that ended without their Record step (TIMED_OUT
 * at the machine level, e.g. a long fan-out Map, or ABORTED) within the last ENDED_LOOKBACK_MINUTES
 * are recorded the same way (without a stop); one that did record, or that an earlier sweep
 * recorded, writes nothing new (one report per slot, and it no longer holds its lock).
 *
 * Failures only ever suppress findings, never invent them: a queue, listing or report read that
 * fails leaves that fact out (and the sweep ends with SweepIncompleteError after doing the rest);
 * the STATE read that missed runs depend on fails the sweep at once. Everything is idempotent: a
 * finding is written once per key, StopExecution of a stopped execution is a no-op, and Record puts
 * one report per slot and applies its state effects once per execution.
 *
 * Outbox (when `deps.outbox` is given, i.e. ALERT_TOPIC_ARN is set): each run publishes the
 * notifications still PENDING in the outbox a minute after they were enqueued (or whose SENDING
 * claim went stale), once each (lib/domain/outbox.ts): an alert whose publish failed past the stream's
 * retries goes out at the first sweep after SNS recovers.
 *
 * Escalation (when `deps.escalation` is given, i.e. ONCALL_TOPIC_ARN is set): each run also reads the
 * unresolved incidents (one Query of the GSI) and, for each, the verdicts of its recoveries (one
 * BatchGetItem, only while it could still page), and pages whichever policy step is due first
 * (decideIncidentEscalation: a CRITICAL unacknowledged for 15 min; a CRITICAL or HIGH whose recovery
 * FAILED): claims the step on the incident (conditional write), pages the on-call topic, marks it
 * PAGED; a failed page releases the claim for the next sweep. One page per incident.
 */
import { randomUUID } from 'node:crypto';
import { renderEscalation, type OnCallPager } from '../../lib/domain/escalation.js';
import {
  buildIncidentAlert,
  claimPage,
  decideIncidentEscalation,
  incidentKeyString,
  markPaged,
  recoveriesToCheck,
  releasePage,
  type FailedRecovery,
  rootCauseOf,
  updateIncident,
  type GraphLookup,
  type Incident,
  type IncidentEscalationDecision,
  type IncidentStore,
} from '../../lib/domain/incident.js';
import {
  clearedFinding,
  endedWindow,
  healthSk,
  readsLatestReport,
  sweep,
  unrecordedCandidates,
  unrecordedRunFinding,
  type HealthFinding,
  type RunningExecution,
  type SweepFacts,
  type UnrecordedCandidate,
} from '../../lib/domain/health-sweep.js';
import { isCrashError } from '../../lib/domain/errors.js';
import { lockAttrsFor, releaseSpec } from '../../lib/domain/lock.js';
import { deliverEntry, OUTBOX_SWEEP_LIMIT, planDigest, sweepShouldDeliver, type DigestPlan, type Outbox, type OutboxPublisher } from '../../lib/domain/outbox.js';
import { digestOf, renderDigest, type RenderedMessage } from '../../lib/domain/alerting.js';
import type { StateStore } from '../../lib/domain/ports.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { lockOf, normalizeIso, reportSk, withVersionBump, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { isWorkerId, workerById, type WorkerSpec } from '../../lib/registry/index.js';
import { recordStep } from '../protocol/steps.js';
import { PipelineInput, type GateResult, type PipelineState, type StepFailure } from '../shared/contracts.js';
import { ENDED_STATUSES, type EndedExecution, type EndedStatus, type ExecutionLister, type HealthFindingStore, type QueueDepthReader, type RecoveryOutcomeReader, type ReportReader, type SweepLogger } from './ports.js';

/** The failure a stuck execution is stopped and recorded with (a crash error: CRASHED report). */
export const STUCK_FAILURE: StepFailure & { readonly Cause: string } = Object.freeze({
  Error: 'States.Timeout',
  Cause: 'stopped by the health sweep: running past its timeout',
});
/** The failures an execution that ended without its Record step is recorded with (crash errors: CRASHED reports). */
export const ENDED_FAILURE: Readonly<Record<EndedStatus, StepFailure & { readonly Cause: string }>> = Object.freeze({
  TIMED_OUT: Object.freeze({ Error: 'States.Timeout', Cause: 'the execution timed out before its Record step' }),
  ABORTED: Object.freeze({ Error: 'States.Aborted', Cause: 'the execution was aborted before its Record step' }),
});
/** The failure a slot is recorded with when its execution ended without a report (not a crash error: a FAILED report). */
export const RECORD_FAILURE: StepFailure & { readonly Cause: string } = Object.freeze({
  Error: 'RecordFailed',
  Cause: 'the execution ended without its report: its Record step failed after every retry (recorded by the health sweep)',
});
/** How long a finding item lives (TTL); longer than any dedup window (a missed daily slot stays the latest for 24 h). */
export const HEALTH_RETENTION_DAYS = 7;
/** Parallel AWS calls per kind of fact. */
export const SWEEP_CONCURRENCY = 8;

export interface SweepDeps {
  readonly store: StateStore;
  readonly reports: ReportReader;
  readonly executions: ExecutionLister;
  readonly queues: QueueDepthReader;
  readonly findings: HealthFindingStore;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly logger: SweepLogger;
  /** The workers to sweep (the deployed registry). */
  readonly workers: readonly WorkerSpec[];
  /** State machine ARN per pipeline key `<worker>.<job>`. */
  readonly pipelineArns: Readonly<Record<string, string>>;
  /** Queue URL per on-demand worker id. */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Retention of the CRASHED reports of stopped executions. */
  readonly reportRetentionDays: number;
  /** @default HEALTH_RETENTION_DAYS */
  readonly findingRetentionDays?: number;
  /** How far back ended (TIMED_OUT, ABORTED) executions are looked for. @default ENDED_LOOKBACK_MINUTES */
  readonly endedLookbackMinutes?: number;
  /**
   * The incidents (DynamoIncidentStore): the sweep clears those it raised and no longer finds, and
   * escalates them. Undefined: neither (the findings are still written).
   */
  readonly incidents?: IncidentStore;
  /** Escalation of unacknowledged critical incidents; undefined: off (no on-call topic configured). */
  readonly escalation?: EscalationDeps;
  /** Delivery of notifications left in the outbox (SNS down past the stream's retries); undefined: off. */
  readonly outbox?: OutboxDeps;
}

export interface OutboxDeps {
  readonly store: Outbox;
  /** The alert topic. */
  readonly publisher: OutboxPublisher;
  /** A fresh claim token per sweep run. @default crypto.randomUUID */
  readonly newToken?: () => string;
  /** @default OUTBOX_SWEEP_LIMIT */
  readonly limit?: number;
}

export interface OutboxSummary {
  /** Entries not yet SENT that the sweep read. */
  readonly pending: number;
  /** Ids published by this sweep. */
  readonly sent: readonly string[];
  /** Entries left alone: young (their enqueuer is on it), or claimed by a live delivery. */
  readonly left: number;
}

export interface EscalationDeps {
  /** The on-call topic. */
  readonly pager: OnCallPager;
  /**
   * The incidents' recovery verdicts (the RECOVERY_FAILED step).
   * @default - none: only the UNACKNOWLEDGED_CRITICAL step pages
   */
  readonly recoveries?: RecoveryOutcomeReader;
  /** A fresh claim token per sweep run. @default crypto.randomUUID */
  readonly newToken?: () => string;
  /** The AWS region, for console links in pages. @default none (no link) */
  readonly region?: string;
}

export type IncidentEscalationSkip = Extract<IncidentEscalationDecision, { kind: 'skip' }>['why'];

export interface EscalationSummary {
  /** Unresolved incidents looked at. */
  readonly incidents: number;
  /** Incident ids on-call was paged about in this run. */
  readonly paged: readonly string[];
  /** Due incidents whose claim another sweep won (or that were acknowledged meanwhile). */
  readonly lost: number;
  readonly skipped: Readonly<Record<IncidentEscalationSkip, number>>;
}

export interface StuckOutcome {
  readonly executionArn: string;
  readonly stopped: boolean;
  /** Null when the execution's input could not be read as a pipeline input (nothing recorded). */
  readonly status: string | null;
  readonly reportStored: boolean;
  /** Whether it held its job's lock when stopped (then Record released it). */
  readonly heldLock: boolean;
  readonly lockReleased: boolean;
}

/** An execution that ended (TIMED_OUT, ABORTED) without its Record step, recorded by the sweep. */
export interface EndedOutcome {
  readonly executionArn: string;
  readonly ended: EndedStatus;
  /** Null when the execution's input could not be read as a pipeline input (nothing recorded). */
  readonly status: string | null;
  /** False when the slot already had its report (the execution recorded, or an earlier sweep did). */
  readonly reportStored: boolean;
  /** Whether it still held its job's lock (then Record released it). */
  readonly heldLock: boolean;
  readonly lockReleased: boolean;
  /** The slot (ISO-8601); null with the status. */
  readonly scheduledTime: string | null;
}

/** A slot whose execution ended without a report (its Record step gave up), recorded FAILED by the sweep. */
export interface UnrecordedOutcome {
  readonly executionArn: string;
  readonly worker: string;
  readonly job: string;
  /** Null when the execution's input could not be read as a pipeline input (nothing recorded). */
  readonly scheduledTime: string | null;
  /** False when the slot had its report after all (nothing counted, no finding). */
  readonly reportStored: boolean;
  /** Whether it still held its job's lock (then the lock was released with its fence). */
  readonly heldLock: boolean;
  readonly lockReleased: boolean;
}

export interface SweepSummary {
  readonly at: string;
  readonly findings: number;
  /** New finding items. */
  readonly written: number;
  /** Findings an earlier sweep already wrote. */
  readonly duplicates: number;
  readonly stuck: readonly StuckOutcome[];
  /** Ended executions seen in the look-back window, each recorded (a no-op when already recorded). */
  readonly ended: readonly EndedOutcome[];
  /** Incidents the sweep raised and no longer finds: a CLEARED item written for each (it resolves them). */
  readonly cleared: readonly string[];
  /** Slot owners and lock holders that ended without a report: recorded FAILED (item 5b). */
  readonly unrecorded: readonly UnrecordedOutcome[];
  /** Null when escalation is off. */
  readonly escalation: EscalationSummary | null;
  /** Null when outbox delivery is off. */
  readonly outbox: OutboxSummary | null;
  /** What failed (the facts it concerns were left out). */
  readonly errors: readonly string[];
}

/** The sweep did all it could, but some facts could not be read or some actions failed. */
export class SweepIncompleteError extends Error {
  override readonly name = 'SweepIncompleteError';
  constructor(readonly summary: SweepSummary) {
    super(`health sweep incomplete: ${summary.errors.join('; ')}`);
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Maps with at most `limit` calls in flight; every result settled, in input order. */
async function settleAll<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i] as T) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** `<worker>.<job>` → its parts; null for a malformed key. */
export function splitPipelineKey(key: string): { worker: string; job: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1 || key.indexOf('.', dot + 1) !== -1) return null;
  return { worker: key.slice(0, dot), job: key.slice(dot + 1) };
}

/** The RUN gate a stuck execution passed, rebuilt from its job's lock; undefined when it holds no lock. */
export function reconstructedGate(state: WorkerStateItem | undefined, jobId: string, executionArn: string, scheduledTime: string): GateResult | undefined {
  const lock = lockOf(state, jobId);
  if (lock.holder !== executionArn || lock.fence <= 0) return undefined;
  return { decision: 'RUN', fence: lock.fence, owner: executionArn, probe: false, scheduledTime };
}

export async function runSweep(deps: SweepDeps): Promise<SweepSummary> {
  const { logger } = deps;
  const nowMs = deps.clock();
  const errors: string[] = [];
  const lookup = (id: string): WorkerSpec => deps.workers.find((w) => w.id === id) ?? workerById(id);

  // 1. STATE items of the workers and their data dependencies: one batch (missed runs need them all).
  const ids = [...new Set(deps.workers.flatMap((w) => [w.id, ...w.dependencies.map((d) => d.on)]))];
  const states: Record<string, WorkerStateItem | undefined> = {};
  const [first, ...rest] = ids;
  if (first !== undefined) {
    const view = await deps.store.readGateView({ workerId: first, dependencyIds: rest, windows: [] });
    states[first] = view.worker;
    Object.assign(states, view.dependencies);
  }

  // 2. The other facts, each read on its own: a failure leaves that fact out.
  // Only the latest reports the rules can find something in (readsLatestReport).
  const workerIds = deps.workers.filter(readsLatestReport).map((w) => w.id);
  const queueEntries = Object.entries(deps.queueUrls);
  const pipelineEntries = Object.entries(deps.pipelineArns).flatMap(([key, arn]) => {
    const parts = splitPipelineKey(key);
    if (parts === null) errors.push(`pipeline key "${key}" is not <worker>.<job>`);
    return parts === null ? [] : [{ ...parts, arn }];
  });
  const endedEntries = pipelineEntries.flatMap((p) => ENDED_STATUSES.map((status) => ({ ...p, status })));
  const jobOf = (worker: string, job: string) => deps.workers.find((w) => w.id === worker)?.jobs.find((j) => j.id === job);
  const [reports, depths, listings, endedListings] = await Promise.all([
    settleAll(workerIds, SWEEP_CONCURRENCY, (id) => deps.reports.latestReport(id)),
    settleAll(queueEntries, SWEEP_CONCURRENCY, ([, url]) => deps.queues.depth(url)),
    settleAll(pipelineEntries, SWEEP_CONCURRENCY, (p) => deps.executions.listRunning(p.arn)),
    settleAll(endedEntries, SWEEP_CONCURRENCY, (p) => deps.executions.listEnded(p.arn, p.status, endedWindow(jobOf(p.worker, p.job), nowMs, deps.endedLookbackMinutes))),
  ]);
  const latestReports: Record<string, WorkerScoreReport | undefined> = {};
  reports.forEach((r, i) => {
    const id = workerIds[i] as string;
    if (r.status === 'fulfilled') latestReports[id] = r.value;
    else errors.push(`latest report of ${id}: ${errorText(r.reason)}`);
  });
  const queueDepths: Record<string, number> = {};
  depths.forEach((r, i) => {
    const [worker] = queueEntries[i] as [string, string];
    if (r.status === 'fulfilled') queueDepths[worker] = r.value;
    else errors.push(`queue depth of ${worker}: ${errorText(r.reason)}`);
  });
  const running: RunningExecution[] = [];
  const startOf = new Map<string, number>();
  const listed = new Set<string>();
  listings.forEach((r, i) => {
    const p = pipelineEntries[i] as (typeof pipelineEntries)[number];
    if (r.status === 'rejected') {
      errors.push(`running executions of ${p.worker}.${p.job}: ${errorText(r.reason)}`);
      return;
    }
    listed.add(`${p.worker}.${p.job}`);
    for (const e of r.value) {
      running.push({ worker: p.worker, job: p.job, executionArn: e.executionArn, startMs: e.startMs, scheduledTime: null });
      startOf.set(e.executionArn, e.startMs);
    }
  });

  const endedRuns: EndedExecution[] = [];
  const seenEnded = new Set<string>();
  endedListings.forEach((r, i) => {
    const p = endedEntries[i] as (typeof endedEntries)[number];
    if (r.status === 'rejected') {
      errors.push(`${p.status} executions of ${p.worker}.${p.job}: ${errorText(r.reason)}`);
      return;
    }
    for (const e of r.value) {
      if (seenEnded.has(e.executionArn)) continue;
      seenEnded.add(e.executionArn);
      endedRuns.push(e);
    }
  });

  // 3. Detect.
  const facts: SweepFacts = { nowMs, workers: deps.workers, states, latestReports, queueDepths, running };
  const found = sweep(facts);

  // 4. Act: stop and record stuck executions (every time one is seen), write each finding once.
  const stuck: StuckOutcome[] = [];
  let written = 0;
  let duplicates = 0;
  const raisedAt = normalizeIso(nowMs);
  const expiresAt = Math.floor(nowMs / 1000) + Math.round((deps.findingRetentionDays ?? HEALTH_RETENTION_DAYS) * 86_400);
  for (const original of found) {
    let finding: HealthFinding = original;
    if (finding.kind === 'STUCK_EXECUTION' && finding.executionArn !== undefined) {
      const arn = finding.executionArn;
      try {
        const { outcome, scheduledTime } = await stopAndRecord(deps, arn, startOf.get(arn) ?? nowMs, lookup);
        stuck.push(outcome);
        if (scheduledTime !== null) finding = { ...finding, scheduledTime };
      } catch (error) {
        errors.push(`stuck execution ${arn}: ${errorText(error)}`);
      }
    }
    try {
      if (await deps.findings.putOnce({ finding, raisedAt, expiresAt })) {
        written++;
        logger.warn('health finding', { kind: finding.kind, worker: finding.worker, job: finding.job, severity: finding.severity, detail: finding.detail, sk: healthSk(finding) });
      } else {
        duplicates++;
      }
    } catch (error) {
      errors.push(`finding ${healthSk(finding)} of ${finding.worker}: ${errorText(error)}`);
    }
  }

  // 5. Record the executions that ended without their Record step; one at a time (they may share a STATE item).
  const ended: EndedOutcome[] = [];
  for (const e of endedRuns) {
    try {
      const recorded = await recordEnded(deps, e.executionArn, e.startMs, ENDED_FAILURE[e.status], lookup);
      const outcome: EndedOutcome = { executionArn: e.executionArn, ended: e.status, status: null, reportStored: false, heldLock: false, lockReleased: false, scheduledTime: null, ...recorded };
      ended.push(outcome);
      if (recorded === null) {
        logger.warn(`${e.status} execution's input is not a pipeline input: no report recorded`, { executionArn: e.executionArn });
      } else if (recorded.reportStored || recorded.heldLock) {
        logger.warn(`${e.status} execution recorded`, { ...outcome });
      }
    } catch (error) {
      errors.push(`${e.status} execution ${e.executionArn}: ${errorText(error)}`);
    }
  }

  // 5b. Slots whose execution ended without a report (its Record step gave up): record them FAILED,
  // release the lock with its fence, and raise the finding. Stuck and ended executions were recorded above.
  const unrecorded: UnrecordedOutcome[] = [];
  const handled = new Set([...stuck.map((o) => o.executionArn), ...ended.map((o) => o.executionArn)]);
  const candidates = unrecordedCandidates(facts, listed).filter((c) => !handled.has(c.executionArn));
  const reported = await reportedSlots(deps, candidates);
  for (const candidate of candidates) {
    try {
      const outcome = await recordUnrecorded(deps, candidate, lookup, reported.get(candidate.executionArn));
      if (outcome === null) continue;
      unrecorded.push(outcome);
      if (!outcome.reportStored || outcome.scheduledTime === null) continue;
      logger.warn('slot without a report recorded FAILED', { ...outcome });
      const f = unrecordedRunFinding(candidate, outcome.scheduledTime, nowMs);
      if (await deps.findings.putOnce({ finding: f, raisedAt, expiresAt })) written++;
      else duplicates++;
    } catch (error) {
      errors.push(`unrecorded run ${candidate.executionArn}: ${errorText(error)}`);
    }
  }

  // 6. Incidents: clear those only the sweep saw and no longer finds; escalate unacknowledged critical ones.
  let unresolved: Incident[] | null = null;
  if (deps.incidents !== undefined) {
    try {
      unresolved = await deps.incidents.listUnresolved();
    } catch (error) {
      errors.push(`unresolved incidents: ${errorText(error)}`);
    }
  }
  const cleared: string[] = [];
  if (unresolved !== null) {
    const still = new Set(found.map((f) => incidentKeyString(rootCauseOf({ worker: f.worker, job: f.job, anomaly: f.anomaly, texts: [f.detail] }, SWEEP_GRAPH).key)));
    for (const incident of unresolved) {
      if (incident.sources.some((src) => src !== 'health') || still.has(incidentKeyString(incident.key))) continue;
      const finding = clearedFinding(incident.key, nowMs);
      try {
        if (await deps.findings.putOnce({ finding, raisedAt, expiresAt })) cleared.push(incident.id);
        logger.info('incident no longer found: cleared', { incidentId: incident.id, sk: healthSk(finding) });
      } catch (error) {
        errors.push(`clearing ${incident.id}: ${errorText(error)}`);
      }
    }
  }
  const escalation = deps.escalation === undefined || deps.incidents === undefined ? null : await escalate(deps, deps.incidents, deps.escalation, unresolved ?? [], nowMs, errors);

  // 7. Deliver what the outbox still holds (alerts whose publish failed past the stream's retries).
  const outbox = deps.outbox === undefined ? null : await deliverOutbox(deps.outbox, deps.logger, nowMs, errors);
  return { at: raisedAt, findings: found.length + unrecorded.filter((u) => u.reportStored).length, written, duplicates, stuck, ended, cleared, unrecorded, escalation, outbox, errors };
}

/** Publishes the outbox entries due for the sweep (lib/domain/outbox.ts `sweepShouldDeliver`), oldest deadline first. */
export async function deliverOutbox(outbox: OutboxDeps, logger: SweepLogger, nowMs: number, errors: string[]): Promise<OutboxSummary> {
  let entries;
  try {
    entries = await outbox.store.pending(outbox.limit ?? OUTBOX_SWEEP_LIMIT);
  } catch (error) {
    errors.push(`outbox: reading pending entries: ${errorText(error)}`);
    return { pending: 0, sent: [], left: 0 };
  }
  const token = (outbox.newToken ?? randomUUID)();
  const sent: string[] = [];
  let left = 0;
  // The MEDIUM digest: the held entries go out together once one of them is due (planDigest).
  const digest = planDigest(entries, nowMs);
  if (digest !== null) {
    try {
      const ids = await sendDigest(outbox, digest, token, nowMs);
      sent.push(...ids);
      logger.info('digest sent by the health sweep', { digestId: digest.message.json.digest.id, alerts: ids });
    } catch (error) {
      errors.push(`digest ${digest.message.json.digest.id}: ${errorText(error)}`);
    }
  }
  for (const entry of entries) {
    if (entry.digest === true) {
      if (!sent.includes(entry.id)) left++;
      continue;
    }
    if (!sweepShouldDeliver(entry, nowMs)) {
      left++;
      continue;
    }
    try {
      const outcome = await deliverEntry(outbox.store, outbox.publisher, entry, token, nowMs);
      if (outcome === 'NOT_CLAIMED') {
        left++;
        continue;
      }
      sent.push(entry.id);
      const lateBySeconds = entry.deliverByMs === null ? null : Math.round((nowMs - entry.deliverByMs) / 1000);
      logger.warn('outbox entry delivered by the health sweep', { id: entry.id, kind: entry.kind, attempts: entry.attempts + 1, lateBySeconds, outcome });
    } catch (error) {
      errors.push(`outbox entry ${entry.id}: ${errorText(error)}`);
    }
  }
  return { pending: entries.length, sent, left };
}

/**
 * Claims every entry of the digest, publishes the digest once, marks them SENT; returns their ids.
 * An entry another delivery holds is left out of this one (a later digest carries it); a failed
 * publish gives every claim back and throws.
 */
async function sendDigest(outbox: OutboxDeps, digest: DigestPlan, token: string, nowMs: number): Promise<string[]> {
  const claimed: string[] = [];
  for (const entry of digest.entries) if (await outbox.store.claimSend(entry.id, token, nowMs)) claimed.push(entry.id);
  if (claimed.length === 0) return [];
  const message = claimed.length === digest.entries.length ? digest.message : renderDigestOf(digest, claimed, nowMs);
  try {
    await outbox.publisher.publish(message);
  } catch (error) {
    await Promise.all(claimed.map((id) => outbox.store.releaseSend(id, token).catch(() => undefined)));
    throw error;
  }
  for (const id of claimed) await outbox.store.markSent(id, token, nowMs);
  return claimed;
}

/** The digest narrowed to the alerts of the entries claimed (its id follows the narrowed set). */
function renderDigestOf(digest: DigestPlan, ids: readonly string[], nowMs: number): RenderedMessage {
  return renderDigest(digestOf(digest.message.json.digest.alerts.filter((a) => ids.includes(a.id)), nowMs));
}

/** The registry as the sweep's root-cause graph. */
const SWEEP_GRAPH: GraphLookup = {
  hasWorker: (worker) => isWorkerId(worker),
  hasJob: (worker, job) => isWorkerId(worker) && workerById(worker).jobs.some((j) => j.id === job),
};

/** The first of the incident's recoveries that ended FAILED, when it could still page for it (one BatchGetItem). */
async function failedRecoveryOf(incident: Incident, reader: RecoveryOutcomeReader | undefined): Promise<FailedRecovery | null> {
  const names = recoveriesToCheck(incident);
  if (reader === undefined || names.length === 0) return null;
  const failed = await reader.failed(names);
  const name = names.find((n) => failed.has(n));
  return name === undefined ? null : { name, reason: failed.get(name) ?? '' };
}

/**
 * Pages on-call once per incident, for whichever policy step is due first (decideIncidentEscalation:
 * a CRITICAL unacknowledged for 15 min, or a CRITICAL or HIGH whose recovery FAILED): claims the step on the
 * incident (conditional write), pages, marks it PAGED (the incident is ESCALATED); a failed page
 * gives the claim back for the next sweep.
 */
export async function escalate(
  deps: Pick<SweepDeps, 'logger'>,
  incidents: IncidentStore,
  esc: EscalationDeps,
  unresolved: readonly Incident[],
  nowMs: number,
  errors: string[],
): Promise<EscalationSummary> {
  const skipped: Record<IncidentEscalationSkip, number> = { resolved: 0, 'not-critical': 0, acknowledged: 0, paged: 0, paging: 0, 'not-due': 0 };
  const paged: string[] = [];
  let lost = 0;
  const token = (esc.newToken ?? randomUUID)();
  for (const seen of unresolved) {
    try {
      const failed = await failedRecoveryOf(seen, esc.recoveries);
      const decision = decideIncidentEscalation(seen, nowMs, failed);
      if (decision.kind === 'skip') {
        skipped[decision.why]++;
        continue;
      }
      const { step } = decision;
      const claimed = await updateIncident(incidents, seen.key, (current) => {
        const next = current === undefined || current.id !== seen.id ? null : claimPage(current, step, token, nowMs, failed);
        return { result: next, write: next };
      });
      if (claimed === null) {
        lost++;
        deps.logger.info('escalation claimed by another sweep, or acknowledged or resolved meanwhile: not paged', { incidentId: seen.id });
        continue;
      }
      try {
        const alert = buildIncidentAlert({ incident: claimed, transition: 'OPENED', region: esc.region ?? '' });
        await esc.pager.page(renderEscalation(alert, step, nowMs, step === 'RECOVERY_FAILED' ? decision.why : undefined));
      } catch (error) {
        await updateIncident(incidents, seen.key, (current) => {
          const next = current === undefined ? null : releasePage(current, step, token);
          return { result: next, write: next };
        }).catch((releaseError: unknown) => {
          deps.logger.warn('escalation claim not released: a later sweep takes it over when stale', { incidentId: seen.id, error: errorText(releaseError) });
        });
        throw error;
      }
      paged.push(seen.id);
      deps.logger.warn('incident escalated to on-call', { incidentId: seen.id, step, why: decision.why, openMinutes: Math.floor(decision.openMs / 60_000) });
      const marked = await updateIncident(incidents, seen.key, (current) => {
        const next = current === undefined ? null : markPaged(current, step, token, nowMs);
        return { result: next, write: next };
      });
      if (marked === null) deps.logger.warn('escalation claim was taken over before it was marked paged', { incidentId: seen.id });
    } catch (error) {
      errors.push(`escalation of incident ${seen.id}: ${errorText(error)}`);
    }
  }
  return { incidents: unresolved.length, paged, lost, skipped };
}

interface Recorded {
  readonly status: string;
  readonly reportStored: boolean;
  readonly heldLock: boolean;
  readonly lockReleased: boolean;
  readonly scheduledTime: string;
}

/**
 * Records the slot of an execution that will not run its Record step (stopped, timed out, aborted)
 * through the protocol's Record step, with `failure`. The RUN gate is rebuilt from the job's lock
 * when the execution still holds it (so Record releases it), else there is none. Null when the
 * execution's input is not a pipeline input.
 */
async function recordEnded(deps: SweepDeps, executionArn: string, startMs: number, failure: StepFailure, lookup: (id: string) => WorkerSpec): Promise<Recorded | null> {
  const parsed = PipelineInput.safeParse(await deps.executions.input(executionArn));
  if (!parsed.success) return null;
  const input = parsed.data;
  const scheduledTime = normalizeIso(input.scheduledTime);
  // After the execution ended, so the lock read is the one it left behind.
  const current = await deps.store.readWorkerState(input.worker);
  const gate = reconstructedGate(current, input.job, executionArn, scheduledTime);
  if (await deps.store.hasReport(input.worker, reportSk(scheduledTime, input.job, input.runId))) {
    // The slot has its report (the execution recorded, or an earlier sweep did): count nothing again;
    // only a lock it still holds is given back, with its fence.
    const released = gate !== undefined && (await deps.store.updateWorkerState(input.worker, withVersionBump(releaseSpec(executionArn, lockOf(current, input.job).fence, lockAttrsFor(input.job))))) !== null;
    return { status: isCrashError(failure.Error) ? 'CRASHED' : 'FAILED', reportStored: false, heldLock: gate !== undefined, lockReleased: released, scheduledTime };
  }
  const state: PipelineState = { ...input, ...(gate !== undefined ? { gate } : {}), failure: { ...failure } };
  const { result, reportStored } = await recordStep(
    { store: deps.store, clock: deps.clock, reportRetentionDays: deps.reportRetentionDays, lookup },
    { executionId: executionArn, startedAtMs: startMs },
    state,
  );
  return { status: result.status, reportStored, heldLock: gate !== undefined, lockReleased: result.lockReleased, scheduledTime };
}

/**
 * The cheap check of every candidate at once: whether the slot it claimed has its report (one
 * BatchGetItem per 100, keys only), by execution ARN. Only candidates that claimed a slot and hold no
 * lock are asked. Empty when the read fails: each candidate is then checked on its own.
 */
async function reportedSlots(deps: SweepDeps, candidates: readonly UnrecordedCandidate[]): Promise<ReadonlyMap<string, boolean>> {
  const asked = candidates.flatMap((c) => (c.claimedSlot !== null && !c.holdsLock ? [{ arn: c.executionArn, key: { workerId: c.worker, reportSk: reportSk(c.claimedSlot, c.job) } }] : []));
  if (asked.length === 0) return new Map();
  try {
    const present = await deps.store.hasReports(asked.map((a) => a.key));
    return new Map(asked.map((a, i) => [a.arn, present[i] === true]));
  } catch (error) {
    deps.logger.warn('batched report check failed: checking each slot on its own', { error: errorText(error) });
    return new Map();
  }
}

/**
 * Records the slot of an execution that ended without a report; null when its input is not a
 * pipeline input, or when the slot it claimed has its report (`reported`, from `reportedSlots`, or
 * asked here) and it holds no lock.
 */
async function recordUnrecorded(deps: SweepDeps, candidate: UnrecordedCandidate, lookup: (id: string) => WorkerSpec, reported: boolean | undefined): Promise<UnrecordedOutcome | null> {
  const { executionArn, worker, job, claimedSlot, holdsLock } = candidate;
  // The usual case, and the cheap check: the slot it claimed has its report, and it holds no lock.
  if (claimedSlot !== null && !holdsLock && (reported ?? (await deps.store.hasReport(worker, reportSk(claimedSlot, job))))) return null;
  const recorded = await recordEnded(deps, executionArn, deps.clock(), RECORD_FAILURE, lookup);
  if (recorded === null) {
    deps.logger.warn('execution without a report: its input is not a pipeline input, nothing recorded', { executionArn });
    return { executionArn, worker, job, scheduledTime: null, reportStored: false, heldLock: holdsLock, lockReleased: false };
  }
  return { executionArn, worker, job, scheduledTime: recorded.scheduledTime, reportStored: recorded.reportStored, heldLock: recorded.heldLock, lockReleased: recorded.lockReleased };
}

/** Stops a stuck execution, then records its slot as CRASHED through the protocol's Record step. */
async function stopAndRecord(deps: SweepDeps, executionArn: string, startMs: number, lookup: (id: string) => WorkerSpec): Promise<{ outcome: StuckOutcome; scheduledTime: string | null }> {
  await deps.executions.stop(executionArn, STUCK_FAILURE.Error, STUCK_FAILURE.Cause);
  const recorded = await recordEnded(deps, executionArn, startMs, STUCK_FAILURE, lookup);
  if (recorded === null) {
    deps.logger.warn('stuck execution stopped; its input is not a pipeline input: no report recorded', { executionArn });
    return { outcome: { executionArn, stopped: true, status: null, reportStored: false, heldLock: false, lockReleased: false }, scheduledTime: null };
  }
  const { scheduledTime, ...rest } = recorded;
  deps.logger.warn('stuck execution stopped and recorded', { executionArn, scheduledTime, ...rest });
  return { outcome: { executionArn, stopped: true, ...rest }, scheduledTime };
}

/** The Lambda handler: one sweep per invocation (the event, a schedule's, is not read). */
export const makeHandler =
  (deps: SweepDeps) =>
  async (_event?: unknown): Promise<SweepSummary> => {
    const summary = await runSweep(deps);
    if (summary.errors.length > 0) {
      deps.logger.error('health sweep incomplete', { ...summary });
      throw new SweepIncompleteError(summary);
    }
    deps.logger.info('health sweep done', { ...summary });
    return summary;
  };
