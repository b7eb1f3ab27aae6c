/**
 * Alerting policy: what an alert says, when it is a duplicate, when it must go out and how it is
 * rendered. The anomaly Lambda builds an `Alert` per finding, stores it with a conditional put on
 * its id (so a repeated stream delivery never alerts twice), then delivers it as `deliveryPlan`
 * says: at once, in the next MEDIUM digest, or to the log only. Pure (node:crypto for hashing ids).
 *
 * Dedup windows are fixed and epoch-aligned per severity: one alert per (worker, anomaly, window).
 *
 * | severity | delivery                      | deadline (design) | dedup window |
 * |----------|-------------------------------|-------------------|--------------|
 * | CRITICAL | immediate                     | 0 s               | 15 min       |
 * | HIGH     | immediate                     | 300 s             | 30 min       |
 * | MEDIUM   | digest (flush every 5 min)    | 900 s             | 60 min       |
 * | LOW      | log only                      | none              | 60 min       |
 */
import { createHash } from 'node:crypto';
import { backfillOfferText, type BackfillOffer } from './backfill-offer.js';
import { ALERT_DEADLINE_SECONDS, RULE_BY_CODE, SEVERITIES, type AnomalyCode, type AnomalyFinding, type Severity } from './anomaly-rules.js';
import { InvalidPayloadError } from './errors.js';
import { recoveryFor } from './recovery.js';
import type { ComponentScores, RunStatus, SkipReason, WorkerScoreReport } from './score-report.js';

const MINUTE_MS = 60_000;

/**
 * How long the same anomaly on the same worker stays one alert, in minutes. CRITICAL re-alerts
 * every 15 min while it persists, the same period after which an unacknowledged critical incident escalates
 * (ESCALATION.unacknowledgedCriticalMinutes); HIGH every 30 min; MEDIUM and LOW once an hour, the
 * span of the rolling window most of those rules read.
 */
export const DEDUP_WINDOW_MINUTES: Readonly<Record<Severity, number>> = {
  CRITICAL: 15,
  HIGH: 30,
  MEDIUM: 60,
  LOW: 60,
};

/** The dedup window of a severity, in ms. */
export function dedupWindowFor(severity: Severity): number {
  return DEDUP_WINDOW_MINUTES[severity] * MINUTE_MS;
}

/** Start of the epoch-aligned dedup window `atMs` falls in, epoch ms. */
export function windowStartFor(severity: Severity, atMs: number): number {
  const windowMs = dedupWindowFor(severity);
  return Math.floor(atMs / windowMs) * windowMs;
}

/** The readable dedup key: `<worker>#<anomaly>#<window start, ISO-8601>`. */
export function dedupKey(worker: string, code: AnomalyCode, windowStartMs: number): string {
  return `${worker}#${code}#${new Date(windowStartMs).toISOString()}`;
}

const hash = (input: string, chars: number): string => createHash('sha256').update(input).digest('hex').slice(0, chars);

/** The alert id: `alert_` + 128 bits of SHA-256 over (worker, anomaly, window). Header- and key-safe. */
export function alertId(worker: string, code: AnomalyCode, windowStartMs: number): string {
  return `alert_${hash(JSON.stringify([worker, code, windowStartMs]), 32)}`;
}

/** The run's report card, as far as an alert needs it. */
export interface AlertScoreCard {
  readonly status: RunStatus;
  readonly skipReason: SkipReason | null;
  readonly durationMs: number;
  readonly attempts: number;
  /** Null when the run was skipped (a skip is not scored). */
  readonly scores: ComponentScores | null;
}

export interface Alert {
  /** Deterministic from (worker, anomaly, dedup window): the conditional-put key and the webhook-id. */
  readonly id: string;
  readonly dedupKey: string;
  readonly worker: string;
  readonly anomaly: AnomalyCode;
  readonly severity: Severity;
  readonly detail: string;
  readonly observed: number | string | boolean;
  readonly threshold: number | string | boolean;
  /** The schedule slot of the run that showed the anomaly; null for a finding of the health sweep. */
  readonly scheduledTime: string | null;
  /** The Step Functions execution ARN; null when no run is involved. */
  readonly executionId: string | null;
  readonly scoreCard: AlertScoreCard | null;
  /** The design's recovery action for the anomaly; null when it is alert-only. */
  readonly recommendation: string | null;
  /** When the anomaly was observed (ISO-8601): the dedup window and the delivery deadline count from here. */
  readonly raisedAt: string;
  /** Start of the dedup window (ISO-8601). */
  readonly windowStart: string;
  /** The execution in the Step Functions console; null without an execution ARN. */
  readonly consoleUrl: string | null;
  /** Set when the alert is an incident's transition (lib/domain/incident.ts): then `id` is the transition's, not a dedup window's. */
  readonly incident?: AlertIncident;
  /** Set when a missed-run incident opened: the backfill that runs the missed slots (lib/domain/backfill-offer.ts). */
  readonly backfill?: BackfillOffer;
}

