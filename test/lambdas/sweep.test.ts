/**
 * The health sweep's logic over fake ports: missed runs written once, stuck executions stopped and
 * recorded as CRASHED with their lock released, queue overflow, and a healthy symphony writes nothing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { lockAttrsFor, slotAttr } from '../../lib/domain/lock.js';
import { STATE_SK, workerPk, parseWorkerState } from '../../lib/domain/worker-state.js';
import { workerById } from '../../lib/registry/index.js';
import type { EndedExecution, EndedStatus, ExecutionLister, HealthFindingStore, ListedExecution, QueueDepthReader, ReportReader, StoredFinding, SweepLogger } from '../../lambdas/sweep/ports.js';
import { ENDED_FAILURE, makeHandler, RECORD_FAILURE, runSweep, STUCK_FAILURE, SweepIncompleteError, type SweepDeps } from '../../lambdas/sweep/sweep.js';
import { ENDED_LOOKBACK_MINUTES, healthSk, type EndedWindow } from '../../lib/domain/health-sweep.js';
import { isCrashError } from '../../lib/domain/errors.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const NOW = Date.parse('2026-03-02T04:20:00.000Z');
const TRENDING_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:aura-youtube_worker-trending';
const GAMES_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:aura-youtube_worker-games';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/generation';
const STUCK_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:aura-youtube_worker-trending:slot-0400';

class FakeExecutions implements ExecutionLister {
  readonly running = new Map<string, ListedExecution[]>();
  readonly inputs = new Map<string, unknown>();
  readonly stopped: { arn: string; error: string; cause: string }[] = [];
  /** Ended executions per state machine ARN, any status (listEnded filters like ListExecutions). */
  readonly ended = new Map<string, EndedExecution[]>();
  readonly endedCalls: { arn: string; status: EndedStatus; window: EndedWindow }[] = [];
  failListing = false;
  failEnded = false;
  async listRunning(arn: string): Promise<readonly ListedExecution[]> {
    if (this.failListing) throw new Error('ThrottlingException');
    return (this.running.get(arn) ?? []).filter((e) => !this.stopped.some((s) => s.arn === e.executionArn));
  }
  async listEnded(arn: string, status: EndedStatus, window: EndedWindow): Promise<readonly EndedExecution[]> {
    this.endedCalls.push({ arn, status, window });
    if (this.failEnded) throw new Error('ThrottlingException');
    return (this.ended.get(arn) ?? []).filter((e) => e.status === status && e.stopMs >= window.stoppedSinceMs && e.startMs >= window.startedSinceMs);
  }
  async input(arn: string): Promise<unknown> {
    return this.inputs.get(arn);
  }
  async stop(arn: string, error: string, cause: string): Promise<void> {
    this.stopped.push({ arn, error, cause });
  }
}

class FakeQueues implements QueueDepthReader {
  readonly depths = new Map<string, number>();
  async depth(url: string): Promise<number> {
    return this.depths.get(url) ?? 0;
  }
}

class FakeFindings implements HealthFindingStore {
  readonly items = new Map<string, StoredFinding>();
  puts = 0;
  async putOnce(stored: StoredFinding): Promise<boolean> {
    this.puts++;
    const key = `${workerPk(stored.finding.worker)}|${healthSk(stored.finding)}`;
    if (this.items.has(key)) return false;
    this.items.set(key, stored);
    return true;
  }
}

const noReports: ReportReader = { latestReport: async () => undefined };
const silent: SweepLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

let store: InMemoryStateStore;
let executions: FakeExecutions;
let queues: FakeQueues;
let findings: FakeFindings;
let deps: SweepDeps;

/** Every youtube slot claimed: a healthy symphony. */
const healthyYoutube = { [slotAttr('trending')]: '2026-03-02T04:00:00.000Z', [slotAttr('games')]: '2026-03-01T05:00:00.000Z', version: 3 };

