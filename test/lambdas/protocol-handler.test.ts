import { beforeEach, describe, expect, it, vi } from 'vitest';

// The handler module reads its environment at import: give it one.
vi.hoisted(() => {
  process.env['TABLE_NAME'] = 'protocol-handler-test';
});

import { makeHandler, type ProtocolLogger } from '../../lambdas/protocol/handler.js';
import type { FreshnessResult, GateResult, PipelineState, RecordResult, WorkerResult } from '../../lambdas/shared/contracts.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { ConfigurationError, InvalidPayloadError } from '../../lib/domain/errors.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import { LOCK_LOST_RECOMMENDATION } from '../../lib/domain/record.js';
import { circuitAttr, ORCH_PK, parseWorkerState, STATE_SK, windowSk, workerPk, type RawItem } from '../../lib/domain/worker-state.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const STARTED = Date.parse('2026-01-02T06:00:00.000Z');
const SLOT = '2026-01-02T06:00:00Z';
/** Each job has its own lock: youtube_worker's trending, creator_intel_worker's analyze. */
const TRENDING = lockAttrsFor('trending');
const ANALYZE = lockAttrsFor('analyze');
const SLOT_MS = '2026-01-02T06:00:00.000Z';
const BUCKET = '2026-01-02T06';

class FakeLogger implements ProtocolLogger {
  keys: Record<string, unknown> = {};
  readonly lines: { level: string; message: string; keys: Record<string, unknown> }[] = [];
  appendKeys(attributes: Record<string, string>): void {
    this.keys = { ...this.keys, ...attributes };
  }
  resetKeys(): void {
    this.keys = {};
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message, keys: { ...this.keys } });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message, keys: { ...this.keys } });
  }
}

const result = (over: Partial<WorkerResult> = {}): WorkerResult => ({
  status: 'SUCCEEDED',
  durationMs: 20_000,
  attempts: 1,
  itemsOk: 5,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 5,
  recordsInvalid: 0,
  validationWarnings: [],
  peakMemoryMb: 128,
  memoryLimitMb: 512,
  metrics: {},
  health: {},
  stoppedEarly: false,
  ...over,
});

let store: InMemoryStateStore;
let logger: FakeLogger;
let now: number;
let handler: (event: unknown) => Promise<GateResult | RecordResult | FreshnessResult>;

beforeEach(() => {
  store = new InMemoryStateStore();
  logger = new FakeLogger();
  now = STARTED + 1_000;
  handler = makeHandler({ store, clock: () => now, logger });
});

type Input = Pick<PipelineState, 'worker' | 'job' | 'scheduledTime' | 'trigger'>;
const trending: Input = { worker: 'youtube_worker', job: 'trending', scheduledTime: SLOT, trigger: 'schedule' };

const gate = async (input: Input, executionId = 'exec-1'): Promise<GateResult> =>
  (await handler({ action: 'gate', executionId, startedAt: new Date(STARTED).toISOString(), state: input })) as GateResult;
const record = async (state: PipelineState, executionId = 'exec-1'): Promise<RecordResult> =>
  (await handler({ action: 'record', executionId, startedAt: new Date(STARTED).toISOString(), state })) as RecordResult;

const workerState = (id = 'youtube_worker') => parseWorkerState(store.workerItem(id) ?? {});
const bucket = (id = 'youtube_worker'): RawItem | undefined => store.get(workerPk(id), windowSk(BUCKET));
const seedWorker = (id: string, raw: RawItem): void => store.put(workerPk(id), STATE_SK, raw);

