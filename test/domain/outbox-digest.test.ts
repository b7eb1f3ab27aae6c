/** The MEDIUM digest over outbox entries (planDigest): which held entries go out together, and when. Pure. */
import { describe, expect, it } from 'vitest';
import { buildAlert, renderAlert, type Alert } from '../../lib/domain/alerting.js';
import { ALERT_DEADLINE_SECONDS, RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { OUTBOX_SEND_STALE_MS, planDigest, type PendingOutboxEntry } from '../../lib/domain/outbox.js';

const MIN = 60_000;
const T0 = Date.parse('2026-03-02T06:00:00.000Z');
const DEADLINE_MS = (ALERT_DEADLINE_SECONDS.MEDIUM ?? 0) * 1000;

const alertOf = (code: AnomalyCode, worker: string, atMs: number): Alert =>
  buildAlert({ finding: { code, severity: RULE_BY_CODE[code].severity, worker, detail: `${code} on ${worker}`, observed: 1, threshold: 0 }, region: 'eu-west-1', raisedAtMs: atMs });
const entry = (alert: Alert, over: Partial<PendingOutboxEntry> = {}): PendingOutboxEntry => ({
  id: alert.id,
  kind: 'alert',
  message: renderAlert(alert),
  enqueuedAtMs: Date.parse(alert.raisedAt),
  deliverByMs: Date.parse(alert.raisedAt) + DEADLINE_MS,
  digest: true,
  state: 'PENDING',
  sendClaimedAtMs: null,
  attempts: 0,
  ...over,
});

describe('planDigest', () => {
  const a = alertOf('TIMEOUT_WARNING', 'twitch_streams_worker', T0);
  const b = alertOf('ELEVATED_RETRIES', 'youtube_worker', T0 + 6 * MIN);

  it('holds while the next sweep is still in time, then sends every held MEDIUM entry as one digest', () => {
    const pending = [entry(a), entry(b)];
    expect(planDigest(pending, T0 + 5 * MIN)).toBeNull();
    const plan = planDigest(pending, T0 + 10 * MIN);
    expect(plan?.entries.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(plan?.message.json).toMatchObject({ type: 'aurastream.alert-digest', digest: { severity: 'MEDIUM', workers: ['twitch_streams_worker', 'youtube_worker'], anomalies: ['ELEVATED_RETRIES', 'TIMEOUT_WARNING'] } });
    // Sent in time: the first deadline is 15 min after it was raised.
    expect(T0 + 10 * MIN).toBeLessThanOrEqual(T0 + DEADLINE_MS);
  });

  it('leaves out entries not held for the digest and entries a live delivery holds; takes a stale claim over', () => {
    const claimedAt = T0 + 9 * MIN;
    const live = entry(b, { state: 'SENDING', sendClaimedAtMs: claimedAt });
    const alone = entry(alertOf('SLOW_EXECUTION', 'twitch_streams_worker', T0), { digest: false });
    expect(planDigest([entry(a), live, alone], T0 + 10 * MIN)?.entries.map((e) => e.id)).toEqual([a.id]);
    expect(planDigest([entry(a), live], claimedAt + OUTBOX_SEND_STALE_MS + 1)?.entries.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(planDigest([alone], T0 + 60 * MIN)).toBeNull();
  });
});
