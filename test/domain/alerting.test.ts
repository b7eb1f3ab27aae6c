import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_MESSAGE_TYPE,
  alertId,
  buildAlert,
  buildDigest,
  digestOf,
  dedupKey,
  dedupWindowFor,
  deliveryPlan,
  DIGEST_MESSAGE_TYPE,
  executionConsoleUrl,
  renderAlert,
  renderDigest,
  SNS_SUBJECT_MAX_CHARS,
  snsMessageStructure,
  snsSafeSubject,
  windowStartFor,
  type Alert,
  type AlertInput,
} from '../../lib/domain/alerting.js';
import { ANOMALY_RULES, SEVERITIES, type AnomalyCode, type AnomalyFinding, type Severity } from '../../lib/domain/anomaly-rules.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-02T06:00:00.000Z');
const REGION = 'eu-west-1';
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker:sched-2026-01-02T06-00';

const severityOf = (code: AnomalyCode): Severity => ANOMALY_RULES.find((r) => r.code === code)?.severity ?? 'LOW';

const finding = (code: AnomalyCode, over: Partial<AnomalyFinding> = {}): AnomalyFinding => ({
  code,
  severity: severityOf(code),
  worker: 'youtube_worker',
  detail: `${code} detail`,
  observed: 42,
  threshold: 10,
  ...over,
});

const report: WorkerScoreReport = {
  workerName: 'youtube_worker',
  jobId: 'youtube_worker',
  executionId: ARN,
  scheduledTime: '2026-01-02T06:00:00Z',
  startedAt: '2026-01-02T06:00:01Z',
  completedAt: '2026-01-02T06:04:00Z',
  status: 'CRASHED',
  skipReason: null,
  success: false,
  durationMs: 239_000,
  attempts: 3,
  lockFence: 7,
  scores: { reliabilityScore: 0, performanceScore: 40, dataQualityScore: 55.55, resourceScore: 90, overallScore: 29.1 },
  anomalies: ['WORKER_CRASH'],
  recommendations: [],
  metrics: {},
  error: { name: 'States.Timeout', cause: 'timed out' },
};

const alertAt = (code: AnomalyCode, atMs: number, over: Partial<AlertInput> = {}): Alert =>
  buildAlert({ finding: finding(code), report, region: REGION, raisedAtMs: atMs, ...over });

