/**
 * End to end on the embedded DynamoDB: reports written as the protocol Lambda writes them
 * (DynamoStateStore.putReportOnce and addWindowCounters) go through the emulated stream, with the
 * construct's own FilterCriteria and Lambda-like partial batch semantics, to the anomaly handler
 * with the real DynamoDB adapters (window reads, alert claims). SNS, Step Functions and the
 * dead-letter queue are fakes. DynamoDB requests are counted on the handler's own client.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/anomaly/detector.js';
import type { InvalidRecordSink, InvalidStreamRecord } from '../../lambdas/anomaly/invalid-records.js';
import { DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.js';
import { documentClient, DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { REPORT_INSERT_PATTERN } from '../../lib/constructs/anomaly-detector.js';
import type { AlertEnvelope, RenderedMessage } from '../../lib/domain/alerting.js';
import { ALERT_SK, alertExpiresAt, alertPk, type AlertPublisher, type RecoveryRequest, type RecoveryStarter } from '../../lib/domain/anomaly-evaluation.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { bucketKey, windowDelta } from '../../lib/domain/window-stats.js';
import { reportSk, workerPk } from '../../lib/domain/worker-state.js';
import type { EmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';
import type { DeliveryFailure } from '../../local/stream-delivery.js';
import { DynamoIncidentStore } from '../../lambdas/adapters/dynamo-incident-store.js';

const T0 = Date.parse('2026-01-02T06:20:00.000Z');
const WORKERS = ['youtube_worker', 'twitch_streams_worker', 'clip_radar_worker', 'intel_aggregation_worker', 'analytics_flush_worker'] as const;
const JOB: Record<(typeof WORKERS)[number], string> = { youtube_worker: 'trending', twitch_streams_worker: 'poll', clip_radar_worker: 'poll', intel_aggregation_worker: 'hourly', analytics_flush_worker: 'flush' };

let fixture: TableFixture;
let db: EmbeddedDynamo;
let tableName: string;
/** The protocol side: writes through the stream-emulating client. */
let writer: DynamoStateStore;
let writerDoc: DynamoDBDocumentClient;
/** The handler's own client (the fixture's counting one): every request it makes is in `requests`. */
let handlerDoc: DynamoDBDocumentClient;
let requests: string[];

beforeAll(async () => {
  // The table exactly as the construct declares it (keys, stream, TTL).
  fixture = await startTableFixture(() => T0);
  ({ db, doc: handlerDoc, requests } = fixture);
  writerDoc = documentClient(db.client);
});

afterAll(async () => {
  await fixture.close();
});

