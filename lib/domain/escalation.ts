/**
 * Escalation of unacknowledged critical alerts: "a critical alert unacknowledged for N minutes
 * escalates to an on-call topic" (N = ESCALATION.unacknowledgedCriticalMinutes). The health sweep
 * (lambdas/sweep) applies it every run; this module decides. Pure (node:crypto only, via alerting).
 *
 * Lookup without a scan or an index: alert ids are deterministic from (worker, anomaly, dedup
 * window) (lib/domain/alerting.ts `alertId`), so the ALERT items that may be due are known in
 * advance: every deployed worker x every CRITICAL code x every 15-minute CRITICAL window that
 * started between `now - N - ESCALATION_LOOKBACK_MINUTES` and `now - N`. The sweep point-reads
 * those keys (BatchGetItem; most do not exist) and nothing is added to the anomaly Lambda's write
 * path. The ALERT item stays the one source of truth: `acknowledgedAt`, and the escalation claim
 * (`escalationState` PAGING then ESCALATED) that makes the page go out once.
 *
 * Escalation claim rule (the DynamoDB adapter's ConditionExpression, and the in-memory fakes): a
 * sweep may page about an alert when the alert is CRITICAL, not acknowledged, and either not
 * escalated yet or only PAGING under a claim older than ESCALATION_CLAIM_STALE_MS (a sweep that
 * died between its claim and its page). The page goes out after the claim wins; the claim is then
 * marked ESCALATED, or released when the page failed (so the next sweep tries again).
 */
import { ALERT_MESSAGE_VERSION, dedupWindowFor, pageSubject, windowStartFor, alertId, scoreCardText, type Alert, type AlertMessageAttributes } from './alerting.js';
import { ANOMALY_RULES, RULE_BY_CODE, type AnomalyCode } from './anomaly-rules.js';
import { InvalidPayloadError } from './errors.js';
import { ESCALATION, escalationFor, type EscalationReason } from './recovery.js';

const MINUTE_MS = 60_000;

/**
 * How far past its due time an alert is still looked for, in minutes. The sweep runs every 5
 * minutes; a sweep outage longer than this leaves the alerts that fell due during it unescalated
 * (their own alert went out; the sweep's failures land in its dead-letter queue).
 */
export const ESCALATION_LOOKBACK_MINUTES = 60;

/**
 * After this long a PAGING claim that was never marked ESCALATED (its sweep died between the claim
 * and the mark) may be taken over by a later sweep, in ms. Longer than the sweep's 60 s timeout, so
 * a live sweep's claim is never taken over.
 */
export const ESCALATION_CLAIM_STALE_MS = 5 * MINUTE_MS;

/** The anomaly codes whose alerts are CRITICAL: the only ones that escalate when unacknowledged. */
export const CRITICAL_CODES: readonly AnomalyCode[] = ANOMALY_RULES.filter((r) => r.severity === 'CRITICAL').map((r) => r.code);

export const ESCALATION_STATES = ['PAGING', 'ESCALATED'] as const;
export type EscalationState = (typeof ESCALATION_STATES)[number];

/** One ALERT item the sweep may have to escalate. */
export interface EscalationCandidate {
  readonly alertId: string;
  readonly worker: string;
  readonly anomaly: AnomalyCode;
  /** Start of the CRITICAL dedup window, epoch ms. */
  readonly windowStartMs: number;
}

/**
 * The CRITICAL windows whose alerts may be due at `nowMs`: those that started in
 * `[nowMs - N - lookback, nowMs - N]` (an alert is raised inside its window, so one raised more
 * than N minutes ago has a window that started more than N minutes ago). Oldest first.
 */
export function candidateWindows(nowMs: number, lookbackMinutes: number = ESCALATION_LOOKBACK_MINUTES): number[] {
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new InvalidPayloadError(`nowMs must be epoch ms, got ${nowMs}`);
  if (!Number.isFinite(lookbackMinutes) || lookbackMinutes < 0) throw new InvalidPayloadError(`lookbackMinutes must be >= 0, got ${lookbackMinutes}`);
  const step = dedupWindowFor('CRITICAL');
  const dueEdge = nowMs - ESCALATION.unacknowledgedCriticalMinutes * MINUTE_MS;
  const last = windowStartFor('CRITICAL', dueEdge);
  const first = windowStartFor('CRITICAL', dueEdge - lookbackMinutes * MINUTE_MS);
  const out: number[] = [];
  for (let w = first; w <= last; w += step) out.push(w);
  return out;
}

