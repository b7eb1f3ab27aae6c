/**
 * Benchmark: the anomaly Lambda (lambdas/anomaly/detector.ts makeHandler) over 1,000 realistic
 * stream records against embedded DynamoDB (dynalite, local/embedded-dynamodb.ts) with the real
 * DynamoDB adapters (WINDOW reads, ALERT claims and marks). SNS, Step Functions and the dead-letter
 * queue are in-memory. Records go in batches of the event source's batch size.
 *
 * The records: REPORT items as the protocol's Record step writes them (lib/domain/record.ts
 * planRecord), one hour of 10 pipelines; about 95 % steady-state SUCCEEDED runs, the rest anomalies
 * (crashes, slow runs, partial runs, low quota, lock skips). The WINDOW buckets hold that hour's
 * runs, as the Record step's counters would at its end. Each run gets a fresh table, so its alerts
 * are new.
 *
 * Measured: records per second (wall time of the handler only; median of the runs) and DynamoDB
 * requests per report, counted on the handler's client by the record being processed (the
 * handler's logger is told each record's eventID), overall and for the steady-state reports.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { makeHandler, type AnomalyLogger } from '../lambdas/anomaly/detector.js';
import { DynamoIncidentStore } from '../lambdas/adapters/dynamo-incident-store.js';
import { DynamoAlertStore } from '../lambdas/adapters/dynamo-alert-store.js';
import { documentClient, DynamoStateStore } from '../lambdas/adapters/dynamo-state-store.js';
import type { PipelineState, WorkerResult } from '../lambdas/shared/contracts.js';
import { ANOMALY_DETECTOR_DEFAULTS } from '../lib/constructs/anomaly-detector.js';
import { planRecord, reportExpiresAt, windowExpiresAt } from '../lib/domain/record.js';
import type { WorkerScoreReport } from '../lib/domain/score-report.js';
import { addToBucket, bucketKey, EMPTY_BUCKET, windowDelta, type WindowBucket } from '../lib/domain/window-stats.js';
import { workerPk } from '../lib/domain/worker-state.js';
import { jobOf, workerById, type WorkerId } from '../lib/registry/index.js';
import { startEmbeddedDynamo } from '../local/embedded-dynamodb.js';
import { orchestratorTableProperties } from '../local/runtime.js';
import { LOCAL_REGION } from '../local/template-asl.js';
import { median } from './stats.js';

export interface AnomalyBench {
  readonly records: number;
  readonly runs: number;
  readonly batchSize: number;
  /** Records whose report has no anomaly. */
  readonly steadyRecords: number;
  readonly recordsPerSecond: number;
  readonly recordsPerSecondRuns: readonly number[];
  /** DynamoDB requests per report, all records. */
  readonly requestsPerReport: number;
  /** DynamoDB requests per steady-state report. */
  readonly steadyRequestsPerReport: number;
  /** Requests by command, one run. */
  readonly requestsByCommand: Readonly<Record<string, number>>;
  readonly published: number;
  readonly recoveries: number;
}

const HOUR_START = Date.parse('2026-03-02T06:00:00.000Z');
const PIPELINES: readonly [WorkerId, string][] = [
  ['youtube_worker', 'trending'],
  ['youtube_worker', 'games'],
  ['twitch_streams_worker', 'poll'],
  ['clip_radar_worker', 'poll'],
  ['intel_aggregation_worker', 'hourly'],
  ['analytics_flush_worker', 'flush'],
  ['coach_cleanup_worker', 'cleanup'],
  ['twitch_worker', 'asset'],
  ['generation_worker', 'generate'],
  ['playbook_worker', 'synthesize'],
];

const work = (overrides: Partial<WorkerResult> = {}): WorkerResult => ({
  status: 'SUCCEEDED',
  durationMs: 30_000,
  attempts: 1,
  itemsOk: 10,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 10,
  recordsInvalid: 0,
  validationWarnings: [],
  peakMemoryMb: 200,
  memoryLimitMb: 512,
  metrics: { items_fetched: 10 },
  health: {},
  stoppedEarly: false,
  ...overrides,
});

type Kind = 'steady' | 'crash' | 'slow' | 'partial' | 'quota' | 'lock-skip';

/**
 * Which records are anomalies (by index): about 5 % of them, spread over the pipelines (moduli prime
 * to 10) and the hour, so no pipeline's window crosses a window rule's threshold.
 */
function kindOf(i: number): Kind {
  if (i % 97 === 37) return 'crash';
  if (i % 89 === 61) return 'slow';
  if (i % 83 === 20) return 'partial';
  if (i % 199 === 11) return 'quota';
  if (i % 101 === 91) return 'lock-skip';
  return 'steady';
}

function stateFor(kind: Kind, scheduledTime: string, expectedMs: number): Omit<PipelineState, 'worker' | 'job' | 'scheduledTime' | 'trigger'> {
  const gate = { decision: 'RUN' as const, fence: 0, owner: 'x', probe: false, scheduledTime };
  switch (kind) {
    case 'crash':
      return { gate, failure: { Error: 'States.Timeout', Cause: 'the work step timed out' } };
    case 'slow':
      return { gate, work: work({ durationMs: 2.5 * expectedMs }) };
    case 'partial':
      return { gate, work: work({ status: 'PARTIAL', itemsOk: 8, itemsFailed: 2 }) };
    case 'quota':
      return { gate, work: work({ health: { quotaRemainingPercent: 12 } }) };
    case 'lock-skip':
      return { gate: { decision: 'SKIP', skipReason: 'LOCK_HELD', detail: 'another execution holds the lock', scheduledTime } };
    case 'steady':
      return { gate, work: work() };
  }
}

