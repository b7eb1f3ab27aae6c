/**
 * The Record step of every pipeline, as pure planning: from the execution state (`$`) build the
 * score report and the writes that record it.
 *
 * Status: a caught failure -> CRASHED (crash error names) or FAILED; a gate SKIP -> SKIPPED; a
 * single-step result -> its status; a fan-out -> all items ok (and SUCCEEDED) => SUCCEEDED, some ok
 * => PARTIAL, none ok => FAILED.
 *
 * Writes (each a single-item write), applied in this order by lambdas/protocol/steps.ts:
 *  (a) the WINDOW bucket: one ADD of windowDelta(report) (the anomaly counters, plus succeeded, the
 *      score sums and the duration histogram that report aggregation reads), once per report key;
 *  (b) the worker's STATE item: circuit outcome, freshness mark, last run, and the lock release, in
 *      ONE conditional write (recordSpec: current holder and fence) for a locked run, or under an
 *      optimistic `version` condition for an unlocked one. Skips write nothing here.
 *  (c) the report, put once per (scheduled time, job): last, so a partial failure leaves no report
 *      (the slot stays claimed but unreported, which a retry or the health sweep completes).
 * Pure.
 */
import type { ItemOutcome, PipelineState, WorkerResult } from '../../lambdas/shared/contracts.js';
import { weightsFor } from '../registry/index.js';
import { effectiveCircuit } from './worker-config.js';
import type { JobSpec, WorkerSpec } from '../registry/types.js';
import { evaluateAnomalies, type AnomalyCode, type HealthFacts, type WorkerBudget } from './anomaly-rules.js';
import { recordOutcome } from './circuit.js';
import { InvalidPayloadError, isCrashError } from './errors.js';
import { and, lockAttrsFor, or, recordSpec, releaseSpec, type AttrValue, type Condition } from './lock.js';
import { recoveryFor } from './recovery.js';
import { attemptsBeforeFailure, WORKER_STEP_MAX_RETRIES } from './retry-policy.js';
import type { MetricValue, RunStatus, SkipReason, WorkerScoreReport } from './score-report.js';
import { scoreRun, type RunFacts } from './scoring.js';
import { bucketKey, windowDelta, type WindowDelta } from './window-stats.js';
import {
  circuitAttr,
  circuitAttrOf,
  circuitOf,
  freshAtAttrOf,
  normalizeIso,
  reportSk,
  STATE_ATTRS,
  versionCondition,
  WINDOW_TTL_SECONDS,
  withVersionBump,
  type StateWrite,
  type WorkerStateItem,
  lockOf,
} from './worker-state.js';

/** Added to a report whose run lost its lock (stale fence) before Record. */
export const LOCK_LOST_RECOMMENDATION = 'lock lost before record: effects not applied';
/** Added to an unlocked run's report when concurrent writers kept winning the version race. */
export const STATE_CONTENDED_RECOMMENDATION = 'worker state contended: effects not applied';
/** Attempts of an unlocked run's optimistic state write. */
export const RECORD_VERSION_ATTEMPTS = 3;
/** Longest error cause kept on a report. */
export const ERROR_CAUSE_MAX_CHARS = 1000;

export interface RecordInput {
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
  readonly state: PipelineState;
  readonly executionId: string;
  /** `$$.Execution.StartTime`, epoch ms. */
  readonly startedAtMs: number;
  readonly nowMs: number;
  /** The worker's STATE item (consistent read); undefined when absent or not read (skips). */
  readonly current: WorkerStateItem | undefined;
  /** The worker step's retries (default WORKER_STEP_MAX_RETRIES). */
  readonly maxRetries?: number;
}

/**
 * How a STATE write is guarded, which decides what its failure means: `fence` the lock changed
 * hands, `version` the item changed since it was read (re-plan), `holder` the lock is no longer
 * ours, `order` a run that ended later recorded first (then `otherwise`, if any, is written).
 */
