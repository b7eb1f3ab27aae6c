import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ComponentScores, RunStatus, SkipReason } from '../../lib/domain/score-report.js';
import {
  addToBucket,
  bucketKey,
  DURATION_BUCKETS,
  DURATION_COUNTERS,
  DURATION_OVERFLOW_MS,
  durationCounter,
  EMPTY_BUCKET,
  fullBucket,
  HOUR_MS,
  ROLLING_COUNTERS,
  rollingWindow,
  SCORE_SUMS,
  WINDOW_COUNTERS,
  windowDelta,
  type WindowBucket,
  type WindowCounter,
} from '../../lib/domain/window-stats.js';
import { WORKERS } from '../../lib/registry/index.js';

type DeltaInput = Parameters<typeof windowDelta>[0];
const run = (status: RunStatus, attempts = 1, durationMs = 1_000, skipReason: SkipReason | null = null): DeltaInput => ({ status, attempts, durationMs, skipReason });
const bucket = (counters: Partial<Record<WindowCounter, number>>): WindowBucket => ({ ...EMPTY_BUCKET, ...counters });

describe('windowDelta', () => {
  it.each<[string, DeltaInput, Partial<Record<WindowCounter, number>>]>([
    ['SUCCEEDED', run('SUCCEEDED'), { runs: 1, succeeded: 1, attempts: 1, durationMsSum: 1_000, dur_le_1s: 1 }],
    ['SUCCEEDED after a retry', run('SUCCEEDED', 3, 2_500), { runs: 1, succeeded: 1, retried: 1, attempts: 3, durationMsSum: 2_500, dur_le_5s: 1 }],
    ['PARTIAL succeeds', run('PARTIAL'), { runs: 1, succeeded: 1, partials: 1, attempts: 1, durationMsSum: 1_000, dur_le_1s: 1 }],
    ['FAILED', run('FAILED', 2), { runs: 1, failures: 1, retried: 1, attempts: 2, durationMsSum: 1_000, dur_le_1s: 1 }],
    ['CRASHED counts as a failure and a crash', run('CRASHED'), { runs: 1, failures: 1, crashes: 1, attempts: 1, durationMsSum: 1_000, dur_le_1s: 1 }],
    ['zero duration adds no duration, but lands in the first histogram bucket', run('SUCCEEDED', 1, 0), { runs: 1, succeeded: 1, attempts: 1, dur_le_100ms: 1 }],
    ['a duration that is not a number adds neither', run('FAILED', 1, Number.NaN), { runs: 1, failures: 1, attempts: 1 }],
    ['a negative duration adds neither', run('FAILED', 1, -5), { runs: 1, failures: 1, attempts: 1 }],
    ['SKIPPED: LOCK_HELD is a lock failure', run('SKIPPED', 0, 0, 'LOCK_HELD'), { skips: 1, lockFailures: 1 }],
    ['SKIPPED: CIRCUIT_OPEN', run('SKIPPED', 0, 0, 'CIRCUIT_OPEN'), { skips: 1 }],
    ['SKIPPED: FRESH_DATA', run('SKIPPED', 0, 0, 'FRESH_DATA'), { skips: 1 }],
    ['SKIPPED: PAUSED', run('SKIPPED', 0, 0, 'PAUSED'), { skips: 1 }],
    ['SKIPPED: DEPENDENCY_FAILED', run('SKIPPED', 0, 0, 'DEPENDENCY_FAILED'), { skips: 1 }],
    ['SKIPPED never counts as a run, whatever its attempts and duration', run('SKIPPED', 2, 500, 'PAUSED'), { skips: 1 }],
  ])('%s', (_name, input, expected) => {
    expect(windowDelta(input)).toEqual(expected);
  });

  it('adds the scores of a scored run (zero components are left out)', () => {
    // Prepare
    const scores: ComponentScores = { overallScore: 72.5, reliabilityScore: 90, performanceScore: 0, dataQualityScore: 61.2, resourceScore: 100 };
    // Act
    const delta = windowDelta({ ...run('FAILED', 1, 70_000), scores });
    // Assess
    expect(delta).toEqual({ runs: 1, failures: 1, attempts: 1, durationMsSum: 70_000, dur_le_2m: 1, scoredRuns: 1, overallSum: 72.5, reliabilitySum: 90, dataQualitySum: 61.2, resourceSum: 100 });
  });

  it('a skip with scores is still only a skip', () => {
    const scores: ComponentScores = { overallScore: 1, reliabilityScore: 1, performanceScore: 1, dataQualityScore: 1, resourceScore: 1 };
    expect(windowDelta({ ...run('SKIPPED', 0, 0, 'PAUSED'), scores })).toEqual({ skips: 1 });
  });
});

