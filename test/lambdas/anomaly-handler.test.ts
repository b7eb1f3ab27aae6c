/**
 * The anomaly Lambda with fake ports: realistic stream records (the wire format of a REPORT item
 * as DynamoStateStore.putReportOnce stores it), alerts published and recoveries started exactly
 * once, poison records set aside alone, and the DynamoDB request budget.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

// The handler module reads its environment at import: give it one.
vi.hoisted(() => {
  process.env['TABLE_NAME'] = 'orchestrator';
  process.env['ALERT_TOPIC_ARN'] = 'arn:aws:sns:eu-west-1:123456789012:alerts';
  process.env['RECOVERY_STATE_MACHINE_ARN'] = 'arn:aws:states:eu-west-1:123456789012:stateMachine:recovery';
  process.env['INVALID_RECORD_QUEUE_URL'] = 'https://sqs.eu-west-1.amazonaws.com/123456789012/failures';
  process.env['AWS_REGION'] = 'eu-west-1';
});

import { handler, makeHandler } from '../../lambdas/anomaly/handler.js';
import type { AnomalyHandlerDeps, AnomalyLogger } from '../../lambdas/anomaly/detector.js';
import { INVALID_RECORD_MESSAGE_TYPE, invalidRecordBody, type InvalidRecordSink, type InvalidStreamRecord } from '../../lambdas/anomaly/invalid-records.js';
import { snsMessageAttributes } from '../../lambdas/adapters/sns-alert-publisher.js';
import { ALERT_MESSAGE_TYPE, type Alert, type AlertEnvelope, type RenderedMessage } from '../../lib/domain/alerting.js';
import {
  ALERT_CLAIM_STALE_MS,
  claimWins,
  type AlertClaim,
  type AlertPublisher,
  type AlertStore,
  type RecoveryRequest,
  type RecoveryStarter,
  type StoredAlertClaim,
} from '../../lib/domain/anomaly-evaluation.js';
import type { StateStore } from '../../lib/domain/ports.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { addToBucket, EMPTY_BUCKET, windowDelta, type WindowBucket } from '../../lib/domain/window-stats.js';
import { reportSk, workerPk } from '../../lib/domain/worker-state.js';
import { RecoveryInput } from '../../lambdas/recovery/recover.js';
import { DynamoHealthFindingStore } from '../../lambdas/sweep/adapters.js';
import { clearedFinding, type HealthFinding } from '../../lib/domain/health-sweep.js';
import { InMemoryIncidentStore } from '../support/in-memory-incident-store.js';

const REGION = 'eu-west-1';
const WORKER = 'youtube_worker';
const COMPLETED = '2026-01-02T06:30:00.000Z';
const NOW = Date.parse(COMPLETED) + 1_500;
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker-trending:sched-2026-01-02T06-29';

// ---------------------------------------------------------------------------------------------
// Fixtures

const report = (overrides: Partial<WorkerScoreReport> = {}): WorkerScoreReport => ({
  workerName: WORKER,
  jobId: 'trending',
  executionId: EXECUTION,
  scheduledTime: '2026-01-02T06:29:00.000Z',
  startedAt: '2026-01-02T06:29:01.000Z',
  completedAt: COMPLETED,
  status: 'SUCCEEDED',
  skipReason: null,
  success: true,
  durationMs: 40_000,
  attempts: 1,
  lockFence: 7,
  scores: { reliabilityScore: 100, performanceScore: 100, dataQualityScore: 100, resourceScore: 92.5, overallScore: 99.3 },
  anomalies: [],
  recommendations: [],
  metrics: { items_ok: 12, items_failed: 0, categories_fetched: 12 },
  error: null,
  ...overrides,
});

const crashed = (overrides: Partial<WorkerScoreReport> = {}): WorkerScoreReport =>
  report({
    status: 'CRASHED',
    success: false,
    durationMs: 300_000,
    attempts: 1,
    scores: null,
    anomalies: ['WORKER_CRASH'],
    recommendations: ['Restart worker, alert on-call'],
    metrics: {},
    error: { name: 'States.Timeout', cause: 'the work step timed out after 295 s' },
    ...overrides,
  });

/** The item DynamoStateStore.putReportOnce writes. */
const reportItem = (r: WorkerScoreReport): Record<string, unknown> => ({ pk: workerPk(r.workerName), sk: reportSk(r.scheduledTime, r.jobId), entity: 'REPORT', ...r, expiresAt: 1_770_000_000 });

