import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateDay, aggregateHour, dayBucketKeys, durationPercentileMs, HOURS_PER_DAY, sumBuckets, type ReportAggregate } from '../../lib/domain/report-aggregation.js';
import type { ComponentScores, RunStatus, SkipReason } from '../../lib/domain/score-report.js';
import {
  addToBucket,
  DURATION_BUCKETS,
  DURATION_OVERFLOW_MS,
  durationCounter,
  EMPTY_BUCKET,
  WINDOW_COUNTERS,
  windowDelta,
  type WindowBucket,
  type WindowCounter,
  type WindowDeltaInput,
} from '../../lib/domain/window-stats.js';

type Report = WindowDeltaInput & { readonly scores: ComponentScores | null };

const scoresOf = (overall: number, parts: Partial<ComponentScores> = {}): ComponentScores => ({
  overallScore: overall,
  reliabilityScore: overall,
  performanceScore: overall,
  dataQualityScore: overall,
  resourceScore: overall,
  ...parts,
});
const run = (status: RunStatus, durationMs: number, scores: ComponentScores | null = scoresOf(80)): Report => ({ status, durationMs, attempts: 1, skipReason: null, scores });
const skip = (skipReason: SkipReason = 'PAUSED'): Report => ({ status: 'SKIPPED', durationMs: 0, attempts: 0, skipReason, scores: null });
/** A bucket as the Record step builds it: one windowDelta ADD per report. */
const bucketOf = (reports: readonly Report[]): WindowBucket => reports.reduce<WindowBucket>((b, r) => addToBucket(b, windowDelta(r)), EMPTY_BUCKET);

/** The true percentile, nearest rank. */
function nearestRank(values: readonly number[], percent: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((percent * sorted.length) / 100)) - 1] ?? Number.NaN;
}
const upperBoundOf = (ms: number): number => DURATION_BUCKETS.find((b) => b.counter === durationCounter(ms))?.upperMs ?? Number.NaN;
const lowerBoundOf = (ms: number): number => {
  const i = DURATION_BUCKETS.findIndex((b) => b.counter === durationCounter(ms));
  return i > 0 ? (DURATION_BUCKETS[i - 1]?.upperMs ?? Number.NaN) : Number.NEGATIVE_INFINITY;
};

const NO_RUNS: ReportAggregate = { runs: 0, succeeded: 0, failed: 0, skipped: 0, successRatePercent: null, avgDurationMs: null, p95DurationMs: null, avgScores: null };

// Durations up to the longest timeout, with the bucket bounds (and their neighbours) over-represented.
const bounds = DURATION_BUCKETS.map((b) => b.upperMs).filter(Number.isFinite);
const durationArb = fc.oneof(
  fc.integer({ min: 0, max: DURATION_OVERFLOW_MS }),
  fc.integer({ min: 0, max: 120_000 }),
  fc.constantFrom(...bounds).chain((b) => fc.constantFrom(b - 1, b, b + 1)),
);
const scoreArb = fc.integer({ min: 0, max: 1000 }).map((n) => n / 10);
const reportArb: fc.Arbitrary<Report> = fc.oneof(
  fc.record({
    status: fc.constantFrom<RunStatus>('SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED'),
    durationMs: durationArb,
    attempts: fc.integer({ min: 1, max: 3 }),
    skipReason: fc.constant(null),
    scores: fc.option(fc.record({ overallScore: scoreArb, reliabilityScore: scoreArb, performanceScore: scoreArb, dataQualityScore: scoreArb, resourceScore: scoreArb }), { nil: null }),
  }),
  fc.constantFrom<SkipReason>('CIRCUIT_OPEN', 'LOCK_HELD', 'FRESH_DATA', 'PAUSED', 'DEPENDENCY_FAILED').map(skip),
);