describe('protocol handler: success path', () => {
  it('gate RUN then record SUCCEEDED: lock released, circuit closed, freshness set, 4 writes in all', async () => {
    // Prepare
    seedWorker('youtube_worker', { circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, consecutiveFailures: 2 }), [TRENDING.fence]: 9 });
    store.resetCounts();

    // Act
    const g = await gate(trending);
    now = STARTED + 25_000;
    const r = await record({ ...trending, gate: g, work: result() });

    // Assess
    expect(g).toEqual({ decision: 'RUN', fence: 10, owner: 'exec-1', probe: false, scheduledTime: SLOT_MS, stepTimeoutSeconds: 270 });
    expect(r).toMatchObject({ status: 'SUCCEEDED', reportKey: `WORKER#youtube_worker/REPORT#${SLOT_MS}#trending`, lockReleased: true });
    expect(r.overallScore).toBeGreaterThan(90);
    expect(store.writes).toBe(4);
    expect(store.reads).toBe(2);
    expect(store.log).toEqual(['readGateView', 'updateWorkerState', 'readWorkerState', 'addWindowCounters', 'updateWorkerState', 'putReportOnce']);
    expect(workerState()).toMatchObject({ locks: { trending: { holder: null, fence: 10 } }, circuits: { trending: CLOSED_CIRCUIT }, freshAt: { trending: STARTED + 25_000 }, lastStatus: 'SUCCEEDED', slots: { trending: SLOT_MS } });
    expect(store.reports('youtube_worker')).toHaveLength(1);
    expect(store.reports('youtube_worker')[0]).toMatchObject({ entity: 'REPORT', status: 'SUCCEEDED', lockFence: 10, executionId: 'exec-1' });
    expect(bucket()).toMatchObject({ runs: 1, attempts: 1, durationMsSum: 20_000 });
  });

  it('logs every line with worker, executionId and scheduledTime', async () => {
    await gate(trending);
    await record({ ...trending, gate: await gate(trending), work: result() });
    expect(logger.lines.length).toBeGreaterThanOrEqual(3);
    for (const line of logger.lines) expect(line.keys).toMatchObject({ worker: 'youtube_worker', executionId: 'exec-1', scheduledTime: SLOT });
  });

  it('a retried Record is idempotent: no second report, nothing counted twice', async () => {
    const g = await gate(trending);
    const state = { ...trending, gate: g, work: result() };
    const first = await record(state);
    const second = await record(state);
    expect(second).toEqual(first);
    expect(store.reports('youtube_worker')).toHaveLength(1);
    expect(bucket()).toMatchObject({ runs: 1 });
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('report not stored'))).toBe(true);
  });
});