describe('dedup windows', () => {
  it.each<[Severity, number]>([
    ['CRITICAL', 15],
    ['HIGH', 30],
    ['MEDIUM', 60],
    ['LOW', 60],
  ])('%s alerts once per %i minutes', (severity, minutes) => {
    expect(dedupWindowFor(severity)).toBe(minutes * MIN);
  });

  it('every window is at least the severity\'s delivery deadline (a held alert is never re-raised before it is sent)', () => {
    expect(dedupWindowFor('HIGH')).toBeGreaterThanOrEqual(5 * MIN);
    expect(dedupWindowFor('MEDIUM')).toBeGreaterThanOrEqual(15 * MIN);
  });

  it('aligns windows to the epoch', () => {
    expect(windowStartFor('CRITICAL', T0 + 14 * MIN + 59_999)).toBe(T0);
    expect(windowStartFor('CRITICAL', T0 + 15 * MIN)).toBe(T0 + 15 * MIN);
    expect(windowStartFor('HIGH', T0 + 31 * MIN)).toBe(T0 + 30 * MIN);
  });

  it('gives a readable dedup key', () => {
    expect(dedupKey('youtube_worker', 'SLOW_EXECUTION', T0)).toBe('youtube_worker#SLOW_EXECUTION#2026-01-02T06:00:00.000Z');
  });

  it('the same anomaly on the same worker in one window is one alert (same id), whatever else differs', () => {
    const a = alertAt('WORKER_CRASH', T0 + MIN);
    const b = buildAlert({ finding: finding('WORKER_CRASH', { detail: 'other', observed: 'x' }), region: REGION, raisedAtMs: T0 + 14 * MIN });
    expect(b.id).toBe(a.id);
    expect(b.dedupKey).toBe(a.dedupKey);
  });

  it('a new window, another anomaly or another worker is a new alert', () => {
    const a = alertAt('WORKER_CRASH', T0 + MIN);
    expect(alertAt('WORKER_CRASH', T0 + 15 * MIN).id).not.toBe(a.id);
    expect(alertAt('QUEUE_OVERFLOW', T0 + MIN).id).not.toBe(a.id);
    expect(buildAlert({ finding: finding('WORKER_CRASH', { worker: 'twitch_worker' }), region: REGION, raisedAtMs: T0 + MIN }).id).not.toBe(a.id);
  });

  it('ids are deterministic, header-safe and distinct across (worker, code, window)', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.stringMatching(/^[a-z_#]{1,20}$/), fc.constantFrom(...ANOMALY_RULES.map((r) => r.code)), fc.nat({ max: 1000 })),
        fc.tuple(fc.stringMatching(/^[a-z_#]{1,20}$/), fc.constantFrom(...ANOMALY_RULES.map((r) => r.code)), fc.nat({ max: 1000 })),
        ([w1, c1, n1], [w2, c2, n2]) => {
          const id1 = alertId(w1, c1, n1 * 15 * MIN);
          expect(id1).toBe(alertId(w1, c1, n1 * 15 * MIN));
          expect(id1).toMatch(/^alert_[0-9a-f]{32}$/);
          if (w1 !== w2 || c1 !== c2 || n1 !== n2) expect(alertId(w2, c2, n2 * 15 * MIN)).not.toBe(id1);
        },
      ),
    );
  });
});

describe('buildAlert', () => {
  it('carries the finding, the run, the score card, the recommendation and the console link', () => {
    const alert = alertAt('WORKER_CRASH', T0 + 4 * MIN);
    expect(alert).toMatchObject({
      worker: 'youtube_worker',
      anomaly: 'WORKER_CRASH',
      severity: 'CRITICAL',
      detail: 'WORKER_CRASH detail',
      observed: 42,
      threshold: 10,
      scheduledTime: '2026-01-02T06:00:00Z',
      executionId: ARN,
      scoreCard: { status: 'CRASHED', skipReason: null, durationMs: 239_000, attempts: 3, scores: report.scores },
      recommendation: 'Restart worker, alert on-call',
      raisedAt: '2026-01-02T06:04:00.000Z',
      windowStart: '2026-01-02T06:00:00.000Z',
      consoleUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
    });
  });

  it('works without a report (health-sweep findings), and has no recommendation for alert-only anomalies', () => {
    const alert = buildAlert({ finding: finding('CACHE_MISS'), region: REGION, raisedAtMs: T0 });
    expect(alert).toMatchObject({ scheduledTime: null, executionId: null, scoreCard: null, recommendation: null, consoleUrl: null });
  });

  it('links no console for a region that is not an AWS region (the local runtime), and refuses a bad worker or time', () => {
    expect(alertAt('WORKER_CRASH', T0, { region: 'local-1' }).consoleUrl).toBeNull();
    expect(alertAt('WORKER_CRASH', T0, { region: 'eu-west-1' }).consoleUrl).toMatch(/^https:\/\/eu-west-1\.console\.aws\.amazon\.com\//);
    expect(() => buildAlert({ finding: finding('WORKER_CRASH', { worker: '' }), region: REGION, raisedAtMs: T0 })).toThrow(/worker/);
    expect(() => alertAt('WORKER_CRASH', Number.NaN)).toThrow(/raisedAtMs/);
  });
});

describe('executionConsoleUrl', () => {
  it('keeps the ARN readable and percent-encodes what a fragment cannot hold', () => {
    expect(executionConsoleUrl('us-east-1', 'arn:aws:states:us-east-1:1:execution:sm:run é 1')).toBe(
      'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:1:execution:sm:run%20%C3%A9%201',
    );
  });

  it('is null for an id that is not an ARN (local runs)', () => {
    expect(executionConsoleUrl('us-east-1', 'local-run-1')).toBeNull();
  });
});

describe('deliveryPlan', () => {
  it.each<[AnomalyCode, number, string, number | null]>([
    ['WORKER_CRASH', 0, 'immediate', 0],
    ['SLOW_EXECUTION', 0, 'immediate', 5 * MIN],
    ['ELEVATED_RETRIES', 0, 'digest', 15 * MIN],
    ['ELEVATED_RETRIES', 8 * MIN, 'digest', 15 * MIN],
    // The next flush (5 min, up to 1 min late) would miss the deadline: send now.
    ['ELEVATED_RETRIES', 9 * MIN, 'immediate', 15 * MIN],
    ['ELEVATED_RETRIES', 20 * MIN, 'immediate', 15 * MIN],
    ['SKIP_DUE_TO_LOCK', 0, 'log-only', null],
  ])('%s processed %i ms after it was raised: %s', (code, lagMs, channel, dueOffsetMs) => {
    const alert = alertAt(code, T0);
    expect(deliveryPlan(alert, T0 + lagMs)).toEqual({ channel, dueByMs: dueOffsetMs === null ? null : T0 + dueOffsetMs });
  });

  it('maps every severity as the design says', () => {
    const channels = Object.fromEntries(SEVERITIES.map((s) => [s, deliveryPlan({ severity: s, raisedAt: new Date(T0).toISOString() }, T0).channel]));
    expect(channels).toEqual({ CRITICAL: 'immediate', HIGH: 'immediate', MEDIUM: 'digest', LOW: 'log-only' });
  });
});

describe('buildDigest', () => {
  const medium = (code: AnomalyCode, worker: string, atMs: number): Alert => buildAlert({ finding: finding(code, { worker }), region: REGION, raisedAtMs: atMs });

  it('holds MEDIUM alerts while the next flush still meets their deadline', () => {
    const result = buildDigest([medium('CACHE_MISS', 'a', T0)], T0 + 5 * MIN);
    expect(result.digest).toBeNull();
    expect(result.held.map((a) => a.worker)).toEqual(['a']);
  });

  it('sends every pending alert in one digest once any of them is due before the next flush', () => {
    const old = medium('CACHE_MISS', 'b_worker', T0);
    const fresh = medium('PARTIAL_SUCCESS', 'a_worker', T0 + 9 * MIN);
    const { digest, held, ignored } = buildDigest([fresh, old, fresh], T0 + 10 * MIN);
    expect(held).toEqual([]);
    expect(ignored).toEqual([]);
    expect(digest?.alerts.map((a) => a.id)).toEqual([old.id, fresh.id]); // oldest first, duplicates once
    expect(digest).toMatchObject({ severity: 'MEDIUM', workers: ['a_worker', 'b_worker'], anomalies: ['CACHE_MISS', 'PARTIAL_SUCCESS'], createdAt: new Date(T0 + 10 * MIN).toISOString() });
    expect(digest?.id).toMatch(/^digest_[0-9a-f]{32}$/);
  });

  it('gives the same set of alerts the same digest id (a retried flush reuses its webhook-id)', () => {
    const a = medium('CACHE_MISS', 'a', T0);
    const b = medium('CACHE_MISS', 'b', T0);
    expect(buildDigest([a, b], T0 + 12 * MIN).digest?.id).toBe(buildDigest([b, a], T0 + 13 * MIN).digest?.id);
    expect(buildDigest([a], T0 + 12 * MIN).digest?.id).not.toBe(buildDigest([a, b], T0 + 12 * MIN).digest?.id);
  });

  it('digestOf: a narrowed set of alerts is a digest of its own (its own id, workers and anomalies); none is refused', () => {
    const a = medium('CACHE_MISS', 'a', T0);
    const b = medium('CACHE_MISS', 'b', T0);
    const full = buildDigest([a, b], T0 + 12 * MIN).digest;
    const narrowed = digestOf([a], T0 + 12 * MIN);
    expect(full && digestOf(full.alerts, T0 + 12 * MIN)).toEqual(full);
    expect(narrowed).toMatchObject({ id: buildDigest([a], T0 + 12 * MIN).digest?.id, workers: ['a'], alerts: [a] });
    expect(narrowed.id).not.toBe(full?.id);
    expect(() => digestOf([], T0)).toThrow(/at least one alert/);
  });

  it('ignores severities that are not digested', () => {
    const critical = alertAt('WORKER_CRASH', T0);
    const low = alertAt('SKIP_DUE_TO_LOCK', T0);
    expect(buildDigest([critical, low], T0 + 60 * MIN)).toEqual({ digest: null, held: [], ignored: [critical, low] });
  });

  it('never lets a MEDIUM alert pass its deadline when flushed every 5 min, up to 1 min late', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5 * MIN }), fc.nat({ max: 5 * MIN - 1 }), fc.array(fc.nat({ max: MIN }), { minLength: 10, maxLength: 10 }), (raisedOffset, phase, lateness) => {
        const alert = medium('CACHE_MISS', 'w', T0 + raisedOffset);
        const due = T0 + raisedOffset + 15 * MIN;
        // Flushes are scheduled every 5 min from `phase`; each starts up to 1 min late.
        for (let k = 0; k < lateness.length; k++) {
          const flushAt = T0 + phase + k * 5 * MIN + (lateness[k] ?? 0);
          if (flushAt < T0 + raisedOffset) continue;
          if (buildDigest([alert], flushAt).digest !== null) {
            expect(flushAt).toBeLessThanOrEqual(due);
            return;
          }
        }
        throw new Error('never flushed');
      }),
    );
  });
});