/** The incident an alert announces a transition of (OPENED, RESOLVED). */
export interface AlertIncident {
  /** `<worker>~<job|->~<anomaly>~<generation>`: what POST /incidents/{id}/ack takes. */
  readonly id: string;
  readonly transition: 'OPENED' | 'RESOLVED';
  readonly state: string;
  /** The root-cause job, `<worker>.<job|->`. */
  readonly rootJob: string;
  /** The jobs it blocked (dependents, the intel cycle), `<worker>.<job>`. */
  readonly impactedJobs: readonly string[];
  /** ISO-8601. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Detections counted. */
  readonly count: number;
  /** RESOLVED: from first seen to resolved, in ms; else null. */
  readonly durationMs: number | null;
  /** RESOLVED: what healed it; else null. */
  readonly resolution: string | null;
  /**
   * The incidents merged into it, which it explains (its worker's rate incidents opened before it).
   * @default absent - none
   */
  readonly covers?: readonly string[];
}

export interface AlertInput {
  readonly finding: AnomalyFinding;
  /** The report the finding came from, if any: gives the score card, slot and execution. */
  readonly report?: WorkerScoreReport;
  /** Overrides the report's execution id. */
  readonly executionId?: string;
  /** The AWS region of the state machines, for the console link. */
  readonly region: string;
  /**
   * When the anomaly was observed, epoch ms: the stream record's creation time or the report's
   * `completedAt`, never the processing time, so a redelivered record lands in the same window.
   */
  readonly raisedAtMs: number;
}

/**
 * `https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<arn>`.
 * The ARN is percent-encoded except for its `:` separators; null when `executionArn` is not an ARN
 * or the region is not an AWS region (the local runtime's `local-1`: there is no console to link).
 * The Lambda checks AWS_REGION at cold start, so a malformed region never gets here in AWS.
 */
