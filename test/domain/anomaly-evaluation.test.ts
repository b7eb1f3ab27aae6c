import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAlert } from '../../lib/domain/alerting.js';
import {
  actionable,
  ALERT_CLAIM_STALE_MS,
  ALERT_TTL_GRACE_SECONDS,
  alertExpiresAt,
  alertPk,
  budgetOf,
  claimWins,
  evaluateReport,
  EXECUTION_NAME_PATTERN,
  healthFromMetrics,
  observedAtMs,
  recoveryRequest,
  windowBucketKeys,
  WINDOW_RULE_CODES,
  type AnomalyEvaluationInput,
  type StoredAlertClaim,
} from '../../lib/domain/anomaly-evaluation.js';
import { ANOMALY_CODES, SEVERITIES, THRESHOLDS, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import { recoveryFor, routingFor } from '../../lib/domain/recovery.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { addToBucket, EMPTY_BUCKET, windowDelta, type WindowBucket } from '../../lib/domain/window-stats.js';
import { jobOf } from '../../lib/registry/index.js';

const WORKER = 'youtube_worker';
const TRENDING = jobOf(WORKER, 'trending'); // 60 s expected, 300 s timeout
/** 06:30 UTC: the previous hour's bucket still counts for half. */
const HALF_PAST = Date.parse('2026-01-02T06:30:00.000Z');

const report = (overrides: Partial<WorkerScoreReport> = {}): WorkerScoreReport => ({
  workerName: WORKER,
  jobId: 'trending',
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker-trending:run-1',
  scheduledTime: '2026-01-02T06:29:00.000Z',
  startedAt: '2026-01-02T06:29:01.000Z',
  completedAt: '2026-01-02T06:30:00.000Z',
  status: 'SUCCEEDED',
  skipReason: null,
  success: true,
  durationMs: 40_000,
  attempts: 1,
  lockFence: 7,
  scores: { reliabilityScore: 100, performanceScore: 100, dataQualityScore: 100, resourceScore: 100, overallScore: 100 },
  anomalies: [],
  recommendations: [],
  metrics: { items_ok: 12, items_failed: 0 },
  error: null,
  ...overrides,
});

/** A bucket as the record step builds it: one windowDelta per run. */
function bucketOf(runs: readonly Partial<Pick<WorkerScoreReport, 'status' | 'skipReason' | 'attempts' | 'durationMs'>>[]): WindowBucket {
  return runs.reduce<WindowBucket>((b, r) => addToBucket(b, windowDelta({ status: 'SUCCEEDED', skipReason: null, attempts: 1, durationMs: 40_000, ...r })), EMPTY_BUCKET);
}
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

const input = (overrides: Partial<AnomalyEvaluationInput> = {}): AnomalyEvaluationInput => ({
  report: report(),
  job: TRENDING,
  current: EMPTY_BUCKET,
  previous: EMPTY_BUCKET,
  nowMs: HALF_PAST,
  ...overrides,
});
const codes = (i: AnomalyEvaluationInput): AnomalyCode[] => evaluateReport(i).findings.map((f) => f.finding.code);

describe('steady state', () => {
  it('a successful run in a healthy hour has no findings', () => {
    const current = bucketOf(times(12, {}));
    const previous = bucketOf(times(12, {}));
    const evaluation = evaluateReport(input({ current, previous }));
    expect(evaluation.findings).toEqual([]);
    expect(evaluation.window.runs).toBe(18); // 12 + 12 x 0.5
  });
});

describe('window rules, from realistic buckets', () => {
  it('HIGH_FAILURE_RATE: 2 of 10 runs failed this hour (20% > 10%) -> HIGH, circuit + rate recovery', () => {
    const current = bucketOf([...times(8, {}), { status: 'FAILED' }, { status: 'CRASHED' }]);
    const [finding] = evaluateReport(input({ current })).findings;
    expect(finding?.finding).toMatchObject({ code: 'HIGH_FAILURE_RATE', severity: 'HIGH', worker: WORKER, observed: 20, threshold: 10 });
    expect(finding?.source).toBe('window');
    expect(finding?.routing).toEqual({ severity: 'HIGH', deadlineSeconds: 300, logOnly: false });
    expect(finding?.recovery?.actions).toEqual(['OPEN_CIRCUIT', 'REDUCE_RATE']);
  });

  it('HIGH_FAILURE_RATE weighs the previous hour by the part still inside the window', () => {
    // Previous hour: 12 runs, 4 failed. Now: 6 runs, none failed.
    const current = bucketOf(times(6, {}));
    const previous = bucketOf([...times(8, {}), ...times(4, { status: 'FAILED' as const })]);
    // At 06:30 the previous bucket counts half: 2 failures of 12 runs = 16.7% -> fires.
    expect(codes(input({ current, previous, nowMs: HALF_PAST }))).toEqual(['HIGH_FAILURE_RATE']);
    // At 06:54 it counts 10%: 0.4 failures of 7.2 runs = 5.6% -> quiet (and below the minimum sample).
    expect(codes(input({ current, previous, nowMs: Date.parse('2026-01-02T06:54:00.000Z') }))).toEqual([]);
  });

  it(`HIGH_FAILURE_RATE needs a minimum sample of ${THRESHOLDS.failureRateMinFailures} failures: 1 failure in 3 runs is quiet, 2 in 3 fire`, () => {
    const late = Date.parse('2026-01-02T06:59:59.999Z');
    expect(codes(input({ current: bucketOf([...times(2, {}), { status: 'FAILED' }]), nowMs: late }))).not.toContain('HIGH_FAILURE_RATE');
    expect(codes(input({ current: bucketOf([{ status: 'FAILED' }]), nowMs: late }))).not.toContain('HIGH_FAILURE_RATE');
    expect(codes(input({ current: bucketOf([...times(1, {}), ...times(2, { status: 'FAILED' as const })]), nowMs: late }))).toContain('HIGH_FAILURE_RATE');
    // Still a rate: 2 failures in 20 runs is 10 %, not above it.
    expect(codes(input({ current: bucketOf([...times(18, {}), ...times(2, { status: 'FAILED' as const })]), nowMs: late }))).not.toContain('HIGH_FAILURE_RATE');
  });

  it('HIGH_FAILURE_RATE is strict: exactly 10% does not fire', () => {
    const current = bucketOf([...times(9, {}), { status: 'FAILED' }]);
    expect(codes(input({ current, nowMs: Date.parse('2026-01-02T06:59:59.999Z') }))).not.toContain('HIGH_FAILURE_RATE');
  });

  it('LOCK_CONTENTION: more than 3 LOCK_HELD skips in the rolling hour -> HIGH, extend the lease', () => {
    const current = bucketOf([...times(2, { status: 'SKIPPED' as const, skipReason: 'LOCK_HELD' as const, attempts: 0, durationMs: 0 }), ...times(4, {})]);
    const previous = bucketOf(times(4, { status: 'SKIPPED' as const, skipReason: 'LOCK_HELD' as const, attempts: 0, durationMs: 0 }));
    const evaluation = evaluateReport(input({ report: report({ status: 'SKIPPED', skipReason: 'LOCK_HELD', success: false, attempts: 0, durationMs: 0, scores: null }), current, previous }));
    const lock = evaluation.findings.find((f) => f.finding.code === 'LOCK_CONTENTION');
    expect(lock?.finding.observed).toBe(4); // 2 + 4 x 0.5
    expect(lock?.recovery?.actions).toEqual(['EXTEND_LEASE']);
    // Three is not "more than three".
    expect(codes(input({ current: bucketOf(times(3, { status: 'SKIPPED' as const, skipReason: 'LOCK_HELD' as const })) }))).not.toContain('LOCK_CONTENTION');
  });

  it('ELEVATED_RETRIES: 2 of 20 runs needed a retry (10% > 5%) -> MEDIUM, alert only', () => {
    const current = bucketOf([...times(18, {}), ...times(2, { attempts: 2 })]);
    const [finding] = evaluateReport(input({ current })).findings;
    expect(finding?.finding).toMatchObject({ code: 'ELEVATED_RETRIES', severity: 'MEDIUM', observed: 10, threshold: 5 });
    expect(finding?.routing).toEqual({ severity: 'MEDIUM', deadlineSeconds: 900, logOnly: false });
    expect(finding?.recovery).toBeNull();
  });

  it('no runs in the window (only skips) raises no rate rule', () => {
    const current = bucketOf(times(3, { status: 'SKIPPED' as const, skipReason: 'FRESH_DATA' as const }));
    expect(codes(input({ current }))).toEqual([]);
  });

  it('a window code listed on a report is judged on the window, not taken from the report', () => {
    expect(codes(input({ report: report({ anomalies: ['HIGH_FAILURE_RATE'] }) }))).toEqual([]);
  });
});

describe("the report's own anomalies", () => {
  it('WORKER_CRASH from a CRASHED report: CRITICAL, immediate, restart + page, with the rule detail', () => {
    const crashed = report({ status: 'CRASHED', success: false, error: { name: 'States.Timeout', cause: 'timed out' }, scores: null, anomalies: ['WORKER_CRASH'] });
    const evaluation = evaluateReport(input({ report: crashed, current: bucketOf([...times(20, {}), { status: 'CRASHED' }]) }));
    expect(evaluation.findings.map((f) => f.finding.code)).toEqual(['WORKER_CRASH']); // 1 of 21 failed: below 10%
    const [crash] = evaluation.findings;
    expect(crash?.finding).toEqual({ code: 'WORKER_CRASH', severity: 'CRITICAL', worker: WORKER, detail: 'run crashed: States.Timeout', observed: 'States.Timeout', threshold: 'no crash' });
    expect(crash?.source).toBe('report');
    expect(crash?.routing).toEqual({ severity: 'CRITICAL', deadlineSeconds: 0, logOnly: false });
    expect(crash?.recovery).toEqual(recoveryFor('WORKER_CRASH'));
  });

  it('a listed code whose facts are not stored still counts, with the rule description as detail', () => {
    const [finding] = evaluateReport(input({ report: report({ anomalies: ['RESOURCE_EXHAUSTION'] }) })).findings;
    expect(finding?.finding).toMatchObject({ code: 'RESOURCE_EXHAUSTION', severity: 'CRITICAL', detail: 'Memory > 90% or disk full (reported by the run)' });
    expect(finding?.recovery).toBeNull(); // alert only: no row in the design's table
  });

  it('the stored facts give the detail when they reproduce the finding (metrics, budget)', () => {
    const hot = evaluateReport(input({ report: report({ anomalies: ['RESOURCE_EXHAUSTION'], metrics: { memory_percent: 95.5 } }) })).findings[0];
    expect(hot?.finding.detail).toBe('memory 95.5% > 90%');
    const slow = evaluateReport(input({ report: report({ durationMs: 130_000, anomalies: ['SLOW_EXECUTION'] }) })).findings[0];
    expect(slow?.finding).toMatchObject({ code: 'SLOW_EXECUTION', detail: 'took 130000 ms, expected 60000 ms', observed: 130_000, threshold: 120_000 });
    expect(slow?.recovery?.actions).toEqual(['RAISE_TIMEOUT']);
  });

  it('the record step is the authority on report and budget rules: an unlisted one is not re-raised', () => {
    expect(codes(input({ report: report({ durationMs: 290_000, anomalies: [] }) }))).toEqual([]);
  });

  it('without the registry job the listed code still counts (the budget just cannot give a detail)', () => {
    const [slow] = evaluateReport(input({ job: undefined, report: report({ durationMs: 130_000, anomalies: ['SLOW_EXECUTION'] }) })).findings;
    expect(slow?.finding.detail).toBe('Duration > 2x expected (reported by the run)');
  });

  it('DEPENDENCY_FAILURE quotes the skip detail; LOW skips are log only with no recovery', () => {
    const dep = report({ status: 'SKIPPED', skipReason: 'DEPENDENCY_FAILED', success: false, attempts: 0, durationMs: 0, scores: null, anomalies: ['DEPENDENCY_FAILURE'], recommendations: ['youtube_worker failed at 06:00'] });
    expect(evaluateReport(input({ report: dep })).findings[0]?.finding.detail).toBe('skipped: youtube_worker failed at 06:00');
    const locked = report({ status: 'SKIPPED', skipReason: 'LOCK_HELD', success: false, attempts: 0, durationMs: 0, scores: null, anomalies: ['SKIP_DUE_TO_LOCK'] });
    const evaluation = evaluateReport(input({ report: locked }));
    expect(evaluation.findings).toHaveLength(1);
    expect(evaluation.findings[0]?.routing).toEqual({ severity: 'LOW', deadlineSeconds: null, logOnly: true });
    expect(evaluation.findings[0]?.recovery).toBeNull();
    expect(actionable(evaluation)).toEqual([]);
  });
});

describe('health facts from the metrics', () => {
  it('reads the known metric names, ignoring wrong types, NaN and negatives', () => {
    expect(healthFromMetrics({ queue_depth: 1500, memory_percent: -1, quota_remaining_percent: Number.NaN, cache_miss: 'yes', disk_full: false, corrupt_records: 2, other: 5 })).toEqual({
      queueDepth: 1500,
      diskFull: false,
      corruptRecords: 2,
    });
  });

  it('raises health rules from metrics even when the report did not list them', () => {
    const evaluation = evaluateReport(input({ report: report({ metrics: { quota_remaining_percent: 12, queue_depth: 1200 } }) }));
    expect(evaluation.findings.map((f) => [f.finding.code, f.source])).toEqual([
      ['QUEUE_OVERFLOW', 'metrics'],
      ['API_QUOTA_LOW', 'metrics'],
    ]);
    expect(evaluation.findings[1]?.recovery?.actions).toEqual(['SLOW_SCHEDULE']);
  });
});

describe('ordering and determinism', () => {
  it('most severe first, one finding per code', () => {
    const current = bucketOf([...times(15, {}), ...times(3, { status: 'FAILED' as const }), ...times(2, { attempts: 3 })]);
    const crashed = report({ status: 'PARTIAL', anomalies: ['PARTIAL_SUCCESS', 'DATA_CORRUPTION', 'PARTIAL_SUCCESS'], metrics: { items_failed: 2, corrupt_records: 1 } });
    expect(codes(input({ report: crashed, current }))).toEqual(['DATA_CORRUPTION', 'HIGH_FAILURE_RATE', 'ELEVATED_RETRIES', 'PARTIAL_SUCCESS']);
  });

  const bucketArb = fc.record({
    runs: fc.nat(50),
    failures: fc.nat(50),
    crashes: fc.nat(5),
    retried: fc.nat(50),
    attempts: fc.nat(100),
    partials: fc.nat(10),
    skips: fc.nat(10),
    lockFailures: fc.nat(10),
    durationMsSum: fc.nat(1_000_000),
  });

  it('is deterministic, and every finding carries the routing and recovery of its code (property)', () => {
    fc.assert(
      fc.property(
        bucketArb,
        bucketArb,
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') }),
        fc.subarray([...ANOMALY_CODES]),
        fc.dictionary(fc.constantFrom('queue_depth', 'memory_percent', 'quota_remaining_percent', 'cache_miss', 'corrupt_records', 'x'), fc.oneof(fc.double(), fc.boolean(), fc.string())),
        (current, previous, nowMs, listed, metrics) => {
          const i = input({ current, previous, nowMs, report: report({ anomalies: listed, metrics }) });
          const a = evaluateReport(i);
          expect(evaluateReport(i)).toEqual(a);
          const seen = a.findings.map((f) => f.finding.code);
          expect(new Set(seen).size).toBe(seen.length);
          for (const code of listed) if (!(WINDOW_RULE_CODES as readonly AnomalyCode[]).includes(code)) expect(seen).toContain(code);
          for (const f of a.findings) {
            expect(f.routing).toEqual(routingFor(f.finding.code));
            expect(f.recovery).toEqual(f.routing.logOnly ? null : recoveryFor(f.finding.code));
          }
          const ranks = a.findings.map((f) => SEVERITIES.indexOf(f.routing.severity));
          expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
        },
      ),
    );
  });
});

describe('inputs', () => {
  it('budgetOf, observedAtMs and windowBucketKeys', () => {
    expect(budgetOf(TRENDING)).toEqual({ expectedDurationMs: 60_000, timeoutMs: 300_000 });
    expect(observedAtMs(report())).toBe(HALF_PAST);
    expect(() => observedAtMs(report({ completedAt: 'yesterday' }))).toThrow(InvalidPayloadError);
    expect(windowBucketKeys(HALF_PAST)).toEqual({ current: '2026-01-02T06', previous: '2026-01-02T05' });
    expect(windowBucketKeys(Date.parse('2026-01-01T00:10:00Z'))).toEqual({ current: '2026-01-01T00', previous: '2025-12-31T23' });
  });
});

describe('recovery requests and alert claims', () => {
  const crashAlert = buildAlert({
    finding: { code: 'WORKER_CRASH', severity: 'CRITICAL', worker: WORKER, detail: 'run crashed: States.Timeout', observed: 'States.Timeout', threshold: 'no crash' },
    report: report({ status: 'CRASHED' }),
    region: 'eu-west-1',
    raisedAtMs: HALF_PAST,
  });

  it('names the recovery execution after the alert id, with the generic input', () => {
    const plan = recoveryFor('WORKER_CRASH');
    if (plan === null) throw new Error('WORKER_CRASH has a recovery');
    const request = recoveryRequest(crashAlert, plan, 'trending');
    expect(request.name).toBe(crashAlert.id);
    expect(request.name).toMatch(EXECUTION_NAME_PATTERN);
    expect(request.input).toEqual({ alertId: crashAlert.id, worker: WORKER, job: 'trending', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', actions: ['RESTART_WORKER', 'PAGE_ONCALL'], scheduledTime: '2026-01-02T06:29:00.000Z' });
    expect(recoveryRequest(crashAlert, plan, 'trending')).toEqual(request);
    const other = recoveryFor('STALE_DATA');
    if (other === null) throw new Error('STALE_DATA has a recovery');
    expect(() => recoveryRequest(crashAlert, other, 'trending')).toThrow(/recovery plan is for STALE_DATA, got an alert for WORKER_CRASH/);
  });

  it('keeps an alert item for its dedup window plus the grace period', () => {
    // CRITICAL: window 06:30-06:45.
    expect(alertExpiresAt(crashAlert)).toBe(Date.parse('2026-01-02T06:45:00Z') / 1000 + ALERT_TTL_GRACE_SECONDS);
    expect(alertPk(crashAlert.id)).toBe(`ALERT#${crashAlert.id}`);
  });

  const NOW = HALF_PAST;
  it.each<[string, StoredAlertClaim | undefined, string, boolean]>([
    ['no item yet', undefined, 'ev-1', true],
    ['the same record, retried after a failed publish', { state: 'CLAIMED', claimToken: 'ev-1', claimedAtMs: NOW - 1_000 }, 'ev-1', true],
    ['another record while the claim is live', { state: 'CLAIMED', claimToken: 'ev-1', claimedAtMs: NOW - 1_000 }, 'ev-2', false],
    ['another record after the claim went stale', { state: 'CLAIMED', claimToken: 'ev-1', claimedAtMs: NOW - ALERT_CLAIM_STALE_MS - 1 }, 'ev-2', true],
    ['delivered: never again, not even by the same record', { state: 'DELIVERED', claimToken: 'ev-1', claimedAtMs: NOW - 1_000 }, 'ev-1', false],
    ['delivered long ago', { state: 'DELIVERED', claimToken: 'ev-1', claimedAtMs: NOW - 10 * ALERT_CLAIM_STALE_MS }, 'ev-2', false],
  ])('claimWins: %s -> %s', (_name, existing, token, expected) => {
    expect(claimWins(existing, { token, nowMs: NOW })).toBe(expected);
  });
});
