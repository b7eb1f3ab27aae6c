import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunStatus, SkipReason } from '../../lib/domain/score-report.js';
import { addToBucket, bucketKey, EMPTY_BUCKET, HOUR_MS, rollingWindow, WINDOW_COUNTERS, windowDelta, type WindowBucket, type WindowCounter } from '../../lib/domain/window-stats.js';

type DeltaInput = Parameters<typeof windowDelta>[0];
const run = (status: RunStatus, attempts = 1, durationMs = 1_000, skipReason: SkipReason | null = null): DeltaInput => ({ status, attempts, durationMs, skipReason });
const bucket = (counters: Partial<Record<WindowCounter, number>>): WindowBucket => ({ ...EMPTY_BUCKET, ...counters });

describe('windowDelta', () => {
  it.each<[string, DeltaInput, Partial<Record<WindowCounter, number>>]>([
    ['SUCCEEDED', run('SUCCEEDED'), { runs: 1, attempts: 1, durationMsSum: 1_000 }],
    ['SUCCEEDED after a retry', run('SUCCEEDED', 3, 2_500), { runs: 1, retried: 1, attempts: 3, durationMsSum: 2_500 }],
    ['PARTIAL', run('PARTIAL'), { runs: 1, partials: 1, attempts: 1, durationMsSum: 1_000 }],
    ['FAILED', run('FAILED', 2), { runs: 1, failures: 1, retried: 1, attempts: 2, durationMsSum: 1_000 }],
    ['CRASHED counts as a failure and a crash', run('CRASHED'), { runs: 1, failures: 1, crashes: 1, attempts: 1, durationMsSum: 1_000 }],
    ['zero duration adds no duration', run('SUCCEEDED', 1, 0), { runs: 1, attempts: 1 }],
    ['SKIPPED: LOCK_HELD is a lock failure', run('SKIPPED', 0, 0, 'LOCK_HELD'), { skips: 1, lockFailures: 1 }],
    ['SKIPPED: CIRCUIT_OPEN', run('SKIPPED', 0, 0, 'CIRCUIT_OPEN'), { skips: 1 }],
    ['SKIPPED: FRESH_DATA', run('SKIPPED', 0, 0, 'FRESH_DATA'), { skips: 1 }],
    ['SKIPPED: PAUSED', run('SKIPPED', 0, 0, 'PAUSED'), { skips: 1 }],
    ['SKIPPED: DEPENDENCY_FAILED', run('SKIPPED', 0, 0, 'DEPENDENCY_FAILED'), { skips: 1 }],
    ['SKIPPED never counts as a run, whatever its attempts and duration', run('SKIPPED', 2, 500, 'PAUSED'), { skips: 1 }],
  ])('%s', (_name, input, expected) => {
    expect(windowDelta(input)).toEqual(expected);
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
    const reportArb = fc.record({
      status: fc.constantFrom<RunStatus>('SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED', 'SKIPPED'),
      attempts: fc.integer({ min: 1, max: 4 }),
      durationMs: fc.integer({ min: 0, max: 10_000 }),
      skipReason: fc.constantFrom<SkipReason>('CIRCUIT_OPEN', 'LOCK_HELD', 'FRESH_DATA', 'PAUSED', 'DEPENDENCY_FAILED'),
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
