/**
 * All 17 anomaly rules end to end through the anomaly Lambda (makeHandler, fake ports): for each
 * code a realistic stream record, built the way production builds it:
 *  - a REPORT item from the protocol's Record step (lib/domain/record.ts planRecord, stored as
 *    DynamoStateStore.putReportOnce stores it);
 *  - a HEALTH item from the health sweep (lib/domain/health-sweep.ts levelFindings, stored by
 *    DynamoHealthFindingStore);
 *  - or an ordinary report read against WINDOW buckets built with windowDelta (the window rules).
 * Asserted per code: the finding's severity; LOW codes are logged only (nothing published, no
 * recovery); every other code publishes exactly one message whose `severity` message attribute (what
 * the topic's filter policies route on) is the rule's, and starts the RECOVERY_TABLE recovery when
 * the code has a row, none otherwise. CASES is keyed by AnomalyCode, and a test compares its keys
 * with ANOMALY_CODES: a missing (or extra) code fails.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler, type AnomalyLogger } from '../../lambdas/anomaly/detector.js';
import type { InvalidRecordSink } from '../../lambdas/anomaly/invalid-records.js';
import { snsMessageAttributes } from '../../lambdas/adapters/sns-alert-publisher.js';
import type { ItemOutcome, PipelineState, WorkerResult } from '../../lambdas/shared/contracts.js';
import { DynamoHealthFindingStore } from '../../lambdas/sweep/adapters.js';
import { EMAIL_SEVERITIES } from '../../lib/constructs/alert-topics.js';
import type { AlertEnvelope, RenderedMessage } from '../../lib/domain/alerting.js';
import { claimWins, type AlertClaim, type AlertPublisher, type AlertStore, type RecoveryRequest, type RecoveryStarter, type StoredAlertClaim } from '../../lib/domain/anomaly-evaluation.js';
import { ANOMALY_CODES, RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { levelFindings, type HealthFinding, type HealthKind, type SweepFacts } from '../../lib/domain/health-sweep.js';
import type { StateStore } from '../../lib/domain/ports.js';
import { planRecord, reportExpiresAt } from '../../lib/domain/record.js';
import { RECOVERY_TABLE } from '../../lib/domain/recovery.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { addToBucket, bucketKey, EMPTY_BUCKET, windowDelta, type WindowBucket, type WindowDeltaInput } from '../../lib/domain/window-stats.js';
import { freshAtAttrOf, parseWorkerState, workerPk } from '../../lib/domain/worker-state.js';
import { jobOf, workerById, type WorkerId } from '../../lib/registry/index.js';
import { InMemoryIncidentStore } from '../support/in-memory-incident-store.js';

const REGION = 'eu-west-1';
const NOW = Date.parse('2026-01-02T06:40:00.000Z');
const MIN = 60_000;

// ---------------------------------------------------------------------------------------------
// Records as production writes them

/** A worker's result (lambdas/shared/contracts.ts WorkerResult) for a healthy run, with overrides. */
const work = (overrides: Partial<WorkerResult> = {}): WorkerResult => ({
  status: 'SUCCEEDED',
  durationMs: 40_000,
  attempts: 1,
  itemsOk: 12,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 12,
  recordsInvalid: 0,
  validationWarnings: [],
  peakMemoryMb: 180,
  memoryLimitMb: 512,
  metrics: { categories_fetched: 12 },
  health: {},
  stoppedEarly: false,
  ...overrides,
});

interface RunSpec {
  readonly worker: WorkerId;
  readonly job: string;
  /** What the Record step sees after the gate (and the work, or a caught failure). */
  readonly state: Omit<PipelineState, 'worker' | 'job' | 'scheduledTime' | 'trigger'>;
  /** Wall time of the execution, ms (fan-outs and failures are timed by it). */
  readonly elapsedMs?: number;
}

/** The REPORT item the protocol's Record step writes for the run (planRecord, stored as putReportOnce stores it). */
function reportItem(run: RunSpec): { item: Record<string, unknown>; report: WorkerScoreReport } {
  const worker = workerById(run.worker);
  const job = jobOf(run.worker, run.job);
  const scheduledTime = new Date(NOW - 10 * MIN).toISOString();
  const executionId = `arn:aws:states:${REGION}:123456789012:execution:aurastream-${run.worker}-${run.job}:sched-${scheduledTime.replace(/[:.]/g, '-')}`;
  const state: PipelineState = { worker: run.worker, job: run.job, scheduledTime, trigger: 'schedule', ...run.state };
  const plan = planRecord({ worker, job, state, executionId, startedAtMs: NOW - (run.elapsedMs ?? 45_000), nowMs: NOW, current: undefined });
  if (plan.kind !== 'report') throw new Error(`planRecord planned nothing: ${plan.reason}`);
  const { report } = plan;
  return { item: { pk: workerPk(report.workerName), sk: plan.reportSk, entity: 'REPORT', ...report, expiresAt: reportExpiresAt(NOW, 30) }, report };
}