describe('aggregateHour', () => {
  it('aggregates an hour of reports', () => {
    // Prepare: 20 runs, 18 of 2 min or less, one of 7 min, one of 25 min; one failure, one skip.
    const reports = [
      ...Array.from({ length: 17 }, (_, i) => run(i % 2 === 0 ? 'SUCCEEDED' : 'PARTIAL', 90_000, scoresOf(90, { resourceScore: 100 }))),
      run('FAILED', 100_000, scoresOf(30, { reliabilityScore: 0, resourceScore: 100 })),
      run('SUCCEEDED', 420_000, scoresOf(50, { resourceScore: 100 })),
      run('SUCCEEDED', 1_500_000, null),
      skip('LOCK_HELD'),
    ];
    // Act
    const hour = aggregateHour(bucketOf(reports));
    // Assess: the 19th of 20 durations (nearest rank of p95) is 7 min, in the (5 min, 10 min] bucket.
    expect(hour).toEqual({
      runs: 20,
      succeeded: 19,
      failed: 1,
      skipped: 1,
      successRatePercent: 95,
      avgDurationMs: (17 * 90_000 + 100_000 + 420_000 + 1_500_000) / 20,
      p95DurationMs: 600_000,
      avgScores: { overall: (17 * 90 + 30 + 50) / 19, reliability: (17 * 90 + 0 + 50) / 19, performance: (17 * 90 + 30 + 50) / 19, dataQuality: (17 * 90 + 30 + 50) / 19, resource: 100 },
    });
  });

  it('an empty hour is all zeros and nulls, never NaN', () => {
    expect(aggregateHour(EMPTY_BUCKET)).toEqual(NO_RUNS);
  });

  it('an hour of skips counts them and nothing else', () => {
    expect(aggregateHour(bucketOf([skip(), skip('LOCK_HELD')]))).toEqual({ ...NO_RUNS, skipped: 2 });
  });

  it('an unscored run gives no average scores', () => {
    expect(aggregateHour(bucketOf([run('SUCCEEDED', 1_000, null)]))).toMatchObject({ runs: 1, successRatePercent: 100, p95DurationMs: 1_000, avgScores: null });
  });

  it('a bucket written before the aggregation counters: success from runs − failures, no p95, no scores', () => {
    // Prepare: only the counters that existed before report aggregation.
    const legacy: WindowBucket = { runs: 4, failures: 1, crashes: 0, retried: 0, attempts: 4, partials: 1, skips: 1, lockFailures: 0, durationMsSum: 40_000 };
    // Act + Assess
    expect(aggregateHour(legacy)).toEqual({ runs: 4, succeeded: 3, failed: 1, skipped: 1, successRatePercent: 75, avgDurationMs: 10_000, p95DurationMs: null, avgScores: null });
  });

  it('an hour half before, half after the new counters: old runs count as succeeded unless failures', () => {
    // Prepare: 2 legacy runs (1 failure) + the ADDs of 2 new runs (1 failure).
    const legacy: WindowBucket = { runs: 2, failures: 1, crashes: 0, retried: 0, attempts: 2, partials: 0, skips: 0, lockFailures: 0, durationMsSum: 2_000 };
    const mixed = [run('SUCCEEDED', 3_000, scoresOf(70)), run('FAILED', 20_000, scoresOf(20))].reduce<WindowBucket>((b, r) => addToBucket(b, windowDelta(r)), legacy);
    // Act
    const hour = aggregateHour(mixed);
    // Assess: the p95 and scores cover the two newer runs only.
    expect(hour).toEqual({ runs: 4, succeeded: 2, failed: 2, skipped: 0, successRatePercent: 50, avgDurationMs: 25_000 / 4, p95DurationMs: 30_000, avgScores: scoresAvg(45) });
  });

  it('a p95 in the overflow bucket is reported as its lower bound, 60 min', () => {
    expect(aggregateHour(bucketOf([run('SUCCEEDED', 2 * DURATION_OVERFLOW_MS)])).p95DurationMs).toBe(DURATION_OVERFLOW_MS);
  });

  it('never returns NaN or infinity, whatever the counters (property)', () => {
    const bucketArb = fc.record(Object.fromEntries(WINDOW_COUNTERS.map((c) => [c, fc.nat(1_000)])) as Record<WindowCounter, fc.Arbitrary<number>>);
    fc.assert(
      fc.property(bucketArb, (bucket) => {
        const a = aggregateHour(bucket);
        const numbers = [a.runs, a.succeeded, a.failed, a.skipped, a.successRatePercent, a.avgDurationMs, a.p95DurationMs, ...Object.values(a.avgScores ?? {})];
        for (const n of numbers) if (n !== null) expect(Number.isFinite(n)).toBe(true);
        expect(a.succeeded + a.failed).toBe(a.runs);
        expect(a.successRatePercent === null).toBe(a.runs === 0);
      }),
      { numRuns: 300 },
    );
  });
});

function scoresAvg(n: number): NonNullable<ReportAggregate['avgScores']> {
  return { overall: n, reliability: n, performance: n, dataQuality: n, resource: n };
}

describe('the p95 estimate', () => {
  it('is the upper bound of the bucket holding the true p95: never below it, within one bucket (property)', () => {
    fc.assert(
      fc.property(fc.array(durationArb.filter((d) => d <= DURATION_OVERFLOW_MS), { minLength: 1, maxLength: 300 }), (durations) => {
        // Act
        const estimate = aggregateHour(bucketOf(durations.map((d) => run('SUCCEEDED', d)))).p95DurationMs;
        // Assess
        const truth = nearestRank(durations, 95);
        expect(estimate).toBe(upperBoundOf(truth));
        expect(estimate).toBeGreaterThanOrEqual(truth);
        expect(truth).toBeGreaterThan(lowerBoundOf(truth));
      }),
      { numRuns: 500 },
    );
  });

  it('beyond the histogram it is a lower bound (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: DURATION_OVERFLOW_MS + 1, max: 10 * DURATION_OVERFLOW_MS }), { minLength: 1, maxLength: 20 }), (durations) => {
        const estimate = aggregateHour(bucketOf(durations.map((d) => run('SUCCEEDED', d)))).p95DurationMs;
        expect(estimate).toBe(DURATION_OVERFLOW_MS);
        expect(estimate).toBeLessThan(nearestRank(durations, 95));
      }),
      { numRuns: 100 },
    );
  });

  it.each<[string, number, number | null]>([
    ['p0 is the first bucket with a run', 0, 1_000],
    ['p50', 50, 15_000],
    ['p95', 95, 60_000],
    ['p100 is the last bucket with a run', 100, 60_000],
  ])('%s', (_name, percent, expected) => {
    // 1 s, 10 s x 9, 45 s x 10: ranks 1 | 2..10 | 11..20.
    const bucket = bucketOf([run('SUCCEEDED', 1_000), ...Array.from({ length: 9 }, () => run('SUCCEEDED', 10_000)), ...Array.from({ length: 10 }, () => run('SUCCEEDED', 45_000))]);
    expect(durationPercentileMs(bucket, percent)).toBe(expected);
  });

  it('an empty histogram has none', () => {
    expect(durationPercentileMs(EMPTY_BUCKET, 95)).toBeNull();
  });
});

