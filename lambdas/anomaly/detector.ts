/**
 * The anomaly Lambda's logic: a DynamoDB stream batch handler (REPORT and HEALTH inserts of the
 * orchestrator table) with partial batch responses.
 *
 * Per REPORT record:
 *   1. parse the record and its NewImage into a WorkerScoreReport (zod);
 *   2. read the worker's current and previous hour WINDOW buckets: one BatchGetItem;
 *   3. evaluate (lib/domain/anomaly-evaluation.ts); LOW findings are logged only;
 *   4. per other finding: build the alert, claim it (one conditional put of `ALERT#<id>`), and only
 *      when the claim wins: start its recovery (execution name = alert id: idempotent), put it in the
 *      notification outbox and deliver it from there (claim, publish, mark SENT: one publish per
 *      alert id), then mark the claim DELIVERED (one conditional update). The recovery goes first so
 *      it never waits for SNS; the publish is the one step that is not idempotent, so it is guarded
 *      by the outbox entry.
 *
 * Per HEALTH record (a health sweep finding, lambdas/sweep): the item is the finding; no WINDOW
 * read, no report (the alert has no score card); its alert is raised at the item's `raisedAt`, then
 * step 4 as above. A finding about the worker as a whole (no job) starts its recovery on the
 * worker's first job.
 *
 * DynamoDB requests per report: 1 without alertable findings; 2 for an anomaly already alerted in
 * its dedup window (the read and the losing put); 3 for a new alert (read, put, mark), plus 3 with the
 * outbox (enqueue, claim, SENT). Per health finding: 1 when already alerted, 2 (5 with the outbox)
 * for a new alert.
 *
 * Failures:
 *
 * | failure                                             | handling                                           |
 * |-----------------------------------------------------|----------------------------------------------------|
 * | poison record (malformed, or a NonRetryableError)   | logged at error level and handed in full to the    |
 * |                                                     | InvalidRecordSink (the on-failure queue); success  |
 * | anything else (throttling, network, SNS, SFN)       | the record's SequenceNumber in batchItemFailures:  |
 * |                                                     | the event source retries from it (bounded), then   |
 * |                                                     | its on-failure queue; an alert already in the      |
 * |                                                     | outbox is delivered by the health sweep            |
 * | the sink itself fails                               | batchItemFailures, like any transient error        |
 *
 * A retried record is safe: its claim token is the record's eventID, so a retry after a failed
 * publish claims again and delivers; a record whose alert was marked DELIVERED delivers nothing; a
 * recovery start is idempotent by name; a retry after a successful publish finds the outbox entry
 * SENT and publishes nothing, whatever failed after it. When SNS stays down past the event source's
 * retries the entry stays PENDING and the health sweep delivers it (lambdas/sweep). The one duplicate
 * left is a publish that succeeded followed by a crash before the entry was marked SENT: after the
 * claim goes stale it is published again (subscribers dedupe on the alert id, the webhook-id).
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { buildAlert, deliveryPlan, renderAlert, type Alert } from '../../lib/domain/alerting.js';
import {
  evaluateReport,
  observedAtMs,
  recoveryRequest,
  windowBucketKeys,
  type AlertPublisher,
  type AlertStore,
  type FindingRouting,
  type RecoveryStarter,
} from '../../lib/domain/anomaly-evaluation.js';
import type { AnomalyCode, AnomalyFinding } from '../../lib/domain/anomaly-rules.js';
import { InvalidPayloadError, NonRetryableError } from '../../lib/domain/errors.js';
import type { StateStore } from '../../lib/domain/ports.js';
import { recoveryFor, routingFor, type RecoveryPlan } from '../../lib/domain/recovery.js';
import { deliverEntry, type Outbox } from '../../lib/domain/outbox.js';
import { isWorkerId, jobOf, workerById, type JobSpec } from '../../lib/registry/index.js';
import { invalidStreamRecord, type InvalidRecordSink } from './invalid-records.js';
import { parseStreamRecord, readStreamRecord, StreamEventSchema, type HealthReading, type ParsedStreamRecord } from './stream-record.js';

/** The part of the Powertools Logger the handler uses (tests pass a fake). */
export interface AnomalyLogger {
  appendKeys(attributes: Record<string, string>): void;
  resetKeys(): void;
  debug(message: string, attributes: Record<string, unknown>): void;
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface AnomalyHandlerDeps {
  /** WINDOW bucket reads (DynamoStateStore: one consistent BatchGetItem for both buckets). */
  readonly windows: Pick<StateStore, 'readWindowBuckets'>;
  readonly alerts: AlertStore;
  readonly publisher: AlertPublisher;
  readonly recovery: RecoveryStarter;
  readonly invalidRecords: InvalidRecordSink;
  readonly logger: AnomalyLogger;
  /** Epoch ms; only for claim times and log lines, never for what is evaluated. */
  readonly clock: () => number;
  /** The region of the state machines, for console links (AWS_REGION). */
  readonly region: string;
  /**
   * The registry's job, for the budget rules; undefined for a worker or job it does not know.
   * @default the registry in lib/registry/workers.ts
   */
  readonly jobSpecOf?: (workerId: string, jobId: string) => JobSpec | undefined;
  /**
   * The notification outbox (lib/domain/outbox.ts): each alert is enqueued, then published from it,
   * so an alert whose publish kept failing is delivered by the health sweep, and a redelivered record
   * never publishes an alert twice.
   * @default none - publish directly (an alert whose record exhausts its retries is lost)
   */
  readonly outbox?: Outbox;
  /**
   * The job a recovery of a worker-wide health finding (no job) runs on; undefined: no recovery.
   * @default the worker's first job in the registry
   */
  readonly defaultJobOf?: (workerId: string) => string | undefined;
}

export interface BatchSummary {
  records: number;
  reports: number;
  /** HEALTH items (health sweep findings). */
  health: number;
  ignored: number;
  findings: number;
  logOnly: number;
  alerts: number;
  duplicates: number;
  recoveries: number;
  invalid: number;
  failed: number;
}

const registryJob = (workerId: string, jobId: string): JobSpec | undefined =>
  isWorkerId(workerId) && workerById(workerId).jobs.some((j) => j.id === jobId) ? jobOf(workerId, jobId) : undefined;

const registryDefaultJob = (workerId: string): string | undefined => (isWorkerId(workerId) ? workerById(workerId).jobs[0]?.id : undefined);

/** What one alert needs besides the record: the finding, its routing and recovery, and how it was found. */
interface AlertTarget {
  readonly finding: AnomalyFinding;
  readonly routing: FindingRouting;
  readonly recovery: RecoveryPlan | null;
  /** `report`, `metrics`, `window` (a report's evaluation) or `health` (a sweep finding). */
  readonly source: string;
  readonly alert: Alert;
  /** The job a recovery runs on; null: none. */
  readonly recoveryJob: string | null;
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Non-retryable domain errors (malformed records among them) are poison; anything else may pass. */
export const isPoison = (error: unknown): error is NonRetryableError => error instanceof NonRetryableError;

export function makeHandler(deps: AnomalyHandlerDeps): (event: unknown) => Promise<DynamoDBBatchResponse> {
  const { logger } = deps;
  const jobSpecOf = deps.jobSpecOf ?? registryJob;
  const defaultJobOf = deps.defaultJobOf ?? registryDefaultJob;

  async function actOn(target: AlertTarget, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    const { finding, routing, recovery, alert } = target;
    const attributes = { anomaly: finding.code, severity: routing.severity, source: target.source, alertId: alert.id, detail: finding.detail };
    const claimed = await deps.alerts.claim(alert, { token: record.eventID, nowMs: deps.clock() });
    if (!claimed) {
      summary.duplicates++;
      logger.info('anomaly already alerted in its dedup window: nothing published', { ...attributes, dedupKey: alert.dedupKey });
      return;
    }
    // 1. The recovery first: it must not wait for SNS, and starting it again is a no-op (named by the alert id).
    if (recovery !== null && target.recoveryJob === null) {
      logger.warn('no job to run the recovery on: none started', attributes);
    } else if (recovery !== null && target.recoveryJob !== null) {
      const request = recoveryRequest(alert, recovery, target.recoveryJob);
      await deps.recovery.start(request);
      summary.recoveries++;
      logger.info('recovery started', { ...attributes, recoveryExecution: request.name, actions: recovery.actions });
    }
    // 2. The alert: into the outbox, then delivered from it (one publish per alert id, whoever delivers).
    // MEDIUM alerts go out at once too: no digest flusher is deployed yet (see docs/alerting.md), and
    // publishing early never misses a deadline. `plan` is logged so the choice is visible.
    const nowMs = deps.clock();
    const plan = deliveryPlan(alert, nowMs);
    const rendered = renderAlert(alert);
    const logged = { ...attributes, plannedChannel: plan.channel, dueBy: plan.dueByMs === null ? null : new Date(plan.dueByMs).toISOString() };
    if (deps.outbox === undefined) {
      await deps.publisher.publish(rendered);
      summary.alerts++;
      logger.warn('anomaly alert published', logged);
    } else {
      await deps.outbox.enqueue({ id: alert.id, kind: 'alert', message: rendered, enqueuedAtMs: nowMs, deliverByMs: plan.dueByMs });
      const delivered = await deliverEntry(deps.outbox, { publish: () => deps.publisher.publish(rendered) }, { id: alert.id, message: rendered }, record.eventID, nowMs);
      if (delivered === 'NOT_CLAIMED') {
        logger.info('alert already published (or being published) from the outbox: not published again', logged);
      } else {
        summary.alerts++;
        logger.warn('anomaly alert published', { ...logged, outbox: delivered });
      }
    }
    // 3. The claim is done.
    if (!(await deps.alerts.markDelivered(alert, { token: record.eventID, nowMs: deps.clock() }))) {
      logger.warn('alert claim was taken over before it was marked delivered', attributes);
    }
  }

  /** A health sweep finding: the alert of its anomaly, raised when the sweep found it. */
  async function processHealth(health: HealthReading, anomaly: AnomalyCode | null, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    summary.health++;
    logger.appendKeys({ worker: health.worker, job: health.job ?? '-', healthKind: health.kind, ...(health.executionArn !== undefined ? { executionId: health.executionArn } : {}) });
    if (anomaly === null) {
      logger.warn('health finding names an anomaly code this version does not know: ignored', { anomaly: health.anomaly, window: health.window });
      return;
    }
    const routing = routingFor(anomaly);
    const finding: AnomalyFinding = { code: anomaly, severity: routing.severity, worker: health.worker, detail: health.detail, observed: health.observed, threshold: health.threshold };
    summary.findings++;
    if (routing.logOnly) {
      summary.logOnly++;
      logger.info('anomaly (log only)', { anomaly, severity: routing.severity, source: 'health', detail: finding.detail });
      return;
    }
    const alert = buildAlert({ finding, ...(health.executionArn !== undefined ? { executionId: health.executionArn } : {}), region: deps.region, raisedAtMs: Date.parse(health.raisedAt) });
    await actOn({ finding, routing, recovery: recoveryFor(anomaly), source: 'health', alert, recoveryJob: health.job ?? defaultJobOf(health.worker) ?? null }, record, summary);
  }

  async function processRecord(record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    const reading = readStreamRecord(record);
    if (reading.kind === 'ignored') {
      summary.ignored++;
      logger.debug('stream record ignored', { reason: reading.reason });
      return;
    }
    if (reading.kind === 'health') {
      await processHealth(reading.health, reading.anomaly, record, summary);
      return;
    }
    const { report } = reading;
    summary.reports++;
    logger.appendKeys({ worker: report.workerName, job: report.jobId, executionId: report.executionId, scheduledTime: report.scheduledTime });
    if (reading.unknownAnomalies.length > 0) logger.warn('report lists anomaly codes this version does not know: ignored', { unknownAnomalies: reading.unknownAnomalies });

    const nowMs = observedAtMs(report);
    const keys = windowBucketKeys(nowMs);
    const buckets = await deps.windows.readWindowBuckets(report.workerName, [keys.current, keys.previous]);
    const [current, previous] = buckets;
    if (current === undefined || previous === undefined) throw new InvalidPayloadError(`window read returned ${buckets.length} bucket(s), expected 2`);
    const job = jobSpecOf(report.workerName, report.jobId);
    if (job === undefined) logger.warn('worker or job not in the registry: budget rules not re-evaluated', {});

    const evaluation = evaluateReport({ report, job, current, previous, nowMs });
    summary.findings += evaluation.findings.length;
    for (const item of evaluation.findings) {
      if (item.routing.logOnly) {
        summary.logOnly++;
        logger.info('anomaly (log only)', { anomaly: item.finding.code, severity: item.routing.severity, source: item.source, detail: item.finding.detail });
        continue;
      }
      const alert = buildAlert({ finding: item.finding, report, region: deps.region, raisedAtMs: nowMs });
      await actOn({ ...item, alert, recoveryJob: report.jobId }, record, summary);
    }
    if (evaluation.findings.length === 0) logger.debug('no anomaly', { status: report.status, runsInWindow: evaluation.window.runs });
  }

  return async (event) => {
    const parsedEvent = StreamEventSchema.safeParse(event);
    // Not a stream event at all: nothing to acknowledge record by record, so fail the invocation.
    if (!parsedEvent.success) throw new InvalidPayloadError('anomaly handler expects a DynamoDB stream event with Records');
    const summary: BatchSummary = { records: 0, reports: 0, health: 0, ignored: 0, findings: 0, logOnly: 0, alerts: 0, duplicates: 0, recoveries: 0, invalid: 0, failed: 0 };
    const batchItemFailures: { itemIdentifier: string }[] = [];

    // Sequentially, in stream order: records of one shard stay ordered and a batch's work is bounded.
    for (const raw of parsedEvent.data.Records) {
      summary.records++;
      logger.resetKeys();
      let record: ParsedStreamRecord | undefined;
      try {
        record = parseStreamRecord(raw);
        logger.appendKeys({ eventID: record.eventID, sequenceNumber: record.dynamodb.SequenceNumber });
        await processRecord(record, summary);
      } catch (error) {
        if (isPoison(error)) {
          const invalid = invalidStreamRecord(raw, error, deps.clock());
          const where = { error: errorText(error), keys: invalid.keys, eventID: invalid.eventID, sequenceNumber: invalid.sequenceNumber };
          try {
            await deps.invalidRecords.put(invalid);
            summary.invalid++;
            logger.error('invalid stream record: sent to the dead-letter queue, not retried', { ...where, invalidRecords: 1 });
            continue;
          } catch (sinkError) {
            logger.error('invalid stream record could not be sent to the dead-letter queue: will be retried', { ...where, sinkError: errorText(sinkError) });
          }
        } else {
          logger.warn('record failed: will be retried', { error: errorText(error) });
        }
        summary.failed++;
        const id = record?.dynamodb.SequenceNumber ?? sequenceNumberOf(raw);
        // Without a sequence number the record cannot be named: an empty identifier makes Lambda retry the whole batch.
        batchItemFailures.push({ itemIdentifier: id ?? '' });
      }
    }
    logger.resetKeys();
    logger.info('anomaly batch done', { ...summary });
    return { batchItemFailures };
  };
}

function sequenceNumberOf(raw: unknown): string | undefined {
  const dynamodb = typeof raw === 'object' && raw !== null ? (raw as { dynamodb?: unknown }).dynamodb : undefined;
  const seq = typeof dynamodb === 'object' && dynamodb !== null ? (dynamodb as { SequenceNumber?: unknown }).SequenceNumber : undefined;
  return typeof seq === 'string' && seq !== '' ? seq : undefined;
}
