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
 * Inhibition and the fold (lib/domain/incident.ts): a report's findings are acted on root causes
 * first; a consumer's STALE_DATA, or a worker's rate (HIGH_FAILURE_RATE, ELEVATED_RETRIES), that an
 * incident explains is counted on it (one Query of that worker's incidents, then its read and write);
 * an opening reads the worker's incidents again after its write and folds in the rate incidents it
 * explains (or, a rate racing its root, merges into the root), withdrawing a folded incident's OPENED
 * still held for the digest.
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
import { deliveryPlan, renderAlert, type Alert } from '../../lib/domain/alerting.js';
import { backfillOffer } from '../../lib/domain/backfill-offer.js';
import {
  evaluateReport,
  observedAtMs,
  recoveryRequest,
  windowBucketKeys,
  type AlertPublisher,
  type AlertStore,
  type RecoveryStarter,
} from '../../lib/domain/anomaly-evaluation.js';
import {
  buildIncidentAlert,
  explainsSymptom,
  foldIntoRoot,
  foldsWith,
  incidentKeyString,
  inhibitingIncident,
  inhibitionRank,
  symptomParentOf,
  RATE_SYMPTOM_CODES,
  SYMPTOM_CODES,
  recordDetection,
  recordNotified,
  recordRecovery,
  recordResolution,
  recordSymptom,
  reportClears,
  resolvedNoticeDue,
  rootCauseOf,
  staleSourceIn,
  transitionAlertId,
  type ClearEvidence,
  type Detection,
  type DetectionOutcome,
  type GraphLookup,
  type Incident,
  type IncidentKey,
  type IncidentStore,
} from '../../lib/domain/incident.js';
import type { AnomalyCode, AnomalyFinding } from '../../lib/domain/anomaly-rules.js';
import { InvalidPayloadError, NonRetryableError } from '../../lib/domain/errors.js';
import type { StateStore } from '../../lib/domain/ports.js';
import { deliverEntry, withdrawEntry, type Outbox } from '../../lib/domain/outbox.js';
import { recoveryFor, routingFor } from '../../lib/domain/recovery.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
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
  /** The incidents (DynamoIncidentStore): one per root-cause job and anomaly. */
  readonly incidents: IncidentStore;
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
  /**
   * The dependency graph root causes are found in.
   * @default the registry in lib/registry/workers.ts
   */
  readonly graph?: GraphLookup;
}

export interface BatchSummary {
  records: number;
  reports: number;
  /** HEALTH items (health sweep findings, and the sweep's CLEARED items). */
  health: number;
  ignored: number;
  findings: number;
  logOnly: number;
  /** Notifications published: incidents opened and resolved. */
  alerts: number;
  /** Detections counted on an open incident (or already counted): nobody notified. */
  duplicates: number;
  opened: number;
  resolved: number;
  recoveries: number;
  invalid: number;
  failed: number;
}

const registryJob = (workerId: string, jobId: string): JobSpec | undefined =>
  isWorkerId(workerId) && workerById(workerId).jobs.some((j) => j.id === jobId) ? jobOf(workerId, jobId) : undefined;

const registryDefaultJob = (workerId: string): string | undefined => (isWorkerId(workerId) ? workerById(workerId).jobs[0]?.id : undefined);

/** The registry as a dependency graph. */
export const REGISTRY_GRAPH: GraphLookup = {
  hasWorker: (worker) => isWorkerId(worker),
  hasJob: (worker, job) => isWorkerId(worker) && workerById(worker).jobs.some((j) => j.id === job),
};