describe('aggregateDay', () => {
  const dayArb = fc.array(fc.array(reportArb, { maxLength: 12 }), { minLength: HOURS_PER_DAY, maxLength: HOURS_PER_DAY });

  it('the day of 24 hours equals the aggregate of all its reports; counts are sums of the hours (property)', () => {
    fc.assert(
      fc.property(dayArb, (hours) => {
        // Act
        const buckets = hours.map(bucketOf);
        const day = aggregateDay(buckets);
        const perHour = buckets.map(aggregateHour);
        // Assess: counts add.
        const total = (f: (a: ReportAggregate) => number): number => perHour.reduce((n, a) => n + f(a), 0);
        expect(day.runs).toBe(total((a) => a.runs));
        expect(day.succeeded).toBe(total((a) => a.succeeded));
        expect(day.failed).toBe(total((a) => a.failed));
        expect(day.skipped).toBe(total((a) => a.skipped));
        // Averages are run-weighted averages of the hours.
        if (day.avgDurationMs === null) expect(day.runs).toBe(0);
        else expect(day.avgDurationMs).toBeCloseTo(total((a) => (a.avgDurationMs ?? 0) * a.runs) / day.runs, 6);
        // And everything matches the reports themselves.
        const reports = hours.flat();
        const executed = reports.filter((r) => r.status !== 'SKIPPED');
        const scored = executed.flatMap((r) => (r.scores ? [r.scores] : []));
        expect(day.runs).toBe(executed.length);
        expect(day.succeeded).toBe(executed.filter((r) => r.status === 'SUCCEEDED' || r.status === 'PARTIAL').length);
        expect(day.skipped).toBe(reports.length - executed.length);
        expect(day.successRatePercent).toBe(executed.length > 0 ? (100 * day.succeeded) / executed.length : null);
        // (the overflow bucket reports its lower bound)
        expect(day.p95DurationMs).toBe(executed.length > 0 ? Math.min(upperBoundOf(nearestRank(executed.map((r) => r.durationMs), 95)), DURATION_OVERFLOW_MS) : null);
        if (scored.length === 0) expect(day.avgScores).toBeNull();
        else expect(day.avgScores?.overall).toBeCloseTo(scored.reduce((n, s) => n + s.overallScore, 0) / scored.length, 6);
        // Order of the hours does not matter (up to floating-point rounding of the score sums).
        const reversed = aggregateDay([...buckets].reverse());
        expect({ ...reversed, avgScores: null }).toEqual({ ...day, avgScores: null });
        for (const [k, v] of Object.entries(day.avgScores ?? {})) expect(reversed.avgScores?.[k as keyof typeof reversed.avgScores]).toBeCloseTo(v, 9);
      }),
      { numRuns: 150 },
    );
  });

  it('is the hour aggregate of the summed buckets', () => {
    const hours = Array.from({ length: HOURS_PER_DAY }, (_, h) => bucketOf(h % 6 === 0 ? [run('SUCCEEDED', h * 10_000), run('CRASHED', 500, scoresOf(10))] : []));
    expect(aggregateDay(hours)).toEqual(aggregateHour(sumBuckets(hours)));
    expect(aggregateDay(hours)).toMatchObject({ runs: 8, succeeded: 4, failed: 4, successRatePercent: 50 });
  });

  it('an empty day is all zeros and nulls', () => {
    expect(aggregateDay(Array.from({ length: HOURS_PER_DAY }, () => EMPTY_BUCKET))).toEqual(NO_RUNS);
  });

  it.each([0, 23, 25])('rejects %d buckets', (n) => {
    expect(() => aggregateDay(Array.from({ length: n }, () => EMPTY_BUCKET))).toThrow(RangeError);
  });
});

describe('dayBucketKeys', () => {
  it('lists the 24 UTC hours of the day', () => {
    const keys = dayBucketKeys('2026-03-29');
    expect(keys).toHaveLength(24);
    expect(keys[0]).toBe('2026-03-29T00');
    expect(keys[23]).toBe('2026-03-29T23');
    expect(new Set(keys).size).toBe(24);
  });

  it.each(['2026-02-30', '2026-1-2', '2026-01-02T00', '', 'yesterday'])('rejects %j', (day) => {
    expect(() => dayBucketKeys(day)).toThrow(RangeError);
  });
});
