/**
 * What the anomaly Lambda acts on for one stored score report: the report's own anomalies (the
 * record step listed them in `report.anomalies`), the health rules fed by facts the report carries
 * in its metrics, and the window rules (HIGH_FAILURE_RATE, LOCK_CONTENTION, ELEVATED_RETRIES) over
 * the worker's rolling hour. Each finding comes with its routing (severity, deadline, log only) and
 * its recovery plan. Also the alert-claim protocol and the ports the Lambda's adapters implement.
 * Pure and deterministic: the same report and buckets give the same findings.
 *
 * Which facts feed which rules:
 *
 * | source    | rules                                              | facts                                         |
 * |-----------|----------------------------------------------------|-----------------------------------------------|
 * | `report`  | every code in `report.anomalies`                   | the report, the job's budget, metric health   |
 * | `metrics` | QUEUE_OVERFLOW, DATA_CORRUPTION, RESOURCE_EXHAUSTION, STALE_DATA, API_QUOTA_LOW, CACHE_MISS | `METRIC_HEALTH_FACTS` |
 * | `window`  | HIGH_FAILURE_RATE, LOCK_CONTENTION, ELEVATED_RETRIES | `rollingWindow(current, previous, nowMs)`    |
 *
 * The record step is the authority on report-level anomalies: a code it listed is acted on even
 * when the facts that raised it (e.g. memory use) are not stored, with the rule's description as
 * the detail; report and budget rules it did not list are not re-raised here.
 */
import { dedupWindowFor, type Alert, type AlertEnvelope, type RenderedMessage } from './alerting.js';
import { ANOMALY_CODES, RULE_BY_CODE, SEVERITIES, evaluateAnomalies, type AnomalyCode, type AnomalyFinding, type HealthFacts, type Severity, type WorkerBudget } from './anomaly-rules.js';
import { InvalidPayloadError } from './errors.js';
import { recoveryFor, routingFor, type RecoveryAction, type RecoveryPlan } from './recovery.js';
import type { MetricValue, WorkerScoreReport } from './score-report.js';
import { bucketKey, HOUR_MS, rollingWindow, type WindowBucket, type WindowStats } from './window-stats.js';

// ---------------------------------------------------------------------------------------------
// Inputs

/** The rules that read the rolling window, evaluated on every report. */
export const WINDOW_RULE_CODES = ['HIGH_FAILURE_RATE', 'LOCK_CONTENTION', 'ELEVATED_RETRIES'] as const satisfies readonly AnomalyCode[];

/**
 * Report metrics that carry health facts, by metric name. A metric of the wrong type, NaN or
 * negative is ignored (the record step has already scored it as invalid).
 */
export const METRIC_HEALTH_FACTS = {
  queue_depth: 'queueDepth',
  memory_percent: 'memoryPercent',
  disk_full: 'diskFull',
  quota_remaining_percent: 'quotaRemainingPercent',
  data_age_seconds: 'dataAgeSeconds',
  freshness_threshold_seconds: 'freshnessThresholdSeconds',
  cache_miss: 'cacheMiss',
  corrupt_records: 'corruptRecords',
} as const satisfies Readonly<Record<string, Exclude<keyof HealthFacts, 'validationIssues'>>>;

const BOOLEAN_FACTS: ReadonlySet<keyof HealthFacts> = new Set(['diskFull', 'cacheMiss']);

/** The health facts a report's metrics carry (see METRIC_HEALTH_FACTS). */
export function healthFromMetrics(metrics: Readonly<Record<string, MetricValue>>): HealthFacts {
  const health: Record<string, number | boolean> = {};
  for (const [metric, fact] of Object.entries(METRIC_HEALTH_FACTS)) {
    const value = metrics[metric];
    if (BOOLEAN_FACTS.has(fact)) {
      if (typeof value === 'boolean') health[fact] = value;
    } else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
      health[fact] = value;
    }
  }
  return health as HealthFacts;
}

/** The budget of a job in the registry, in ms. */
export function budgetOf(job: { readonly expectedDurationSeconds: number; readonly timeoutSeconds: number }): WorkerBudget {
  return { expectedDurationMs: job.expectedDurationSeconds * 1000, timeoutMs: job.timeoutSeconds * 1000 };
}

/**
 * When the report's anomalies were observed: its completion time, epoch ms. Never the processing
 * time, so a redelivered stream record reads the same buckets and lands in the same dedup window.
 */
export function observedAtMs(report: Pick<WorkerScoreReport, 'completedAt'>): number {
  const ms = Date.parse(report.completedAt);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidPayloadError(`report completedAt must be an ISO-8601 date-time, got "${report.completedAt}"`);
  return ms;
}