describe('rendering', () => {
  it('renders a readable text with every required field', () => {
    const alert = alertAt('WORKER_CRASH', T0 + 4 * MIN);
    const { text } = renderAlert(alert);
    for (const expected of [
      'youtube_worker',
      'WORKER_CRASH (Worker process died unexpectedly)',
      'CRITICAL (alert immediately)',
      'WORKER_CRASH detail',
      'Observed:       42 (threshold 10)',
      'status CRASHED, 239000 ms, 3 attempt(s); overall 29.1 (reliability 0, performance 40, data quality 55.6, resource 90)',
      'Recommendation: Restart worker, alert on-call',
      `Console:        ${alert.consoleUrl ?? 'missing'}`,
      `Alert id:       ${alert.id}`,
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('wraps the alert in a versioned envelope, as the body', () => {
    const alert = alertAt('SLOW_EXECUTION', T0);
    const rendered = renderAlert(alert);
    expect(rendered.json).toEqual({ version: 1, type: ALERT_MESSAGE_TYPE, alert });
    expect(JSON.parse(rendered.body)).toEqual(rendered.json);
  });

  it('sets filter-policy attributes', () => {
    expect(renderAlert(alertAt('SLOW_EXECUTION', T0)).attributes).toEqual({ type: 'aurastream.alert', severity: 'HIGH', worker: 'youtube_worker', anomaly: 'SLOW_EXECUTION' });
  });

  it('keeps subjects within SNS limits, whatever the detail', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: 'binary' }), fc.stringMatching(/^[a-z_]{1,60}$/), (detail, worker) => {
        const { subject } = renderAlert(buildAlert({ finding: finding('STALE_DATA', { detail, worker }), region: REGION, raisedAtMs: T0 }));
        expect(subject.length).toBeLessThanOrEqual(SNS_SUBJECT_MAX_CHARS);
        expect(subject.length).toBeLessThanOrEqual(100);
        expect(subject).toMatch(/^\[AuraStream HIGH\] [\x20-\x7e]*$/);
      }),
    );
  });

  it('cuts long subjects with an ellipsis and strips control and non-ASCII characters', () => {
    expect(snsSafeSubject(`a\nb\tc — ${'x'.repeat(200)}`)).toMatch(/^a b c x+\.\.\.$/);
    expect(snsSafeSubject('é')).toBe('e');
  });

  it('renders a digest with each alert, String.Array attributes and its own envelope type', () => {
    const a = buildAlert({ finding: finding('CACHE_MISS', { worker: 'a' }), region: REGION, raisedAtMs: T0 });
    const b = buildAlert({ finding: finding('TIMEOUT_WARNING', { worker: 'b' }), report, region: REGION, raisedAtMs: T0 });
    const digest = buildDigest([a, b], T0 + 14 * MIN).digest;
    if (digest === null) throw new Error('expected a digest');
    const rendered = renderDigest(digest);
    expect(rendered.subject).toBe('[AuraStream MEDIUM digest] 2 alert(s) on a, b');
    expect(rendered.text).toContain('- MEDIUM CACHE_MISS on a: CACHE_MISS detail');
    expect(rendered.text).toMatch(/\[[12]\/2\] TIMEOUT_WARNING on b/);
    expect(rendered.text).toContain(`Digest id: ${digest.id}`);
    expect(rendered.json).toEqual({ version: 1, type: DIGEST_MESSAGE_TYPE, digest });
    expect(rendered.attributes).toEqual({ type: DIGEST_MESSAGE_TYPE, severity: 'MEDIUM', worker: ['a', 'b'], anomaly: ['CACHE_MISS', 'TIMEOUT_WARNING'] });
  });

  it('builds the SNS MessageStructure json: text for email, the envelope elsewhere', () => {
    const rendered = renderAlert(alertAt('WORKER_CRASH', T0));
    expect(JSON.parse(snsMessageStructure(rendered))).toEqual({ default: rendered.body, email: rendered.text });
  });
});