interface Generated {
  readonly report: WorkerScoreReport;
  readonly item: Record<string, unknown>;
  readonly kind: Kind;
}

/** The 1,000 REPORT items (planRecord), in completion order through one hour. */
export function generateReports(count: number): Generated[] {
  return Array.from({ length: count }, (_, i) => {
    const [workerId, jobId] = PIPELINES[i % PIPELINES.length] as [WorkerId, string];
    const kind = kindOf(i);
    const nowMs = HOUR_START + Math.floor(((i + 1) * 3_590_000) / count);
    const scheduledTime = new Date(nowMs - 60_000).toISOString();
    const state: PipelineState = { worker: workerId, job: jobId, scheduledTime, trigger: 'schedule', ...stateFor(kind, scheduledTime, jobOf(workerId, jobId).expectedDurationSeconds * 1000) };
    const plan = planRecord({
      worker: workerById(workerId),
      job: jobOf(workerId, jobId),
      state,
      executionId: `arn:aws:states:${LOCAL_REGION}:000000000000:execution:aurastream-${workerId}-${jobId}:run-${i}`,
      startedAtMs: nowMs - (kind === 'crash' ? 300_000 : 31_000),
      nowMs,
      current: undefined,
    });
    if (plan.kind !== 'report') throw new Error(`record ${i}: planRecord planned nothing`);
    const { report } = plan;
    if ((kind === 'steady') !== (report.anomalies.length === 0)) throw new Error(`record ${i} (${kind}): anomalies ${report.anomalies.join(',') || 'none'}`);
    return { report, kind, item: { pk: workerPk(report.workerName), sk: plan.reportSk, entity: 'REPORT', ...report, expiresAt: reportExpiresAt(nowMs, 30) } };
  });
}

function streamRecord(item: Record<string, unknown>, i: number): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  return {
    eventID: `ev-${i}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: LOCAL_REGION,
    dynamodb: { ApproximateCreationDateTime: Math.floor(Date.parse(String(item['completedAt'])) / 1000), Keys: { pk: image['pk'] as AttributeValue, sk: image['sk'] as AttributeValue }, NewImage: image, SequenceNumber: String(1_000_000 + i), SizeBytes: 1000, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

export async function benchAnomaly(options: { records?: number; runs?: number; batchSize?: number } = {}): Promise<AnomalyBench> {
  const count = options.records ?? 1000;
  const runs = options.runs ?? 5;
  const batchSize = options.batchSize ?? ANOMALY_DETECTOR_DEFAULTS.batchSize;
  const generated = generateReports(count);
  const records = generated.map((g, i) => streamRecord(g.item, i));
  const steady = new Set(generated.flatMap((g, i) => (g.kind === 'steady' ? [`ev-${i}`] : [])));

  // The hour's WINDOW buckets, as the Record steps would have left them.
  const buckets = new Map<string, WindowBucket>();
  for (const { report } of generated) buckets.set(report.workerName, addToBucket(buckets.get(report.workerName) ?? EMPTY_BUCKET, windowDelta(report)));

  const props = orchestratorTableProperties();
  const db = await startEmbeddedDynamo({ clock: () => HOUR_START });
  const client = new DynamoDBClient({ endpoint: db.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  let current = '';
  const byRecord = new Map<string, number>();
  const byCommand = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      byRecord.set(current, (byRecord.get(current) ?? 0) + 1);
      const name = String(context.commandName).replace(/Command$/, '');
      byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const doc = documentClient(client);
  const setupDoc = documentClient(db.rawClient);
  const logger: AnomalyLogger = {
    appendKeys: (keys) => {
      if (keys['eventID'] !== undefined) current = keys['eventID'];
    },
    resetKeys: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };

  const rates: number[] = [];
  let published = 0;
  let recoveries = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const tableName = `AnomalyBench${run}`;
      await db.createTableFromTemplate(props, tableName);
      const setup = new DynamoStateStore(setupDoc, tableName);
      for (const [worker, bucket] of buckets) await setup.addWindowCounters(worker, bucketKey(HOUR_START), bucket, windowExpiresAt(HOUR_START));
      byRecord.clear();
      byCommand.clear();
      let pub = 0;
      let rec = 0;
      const handle = makeHandler({
        windows: new DynamoStateStore(doc, tableName),
        incidents: new DynamoIncidentStore(doc, tableName),
        alerts: new DynamoAlertStore(doc, tableName),
        publisher: { publish: async () => void pub++ },
        recovery: { start: async () => void rec++ },
        invalidRecords: {
          put: async () => {
            throw new Error('unexpected invalid record');
          },
        },
        logger,
        clock: () => HOUR_START + 3_600_000,
        region: 'eu-west-1',
      });
      const t0 = performance.now();
      for (let i = 0; i < records.length; i += batchSize) {
        const out = await handle({ Records: records.slice(i, i + batchSize) });
        if (out.batchItemFailures.length > 0) throw new Error(`run ${run}: ${out.batchItemFailures.length} record(s) failed`);
      }
      rates.push((records.length * 1000) / (performance.now() - t0));
      published = pub;
      recoveries = rec;
    }
  } finally {
    client.destroy();
    await db.close();
  }
  const total = [...byRecord.values()].reduce((a, b) => a + b, 0);
  const steadyTotal = [...byRecord.entries()].filter(([id]) => steady.has(id)).reduce((a, [, n]) => a + n, 0);
  return {
    records: count,
    runs,
    batchSize,
    steadyRecords: steady.size,
    recordsPerSecond: median(rates),
    recordsPerSecondRuns: rates,
    requestsPerReport: total / count,
    steadyRequestsPerReport: steadyTotal / steady.size,
    requestsByCommand: Object.fromEntries(byCommand),
    published,
    recoveries,
  };
}