describe('protocol handler: gate decisions', () => {
  it('a repeated delivery of a slot that ran -> DUPLICATE, no write, and its record writes nothing', async () => {
    await record({ ...trending, gate: await gate(trending), work: result() });
    store.resetCounts();
    const g = await gate(trending, 'exec-2');
    expect(g).toEqual({ decision: 'DUPLICATE', scheduledTime: SLOT_MS });
    expect(store.writes).toBe(0);
    expect(await record({ ...trending, gate: g }, 'exec-2')).toMatchObject({ status: 'SKIPPED', overallScore: null });
    expect(store.writes).toBe(0);
  });

  it('a later slot already claimed -> SKIP FRESH_DATA, recorded as SKIPPED', async () => {
    seedWorker('youtube_worker', { slot_trending: '2026-01-02T06:30:00.000Z' });
    const g = await gate(trending);
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'FRESH_DATA', detail: expect.stringContaining('a later slot already ran') });
    expect(await record({ ...trending, gate: g })).toMatchObject({ status: 'SKIPPED', lockReleased: true });
    expect(store.reports('youtube_worker')[0]).toMatchObject({ status: 'SKIPPED', skipReason: 'FRESH_DATA', anomalies: ['SKIP_DUE_TO_FRESHNESS'] });
  });

  it('circuit OPEN -> SKIP CIRCUIT_OPEN with a SKIPPED report; 3 writes (slot claim, report, counters)', async () => {
    seedWorker('youtube_worker', { circuit_trending: circuitAttr({ state: 'OPEN', consecutiveFailures: 0, changedAtMs: STARTED - 60_000, probesAdmitted: 0, halfOpenSuccesses: 0 }) });
    store.resetCounts();
    const g = await gate(trending);
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN' });
    const r = await record({ ...trending, gate: g });
    expect(r).toEqual({ status: 'SKIPPED', overallScore: null, reportKey: `WORKER#youtube_worker/REPORT#${SLOT_MS}#trending`, lockReleased: true });
    expect(store.reports('youtube_worker')[0]).toMatchObject({ status: 'SKIPPED', skipReason: 'CIRCUIT_OPEN', scores: null, attempts: 0 });
    expect(store.writes).toBe(3);
    expect(store.reads).toBe(1);
    expect(workerState().circuits['trending']?.state).toBe('OPEN');
    // The skipped slot is claimed: a repeated delivery cannot run it later.
    expect(await gate(trending, 'exec-2')).toMatchObject({ decision: 'DUPLICATE' });
  });

  it('lock held -> SKIP LOCK_HELD, and the lockFailures counter goes up', async () => {
    seedWorker('youtube_worker', { [TRENDING.holder]: 'exec-0', [TRENDING.fence]: 3, [TRENDING.expiresAt]: STARTED + 100_000 });
    const g = await gate(trending);
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'LOCK_HELD', detail: expect.stringContaining('exec-0') });
    await record({ ...trending, gate: g });
    expect(bucket()).toMatchObject({ skips: 1, lockFailures: 1 });
    expect(workerState().locks['trending']).toMatchObject({ holder: 'exec-0', fence: 3 });
  });

  it('paused -> SKIP PAUSED', async () => {
    store.put(ORCH_PK, STATE_SK, { mode: 'PAUSED', updatedAt: '2026-01-02T05:00:00.000Z', reason: 'incident 42' });
    const g = await gate(trending);
    expect(g).toEqual({ decision: 'SKIP', skipReason: 'PAUSED', detail: 'orchestrator is PAUSED: incident 42', scheduledTime: SLOT_MS });
    expect(await record({ ...trending, gate: g })).toMatchObject({ status: 'SKIPPED' });
  });

  it('a not-running dependency in progress -> WAIT, no write', async () => {
    seedWorker('creator_intel_worker', { [ANALYZE.holder]: 'intel', [ANALYZE.fence]: 1, [ANALYZE.expiresAt]: STARTED + 600_000 });
    store.resetCounts();
    const g = await gate({ worker: 'intel_aggregation_worker', job: 'hourly', scheduledTime: SLOT, trigger: 'schedule' });
    expect(g).toEqual({ decision: 'WAIT', waitSeconds: 30, scheduledTime: SLOT_MS });
    expect(store.writes).toBe(0);
  });

  it('a lost race: re-reads once and re-decides (here: the winner holds the lock)', async () => {
    store.beforeStateWrite = () => {
      store.beforeStateWrite = undefined;
      seedWorker('youtube_worker', { [TRENDING.holder]: 'exec-fast', [TRENDING.fence]: 1, [TRENDING.expiresAt]: STARTED + 360_000 });
    };
    const g = await gate(trending);
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'LOCK_HELD', detail: expect.stringContaining('exec-fast') });
    expect(store.reads).toBe(2);
  });

  it('two lost races: gives up with SKIP LOCK_HELD', async () => {
    const live = { [TRENDING.holder]: 'x', [TRENDING.fence]: 1, [TRENDING.expiresAt]: STARTED + 360_000 };
    let n = 0;
    // First the lock is taken under our acquire; then the slot is claimed under our skip's claim.
    store.beforeStateWrite = () => seedWorker('youtube_worker', n++ === 0 ? live : { ...live, slot_trending: SLOT_MS });
    const g = await gate(trending);
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'LOCK_HELD', detail: expect.stringContaining('lost the race') });
    expect(store.writes).toBe(2);
    expect(store.reads).toBe(2);
  });

  it('a retried gate (its first answer lost) gets the same RUN, without a second acquire', async () => {
    const first = await gate(trending);
    store.resetCounts();
    expect(await gate(trending)).toEqual(first);
    expect(store.writes).toBe(0);
  });
});

