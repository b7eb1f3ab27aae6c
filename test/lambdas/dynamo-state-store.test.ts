import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BATCH_GET_MAX_KEYS, conditionExpression, documentClient, DynamoStateStore, ExpressionAttributes, updateParts } from '../../lambdas/adapters/dynamo-state-store.js';
import { gateStep, recordStep } from '../../lambdas/protocol/steps.js';
import type { WorkerResult } from '../../lambdas/shared/contracts.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { acquireSpec, lockAttrsFor, recordSpec, releaseSpec, type Condition } from '../../lib/domain/lock.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { aggregateHour } from '../../lib/domain/report-aggregation.js';
import { EMPTY_BUCKET } from '../../lib/domain/window-stats.js';
import { circuitAttr, ORCH_PK, reportSk, STATE_SK, windowSk, workerPk, type StateWrite } from '../../lib/domain/worker-state.js';

const NOW = Date.parse('2026-01-02T06:00:00.000Z');
let server: Server;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tableName: string;
let tableCount = 0;
let store: DynamoStateStore;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  doc = documentClient(raw);
});

afterAll(async () => {
  raw.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  // A fresh table per test: no state leaks between cases.
  tableName = `orchestrator-${++tableCount}`;
  await raw.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // A new table is CREATING at first, in dynalite as in DynamoDB: wait until it is ACTIVE.
  await waitUntilTableExists({ client: raw, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
  store = new DynamoStateStore(doc, tableName);
});

const rawState = async (workerId: string): Promise<Record<string, unknown> | undefined> =>
  (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: workerPk(workerId), sk: STATE_SK }, ConsistentRead: true }))).Item;

describe('expression translation', () => {
  it('uses placeholders for every name and value', () => {
    const attrs = new ExpressionAttributes();
    const condition: Condition = {
      op: 'and',
      of: [
        { op: 'or', of: [{ op: 'notExists', attr: 'lockHolder' }, { op: 'lt', attr: 'lockExpiresAtMs', value: 5 }] },
        { op: 'eq', attr: 'lockHolder', value: "x') OR attribute_exists(pk" },
        { op: 'le', attr: 'slot_job', value: '2026' },
      ],
    };
    expect(conditionExpression(condition, attrs)).toBe('((attribute_not_exists(#n0) OR #n1 < :v0) AND #n0 = :v1 AND #n2 <= :v2)');
    expect(attrs.names).toEqual({ '#n0': 'lockHolder', '#n1': 'lockExpiresAtMs', '#n2': 'slot_job' });
    expect(attrs.values).toEqual({ ':v0': 5, ':v1': "x') OR attribute_exists(pk", ':v2': '2026' });
  });

  it('builds SET, ADD and REMOVE clauses', () => {
    const parts = updateParts(recordSpec('exec', 3, { lastStatus: 'SUCCEEDED' }));
    expect(parts.UpdateExpression).toBe('SET #n2 = :v2, #n3 = :v3 REMOVE #n0');
    expect(parts.ConditionExpression).toBe('(#n0 = :v0 AND #n1 = :v1)');
    expect(parts.ExpressionAttributeNames).toMatchObject({ '#n0': 'lockHolder', '#n1': 'lockFence', '#n2': 'lastStatus', '#n3': 'lockExpiresAtMs' });
    expect(parts.ExpressionAttributeValues).toEqual({ ':v0': 'exec', ':v1': 3, ':v2': 'SUCCEEDED', ':v3': 0 });
  });

  it('omits the condition for an empty "and" and an "or" with a true branch', () => {
    expect(conditionExpression({ op: 'and', of: [] }, new ExpressionAttributes())).toBeNull();
    expect(conditionExpression({ op: 'or', of: [{ op: 'and', of: [] }, { op: 'notExists', attr: 'a' }] }, new ExpressionAttributes())).toBeNull();
    expect(updateParts({ condition: { op: 'and', of: [] }, set: {}, add: { runs: 1 }, remove: [] })).not.toHaveProperty('ConditionExpression');
  });
});