let sequence = 4_000_000_000_000_000_000n;
/** A stream record exactly as the event source mapping delivers it. */
function streamRecord(item: Record<string, unknown>, eventName: 'INSERT' | 'MODIFY' = 'INSERT'): DynamoDBRecord {
  sequence += 1n;
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  const keys = { pk: image['pk'] as AttributeValue, sk: image['sk'] as AttributeValue };
  return {
    eventID: `ev${sequence.toString(16)}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orchestrator/stream/2026-01-01T00:00:00.000',
    dynamodb: { ApproximateCreationDateTime: Math.floor(NOW / 1000), Keys: keys, NewImage: image, SequenceNumber: sequence.toString(), SizeBytes: 900, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
const event = (...records: unknown[]) => ({ Records: records });

function bucketOf(runs: readonly Partial<Pick<WorkerScoreReport, 'status' | 'skipReason' | 'attempts' | 'durationMs'>>[]): WindowBucket {
  return runs.reduce<WindowBucket>((b, r) => addToBucket(b, windowDelta({ status: 'SUCCEEDED', skipReason: null, attempts: 1, durationMs: 40_000, ...r })), EMPTY_BUCKET);
}

// ---------------------------------------------------------------------------------------------
// Fakes

class FakeWindows implements Pick<StateStore, 'readWindowBuckets'> {
  readonly buckets = new Map<string, WindowBucket>();
  reads = 0;
  /** 1-based calls that fail as a throttled request would. */
  readonly failCalls = new Set<number>();
  readonly requested: string[][] = [];
  async readWindowBuckets(workerId: string, bucketKeys: readonly string[]): Promise<WindowBucket[]> {
    this.reads++;
    if (this.failCalls.has(this.reads)) throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });
    this.requested.push([workerId, ...bucketKeys]);
    return bucketKeys.map((b) => this.buckets.get(`${workerId}#${b}`) ?? EMPTY_BUCKET);
  }
}

/** The AlertStore semantics of the DynamoDB adapter (claimWins), in memory; every call is one request. */
class FakeAlertStore implements AlertStore {
  readonly items = new Map<string, StoredAlertClaim & { alert: Alert }>();
  writes = 0;
  async claim(alert: Alert, claim: AlertClaim): Promise<boolean> {
    this.writes++;
    if (!claimWins(this.items.get(alert.id), claim)) return false;
    this.items.set(alert.id, { state: 'CLAIMED', claimToken: claim.token, claimedAtMs: claim.nowMs, alert });
    return true;
  }
  async markDelivered(alert: Alert, claim: AlertClaim): Promise<boolean> {
    this.writes++;
    const item = this.items.get(alert.id);
    if (item?.claimToken !== claim.token) return false;
    this.items.set(alert.id, { ...item, state: 'DELIVERED' });
    return true;
  }
}

class FakePublisher implements AlertPublisher {
  readonly published: RenderedMessage<AlertEnvelope>[] = [];
  failNext = 0;
  async publish(message: RenderedMessage<AlertEnvelope>): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
    }
    this.published.push(message);
  }
}

class FakeRecovery implements RecoveryStarter {
  readonly started: RecoveryRequest[] = [];
  async start(request: RecoveryRequest): Promise<void> {
    this.started.push(request);
  }
}

class FakeSink implements InvalidRecordSink {
  readonly records: InvalidStreamRecord[] = [];
  failNext = 0;
  async put(record: InvalidStreamRecord): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('sqs unavailable');
    }
    this.records.push(record);
  }
}

class FakeLogger implements AnomalyLogger {
  keys: Record<string, string> = {};
  readonly lines: { level: string; message: string; keys: Record<string, string>; attributes: Record<string, unknown> }[] = [];
  appendKeys(attributes: Record<string, string>): void {
    this.keys = { ...this.keys, ...attributes };
  }
  resetKeys(): void {
    this.keys = {};
  }
  private log(level: string, message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level, message, keys: { ...this.keys }, attributes });
  }
  debug(message: string, attributes: Record<string, unknown>): void {
    this.log('debug', message, attributes);
  }
  info(message: string, attributes: Record<string, unknown>): void {
    this.log('info', message, attributes);
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.log('warn', message, attributes);
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.log('error', message, attributes);
  }
}

function setup(clockMs = NOW) {
  const fakes = { windows: new FakeWindows(), incidents: new InMemoryIncidentStore(), alerts: new FakeAlertStore(), publisher: new FakePublisher(), recovery: new FakeRecovery(), sink: new FakeSink(), logger: new FakeLogger() };
  let now = clockMs;
  const deps: AnomalyHandlerDeps = {
    windows: fakes.windows,
    incidents: fakes.incidents,
    alerts: fakes.alerts,
    publisher: fakes.publisher,
    recovery: fakes.recovery,
    invalidRecords: fakes.sink,
    logger: fakes.logger,
    clock: () => now,
    region: REGION,
  };
  return { ...fakes, handle: makeHandler(deps), advance: (ms: number) => (now += ms) };
}

