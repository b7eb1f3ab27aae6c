/**
 * Hourly and daily aggregates of a worker's score reports, from its WINDOW buckets (one item per
 * hour, built by one `ADD` per report; see window-stats.windowDelta). No report is read: an hour is
 * one item, a UTC day the 24 items of `dayBucketKeys(day)`, fetched with one BatchGetItem.
 *
 * Counters add, so a day is the sum of its hours and its p95 comes from the summed histogram (not
 * from hourly p95s, which do not combine). Every average or rate over nothing is `null`, never NaN.
 * Values are unrounded. Pure. See docs/scoring.md, "Aggregation".
 */
import { DURATION_BUCKETS, DURATION_OVERFLOW_MS, EMPTY_BUCKET, fullBucket, HOUR_MS, type FullWindowBucket, type WindowBucket, type WindowCounter } from './window-stats.js';

/** The percentile estimated by `p95DurationMs`. */
export const P95_PERCENT = 95;
export const HOURS_PER_DAY = 24;

export interface AverageScores {
  readonly overall: number;
  readonly reliability: number;
  readonly performance: number;
  readonly dataQuality: number;
  readonly resource: number;
}

export interface ReportAggregate {
  /** Executed runs (skips excluded). */
  readonly runs: number;
  /** SUCCEEDED and PARTIAL runs. */
  readonly succeeded: number;
  /** FAILED and CRASHED runs. */
  readonly failed: number;
  /** SKIPPED reports (not runs). */
  readonly skipped: number;
  /** 100 × succeeded / runs; null without runs. */
  readonly successRatePercent: number | null;
  /** Mean run duration; null without runs. */
  readonly avgDurationMs: number | null;
  /**
   * Upper bound of the histogram bucket holding the 95th percentile (nearest rank): never below the
   * true p95, and in the same bucket. When that bucket is the overflow (> 60 min) it is 60 min, a
   * lower bound. Null when no run has a histogram entry.
   */
  readonly p95DurationMs: number | null;
  /** Mean scores of the scored runs; null without one. */
  readonly avgScores: AverageScores | null;
}

/** Counter-wise sum of buckets (absent counters are 0). */
export function sumBuckets(buckets: readonly WindowBucket[]): FullWindowBucket {
  const sum = { ...EMPTY_BUCKET } as Record<WindowCounter, number>;
  for (const bucket of buckets) {
    const full = fullBucket(bucket);
    for (const name of Object.keys(sum) as WindowCounter[]) sum[name] += full[name];
  }
  return sum;
}

/**
 * The `percent`th percentile (nearest rank) of the duration histogram, as the upper bound of the
 * bucket holding it (the overflow bucket's lower bound when it is there); null for an empty histogram.
 */
export function durationPercentileMs(bucket: WindowBucket, percent: number): number | null {
  const full = fullBucket(bucket);
  const total = DURATION_BUCKETS.reduce((n, b) => n + Math.max(0, full[b.counter]), 0);
  if (total <= 0) return null;
  // Integer arithmetic first: 0.95 * 60 is 57.00000000000001 in floating point.
  const rank = Math.max(1, Math.ceil((percent * total) / 100));
  let seen = 0;
  for (const b of DURATION_BUCKETS) {
    seen += Math.max(0, full[b.counter]);
    if (seen >= rank) return Number.isFinite(b.upperMs) ? b.upperMs : DURATION_OVERFLOW_MS;
  }
  return DURATION_OVERFLOW_MS;
}

function aggregate(bucket: WindowBucket): ReportAggregate {
  const b = fullBucket(bucket);
  const runs = b.runs;
  // `succeeded` is written since phase 2.4; on an item that predates it, the runs that were not
  // failures are the succeeded ones (on newer items both agree: succeeded + failures = runs).
  const succeeded = Math.min(runs, Math.max(b.succeeded, runs - b.failures));
  const n = b.scoredRuns;
  return {
    runs,
    succeeded,
    failed: runs - succeeded,
    skipped: b.skips,
    successRatePercent: runs > 0 ? (100 * succeeded) / runs : null,
    avgDurationMs: runs > 0 ? b.durationMsSum / runs : null,
    p95DurationMs: durationPercentileMs(b, P95_PERCENT),
    avgScores:
      n > 0
        ? { overall: b.overallSum / n, reliability: b.reliabilitySum / n, performance: b.performanceSum / n, dataQuality: b.dataQualitySum / n, resource: b.resourceSum / n }
        : null,
  };
}

/** The aggregate of one hour bucket (`WORKER#<id>` / `WINDOW#<YYYY-MM-DDTHH>`). */
export function aggregateHour(bucket: WindowBucket): ReportAggregate {
  return aggregate(bucket);
}

/** The aggregate of a UTC day from its 24 hour buckets (absent hours as EMPTY_BUCKET), in any order. */
export function aggregateDay(buckets: readonly WindowBucket[]): ReportAggregate {
  if (buckets.length !== HOURS_PER_DAY) throw new RangeError(`a day has ${HOURS_PER_DAY} hour buckets, got ${buckets.length}`);
  return aggregate(sumBuckets(buckets));
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The 24 bucket keys (`YYYY-MM-DDTHH`, UTC) of a day given as `YYYY-MM-DD`. */
export function dayBucketKeys(day: string): string[] {
  const start = DAY_PATTERN.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : Number.NaN;
  if (!Number.isFinite(start) || new Date(start).toISOString().slice(0, 10) !== day) throw new RangeError(`expected a UTC day as YYYY-MM-DD, got "${day}"`);
  return Array.from({ length: HOURS_PER_DAY }, (_, h) => new Date(start + h * HOUR_MS).toISOString().slice(0, 13));
}
