import { describe, expect, it } from 'vitest';
import type { GateResult, ItemOutcome, PipelineState, WorkerResult } from '../../lambdas/shared/contracts.js';
import { CLOSED_CIRCUIT, type CircuitState } from '../../lib/domain/circuit.js';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import { LOCK_LOST_RECOMMENDATION, markLockLost, planRecord, recordNeedsWorkerState, reportExpiresAt, windowExpiresAt, type RecordInput, type RecordPlan } from '../../lib/domain/record.js';
import { WORKER_STEP_MAX_RETRIES } from '../../lib/domain/retry-policy.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { applyStateWrite, circuitAttr, evaluateStateCondition, parseWorkerState, type RawItem, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { jobOf, workerById } from '../../lib/registry/index.js';

const STARTED = Date.parse('2026-01-02T06:00:00.000Z');
const NOW = STARTED + 45_000;
const SLOT = '2026-01-02T06:00:00Z';
const EXEC = 'exec-1';
const FENCE = 5;

const result = (over: Partial<WorkerResult> = {}): WorkerResult => ({
  status: 'SUCCEEDED',
  durationMs: 30_000,
  attempts: 1,
  itemsOk: 10,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 10,
  recordsInvalid: 0,
  validationWarnings: [],
  peakMemoryMb: 100,
  memoryLimitMb: 512,
  metrics: { categories_fetched: 10 },
  health: {},
  stoppedEarly: false,
  ...over,
});

const RUN: GateResult = { decision: 'RUN', fence: FENCE, owner: EXEC, probe: false, scheduledTime: '2026-01-02T06:00:00.000Z' };
/** The lock of the job under test (youtube_worker trending). */
const TRENDING = lockAttrsFor('trending');
const held = (over: RawItem = {}): RawItem => ({ [TRENDING.holder]: EXEC, [TRENDING.fence]: FENCE, [TRENDING.expiresAt]: NOW + 100_000, slot_trending: '2026-01-02T06:00:00.000Z', version: 3, ...over });

function input(over: Partial<PipelineState> = {}, current: RawItem | null = held(), workerId = 'youtube_worker', jobId = 'trending'): RecordInput {
  return {
    worker: workerById(workerId),
    job: jobOf(workerId, jobId),
    state: { worker: workerId, job: jobId, scheduledTime: SLOT, trigger: 'schedule', gate: RUN, ...over },
    executionId: EXEC,
    startedAtMs: STARTED,
    nowMs: NOW,
    current: current === null ? undefined : parseWorkerState(current),
  };
}

function reportOf(plan: RecordPlan): WorkerScoreReport {
  if (plan.kind !== 'report') throw new Error('expected a report');
  return plan.report;
}

/** Applies the plan's state write to the item it was planned from. */
function applied(plan: RecordPlan, raw: RawItem | undefined): WorkerStateItem | null {
  if (plan.kind !== 'report' || plan.stateWrite === null) return null;
  return evaluateStateCondition(plan.stateWrite.write.condition, raw) ? parseWorkerState(applyStateWrite(plan.stateWrite.write, raw)) : null;
}