export type StateWriteGuard = 'fence' | 'version' | 'holder' | 'order';

export interface PlannedStateWrite {
  readonly write: StateWrite;
  readonly guard: StateWriteGuard;
  /** For `order`: the write to make instead when this one's guard fails. */
  readonly otherwise?: PlannedStateWrite;
}

export type RecordPlan =
  | { readonly kind: 'nothing'; readonly reason: string }
  | {
      readonly kind: 'report';
      readonly report: WorkerScoreReport;
      readonly reportSk: string;
      readonly stateWrite: PlannedStateWrite | null;
      /** Whether this execution holds no lock once the planned writes succeed. */
      readonly lockReleased: boolean;
      readonly window: { readonly bucketKey: string; readonly delta: WindowDelta };
    };

/** Whether planning needs the worker's STATE item: not for skips and duplicates. */
export function recordNeedsWorkerState(state: PipelineState): boolean {
  return state.gate?.decision !== 'SKIP' && state.gate?.decision !== 'DUPLICATE';
}

export function reportExpiresAt(nowMs: number, retentionDays: number): number {
  return Math.floor(nowMs / 1000) + Math.round(retentionDays * 86_400);
}

export function windowExpiresAt(nowMs: number): number {
  return Math.floor(nowMs / 1000) + WINDOW_TTL_SECONDS;
}

/** The report of a run whose state effects were not applied. */
export function withRecommendation(report: WorkerScoreReport, recommendation: string): WorkerScoreReport {
  return report.recommendations.includes(recommendation) ? report : { ...report, recommendations: [...report.recommendations, recommendation] };
}

export const markLockLost = (report: WorkerScoreReport): WorkerScoreReport => withRecommendation(report, LOCK_LOST_RECOMMENDATION);

// ---------------------------------------------------------------------------------------------
// Outcome: what happened, as facts

type MutableHealth = { -readonly [K in keyof HealthFacts]?: HealthFacts[K] };

interface Outcome {
  readonly status: RunStatus;
  readonly skipReason: SkipReason | null;
  readonly facts: RunFacts | null;
  readonly durationMs: number;
  readonly attempts: number;
  readonly metrics: Readonly<Record<string, MetricValue>>;
  readonly error: { readonly name: string; readonly cause: string } | null;
  readonly health: MutableHealth;
  readonly warnings: readonly string[];
  /** Leading recommendations (a skip's detail: the dependency rule quotes the first one). */
  readonly notes: readonly string[];
}

const errorOf = (e: { Error: string; Cause?: string | undefined }): { name: string; cause: string } => ({ name: e.Error, cause: (e.Cause ?? '').slice(0, ERROR_CAUSE_MAX_CHARS) });

const noOutputFacts = (status: RunStatus & RunFacts['status'], durationMs: number, attempts: number, worker: WorkerSpec): RunFacts => ({
  status,
  durationMs,
  attempts,
  itemsOk: 0,
  itemsFailed: 0,
  outputValid: false,
  recordsValid: 0,
  recordsInvalid: 0,
  validationWarnings: 0,
  // Nothing was measured: report no memory use against the configured limit.
  peakMemoryMb: 0,
  memoryLimitMb: Math.max(worker.memoryMb, 1),
});

function failureOutcome(failure: { Error: string; Cause?: string | undefined }, durationMs: number, worker: WorkerSpec, maxRetries: number): Outcome {
  const status = isCrashError(failure.Error) ? 'CRASHED' : 'FAILED';
  const attempts = attemptsBeforeFailure(failure.Error, maxRetries);
  return {
    status,
    skipReason: null,
    facts: noOutputFacts(status, durationMs, attempts, worker),
    durationMs,
    attempts,
    metrics: {},
    error: errorOf(failure),
    health: {},
    warnings: [],
    notes: [],
  };
}

