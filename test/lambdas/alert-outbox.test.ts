/**
 * Items 2 and 3 of "nothing lost": the alert outbox and the order of publish, recovery start and
 * mark, on the real adapters (DynamoAlertStore, DynamoOutbox, DynamoStateStore) against the embedded
 * DynamoDB with the table exactly as its construct declares it (the sparse GSI included). SNS and
 * Step Functions are fakes at the AWS boundary; the event source's retries are the handler called
 * again with the same record, as many times as the deployed mapping allows.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.js';
import { DynamoIncidentStore } from '../../lambdas/adapters/dynamo-incident-store.js';
import { DynamoOutbox, outboxPk, OUTBOX_SK } from '../../lambdas/adapters/dynamo-outbox.js';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { makeHandler } from '../../lambdas/anomaly/detector.js';
import { deliverOutbox, type OutboxDeps } from '../../lambdas/sweep/sweep.js';
import { ANOMALY_DETECTOR_DEFAULTS } from '../../lib/constructs/anomaly-detector.js';
import type { RenderedMessage } from '../../lib/domain/alerting.js';
import type { RecoveryRequest } from '../../lib/domain/anomaly-evaluation.js';
import { ALERT_DEADLINE_SECONDS } from '../../lib/domain/anomaly-rules.js';
import { SWEEP_INTERVAL_MINUTES } from '../../lib/domain/health-sweep.js';
import { OUTBOX_SWEEP_GRACE_MS, OUTBOX_SWEEP_LIMIT } from '../../lib/domain/outbox.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { bucketKey, windowDelta } from '../../lib/domain/window-stats.js';
import { reportSk, workerPk } from '../../lib/domain/worker-state.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';

const T0 = Date.parse('2026-01-02T06:30:00.000Z');
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, appendKeys: () => undefined, resetKeys: () => undefined };

/** SNS, which can be down. */
class FakeSns {
  down = false;
  readonly published: RenderedMessage[] = [];
  attempts = 0;
  async publish(message: RenderedMessage): Promise<void> {
    this.attempts++;
    if (this.down) throw Object.assign(new Error('Service Unavailable'), { name: 'InternalErrorException' });
    this.published.push(message);
  }
}

/** Step Functions StartExecution: idempotent by name; can fail. */
class FakeStarter {
  readonly executions = new Set<string>();
  failNext = 0;
  calls = 0;
  async start(request: RecoveryRequest): Promise<void> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    this.executions.add(request.name);
  }
}

/** youtube trending (expected 60 s) took 200 s: SLOW_EXECUTION, HIGH (5-minute deadline). */
const slowReport: WorkerScoreReport = {
  workerName: 'youtube_worker',
  jobId: 'trending',
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker-trending:sched-0630',
  scheduledTime: '2026-01-02T06:30:00.000Z',
  startedAt: '2026-01-02T06:30:01.000Z',
  completedAt: '2026-01-02T06:33:21.000Z',
  status: 'SUCCEEDED',
  skipReason: null,
  success: true,
  durationMs: 200_000,
  attempts: 1,
  lockFence: 3,
  scores: { reliabilityScore: 100, performanceScore: 40, dataQualityScore: 100, resourceScore: 90, overallScore: 83 },
  anomalies: ['SLOW_EXECUTION'],
  recommendations: [],
  metrics: { items_ok: 12, items_failed: 0 },
  error: null,
};