beforeEach(() => {
  store = new InMemoryStateStore();
  store.put(workerPk('youtube_worker'), STATE_SK, healthyYoutube);
  executions = new FakeExecutions();
  queues = new FakeQueues();
  findings = new FakeFindings();
  deps = {
    store,
    reports: noReports,
    executions,
    queues,
    findings,
    clock: () => NOW,
    logger: silent,
    workers: [workerById('youtube_worker'), workerById('generation_worker')],
    pipelineArns: { 'youtube_worker.trending': TRENDING_ARN, 'youtube_worker.games': GAMES_ARN },
    queueUrls: { generation_worker: QUEUE_URL },
    reportRetentionDays: 30,
  };
  store.resetCounts();
});

describe('health sweep', () => {
  it('writes nothing when nothing is wrong', async () => {
    queues.depths.set(QUEUE_URL, 12);
    const summary = await makeHandler(deps)({});
    expect(summary).toMatchObject({ findings: 0, written: 0, duplicates: 0, stuck: [], errors: [] });
    expect(findings.puts).toBe(0);
    expect(store.writes).toBe(0);
    expect(executions.stopped).toEqual([]);
  });

  it('detects a missed run and writes it once: a second sweep writes nothing new', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, { ...healthyYoutube, [slotAttr('trending')]: '2026-03-02T03:30:00.000Z' });
    const first = await runSweep(deps);
    expect(first).toMatchObject({ findings: 1, written: 1, duplicates: 0 });
    const [item] = [...findings.items.entries()];
    expect(item?.[0]).toBe('WORKER#youtube_worker|HEALTH#MISSED_RUN#trending#2026-03-02T04:00:00.000Z');
    expect(item?.[1].finding).toMatchObject({ kind: 'MISSED_RUN', anomaly: 'WORKER_CRASH', worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00.000Z' });
    expect(item?.[1].raisedAt).toBe('2026-03-02T04:20:00.000Z');

    deps = { ...deps, clock: () => NOW + 5 * 60_000 };
    const second = await runSweep(deps);
    expect(second).toMatchObject({ findings: 1, written: 0, duplicates: 1 });
    expect(findings.items.size).toBe(1);
    expect(store.writes).toBe(0);
  });

  it('stops a stuck execution, records a CRASHED report for its slot and releases its lock', async () => {
    const lock = lockAttrsFor('trending');
    store.put(workerPk('youtube_worker'), STATE_SK, { ...healthyYoutube, [lock.holder]: STUCK_ARN, [lock.fence]: 7, [lock.expiresAt]: NOW + 3600_000 });
    // Started 04:05, 15 min ago: past the 300 s timeout plus 5 min grace.
    const startMs = Date.parse('2026-03-02T04:05:00.000Z');
    executions.running.set(TRENDING_ARN, [{ executionArn: STUCK_ARN, startMs }]);
    executions.inputs.set(STUCK_ARN, { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });

    const summary = await runSweep(deps);
    expect(executions.stopped).toEqual([{ arn: STUCK_ARN, error: 'States.Timeout', cause: STUCK_FAILURE.Cause }]);
    expect(summary.stuck).toEqual([{ executionArn: STUCK_ARN, stopped: true, status: 'CRASHED', reportStored: true, heldLock: true, lockReleased: true }]);

    const [report, ...others] = store.reports('youtube_worker');
    expect(others).toEqual([]);
    expect(report).toMatchObject({ sk: 'REPORT#2026-03-02T04:00:00.000Z#trending', status: 'CRASHED', executionId: STUCK_ARN, lockFence: 7, error: { name: 'States.Timeout', cause: STUCK_FAILURE.Cause } });
    const after = parseWorkerState(store.workerItem('youtube_worker') ?? {});
    expect(after.locks['trending']?.holder).toBeNull();
    expect(after.lastStatus).toBe('CRASHED');
    expect(after.lastExecutionId).toBe(STUCK_ARN);

    expect([...findings.items.values()].map((f) => f.finding)).toEqual([
      expect.objectContaining({ kind: 'STUCK_EXECUTION', worker: 'youtube_worker', job: 'trending', executionArn: STUCK_ARN, scheduledTime: '2026-03-02T04:00:00.000Z', window: '2026-03-02T04:05:00.000Z' }),
    ]);

    // Stopped: the next sweep no longer sees it running, and writes nothing.
    store.resetCounts();
    expect(await runSweep(deps)).toMatchObject({ findings: 0, written: 0, stuck: [] });
    expect(store.writes).toBe(0);
  });

  it('records a stuck execution that holds no lock (never got past its gate) without touching the lock of another', async () => {
    const lock = lockAttrsFor('trending');
    store.put(workerPk('youtube_worker'), STATE_SK, { ...healthyYoutube, [lock.holder]: 'arn:other', [lock.fence]: 8, [lock.expiresAt]: NOW + 3600_000 });
    executions.running.set(TRENDING_ARN, [{ executionArn: STUCK_ARN, startMs: Date.parse('2026-03-02T04:00:00.000Z') }]);
    executions.inputs.set(STUCK_ARN, { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });
    const summary = await runSweep(deps);
    expect(summary.stuck).toEqual([expect.objectContaining({ status: 'CRASHED', heldLock: false, reportStored: true })]);
    expect(parseWorkerState(store.workerItem('youtube_worker') ?? {}).locks['trending']).toMatchObject({ holder: 'arn:other', fence: 8 });
  });

  it('reads the latest report only of the workers whose report its rules can read (a sub-pipeline, or a declared quota or memory metric)', async () => {
    const asked: string[] = [];
    const memoryHungry = { ...workerById('coach_cleanup_worker'), scoreMetrics: [...workerById('coach_cleanup_worker').scoreMetrics, 'memory_percent'] };
    const reports: ReportReader = {
      latestReport: async (id) => {
        asked.push(id);
        return undefined;
      },
    };
    await runSweep({ ...deps, reports, workers: [...deps.workers, workerById('intel_orchestrator'), memoryHungry] });
    expect(asked.sort()).toEqual(['coach_cleanup_worker', 'intel_orchestrator']);
  });

  it('finds a queue 1500 deep: QUEUE_OVERFLOW', async () => {
    queues.depths.set(QUEUE_URL, 1500);
    const summary = await runSweep(deps);
    expect(summary).toMatchObject({ findings: 1, written: 1 });
    expect([...findings.items.values()].map((f) => f.finding)).toEqual([expect.objectContaining({ kind: 'QUEUE_OVERFLOW', anomaly: 'QUEUE_OVERFLOW', worker: 'generation_worker', job: null, observed: 1500, threshold: 1000 })]);
  });

  it('a fact it cannot read invents no finding, and the invocation fails after doing the rest', async () => {
    executions.failListing = true;
    queues.depths.set(QUEUE_URL, 1500);
    const error = await makeHandler(deps)({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SweepIncompleteError);
    expect((error as SweepIncompleteError).summary.errors).toEqual([
      expect.stringMatching(/running executions of youtube_worker.trending: Error: ThrottlingException/),
      expect.stringMatching(/running executions of youtube_worker.games/),
    ]);
    expect([...findings.items.values()].map((f) => f.finding.kind)).toEqual(['QUEUE_OVERFLOW']);
  });
});

describe('executions that ended without their Record step', () => {
  const TIMED_OUT_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:aura-youtube_worker-trending:slot-0400';
  const input = { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' };
  const SLOT_SK = 'REPORT#2026-03-02T04:00:00.000Z#trending';
  // Started 04:00, timed out at the machine level (300 s) at 04:05, 15 min ago: inside the look-back window.
  const timedOut = (status: EndedStatus = 'TIMED_OUT', arn = TIMED_OUT_ARN): EndedExecution => ({ executionArn: arn, status, startMs: Date.parse('2026-03-02T04:00:00.000Z'), stopMs: Date.parse('2026-03-02T04:05:00.000Z') });
  const holding = (arn: string, fence = 7) => {
    const lock = lockAttrsFor('trending');
    return { ...healthyYoutube, [lock.holder]: arn, [lock.fence]: fence, [lock.expiresAt]: NOW + 3600_000 };
  };

  it('lists TIMED_OUT and ABORTED executions of every pipeline over the look-back window', async () => {
    await runSweep(deps);
    expect(executions.endedCalls.map((c) => `${c.arn}|${c.status}`).sort()).toEqual([`${GAMES_ARN}|ABORTED`, `${GAMES_ARN}|TIMED_OUT`, `${TRENDING_ARN}|ABORTED`, `${TRENDING_ARN}|TIMED_OUT`]);
    for (const c of executions.endedCalls) {
      expect(c.window.stoppedSinceMs).toBe(NOW - ENDED_LOOKBACK_MINUTES * 60_000);
      expect(c.window.startedSinceMs).toBeLessThan(c.window.stoppedSinceMs);
    }
  });

  it('records a TIMED_OUT execution that still holds its lock as CRASHED and releases the lock; a second sweep writes nothing new', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, holding(TIMED_OUT_ARN));
    executions.ended.set(TRENDING_ARN, [timedOut()]);
    executions.inputs.set(TIMED_OUT_ARN, input);

    const summary = await makeHandler(deps)({});
    expect(summary.ended).toEqual([
      { executionArn: TIMED_OUT_ARN, ended: 'TIMED_OUT', status: 'CRASHED', reportStored: true, heldLock: true, lockReleased: true, scheduledTime: '2026-03-02T04:00:00.000Z' },
    ]);
    expect(executions.stopped).toEqual([]);
    const [report, ...others] = store.reports('youtube_worker');
    expect(others).toEqual([]);
    expect(report).toMatchObject({ sk: SLOT_SK, status: 'CRASHED', executionId: TIMED_OUT_ARN, lockFence: 7, error: { name: 'States.Timeout', cause: ENDED_FAILURE.TIMED_OUT.Cause } });
    const after = parseWorkerState(store.workerItem('youtube_worker') ?? {});
    expect(after.locks['trending']?.holder).toBeNull();
    expect(after.lastStatus).toBe('CRASHED');

    // The next sweep still sees it in its window: Record puts no second report and touches no state.
    const stateBefore = store.workerItem('youtube_worker');
    store.resetCounts();
    const again = await runSweep(deps);
    expect(again.ended).toEqual([expect.objectContaining({ executionArn: TIMED_OUT_ARN, status: 'CRASHED', reportStored: false, heldLock: false })]);
    expect(store.reports('youtube_worker')).toEqual([report]);
    expect(store.workerItem('youtube_worker')).toEqual(stateBefore);
    expect(store.log.filter((l) => l !== 'readGateView' && l !== 'readWorkerState')).toEqual(['hasReport']);
  });

  it('a TIMED_OUT execution whose slot already has a report (it ran its Record step) writes nothing new', async () => {
    const recorded = { entity: 'REPORT', workerName: 'youtube_worker', jobId: 'trending', executionId: TIMED_OUT_ARN, status: 'SUCCEEDED', lockFence: 7 };
    store.put(workerPk('youtube_worker'), SLOT_SK, recorded);
    executions.ended.set(TRENDING_ARN, [timedOut()]);
    executions.inputs.set(TIMED_OUT_ARN, input);
    const stateBefore = store.workerItem('youtube_worker');

    const summary = await makeHandler(deps)({});
    expect(summary.ended).toEqual([expect.objectContaining({ executionArn: TIMED_OUT_ARN, reportStored: false, heldLock: false })]);
    expect(store.reports('youtube_worker')).toEqual([{ pk: workerPk('youtube_worker'), sk: SLOT_SK, ...recorded }]);
    expect(store.workerItem('youtube_worker')).toEqual(stateBefore);
    expect(store.log.filter((l) => l !== 'readGateView' && l !== 'readWorkerState')).toEqual(['hasReport']);
    expect(findings.puts).toBe(0);
  });

  it('records an ABORTED execution as CRASHED (States.Aborted) without touching the lock of another holder', async () => {
    expect(isCrashError('States.Aborted')).toBe(true);
    store.put(workerPk('youtube_worker'), STATE_SK, holding('arn:other', 8));
    executions.ended.set(TRENDING_ARN, [timedOut('ABORTED')]);
    executions.inputs.set(TIMED_OUT_ARN, input);

    const summary = await runSweep(deps);
    expect(summary.ended).toEqual([expect.objectContaining({ ended: 'ABORTED', status: 'CRASHED', reportStored: true, heldLock: false })]);
    expect(store.reports('youtube_worker')).toEqual([expect.objectContaining({ sk: SLOT_SK, status: 'CRASHED', lockFence: null, error: { name: 'States.Aborted', cause: ENDED_FAILURE.ABORTED.Cause } })]);
    expect(parseWorkerState(store.workerItem('youtube_worker') ?? {}).locks['trending']).toMatchObject({ holder: 'arn:other', fence: 8 });
  });

  it('a stuck execution the sweep stopped is ABORTED at the next sweep: nothing new is written', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, holding(STUCK_ARN));
    const startMs = Date.parse('2026-03-02T04:05:00.000Z');
    executions.running.set(TRENDING_ARN, [{ executionArn: STUCK_ARN, startMs }]);
    executions.inputs.set(STUCK_ARN, input);
    await runSweep(deps);
    const reports = store.reports('youtube_worker');
    expect(reports).toHaveLength(1);

    executions.ended.set(TRENDING_ARN, [{ executionArn: STUCK_ARN, status: 'ABORTED', startMs, stopMs: NOW }]);
    deps = { ...deps, clock: () => NOW + 5 * 60_000 };
    const stateBefore = store.workerItem('youtube_worker');
    const next = await runSweep(deps);
    expect(next.ended).toEqual([expect.objectContaining({ executionArn: STUCK_ARN, reportStored: false, heldLock: false })]);
    expect(store.reports('youtube_worker')).toEqual(reports);
    expect(store.workerItem('youtube_worker')).toEqual(stateBefore);
  });

  it('an ended execution outside the window is not listed; an unreadable input records nothing', async () => {
    const old: EndedExecution = { ...timedOut(), stopMs: NOW - (ENDED_LOOKBACK_MINUTES + 1) * 60_000, startMs: NOW - (ENDED_LOOKBACK_MINUTES + 6) * 60_000 };
    const garbled = 'arn:aws:states:eu-west-1:123456789012:execution:aura-youtube_worker-trending:garbled';
    executions.ended.set(TRENDING_ARN, [old, timedOut('TIMED_OUT', garbled)]);
    executions.inputs.set(garbled, { worker: 'youtube_worker' });
    const summary = await makeHandler(deps)({});
    expect(summary.ended).toEqual([{ executionArn: garbled, ended: 'TIMED_OUT', status: null, reportStored: false, heldLock: false, lockReleased: false, scheduledTime: null }]);
    expect(store.reports('youtube_worker')).toEqual([]);
  });

  it('a listing that fails is reported, the rest is still done', async () => {
    executions.failEnded = true;
    queues.depths.set(QUEUE_URL, 1500);
    const error = await makeHandler(deps)({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SweepIncompleteError);
    expect((error as SweepIncompleteError).summary.errors).toHaveLength(4);
    expect((error as SweepIncompleteError).summary.errors[0]).toMatch(/TIMED_OUT executions of youtube_worker.trending: Error: ThrottlingException/);
    expect([...findings.items.values()].map((f) => f.finding.kind)).toEqual(['QUEUE_OVERFLOW']);
  });
});