// ---------------------------------------------------------------------------------------------

describe('a CRASHED report', () => {
  it('publishes one WORKER_CRASH alert and starts one recovery named after it', async () => {
    // Prepare
    const t = setup();
    t.windows.buckets.set(`${WORKER}#2026-01-02T06`, bucketOf([...times(20, {}), { status: 'CRASHED' }]));
    const record = streamRecord(reportItem(crashed()));

    // Act
    const result = await t.handle(event(record));

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(t.windows.requested).toEqual([[WORKER, '2026-01-02T06', '2026-01-02T05']]);
    expect(t.publisher.published).toHaveLength(1);
    const message = t.publisher.published[0];
    expect(message?.subject).toBe('[AuraStream CRITICAL] WORKER_CRASH on youtube_worker.trending: run crashed: States.Timeout');
    expect(message?.json.type).toBe(ALERT_MESSAGE_TYPE);
    const alert = message?.json.alert;
    expect(alert).toMatchObject({ worker: WORKER, anomaly: 'WORKER_CRASH', severity: 'CRITICAL', executionId: EXECUTION, scheduledTime: '2026-01-02T06:29:00.000Z', raisedAt: COMPLETED });
    expect(alert?.consoleUrl).toBe(`https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION}`);
    expect(message?.attributes).toEqual({ type: ALERT_MESSAGE_TYPE, severity: 'CRITICAL', worker: WORKER, anomaly: 'WORKER_CRASH' });
    expect(t.recovery.started).toEqual([
      { name: alert?.id, input: { alertId: alert?.id, worker: WORKER, job: 'trending', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', actions: ['RESTART_WORKER', 'PAGE_ONCALL'], scheduledTime: '2026-01-02T06:29:00.000Z' } },
    ]);
    // The recovery state machine's own input contract accepts it.
    expect(RecoveryInput.safeParse(t.recovery.started[0]?.input).success).toBe(true);
    expect(t.alerts.items.get(alert?.id ?? '')?.state).toBe('DELIVERED');
    // 1 read + claim + mark.
    expect(t.windows.reads + t.alerts.writes).toBe(3);
    // One incident on the job, its opening notified and its recovery recorded.
    expect(t.incidents.all()).toEqual([
      expect.objectContaining({ id: 'youtube_worker~trending~WORKER_CRASH~1', state: 'RECOVERING', count: 1, notified: ['OPENED'], recoveries: [expect.objectContaining({ name: alert?.id, actions: ['RESTART_WORKER', 'PAGE_ONCALL'] })] }),
    ]);
    expect(alert?.incident).toMatchObject({ id: 'youtube_worker~trending~WORKER_CRASH~1', transition: 'OPENED', rootJob: 'youtube_worker.trending' });
    // Structured logs name the run.
    const published = t.logger.lines.find((l) => l.message === 'incident notification published');
    expect(published?.keys).toMatchObject({ worker: WORKER, job: 'trending', executionId: EXECUTION, scheduledTime: '2026-01-02T06:29:00.000Z', eventID: record.eventID });
    expect(published?.attributes).toMatchObject({ anomaly: 'WORKER_CRASH', severity: 'CRITICAL', alertId: alert?.id, plannedChannel: 'immediate' });
  });

  it('delivered twice (two invocations, or twice in one batch): one alert, one recovery', async () => {
    const t = setup();
    const record = streamRecord(reportItem(crashed()));
    await t.handle(event(record));
    t.advance(60_000);
    const again = await t.handle(event(structuredClone(record), structuredClone(record)));
    expect(again).toEqual({ batchItemFailures: [] });
    expect(t.publisher.published).toHaveLength(1);
    expect(t.recovery.started).toHaveLength(1);
    // A redelivery costs the read and nothing else: the incident already counted it.
    expect(t.windows.reads).toBe(3);
    expect(t.alerts.writes).toBe(2);
    expect(t.logger.lines.filter((l) => l.message === 'detection already counted: nothing to do')).toHaveLength(2);
    expect(t.incidents.all()).toEqual([expect.objectContaining({ count: 1 })]);
  });

  it('crashes while the incident is open are counted on it across dedup windows; a success resolves it with one message; a later crash reopens', async () => {
    const t = setup();
    await t.handle(event(streamRecord(reportItem(crashed()))));
    await t.handle(event(streamRecord(reportItem(crashed({ scheduledTime: '2026-01-02T06:40:00.000Z', completedAt: '2026-01-02T06:44:59.999Z' })))));
    await t.handle(event(streamRecord(reportItem(crashed({ scheduledTime: '2026-01-02T07:45:00.000Z', completedAt: '2026-01-02T07:50:00.000Z' })))));
    expect(t.publisher.published).toHaveLength(1);
    expect(t.recovery.started).toHaveLength(1);
    expect(t.incidents.all()).toEqual([expect.objectContaining({ count: 3, lastSeen: '2026-01-02T07:50:00.000Z' })]);

    const ok = report({ scheduledTime: '2026-01-02T08:00:00.000Z', completedAt: '2026-01-02T08:01:00.000Z' });
    await t.handle(event(streamRecord(reportItem(ok))));
    await t.handle(event(streamRecord(reportItem(ok))));
    expect(t.publisher.published).toHaveLength(2);
    const resolved = t.publisher.published[1];
    expect(resolved?.subject).toMatch(/^\[AuraStream RESOLVED\] WORKER_CRASH on youtube_worker\.trending after 91 min: /);
    expect(resolved?.text).toMatch(/Healed by: +the youtube_worker\.trending run of 2026-01-02T08:00:00\.000Z SUCCEEDED; recovery tried: RESTART_WORKER\+PAGE_ONCALL on youtube_worker\.trending/);
    expect(resolved?.json.alert.incident).toMatchObject({ transition: 'RESOLVED', durationMs: Date.parse('2026-01-02T08:01:00.000Z') - Date.parse(COMPLETED) });

    await t.handle(event(streamRecord(reportItem(crashed({ scheduledTime: '2026-01-02T08:30:00.000Z', completedAt: '2026-01-02T08:31:00.000Z' })))));
    expect(t.publisher.published.map((m) => m.json.alert.incident?.id)).toEqual(['youtube_worker~trending~WORKER_CRASH~1', 'youtube_worker~trending~WORKER_CRASH~1', 'youtube_worker~trending~WORKER_CRASH~2']);
    expect(t.recovery.started).toHaveLength(2);
  });

  it('a failed publish fails only that record; its retry publishes once and starts once', async () => {
    const t = setup();
    const other = streamRecord(reportItem(report({ workerName: 'twitch_streams_worker', jobId: 'poll' })));
    const record = streamRecord(reportItem(crashed()));
    t.publisher.failNext = 1;
    const first = await t.handle(event(record, other));
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] });
    expect(t.publisher.published).toHaveLength(0);
    // The recovery does not wait for SNS: it started before the publish failed.
    expect(t.recovery.started).toHaveLength(1);
    expect(t.logger.lines.find((l) => l.message === 'record failed: will be retried')?.attributes['error']).toMatch(/TimeoutError/);

    // Lambda retries from the failed record: same eventID, so the claim is still this record's.
    const retry = await t.handle(event(structuredClone(record), structuredClone(other)));
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(t.publisher.published).toHaveLength(1);
    // Started again under the same name: one execution (StartExecution is idempotent by name).
    expect(new Set(t.recovery.started.map((r) => r.name)).size).toBe(1);
  });

  it('an opening left behind by a record that failed for good is finished by a later detection once its claim is stale, not before', async () => {
    const t = setup();
    const first = streamRecord(reportItem(crashed()));
    t.publisher.failNext = 1;
    await t.handle(event(first)); // incident opened and claimed, never delivered
    const later = streamRecord(reportItem(crashed({ scheduledTime: '2026-01-02T06:31:00.000Z', completedAt: '2026-01-02T06:32:00.000Z' })));
    await t.handle(event(later));
    expect(t.publisher.published).toHaveLength(0); // live claim: leave it to its owner
    t.advance(ALERT_CLAIM_STALE_MS + 1);
    await t.handle(event(structuredClone(later)));
    expect(t.publisher.published).toHaveLength(1);
    expect(t.recovery.started).toHaveLength(1);
    expect(t.incidents.all()).toEqual([expect.objectContaining({ count: 2, notified: ['OPENED'] })]);
  });
});

