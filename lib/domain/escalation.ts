/**
 * The on-call page: what the health sweep (lambdas/sweep/sweep.ts) publishes to the on-call topic
 * when an incident escalates (lib/domain/incident.ts `decideIncidentEscalation`: CRITICAL and
 * unacknowledged for ESCALATION.unacknowledgedCriticalMinutes, or a FAILED recovery), and the
 * OnCallPager port it publishes through. Pure.
 */
import { ALERT_MESSAGE_VERSION, pageSubject, scoreCardText, type Alert, type AlertMessageAttributes } from './alerting.js';
import { RULE_BY_CODE } from './anomaly-rules.js';
import { ESCALATION, type EscalationReason } from './recovery.js';

const MINUTE_MS = 60_000;

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
  /** `severity` is the incident alert's (CRITICAL, or HIGH for RECOVERY_FAILED): the on-call topic's subscriptions filter on it. */
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
    ['Incident', alert.incident?.id ?? '-'],
    ['Alert id', alert.id],
  ];
  return {
    subject: pageSubject('ESCALATION', alert.anomaly, alert.worker, reason === 'RECOVERY_FAILED' ? 'recovery FAILED' : `unacknowledged for ${minutes} min`),
    text: [
      reason === 'RECOVERY_FAILED'
        ? `AuraStream escalation: the recovery of a ${alert.severity} incident FAILED (${recoveryFailure ?? 'no reason given'})`
        : `AuraStream escalation: a ${alert.severity} incident has not been acknowledged for ${minutes} minutes`,
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
// Port (lambdas/sweep/adapters.ts SnsOnCallPager; fakes in the tests)

export interface OnCallPager {
  /** Publishes the page to the on-call topic (with `attributes` as message attributes). */
  page(message: EscalationMessage): Promise<void>;
}