const runGate = { decision: 'RUN' as const, fence: 0, owner: 'x', probe: false, scheduledTime: new Date(NOW - 10 * MIN).toISOString() };
const skipGate = (skipReason: 'LOCK_HELD' | 'FRESH_DATA' | 'DEPENDENCY_FAILED', detail: string) => ({ decision: 'SKIP' as const, skipReason, detail, scheduledTime: new Date(NOW - 10 * MIN).toISOString() });
const ran = (worker: WorkerId, job: string, result: Partial<WorkerResult> = {}): RunSpec => ({ worker, job, state: { gate: runGate, work: work(result) } });

/** The HEALTH item the sweep writes for a finding of `kind` (levelFindings over the facts, stored by DynamoHealthFindingStore). */
async function healthItem(kind: HealthKind, facts: Omit<SweepFacts, 'nowMs' | 'states' | 'latestReports' | 'queueDepths' | 'running'> & Partial<SweepFacts>): Promise<Record<string, unknown>> {
  const found = levelFindings({ nowMs: NOW, states: {}, latestReports: {}, queueDepths: {}, running: [], ...facts }).filter((f: HealthFinding) => f.kind === kind);
  expect(found).toHaveLength(1);
  const items: Record<string, unknown>[] = [];
  const client = { send: async (command: { input: { Item: Record<string, unknown> } }) => void items.push(command.input.Item) };
  await new DynamoHealthFindingStore(client as never, 'orchestrator').putOnce({ finding: found[0] as HealthFinding, raisedAt: new Date(NOW).toISOString(), expiresAt: Math.floor(NOW / 1000) + 7 * 86_400 });
  return items[0] as Record<string, unknown>;
}

/** Buckets from runs, as the Record step's ADD of windowDelta builds them. */
const bucketOf = (runs: readonly Partial<WindowDeltaInput>[]): WindowBucket =>
  runs.reduce<WindowBucket>((b, r) => addToBucket(b, windowDelta({ status: 'SUCCEEDED', skipReason: null, attempts: 1, durationMs: 40_000, ...r })), EMPTY_BUCKET);
const times = <T,>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