describe('protocol handler: failures', () => {
  it('permanent failure -> FAILED report, lock released, circuit failure counted', async () => {
    const g = await gate(trending);
    const r = await record({ ...trending, gate: g, failure: { Error: 'UpstreamRejectedError', Cause: '{"errorMessage":"403"}' } });
    expect(r).toMatchObject({ status: 'FAILED', lockReleased: true, overallScore: expect.any(Number) });
    expect(workerState()).toMatchObject({ locks: { trending: { holder: null } }, circuits: { trending: { state: 'CLOSED', consecutiveFailures: 1 } }, freshAtMs: null, lastStatus: 'FAILED' });
    expect(store.reports('youtube_worker')[0]).toMatchObject({ status: 'FAILED', attempts: 1, error: { name: 'UpstreamRejectedError' } });
    expect(bucket()).toMatchObject({ runs: 1, failures: 1 });
  });

  it('crash (States.Timeout) -> CRASHED report, lock released', async () => {
    const r = await record({ ...trending, gate: await gate(trending), failure: { Error: 'States.Timeout' } });
    expect(r).toMatchObject({ status: 'CRASHED', lockReleased: true });
    expect(workerState().locks['trending']?.holder).toBeNull();
    expect(store.reports('youtube_worker')[0]).toMatchObject({ anomalies: ['WORKER_CRASH'], recommendations: ['Restart worker, alert on-call'] });
    expect(bucket()).toMatchObject({ runs: 1, failures: 1, crashes: 1 });
  });

  it('stale fence (lease lapsed, another run took over): report stored, lockReleased false, effects not applied', async () => {
    const g = await gate(trending);
    now = STARTED + 400_000; // past the 360 s lease
    const newer = await gate({ ...trending, scheduledTime: '2026-01-02T06:30:00Z' }, 'exec-2');
    expect(newer).toMatchObject({ decision: 'RUN', fence: 2 });
    const r = await record({ ...trending, gate: g, work: result() });
    expect(r).toMatchObject({ status: 'SUCCEEDED', lockReleased: false });
    expect(store.reports('youtube_worker')[0]).toMatchObject({ executionId: 'exec-1', recommendations: [LOCK_LOST_RECOMMENDATION] });
    expect(workerState()).toMatchObject({ locks: { trending: { holder: 'exec-2', fence: 2 } }, freshAtMs: null, lastStatus: null });
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('lock lost'))).toBe(true);
  });

  it('stale fence detected by the write (the lock changed hands after the read)', async () => {
    const g = await gate(trending);
    store.beforeStateWrite = () => seedWorker('youtube_worker', { ...store.workerItem('youtube_worker'), [TRENDING.holder]: 'exec-2', [TRENDING.fence]: 2 });
    const r = await record({ ...trending, gate: g, work: result() });
    expect(r.lockReleased).toBe(false);
    expect(store.reports('youtube_worker')[0]).toMatchObject({ recommendations: [LOCK_LOST_RECOMMENDATION] });
  });

  it('fan-out with one failing item -> PARTIAL', async () => {
    const input: Input = { worker: 'creator_intel_worker', job: 'analyze', scheduledTime: '2026-01-02T04:00:00Z', trigger: 'intel_cycle' };
    seedWorker('youtube_worker', { freshAtMs_games: STARTED - 60_000, lastStatus: 'SUCCEEDED' });
    const g = await gate(input);
    expect(g).toMatchObject({ decision: 'RUN', fence: 1 });
    now = STARTED + 600_000;
    const items = [
      { ok: true as const, result: result({ itemsOk: 1, metrics: { games_processed: 1 } }) },
      { ok: false as const, error: { Error: 'UpstreamRejectedError', Cause: 'game 3' } },
      { ok: true as const, result: result({ itemsOk: 1, metrics: { games_processed: 1 } }) },
    ];
    const r = await record({ ...input, gate: g, plan: { items: [1, 2, 3] }, items });
    expect(r).toMatchObject({ status: 'PARTIAL', lockReleased: true });
    expect(store.reports('creator_intel_worker')[0]).toMatchObject({ status: 'PARTIAL', durationMs: 600_000, anomalies: ['PARTIAL_SUCCESS'], metrics: { items_ok: 2, items_failed: 1, games_processed: 2 } });
    expect(workerState('creator_intel_worker')).toMatchObject({ freshAt: { analyze: now }, lastStatus: 'PARTIAL', locks: { analyze: { holder: null } } });
  });

  it('a dependency failed -> SKIP DEPENDENCY_FAILED naming it', async () => {
    seedWorker('youtube_worker', { freshAtMs_games: STARTED - 7_200_000, lastStatus: 'FAILED' });
    const g = await gate({ worker: 'creator_intel_worker', job: 'analyze', scheduledTime: SLOT, trigger: 'intel_cycle' });
    expect(g).toMatchObject({ decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail: 'dependency youtube_worker.games data is 7201 s old, limit 3600 s (last status of youtube_worker FAILED)' });
  });
});

describe('protocol handler: unlocked (on-demand) workers', () => {
  const generate: Input = { worker: 'generation_worker', job: 'generate', scheduledTime: SLOT, trigger: 'manual' };

  it('gate RUN with fence 0 and no write', async () => {
    expect(await gate(generate)).toEqual({ decision: 'RUN', fence: 0, owner: 'exec-1', probe: false, scheduledTime: SLOT_MS, stepTimeoutSeconds: 270 });
    expect(store.writes).toBe(0);
  });

  it('records an unlocked (on-demand) run, whose gate fence is 0', async () => {
    const g = await gate(generate);
    const r = await record({ ...generate, gate: g, work: result() });
    expect(r).toMatchObject({ status: 'SUCCEEDED', lockReleased: true });
    expect(workerState('generation_worker')).toMatchObject({ version: 1, lastStatus: 'SUCCEEDED' });
  });
});

