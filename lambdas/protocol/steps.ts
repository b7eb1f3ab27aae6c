/**
 * The protocol Lambda's two use cases, over the StateStore port: the domain decides (gate.ts,
 * record.ts), this module reads, performs the planned single-item writes and handles their races.
 * No AWS imports: the handler injects the adapter.
 */
import { decideGate, gateReads, gaveUp, type GatePlan, type GateVerdict } from '../../lib/domain/gate.js';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import type { StateStore } from '../../lib/domain/ports.js';
import {
  planRecord,
  RECORD_VERSION_ATTEMPTS,
  recordNeedsWorkerState,
  reportExpiresAt,
  STATE_CONTENDED_RECOMMENDATION,
  LOCK_LOST_RECOMMENDATION,
  windowExpiresAt,
  withRecommendation,
  type RecordInput,
} from '../../lib/domain/record.js';
import { lockOf, normalizeIso, reportSk, workerPk, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { cycleOutcome } from '../../lib/domain/cycle.js';
import { dataFreshness } from '../../lib/domain/freshness.js';
import { workerById } from '../../lib/registry/index.js';
import type { JobSpec, WorkerSpec } from '../../lib/registry/types.js';
import type { FreshnessResult, GateResult, PipelineState, RecordResult } from '../shared/contracts.js';
import { NO_RUN_METRICS, type RunMetrics } from './run-metrics.js';

export interface ProtocolDeps {
  readonly store: StateStore;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly reportRetentionDays: number;
  /** Resolves worker ids (default: the registry). */
  readonly lookup?: (workerId: string) => WorkerSpec;
  /**
   * Receives one sample per newly stored report (a retried Record counts nothing twice).
   * @default NO_RUN_METRICS - nothing is emitted
   */
  readonly metrics?: RunMetrics;
}

export interface CallContext {
  readonly executionId: string;
  readonly startedAtMs: number;
}

/** Gate attempts: the first decision, and one re-decision after a lost race. */
export const GATE_ATTEMPTS = 2;

export function resolveWorkerJob(state: Pick<PipelineState, 'worker' | 'job'>, lookup: (id: string) => WorkerSpec = workerById): { worker: WorkerSpec; job: JobSpec } {
  let worker: WorkerSpec;
  try {
    worker = lookup(state.worker);
  } catch {
    throw new InvalidPayloadError(`unknown worker, got "${state.worker}"`);
  }
  const job = worker.jobs.find((j) => j.id === state.job);
  if (!job) throw new InvalidPayloadError(`worker "${worker.id}" has no job "${state.job}"; its jobs are ${worker.jobs.map((j) => j.id).join(', ') || 'none'}`);
  return { worker, job };
}

function toGateResult(verdict: GateVerdict, written: WorkerStateItem | null, owner: string, scheduledTime: string, jobId: string): GateResult {
  switch (verdict.decision) {
    case 'RUN': {
      const fence = verdict.fence ?? (written ? lockOf(written, jobId).fence : undefined);
      if (fence === undefined) throw new Error('gate: a RUN without a fence (no acquire write result)');
      return { decision: 'RUN', fence, owner, probe: verdict.probe, scheduledTime, stepTimeoutSeconds: verdict.stepTimeoutSeconds };
    }
    case 'WAIT':
      return { decision: 'WAIT', waitSeconds: verdict.waitSeconds, scheduledTime };
    case 'SKIP':
      return { decision: 'SKIP', skipReason: verdict.skipReason, detail: verdict.detail, scheduledTime };
    case 'DUPLICATE':
      return { decision: 'DUPLICATE', scheduledTime };
  }
}

/** The Gate step: read one batch, decide, perform at most one conditional write; on a lost race re-read and re-decide once. */
export async function gateStep(deps: ProtocolDeps, ctx: CallContext, state: PipelineState): Promise<GateResult> {
  const lookup = deps.lookup ?? workerById;
  const { worker, job } = resolveWorkerJob(state, lookup);
  const scheduledTime = normalizeIso(state.scheduledTime);
  const call = { executionId: ctx.executionId, startedAtMs: ctx.startedAtMs, trigger: state.trigger, scheduledTime, ...(state.seenSlotClaim !== undefined ? { seenSlotClaim: state.seenSlotClaim } : {}) };
  let plan: GatePlan = gaveUp();
  for (let attempt = 0; attempt < GATE_ATTEMPTS; attempt++) {
    const nowMs = deps.clock();
    const view = await deps.store.readGateView(gateReads(worker, job, nowMs, lookup));
    plan = decideGate({ worker, job, call, nowMs, view, lookup });
    if (plan.write === null) return toGateResult(plan.verdict, null, ctx.executionId, scheduledTime, job.id);
    const written = await deps.store.updateWorkerState(worker.id, plan.write);
    if (written !== null) return toGateResult(plan.verdict, written, ctx.executionId, scheduledTime, job.id);
  }
  return toGateResult(gaveUp().verdict, null, ctx.executionId, scheduledTime, job.id);
}

export interface RecordOutcome {
  readonly result: RecordResult;
  /** False when the slot already had a report (a retried Record, or a duplicate): nothing was counted. */
  readonly reportStored: boolean;
}

/**
 * The Record step, in an order where every prefix is safe to retry and nothing looks finished
 * before the report exists:
 *  1. the window counters, once per report key (`countKey`): before the report, so the anomaly
 *     rules see this run in its window when the report's stream record arrives; a retry finds the
 *     key counted and adds nothing;
 *  2. the STATE write (circuit, freshness, last run, fenced lock release; an unlocked run's version
 *     race is re-planned, and an unlocked run that leaves its circuit as it is writes by order, not
 *     version): a retry finds `lastExecutionId` is this execution and plans no write;
 *  3. the report, put once per slot: the commit point. Until it exists the slot is claimed but
 *     unreported, which the health sweep finds (lambdas/sweep) if the Record step gives up.
 * The state machine retries this step on every error (statemachines/worker-pipeline.ts).
 */
export async function recordStep(deps: ProtocolDeps, ctx: CallContext, state: PipelineState): Promise<RecordOutcome> {
  const lookup = deps.lookup ?? workerById;
  const { worker, job } = resolveWorkerJob(state, lookup);
  const nowMs = deps.clock();
  const base: Omit<RecordInput, 'current'> = { worker, job, state, executionId: ctx.executionId, startedAtMs: ctx.startedAtMs, nowMs };
  const current = recordNeedsWorkerState(state) ? await deps.store.readWorkerState(worker.id) : undefined;
  const plan = planRecord({ ...base, current });
  const reportKey = `${workerPk(worker.id)}/${reportSk(normalizeIso(state.scheduledTime), job.id, state.runId)}`;
  if (plan.kind === 'nothing') {
    return { result: { status: 'SKIPPED', overallScore: null, reportKey, lockReleased: true }, reportStored: false };
  }

  // 1. Counters first, once per report key.
  await deps.store.addWindowCounters(worker.id, plan.window.bucketKey, plan.window.delta, windowExpiresAt(nowMs), plan.reportSk);

  // 2. The STATE write.
  let report = plan.report;
  let lockReleased = plan.lockReleased;
  let planned = plan.stateWrite;
  for (let attempt = 1; planned !== null; attempt++) {
    if ((await deps.store.updateWorkerState(worker.id, planned.write)) !== null) break;
    if (planned.guard === 'order') {
      // A run that ended later recorded first: its last-run facts stand, and ours are not lost.
      planned = planned.otherwise ?? null;
      continue;
    }
    if ((planned.guard === 'version' || planned.guard === 'fence') && attempt < RECORD_VERSION_ATTEMPTS) {
      // Another write got in first: a sibling job's record (re-plan on the new state) or a newer
      // holder of our lock (the re-plan finds the fence stale and marks the report).
      const again = planRecord({ ...base, current: await deps.store.readWorkerState(worker.id) });
      if (again.kind === 'report') {
        report = again.report;
        lockReleased = again.lockReleased;
        planned = again.stateWrite;
      } else {
        planned = null;
      }
      continue;
    }
    if (planned.guard === 'fence') {
      report = withRecommendation(report, LOCK_LOST_RECOMMENDATION);
      lockReleased = false;
    } else if (planned.guard === 'version') {
      report = withRecommendation(report, STATE_CONTENDED_RECOMMENDATION);
    }
    planned = null;
  }

  // 3. The report: the commit point.
  const reportStored = await deps.store.putReportOnce({ report, reportSk: plan.reportSk, expiresAt: reportExpiresAt(nowMs, deps.reportRetentionDays) });
  const overallScore = report.scores?.overallScore ?? null;
  if (reportStored) (deps.metrics ?? NO_RUN_METRICS).record({ worker: worker.id, status: report.status, overallScore, durationMs: report.durationMs });
  return { result: { status: report.status, overallScore, reportKey, lockReleased }, reportStored };
}

/** The `freshness` step: how fresh the worker's data dependencies are now (one batch read, no write). */
export async function freshnessStep(deps: ProtocolDeps, state: Pick<PipelineState, 'worker' | 'job'>): Promise<FreshnessResult> {
  const { worker, job } = resolveWorkerJob(state, deps.lookup ?? workerById);
  const dependencyIds = worker.dependencies.filter((d) => d.relation === 'data').map((d) => d.on);
  const view = await deps.store.readGateView({ workerId: worker.id, dependencyIds, windows: [] });
  const report = dataFreshness(worker, job, view.dependencies, deps.clock());
  return { stale: { ...report.stale }, ageSeconds: { ...report.ageSeconds } };
}

/**
 * The `cycle-record` step: the intel cycle's own report, from its stages' outcomes. A failed stage
 * makes the cycle FAILED; skipped stages make it PARTIAL.
 */
export async function cycleRecordStep(deps: ProtocolDeps, ctx: CallContext, raw: Readonly<Record<string, unknown>>, state: PipelineState): Promise<RecordOutcome> {
  const { worker } = resolveWorkerJob(state, deps.lookup ?? workerById);
  if (state.failure || !state.gate || state.gate.decision !== 'RUN') return recordStep(deps, ctx, state);
  const outcome = cycleOutcome(worker, raw);
  if (outcome.kind === 'failed') return recordStep(deps, ctx, { ...state, failure: outcome.failure });
  const durationMs = Math.max(0, deps.clock() - ctx.startedAtMs);
  return recordStep(deps, ctx, {
    ...state,
    work: {
      status: outcome.skipped > 0 ? 'PARTIAL' : 'SUCCEEDED',
      durationMs,
      attempts: 1,
      itemsOk: outcome.succeeded,
      itemsFailed: outcome.skipped,
      outputValid: true,
      recordsValid: 0,
      recordsInvalid: 0,
      validationWarnings: [],
      // The cycle runs no code of its own: no memory to score (its resource weight is 0).
      peakMemoryMb: 0,
      memoryLimitMb: 1,
      metrics: { stages_succeeded: outcome.succeeded, stages_skipped: outcome.skipped, duration_ms: durationMs },
      health: {},
      stoppedEarly: false,
    },
  });
}
