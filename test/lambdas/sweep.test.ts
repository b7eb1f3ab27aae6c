/**
 * The health sweep's logic over fake ports: missed runs written once, stuck executions stopped and
 * recorded as CRASHED with their lock released, queue overflow, and a healthy symphony writes nothing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { lockAttrsFor, slotAttr } from '../../lib/domain/lock.js';
import { STATE_SK, workerPk, parseWorkerState } from '../../lib/domain/worker-state.js';
import { workerById } from '../../lib/registry/index.js';
import type { ExecutionLister, HealthFindingStore, ListedExecution, QueueDepthReader, ReportReader, StoredFinding, SweepLogger } from '../../lambdas/sweep/ports.js';
import { makeHandler, runSweep, STUCK_FAILURE, SweepIncompleteError, type SweepDeps } from '../../lambdas/sweep/sweep.js';
import { healthSk } from '../../lib/domain/health-sweep.js';
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
  failListing = false;
  async listRunning(arn: string): Promise<readonly ListedExecution[]> {
    if (this.failListing) throw new Error('ThrottlingException');
    return (this.running.get(arn) ?? []).filter((e) => !this.stopped.some((s) => s.arn === e.executionArn));
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