/** One alertable finding, where it was seen and how. */
interface Sighted {
  readonly finding: AnomalyFinding;
  /** `report`, `metrics`, `window` (a report's evaluation) or `health` (a sweep finding). */
  readonly source: string;
  readonly detection: Detection;
  readonly report?: WorkerScoreReport;
  /** The job a recovery of a new incident runs on; null: none. */
  readonly recoveryJob: string | null;
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Non-retryable domain errors (malformed records among them) are poison; anything else may pass. */
export const isPoison = (error: unknown): error is NonRetryableError => error instanceof NonRetryableError;

/** The prefix of the health sweep's CLEARED items' kind: `CLEARED_<anomaly>` (lib/domain/health-sweep.ts). */
const CLEARED_KIND = /^CLEARED_/;

export function makeHandler(deps: AnomalyHandlerDeps): (event: unknown) => Promise<DynamoDBBatchResponse> {
  const { logger } = deps;
  const jobSpecOf = deps.jobSpecOf ?? registryJob;
  const defaultJobOf = deps.defaultJobOf ?? registryDefaultJob;
  const graph = deps.graph ?? REGISTRY_GRAPH;

  /** Claims the transition's alert, publishes it when the claim wins, marks it delivered. True when published. */
  async function notify(alert: Alert, record: ParsedStreamRecord, attributes: Record<string, unknown>): Promise<boolean> {
    const claim = { token: record.eventID, nowMs: deps.clock() };
    if (!(await deps.alerts.claim(alert, claim))) {
      logger.info('incident transition already notified: nothing published', attributes);
      return false;
    }
    // Into the outbox, then delivered from it (one publish per alert id, whoever delivers): a publish
    // that keeps failing is delivered by the health sweep, and a redelivered record never publishes twice.
    // A MEDIUM notification whose deadline allows it is held in the outbox for the digest the health
    // sweep sends (planDigest): MEDIUM incidents within 15 minutes reach people as one message.
    const nowMs = deps.clock();
    const plan = deliveryPlan(alert, nowMs);
    const rendered = renderAlert(alert);
    const logged = { ...attributes, plannedChannel: plan.channel, dueBy: plan.dueByMs === null ? null : new Date(plan.dueByMs).toISOString() };
    let published = true;
    if (deps.outbox === undefined) {
      await deps.publisher.publish(rendered);
      logger.warn('incident notification published', logged);
    } else if (plan.channel === 'digest') {
      await deps.outbox.enqueue({ id: alert.id, kind: 'alert', message: rendered, enqueuedAtMs: nowMs, deliverByMs: plan.dueByMs, digest: true });
      logger.info('incident notification held for the digest', logged);
    } else {
      await deps.outbox.enqueue({ id: alert.id, kind: 'alert', message: rendered, enqueuedAtMs: nowMs, deliverByMs: plan.dueByMs });
      const delivered = await deliverEntry(deps.outbox, { publish: () => deps.publisher.publish(rendered) }, { id: alert.id, message: rendered }, record.eventID, nowMs);
      published = delivered !== 'NOT_CLAIMED';
      if (published) logger.warn('incident notification published', { ...logged, outbox: delivered });
      else logger.info('incident notification already published (or being published) from the outbox: not published again', logged);
    }
    if (!(await deps.alerts.markDelivered(alert, claim))) logger.warn('alert claim was taken over before it was marked delivered', attributes);
    return published;
  }

  /** Counts the sighting on its incident; a new incident is notified and its recovery started. */
  async function actOn(target: Sighted, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    if (await countedAsSymptom(target, summary)) return;
    const { finding, detection } = target;
    const outcome = await recordDetection(deps.incidents, detection);
    const { incident } = outcome;
    const attributes = { anomaly: finding.code, severity: finding.severity, source: target.source, incidentId: incident.id, detail: finding.detail, transition: outcome.kind };
    if (outcome.kind !== 'OPENED') {
      summary.duplicates++;
      logger.info(outcome.kind === 'UPDATED' ? 'seen again on its open incident: nobody notified' : 'detection already counted: nothing to do', { ...attributes, count: incident.count });
      // Opening not finished (a record that failed between the write and the publish): finish it, once.
      if (incident.state === 'RESOLVED' || (incident.notified.includes('OPENED') && incident.recoveries.length > 0) || outcome.kind === 'STALE') return;
    }
    // The fold (lib/domain/incident.ts `foldIntoRoot`), read after the opening write: a rate incident
    // that a root incident opened meanwhile explains merges into it; a root folds in the rate incidents
    // opened before it, and its OPENED message covers them.
    const fold = foldsWith(incident.key)
      ? await foldIntoRoot(deps.incidents, incident, await deps.incidents.readWorker(incident.key.worker), detection.observedAtMs)
      : { incident, mergedInto: null, folded: [] };
    if (fold.mergedInto !== null) {
      logger.info('opened racing the incident that explains it: merged into it, nobody notified', { ...attributes, mergedInto: fold.mergedInto.id });
      return;
    }
    // A folded incident's OPENED still held for the MEDIUM digest is withdrawn: the root's OPENED covers it.
    for (const child of fold.folded) {
      const withdrawn = deps.outbox !== undefined && (await withdrawEntry(deps.outbox, transitionAlertId(child.id, 'OPENED'), record.eventID, deps.clock()));
      logger.info('folded into this incident: resolved as merged, no RESOLVED message', { ...attributes, folded: child.id, openedWithdrawn: withdrawn });
    }
    await finishOpening(target, fold.incident, attributes, record, summary);
  }

  /** Announces a newly opened incident (OPENED, once) and starts its recovery (once). */
  async function finishOpening(target: Sighted, incident: Incident, attributes: Record<string, unknown>, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    const { finding } = target;
    if ((incident.covers ?? []).length > 0) logger.info('covers the incidents it explains (merged into it)', { ...attributes, covers: incident.covers });
    const opening = buildIncidentAlert({ incident, transition: 'OPENED', region: deps.region, observed: finding.observed, threshold: finding.threshold, ...(target.report ? { report: target.report } : {}) });
    // A missed run offers the backfill of its missed slots (in the text and the webhook payload).
    const offer = backfillOffer(incident, jobSpecOf);
    const alert: Alert = offer === null ? opening : { ...opening, backfill: offer };
    // The recovery first: it must not wait for SNS, and starting it again is a no-op (named by the alert id).
    await startRecovery(target, incident, alert, attributes, summary);
    if (!incident.notified.includes('OPENED') && (await notify(alert, record, { ...attributes, alertId: alert.id }))) {
      summary.alerts++;
      summary.opened++;
      await recordNotified(deps.incidents, incident.id, 'OPENED');
    }
  }

  /**
   * Inhibition (lib/domain/incident.ts): a consumer's STALE_DATA while the job producing the data has
   * an open incident (`inhibitingIncident`), or a worker's rolling-hour rate while one of its jobs has
   * a failing-run incident (`rateParentOf`), or a job's TIMEOUT_WARNING while it has a SLOW_EXECUTION
   * incident (`explainsTimeoutWarning`), is a symptom of that incident. It is counted there (count,
   * impacted jobs) and nobody is notified; no incident, no recovery of its own. True when counted.
   */
  async function countedAsSymptom(target: Sighted, summary: BatchSummary): Promise<boolean> {
    const { finding, detection } = target;
    const outcome = SYMPTOM_CODES.includes(detection.key.anomaly) ? await countedOnRoot(detection) : await countedOnProducer(finding, detection);
    if (outcome === null) return false;
    summary.duplicates++;
    logger.info('symptom of an open incident: counted there, nobody notified', { anomaly: finding.code, severity: finding.severity, source: target.source, incidentId: outcome.incident.id, detail: finding.detail, transition: outcome.kind });
    return true;
  }

  /** A consumer's STALE_DATA on the incident of the job producing its data; null when none explains it. */
  async function countedOnProducer(finding: AnomalyFinding, detection: Detection): Promise<DetectionOutcome | null> {
    if (finding.code !== 'STALE_DATA') return null;
    const source = staleSourceIn([finding.detail], graph);
    if (source === null || source.worker === detection.seenOn.worker) return null;
    const parent = inhibitingIncident(source, await deps.incidents.readWorker(source.worker));
    if (parent === null) return null;
    return recordSymptom(deps.incidents, { ...detection, key: parent.key, impactedJob: `${detection.seenOn.worker}.${detection.seenOn.job}` });
  }

  /**
   * A worker's rate on the incident of its failing job (or its failure rate) that explains it, or a
   * job's timeout warning on its SLOW_EXECUTION incident; null when none does. A rate lags its root.
   */
  async function countedOnRoot(detection: Detection): Promise<DetectionOutcome | null> {
    const symptom = detection.key;
    const parent = symptomParentOf(symptom, detection.observedAtMs, await deps.incidents.readWorker(symptom.worker));
    if (parent === null) return null;
    return recordSymptom(deps.incidents, { ...detection, key: parent.key }, { accepts: (current) => explainsSymptom(current, symptom, detection.observedAtMs), lagging: RATE_SYMPTOM_CODES.includes(symptom.anomaly) });
  }

  /** Starts the recovery of a newly opened incident, once (none when its anomaly has none, or one was tried). */
  async function startRecovery(target: Sighted, incident: Incident, alert: Alert, attributes: Record<string, unknown>, summary: BatchSummary): Promise<void> {
    const plan = recoveryFor(incident.key.anomaly);
    if (plan === null || incident.recoveries.length > 0) return;
    if (target.recoveryJob === null) {
      logger.warn('no job to run the recovery on: none started', attributes);
      return;
    }
    const request = recoveryRequest(alert, plan, incident.openedOn.job === '-' ? target.recoveryJob : incident.openedOn.job);
    // The recovery acts where the condition was first seen: a dependency failure's recovery retries the upstream of that dependent.
    const started = { ...request, input: { ...request.input, worker: incident.openedOn.worker, scheduledTime: incident.openedOn.scheduledTime } };
    await deps.recovery.start(started);
    await recordRecovery(deps.incidents, incident.id, { name: started.name, worker: started.input.worker, job: started.input.job, actions: plan.actions, startedAt: new Date(target.detection.observedAtMs).toISOString() });
    summary.recoveries++;
    logger.info('recovery started', { ...attributes, recoveryExecution: started.name, actions: plan.actions });
  }

  /** Resolves the incident of `key` on the evidence and notifies it (a later check finishes a notification that failed). */
  async function resolve(key: IncidentKey, evidence: ClearEvidence, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    const outcome = await recordResolution(deps.incidents, key, evidence);
    if (outcome === null) return;
    const { incident } = outcome;
    if (!resolvedNoticeDue(incident)) return;
    const alert = buildIncidentAlert({ incident, transition: 'RESOLVED', region: deps.region });
    const attributes = { anomaly: key.anomaly, severity: incident.severity, incidentId: incident.id, alertId: alert.id, resolution: incident.resolution };
    if (await notify(alert, record, attributes)) {
      summary.alerts++;
      summary.resolved++;
      await recordNotified(deps.incidents, incident.id, 'RESOLVED');
    }
  }

  /** A health sweep finding: a detection raised when the sweep found it; a CLEARED item resolves its incident. */
  async function processHealth(health: HealthReading, anomaly: AnomalyCode | null, record: ParsedStreamRecord, summary: BatchSummary): Promise<void> {
    summary.health++;
    logger.appendKeys({ worker: health.worker, job: health.job ?? '-', healthKind: health.kind, ...(health.executionArn !== undefined ? { executionId: health.executionArn } : {}) });
    if (anomaly === null) {
      logger.warn('health finding names an anomaly code this version does not know: ignored', { anomaly: health.anomaly, window: health.window });
      return;
    }
    const observationId = `health:${health.kind}#${health.job ?? '-'}#${health.window}`;
    if (CLEARED_KIND.test(health.kind)) {
      await resolve({ worker: health.worker, job: health.job, anomaly }, { atMs: Date.parse(health.raisedAt), observationId, what: health.detail }, record, summary);
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
    const root = rootCauseOf({ worker: health.worker, job: health.job, anomaly, texts: [health.detail] }, graph);
    const seenJob = health.job ?? defaultJobOf(health.worker) ?? null;
    const detection: Detection = {
      key: root.key,
      severity: routing.severity,
      detail: health.detail,
      observedAtMs: Date.parse(health.raisedAt),
      observationId,
      source: 'health',
      impactedJob: root.impactedJob,
      seenOn: { worker: health.worker, job: seenJob ?? '-', scheduledTime: health.scheduledTime ?? null, executionId: health.executionArn ?? null },
    };
    await actOn({ finding, source: 'health', detection, recoveryJob: seenJob }, record, summary);
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
    const slot = `${report.workerName}.${report.jobId}@${report.scheduledTime}`;
    const texts = [...report.recommendations, ...(report.error === null ? [] : [report.error.cause])];
    const found: string[] = [];
    // Root causes before their symptoms: a per-run anomaly opens its incident before the worker's rates are weighed against it.
    const ordered = [...evaluation.findings].sort((a, b) => inhibitionRank(a.finding.code) - inhibitionRank(b.finding.code));
    for (const item of ordered) {
      const root = rootCauseOf({ worker: report.workerName, job: report.jobId, anomaly: item.finding.code, skipReason: report.skipReason, texts: [item.finding.detail, ...texts] }, graph);
      found.push(incidentKeyString(root.key));
      if (item.routing.logOnly) {
        summary.logOnly++;
        logger.info('anomaly (log only)', { anomaly: item.finding.code, severity: item.routing.severity, source: item.source, detail: item.finding.detail });
        continue;
      }
      const detection: Detection = {
        key: root.key,
        severity: item.routing.severity,
        detail: item.finding.detail,
        observedAtMs: nowMs,
        observationId: `${slot}#${report.executionId}#${item.finding.code}`,
        source: 'report',
        impactedJob: root.impactedJob,
        seenOn: { worker: report.workerName, job: report.jobId, scheduledTime: report.scheduledTime, executionId: report.executionId },
      };
      await actOn({ finding: item.finding, source: item.source, detection, report, recoveryJob: report.jobId }, record, summary);
    }
    if (evaluation.findings.length === 0) logger.debug('no anomaly', { status: report.status, runsInWindow: evaluation.window.runs });

    // The condition is gone when a later run of the job succeeds without it: resolve its incidents.
    if (report.status !== 'SUCCEEDED' && report.status !== 'PARTIAL') return;
    const open = await deps.incidents.readWorker(report.workerName);
    const ran = { worker: report.workerName, job: report.jobId, status: report.status };
    const observationId = `${slot}#${report.executionId}#CLEARED`;
    for (const incident of open) {
      const unsent = resolvedNoticeDue(incident);
      if (!unsent && !reportClears(incident, ran, found)) continue;
      await resolve(incident.key, { atMs: nowMs, observationId, what: `the ${report.workerName}.${report.jobId} run of ${report.scheduledTime} ${report.status}` }, record, summary);
    }
  }

  return async (event) => {
    const parsedEvent = StreamEventSchema.safeParse(event);
    // Not a stream event at all: nothing to acknowledge record by record, so fail the invocation.
    if (!parsedEvent.success) throw new InvalidPayloadError('anomaly handler expects a DynamoDB stream event with Records');
    const summary: BatchSummary = { records: 0, reports: 0, health: 0, ignored: 0, findings: 0, logOnly: 0, alerts: 0, duplicates: 0, opened: 0, resolved: 0, recoveries: 0, invalid: 0, failed: 0 };
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