describe('protocol handler: malformed events', () => {
  const valid = { action: 'gate', executionId: 'exec-1', startedAt: '2026-01-02T06:00:00Z', state: trending };

  it.each<[string, unknown, RegExp]>([
    ['not an object', 'gate please', /malformed protocol call/],
    ['no action', { ...valid, action: undefined }, /action/],
    ['an unknown action', { ...valid, action: 'run' }, /action/],
    ['a bad startedAt', { ...valid, startedAt: 'yesterday' }, /startedAt: must be an ISO-8601 date-time/],
    ['a state without a worker', { ...valid, state: { job: 'trending', scheduledTime: SLOT, trigger: 'schedule' } }, /malformed execution state for gate: worker/],
    ['an unknown trigger', { ...valid, state: { ...trending, trigger: 'cron' } }, /trigger/],
    ['an unknown worker', { ...valid, state: { ...trending, worker: 'nobody' } }, /unknown worker, got "nobody"/],
    ['an unknown job', { ...valid, state: { ...trending, job: 'nope' } }, /worker "youtube_worker" has no job "nope"; its jobs are trending, games/],
    ['a record with a malformed work result', { ...valid, action: 'record', state: { ...trending, gate: { decision: 'RUN', fence: 1, owner: 'e', probe: false, scheduledTime: SLOT }, work: { status: 'DONE' } } }, /work\.status/],
    ['a record with neither gate nor failure', { ...valid, action: 'record', state: trending }, /record needs a gate result or a caught failure/],
  ])('%s -> InvalidPayloadError', async (_name, event, message) => {
    const error = await handler(event).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidPayloadError);
    expect((error as Error).name).toBe('InvalidPayloadError');
    expect((error as Error).message).toMatch(message);
  });
});

describe('protocol handler: configuration', () => {
  it('the module throws ConfigurationError naming TABLE_NAME when it is missing', async () => {
    const saved = process.env['TABLE_NAME'];
    delete process.env['TABLE_NAME'];
    vi.resetModules();
    try {
      const error = await import('../../lambdas/protocol/handler.js').then(
        () => null,
        (e: unknown) => e,
      );
      expect((error as Error).name).toBe(new ConfigurationError('x').name);
      expect((error as Error).message).toMatch(/TABLE_NAME/);
    } finally {
      process.env['TABLE_NAME'] = saved;
      // The failed import stays in the module registry: drop it, so a later import evaluates afresh.
      vi.resetModules();
    }
  });
});

describe('two jobs of one worker', () => {
  it('run side by side on their own locks, and each failure counts on its own job\'s circuit', async () => {
    // Prepare: trending and games of youtube_worker, the same slot, two executions.
    const games: Input = { worker: 'youtube_worker', job: 'games', scheduledTime: SLOT, trigger: 'schedule' };
    const gT = await gate(trending, 'exec-trending');
    const gG = await gate(games, 'exec-games');
    expect([gT.decision, gG.decision]).toEqual(['RUN', 'RUN']);
    // Act: both record a failure at once (both read the state before either writes).
    const [rT, rG] = await Promise.all([
      record({ ...trending, gate: gT, failure: { Error: 'UpstreamRejectedError', Cause: '401' } }, 'exec-trending'),
      record({ ...games, gate: gG, failure: { Error: 'UpstreamRejectedError', Cause: '401' } }, 'exec-games'),
    ]);
    // Assess: no lost update (the version conflict is retried); each job's circuit counts its own failure; both locks released.
    expect([rT.lockReleased, rG.lockReleased]).toEqual([true, true]);
    expect(workerState().circuits['trending']?.consecutiveFailures).toBe(1);
    expect(workerState().circuits['games']?.consecutiveFailures).toBe(1);
    expect(workerState().locks['trending']?.holder ?? null).toBeNull();
    expect(workerState().locks['games']?.holder ?? null).toBeNull();
  });
});

describe('the intake pause of the QUEUE_OVERFLOW recovery', () => {
  it('holds new jobs of the paused worker back until the pause ends, and no others', async () => {
    // Prepare: generation_worker paused for 10 more minutes.
    const generate: Input = { worker: 'generation_worker', job: 'generate', scheduledTime: SLOT, trigger: 'manual' };
    seedWorker('generation_worker', { intakePausedUntilMs: now + 600_000 });
    // Act / Assess
    expect(await gate(generate)).toMatchObject({ decision: 'SKIP', skipReason: 'PAUSED' });
    expect(await gate(trending)).toMatchObject({ decision: 'RUN' });
    now += 600_001;
    expect(await gate(generate)).toMatchObject({ decision: 'RUN', fence: 0 });
  });
});