describe('DynamoStateStore against dynalite: the lock', () => {
  /** The lock of job `poll` of worker `w` (each job has its own lock). */
  const POLL = lockAttrsFor('poll');
  const acquire = (owner: string, nowMs = NOW, leaseSeconds = 60): StateWrite => acquireSpec({ owner, nowMs, leaseSeconds, attrs: POLL });

  it('acquire contention: one of two acquirers wins; the loser gets null', async () => {
    const [a, b] = await Promise.all([store.updateWorkerState('w', acquire('exec-a')), store.updateWorkerState('w', acquire('exec-b'))]);
    const winners = [a, b].filter((x) => x !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.locks['poll']).toMatchObject({ fence: 1, expiresAtMs: NOW + 60_000 });
    expect((await store.readWorkerState('w'))?.locks['poll']?.holder).toBe(winners[0]?.locks['poll']?.holder);
  });

  it('the fence only increases: release, re-acquire, take over an expired lease', async () => {
    const first = await store.updateWorkerState('w', acquire('exec-a'));
    expect(first?.locks['poll']?.fence).toBe(1);
    expect(await store.updateWorkerState('w', releaseSpec('exec-a', 1, POLL))).toMatchObject({ locks: { poll: { holder: null, fence: 1, expiresAtMs: 0 } } });
    expect((await store.updateWorkerState('w', acquire('exec-b')))?.locks['poll']?.fence).toBe(2);
    // exec-b's lease lapses; exec-c takes over.
    expect(await store.updateWorkerState('w', acquire('exec-c', NOW + 30_000))).toBeNull();
    expect((await store.updateWorkerState('w', acquire('exec-c', NOW + 60_001)))?.locks['poll']).toMatchObject({ holder: 'exec-c', fence: 3 });
  });

  it('a stale holder can neither release nor record', async () => {
    await store.updateWorkerState('w', acquire('exec-a'));
    await store.updateWorkerState('w', acquire('exec-b', NOW + 61_000));
    expect(await store.updateWorkerState('w', releaseSpec('exec-a', 1, POLL))).toBeNull();
    expect(await store.updateWorkerState('w', recordSpec('exec-a', 1, { lastStatus: 'SUCCEEDED' }, POLL))).toBeNull();
    expect(await rawState('w')).toMatchObject({ [POLL.holder]: 'exec-b', [POLL.fence]: 2 });
    expect(await rawState('w')).not.toHaveProperty('lastStatus');
    // The current holder can.
    expect(await store.updateWorkerState('w', recordSpec('exec-b', 2, { lastStatus: 'SUCCEEDED' }, POLL))).toMatchObject({ locks: { poll: { holder: null, fence: 2 } }, lastStatus: 'SUCCEEDED' });
  });

  it('a slot is claimed once, and only forward in time', async () => {
    const claim = (owner: string, slot: string, nowMs: number): StateWrite => acquireSpec({ owner, nowMs, leaseSeconds: 1, attrs: POLL, slot: { jobId: 'poll', scheduledTime: slot } });
    expect(await store.updateWorkerState('w', claim('a', '2026-01-02T06:00:00.000Z', NOW))).toMatchObject({ slots: { poll: '2026-01-02T06:00:00.000Z' } });
    expect(await store.updateWorkerState('w', claim('b', '2026-01-02T06:00:00.000Z', NOW + 5_000))).toBeNull();
    expect(await store.updateWorkerState('w', claim('b', '2026-01-02T05:55:00.000Z', NOW + 5_000))).toBeNull();
    expect(await store.updateWorkerState('w', claim('b', '2026-01-02T06:05:00.000Z', NOW + 5_000))).toMatchObject({ slots: { poll: '2026-01-02T06:05:00.000Z' }, locks: { poll: { fence: 2 } } });
  });

  it('stores the circuit as a map (nulls included) and reads it back', async () => {
    const write: StateWrite = { condition: { op: 'notExists', attr: 'version' }, set: { circuit_poll: circuitAttr(CLOSED_CIRCUIT) }, add: { version: 1 }, remove: [] };
    expect(await store.updateWorkerState('w', write)).toMatchObject({ circuits: { poll: CLOSED_CIRCUIT }, version: 1 });
    expect(await rawState('w')).toMatchObject({ circuit_poll: { state: 'CLOSED', changedAtMs: null } });
    // Optimistic concurrency: the same version condition now fails.
    expect(await store.updateWorkerState('w', write)).toBeNull();
  });
});

