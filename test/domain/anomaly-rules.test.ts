import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_DEADLINE_SECONDS,
  ANOMALY_CODES,
  ANOMALY_RULES,
  evaluateAnomalies,
  RULE_BY_CODE,
  SEVERITIES,
  type AnomalyCode,
  type RuleContext,
  type Severity,
} from '../../lib/domain/anomaly-rules.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { addToBucket, EMPTY_BUCKET, rollingWindow, type WindowCounter, type WindowStats } from '../../lib/domain/window-stats.js';

const WORKER = 'youtube_worker';

/** A benign, successful report; overrides make it interesting. */
const report = (overrides: Partial<WorkerScoreReport> = {}): WorkerScoreReport => ({
  workerName: WORKER,
  jobId: 'trending',
  executionId: 'exec-1',
  scheduledTime: '2026-01-02T05:00:00.000Z',
  startedAt: '2026-01-02T05:00:01.000Z',
  completedAt: '2026-01-02T05:00:02.000Z',
  status: 'SUCCEEDED',
  skipReason: null,
  success: true,
  durationMs: 1_000,
  attempts: 1,
  lockFence: 7,
  scores: { reliabilityScore: 100, performanceScore: 100, dataQualityScore: 100, resourceScore: 100, overallScore: 100 },
  anomalies: [],
  recommendations: [],
  metrics: {},
  error: null,
  ...overrides,
});

const skipped = (skipReason: NonNullable<WorkerScoreReport['skipReason']>): WorkerScoreReport =>
  report({ status: 'SKIPPED', skipReason, success: false, durationMs: 0, attempts: 0, lockFence: null, scores: null });

/** Window stats over one full current bucket (previous bucket empty), so the counts are exact. */
const window = (counters: Partial<Record<WindowCounter, number>>): WindowStats => rollingWindow(addToBucket(EMPTY_BUCKET, counters), EMPTY_BUCKET, Date.UTC(2026, 0, 2, 5, 30));

const budget = { expectedDurationMs: 1_000, timeoutMs: 10_000 };
const ctx = (parts: Omit<RuleContext, 'worker'>): RuleContext => ({ worker: WORKER, ...parts });

// [code, severity, context just past the threshold (fires), context exactly at the threshold or a near miss (does not fire)]
const CASES: [AnomalyCode, Severity, RuleContext, RuleContext][] = [
  ['WORKER_CRASH', 'CRITICAL', ctx({ report: report({ status: 'CRASHED', success: false, error: { name: 'Runtime.OutOfMemory', cause: 'oom' } }) }), ctx({ report: report({ status: 'FAILED', success: false, error: { name: 'InvalidPayloadError', cause: 'bad' } }) })],
  ['QUEUE_OVERFLOW', 'CRITICAL', ctx({ health: { queueDepth: 1_001 } }), ctx({ health: { queueDepth: 1_000 } })],
  ['DATA_CORRUPTION', 'CRITICAL', ctx({ health: { corruptRecords: 1 } }), ctx({ health: { corruptRecords: 0 } })],
  ['DEPENDENCY_FAILURE', 'CRITICAL', ctx({ report: skipped('DEPENDENCY_FAILED') }), ctx({ report: skipped('CIRCUIT_OPEN') })],
  ['RESOURCE_EXHAUSTION', 'CRITICAL', ctx({ health: { memoryPercent: 90.1 } }), ctx({ health: { memoryPercent: 90 } })],
  ['HIGH_FAILURE_RATE', 'HIGH', ctx({ window: window({ runs: 1_000, failures: 101 }) }), ctx({ window: window({ runs: 1_000, failures: 100 }) })],
  ['SLOW_EXECUTION', 'HIGH', ctx({ report: report({ durationMs: 2_001 }), budget }), ctx({ report: report({ durationMs: 2_000 }), budget })],
  ['STALE_DATA', 'HIGH', ctx({ health: { dataAgeSeconds: 3_601, freshnessThresholdSeconds: 3_600 } }), ctx({ health: { dataAgeSeconds: 3_600, freshnessThresholdSeconds: 3_600 } })],
  ['API_QUOTA_LOW', 'HIGH', ctx({ health: { quotaRemainingPercent: 19.9 } }), ctx({ health: { quotaRemainingPercent: 20 } })],
  ['LOCK_CONTENTION', 'HIGH', ctx({ window: window({ skips: 4, lockFailures: 4 }) }), ctx({ window: window({ skips: 3, lockFailures: 3 }) })],
  ['ELEVATED_RETRIES', 'MEDIUM', ctx({ window: window({ runs: 1_000, retried: 51 }) }), ctx({ window: window({ runs: 1_000, retried: 50 }) })],
  ['PARTIAL_SUCCESS', 'MEDIUM', ctx({ report: report({ status: 'PARTIAL', metrics: { items_failed: 2 } }) }), ctx({ report: report({ status: 'SUCCEEDED' }) })],
  ['CACHE_MISS', 'MEDIUM', ctx({ health: { cacheMiss: true } }), ctx({ health: { cacheMiss: false } })],
  // 80 % of 5 000 ms = 4 000 ms; expected 2 500 ms so SLOW_EXECUTION (> 5 000 ms) stays quiet.
  ['TIMEOUT_WARNING', 'MEDIUM', ctx({ report: report({ durationMs: 4_001 }), budget: { expectedDurationMs: 2_500, timeoutMs: 5_000 } }), ctx({ report: report({ durationMs: 4_000 }), budget: { expectedDurationMs: 2_500, timeoutMs: 5_000 } })],
  ['SKIP_DUE_TO_LOCK', 'LOW', ctx({ report: skipped('LOCK_HELD') }), ctx({ report: skipped('PAUSED') })],
  ['SKIP_DUE_TO_FRESHNESS', 'LOW', ctx({ report: skipped('FRESH_DATA') }), ctx({ report: skipped('PAUSED') })],
  ['MINOR_VALIDATION_ISSUE', 'LOW', ctx({ health: { validationIssues: ['durationMs=NaN'] } }), ctx({ health: { validationIssues: [] } })],
];