describe('poison records', () => {
  it('one poison record in a batch of 3: only it goes to the sink, nothing is failed, the others are processed', async () => {
    const t = setup();
    const good1 = streamRecord(reportItem(crashed()));
    const poison = streamRecord({ ...reportItem(report({ workerName: 'clip_radar_worker', jobId: 'poll' })), status: 'EXPLODED' });
    const good2 = streamRecord(reportItem(report({ workerName: 'twitch_streams_worker', jobId: 'poll' })));

    const result = await t.handle(event(good1, poison, good2));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(t.sink.records).toHaveLength(1);
    const kept = t.sink.records[0];
    expect(kept).toMatchObject({ type: INVALID_RECORD_MESSAGE_TYPE, errorName: 'InvalidStreamRecordError', eventID: poison.eventID, sequenceNumber: poison.dynamodb?.SequenceNumber, eventName: 'INSERT' });
    expect(kept?.reason).toMatch(/malformed REPORT item: status/);
    expect(kept?.keys).toEqual(poison.dynamodb?.Keys);
    expect(kept?.record).toEqual(poison); // the whole record: nothing lost
    expect(t.publisher.published).toHaveLength(1);
    expect(t.windows.requested.map((r) => r[0])).toEqual([WORKER, 'twitch_streams_worker']);
    const logged = t.logger.lines.find((l) => l.level === 'error');
    expect(logged?.message).toBe('invalid stream record: sent to the dead-letter queue, not retried');
    expect(logged?.attributes).toMatchObject({ keys: poison.dynamodb?.Keys, invalidRecords: 1 });
    expect(logged?.keys).toMatchObject({ eventID: poison.eventID });
  });

  it.each<[string, () => unknown]>([
    ['not a stream record at all', () => ({ hello: 'world', dynamodb: { SequenceNumber: '42' } })],
    ['a REPORT insert without a NewImage', () => {
      const r = streamRecord(reportItem(report()));
      delete r.dynamodb?.NewImage;
      return r;
    }],
    ['a number DynamoDB can hold but JavaScript cannot', () => {
      const r = streamRecord(reportItem(report()));
      (r.dynamodb?.NewImage as Record<string, AttributeValue>)['durationMs'] = { N: '123456789012345678901234567890' };
      return r;
    }],
    ['pk of another worker', () => streamRecord({ ...reportItem(report()), pk: workerPk('twitch_worker') })],
    ['an unparseable completion time', () => streamRecord(reportItem(report({ completedAt: 'soon' })))],
  ])('%s: sunk, not failed', async (_name, make) => {
    const t = setup();
    const poison = make();
    const good = streamRecord(reportItem(report()));
    expect(await t.handle(event(poison, good))).toEqual({ batchItemFailures: [] });
    expect(t.sink.records).toHaveLength(1);
    expect(t.windows.requested).toHaveLength(1);
  });

  it('when the sink itself fails, only the poison record is failed (and retried)', async () => {
    const t = setup();
    const poison = streamRecord({ ...reportItem(report()), entity: 'WINDOW' });
    const good = streamRecord(reportItem(report({ workerName: 'twitch_streams_worker', jobId: 'poll' })));
    t.sink.failNext = 1;
    expect(await t.handle(event(good, poison))).toEqual({ batchItemFailures: [{ itemIdentifier: poison.dynamodb?.SequenceNumber }] });
    expect(await t.handle(event(structuredClone(poison)))).toEqual({ batchItemFailures: [] });
    expect(t.sink.records).toHaveLength(1);
  });

  it('a transient read error (throttling) fails only its record', async () => {
    const t = setup();
    const records = [streamRecord(reportItem(report())), streamRecord(reportItem(crashed())), streamRecord(reportItem(report({ workerName: 'clip_radar_worker', jobId: 'poll' })))];
    t.windows.failCalls.add(2);
    expect(await t.handle(event(...records))).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] });
    expect(t.windows.requested.map((r) => r[0])).toEqual([WORKER, 'clip_radar_worker']);
    expect(t.sink.records).toHaveLength(0);
    expect(t.publisher.published).toHaveLength(0);
  });

  it('an event that is not a stream batch fails the invocation', async () => {
    const t = setup();
    await expect(t.handle({ hello: 'world' })).rejects.toThrow(/expects a DynamoDB stream event/);
  });

  it('keeps oversized records by their keys', () => {
    const t = streamRecord(reportItem(report({ recommendations: ['x'.repeat(300_000)] })));
    const body = JSON.parse(invalidRecordBody({ version: 1, type: INVALID_RECORD_MESSAGE_TYPE, reason: 'r', errorName: 'E', detectedAt: COMPLETED, eventID: t.eventID ?? null, sequenceNumber: null, eventName: 'INSERT', eventSourceARN: null, keys: t.dynamodb?.Keys, record: t })) as Record<string, unknown>;
    expect(body['recordOmitted']).toBe(true);
    expect(body['record']).toBeUndefined();
    expect(body['keys']).toEqual(t.dynamodb?.Keys);
  });
});