export function executionConsoleUrl(region: string, executionArn: string): string | null {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) return null;
  if (!executionArn.startsWith('arn:')) return null;
  const encoded = encodeURIComponent(executionArn).replace(/%3A/gi, ':');
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encoded}`;
}

/** Builds the alert of one finding. */
export function buildAlert(input: AlertInput): Alert {
  const { finding, report } = input;
  if (finding.worker === '') throw new InvalidPayloadError('alert worker must not be empty');
  if (!Number.isFinite(input.raisedAtMs) || input.raisedAtMs < 0) throw new InvalidPayloadError(`alert raisedAtMs must be epoch ms, got ${input.raisedAtMs}`);
  const windowStartMs = windowStartFor(finding.severity, input.raisedAtMs);
  const executionId = input.executionId ?? report?.executionId ?? null;
  return {
    id: alertId(finding.worker, finding.code, windowStartMs),
    dedupKey: dedupKey(finding.worker, finding.code, windowStartMs),
    worker: finding.worker,
    anomaly: finding.code,
    severity: finding.severity,
    detail: finding.detail,
    observed: finding.observed,
    threshold: finding.threshold,
    scheduledTime: report?.scheduledTime ?? null,
    executionId,
    scoreCard: report
      ? { status: report.status, skipReason: report.skipReason, durationMs: report.durationMs, attempts: report.attempts, scores: report.scores }
      : null,
    recommendation: recoveryFor(finding.code)?.summary ?? null,
    raisedAt: new Date(input.raisedAtMs).toISOString(),
    windowStart: new Date(windowStartMs).toISOString(),
    consoleUrl: executionId === null ? null : executionConsoleUrl(input.region, executionId),
  };
}

// ---------------------------------------------------------------------------------------------
// Timing

export type DeliveryChannel = 'immediate' | 'digest' | 'log-only';

export interface DeliveryPlan {
  readonly channel: DeliveryChannel;
  /** The design's deadline, epoch ms (raisedAt + ALERT_DEADLINE_SECONDS); null when log only. */
  readonly dueByMs: number | null;
}

/** Severities that wait for a digest. HIGH goes out at once: its 5 min deadline leaves no room to batch. */
export const DIGEST_SEVERITIES: readonly Severity[] = ['MEDIUM'];

/** How often the digest flusher runs (e.g. an EventBridge schedule `rate(5 minutes)`), in ms. */
export const DIGEST_FLUSH_INTERVAL_MS = 5 * MINUTE_MS;
/** How late a flush may start (EventBridge Scheduler fires within about a minute), in ms. */
export const DIGEST_FLUSH_LATENESS_MS = MINUTE_MS;

export interface DigestOptions {
  /** @default DIGEST_FLUSH_INTERVAL_MS */
  readonly flushIntervalMs?: number;
  /** @default DIGEST_FLUSH_LATENESS_MS */
  readonly flushLatenessMs?: number;
}

/** A digest alert may be held only while it is due after the latest possible start of the next flush. */
const horizonMs = (options: DigestOptions): number => (options.flushIntervalMs ?? DIGEST_FLUSH_INTERVAL_MS) + (options.flushLatenessMs ?? DIGEST_FLUSH_LATENESS_MS);

/** The deadline of an alert, epoch ms; null for log-only severities. */
export function dueByMs(alert: Pick<Alert, 'severity' | 'raisedAt'>): number | null {
  const deadlineSeconds = ALERT_DEADLINE_SECONDS[alert.severity];
  return deadlineSeconds === null ? null : Date.parse(alert.raisedAt) + deadlineSeconds * 1000;
}

/**
 * CRITICAL and HIGH: immediate. LOW: log only. MEDIUM: the digest, unless even the next flush
 * (started late) would miss its deadline, as for an alert processed late; then immediate.
 */
export function deliveryPlan(alert: Pick<Alert, 'severity' | 'raisedAt'>, nowMs: number, options: DigestOptions = {}): DeliveryPlan {
  const due = dueByMs(alert);
  if (due === null) return { channel: 'log-only', dueByMs: null };
  if (DIGEST_SEVERITIES.includes(alert.severity) && nowMs + horizonMs(options) < due) return { channel: 'digest', dueByMs: due };
  return { channel: 'immediate', dueByMs: due };
}

export interface AlertDigest {
  /** Deterministic from the set of alert ids, so a retried flush reuses the webhook-id. */
  readonly id: string;
  readonly createdAt: string;
  /** The most severe severity inside. */
  readonly severity: Severity;
  /** Sorted, distinct. */
  readonly workers: readonly string[];
  readonly anomalies: readonly AnomalyCode[];
  /** Most severe first, then oldest first. */
  readonly alerts: readonly Alert[];
}

export interface DigestResult {
  /** The digest to send now, or null when nothing is due before the next flush. */
  readonly digest: AlertDigest | null;
  /** Digest alerts that may wait for a later flush. */
  readonly held: readonly Alert[];
  /** Alerts of severities that are never digested (see DIGEST_SEVERITIES); the caller should not have passed them. */
  readonly ignored: readonly Alert[];
}

const bySeverityThenAge = (a: Alert, b: Alert): number =>
  SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || Date.parse(a.raisedAt) - Date.parse(b.raisedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * One flush of the pending digest alerts. When any of them would miss its deadline by waiting for
 * the next flush (allowing for that flush to start late), all of them go out in one digest (the message is sent anyway, so nothing is
 * gained by holding the rest); otherwise all are held. Duplicate ids count once.
 */
export function buildDigest(alerts: readonly Alert[], nowMs: number, options: DigestOptions = {}): DigestResult {
  const horizon = nowMs + horizonMs(options);
  const seen = new Set<string>();
  const eligible: Alert[] = [];
  const ignored: Alert[] = [];
  for (const alert of alerts) {
    if (!DIGEST_SEVERITIES.includes(alert.severity)) ignored.push(alert);
    else if (!seen.has(alert.id)) {
      seen.add(alert.id);
      eligible.push(alert);
    }
  }
  const anyDue = eligible.some((alert) => (dueByMs(alert) ?? Number.POSITIVE_INFINITY) <= horizon);
  if (!anyDue) return { digest: null, held: eligible, ignored };
  return { digest: digestOf(eligible, nowMs), held: [], ignored };
}

/** The digest of these alerts (at least one), created at `nowMs`: its id follows the set of alert ids. */
export function digestOf(alerts: readonly Alert[], nowMs: number): AlertDigest {
  const sorted = [...alerts].sort(bySeverityThenAge);
  const first = sorted[0];
  if (first === undefined) throw new InvalidPayloadError('a digest needs at least one alert');
  return {
    id: `digest_${hash(JSON.stringify(sorted.map((a) => a.id).sort()), 32)}`,
    createdAt: new Date(nowMs).toISOString(),
    severity: first.severity,
    workers: [...new Set(sorted.map((a) => a.worker))].sort(),
    anomalies: [...new Set(sorted.map((a) => a.anomaly))].sort(),
    alerts: sorted,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

export const ALERT_MESSAGE_VERSION = 1;
export const ALERT_MESSAGE_TYPE = 'aurastream.alert';
export const DIGEST_MESSAGE_TYPE = 'aurastream.alert-digest';

export interface AlertEnvelope {
  readonly version: typeof ALERT_MESSAGE_VERSION;
  readonly type: typeof ALERT_MESSAGE_TYPE;
  readonly alert: Alert;
}

export interface DigestEnvelope {
  readonly version: typeof ALERT_MESSAGE_VERSION;
  readonly type: typeof DIGEST_MESSAGE_TYPE;
  readonly digest: AlertDigest;
}

export type AlertMessage = AlertEnvelope | DigestEnvelope;

/**
 * SNS message attributes for subscription filter policies. A string becomes `String`, an array
 * `String.Array` (a filter matches when any element does).
 */
export type AlertMessageAttributes = Readonly<Record<'type' | 'severity' | 'worker' | 'anomaly', string | readonly string[]>>;

export interface RenderedMessage<M extends AlertMessage = AlertMessage> {
  /** ASCII, no control characters, at most SNS_SUBJECT_MAX_CHARS. */
  readonly subject: string;
  /** Plain text for people (email). */
  readonly text: string;
  /** The machine-readable, versioned envelope. */
  readonly json: M;
  /** `JSON.stringify(json)`: the SNS `default` message and the webhook body. */
  readonly body: string;
  readonly attributes: AlertMessageAttributes;
}

/** SNS requires subjects of fewer than 100 printable ASCII characters. */
export const SNS_SUBJECT_MAX_CHARS = 99;

/** Printable ASCII only, whitespace runs collapsed, cut to `max` with an ellipsis. */
export function snsSafeSubject(raw: string, max = SNS_SUBJECT_MAX_CHARS): string {
  const ascii = raw.normalize('NFKD').replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim();
  return ascii.length <= max ? ascii : `${ascii.slice(0, max - 3).trimEnd()}...`;
}

const DUE_TEXT: Readonly<Record<Severity, string>> = {
  CRITICAL: 'alert immediately',
  HIGH: 'alert within 5 min',
  MEDIUM: 'alert within 15 min',
  LOW: 'log only',
};

const fmt = (n: number): string => String(Math.round(n * 10) / 10);

export function scoreCardText(card: AlertScoreCard | null): string {
  if (card === null) return 'no run report';
  const run = `status ${card.status}${card.skipReason === null ? '' : ` (${card.skipReason})`}, ${card.durationMs} ms, ${card.attempts} attempt(s)`;
  if (card.scores === null) return `${run}; not scored`;
  const s = card.scores;
  return `${run}; overall ${fmt(s.overallScore)} (reliability ${fmt(s.reliabilityScore)}, performance ${fmt(s.performanceScore)}, data quality ${fmt(s.dataQualityScore)}, resource ${fmt(s.resourceScore)})`;
}

const minutesText = (ms: number): string => `${Math.round(ms / 60_000)} min`;

function incidentRows(incident: AlertIncident): [string, string][] {
  return [
    ['Incident', `${incident.id} (${incident.transition}, now ${incident.state})`],
    ['Root cause', incident.rootJob],
    ['Impacted', incident.impactedJobs.length === 0 ? '-' : incident.impactedJobs.join(', ')],
    ['Seen', `${incident.count} time(s), ${incident.firstSeen} to ${incident.lastSeen}`],
    ...((incident.covers ?? []).length > 0 ? ([['Covers', `${(incident.covers ?? []).join(', ')} (merged into this incident: symptoms of it)`]] as [string, string][]) : []),
    ...(incident.transition === 'RESOLVED' ? ([['Duration', incident.durationMs === null ? '-' : minutesText(incident.durationMs)], ['Healed by', incident.resolution ?? '-']] as [string, string][]) : []),
  ];
}

function alertLines(alert: Alert): string[] {
  const rows: [string, string][] = [
    ...(alert.incident === undefined ? [] : incidentRows(alert.incident)),
    ['Worker', alert.worker],
    ['Anomaly', `${alert.anomaly} (${RULE_BY_CODE[alert.anomaly].description})`],
    ['Severity', `${alert.severity} (${DUE_TEXT[alert.severity]})`],
    ['Detail', alert.detail],
    ['Observed', `${String(alert.observed)} (threshold ${String(alert.threshold)})`],
    ['Scheduled', alert.scheduledTime ?? '-'],
    ['Raised at', alert.raisedAt],
    ['Score card', scoreCardText(alert.scoreCard)],
    ['Recommendation', alert.recommendation ?? 'none (alert only)'],
    ['Execution', alert.executionId ?? '-'],
    ['Console', alert.consoleUrl ?? '-'],
    ...(alert.backfill ? ([['Backfill', backfillOfferText(alert.backfill)]] as [string, string][]) : []),
    ['Alert id', alert.id],
  ];
  return rows.map(([label, value]) => `${`${label}:`.padEnd(16)}${value}`);
}

export function renderAlert(alert: Alert): RenderedMessage<AlertEnvelope> {
  const json: AlertEnvelope = { version: ALERT_MESSAGE_VERSION, type: ALERT_MESSAGE_TYPE, alert };
  const { incident } = alert;
  const resolved = incident?.transition === 'RESOLVED';
  const on = incident === undefined ? alert.worker : incident.rootJob;
  const impacts = incident === undefined || incident.impactedJobs.length === 0 ? '' : ` (impacts ${incident.impactedJobs.length} job(s))`;
  const subject = resolved
    ? `[AuraStream RESOLVED] ${alert.anomaly} on ${on} after ${minutesText(incident.durationMs ?? 0)}: ${incident.resolution ?? ''}`
    : `[AuraStream ${alert.severity}] ${alert.anomaly} on ${on}${impacts}: ${alert.detail}`;
  const heading = resolved ? `AuraStream incident resolved: ${alert.anomaly} on ${on}` : `AuraStream ${alert.severity} alert: ${alert.anomaly} on ${on}`;
  return {
    subject: snsSafeSubject(subject),
    text: [heading, '', ...alertLines(alert), ''].join('\n'),
    json,
    body: JSON.stringify(json),
    attributes: { type: ALERT_MESSAGE_TYPE, severity: alert.severity, worker: alert.worker, anomaly: alert.anomaly },
  };
}

export function renderDigest(digest: AlertDigest): RenderedMessage<DigestEnvelope> {
  const json: DigestEnvelope = { version: ALERT_MESSAGE_VERSION, type: DIGEST_MESSAGE_TYPE, digest };
  const n = digest.alerts.length;
  const summary = digest.alerts.map((a) => `- ${a.severity} ${a.anomaly} on ${a.worker}: ${a.detail}`);
  const sections = digest.alerts.flatMap((a, i) => ['', `[${i + 1}/${n}] ${a.anomaly} on ${a.worker}`, ...alertLines(a)]);
  return {
    subject: snsSafeSubject(`[AuraStream ${digest.severity} digest] ${n} alert(s) on ${digest.workers.join(', ')}`),
    text: [`AuraStream alert digest: ${n} alert(s), ${digest.createdAt}`, '', ...summary, ...sections, '', `Digest id: ${digest.id}`, ''].join('\n'),
    json,
    body: JSON.stringify(json),
    attributes: { type: DIGEST_MESSAGE_TYPE, severity: digest.severity, worker: digest.workers, anomaly: digest.anomalies },
  };
}

/**
 * The SNS `Message` for `MessageStructure: 'json'`: email subscribers get the text, every other
 * protocol (Lambda, SQS, HTTPS) the JSON envelope.
 */
export function snsMessageStructure(rendered: Pick<RenderedMessage, 'text' | 'body'>): string {
  return JSON.stringify({ default: rendered.body, email: rendered.text });
}

/** Every page's subject starts with it, so a page never reads like an alert (`[AuraStream HIGH] ...`). */
export const PAGE_SUBJECT_PREFIX = '[AuraStream PAGE]';

/**
 * The subject of every on-call page, one style: `[AuraStream PAGE] <TAG> <ANOMALY> on <worker>:
 * <what>`, TAG being the severity (a page as a recovery starts) or ESCALATION.
 */
export function pageSubject(tag: string, anomaly: string, worker: string, what: string): string {
  return snsSafeSubject(`${PAGE_SUBJECT_PREFIX} ${tag} ${anomaly} on ${worker}: ${what}`);
}

/** What every page subject looks like (pageSubject). */
export const PAGE_SUBJECT_PATTERN = /^\[AuraStream PAGE\] [A-Z]+ [A-Z_]+ on [a-z_]+: \S.*$/;