describe('each anomaly rule', () => {
  it.each(CASES)('%s (%s) fires just past its threshold', (code, severity, firing) => {
    // Act
    const findings = evaluateAnomalies(firing);
    // Assess: exactly this anomaly, with the design's severity.
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code, severity, worker: WORKER });
    expect(findings[0]?.detail).toMatch(/\S/);
  });

  it.each(CASES)('%s does not fire at its threshold', (code, _severity, _firing, quiet) => {
    // Act
    const hit = RULE_BY_CODE[code].evaluate(quiet);
    // Assess
    expect(hit).toBeNull();
    expect(evaluateAnomalies(quiet)).toEqual([]);
  });

  it.each(ANOMALY_CODES)('%s stays quiet on an empty context', (code) => {
    expect(RULE_BY_CODE[code].evaluate({ worker: WORKER })).toBeNull();
  });
});

describe('rule details', () => {
  it('RESOURCE_EXHAUSTION fires on a full disk whatever the memory', () => {
    expect(evaluateAnomalies(ctx({ health: { diskFull: true, memoryPercent: 10 } }))).toMatchObject([{ code: 'RESOURCE_EXHAUSTION', observed: true }]);
  });

  it('HIGH_FAILURE_RATE counts crashes as failures through the window', () => {
    expect(evaluateAnomalies(ctx({ window: window({ runs: 10, failures: 2, crashes: 2 }) })).map((f) => f.code)).toEqual(['HIGH_FAILURE_RATE']);
  });

  it('LOCK_CONTENTION reads a weighted (fractional) count', () => {
    expect(RULE_BY_CODE.LOCK_CONTENTION.evaluate(ctx({ window: window({ lockFailures: 3.5 }) }))).toMatchObject({ observed: 3.5, threshold: 3 });
  });

  it('TIMEOUT_WARNING ignores a crash (WORKER_CRASH covers it) and a skip', () => {
    const b = { expectedDurationMs: 2_500, timeoutMs: 5_000 };
    expect(RULE_BY_CODE.TIMEOUT_WARNING.evaluate(ctx({ report: report({ status: 'CRASHED', durationMs: 5_000 }), budget: b }))).toBeNull();
    expect(RULE_BY_CODE.TIMEOUT_WARNING.evaluate(ctx({ report: report({ status: 'SKIPPED', durationMs: 5_000 }), budget: b }))).toBeNull();
  });

  it('TIMEOUT_WARNING does not fire at exactly 80 % of any whole-second timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600 }), (seconds) => {
        const timeoutMs = seconds * 1_000;
        const atThreshold = (timeoutMs * 4) / 5; // exact integer
        const b = { expectedDurationMs: timeoutMs, timeoutMs };
        expect(RULE_BY_CODE.TIMEOUT_WARNING.evaluate(ctx({ report: report({ durationMs: atThreshold }), budget: b }))).toBeNull();
        expect(RULE_BY_CODE.TIMEOUT_WARNING.evaluate(ctx({ report: report({ durationMs: atThreshold + 1 }), budget: b }))).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('SLOW_EXECUTION ignores a skipped run', () => {
    expect(RULE_BY_CODE.SLOW_EXECUTION.evaluate(ctx({ report: report({ status: 'SKIPPED', durationMs: 99_999 }), budget }))).toBeNull();
  });

  it('rate rules stay quiet on a window with no runs', () => {
    const empty = window({ skips: 2 });
    expect(RULE_BY_CODE.HIGH_FAILURE_RATE.evaluate(ctx({ window: empty }))).toBeNull();
    expect(RULE_BY_CODE.ELEVATED_RETRIES.evaluate(ctx({ window: empty }))).toBeNull();
  });

  it('PARTIAL_SUCCESS reports the failed item count from the metrics', () => {
    expect(RULE_BY_CODE.PARTIAL_SUCCESS.evaluate(ctx({ report: report({ status: 'PARTIAL', metrics: { items_failed: 3 } }) }))).toMatchObject({ observed: 3, detail: '3 item(s) failed' });
  });
});

describe('the rule table', () => {
  const DESIGN_SEVERITY: Record<AnomalyCode, Severity> = {
    WORKER_CRASH: 'CRITICAL',
    QUEUE_OVERFLOW: 'CRITICAL',
    DATA_CORRUPTION: 'CRITICAL',
    DEPENDENCY_FAILURE: 'CRITICAL',
    RESOURCE_EXHAUSTION: 'CRITICAL',
    HIGH_FAILURE_RATE: 'HIGH',
    SLOW_EXECUTION: 'HIGH',
    STALE_DATA: 'HIGH',
    API_QUOTA_LOW: 'HIGH',
    LOCK_CONTENTION: 'HIGH',
    ELEVATED_RETRIES: 'MEDIUM',
    PARTIAL_SUCCESS: 'MEDIUM',
    CACHE_MISS: 'MEDIUM',
    TIMEOUT_WARNING: 'MEDIUM',
    SKIP_DUE_TO_LOCK: 'LOW',
    SKIP_DUE_TO_FRESHNESS: 'LOW',
    MINOR_VALIDATION_ISSUE: 'LOW',
  };

  it('has exactly one rule per code, 17 in all', () => {
    const codes = ANOMALY_RULES.map((r) => r.code);
    expect(codes).toHaveLength(17);
    expect(new Set(codes).size).toBe(17);
    expect([...codes].sort()).toEqual([...ANOMALY_CODES].sort());
    expect(Object.keys(RULE_BY_CODE).sort()).toEqual([...ANOMALY_CODES].sort());
  });

  it('gives every code the design severity', () => {
    expect(Object.fromEntries(ANOMALY_RULES.map((r) => [r.code, r.severity]))).toEqual(DESIGN_SEVERITY);
  });

  it('has 5 critical, 5 high, 4 medium and 3 low rules', () => {
    const count = (s: Severity): number => ANOMALY_RULES.filter((r) => r.severity === s).length;
    expect(SEVERITIES.map(count)).toEqual([5, 5, 4, 3]);
  });

  it('the test cases cover every code', () => {
    expect(CASES.map(([code]) => code).sort()).toEqual([...ANOMALY_CODES].sort());
  });

  it('alert deadlines follow the design (immediate, 5 min, 15 min, log only)', () => {
    expect(ALERT_DEADLINE_SECONDS).toEqual({ CRITICAL: 0, HIGH: 300, MEDIUM: 900, LOW: null });
  });
});

describe('evaluateAnomalies ordering', () => {
  // Fires WORKER_CRASH, SLOW_EXECUTION, CACHE_MISS, MINOR_VALIDATION_ISSUE, QUEUE_OVERFLOW, API_QUOTA_LOW.
  const noisy = ctx({
    report: report({ status: 'CRASHED', durationMs: 2_500, error: { name: 'States.Timeout', cause: '' } }),
    budget,
    health: { cacheMiss: true, validationIssues: ['x'], queueDepth: 5_000, quotaRemainingPercent: 1 },
  });

  it('puts the most severe findings first, even when the rules come in reverse order', () => {
    // Act
    const findings = evaluateAnomalies(noisy, [...ANOMALY_RULES].reverse());
    // Assess
    // The crashed run is not also SLOW_EXECUTION: one fault, one recovery.
    expect(findings.map((f) => f.severity)).toEqual(['CRITICAL', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW']);
    expect(new Set(findings.map((f) => f.code))).toEqual(new Set(['WORKER_CRASH', 'QUEUE_OVERFLOW', 'API_QUOTA_LOW', 'CACHE_MISS', 'MINOR_VALIDATION_ISSUE']));
  });

  it('orders by severity for any rule order (property)', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...ANOMALY_RULES], { minLength: 0 }), (rules) => {
        const findings = evaluateAnomalies(noisy, rules);
        const ranks = findings.map((f) => SEVERITIES.indexOf(f.severity));
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        // Every rule given that fires is reported, and nothing else.
        const expected = rules.filter((r) => r.evaluate(noisy) !== null).map((r) => r.code);
        expect(findings.map((f) => f.code).sort()).toEqual(expected.sort());
      }),
      { numRuns: 200 },
    );
  });
});