function outputHealth(results: readonly WorkerResult[]): MutableHealth {
  const health: MutableHealth = {};
  const corrupt = results.reduce((n, r) => n + Math.max(r.recordsInvalid, r.outputValid ? 0 : 1), 0);
  if (corrupt > 0) health.corruptRecords = corrupt;
  const peak = Math.max(0, ...results.map((r) => (r.memoryLimitMb > 0 ? (100 * r.peakMemoryMb) / r.memoryLimitMb : 0)));
  if (results.length > 0) health.memoryPercent = peak;
  const quotas = results.map((r) => r.health.quotaRemainingPercent).filter((q): q is number => q !== undefined);
  if (quotas.length > 0) health.quotaRemainingPercent = Math.min(...quotas);
  if (results.some((r) => r.health.cacheMiss === true)) health.cacheMiss = true;
  return health;
}

const withItemCounts = (metrics: Readonly<Record<string, MetricValue>>, ok: number, failed: number): Record<string, MetricValue> => ({
  items_ok: ok,
  items_failed: failed,
  ...metrics,
});

function workOutcome(work: WorkerResult): Outcome {
  const facts: RunFacts = {
    status: work.status,
    durationMs: work.durationMs,
    attempts: work.attempts,
    itemsOk: work.itemsOk,
    itemsFailed: work.itemsFailed,
    outputValid: work.outputValid,
    recordsValid: work.recordsValid,
    recordsInvalid: work.recordsInvalid,
    validationWarnings: work.validationWarnings.length,
    peakMemoryMb: work.peakMemoryMb,
    memoryLimitMb: work.memoryLimitMb,
  };
  return {
    status: work.status,
    skipReason: null,
    facts,
    durationMs: work.durationMs,
    attempts: work.attempts,
    metrics: withItemCounts(work.metrics, work.itemsOk, work.itemsFailed),
    error: null,
    health: outputHealth([work]),
    warnings: work.validationWarnings,
    notes: [],
  };
}

/** Numeric metrics are summed across items; other values keep the first item's. */
function mergeMetrics(results: readonly WorkerResult[]): Record<string, MetricValue> {
  const merged: Record<string, MetricValue> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.metrics)) {
      const prev = merged[k];
      if (prev === undefined) merged[k] = v;
      else if (typeof prev === 'number' && typeof v === 'number') merged[k] = prev + v;
    }
  }
  return merged;
}