describe('steady state and the request budget', () => {
  it('a SUCCEEDED report in a healthy hour: 1 read, 0 writes, nothing published or started', async () => {
    const t = setup();
    t.windows.buckets.set(`${WORKER}#2026-01-02T06`, bucketOf(times(12, {})));
    t.windows.buckets.set(`${WORKER}#2026-01-02T05`, bucketOf(times(24, {})));
    expect(await t.handle(event(streamRecord(reportItem(report()))))).toEqual({ batchItemFailures: [] });
    expect(t.windows.reads).toBe(1);
    expect(t.alerts.writes).toBe(0);
    expect(t.publisher.published).toEqual([]);
    expect(t.recovery.started).toEqual([]);
    expect(t.logger.lines.at(-1)).toMatchObject({ message: 'anomaly batch done', attributes: { records: 1, reports: 1, findings: 0, alerts: 0 } });
  });

  it('LOW findings are logged only: no claim, no publish, no recovery', async () => {
    const t = setup();
    const locked = report({ status: 'SKIPPED', skipReason: 'LOCK_HELD', success: false, attempts: 0, durationMs: 0, scores: null, anomalies: ['SKIP_DUE_TO_LOCK'], metrics: { skip_detail: 'lock held' } });
    await t.handle(event(streamRecord(reportItem(locked))));
    expect(t.alerts.writes).toBe(0);
    expect(t.publisher.published).toEqual([]);
    expect(t.logger.lines.find((l) => l.message === 'anomaly (log only)')?.attributes).toMatchObject({ anomaly: 'SKIP_DUE_TO_LOCK', severity: 'LOW' });
  });

  it('a window finding (HIGH_FAILURE_RATE) opens one incident on the worker and opens the circuit', async () => {
    const t = setup();
    t.windows.buckets.set(`${WORKER}#2026-01-02T06`, bucketOf([...times(8, {}), ...times(2, { status: 'FAILED' as const })]));
    const failed = report({ status: 'FAILED', success: false, error: { name: 'UpstreamRejectedError', cause: '403' }, scores: null });
    await t.handle(event(streamRecord(reportItem(failed)), streamRecord(reportItem(failed))));
    expect(t.publisher.published.map((m) => m.json.alert.anomaly)).toEqual(['HIGH_FAILURE_RATE']);
    expect(t.publisher.published[0]?.json.alert.incident?.id).toBe('youtube_worker~-~HIGH_FAILURE_RATE~1');
    expect(t.recovery.started.map((r) => r.input.actions)).toEqual([['OPEN_CIRCUIT', 'REDUCE_RATE']]);
    // First report: read + claim + mark; second (the same report again): the read only.
    expect(t.windows.reads + t.alerts.writes).toBe(4);
  });

  it('ignores records the filter should have kept away, without reading anything', async () => {
    const t = setup();
    const modify = streamRecord(reportItem(report()), 'MODIFY');
    const state = streamRecord({ pk: workerPk(WORKER), sk: 'STATE', lockFence: 3 });
    expect(await t.handle(event(modify, state))).toEqual({ batchItemFailures: [] });
    expect(t.windows.reads).toBe(0);
    expect(t.sink.records).toEqual([]);
  });

  it('a worker the registry does not know is evaluated without a budget, with a warning', async () => {
    const t = setup();
    await t.handle(event(streamRecord(reportItem(crashed({ workerName: 'retired_worker' })))));
    expect(t.publisher.published).toHaveLength(1);
    expect(t.logger.lines.some((l) => l.message.startsWith('worker or job not in the registry'))).toBe(true);
  });
});