/** Every ALERT key that may need escalating at `nowMs`: workers x CRITICAL_CODES x candidateWindows. */
export function escalationCandidates(workers: readonly string[], nowMs: number, lookbackMinutes: number = ESCALATION_LOOKBACK_MINUTES): EscalationCandidate[] {
  const windows = candidateWindows(nowMs, lookbackMinutes);
  return [...new Set(workers)].flatMap((worker) =>
    CRITICAL_CODES.flatMap((anomaly) => windows.map((windowStartMs) => ({ alertId: alertId(worker, anomaly, windowStartMs), worker, anomaly, windowStartMs }))),
  );
}

/** What an ALERT item says about its escalation. */
export interface StoredEscalation {
  readonly state: EscalationState;
  readonly token: string;
  readonly claimedAtMs: number;
  /** When it was marked ESCALATED, epoch ms. */
  readonly escalatedAtMs?: number;
}

/** An ALERT item as the sweep reads it. */
export interface AlertEscalationView {
  readonly alert: Alert;
  /** ISO-8601; null when nobody acknowledged the alert. */
  readonly acknowledgedAt: string | null;
  readonly escalation: StoredEscalation | null;
}

export interface EscalationClaim {
  /** Identifies the sweep run: a fresh id per run. */
  readonly token: string;
  /** Epoch ms. */
  readonly nowMs: number;
}

/** The claim rule (see the module comment). */
export function escalationClaimWins(existing: Pick<AlertEscalationView, 'acknowledgedAt' | 'escalation'> & { readonly severity: string }, claim: EscalationClaim): boolean {
  if (existing.severity !== 'CRITICAL' || existing.acknowledgedAt !== null) return false;
  if (existing.escalation === null) return true;
  return existing.escalation.state === 'PAGING' && existing.escalation.claimedAtMs < claim.nowMs - ESCALATION_CLAIM_STALE_MS;
}

export type EscalationSkip = 'not-critical' | 'acknowledged' | 'escalated' | 'paging' | 'not-due';

export type EscalationDecision =
  | { readonly kind: 'page'; readonly reason: EscalationReason; readonly unacknowledgedMs: number }
  | { readonly kind: 'skip'; readonly why: EscalationSkip };

/**
 * Whether the sweep should page about an alert now: escalationFor (lib/domain/recovery.ts) on the
 * alert's severity, raise time and acknowledgement, unless it is escalated or being escalated.
 * Only UNACKNOWLEDGED_CRITICAL is this path's (the recovery Lambda applies the repeated-failure rule).
 */
export function decideEscalation(view: AlertEscalationView, nowMs: number): EscalationDecision {
  const { alert } = view;
  if (alert.severity !== 'CRITICAL') return { kind: 'skip', why: 'not-critical' };
  if (view.acknowledgedAt !== null) return { kind: 'skip', why: 'acknowledged' };
  if (view.escalation?.state === 'ESCALATED') return { kind: 'skip', why: 'escalated' };
  if (view.escalation !== null && !escalationClaimWins({ severity: alert.severity, ...view }, { token: '', nowMs })) return { kind: 'skip', why: 'paging' };
  const raisedAtMs = Date.parse(alert.raisedAt);
  if (!Number.isFinite(raisedAtMs)) throw new InvalidPayloadError(`alert ${alert.id} raisedAt must be an ISO-8601 date-time, got "${alert.raisedAt}"`);
  const reason = escalationFor({ severity: alert.severity, raisedAtMs, acknowledged: false, consecutiveRecoveryFailures: 0, nowMs });
  if (reason !== 'UNACKNOWLEDGED_CRITICAL') return { kind: 'skip', why: 'not-due' };
  return { kind: 'page', reason, unacknowledgedMs: nowMs - raisedAtMs };
}

// ---------------------------------------------------------------------------------------------
// The page

export const ESCALATION_MESSAGE_TYPE = 'aurastream.escalation';