describe('the duration histogram', () => {
  it.each<[number, string]>([
    [0, 'dur_le_100ms'],
    [100, 'dur_le_100ms'],
    [101, 'dur_le_1s'],
    [1_000, 'dur_le_1s'],
    [5_001, 'dur_le_15s'],
    [60_000, 'dur_le_1m'],
    [60_001, 'dur_le_2m'],
    [299_999, 'dur_le_5m'],
    [3_600_000, 'dur_le_60m'],
    [3_600_001, 'dur_le_2h'],
    [7_200_000, 'dur_le_2h'],
    [7_200_001, 'dur_gt_2h'],
    [Number.MAX_SAFE_INTEGER, 'dur_gt_2h'],
  ])('%d ms -> %s', (ms, counter) => {
    expect(durationCounter(ms)).toBe(counter);
  });

  it('has increasing bounds, ends in an overflow bucket, and its counters are window counters', () => {
    const bounds = DURATION_BUCKETS.map((b) => b.upperMs);
    expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
    expect(new Set(bounds).size).toBe(bounds.length);
    expect(DURATION_BUCKETS.at(-1)?.upperMs).toBe(Number.POSITIVE_INFINITY);
    expect(DURATION_BUCKETS.at(-2)?.upperMs).toBe(DURATION_OVERFLOW_MS);
    for (const c of DURATION_COUNTERS) expect(WINDOW_COUNTERS).toContain(c);
    // Above 5 s each bucket's upper bound is at most 3x its lower bound (the p95 estimate's error).
    for (let i = 3; i < bounds.length - 1; i++) expect((bounds[i] ?? 0) / (bounds[i - 1] ?? 1)).toBeLessThanOrEqual(3);
  });

  it('covers the longest job timeout in the registry', () => {
    const longest = Math.max(...WORKERS.flatMap((w) => w.jobs.map((j) => j.timeoutSeconds * 1000)));
    expect(durationCounter(longest)).not.toBe('dur_gt_2h');
  });
});

