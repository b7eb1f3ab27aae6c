/** The on-call page an escalation publishes. */
import { describe, expect, it } from 'vitest';
import { buildAlert, PAGE_SUBJECT_PATTERN, type Alert } from '../../lib/domain/alerting.js';
import { ANOMALY_RULES, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { ESCALATION_MESSAGE_TYPE, renderEscalation } from '../../lib/domain/escalation.js';

const MIN = 60_000;
const RAISED = Date.parse('2026-03-02T04:07:30.000Z');

const alertOf = (code: AnomalyCode = 'WORKER_CRASH', raisedAtMs = RAISED): Alert => {
  const severity = ANOMALY_RULES.find((r) => r.code === code)?.severity ?? 'LOW';
  return buildAlert({ finding: { code, severity, worker: 'youtube_worker', detail: 'run crashed: States.Timeout', observed: 'States.Timeout', threshold: 'no crash' }, region: 'eu-west-1', raisedAtMs });
};

describe('renderEscalation', () => {
  it('renders a page whose severity attribute the on-call topic filters on', () => {
    const alert = alertOf();
    const page = renderEscalation(alert, 'UNACKNOWLEDGED_CRITICAL', RAISED + 17 * MIN + 5_000);
    expect(page.attributes).toEqual({ type: ESCALATION_MESSAGE_TYPE, severity: 'CRITICAL', worker: 'youtube_worker', anomaly: 'WORKER_CRASH' });
    expect(page.subject).toBe('[AuraStream PAGE] ESCALATION WORKER_CRASH on youtube_worker: unacknowledged for 17 min');
    expect(page.subject).toMatch(PAGE_SUBJECT_PATTERN);
    expect(page.subject.length).toBeLessThan(100);
    expect(page.json).toEqual({ version: 1, type: ESCALATION_MESSAGE_TYPE, reason: 'UNACKNOWLEDGED_CRITICAL', escalatedAt: '2026-03-02T04:24:35.000Z', unacknowledgedMinutes: 17, alert });
    expect(JSON.parse(page.body)).toEqual(page.json);
    expect(page.text).toContain(`Alert id:       ${alert.id}`);
  });
});
