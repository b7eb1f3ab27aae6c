import { beforeEach, describe, expect, it, vi } from 'vitest';

// The handler module reads its environment at import: give it one.
vi.hoisted(() => {
  process.env['TABLE_NAME'] = 'protocol-actions-test';
});

import { makeHandler, type ProtocolLogger } from '../../lambdas/protocol/handler.js';
import { FreshnessResult, RecordResult, type GateResult, type PipelineState } from '../../lambdas/shared/contracts.js';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import { ORCH_PK, parseWorkerState, STATE_SK, workerPk, type RawItem } from '../../lib/domain/worker-state.js';
import { jobOf, workerById, workStepTimeoutSeconds } from '../../lib/registry/index.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const STARTED = Date.parse('2026-01-02T04:00:00.000Z');
const SLOT = '2026-01-02T04:00:00Z';
const SLOT_MS = '2026-01-02T04:00:00.000Z';
/** The cycle's Record runs 20 minutes after it started. */
const CYCLE_MS = 20 * 60_000;

const silentLogger: ProtocolLogger = { appendKeys: () => undefined, resetKeys: () => undefined, info: () => undefined, warn: () => undefined };

let store: InMemoryStateStore;
let now: number;
let handler: (event: unknown) => Promise<unknown>;

beforeEach(() => {
  store = new InMemoryStateStore();
  now = STARTED + 1_000;
  handler = makeHandler({ store, clock: () => now, logger: silentLogger });
});

const call = (action: string, state: Record<string, unknown>, executionId = 'cycle-exec-1') => handler({ action, executionId, startedAt: new Date(STARTED).toISOString(), state });
const seedWorker = (id: string, raw: RawItem): void => store.put(workerPk(id), STATE_SK, raw);

describe('protocol action `freshness`', () => {
  const query = { worker: 'playbook_worker', job: 'synthesize', scheduledTime: SLOT, trigger: 'intel_cycle' };

  it('returns { stale, ageSeconds } per data dependency of playbook_worker from the STATE items, with one read and no write', async () => {
    // Prepare: youtube 1800 s old (limit 3600), twitch streams 1801 s old (limit 1800).
    seedWorker('youtube_worker', { freshAtMs_games: now - 1_800_000, lastStatus: 'SUCCEEDED' });
    seedWorker('twitch_streams_worker', { freshAtMs_poll: now - 1_801_000, lastStatus: 'SUCCEEDED' });
    store.resetCounts();

    // Act
    const result = await call('freshness', query);

    // Assess
    expect(result).toEqual({ stale: { youtube_worker: false, twitch_streams_worker: true }, ageSeconds: { youtube_worker: 1_800, twitch_streams_worker: 1_801 } });
    expect(FreshnessResult.safeParse(result).success).toBe(true);
    expect(store.reads).toBe(1);
    expect(store.writes).toBe(0);
  });

  it('a dependency that never succeeded is stale with age null; exactly at the threshold is fresh', async () => {
    seedWorker('youtube_worker', { freshAtMs_games: now - 3_600_000, lastStatus: 'SUCCEEDED' });
    seedWorker('twitch_streams_worker', { lastStatus: 'FAILED' });
    expect(await call('freshness', query)).toEqual({ stale: { youtube_worker: false, twitch_streams_worker: true }, ageSeconds: { youtube_worker: 3_600, twitch_streams_worker: null } });
  });

  it('answers the same while the orchestrator is paused (it only reads)', async () => {
    store.put(ORCH_PK, STATE_SK, { mode: 'PAUSED', updatedAt: SLOT_MS, reason: 'maintenance' });
    seedWorker('youtube_worker', { freshAtMs_games: now - 10_000 });
    seedWorker('twitch_streams_worker', { freshAtMs_poll: now - 10_000 });
    expect(await call('freshness', query)).toEqual({ stale: { youtube_worker: false, twitch_streams_worker: false }, ageSeconds: { youtube_worker: 10, twitch_streams_worker: 10 } });
  });
});