describe('DynamoStateStore against dynalite: reports, counters, batch reads', () => {
  const report: WorkerScoreReport = {
    workerName: 'youtube_worker',
    jobId: 'trending',
    executionId: 'exec-1',
    scheduledTime: '2026-01-02T06:00:00.000Z',
    startedAt: '2026-01-02T06:00:00.000Z',
    completedAt: '2026-01-02T06:00:30.000Z',
    status: 'SKIPPED',
    skipReason: 'LOCK_HELD',
    success: false,
    durationMs: 0,
    attempts: 0,
    lockFence: null,
    scores: null,
    anomalies: ['SKIP_DUE_TO_LOCK'],
    recommendations: ['lock held by x'],
    metrics: { skip_detail: 'lock held by x' },
    error: null,
  };

  it('puts a report once per slot', async () => {
    const sk = reportSk(report.scheduledTime, report.jobId);
    expect(await store.putReportOnce({ report, reportSk: sk, expiresAt: 123 })).toBe(true);
    expect(await store.putReportOnce({ report: { ...report, executionId: 'exec-2' }, reportSk: sk, expiresAt: 456 })).toBe(false);
    // Another on-demand run in the same millisecond has its own run id, so its own report.
    expect(await store.putReportOnce({ report: { ...report, executionId: 'exec-3' }, reportSk: reportSk(report.scheduledTime, report.jobId, 'req-3'), expiresAt: 456 })).toBe(true);
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'WORKER#youtube_worker', sk: 'REPORT#2026-01-02T06:00:00.000Z#trending' } }))).Item;
    expect(item).toEqual({ pk: 'WORKER#youtube_worker', sk: 'REPORT#2026-01-02T06:00:00.000Z#trending', entity: 'REPORT', ...report, expiresAt: 123 });
  });

  it('adds window counters atomically and sets their TTL', async () => {
    await Promise.all([
      store.addWindowCounters('w', '2026-01-02T06', { runs: 1, durationMsSum: 500 }, 999),
      store.addWindowCounters('w', '2026-01-02T06', { runs: 1, failures: 1, durationMsSum: 700 }, 999),
      store.addWindowCounters('w', '2026-01-02T06', { skips: 1, lockFailures: 1 }, 1000),
    ]);
    const [bucket, empty] = await store.readWindowBuckets('w', ['2026-01-02T06', '2026-01-02T05']);
    expect(bucket).toEqual({ ...EMPTY_BUCKET, runs: 2, failures: 1, durationMsSum: 1200, skips: 1, lockFailures: 1 });
    expect(empty).toEqual(EMPTY_BUCKET);
    expect((await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'WORKER#w', sk: windowSk('2026-01-02T06') } }))).Item).toMatchObject({ entity: 'WINDOW', expiresAt: expect.any(Number) });
  });

  it('adds window counters once per count key: a second call with the key changes nothing and answers false', async () => {
    const key = reportSk('2026-01-02T06:00:00.000Z', 'trending');
    expect(await store.addWindowCounters('w', '2026-01-02T06', { runs: 1, failures: 1 }, 999, key)).toBe(true);
    expect(await store.addWindowCounters('w', '2026-01-02T06', { runs: 1, failures: 1 }, 999, key)).toBe(false);
    expect(await store.addWindowCounters('w', '2026-01-02T06', { runs: 1 }, 999, reportSk('2026-01-02T06:05:00.000Z', 'trending'))).toBe(true);
    const [bucket] = await store.readWindowBuckets('w', ['2026-01-02T06']);
    expect(bucket).toEqual({ ...EMPTY_BUCKET, runs: 2, failures: 1 });
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: 'WORKER#w', sk: windowSk('2026-01-02T06') } }))).Item;
    expect(item?.['counted']).toEqual(new Set([key, reportSk('2026-01-02T06:05:00.000Z', 'trending')]));
  });

  it('tells whether a report exists', async () => {
    const sk = reportSk('2026-01-02T06:00:00.000Z', 'trending');
    expect(await store.hasReport('youtube_worker', sk)).toBe(false);
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: 'WORKER#youtube_worker', sk, entity: 'REPORT' } }));
    expect(await store.hasReport('youtube_worker', sk)).toBe(true);
  });

  it('tells which of many reports exist, in request order, past the 100 keys of one BatchGetItem', async () => {
    const slots = Array.from({ length: 130 }, (_, i) => reportSk(new Date(Date.UTC(2026, 0, 2, 0, i * 5)).toISOString(), 'trending'));
    const stored = new Set(slots.filter((_, i) => i % 3 === 0));
    for (const sk of stored) await doc.send(new PutCommand({ TableName: tableName, Item: { pk: 'WORKER#youtube_worker', sk, entity: 'REPORT' } }));
    const keys = [...slots.map((sk) => ({ workerId: 'youtube_worker', reportSk: sk })), { workerId: 'other_worker', reportSk: slots[0] ?? '' }];
    expect(await store.hasReports(keys)).toEqual([...slots.map((sk) => stored.has(sk)), false]);
    expect(await store.hasReports([])).toEqual([]);
  });

  it('reads the gate view in one batch: orchestrator, worker, dependencies, windows (absent ones empty)', async () => {
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: ORCH_PK, sk: STATE_SK, mode: 'DRAINING', updatedAt: 't', reason: 'deploy' } }));
    await store.updateWorkerState('youtube_worker', { condition: { op: 'and', of: [] }, set: { freshAtMs_games: NOW, lastStatus: 'SUCCEEDED' }, add: {}, remove: [] });
    await store.addWindowCounters('clip_radar_worker', '2026-01-01T03', { runs: 12 }, 1);
    const send = vi.spyOn(doc, 'send');
    const view = await store.readGateView({
      workerId: 'playbook_worker',
      dependencyIds: ['youtube_worker', 'twitch_streams_worker'],
      windows: [{ workerId: 'clip_radar_worker', bucketKeys: ['2026-01-01T02', '2026-01-01T03'] }],
    });
    expect(send).toHaveBeenCalledTimes(1);
    send.mockRestore();
    expect(view.orchestrator).toEqual({ mode: 'DRAINING', updatedAt: 't', reason: 'deploy' });
    expect(view.worker).toBeUndefined();
    expect(view.dependencies['youtube_worker']).toMatchObject({ freshAt: { games: NOW }, lastStatus: 'SUCCEEDED' });
    expect(view.dependencies['twitch_streams_worker']).toBeUndefined();
    expect(view.windows['clip_radar_worker']).toEqual([EMPTY_BUCKET, { ...EMPTY_BUCKET, runs: 12 }]);
  });

  it('chunks batch reads past 100 keys', async () => {
    const keys = Array.from({ length: BATCH_GET_MAX_KEYS + 30 }, (_, i) => `2026-01-${String(1 + Math.floor(i / 24)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}`);
    await store.addWindowCounters('w', keys[120] ?? '', { runs: 3 }, 1);
    const buckets = await store.readWindowBuckets('w', keys);
    expect(buckets).toHaveLength(130);
    expect(buckets[120]).toMatchObject({ runs: 3 });
  });

  it('follows UnprocessedKeys', async () => {
    const realSend = doc.send.bind(doc);
    let first = true;
    const send = vi.spyOn(doc, 'send').mockImplementation((async (command: Parameters<typeof realSend>[0]) => {
      const out = (await realSend(command)) as { Responses?: Record<string, unknown[]>; UnprocessedKeys?: unknown };
      if (first) {
        // Pretend DynamoDB processed nothing the first time.
        first = false;
        const input = command.input as { RequestItems: Record<string, unknown> };
        return { Responses: { [tableName]: [] }, UnprocessedKeys: input.RequestItems };
      }
      return out;
    }) as unknown as typeof doc.send);
    await store.addWindowCounters('x', '2026-01-02T01', { runs: 1 }, 1);
    const buckets = await store.readWindowBuckets('x', ['2026-01-02T01']);
    send.mockRestore();
    expect(buckets).toEqual([{ ...EMPTY_BUCKET, runs: 1 }]);
  });
});