describe('slots whose execution ended without a report (the Record step gave up)', () => {
  const GONE_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:aura-youtube_worker-trending:slot-0400';
  const input = { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' };
  const SLOT_SK = 'REPORT#2026-03-02T04:00:00.000Z#trending';
  const TRENDING = lockAttrsFor('trending');
  /** The STATE item a run left when its Record step failed before its state write: slot claimed, lock held. */
  const claimedAndHeld = { ...healthyYoutube, slotOwner_trending: GONE_ARN, [TRENDING.holder]: GONE_ARN, [TRENDING.fence]: 7, [TRENDING.expiresAt]: NOW + 600_000 };
  /** ... and after its state write but before its report: slot claimed, lock released. */
  const claimedReleased = { ...healthyYoutube, slotOwner_trending: GONE_ARN, [TRENDING.fence]: 7, [TRENDING.expiresAt]: 0, lastExecutionId: GONE_ARN, lastStatus: 'SUCCEEDED' };

  beforeEach(() => {
    executions.inputs.set(GONE_ARN, input);
  });

  it('records the slot FAILED with the cause, releases the lock with its fence, raises UNRECORDED_RUN once; a second sweep adds nothing', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, claimedAndHeld);

    const summary = await makeHandler(deps)({});

    expect(summary.unrecorded).toEqual([{ executionArn: GONE_ARN, worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-03-02T04:00:00.000Z', reportStored: true, heldLock: true, lockReleased: true }]);
    const [report, ...others] = store.reports('youtube_worker');
    expect(others).toEqual([]);
    expect(report).toMatchObject({ sk: SLOT_SK, status: 'FAILED', executionId: GONE_ARN, lockFence: 7, error: { name: 'RecordFailed', cause: RECORD_FAILURE.Cause } });
    const after = parseWorkerState(store.workerItem('youtube_worker') ?? {});
    expect(after.locks['trending']).toMatchObject({ holder: null, fence: 7 });
    expect(after.lastStatus).toBe('FAILED');
    expect([...findings.items.values()].map((f) => f.finding)).toEqual([
      expect.objectContaining({ kind: 'UNRECORDED_RUN', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', worker: 'youtube_worker', job: 'trending', window: '2026-03-02T04:00:00.000Z', executionArn: GONE_ARN }),
    ]);

    store.resetCounts();
    const again = await runSweep(deps);
    expect(again.unrecorded).toEqual([]);
    expect(store.reports('youtube_worker')).toEqual([report]);
    expect(store.writes).toBe(0);
    expect(findings.items.size).toBe(1);
  });

  it('records a slot whose state write landed but whose report did not: FAILED report, the released lock left alone', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, claimedReleased);
    const summary = await runSweep(deps);
    expect(summary.unrecorded).toEqual([expect.objectContaining({ executionArn: GONE_ARN, reportStored: true, heldLock: false, lockReleased: true })]);
    expect(store.reports('youtube_worker')).toEqual([expect.objectContaining({ sk: SLOT_SK, status: 'FAILED', error: expect.objectContaining({ name: 'RecordFailed' }) })]);
    expect(parseWorkerState(store.workerItem('youtube_worker') ?? {}).locks['trending']).toMatchObject({ holder: null, fence: 7 });
    expect(findings.items.size).toBe(1);
  });

  it('leaves a running owner alone, and an ended owner whose slot has its report (one read, no write)', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, claimedAndHeld);
    executions.running.set(TRENDING_ARN, [{ executionArn: GONE_ARN, startMs: NOW - 60_000 }]);
    expect((await runSweep(deps)).unrecorded).toEqual([]);
    expect(store.reports('youtube_worker')).toEqual([]);

    executions.running.clear();
    store.put(workerPk('youtube_worker'), STATE_SK, { ...claimedReleased });
    store.put(workerPk('youtube_worker'), SLOT_SK, { entity: 'REPORT', status: 'SUCCEEDED', executionId: GONE_ARN });
    store.resetCounts();
    expect((await runSweep(deps)).unrecorded).toEqual([]);
    expect(store.writes).toBe(0);
    expect(store.log.filter((l) => l.startsWith('hasReport'))).toEqual(['hasReports']);
    expect(findings.puts).toBe(0);
  });

  it('checks the ended owners\' slots in one batched read; when that read fails, each slot on its own', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, { ...claimedReleased });
    store.put(workerPk('youtube_worker'), SLOT_SK, { entity: 'REPORT', status: 'SUCCEEDED', executionId: GONE_ARN });
    const failing: InMemoryStateStore = Object.assign(Object.create(store) as InMemoryStateStore, { hasReports: () => Promise.reject(new Error('throttled')) });
    store.resetCounts();
    expect((await runSweep({ ...deps, store: failing })).unrecorded).toEqual([]);
    expect(store.writes).toBe(0);
    expect(store.log.filter((l) => l.startsWith('hasReport'))).toEqual(['hasReport']);
    expect(findings.puts).toBe(0);
  });

  it('judges nothing when the RUNNING listing failed: an execution missing from it is not known to have ended', async () => {
    store.put(workerPk('youtube_worker'), STATE_SK, claimedAndHeld);
    executions.failListing = true;
    const summary = await runSweep(deps);
    expect(summary.unrecorded).toEqual([]);
    expect(store.reports('youtube_worker')).toEqual([]);
    expect(summary.errors.length).toBeGreaterThan(0);
  });
});