function fanOutOutcome(items: readonly ItemOutcome[], durationMs: number, worker: WorkerSpec, maxRetries: number): Outcome {
  const results = items.flatMap((i) => (i.ok ? [i.result] : []));
  const errors = items.flatMap((i) => (i.ok ? [] : [i.error]));
  const status: RunFacts['status'] = errors.length === 0 ? (results.every((r) => r.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'PARTIAL') : results.length > 0 ? 'PARTIAL' : 'FAILED';
  const attempts = Math.max(1, ...results.map((r) => r.attempts), ...errors.map((e) => attemptsBeforeFailure(e.Error, maxRetries)));
  const sum = (f: (r: WorkerResult) => number): number => results.reduce((n, r) => n + f(r), 0);
  const warnings = results.flatMap((r) => r.validationWarnings);
  const facts: RunFacts = {
    status,
    durationMs,
    attempts,
    itemsOk: results.length,
    itemsFailed: errors.length,
    outputValid: results.length > 0 && results.every((r) => r.outputValid),
    recordsValid: sum((r) => r.recordsValid),
    recordsInvalid: sum((r) => r.recordsInvalid),
    validationWarnings: warnings.length,
    peakMemoryMb: Math.max(0, ...results.map((r) => r.peakMemoryMb)),
    memoryLimitMb: Math.max(worker.memoryMb, 1, ...results.map((r) => r.memoryLimitMb)),
  };
  const firstError = errors[0];
  return {
    status,
    skipReason: null,
    facts,
    durationMs,
    attempts,
    metrics: withItemCounts(mergeMetrics(results), results.length, errors.length),
    error: status === 'FAILED' && firstError ? errorOf(firstError) : null,
    health: outputHealth(results),
    warnings,
    notes: [],
  };
}

function skipOutcome(skipReason: SkipReason, detail: string): Outcome {
  return { status: 'SKIPPED', skipReason, facts: null, durationMs: 0, attempts: 0, metrics: { skip_detail: detail }, error: null, health: {}, warnings: [], notes: [detail] };
}

function outcomeOf(input: RecordInput): Outcome {
  const { state, worker } = input;
  const maxRetries = input.maxRetries ?? WORKER_STEP_MAX_RETRIES;
  const elapsedMs = Math.max(0, input.nowMs - input.startedAtMs);
  const gate = state.gate;
  if (gate?.decision === 'SKIP') return skipOutcome(gate.skipReason, gate.detail);
  if (gate?.decision === 'WAIT') throw new InvalidPayloadError('record called while the gate says WAIT');
  if (state.failure) return failureOutcome(state.failure, elapsedMs, worker, maxRetries);
  if (gate === undefined) throw new InvalidPayloadError('record needs a gate result or a caught failure, got neither');
  if (state.work) return workOutcome(state.work);
  if (state.items) return fanOutOutcome(state.items, elapsedMs, worker, maxRetries);
  throw new InvalidPayloadError('record after a RUN needs work, items or a caught failure, got none');
}

// ---------------------------------------------------------------------------------------------
// Report

function buildReport(input: RecordInput, outcome: Outcome, lockFence: number | null): WorkerScoreReport {
  const { worker, job } = input;
  const budget: WorkerBudget = { expectedDurationMs: job.expectedDurationSeconds * 1000, timeoutMs: job.timeoutSeconds * 1000 };
  const scoring = outcome.facts ? scoreRun(outcome.facts, budget, weightsFor(worker)) : null;
  const validationIssues = [...(scoring?.invalidFacts ?? []), ...outcome.warnings];
  const health: HealthFacts = validationIssues.length > 0 ? { ...outcome.health, validationIssues } : outcome.health;
  const draft: WorkerScoreReport = {
    workerName: worker.id,
    jobId: job.id,
    executionId: input.executionId,
    scheduledTime: normalizeIso(input.state.scheduledTime),
    startedAt: normalizeIso(input.startedAtMs),
    completedAt: normalizeIso(input.nowMs),
    status: outcome.status,
    skipReason: outcome.skipReason,
    success: outcome.status === 'SUCCEEDED' || outcome.status === 'PARTIAL',
    durationMs: outcome.durationMs,
    attempts: outcome.attempts,
    lockFence,
    scores: scoring?.scores ?? null,
    anomalies: [],
    recommendations: outcome.notes,
    metrics: outcome.metrics,
    error: outcome.error,
  };
  const anomalies = [...new Set<AnomalyCode>(evaluateAnomalies({ worker: worker.id, report: draft, budget, health }).map((f) => f.code))];
  const summaries = anomalies.flatMap((code) => recoveryFor(code)?.summary ?? []);
  return { ...draft, anomalies, recommendations: [...new Set([...outcome.notes, ...summaries])] };
}

// ---------------------------------------------------------------------------------------------
// Plan

function runEffects(input: RecordInput, status: RunStatus): { scalars: Record<string, AttrValue>; circuit: ReturnType<typeof circuitAttr>; circuitChanged: boolean } {
  const success = status === 'SUCCEEDED' || status === 'PARTIAL';
  const before = circuitOf(input.current, input.job.id);
  // recordOutcome returns the circuit it was given when the outcome changes nothing.
  const after = recordOutcome(before, success ? 'success' : 'failure', input.nowMs, effectiveCircuit(input.worker, input.current?.config));
  const scalars: Record<string, AttrValue> = {
    [STATE_ATTRS.lastStatus]: status,
    [STATE_ATTRS.lastRunAtMs]: input.nowMs,
    [STATE_ATTRS.lastScheduledTime]: normalizeIso(input.state.scheduledTime),
    [STATE_ATTRS.lastExecutionId]: input.executionId,
  };
  if (success) scalars[freshAtAttrOf(input.job.id)] = input.nowMs;
  return { scalars, circuit: circuitAttr(after), circuitChanged: after !== before };
}

/**
 * The STATE write of an unlocked run whose outcome leaves its job's circuit as it is (a success on
 * a closed circuit, the common case): only the last-run facts and the freshness, which need no
 * version. Guarded by order instead: it applies unless a run that ended later has recorded first,
 * and then only the freshness is still written, if it is newer. Concurrent runs of one worker (a
 * queue of on-demand jobs) otherwise raced on the version: in a flood of 1,500 jobs three of four
 * records lost that race three times and left their effects unapplied.
 */
function orderedRunWrite(scalars: Readonly<Record<string, AttrValue>>, input: RecordInput): PlannedStateWrite {
  const fresh = freshAtAttrOf(input.job.id);
  const notBefore = (attr: string): Condition => or({ op: 'notExists', attr }, { op: 'le', attr, value: input.nowMs });
  const write = withVersionBump({ condition: notBefore(STATE_ATTRS.lastRunAtMs), set: scalars, add: {}, remove: [] });
  // A run that failed carries no freshness: nothing else to write when a later run recorded first.
  const freshAt = scalars[fresh];
  if (freshAt === undefined) return { write, guard: 'order' };
  return { write, guard: 'order', otherwise: { write: withVersionBump({ condition: notBefore(fresh), set: { [fresh]: freshAt }, add: {}, remove: [] }), guard: 'order' } };
}

/** Plans the Record step. Throws InvalidPayloadError when the state cannot be recorded. */
export function planRecord(input: RecordInput): RecordPlan {
  const { state, current, executionId } = input;
  if (state.gate?.decision === 'DUPLICATE') return { kind: 'nothing', reason: 'duplicate slot delivery: the slot already has its run' };
  const outcome = outcomeOf(input);
  const gate = state.gate;
  const fence = gate?.decision === 'RUN' && gate.fence > 0 ? gate.fence : null;
  let report = buildReport(input, outcome, fence);
  let stateWrite: PlannedStateWrite | null = null;
  let lockReleased = true;

  if (gate?.decision === 'RUN' && current?.lastExecutionId !== executionId) {
    const { scalars, circuit, circuitChanged } = runEffects(input, outcome.status);
    if (fence !== null) {
      const lock = lockOf(current, input.job.id);
      if (lock.holder === executionId && lock.fence === fence) {
        const spec = recordSpec(executionId, fence, scalars, lockAttrsFor(input.job.id));
        // The version too: the job's circuit is computed from the item as read, and a recovery may have changed it since.
        stateWrite = { write: withVersionBump({ ...spec, condition: and(spec.condition, versionCondition(current)), set: { ...spec.set, [circuitAttrOf(input.job.id)]: circuit } }), guard: 'fence' };
      } else {
        // A newer holder took the lock (or it was released by someone else): the fence is stale.
        report = markLockLost(report);
        lockReleased = false;
      }
    } else if (!circuitChanged) {
      stateWrite = orderedRunWrite(scalars, input);
    } else {
      stateWrite = { write: withVersionBump({ condition: versionCondition(current), set: { ...scalars, [circuitAttrOf(input.job.id)]: circuit }, add: {}, remove: [] }), guard: 'version' };
    }
  } else if (gate === undefined && lockOf(current, input.job.id).holder === executionId) {
    // The gate failed after acquiring: give the lock back.
    stateWrite = { write: withVersionBump(releaseSpec(executionId, lockOf(current, input.job.id).fence, lockAttrsFor(input.job.id))), guard: 'holder' };
  }

  return {
    kind: 'report',
    report,
    reportSk: reportSk(report.scheduledTime, input.job.id, input.state.runId),
    stateWrite,
    lockReleased,
    window: { bucketKey: bucketKey(input.nowMs), delta: windowDelta(report) },
  };
}