let sequence = 5_000_000_000_000_000_000n;
function streamRecord(item: Record<string, unknown>): DynamoDBRecord {
  sequence += 1n;
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  return {
    eventID: `ev${sequence.toString(16)}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    eventSourceARN: `arn:aws:dynamodb:${REGION}:123456789012:table/orchestrator/stream/2026-01-01T00:00:00.000`,
    dynamodb: { ApproximateCreationDateTime: Math.floor(NOW / 1000), Keys: { pk: image['pk'] as AttributeValue, sk: image['sk'] as AttributeValue }, NewImage: image, SequenceNumber: sequence.toString(), SizeBytes: 900, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

// ---------------------------------------------------------------------------------------------
// One realistic record per code

interface Case {
  /** Where the record comes from (for the test title). */
  readonly source: 'report' | 'health' | 'window';
  readonly record: () => Promise<{ item: Record<string, unknown>; worker: string; buckets?: WindowBucket }>;
}
const fromReport = (run: RunSpec): Case['record'] => async () => ({ item: reportItem(run).item, worker: run.worker });
const fromWindow = (worker: WorkerId, job: string, buckets: WindowBucket): Case['record'] => async () => ({ item: reportItem(ran(worker, job)).item, worker, buckets });

const CASES: Readonly<Record<AnomalyCode, Case>> = {
  // CRITICAL
  WORKER_CRASH: { source: 'report', record: fromReport({ worker: 'youtube_worker', job: 'trending', state: { gate: runGate, failure: { Error: 'States.Timeout', Cause: 'the work step timed out' } }, elapsedMs: 300_000 }) },
  QUEUE_OVERFLOW: { source: 'health', record: async () => ({ item: await healthItem('QUEUE_OVERFLOW', { workers: [workerById('generation_worker')], queueDepths: { generation_worker: 1_500 } }), worker: 'generation_worker' }) },
  DATA_CORRUPTION: { source: 'report', record: fromReport(ran('youtube_worker', 'trending', { recordsValid: 10, recordsInvalid: 2 })) },
  DEPENDENCY_FAILURE: {
    source: 'report',
    record: fromReport({ worker: 'intel_aggregation_worker', job: 'hourly', state: { gate: skipGate('DEPENDENCY_FAILED', 'creator_intel_worker failed its last run') } }),
  },
  RESOURCE_EXHAUSTION: {
    source: 'health',
    record: async () => ({ item: await healthItem('RESOURCE_EXHAUSTION', { workers: [workerById('youtube_worker')], memoryPercent: { youtube_worker: 96 } }), worker: 'youtube_worker' }),
  },
  // HIGH
  HIGH_FAILURE_RATE: { source: 'window', record: fromWindow('clip_radar_worker', 'poll', bucketOf([...times(8, {}), ...times(2, { status: 'FAILED' as const })])) },
  // youtube trending: expected 60 s, timeout 300 s; 150 s is slow (> 120 s) but not near the timeout (240 s).
  SLOW_EXECUTION: { source: 'report', record: fromReport(ran('youtube_worker', 'trending', { durationMs: 150_000 })) },
  STALE_DATA: {
    source: 'health',
    record: async () => ({
      // creator_intel_worker needs youtube_worker games data; games refreshes every 4 h: five hours old is overdue.
      item: await healthItem('STALE_DATA', { workers: [workerById('creator_intel_worker')], states: { youtube_worker: parseWorkerState({ [freshAtAttrOf('games')]: NOW - 300 * MIN }) } }),
      worker: 'creator_intel_worker',
    }),
  },
  API_QUOTA_LOW: { source: 'report', record: fromReport(ran('youtube_worker', 'trending', { health: { quotaRemainingPercent: 12 } })) },
  LOCK_CONTENTION: { source: 'window', record: fromWindow('twitch_streams_worker', 'poll', bucketOf([...times(6, {}), ...times(4, { status: 'SKIPPED' as const, skipReason: 'LOCK_HELD' as const, attempts: 0, durationMs: 0 })])) },
  // MEDIUM
  ELEVATED_RETRIES: { source: 'window', record: fromWindow('analytics_flush_worker', 'flush', bucketOf([...times(18, {}), ...times(2, { attempts: 2 })])) },
  PARTIAL_SUCCESS: {
    source: 'report',
    record: fromReport({
      worker: 'creator_intel_worker',
      job: 'analyze',
      state: { gate: runGate, items: [...times<ItemOutcome>(3, { ok: true, result: work({ itemsOk: 1, recordsValid: 1 }) }), { ok: false, error: { Error: 'UpstreamError', Cause: 'HTTP 503' } }] },
      elapsedMs: 600_000,
    }),
  },
  CACHE_MISS: { source: 'report', record: fromReport(ran('youtube_worker', 'trending', { health: { cacheMiss: true } })) },
  // creator_intel analyze: expected 900 s, timeout 1800 s; 1500 s is past 80 % of the timeout but not twice the expected.
  TIMEOUT_WARNING: {
    source: 'report',
    record: fromReport({ worker: 'creator_intel_worker', job: 'analyze', state: { gate: runGate, items: times<ItemOutcome>(4, { ok: true, result: work({ itemsOk: 1, recordsValid: 1 }) }) }, elapsedMs: 1_500_000 }),
  },
  // LOW: log only
  SKIP_DUE_TO_LOCK: { source: 'report', record: fromReport({ worker: 'youtube_worker', job: 'trending', state: { gate: skipGate('LOCK_HELD', 'another execution holds the trending lock') } }) },
  SKIP_DUE_TO_FRESHNESS: { source: 'report', record: fromReport({ worker: 'youtube_worker', job: 'games', state: { gate: skipGate('FRESH_DATA', 'games data is 20 min old') } }) },
  MINOR_VALIDATION_ISSUE: { source: 'report', record: fromReport(ran('youtube_worker', 'trending', { validationWarnings: ['2 categories without a thumbnail'] })) },
};

// ---------------------------------------------------------------------------------------------
// Fakes

class Windows implements Pick<StateStore, 'readWindowBuckets'> {
  constructor(private readonly current: WindowBucket = EMPTY_BUCKET) {}
  readonly requested: string[][] = [];
  async readWindowBuckets(workerId: string, keys: readonly string[]): Promise<WindowBucket[]> {
    this.requested.push([workerId, ...keys]);
    return keys.map((k) => (k === bucketKey(NOW) ? this.current : EMPTY_BUCKET));
  }
}
class Alerts implements AlertStore {
  readonly items = new Map<string, StoredAlertClaim>();
  async claim(alert: { id: string }, claim: AlertClaim): Promise<boolean> {
    if (!claimWins(this.items.get(alert.id), claim)) return false;
    this.items.set(alert.id, { state: 'CLAIMED', claimToken: claim.token, claimedAtMs: claim.nowMs });
    return true;
  }
  async markDelivered(alert: { id: string }, claim: AlertClaim): Promise<boolean> {
    const item = this.items.get(alert.id);
    if (item?.claimToken !== claim.token) return false;
    this.items.set(alert.id, { ...item, state: 'DELIVERED' });
    return true;
  }
}
class Publisher implements AlertPublisher {
  readonly published: RenderedMessage<AlertEnvelope>[] = [];
  async publish(message: RenderedMessage<AlertEnvelope>): Promise<void> {
    this.published.push(message);
  }
}
class Recovery implements RecoveryStarter {
  readonly started: RecoveryRequest[] = [];
  async start(request: RecoveryRequest): Promise<void> {
    this.started.push(request);
  }
}
class Logger implements AnomalyLogger {
  readonly lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  appendKeys(): void {}
  resetKeys(): void {}
  debug(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', message, attributes });
  }
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, attributes });
  }
}
const sink: InvalidRecordSink = {
  put: async () => {
    throw new Error('no record of this test is invalid');
  },
};

async function drive(c: Case) {
  const { item, worker, buckets } = await c.record();
  const fakes = { windows: new Windows(buckets), incidents: new InMemoryIncidentStore(), alerts: new Alerts(), publisher: new Publisher(), recovery: new Recovery(), logger: new Logger() };
  const handle = makeHandler({ ...fakes, invalidRecords: sink, clock: () => NOW + 1_500, region: REGION });
  const result = await handle({ Records: [streamRecord(item)] });
  const logOnly = fakes.logger.lines.filter((l) => l.message === 'anomaly (log only)');
  return { ...fakes, result, worker, logOnly };
}

// ---------------------------------------------------------------------------------------------

describe('the 17 anomaly rules end to end through the anomaly Lambda', () => {
  it('every anomaly code has a case, and only those', () => {
    expect(Object.keys(CASES).sort()).toEqual([...ANOMALY_CODES].sort());
    expect(ANOMALY_CODES).toHaveLength(17);
  });

  const nonLow = ANOMALY_CODES.filter((c) => RULE_BY_CODE[c].severity !== 'LOW');
  const low = ANOMALY_CODES.filter((c) => RULE_BY_CODE[c].severity === 'LOW');

  it.each(nonLow.map((code) => [code, RULE_BY_CODE[code].severity, CASES[code]?.source ?? 'missing'] as const))(
    '%s (%s, from a %s record): one message with the right severity attribute, and its recovery',
    async (code, severity) => {
      const c = CASES[code];
      if (c === undefined) throw new Error(`no case for ${code}`);
      const t = await drive(c);

      expect(t.result).toEqual({ batchItemFailures: [] });
      expect(t.logOnly).toEqual([]);
      // Exactly one message: the record raises this code and nothing else that alerts.
      expect(t.publisher.published.map((m) => m.json.alert.anomaly)).toEqual([code]);
      const message = t.publisher.published[0] as RenderedMessage<AlertEnvelope>;
      expect(message.json.alert).toMatchObject({ anomaly: code, severity, worker: t.worker });
      // What the topic's filter policies route on, as SNS receives it.
      expect(message.attributes.severity).toBe(severity);
      expect(snsMessageAttributes(message.attributes)['severity']).toEqual({ DataType: 'String', StringValue: severity });
      expect(EMAIL_SEVERITIES).toContain(severity);

      const plan = RECOVERY_TABLE[code];
      if (plan === undefined) {
        expect(t.recovery.started).toEqual([]);
      } else {
        expect(t.recovery.started).toHaveLength(1);
        expect(t.recovery.started[0]?.input).toMatchObject({ anomaly: code, severity, worker: t.worker, actions: plan.actions, alertId: message.json.alert.id });
        expect(t.recovery.started[0]?.name).toBe(message.json.alert.id);
      }
      expect([...t.alerts.items.values()].map((i) => i.state)).toEqual(['DELIVERED']);
    },
  );

  it.each(low.map((code) => [code, CASES[code]?.source ?? 'missing'] as const))('%s (LOW, from a %s record): logged only, nothing published, no recovery', async (code) => {
    const c = CASES[code];
    if (c === undefined) throw new Error(`no case for ${code}`);
    const t = await drive(c);

    expect(t.result).toEqual({ batchItemFailures: [] });
    expect(t.logOnly.map((l) => l.attributes)).toEqual([expect.objectContaining({ anomaly: code, severity: 'LOW' })]);
    expect(t.publisher.published).toEqual([]);
    expect(t.recovery.started).toEqual([]);
    expect(t.alerts.items.size).toBe(0);
  });

  it('the window codes are judged on the buckets the Lambda read, not on the report alone', async () => {
    for (const code of ['HIGH_FAILURE_RATE', 'LOCK_CONTENTION', 'ELEVATED_RETRIES'] as const) {
      const c = CASES[code];
      const t = await drive(c);
      expect(t.windows.requested).toEqual([[t.worker, bucketKey(NOW), bucketKey(NOW - 3_600_000)]]);
      // The same report over empty buckets raises nothing.
      const { item } = await c.record();
      const quiet = await drive({ source: 'report', record: async () => ({ item, worker: t.worker }) });
      expect(quiet.publisher.published).toEqual([]);
      expect(quiet.logOnly).toEqual([]);
    }
  });
});