describe('the protocol on DynamoDB: a successful scheduled run', () => {
  const work: WorkerResult = {
    status: 'SUCCEEDED',
    durationMs: 10_000,
    attempts: 1,
    itemsOk: 1,
    itemsFailed: 0,
    outputValid: true,
    recordsValid: 1,
    recordsInvalid: 0,
    validationWarnings: [],
    peakMemoryMb: 100,
    memoryLimitMb: 512,
    metrics: {},
    health: {},
    stoppedEarly: false,
  };

  it('takes 4 writes (gate 1 + record 3) and 2 reads, and leaves the lock released', async () => {
    let now = NOW;
    const deps = { store, clock: () => now, reportRetentionDays: 30 };
    const input = { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-01-02T06:00:00Z', trigger: 'schedule' as const };
    const ctx = { executionId: 'exec-1', startedAtMs: NOW };
    const send = vi.spyOn(doc, 'send');

    const gate = await gateStep(deps, ctx, input);
    now += 12_000;
    const { result } = await recordStep(deps, ctx, { ...input, gate, work });

    const names = send.mock.calls.map(([command]) => command.constructor.name);
    send.mockRestore();
    expect(gate).toMatchObject({ decision: 'RUN', fence: 1 });
    expect(result).toMatchObject({ status: 'SUCCEEDED', lockReleased: true });
    // Record: counters (once per report key), then the fenced state write, then the report (the commit point).
    expect(names).toEqual(['BatchGetCommand', 'UpdateCommand', 'GetCommand', 'UpdateCommand', 'UpdateCommand', 'PutCommand']);
    expect(await rawState('youtube_worker')).toMatchObject({ lockFence_trending: 1, lockExpiresAtMs_trending: 0, freshAtMs_trending: NOW + 12_000, lastStatus: 'SUCCEEDED', slot_trending: '2026-01-02T06:00:00.000Z', version: 2 });
    expect(await rawState('youtube_worker')).not.toHaveProperty('lockHolder_trending');
    // A repeated delivery of the slot is a duplicate.
    expect(await gateStep(deps, { executionId: 'exec-2', startedAtMs: now }, input)).toEqual({ decision: 'DUPLICATE', scheduledTime: '2026-01-02T06:00:00.000Z' });
  });
});

describe('report aggregation on DynamoDB: an hour of recorded reports', () => {
  const work = (durationMs: number): WorkerResult => ({
    status: 'SUCCEEDED',
    durationMs,
    attempts: 1,
    itemsOk: 1,
    itemsFailed: 0,
    outputValid: true,
    recordsValid: 1,
    recordsInvalid: 0,
    validationWarnings: [],
    peakMemoryMb: 100,
    memoryLimitMb: 512,
    metrics: {},
    health: {},
    stoppedEarly: false,
  });

  it('records reports through the adapter (one window ADD each) and reads back the hour aggregate', async () => {
    // Prepare
    let now = NOW;
    const deps = { store, clock: () => now, reportRetentionDays: 30 };
    const runOnce = async (slot: string, job: string, executionId: string, outcome: Pick<Parameters<typeof recordStep>[2], 'work' | 'failure'>, elapsedMs: number) => {
      const input = { worker: 'youtube_worker', job, scheduledTime: slot, trigger: 'schedule' as const };
      const ctx = { executionId, startedAtMs: now };
      const gate = await gateStep(deps, ctx, input);
      now += elapsedMs;
      return recordStep(deps, ctx, { ...input, gate, ...outcome });
    };
    const windowUpdates = (): number => send.mock.calls.filter(([c]) => c instanceof UpdateCommand && (c.input.Key as { sk: string }).sk.startsWith('WINDOW#')).length;
    const send = vi.spyOn(doc, 'send');

    // Act: a 10 s success, a run that fails after 65 s, and (paused) a skip, all completing in 06:xx.
    const first = await runOnce('2026-01-02T06:00:00Z', 'trending', 'exec-1', { work: work(10_000) }, 12_000);
    now = Date.parse('2026-01-02T06:30:00.000Z');
    const second = await runOnce('2026-01-02T06:30:00Z', 'trending', 'exec-2', { failure: { Error: 'States.TaskFailed', Cause: 'upstream 500' } }, 65_000);
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: ORCH_PK, sk: STATE_SK, mode: 'PAUSED', updatedAt: 't', reason: 'maintenance' } }));
    const third = await runOnce('2026-01-02T05:00:00Z', 'games', 'exec-3', {}, 1_000);
    const adds = windowUpdates();
    send.mockRestore();
    const [bucket] = await store.readWindowBuckets('youtube_worker', ['2026-01-02T06']);

    // Assess
    expect([first.result.status, second.result.status, third.result.status]).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED']);
    expect(adds).toBe(3);
    expect(bucket).toMatchObject({ runs: 2, succeeded: 1, failures: 1, skips: 1, scoredRuns: 2, dur_le_15s: 1, dur_le_2m: 1, durationMsSum: 75_000 });
    const hour = aggregateHour(bucket ?? EMPTY_BUCKET);
    expect(hour).toMatchObject({ runs: 2, succeeded: 1, failed: 1, skipped: 1, successRatePercent: 50, avgDurationMs: 37_500, p95DurationMs: 120_000 });
    const overall = [first.result.overallScore, second.result.overallScore];
    expect(hour.avgScores?.overall).toBeCloseTo(((overall[0] ?? Number.NaN) + (overall[1] ?? Number.NaN)) / 2, 9);
    expect(hour.avgScores?.reliability).toBeCloseTo(50, 9); // 100 for the success, 0 for the failure
  });

  it('reads a bucket written before the aggregation counters with them as 0, and aggregates it', async () => {
    // Prepare: an item as the record step wrote it before phase 2.4.
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: workerPk('w'), sk: windowSk('2026-01-02T06'), entity: 'WINDOW', runs: 3, failures: 1, attempts: 3, durationMsSum: 30_000, skips: 1, expiresAt: 1 },
      }),
    );
    // Act: the new ADD lands on the old item.
    await store.addWindowCounters('w', '2026-01-02T06', { runs: 1, succeeded: 1, attempts: 1, durationMsSum: 2_000, dur_le_5s: 1, scoredRuns: 1, overallSum: 88.8 }, 2);
    const [bucket] = await store.readWindowBuckets('w', ['2026-01-02T06']);
    // Assess
    expect(bucket).toEqual({ ...EMPTY_BUCKET, runs: 4, failures: 1, attempts: 4, durationMsSum: 32_000, skips: 1, succeeded: 1, dur_le_5s: 1, scoredRuns: 1, overallSum: 88.8 });
    expect(aggregateHour(bucket ?? EMPTY_BUCKET)).toMatchObject({ runs: 4, succeeded: 3, failed: 1, successRatePercent: 75, avgDurationMs: 8_000, p95DurationMs: 5_000, avgScores: { overall: 88.8 } });
  });
});