export interface EscalationEnvelope {
  readonly version: typeof ALERT_MESSAGE_VERSION;
  readonly type: typeof ESCALATION_MESSAGE_TYPE;
  readonly reason: EscalationReason;
  /** ISO-8601. */
  readonly escalatedAt: string;
  /** Whole minutes since the alert was raised. */
  readonly unacknowledgedMinutes: number;
  /** RECOVERY_FAILED: the failed recovery's name and reason. */
  readonly recoveryFailure?: string;
  readonly alert: Alert;
}

/** Like alerting's RenderedMessage, for the on-call topic. */
export interface EscalationMessage {
  readonly subject: string;
  readonly text: string;
  readonly json: EscalationEnvelope;
  readonly body: string;
  /** `severity` is the alert's (CRITICAL): the on-call topic's subscriptions filter on it. */
  readonly attributes: AlertMessageAttributes;
}

/**
 * The page for an escalation. `recoveryFailure` (RECOVERY_FAILED): what the failed recovery said; it
 * names the page's subject and is kept in the envelope.
 */
export function renderEscalation(alert: Alert, reason: EscalationReason, nowMs: number, recoveryFailure?: string): EscalationMessage {
  const minutes = Math.floor((nowMs - Date.parse(alert.raisedAt)) / MINUTE_MS);
  const json: EscalationEnvelope = {
    version: ALERT_MESSAGE_VERSION,
    type: ESCALATION_MESSAGE_TYPE,
    reason,
    escalatedAt: new Date(nowMs).toISOString(),
    unacknowledgedMinutes: minutes,
    ...(recoveryFailure !== undefined ? { recoveryFailure } : {}),
    alert,
  };
  const rows: [string, string][] = [
    ['Worker', alert.worker],
    ['Anomaly', `${alert.anomaly} (${RULE_BY_CODE[alert.anomaly].description})`],
    ['Detail', alert.detail],
    ['Raised at', alert.raisedAt],
    ['Unacknowledged', `${minutes} min (escalates after ${ESCALATION.unacknowledgedCriticalMinutes} min)`],
    ['Score card', scoreCardText(alert.scoreCard)],
    ['Recommendation', alert.recommendation ?? 'none (alert only)'],
    ['Execution', alert.executionId ?? '-'],
    ['Console', alert.consoleUrl ?? '-'],
    ['Alert id', alert.id],
  ];
  return {
    subject: pageSubject('ESCALATION', alert.anomaly, alert.worker, reason === 'RECOVERY_FAILED' ? 'recovery FAILED' : `unacknowledged for ${minutes} min`),
    text: [
      reason === 'RECOVERY_FAILED'
        ? `AuraStream escalation: the recovery of a ${alert.severity} incident FAILED (${recoveryFailure ?? 'no reason given'})`
        : `AuraStream escalation: a ${alert.severity} alert has not been acknowledged for ${minutes} minutes`,
      '',
      ...rows.map(([l, v]) => `${`${l}:`.padEnd(16)}${v}`),
      '',
    ].join('\n'),
    json,
    body: JSON.stringify(json),
    attributes: { type: ESCALATION_MESSAGE_TYPE, severity: alert.severity, worker: alert.worker, anomaly: alert.anomaly },
  };
}

// ---------------------------------------------------------------------------------------------
// Ports (lambdas/adapters/dynamo-alert-store.ts and lambdas/sweep/adapters.ts; fakes in the tests)

export interface EscalationStore {
  /** The ALERT items among `alertIds` that exist (any order); unreadable items are left out. */
  readAlerts(alertIds: readonly string[]): Promise<AlertEscalationView[]>;
  /** Claims the alert's escalation (escalationClaimWins as a condition). False when it lost. */
  claimEscalation(alertId: string, claim: EscalationClaim): Promise<boolean>;
  /** PAGING -> ESCALATED, if the claim is still this token's. */
  markEscalated(alertId: string, claim: EscalationClaim): Promise<boolean>;
  /** Gives a claim back after a failed page, if it is still this token's. */
  releaseEscalation(alertId: string, token: string): Promise<void>;
}

export interface OnCallPager {
  /** Publishes the page to the on-call topic (with `attributes` as message attributes). */
  page(message: EscalationMessage): Promise<void>;
}