describe('planRecord: status, attempts, anomalies', () => {
  it.each<[string, Partial<PipelineState>, Partial<WorkerScoreReport>]>([
    ['work SUCCEEDED', { work: result() }, { status: 'SUCCEEDED', success: true, attempts: 1, durationMs: 30_000, skipReason: null, error: null, anomalies: [], recommendations: [] }],
    ['work PARTIAL', { work: result({ status: 'PARTIAL', itemsOk: 7, itemsFailed: 3 }) }, { status: 'PARTIAL', success: true, anomalies: ['PARTIAL_SUCCESS'] }],
    ['work with retries', { work: result({ attempts: 3 }) }, { status: 'SUCCEEDED', attempts: 3 }],
    [
      'retryable failure: every retry was spent',
      { work: undefined, failure: { Error: 'TransientUpstreamError', Cause: 'HTTP 503' } },
      { status: 'FAILED', success: false, attempts: 1 + WORKER_STEP_MAX_RETRIES, durationMs: 45_000, error: { name: 'TransientUpstreamError', cause: 'HTTP 503' } },
    ],
    ['Lambda transient failure', { failure: { Error: 'Lambda.ServiceException' } }, { status: 'FAILED', attempts: 1 + WORKER_STEP_MAX_RETRIES, error: { name: 'Lambda.ServiceException', cause: '' } }],
    ['permanent failure: one attempt', { failure: { Error: 'QuotaExhaustedError', Cause: 'daily units spent' } }, { status: 'FAILED', attempts: 1, anomalies: [] }],
    ['crash (States.Timeout)', { failure: { Error: 'States.Timeout' } }, { status: 'CRASHED', attempts: 1, anomalies: ['WORKER_CRASH'], recommendations: ['Restart worker, alert on-call'] }],
    ['crash (Runtime.OutOfMemory)', { failure: { Error: 'Runtime.OutOfMemory' } }, { status: 'CRASHED', anomalies: ['WORKER_CRASH'] }],
    ['a caught failure wins over partial output', { work: result(), failure: { Error: 'LockLostError' } }, { status: 'FAILED' }],
  ])('%s', (_name, state, expected) => {
    expect(reportOf(planRecord(input(state)))).toMatchObject(expected);
  });

  it.each<[GateResult & { decision: 'SKIP' }, string[], string[]]>([
    [{ decision: 'SKIP', skipReason: 'LOCK_HELD', detail: 'lock held by x', scheduledTime: SLOT }, ['SKIP_DUE_TO_LOCK'], ['lock held by x']],
    [{ decision: 'SKIP', skipReason: 'FRESH_DATA', detail: 'a later slot already ran', scheduledTime: SLOT }, ['SKIP_DUE_TO_FRESHNESS'], ['a later slot already ran']],
    [{ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN', detail: 'circuit OPEN', scheduledTime: SLOT }, [], ['circuit OPEN']],
    [{ decision: 'SKIP', skipReason: 'PAUSED', detail: 'orchestrator is PAUSED', scheduledTime: SLOT }, [], ['orchestrator is PAUSED']],
    [
      { decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail: 'dependency youtube_worker data is 4000 s old', scheduledTime: SLOT },
      ['DEPENDENCY_FAILURE'],
      ['dependency youtube_worker data is 4000 s old', 'Retry with backoff, skip if optional'],
    ],
  ])('gate SKIP %j -> SKIPPED, unscored, no state write', (gate, anomalies, recommendations) => {
    const plan = planRecord(input({ gate }, null));
    expect(plan).toMatchObject({ kind: 'report', stateWrite: null, lockReleased: true });
    expect(reportOf(plan)).toMatchObject({ status: 'SKIPPED', skipReason: gate.skipReason, success: false, scores: null, attempts: 0, durationMs: 0, lockFence: null, anomalies, recommendations, metrics: { skip_detail: gate.detail } });
    expect(recordNeedsWorkerState(input({ gate }).state)).toBe(false);
  });

  it('counts a LOCK_HELD skip as a lock failure in the window', () => {
    const plan = planRecord(input({ gate: { decision: 'SKIP', skipReason: 'LOCK_HELD', detail: 'x', scheduledTime: SLOT } }, null));
    expect(plan).toMatchObject({ window: { bucketKey: '2026-01-02T06', delta: { skips: 1, lockFailures: 1 } } });
  });

  it('scores an executed run with the worker\'s weights and the job\'s budget', () => {
    const report = reportOf(planRecord(input({ work: result({ durationMs: 300_000 * 0.9 }) })));
    // 270 s of a 300 s timeout, expected 60 s: SLOW_EXECUTION and TIMEOUT_WARNING.
    expect(report.anomalies).toEqual(['SLOW_EXECUTION', 'TIMEOUT_WARNING']);
    expect(report.recommendations).toEqual(['Increase timeout, check resources']);
    expect(report.scores).toMatchObject({ reliabilityScore: 100, dataQualityScore: 100, resourceScore: 100 });
    expect(report.scores?.performanceScore).toBeCloseTo(12.5, 1);
  });

  it.each<[string, Partial<WorkerResult>, string[], Record<string, unknown>]>([
    ['validation warnings -> MINOR_VALIDATION_ISSUE', { validationWarnings: ['missing thumbnail on 2 items'] }, ['MINOR_VALIDATION_ISSUE'], {}],
    ['invalid records -> DATA_CORRUPTION', { recordsValid: 8, recordsInvalid: 2 }, ['DATA_CORRUPTION'], {}],
    ['output failed its schema -> DATA_CORRUPTION', { outputValid: false }, ['DATA_CORRUPTION'], { dataQualityScore: 0 }],
    ['memory above 90% -> RESOURCE_EXHAUSTION', { peakMemoryMb: 490 }, ['RESOURCE_EXHAUSTION'], {}],
    ['quota below 20% -> API_QUOTA_LOW', { health: { quotaRemainingPercent: 12 } }, ['API_QUOTA_LOW'], {}],
    ['cache miss -> CACHE_MISS', { health: { cacheMiss: true } }, ['CACHE_MISS'], {}],
    ['an invalid fact -> MINOR_VALIDATION_ISSUE, its component 0', { memoryLimitMb: 0 }, ['MINOR_VALIDATION_ISSUE'], { resourceScore: 0 }],
  ])('%s', (_name, work, anomalies, scores) => {
    const report = reportOf(planRecord(input({ work: result(work) })));
    expect(report.anomalies).toEqual(anomalies);
    expect(report.scores).toMatchObject(scores);
  });

  it('normalizes the scheduled time and keys the report by slot and job', () => {
    const plan = planRecord(input({ work: result() }));
    expect(plan).toMatchObject({ reportSk: 'REPORT#2026-01-02T06:00:00.000Z#trending' });
    // On-demand runs carry their request id: two requests in the same millisecond get two reports.
    expect(planRecord(input({ work: result(), runId: 'req-42' }))).toMatchObject({ reportSk: 'REPORT#2026-01-02T06:00:00.000Z#trending#req-42' });
    expect(reportOf(plan)).toMatchObject({ workerName: 'youtube_worker', jobId: 'trending', executionId: EXEC, scheduledTime: '2026-01-02T06:00:00.000Z', startedAt: '2026-01-02T06:00:00.000Z', completedAt: '2026-01-02T06:00:45.000Z', lockFence: FENCE });
  });

  it.each<[string, Partial<PipelineState>]>([
    ['the gate said WAIT', { gate: { decision: 'WAIT', waitSeconds: 10, scheduledTime: SLOT } }],
    ['no gate and no failure', { gate: undefined }],
    ['RUN with neither work, items nor failure', {}],
  ])('throws InvalidPayloadError when %s', (_name, state) => {
    expect(() => planRecord(input(state))).toThrow(InvalidPayloadError);
  });

  it('a DUPLICATE gate records nothing', () => {
    expect(planRecord(input({ gate: { decision: 'DUPLICATE', scheduledTime: SLOT } }))).toMatchObject({ kind: 'nothing' });
  });
});

describe('planRecord: fan-out reduction', () => {
  const ok = (over: Partial<WorkerResult> = {}): ItemOutcome => ({ ok: true, result: result({ itemsOk: 1, durationMs: 5_000, metrics: { games_processed: 1, analyzer: 'v2' }, ...over }) });
  const failed = (error = 'UpstreamRejectedError'): ItemOutcome => ({ ok: false, error: { Error: error, Cause: 'boom' } });
  const fanOut = (items: ItemOutcome[]): WorkerScoreReport => reportOf(planRecord(input({ items }, held({ slot_analyze: SLOT }), 'creator_intel_worker', 'analyze')));

  it.each<[string, ItemOutcome[], Partial<WorkerScoreReport>]>([
    ['all items ok', [ok(), ok(), ok()], { status: 'SUCCEEDED', metrics: { items_ok: 3, items_failed: 0, games_processed: 3, analyzer: 'v2' }, anomalies: [] }],
    ['one item failed', [ok(), failed(), ok()], { status: 'PARTIAL', success: true, metrics: { items_ok: 2, items_failed: 1, games_processed: 2, analyzer: 'v2' }, anomalies: ['PARTIAL_SUCCESS'], error: null }],
    ['no item ok', [failed(), failed('TransientUpstreamError')], { status: 'FAILED', success: false, attempts: 1 + WORKER_STEP_MAX_RETRIES, error: { name: 'UpstreamRejectedError', cause: 'boom' } }],
    ['all ok, one itself PARTIAL', [ok(), ok({ status: 'PARTIAL' })], { status: 'PARTIAL' }],
    ['no items planned', [], { status: 'SUCCEEDED', metrics: { items_ok: 0, items_failed: 0 } }],
    ['attempts: the most any item needed', [ok({ attempts: 2 }), ok({ attempts: 3 })], { attempts: 3 }],
  ])('%s', (_name, items, expected) => {
    expect(fanOut(items)).toMatchObject(expected);
  });

  it('measures a fan-out from the execution start, and scores reliability by the share of items ok', () => {
    const report = fanOut([ok(), failed(), ok(), ok()]);
    expect(report.durationMs).toBe(NOW - STARTED);
    expect(report.scores?.reliabilityScore).toBe(75);
  });
});

describe('planRecord: the STATE write', () => {
  it('a locked success: one conditional write releases the lock, closes the circuit, sets freshness and the last run', () => {
    const raw = held({ circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, consecutiveFailures: 2 }) });
    const plan = planRecord(input({ work: result() }, raw));
    expect(plan).toMatchObject({ stateWrite: { guard: 'fence' }, lockReleased: true });
    const after = applied(plan, raw);
    expect(after).toMatchObject({
      locks: { trending: { holder: null, fence: FENCE, expiresAtMs: 0 } },
      circuits: { trending: CLOSED_CIRCUIT },
      freshAt: { trending: NOW },
      lastStatus: 'SUCCEEDED',
      lastRunAtMs: NOW,
      lastScheduledTime: '2026-01-02T06:00:00.000Z',
      lastExecutionId: EXEC,
      version: 4,
    });
  });

  it.each<[string, Partial<CircuitState>, Partial<CircuitState>]>([
    ['first failure counts', {}, { state: 'CLOSED', consecutiveFailures: 1 }],
    ['third failure opens the circuit', { consecutiveFailures: 2 }, { state: 'OPEN', changedAtMs: NOW }],
    ['a failed probe re-opens it', { state: 'HALF_OPEN', changedAtMs: STARTED, probesAdmitted: 1 }, { state: 'OPEN', changedAtMs: NOW }],
  ])('a locked failure: %s, lock released, freshness untouched', (_name, before, expected) => {
    const raw = held({ freshAtMs_trending: 1, circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, ...before }) });
    const after = applied(planRecord(input({ failure: { Error: 'UpstreamRejectedError' } }, raw)), raw);
    expect(after?.circuits['trending']).toMatchObject(expected);
    expect(after).toMatchObject({ locks: { trending: { holder: null } }, freshAt: { trending: 1 }, lastStatus: 'FAILED' });
  });

  it('releases only the job\'s own lock: another job\'s lock on the worker is left as it was', () => {
    const games = lockAttrsFor('games');
    const raw = held({ [games.holder]: 'games-exec', [games.fence]: 2, [games.expiresAt]: NOW + 50_000 });
    const after = applied(planRecord(input({ work: result() }, raw)), raw);
    expect(after?.locks).toEqual({ trending: { holder: null, fence: FENCE, expiresAtMs: 0 }, games: { holder: 'games-exec', fence: 2, expiresAtMs: NOW + 50_000 } });
  });

  it('a successful probe closes the circuit', () => {
    const raw = held({ circuit_trending: circuitAttr({ state: 'HALF_OPEN', consecutiveFailures: 0, changedAtMs: STARTED, probesAdmitted: 1, halfOpenSuccesses: 0 }) });
    expect(applied(planRecord(input({ work: result(), gate: { ...RUN, probe: true } }, raw)), raw)?.circuits['trending']).toEqual(CLOSED_CIRCUIT);
  });

  it('a stale fence (the lock was taken over): no write, the report says so, lockReleased false', () => {
    const raw = held({ [TRENDING.holder]: 'newer-exec', [TRENDING.fence]: FENCE + 1 });
    const plan = planRecord(input({ work: result() }, raw));
    expect(plan).toMatchObject({ kind: 'report', stateWrite: null, lockReleased: false });
    expect(reportOf(plan).recommendations).toEqual([LOCK_LOST_RECOMMENDATION]);
    expect(reportOf(plan).status).toBe('SUCCEEDED');
  });

  it('the fence write fails if the lock changes hands after planning', () => {
    const plan = planRecord(input({ work: result() }));
    expect(applied(plan, held({ [TRENDING.holder]: 'newer-exec', [TRENDING.fence]: FENCE + 1 }))).toBeNull();
    expect(applied(plan, held({ [TRENDING.fence]: FENCE + 1 }))).toBeNull();
  });

  it('an unlocked run writes under the version it read', () => {
    const raw = { version: 7, circuit_generate: circuitAttr({ ...CLOSED_CIRCUIT, consecutiveFailures: 1 }) };
    const state: Partial<PipelineState> = { trigger: 'manual', gate: { ...RUN, fence: 0 }, work: result({ metrics: {} }) };
    const plan = planRecord(input(state, raw, 'generation_worker', 'generate'));
    expect(plan).toMatchObject({ stateWrite: { guard: 'version' }, lockReleased: true });
    expect(reportOf(plan).lockFence).toBeNull();
    expect(applied(plan, raw)).toMatchObject({ version: 8, circuits: { generate: CLOSED_CIRCUIT }, freshAt: { generate: NOW }, lastStatus: 'SUCCEEDED' });
    expect(applied(plan, { ...raw, version: 8 })).toBeNull();
    // No item yet: the condition is "no version".
    expect(applied(planRecord(input(state, null, 'generation_worker', 'generate')), undefined)).toMatchObject({ version: 1 });
  });

  it('an unlocked success that leaves its circuit as it is writes by order, not by version: concurrent runs of one worker do not race', () => {
    const raw = { version: 7, lastRunAtMs: NOW - 60_000, freshAtMs_generate: NOW - 60_000 };
    const state: Partial<PipelineState> = { trigger: 'manual', gate: { ...RUN, fence: 0 }, work: result({ metrics: {} }) };
    const plan = planRecord(input(state, raw, 'generation_worker', 'generate'));
    expect(plan).toMatchObject({ stateWrite: { guard: 'order' }, lockReleased: true });
    if (plan.kind !== 'report' || plan.stateWrite === null) throw new Error('expected a state write');
    // Another run's write since the read (the version moved on) does not stop it, and it leaves the circuit alone.
    const afterOther = applied(plan, { ...raw, version: 9, circuit_generate: circuitAttr({ ...CLOSED_CIRCUIT, consecutiveFailures: 1 }) });
    expect(afterOther).toMatchObject({ version: 10, lastStatus: 'SUCCEEDED', lastRunAtMs: NOW, freshAt: { generate: NOW }, circuits: { generate: { consecutiveFailures: 1 } } });
    // A run that ended later recorded first: its last-run facts stand...
    expect(applied(plan, { ...raw, lastRunAtMs: NOW + 1_000, lastStatus: 'FAILED' })).toBeNull();
    // ...and this run's freshness is still written when it is newer, and not when it is older.
    const otherwise = plan.stateWrite.otherwise;
    expect(otherwise?.guard).toBe('order');
    const freshness = { ...plan, stateWrite: otherwise ?? null };
    expect(applied(freshness, { ...raw, lastRunAtMs: NOW + 1_000, lastStatus: 'FAILED' })).toMatchObject({ lastStatus: 'FAILED', lastRunAtMs: NOW + 1_000, freshAt: { generate: NOW } });
    expect(applied(freshness, { ...raw, lastRunAtMs: NOW + 1_000, freshAtMs_generate: NOW + 1_000 })).toBeNull();
    // No item yet: it applies.
    expect(applied(planRecord(input(state, null, 'generation_worker', 'generate')), undefined)).toMatchObject({ version: 1, lastStatus: 'SUCCEEDED' });
    // A failure changes the circuit: it is written under the version, as before, and has no freshness to fall back to.
    const failed = planRecord(input({ ...state, work: undefined, failure: { Error: 'QuotaExhaustedError', Cause: 'spent' } }, raw, 'generation_worker', 'generate'));
    expect(failed).toMatchObject({ stateWrite: { guard: 'version' } });
  });

  it('a retried Record whose effects were already applied writes no state again', () => {
    const raw = held({ [TRENDING.holder]: undefined, lastExecutionId: EXEC });
    expect(planRecord(input({ work: result() }, raw))).toMatchObject({ stateWrite: null, lockReleased: true });
  });

  it('a failed gate: a FAILED report without a lock; a lock the gate took is released', () => {
    const state: Partial<PipelineState> = { gate: undefined, failure: { Error: 'ConfigurationError', Cause: 'TABLE_NAME' } };
    const noLock = planRecord(input(state, null));
    expect(noLock).toMatchObject({ stateWrite: null, lockReleased: true });
    expect(reportOf(noLock)).toMatchObject({ status: 'FAILED', lockFence: null, error: { name: 'ConfigurationError' } });
    const raw = held();
    const release = planRecord(input(state, raw));
    expect(release).toMatchObject({ stateWrite: { guard: 'holder' } });
    expect(applied(release, raw)).toMatchObject({ locks: { trending: { holder: null, fence: FENCE } }, lastStatus: null });
  });

  it('markLockLost adds the recommendation once', () => {
    const report = reportOf(planRecord(input({ work: result() })));
    expect(markLockLost(markLockLost(report)).recommendations).toEqual([LOCK_LOST_RECOMMENDATION]);
  });

  it('TTLs: reports for the retention period, windows for 35 days (daily aggregates for a month)', () => {
    expect(reportExpiresAt(NOW, 30) - Math.floor(NOW / 1000)).toBe(30 * 86_400);
    expect(windowExpiresAt(NOW) - Math.floor(NOW / 1000)).toBe(35 * 86_400);
  });
});