describe('health sweep findings (HEALTH items)', () => {
  const RAISED = '2026-01-02T06:40:00.000Z';
  const missedRun: HealthFinding = {
    kind: 'MISSED_RUN',
    anomaly: 'WORKER_CRASH',
    severity: 'CRITICAL',
    worker: WORKER,
    job: 'trending',
    detail: 'youtube_worker.trending: no run for the 2026-01-02T06:30:00.000Z slot (last claimed 2026-01-02T06:00:00.000Z)',
    observed: '2026-01-02T06:00:00.000Z',
    threshold: '2026-01-02T06:30:00.000Z',
    window: '2026-01-02T06:30:00.000Z',
    scheduledTime: '2026-01-02T06:30:00.000Z',
  };
  const queueOverflow: HealthFinding = { kind: 'QUEUE_OVERFLOW', anomaly: 'QUEUE_OVERFLOW', severity: 'CRITICAL', worker: 'generation_worker', job: null, detail: 'generation_worker queue holds 1500 jobs', observed: 1500, threshold: 1000, window: '2026-01-02T06:30:00.000Z' };

  /** The exact item the sweep's DynamoHealthFindingStore puts. */
  async function sweepItem(finding: HealthFinding, raisedAt = RAISED): Promise<Record<string, unknown>> {
    const puts: Record<string, unknown>[] = [];
    const client = { send: async (command: { input: { Item: Record<string, unknown> } }) => (puts.push(command.input.Item), {}) };
    await new DynamoHealthFindingStore(client as never, 'orchestrator').putOnce({ finding, raisedAt, expiresAt: 1_770_000_000 });
    const [item] = puts;
    if (item === undefined) throw new Error('no item put');
    return item;
  }

  it('a MISSED_RUN finding: one WORKER_CRASH alert with no report, one recovery, no WINDOW read', async () => {
    const t = setup();
    const record = streamRecord(await sweepItem(missedRun));
    expect(await t.handle(event(record))).toEqual({ batchItemFailures: [] });

    expect(t.windows.reads).toBe(0);
    expect(t.publisher.published).toHaveLength(1);
    const alert = t.publisher.published[0]?.json.alert;
    expect(alert).toMatchObject({ worker: WORKER, anomaly: 'WORKER_CRASH', severity: 'CRITICAL', detail: missedRun.detail, observed: missedRun.observed, threshold: missedRun.threshold, scoreCard: null, executionId: null, consoleUrl: null, raisedAt: RAISED });
    expect(alert?.incident).toMatchObject({ id: 'youtube_worker~trending~WORKER_CRASH~1', transition: 'OPENED' });
    // It offers the backfill of the slot it missed (trending runs every 30 min; last claimed 06:00): in the payload and the text.
    const offer = { from: '2026-01-02T06:30:00.000Z', to: '2026-01-02T06:30:00.001Z' };
    expect(alert?.backfill).toEqual({ worker: WORKER, job: 'trending', ...offer, slots: 1, request: { method: 'POST', path: '/workers/youtube_worker/jobs/trending/backfill', body: offer } });
    expect(JSON.parse(t.publisher.published[0]?.body ?? '{}')).toMatchObject({ alert: { backfill: { slots: 1, request: { path: '/workers/youtube_worker/jobs/trending/backfill' } } } });
    expect(t.publisher.published[0]?.text).toContain(`Backfill:       1 slot(s) of youtube_worker.trending from ${offer.from} to ${offer.to}: POST /workers/youtube_worker/jobs/trending/backfill {"from":"${offer.from}","to":"${offer.to}"}`);
    expect(t.incidents.all()).toEqual([expect.objectContaining({ sources: ['health'] })]);
    expect(t.recovery.started).toEqual([
      { name: alert?.id, input: { alertId: alert?.id, worker: WORKER, job: 'trending', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', actions: ['RESTART_WORKER', 'PAGE_ONCALL'], scheduledTime: '2026-01-02T06:30:00.000Z' } },
    ]);
    expect(RecoveryInput.safeParse(t.recovery.started[0]?.input).success).toBe(true);
    expect(t.alerts.items.get(alert?.id ?? '')?.state).toBe('DELIVERED');
    expect(t.alerts.writes).toBe(2);
    expect(t.logger.lines.find((l) => l.message === 'incident notification published')).toMatchObject({ keys: { worker: WORKER, job: 'trending', healthKind: 'MISSED_RUN' }, attributes: { source: 'health' } });
    expect(t.logger.lines.at(-1)).toMatchObject({ message: 'anomaly batch done', attributes: { records: 1, reports: 0, health: 1, findings: 1, alerts: 1, recoveries: 1 } });
  });

  it('a QUEUE_OVERFLOW finding (no job): one CRITICAL alert, one recovery on the worker\'s job', async () => {
    const t = setup();
    await t.handle(event(streamRecord(await sweepItem(queueOverflow))));
    expect(t.publisher.published.map((m) => m.json.alert)).toEqual([expect.objectContaining({ worker: 'generation_worker', anomaly: 'QUEUE_OVERFLOW', severity: 'CRITICAL', observed: 1500, threshold: 1000, scoreCard: null })]);
    // Not a missed run: no backfill offered.
    expect(t.publisher.published[0]?.json.alert.backfill).toBeUndefined();
    expect(t.publisher.published[0]?.text).not.toContain('Backfill:');
    expect(t.recovery.started).toHaveLength(1);
    expect(t.recovery.started[0]?.input).toMatchObject({ worker: 'generation_worker', job: 'generate', anomaly: 'QUEUE_OVERFLOW', actions: ['SCALE_CONSUMERS', 'PAUSE_NEW_JOBS'], scheduledTime: null });
    expect(RecoveryInput.safeParse(t.recovery.started[0]?.input).success).toBe(true);
  });

  it('the same item delivered twice (two invocations, or twice in one batch): one alert, one recovery', async () => {
    const t = setup();
    const record = streamRecord(await sweepItem(queueOverflow));
    await t.handle(event(record));
    t.advance(60_000);
    expect(await t.handle(event(structuredClone(record), structuredClone(record)))).toEqual({ batchItemFailures: [] });
    expect(t.publisher.published).toHaveLength(1);
    expect(t.recovery.started).toHaveLength(1);
    expect(t.logger.lines.filter((l) => l.message === 'detection already counted: nothing to do')).toHaveLength(2);
  });

  it('a CLEARED item (the sweep no longer finds the condition) resolves its incident, once', async () => {
    const t = setup();
    await t.handle(event(streamRecord(await sweepItem(queueOverflow))));
    const cleared = clearedFinding({ worker: 'generation_worker', job: null, anomaly: 'QUEUE_OVERFLOW' }, Date.parse('2026-01-02T07:00:00.000Z'));
    const record = streamRecord(await sweepItem(cleared, '2026-01-02T07:00:00.000Z'));
    await t.handle(event(record, structuredClone(record)));
    expect(t.publisher.published.map((m) => m.json.alert.incident?.transition)).toEqual(['OPENED', 'RESOLVED']);
    expect(t.publisher.published[1]?.subject).toMatch(/RESOLVED\] QUEUE_OVERFLOW on generation_worker\.- after 20 min: /);
    expect(t.publisher.published[1]?.text).toMatch(/Healed by: +the health sweep no longer finds QUEUE_OVERFLOW on generation_worker; recovery tried: SCALE_CONSUMERS\+PAUSE_NEW_JOBS/);
    expect(t.incidents.all()).toEqual([expect.objectContaining({ state: 'RESOLVED', notified: ['OPENED', 'RESOLVED'] })]);
  });

  it('a STUCK_EXECUTION finding links its execution; with the CRASHED report of the same run it is one alert', async () => {
    const t = setup();
    const stuck: HealthFinding = { ...missedRun, kind: 'STUCK_EXECUTION', detail: `${EXECUTION} RUNNING for 900 s, past its 300 s timeout`, observed: 900, threshold: 300, window: '2026-01-02T06:29:01.000Z', executionArn: EXECUTION };
    await t.handle(event(streamRecord(await sweepItem(stuck, COMPLETED)), streamRecord(reportItem(crashed()))));
    expect(t.publisher.published).toHaveLength(1);
    expect(t.publisher.published[0]?.json.alert).toMatchObject({ executionId: EXECUTION, consoleUrl: expect.stringContaining('/v2/executions/details/') });
    expect(t.recovery.started).toHaveLength(1);
  });

  it('an anomaly code this version does not know is skipped with a warning; a malformed item is poison; a MODIFY is ignored', async () => {
    const t = setup();
    const unknown = streamRecord({ ...(await sweepItem(queueOverflow)), anomaly: 'QUANTUM_FLUX' });
    const malformed = streamRecord({ ...(await sweepItem(queueOverflow)), sk: 'HEALTH#QUEUE_OVERFLOW#-#not-the-window' });
    const modify = streamRecord(await sweepItem(missedRun), 'MODIFY');
    expect(await t.handle(event(unknown, malformed, modify))).toEqual({ batchItemFailures: [] });
    expect(t.publisher.published).toEqual([]);
    expect(t.recovery.started).toEqual([]);
    expect(t.logger.lines.some((l) => l.level === 'warn' && l.message.startsWith('health finding names an anomaly code'))).toBe(true);
    expect(t.sink.records).toHaveLength(1);
    expect(t.sink.records[0]).toMatchObject({ errorName: 'InvalidStreamRecordError', reason: expect.stringMatching(/malformed HEALTH item: sk/) });
  });
});

describe('adapters and module scope', () => {
  it('SNS attributes: strings as String, arrays as String.Array', () => {
    expect(snsMessageAttributes({ type: 'aurastream.alert-digest', severity: 'HIGH', worker: ['a', 'b'], anomaly: ['X'] })).toEqual({
      type: { DataType: 'String', StringValue: 'aurastream.alert-digest' },
      severity: { DataType: 'String', StringValue: 'HIGH' },
      worker: { DataType: 'String.Array', StringValue: '["a","b"]' },
      anomaly: { DataType: 'String.Array', StringValue: '["X"]' },
    });
  });

  it('exports a handler built from the environment', () => {
    expect(typeof handler).toBe('function');
  });
});

function times<T>(n: number, value: T): T[] {
  return Array.from({ length: n }, () => value);
}
