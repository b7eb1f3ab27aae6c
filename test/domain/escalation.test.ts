/** Escalation of unacknowledged critical alerts: which ALERT keys are looked up, when one is due, the claim rule, the page. */
import { describe, expect, it } from 'vitest';
import { alertId, buildAlert, PAGE_SUBJECT_PATTERN, type Alert } from '../../lib/domain/alerting.js';
import { ANOMALY_RULES, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import {
  candidateWindows,
  CRITICAL_CODES,
  decideEscalation,
  ESCALATION_CLAIM_STALE_MS,
  ESCALATION_LOOKBACK_MINUTES,
  ESCALATION_MESSAGE_TYPE,
  escalationCandidates,
  escalationClaimWins,
  renderEscalation,
  type AlertEscalationView,
} from '../../lib/domain/escalation.js';
import { ESCALATION } from '../../lib/domain/recovery.js';

const MIN = 60_000;
const N = ESCALATION.unacknowledgedCriticalMinutes;
const RAISED = Date.parse('2026-03-02T04:07:30.000Z');

const alertOf = (code: AnomalyCode = 'WORKER_CRASH', raisedAtMs = RAISED): Alert => {
  const severity = ANOMALY_RULES.find((r) => r.code === code)?.severity ?? 'LOW';
  return buildAlert({ finding: { code, severity, worker: 'youtube_worker', detail: 'run crashed: States.Timeout', observed: 'States.Timeout', threshold: 'no crash' }, region: 'eu-west-1', raisedAtMs });
};
const view = (overrides: Partial<AlertEscalationView> = {}): AlertEscalationView => ({ alert: alertOf(), acknowledgedAt: null, escalation: null, ...overrides });

describe('candidate keys', () => {
  it('CRITICAL_CODES are exactly the CRITICAL rules', () => {
    expect(CRITICAL_CODES).toEqual(['WORKER_CRASH', 'QUEUE_OVERFLOW', 'DATA_CORRUPTION', 'DEPENDENCY_FAILURE', 'RESOURCE_EXHAUSTION']);
  });

  it('covers the 15-minute windows that started between now - N - lookback and now - N', () => {
    const now = Date.parse('2026-03-02T04:23:00.000Z');
    // now - 15 min = 04:08 (window 04:00); minus 60 min = 03:08 (window 03:00).
    expect(candidateWindows(now).map((w) => new Date(w).toISOString())).toEqual([
      '2026-03-02T03:00:00.000Z',
      '2026-03-02T03:15:00.000Z',
      '2026-03-02T03:30:00.000Z',
      '2026-03-02T03:45:00.000Z',
      '2026-03-02T04:00:00.000Z',
    ]);
    // An alert raised N minutes ago or earlier always has its window among them.
    for (let raised = now - N * MIN - ESCALATION_LOOKBACK_MINUTES * MIN; raised <= now - N * MIN; raised += 37_000) {
      expect(candidateWindows(now)).toContain(Math.floor(raised / (15 * MIN)) * 15 * MIN);
    }
    expect(() => candidateWindows(Number.NaN)).toThrow(/epoch ms/);
    expect(() => candidateWindows(now, -1)).toThrow(/lookbackMinutes/);
  });

  it('gives the deterministic alert id of each worker x CRITICAL code x window, once per worker', () => {
    const now = Date.parse('2026-03-02T04:23:00.000Z');
    const candidates = escalationCandidates(['youtube_worker', 'twitch_worker', 'youtube_worker'], now);
    expect(candidates).toHaveLength(2 * CRITICAL_CODES.length * 5);
    expect(new Set(candidates.map((c) => c.alertId)).size).toBe(candidates.length);
    // The id the anomaly Lambda gives an alert raised at RAISED is among them.
    expect(candidates.map((c) => c.alertId)).toContain(alertOf().id);
    expect(candidates[0]).toEqual({ alertId: alertId('youtube_worker', 'WORKER_CRASH', Date.parse('2026-03-02T03:00:00.000Z')), worker: 'youtube_worker', anomaly: 'WORKER_CRASH', windowStartMs: Date.parse('2026-03-02T03:00:00.000Z') });
  });
});

describe('decideEscalation', () => {
  it('pages about a CRITICAL alert unacknowledged for N minutes, not a millisecond earlier', () => {
    expect(decideEscalation(view(), RAISED + N * MIN - 1)).toEqual({ kind: 'skip', why: 'not-due' });
    expect(decideEscalation(view(), RAISED + N * MIN)).toEqual({ kind: 'page', reason: 'UNACKNOWLEDGED_CRITICAL', unacknowledgedMs: N * MIN });
  });

  it('skips acknowledged, escalated, being-escalated and non-critical alerts', () => {
    const late = RAISED + 40 * MIN;
    expect(decideEscalation(view({ acknowledgedAt: '2026-03-02T04:10:00.000Z' }), late)).toEqual({ kind: 'skip', why: 'acknowledged' });
    expect(decideEscalation(view({ escalation: { state: 'ESCALATED', token: 't', claimedAtMs: late - MIN, escalatedAtMs: late - MIN } }), late)).toEqual({ kind: 'skip', why: 'escalated' });
    expect(decideEscalation(view({ escalation: { state: 'PAGING', token: 't', claimedAtMs: late - MIN } }), late)).toEqual({ kind: 'skip', why: 'paging' });
    expect(decideEscalation(view({ alert: alertOf('SLOW_EXECUTION') }), late)).toEqual({ kind: 'skip', why: 'not-critical' });
  });

  it('takes over a PAGING claim once it is stale (its sweep died before marking it)', () => {
    const late = RAISED + 40 * MIN;
    const stale = view({ escalation: { state: 'PAGING', token: 't', claimedAtMs: late - ESCALATION_CLAIM_STALE_MS - 1 } });
    expect(decideEscalation(stale, late)).toMatchObject({ kind: 'page' });
  });
});

describe('escalationClaimWins', () => {
  const now = RAISED + 20 * MIN;
  const claim = { token: 'sweep-b', nowMs: now };
  it('wins on a CRITICAL, unacknowledged, unescalated alert, or over a stale PAGING claim', () => {
    expect(escalationClaimWins({ severity: 'CRITICAL', acknowledgedAt: null, escalation: null }, claim)).toBe(true);
    expect(escalationClaimWins({ severity: 'CRITICAL', acknowledgedAt: null, escalation: { state: 'PAGING', token: 'a', claimedAtMs: now - ESCALATION_CLAIM_STALE_MS - 1 } }, claim)).toBe(true);
  });
  it('loses otherwise', () => {
    expect(escalationClaimWins({ severity: 'HIGH', acknowledgedAt: null, escalation: null }, claim)).toBe(false);
    expect(escalationClaimWins({ severity: 'CRITICAL', acknowledgedAt: '2026-03-02T04:10:00.000Z', escalation: null }, claim)).toBe(false);
    expect(escalationClaimWins({ severity: 'CRITICAL', acknowledgedAt: null, escalation: { state: 'PAGING', token: 'a', claimedAtMs: now - 1000 } }, claim)).toBe(false);
    expect(escalationClaimWins({ severity: 'CRITICAL', acknowledgedAt: null, escalation: { state: 'ESCALATED', token: 'a', claimedAtMs: 0 } }, claim)).toBe(false);
  });
});

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