describe('protocol action `cycle-record`', () => {
  const cycleInput = { worker: 'intel_orchestrator', job: 'cycle', scheduledTime: SLOT, trigger: 'schedule' } as const;
  const reportKey = `WORKER#intel_orchestrator/REPORT#${SLOT_MS}#cycle`;
  const report = (): RawItem | undefined => store.reports('intel_orchestrator')[0];

  /** Gates the cycle for its schedule slot, then moves the clock to its end. */
  const gateRun = async (): Promise<GateResult> => {
    const gate = (await call('gate', cycleInput)) as GateResult;
    now = STARTED + CYCLE_MS;
    return gate;
  };
  const cycleRecord = async (state: Record<string, unknown>): Promise<RecordResult> => RecordResult.parse(await call('cycle-record', state));

  it('the gate RUNs the cycle for its slot (unlocked, fence 0, slot claimed)', async () => {
    const gate = await gateRun();
    expect(gate).toEqual({ decision: 'RUN', fence: 0, owner: 'cycle-exec-1', probe: false, scheduledTime: SLOT_MS, stepTimeoutSeconds: workStepTimeoutSeconds(workerById('intel_orchestrator'), jobOf('intel_orchestrator', 'cycle')) });
    expect(parseWorkerState(store.workerItem('intel_orchestrator') ?? {}).slots).toEqual({ cycle: SLOT_MS });
  });

  it('three SUCCEEDED stages -> a SUCCEEDED report with stages_succeeded 3, stages_skipped 0', async () => {
    // Prepare
    const gate = await gateRun();
    const state = { ...cycleInput, gate, stage_youtube_worker: { status: 'SUCCEEDED' }, stage_creator_intel_worker: { status: 'SUCCEEDED' }, stage_playbook_worker: { status: 'SUCCEEDED' } };

    // Act
    const result = await cycleRecord(state);

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED', reportKey, lockReleased: true });
    expect(report()).toMatchObject({
      status: 'SUCCEEDED',
      executionId: 'cycle-exec-1',
      durationMs: CYCLE_MS,
      lockFence: null,
      error: null,
      metrics: { stages_succeeded: 3, stages_skipped: 0, duration_ms: CYCLE_MS },
    });
    expect(parseWorkerState(store.workerItem('intel_orchestrator') ?? {})).toMatchObject({ lastStatus: 'SUCCEEDED', freshAt: { cycle: STARTED + CYCLE_MS } });
  });

  it('a SKIPPED stage -> a PARTIAL report with stages_skipped 1', async () => {
    const gate = await gateRun();
    const result = await cycleRecord({ ...cycleInput, gate, stage_youtube_worker: { status: 'SUCCEEDED' }, stage_creator_intel_worker: { status: 'SUCCEEDED' }, stage_playbook_worker: { status: 'SKIPPED' } });
    expect(result).toMatchObject({ status: 'PARTIAL', reportKey });
    expect(report()).toMatchObject({ status: 'PARTIAL', metrics: { stages_succeeded: 2, stages_skipped: 1 } });
  });

  it('a stageFailure -> a FAILED report with error StageFailed naming the failed stage', async () => {
    // Prepare
    const gate = await gateRun();
    const state = { ...cycleInput, gate, stage_youtube_worker: { status: 'SUCCEEDED' }, stageFailure: { Error: 'States.TaskFailed', Cause: '{"status":"FAILED"}' } };

    // Act
    const result = await cycleRecord(state);

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', reportKey });
    expect(report()).toMatchObject({ status: 'FAILED', error: { name: 'StageFailed', cause: 'stage creator_intel_worker.analyze failed (States.TaskFailed); the later stages were skipped' } });
    expect(report()?.['metrics']).not.toHaveProperty('stages_succeeded');
    expect(parseWorkerState(store.workerItem('intel_orchestrator') ?? {})).toMatchObject({ lastStatus: 'FAILED', freshAt: {}, circuits: { cycle: { consecutiveFailures: 1 } } });
  });

  it('a retried cycle-record stores no second report', async () => {
    const gate = await gateRun();
    const state = { ...cycleInput, gate, stage_youtube_worker: { status: 'SUCCEEDED' }, stage_creator_intel_worker: { status: 'SUCCEEDED' }, stage_playbook_worker: { status: 'SUCCEEDED' } };
    const first = await cycleRecord(state);
    expect(await cycleRecord(state)).toEqual(first);
    expect(store.reports('intel_orchestrator')).toHaveLength(1);
  });

  it('a cycle whose gate said SKIP (paused) -> a SKIPPED report; stage fields play no part', async () => {
    store.put(ORCH_PK, STATE_SK, { mode: 'PAUSED', updatedAt: SLOT_MS, reason: 'deploy' });
    const gate = await gateRun();
    expect(gate).toMatchObject({ decision: 'SKIP', skipReason: 'PAUSED' });
    const result = await cycleRecord({ ...cycleInput, gate, stage_youtube_worker: { status: 'SUCCEEDED' } });
    expect(result).toMatchObject({ status: 'SKIPPED', overallScore: null });
    expect(report()).toMatchObject({ status: 'SKIPPED', skipReason: 'PAUSED' });
  });

  it('a cycle whose gate step failed (Catch at $.failure) -> FAILED with that error, not StageFailed', async () => {
    const result = await cycleRecord({ ...cycleInput, failure: { Error: 'ConfigurationError', Cause: 'boom' } });
    expect(result).toMatchObject({ status: 'FAILED' });
    expect(report()).toMatchObject({ error: { name: 'ConfigurationError' } });
  });
});

describe('protocol actions: malformed calls', () => {
  const state: Partial<PipelineState> = { worker: 'playbook_worker', job: 'synthesize', scheduledTime: SLOT, trigger: 'intel_cycle' };

  it.each<[string, unknown, RegExp]>([
    ['an unknown action', { action: 'refresh', executionId: 'e', startedAt: SLOT, state }, /malformed protocol call: action/],
    ['freshness for an unknown worker', { action: 'freshness', executionId: 'e', startedAt: SLOT, state: { ...state, worker: 'tiktok_worker' } }, /unknown worker, got "tiktok_worker"/],
    ['cycle-record with neither gate nor failure', { action: 'cycle-record', executionId: 'e', startedAt: SLOT, state: { worker: 'intel_orchestrator', job: 'cycle', scheduledTime: SLOT, trigger: 'schedule' } }, /record needs a gate result or a caught failure/],
  ])('%s -> InvalidPayloadError', async (_name, event, message) => {
    // Act
    const error = await handler(event).then(
      () => null,
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidPayloadError);
    expect((error as Error).message).toMatch(message);
    expect(store.writes).toBe(0);
  });
});