class RecordingPublisher implements AlertPublisher {
  readonly published: RenderedMessage<AlertEnvelope>[] = [];
  async publish(message: RenderedMessage<AlertEnvelope>): Promise<void> {
    this.published.push(message);
  }
}
class RecordingRecovery implements RecoveryStarter {
  readonly started: RecoveryRequest[] = [];
  async start(request: RecoveryRequest): Promise<void> {
    this.started.push(request);
  }
}
class RecordingSink implements InvalidRecordSink {
  readonly records: InvalidStreamRecord[] = [];
  async put(record: InvalidStreamRecord): Promise<void> {
    this.records.push(record);
  }
}
const quietLogger = { appendKeys: () => undefined, resetKeys: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let publisher: RecordingPublisher;
let recovery: RecordingRecovery;
let sink: RecordingSink;
let failures: DeliveryFailure[];
let handle: ReturnType<typeof makeHandler>;

beforeEach(async () => {
  tableName = await fixture.newTable('Orchestrator');
  db.stream.stopAll();
  db.stream.drain();
  writer = new DynamoStateStore(writerDoc, tableName);
  publisher = new RecordingPublisher();
  recovery = new RecordingRecovery();
  sink = new RecordingSink();
  failures = [];
  requests.length = 0;
  handle = makeHandler({
    windows: new DynamoStateStore(handlerDoc, tableName),
    incidents: new DynamoIncidentStore(handlerDoc, tableName),
    alerts: new DynamoAlertStore(handlerDoc, tableName),
    publisher,
    recovery,
    invalidRecords: sink,
    logger: quietLogger,
    clock: () => T0 + 2_000,
    region: 'eu-west-1',
  });
});

function consume(batchSize = 100) {
  return db.stream.deliverTo(handle, { tableName, filters: [REPORT_INSERT_PATTERN], batchSize, maxRetries: 2, auto: false, onFailure: (f) => void failures.push(f) });
}

let run = 0;
function report(worker: (typeof WORKERS)[number], overrides: Partial<WorkerScoreReport> = {}): WorkerScoreReport {
  run++;
  const completedMs = T0 - 60_000 + run * 100;
  return {
    workerName: worker,
    jobId: JOB[worker],
    executionId: `arn:aws:states:eu-west-1:123456789012:execution:aurastream-${worker}:run-${run}`,
    scheduledTime: new Date(T0 - 3_600_000 + run * 1_000).toISOString(),
    startedAt: new Date(completedMs - 30_000).toISOString(),
    completedAt: new Date(completedMs).toISOString(),
    status: 'SUCCEEDED',
    skipReason: null,
    success: true,
    durationMs: 30_000,
    attempts: 1,
    lockFence: run,
    scores: { reliabilityScore: 100, performanceScore: 100, dataQualityScore: 100, resourceScore: 100, overallScore: 100 },
    anomalies: [],
    recommendations: [],
    metrics: { items_ok: 10, items_failed: 0 },
    error: null,
    ...overrides,
  };
}

/** What the record step does: the report (conditional put), then its window counters. */
async function record(r: WorkerScoreReport): Promise<void> {
  const stored = await writer.putReportOnce({ report: r, reportSk: reportSk(r.scheduledTime, r.jobId), expiresAt: Math.floor(T0 / 1000) + 30 * 86_400 });
  if (stored) await writer.addWindowCounters(r.workerName, bucketKey(Date.parse(r.completedAt)), windowDelta(r), Math.floor(T0 / 1000) + 3 * 86_400);
}

const crash = (worker: (typeof WORKERS)[number]): Partial<WorkerScoreReport> => ({
  status: 'CRASHED',
  success: false,
  durationMs: 295_000,
  scores: null,
  anomalies: ['WORKER_CRASH'],
  recommendations: ['Restart worker, alert on-call'],
  metrics: {},
  error: { name: 'States.Timeout', cause: `${worker} timed out` },
});

describe('stream -> anomaly handler, on the embedded DynamoDB', () => {
  it('a CRASHED report: one alert item, one publish, one recovery; a redelivered record changes nothing', async () => {
    const consumer = consume();
    // A healthy hour first, so the crash is the only anomaly (1 of 11 runs failed: below 10%).
    for (let i = 0; i < 10; i++) await record(report('youtube_worker'));
    const crashed = report('youtube_worker', crash('youtube_worker'));
    await record(crashed);
    await consumer.flush();

    expect(consumer.stats).toMatchObject({ checkpointed: 11, failedRecords: 0 });
    expect(failures).toEqual([]);
    expect(publisher.published.map((m) => [m.json.alert.anomaly, m.json.alert.worker])).toEqual([['WORKER_CRASH', 'youtube_worker']]);
    const alert = publisher.published[0]?.json.alert;
    if (!alert) throw new Error('no alert');
    expect(alert.executionId).toBe(crashed.executionId);
    expect(recovery.started.map((r) => r.name)).toEqual([alert.id]);

    const stored = await writerDoc.send(new GetCommand({ TableName: tableName, Key: { pk: alertPk(alert.id), sk: ALERT_SK }, ConsistentRead: true }));
    expect(stored.Item).toMatchObject({ entity: 'ALERT', alertState: 'DELIVERED', worker: 'youtube_worker', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', expiresAt: alertExpiresAt(alert), alert: { id: alert.id } });

    // The event source delivers the same record again (e.g. a later record of its batch failed).
    const [again] = db.stream.records(tableName).filter((r) => r.eventName === 'INSERT' && r.dynamodb.Keys['sk']?.S === reportSk(crashed.scheduledTime, crashed.jobId));
    if (!again) throw new Error('no stream record for the crash');
    expect(await handle({ Records: [structuredClone(again)] })).toEqual({ batchItemFailures: [] });
    expect(publisher.published).toHaveLength(1);
    expect(recovery.started).toHaveLength(1);
  });

  it('100 reports in steady state: 2 DynamoDB requests each (the window BatchGetItem, the Query for open incidents), no writes, nothing published', async () => {
    const consumer = consume(100);
    for (let i = 0; i < 100; i++) await record(report(WORKERS[i % WORKERS.length] as (typeof WORKERS)[number]));
    // The window counters and the reports are both on the stream; only the reports pass the filter.
    expect(db.stream.records(tableName).length).toBeGreaterThan(100);
    await consumer.flush();

    expect(consumer.stats).toMatchObject({ invocations: 1, checkpointed: 100, failedRecords: 0 });
    expect(publisher.published).toEqual([]);
    expect(requests.length / 100).toBe(2);
    expect(new Set(requests)).toEqual(new Set(['BatchGetItem', 'Query']));
  });

  it('50 reports with a persisting crash: one incident per root cause (the failure rate opened first is folded into the crash), notified once; repeats cost the incident read and write', async () => {
    const consumer = consume(100);
    // 45 healthy runs across five workers, then 5 crashes of one worker in a row.
    for (let i = 0; i < 50; i++) {
      const worker = WORKERS[i % WORKERS.length] as (typeof WORKERS)[number];
      await record(i >= 45 ? report('clip_radar_worker', crash('clip_radar_worker')) : report(worker));
    }
    await consumer.flush();

    // clip_radar_worker crashes 5 of its 14 runs. The window counters are all written before the
    // stream is read, so its healthy reports already show HIGH_FAILURE_RATE and open it before the first
    // crash is read; the crash's incident then folds it in (merged into it, no RESOLVED message).
    expect(publisher.published.map((m) => m.json.alert.incident?.id).sort()).toEqual(['clip_radar_worker~-~HIGH_FAILURE_RATE~1', 'clip_radar_worker~poll~WORKER_CRASH~1']);
    const rate = await writerDoc.send(new GetCommand({ TableName: tableName, Key: { pk: 'WORKER#clip_radar_worker', sk: 'INCIDENT#-#HIGH_FAILURE_RATE' }, ConsistentRead: true }));
    expect(rate.Item).toMatchObject({ state: 'RESOLVED', incident: { mergedInto: 'clip_radar_worker~poll~WORKER_CRASH~1' } });
    expect(recovery.started.map((r) => r.input.anomaly).sort()).toEqual(['HIGH_FAILURE_RATE', 'WORKER_CRASH']);
    const count = (name: string): number => requests.filter((r) => r === name).length;
    expect(count('BatchGetItem')).toBe(50);
    // The 45 successful reports look for open incidents to resolve; the crashes do not. Each of
    // clip radar's 14 rate sightings looks for the incident that explains it, and each of the 2
    // openings for the incidents it folds in (lib/domain/incident.ts `rateParentOf`, `foldIntoRoot`).
    expect(count('Query')).toBe(45 + 14 + 2);
    // Per detection: the incident read and its conditional write; per opening: the claim, its
    // DELIVERED mark, and the notified mark and the recovery on the incident (a read and a write each).
    expect(count('UpdateItem')).toBe(2);
    expect(count('GetItem')).toBe(count('PutItem') - 2);
    expect(requests.length / 50).toBeLessThanOrEqual(3.5);
    const stored = await writerDoc.send(new GetCommand({ TableName: tableName, Key: { pk: 'WORKER#clip_radar_worker', sk: 'INCIDENT#poll#WORKER_CRASH' }, ConsistentRead: true }));
    expect(stored.Item).toMatchObject({ entity: 'INCIDENT', incidentId: 'clip_radar_worker~poll~WORKER_CRASH~1', state: 'RECOVERING', gsi1pk: 'INCIDENTS_OPEN', incident: { count: 5 + 14, covers: ['clip_radar_worker~-~HIGH_FAILURE_RATE~1'] } });
  });

  it('a poison REPORT item goes to the sink alone; its neighbours are processed and nothing is retried', async () => {
    const consumer = consume(10);
    await record(report('youtube_worker'));
    await writerDoc.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...{ pk: workerPk('youtube_worker'), sk: reportSk('2026-01-02T06:00:00.000Z', 'trending'), entity: 'REPORT' }, ...report('youtube_worker'), status: 'EXPLODED' },
      }),
    );
    await record(report('youtube_worker', crash('youtube_worker')));
    await consumer.flush();

    expect(consumer.stats).toMatchObject({ invocations: 1, checkpointed: 3, failedRecords: 0 });
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]?.keys).toEqual({ pk: { S: workerPk('youtube_worker') }, sk: { S: reportSk('2026-01-02T06:00:00.000Z', 'trending') } });
    // 1 failure in 2 runs: below HIGH_FAILURE_RATE's minimum sample (2 failures), so the crash alone.
    expect(publisher.published.map((m) => m.json.alert.anomaly).sort()).toEqual(['WORKER_CRASH']);
  });
});