function streamRecord(r: WorkerScoreReport): DynamoDBRecord {
  const image = marshall({ pk: workerPk(r.workerName), sk: reportSk(r.scheduledTime, r.jobId), entity: 'REPORT', ...r, expiresAt: 1_770_000_000 }, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  return {
    eventID: 'ev-slow-0630',
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orchestrator/stream/2026-01-01T00:00:00.000',
    dynamodb: { ApproximateCreationDateTime: Math.floor(T0 / 1000), Keys: { pk: image['pk'] as AttributeValue, sk: image['sk'] as AttributeValue }, NewImage: image, SequenceNumber: '4000000000000000001', SizeBytes: 900, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

let fixture: TableFixture;
let tableName: string;
let now: number;
let sns: FakeSns;
let starter: FakeStarter;
let outbox: DynamoOutbox;
let alerts: DynamoAlertStore;
let handle: (event: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

beforeAll(async () => {
  fixture = await startTableFixture(() => now);
});

afterAll(async () => {
  await fixture.close();
});

beforeEach(async () => {
  tableName = await fixture.newTable('outbox-');
  now = Date.parse(slowReport.completedAt) + 1_500;
  sns = new FakeSns();
  starter = new FakeStarter();
  outbox = new DynamoOutbox(fixture.doc, tableName);
  alerts = new DynamoAlertStore(fixture.doc, tableName);
  handle = makeHandler({
    windows: new DynamoStateStore(fixture.doc, tableName),
    incidents: new DynamoIncidentStore(fixture.doc, tableName),
    alerts,
    outbox,
    publisher: sns,
    recovery: starter,
    invalidRecords: { put: async () => undefined },
    logger: silent,
    clock: () => now,
    region: 'eu-west-1',
  });
});

const sweepOutbox = (): OutboxDeps => ({ store: outbox, publisher: sns, newToken: () => `sweep-${now}` });
const slowAlerts = () => sns.published.filter((m) => m.json.type === 'aurastream.alert' && 'alert' in m.json && m.json.alert.anomaly === 'SLOW_EXECUTION');
const outboxItem = async (id: string) => (await fixture.doc.send(new GetCommand({ TableName: tableName, Key: { pk: outboxPk(id), sk: OUTBOX_SK } }))).Item;

describe('the alert outbox', () => {
  it('delivers an alert once, at the first sweep after SNS comes back, when SNS was down longer than the event source retried', async () => {
    const record = streamRecord(slowReport);
    sns.down = true;

    // The first delivery and every retry the event source mapping makes: all fail on SNS.
    for (let attempt = 0; attempt <= ANOMALY_DETECTOR_DEFAULTS.retryAttempts; attempt++) {
      expect(await handle({ Records: [structuredClone(record)] })).toEqual({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] });
      now += 2_000;
    }
    expect(sns.published).toEqual([]);
    // The recovery did not wait for SNS: started once (by name).
    expect([...starter.executions]).toHaveLength(1);
    const [pending] = await outbox.pending(OUTBOX_SWEEP_LIMIT);
    expect(pending).toMatchObject({ kind: 'alert', state: 'PENDING', attempts: 1 + ANOMALY_DETECTOR_DEFAULTS.retryAttempts });
    const alertId = pending?.id ?? '';

    // A sweep while SNS is still down delivers nothing and loses nothing.
    now += SWEEP_INTERVAL_MINUTES * 60_000;
    const errors: string[] = [];
    expect((await deliverOutbox(sweepOutbox(), silent, now, errors)).sent).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(await outbox.pending(OUTBOX_SWEEP_LIMIT)).toHaveLength(1);

    // SNS comes back; the next sweep runs at most one interval later and delivers it once.
    sns.down = false;
    const recoveredAt = now + 1_000;
    now += SWEEP_INTERVAL_MINUTES * 60_000;
    const delivered = await deliverOutbox(sweepOutbox(), silent, now, []);
    expect(delivered.sent).toEqual([alertId]);
    expect(slowAlerts()).toHaveLength(1);
    expect((now - recoveredAt) / 1000).toBeLessThanOrEqual(ALERT_DEADLINE_SECONDS.HIGH ?? 0);
    expect(await outboxItem(alertId)).toMatchObject({ outboxState: 'SENT' });
    expect(await outbox.pending(OUTBOX_SWEEP_LIMIT)).toEqual([]);

    // Nothing twice: another sweep, and a late redelivery of the record.
    now += SWEEP_INTERVAL_MINUTES * 60_000;
    expect((await deliverOutbox(sweepOutbox(), silent, now, [])).sent).toEqual([]);
    expect(await handle({ Records: [structuredClone(record)] })).toEqual({ batchItemFailures: [] });
    expect(slowAlerts()).toHaveLength(1);
    expect([...starter.executions]).toHaveLength(1);
  });

  it('leaves a fresh entry to its enqueuer: the sweep waits OUTBOX_SWEEP_GRACE_MS', async () => {
    sns.down = true;
    await handle({ Records: [streamRecord(slowReport)] });
    sns.down = false;
    expect(await deliverOutbox(sweepOutbox(), silent, now + OUTBOX_SWEEP_GRACE_MS - 1, [])).toMatchObject({ pending: 1, sent: [], left: 1 });
    expect((await deliverOutbox(sweepOutbox(), silent, now + OUTBOX_SWEEP_GRACE_MS, [])).sent).toHaveLength(1);
    expect(slowAlerts()).toHaveLength(1);
  });
});

describe('the MEDIUM digest', () => {
  const medium = (worker: string, job: string, slot: string, completedAt: string): WorkerScoreReport => ({
    ...slowReport,
    workerName: worker,
    jobId: job,
    executionId: `arn:aws:states:eu-west-1:123456789012:execution:aurastream-${worker}-${job}:${slot}`,
    scheduledTime: slot,
    startedAt: slot,
    completedAt,
    anomalies: ['TIMEOUT_WARNING'],
  });
  const recordOf = (r: WorkerScoreReport, seq: string): DynamoDBRecord => {
    const base = streamRecord(r);
    return { ...base, eventID: `ev-${seq}`, dynamodb: { ...base.dynamodb, ApproximateCreationDateTime: Math.floor(Date.parse(r.completedAt) / 1000), SequenceNumber: seq } };
  };

  it('holds MEDIUM notifications in the outbox and the sweep sends those of the same 15 minutes as one digest, within their deadline', async () => {
    const first = medium('youtube_worker', 'trending', '2026-01-02T06:30:00.000Z', '2026-01-02T06:33:21.000Z');
    const second = medium('clip_radar_worker', 'poll', '2026-01-02T06:35:00.000Z', '2026-01-02T06:38:00.000Z');
    now = Date.parse(first.completedAt) + 1_000;
    await handle({ Records: [recordOf(first, '4000000000000000011')] });
    now = Date.parse(second.completedAt) + 1_000;
    await handle({ Records: [recordOf(second, '4000000000000000012')] });
    // Nothing published alone: both are held for the digest.
    expect(sns.published).toEqual([]);
    expect((await outbox.pending(OUTBOX_SWEEP_LIMIT)).map((e) => e.digest)).toEqual([true, true]);

    // Sweeps every SWEEP_INTERVAL_MINUTES: held while the next sweep is still in time, then sent together, once.
    const firstDue = Date.parse(first.completedAt) + (ALERT_DEADLINE_SECONDS.MEDIUM ?? 0) * 1000;
    let sentAt: number | null = null;
    for (now = Date.parse('2026-01-02T06:40:00.000Z'); now <= firstDue + SWEEP_INTERVAL_MINUTES * 60_000; now += SWEEP_INTERVAL_MINUTES * 60_000) {
      const { sent } = await deliverOutbox(sweepOutbox(), silent, now, []);
      if (sent.length > 0) {
        expect(sentAt).toBeNull();
        expect(sent).toHaveLength(2);
        sentAt = now;
      }
    }
    expect(sentAt).not.toBeNull();
    expect(sentAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(firstDue);
    expect(sns.published).toHaveLength(1);
    const [digest] = sns.published;
    expect(digest?.json).toMatchObject({ type: 'aurastream.alert-digest', digest: { severity: 'MEDIUM', workers: ['clip_radar_worker', 'youtube_worker'], anomalies: ['TIMEOUT_WARNING'] } });
    expect(await outbox.pending(OUTBOX_SWEEP_LIMIT)).toEqual([]);
  });
});

describe('the fold withdraws a held notification', () => {
  it("a MEDIUM ELEVATED_RETRIES held for the digest, then a crash of the same worker: the crash's incident folds it in, its held OPENED is withdrawn, and no digest ever carries it", async () => {
    const windows = new DynamoStateStore(fixture.doc, tableName);
    const run = (slot: string, completedAt: string, overrides: Partial<WorkerScoreReport>): WorkerScoreReport => ({
      ...slowReport,
      executionId: `arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker-trending:${slot}`,
      scheduledTime: slot,
      startedAt: slot,
      completedAt,
      durationMs: 40_000,
      anomalies: [],
      ...overrides,
    });
    const recordOf = async (r: WorkerScoreReport, seq: string): Promise<DynamoDBRecord> => {
      // What the Record step does: the window counters, then the report.
      await windows.addWindowCounters(r.workerName, bucketKey(Date.parse(r.completedAt)), windowDelta(r), 1_770_000_000);
      const base = streamRecord(r);
      return { ...base, eventID: `ev-${seq}`, dynamodb: { ...base.dynamodb, SequenceNumber: seq } };
    };
    // A retried run: 1 of 1 runs retried, ELEVATED_RETRIES (MEDIUM), held for the digest.
    const retried = run('2026-01-02T06:30:00.000Z', '2026-01-02T06:31:00.000Z', { attempts: 2 });
    now = Date.parse(retried.completedAt) + 1_000;
    await handle({ Records: [await recordOf(retried, '4000000000000000021')] });
    expect(sns.published).toEqual([]);
    expect((await outbox.pending(OUTBOX_SWEEP_LIMIT)).map((e) => e.digest)).toEqual([true]);

    // The next run crashes: WORKER_CRASH, the root of the worker's failures and retries.
    const crash = run('2026-01-02T06:35:00.000Z', '2026-01-02T06:40:00.000Z', {
      status: 'CRASHED',
      success: false,
      scores: null,
      anomalies: ['WORKER_CRASH'],
      error: { name: 'States.Timeout', cause: 'the work step timed out' },
    });
    now = Date.parse(crash.completedAt) + 1_000;
    const crashRecord = await recordOf(crash, '4000000000000000022');
    await handle({ Records: [crashRecord] });
    // Redelivered: nothing more.
    await handle({ Records: [structuredClone(crashRecord)] });

    const alertsOut = sns.published.flatMap((m) => (m.json.type === 'aurastream.alert' && 'alert' in m.json ? [m.json.alert] : []));
    expect(alertsOut.map((a) => [a.anomaly, a.incident?.transition, a.incident?.covers])).toEqual([['WORKER_CRASH', 'OPENED', ['youtube_worker~-~ELEVATED_RETRIES~1']]]);
    expect(await outbox.pending(OUTBOX_SWEEP_LIMIT)).toEqual([]);
    const incidents = new DynamoIncidentStore(fixture.doc, tableName);
    expect(await incidents.read({ worker: 'youtube_worker', job: null, anomaly: 'ELEVATED_RETRIES' })).toMatchObject({ state: 'RESOLVED', mergedInto: 'youtube_worker~trending~WORKER_CRASH~1' });
    expect(await incidents.read({ worker: 'youtube_worker', job: 'trending', anomaly: 'WORKER_CRASH' })).toMatchObject({ covers: ['youtube_worker~-~ELEVATED_RETRIES~1'], count: 3 });

    // The sweeps past the MEDIUM deadline send no digest: the withdrawn entry is never published.
    for (let at = now; at <= now + 30 * 60_000; at += SWEEP_INTERVAL_MINUTES * 60_000) await deliverOutbox(sweepOutbox(), silent, at, []);
    expect(sns.published.map((m) => m.json.type)).toEqual(['aurastream.alert']);
  });
});

describe('publish, recovery start and mark, redelivered', () => {
  it('a failed recovery start comes before the publish: the retry publishes once', async () => {
    const record = streamRecord(slowReport);
    starter.failNext = 1;
    expect((await handle({ Records: [record] })).batchItemFailures).toHaveLength(1);
    expect(sns.published).toEqual([]);
    expect((await handle({ Records: [structuredClone(record)] })).batchItemFailures).toEqual([]);
    expect(slowAlerts()).toHaveLength(1);
    expect([...starter.executions]).toHaveLength(1);
  });

  it('a failure after a successful publish (the claim\'s mark) does not publish again on redelivery', async () => {
    const record = streamRecord(slowReport);
    // The mark fails once, as a throttled UpdateItem on the ALERT item would.
    const markDelivered = alerts.markDelivered.bind(alerts);
    let failMark = 1;
    alerts.markDelivered = async (...args) => {
      if (failMark-- > 0) throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });
      return markDelivered(...args);
    };
    expect((await handle({ Records: [record] })).batchItemFailures).toHaveLength(1);
    expect(slowAlerts()).toHaveLength(1);

    expect((await handle({ Records: [structuredClone(record)] })).batchItemFailures).toEqual([]);
    expect(slowAlerts()).toHaveLength(1);
    expect(sns.attempts).toBe(1);
  });
});