/** The WINDOW buckets the rolling hour ending at `atMs` needs: this hour's and the previous one's. */
export function windowBucketKeys(atMs: number): { readonly current: string; readonly previous: string } {
  return { current: bucketKey(atMs), previous: bucketKey(atMs - HOUR_MS) };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export type FindingSource = 'report' | 'metrics' | 'window';

export interface FindingRouting {
  readonly severity: Severity;
  /** The design's alert deadline, in seconds; null when log only. */
  readonly deadlineSeconds: number | null;
  readonly logOnly: boolean;
}

export interface EvaluatedFinding {
  readonly finding: AnomalyFinding;
  readonly source: FindingSource;
  readonly routing: FindingRouting;
  /** The design's recovery; null for log-only findings and anomalies that are alert-only. */
  readonly recovery: RecoveryPlan | null;
}

export interface AnomalyEvaluationInput {
  readonly report: WorkerScoreReport;
  /** The report's job in the registry; without it the budget rules are not re-evaluated (their codes in the report still count). */
  readonly job?: { readonly expectedDurationSeconds: number; readonly timeoutSeconds: number } | undefined;
  /** The WINDOW bucket of the hour `nowMs` falls in (EMPTY_BUCKET when absent). */
  readonly current: WindowBucket;
  /** The WINDOW bucket of the hour before. */
  readonly previous: WindowBucket;
  /** The end of the rolling hour, epoch ms: `observedAtMs(report)`. */
  readonly nowMs: number;
}

export interface AnomalyEvaluation {
  readonly window: WindowStats;
  /** One per anomaly code, most severe first, then in ANOMALY_CODES order. */
  readonly findings: readonly EvaluatedFinding[];
}

const SOURCE_RANK: Readonly<Record<FindingSource, number>> = { report: 0, metrics: 1, window: 2 };

function evaluated(finding: AnomalyFinding, source: FindingSource): EvaluatedFinding {
  const routing = routingFor(finding.code);
  return { finding, source, routing, recovery: routing.logOnly ? null : recoveryFor(finding.code) };
}

/** A code the report lists whose facts are not stored: the rule's description stands in for the detail. */
function listedFinding(worker: string, code: AnomalyCode): AnomalyFinding {
  const rule = RULE_BY_CODE[code];
  return { code, severity: rule.severity, worker, detail: `${rule.description} (reported by the run)`, observed: code, threshold: 'none' };
}

/** The findings of one stored report (see the module comment for which facts feed which rules). */
export function evaluateReport(input: AnomalyEvaluationInput): AnomalyEvaluation {
  const { report } = input;
  const worker = report.workerName;
  const budget = input.job === undefined ? undefined : budgetOf(input.job);
  const health = healthFromMetrics(report.metrics);
  const window = rollingWindow(input.current, input.previous, input.nowMs);
  const windowCodes: readonly AnomalyCode[] = WINDOW_RULE_CODES;

  const byCode = new Map<AnomalyCode, EvaluatedFinding>();
  const add = (candidate: EvaluatedFinding): void => {
    const existing = byCode.get(candidate.finding.code);
    if (existing === undefined || SOURCE_RANK[candidate.source] < SOURCE_RANK[existing.source]) byCode.set(candidate.finding.code, candidate);
  };

  // 1. The report's own anomalies, with the detail of the rule when the stored facts reproduce it.
  const full = { worker, report, ...(budget !== undefined ? { budget } : {}), health };
  for (const code of new Set(report.anomalies)) {
    if (windowCodes.includes(code)) continue; // judged on the window below
    const hit = RULE_BY_CODE[code].evaluate(full);
    add(evaluated(hit === null ? listedFinding(worker, code) : { code, severity: RULE_BY_CODE[code].severity, worker, ...hit }, 'report'));
  }
  // 2. Health facts the report carries in its metrics (only health rules can fire on health alone).
  for (const finding of evaluateAnomalies({ worker, health })) add(evaluated(finding, 'metrics'));
  // 3. The rolling window.
  for (const finding of evaluateAnomalies({ worker, window }, windowCodes.map((c) => RULE_BY_CODE[c]))) add(evaluated(finding, 'window'));

  const findings = [...byCode.values()].sort(
    (a, b) => SEVERITIES.indexOf(a.routing.severity) - SEVERITIES.indexOf(b.routing.severity) || ANOMALY_CODES.indexOf(a.finding.code) - ANOMALY_CODES.indexOf(b.finding.code),
  );
  return { window, findings };
}

/** The findings to alert on (and recover from): everything but the log-only (LOW) ones. */
export function actionable(evaluation: AnomalyEvaluation): EvaluatedFinding[] {
  return evaluation.findings.filter((f) => !f.routing.logOnly);
}

// ---------------------------------------------------------------------------------------------
// Recovery requests

/** Step Functions execution names: 1-80 characters of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** The input of the generic recovery state machine (lambdas/recovery/recover.ts `RecoveryInput`). */
export interface RecoveryInput {
  readonly alertId: string;
  readonly worker: string;
  readonly job: string;
  readonly anomaly: AnomalyCode;
  readonly severity: Severity;
  readonly actions: readonly RecoveryAction[];
  /** The slot of the run that showed the anomaly; null for a health-sweep finding. */
  readonly scheduledTime: string | null;
}

export interface RecoveryRequest {
  /** The execution name: the alert id, so a repeated stream record starts nothing twice. */
  readonly name: string;
  readonly input: RecoveryInput;
}

/** The recovery execution of an alert. Deterministic: the same alert and plan give the same name and input. */
export function recoveryRequest(alert: Alert, plan: RecoveryPlan, jobId: string): RecoveryRequest {
  if (!EXECUTION_NAME_PATTERN.test(alert.id)) throw new InvalidPayloadError(`alert id must be a valid execution name (1-80 of [A-Za-z0-9_-]), got "${alert.id}"`);
  if (plan.anomaly !== alert.anomaly) throw new InvalidPayloadError(`recovery plan is for ${plan.anomaly}, got an alert for ${alert.anomaly}`);
  return {
    name: alert.id,
    input: { alertId: alert.id, worker: alert.worker, job: jobId, anomaly: alert.anomaly, severity: alert.severity, actions: plan.actions, scheduledTime: alert.scheduledTime },
  };
}

// ---------------------------------------------------------------------------------------------
// Alert claims: one alert per (worker, anomaly, dedup window), delivered once

/** An alert item: `pk = ALERT#<alert id>`, `sk = ALERT` (docs/data-model.md reserves the `ALERT#` partition). */
export const alertPk = (alertId: string): string => `ALERT#${alertId}`;
export const ALERT_SK = 'ALERT';

/**
 * How long an alert item outlives its dedup window, in seconds. A stream record may be redelivered
 * up to the event source's maximum record age (1 h) after it was written, and a redelivery must
 * still find the item; a day also leaves a trail to look at.
 */
export const ALERT_TTL_GRACE_SECONDS = 24 * 3600;

/**
 * After this long a claim that was never marked delivered (its record failed for good) may be
 * taken over by the next record with the same alert id, in ms. Longer than the function timeout,
 * so a live delivery is never taken over.
 */
export const ALERT_CLAIM_STALE_MS = 5 * 60_000;

export const ALERT_STATES = ['CLAIMED', 'DELIVERED'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** The TTL of an alert item: the end of its dedup window plus ALERT_TTL_GRACE_SECONDS, epoch seconds. */
export function alertExpiresAt(alert: Pick<Alert, 'severity' | 'windowStart'>): number {
  return Math.floor((Date.parse(alert.windowStart) + dedupWindowFor(alert.severity)) / 1000) + ALERT_TTL_GRACE_SECONDS;
}

export interface AlertClaim {
  /**
   * Identifies the delivery attempt across retries: the stream record's eventID, which a
   * redelivery of the same record keeps. A claim with the same token may deliver again until it
   * is marked delivered.
   */
  readonly token: string;
  /** Epoch ms. */
  readonly nowMs: number;
}

/** What an alert item says about its delivery. */
export interface StoredAlertClaim {
  readonly state: AlertState;
  readonly claimToken: string;
  readonly claimedAtMs: number;
}

/**
 * The claim rule (the DynamoDB adapter's ConditionExpression, and the in-memory fakes): a claim
 * wins when there is no item yet, or when the item is only CLAIMED and either the claim is the
 * same delivery attempt (a retry after a failed publish) or the old claim is stale. A DELIVERED
 * alert is never claimed again.
 */
export function claimWins(existing: StoredAlertClaim | undefined, claim: AlertClaim): boolean {
  if (existing === undefined) return true;
  if (existing.state !== 'CLAIMED') return false;
  return existing.claimToken === claim.token || existing.claimedAtMs < claim.nowMs - ALERT_CLAIM_STALE_MS;
}

// ---------------------------------------------------------------------------------------------
// Ports (implemented in lambdas/adapters/ and by fakes in the tests)

export interface AlertStore {
  /**
   * Stores the alert under its id unless `claimWins` says otherwise (one conditional put, TTL
   * `alertExpiresAt`). True when this caller must deliver it; false for a duplicate.
   */
  claim(alert: Alert, claim: AlertClaim): Promise<boolean>;
  /** Marks a claimed alert DELIVERED, if the claim is still this token's. False when it was taken over. */
  markDelivered(alert: Alert, claim: AlertClaim): Promise<boolean>;
}

export interface AlertPublisher {
  /** Publishes a rendered alert (SNS: MessageStructure json plus the message attributes). */
  publish(message: RenderedMessage<AlertEnvelope>): Promise<void>;
}

export interface RecoveryStarter {
  /** Starts the recovery execution named `request.name`; an execution of that name already existing is success. */
  start(request: RecoveryRequest): Promise<void>;
}