describe('addToBucket', () => {
  it('adds each counter and leaves the input untouched', () => {
    // Prepare
    const before = bucket({ runs: 2, failures: 1, durationMsSum: 100 });
    // Act
    const after = addToBucket(before, { runs: 1, failures: 1, crashes: 1, durationMsSum: 50 });
    // Assess
    expect(after).toEqual(bucket({ runs: 3, failures: 2, crashes: 1, durationMsSum: 150 }));
    expect(before).toEqual(bucket({ runs: 2, failures: 1, durationMsSum: 100 }));
  });

  it('folding the deltas of reports gives the same totals as counting them (property)', () => {
    const score = fc.integer({ min: 0, max: 1000 }).map((n) => n / 10);
    const reportArb = fc.record({
      status: fc.constantFrom<RunStatus>('SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED', 'SKIPPED'),
      attempts: fc.integer({ min: 1, max: 4 }),
      durationMs: fc.integer({ min: 0, max: 2 * HOUR_MS }),
      skipReason: fc.constantFrom<SkipReason>('CIRCUIT_OPEN', 'LOCK_HELD', 'FRESH_DATA', 'PAUSED', 'DEPENDENCY_FAILED'),
      scores: fc.option(fc.record({ overallScore: score, reliabilityScore: score, performanceScore: score, dataQualityScore: score, resourceScore: score }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(reportArb, { maxLength: 40 }), (reports) => {
        const total = reports.reduce((b, r) => addToBucket(b, windowDelta(r)), EMPTY_BUCKET);
        const executed = reports.filter((r) => r.status !== 'SKIPPED');
        expect(total.runs).toBe(executed.length);
        expect(total.skips).toBe(reports.length - executed.length);
        expect(total.failures).toBe(executed.filter((r) => r.status === 'FAILED' || r.status === 'CRASHED').length);
        expect(total.lockFailures).toBe(reports.filter((r) => r.status === 'SKIPPED' && r.skipReason === 'LOCK_HELD').length);
        expect(total.retried).toBe(executed.filter((r) => r.attempts > 1).length);
        expect(total.attempts).toBe(executed.reduce((n, r) => n + r.attempts, 0));
        expect(total.durationMsSum).toBe(executed.reduce((n, r) => n + r.durationMs, 0));
        expect(total.succeeded + total.failures).toBe(total.runs);
        expect(DURATION_COUNTERS.reduce((n, c) => n + total[c], 0)).toBe(total.runs);
        for (const c of DURATION_COUNTERS) expect(total[c]).toBe(executed.filter((r) => durationCounter(r.durationMs) === c).length);
        const scored = executed.flatMap((r) => (r.scores ? [r.scores] : []));
        expect(total.scoredRuns).toBe(scored.length);
        for (const { counter, field } of SCORE_SUMS) expect(total[counter]).toBeCloseTo(scored.reduce((n, sc) => n + sc[field], 0), 6);
      }),
      { numRuns: 200 },
    );
  });
});

describe('rollingWindow', () => {
  const HOUR = Date.UTC(2026, 0, 2, 5); // 05:00:00.000Z
  const current = bucket({ runs: 10, failures: 1, retried: 2, durationMsSum: 10_000 });
  const previous = bucket({ runs: 20, failures: 10, retried: 0, durationMsSum: 40_000, lockFailures: 4 });

  it.each<[string, number, number]>([
    [':00 counts the previous bucket fully', HOUR, 1],
    [':15 counts three quarters of it', HOUR + HOUR_MS / 4, 0.75],
    [':30 counts half of it', HOUR + HOUR_MS / 2, 0.5],
    [':45 counts a quarter of it', HOUR + (3 * HOUR_MS) / 4, 0.25],
    ['one ms before the hour counts almost none of it', HOUR + HOUR_MS - 1, 1 / HOUR_MS],
  ])('%s', (_name, nowMs, weight) => {
    // Act
    const stats = rollingWindow(current, previous, nowMs);
    // Assess
    const runs = 10 + 20 * weight;
    const failures = 1 + 10 * weight;
    expect(stats.runs).toBeCloseTo(runs, 9);
    expect(stats.failures).toBeCloseTo(failures, 9);
    expect(stats.lockFailures).toBeCloseTo(4 * weight, 9);
    expect(stats.failureRatePercent).toBeCloseTo((100 * failures) / runs, 9);
    expect(stats.retriedRatePercent).toBeCloseTo((100 * 2) / runs, 9);
    expect(stats.avgDurationMs).toBeCloseTo((10_000 + 40_000 * weight) / runs, 6);
  });

  it('exact numbers at :30', () => {
    // runs 10 + 10 = 20, failures 1 + 5 = 6 -> 30 %, retried 2 -> 10 %, duration (10 000 + 20 000) / 20 = 1 500
    expect(rollingWindow(current, previous, HOUR + HOUR_MS / 2)).toMatchObject({ runs: 20, failures: 6, failureRatePercent: 30, retriedRatePercent: 10, avgDurationMs: 1_500, lockFailures: 2 });
  });

  it('rates are 0 (not NaN) with no runs', () => {
    const stats = rollingWindow(bucket({ skips: 3 }), EMPTY_BUCKET, HOUR);
    expect(stats).toMatchObject({ runs: 0, failureRatePercent: 0, retriedRatePercent: 0, avgDurationMs: 0, skips: 3 });
  });

  it('reads the counters a bucket lacks (an item written before they existed) as 0', () => {
    // Prepare: only the counters the anomaly rules had before report aggregation.
    const legacy: WindowBucket = { runs: 4, failures: 1, crashes: 0, retried: 1, attempts: 5, partials: 0, skips: 2, lockFailures: 1, durationMsSum: 8_000 };
    // Act
    const stats = rollingWindow(legacy, legacy, HOUR + HOUR_MS / 2);
    // Assess
    expect(stats).toMatchObject({ runs: 6, failures: 1.5, failureRatePercent: 25, avgDurationMs: 2_000, succeeded: 0, scoredRuns: 0, dur_le_1s: 0 });
    for (const c of WINDOW_COUNTERS) expect(Number.isFinite(stats[c])).toBe(true);
    expect(fullBucket(legacy)).toEqual({ ...EMPTY_BUCKET, ...legacy });
    expect(addToBucket(legacy, { succeeded: 1 })).toEqual({ ...EMPTY_BUCKET, ...legacy, succeeded: 1 });
  });

  it('the rolling counters are the ones the anomaly rules always had', () => {
    expect(ROLLING_COUNTERS).toEqual(['runs', 'failures', 'crashes', 'retried', 'attempts', 'partials', 'skips', 'lockFailures', 'durationMsSum']);
    expect(new Set(WINDOW_COUNTERS).size).toBe(WINDOW_COUNTERS.length);
  });

  it('every counter lies between the current bucket and the sum of both (property)', () => {
    const bucketArb = fc.record(Object.fromEntries(WINDOW_COUNTERS.map((c) => [c, fc.integer({ min: 0, max: 1_000 })])) as Record<WindowCounter, fc.Arbitrary<number>>);
    fc.assert(
      fc.property(bucketArb, bucketArb, fc.integer({ min: 0, max: 10 * HOUR_MS }), (cur, prev, nowMs) => {
        const stats = rollingWindow(cur, prev, nowMs);
        for (const c of WINDOW_COUNTERS) {
          expect(stats[c]).toBeGreaterThanOrEqual(cur[c]);
          expect(stats[c]).toBeLessThanOrEqual(cur[c] + prev[c]);
        }
        expect(Number.isFinite(stats.failureRatePercent)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('bucketKey', () => {
  it.each<[number, string]>([
    [Date.UTC(2026, 0, 2, 5, 0, 0, 0), '2026-01-02T05'],
    [Date.UTC(2026, 0, 2, 5, 59, 59, 999), '2026-01-02T05'],
    [Date.UTC(2026, 0, 2, 6, 0, 0, 0), '2026-01-02T06'],
    [Date.UTC(2025, 11, 31, 23, 30), '2025-12-31T23'],
    [0, '1970-01-01T00'],
  ])('%d -> %s', (epochMs, key) => {
    expect(bucketKey(epochMs)).toBe(key);
  });

  it('the previous bucket is exactly one hour back (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: HOUR_MS, max: Date.UTC(2100, 0, 1) }), (ms) => {
        const hourStart = Math.floor(ms / HOUR_MS) * HOUR_MS;
        expect(bucketKey(ms)).toBe(bucketKey(hourStart));
        expect(bucketKey(ms - HOUR_MS)).not.toBe(bucketKey(ms));
        expect(bucketKey(hourStart - 1)).toBe(bucketKey(ms - HOUR_MS));
      }),
      { numRuns: 200 },
    );
  });
});
