/**
 * Per-worker hourly buckets of run counters. Each bucket is updated with one atomic `ADD` per
 * report (see `windowDelta`), so readers get small items instead of scanning reports:
 *  - the anomaly rules read two of them, this hour and the last (`rollingWindow`): the last hour is
 *    approximated as the current bucket plus the previous bucket weighted by the part of it still
 *    inside the window (the sliding window counter used by rate limiters);
 *  - report aggregation (`report-aggregation.ts`) reads one hour or the 24 hours of a UTC day.
 * A counter absent from an item (one written before the counter existed) reads as 0. Pure.
 */
import type { ComponentScores, WorkerScoreReport } from './score-report.js';

/**
 * The duration histogram: a run lands in the first bucket whose `upperMs` its duration does not
 * exceed; `dur_gt_2h` takes the rest. From 5 s up each bound is 1.5–3× the previous one, so the
 * p95 estimate (the upper bound of the bucket holding the 95th percentile) is at most 3× the true
 * value from 5 s to 2 h (5× from 1 s, 10× from 100 ms). The longest job timeout in the registry
 * (the intel cycle's 65 min) stays below the overflow, which a test checks. Changing a bound changes the meaning of stored counters: add buckets, do not move them.
 */
export const DURATION_BUCKETS = [
  { counter: 'dur_le_100ms', upperMs: 100 },
  { counter: 'dur_le_1s', upperMs: 1_000 },
  { counter: 'dur_le_5s', upperMs: 5_000 },
  { counter: 'dur_le_15s', upperMs: 15_000 },
  { counter: 'dur_le_30s', upperMs: 30_000 },
  { counter: 'dur_le_1m', upperMs: 60_000 },
  { counter: 'dur_le_2m', upperMs: 120_000 },
  { counter: 'dur_le_5m', upperMs: 300_000 },
  { counter: 'dur_le_10m', upperMs: 600_000 },
  { counter: 'dur_le_20m', upperMs: 1_200_000 },
  { counter: 'dur_le_30m', upperMs: 1_800_000 },
  { counter: 'dur_le_60m', upperMs: 3_600_000 },
  { counter: 'dur_le_2h', upperMs: 7_200_000 },
  { counter: 'dur_gt_2h', upperMs: Number.POSITIVE_INFINITY },
] as const;
export type DurationCounter = (typeof DURATION_BUCKETS)[number]['counter'];
export const DURATION_COUNTERS = DURATION_BUCKETS.map((b) => b.counter) as readonly DurationCounter[];
/**
 * The lower bound of the overflow bucket `dur_gt_2h`. (Before the intel cycle's timeout grew past
 * 60 min the overflow was `dur_gt_60m`, which no job could reach, so no stored counter changes meaning.)
 */
export const DURATION_OVERFLOW_MS = 7_200_000;

/** Per-component score sums, and the report field each one sums. */
export const SCORE_SUMS = [
  { counter: 'overallSum', field: 'overallScore' },
  { counter: 'reliabilitySum', field: 'reliabilityScore' },
  { counter: 'performanceSum', field: 'performanceScore' },
  { counter: 'dataQualitySum', field: 'dataQualityScore' },
  { counter: 'resourceSum', field: 'resourceScore' },
] as const satisfies readonly { counter: string; field: keyof ComponentScores }[];
export type ScoreSumCounter = (typeof SCORE_SUMS)[number]['counter'];

/** The counters the anomaly rules read (`rollingWindow`); present on every WINDOW item. */
export const ROLLING_COUNTERS = ['runs', 'failures', 'crashes', 'retried', 'attempts', 'partials', 'skips', 'lockFailures', 'durationMsSum'] as const;
export type RollingCounter = (typeof ROLLING_COUNTERS)[number];

/** The counters report aggregation reads, added in phase 2.4: absent on older items (read as 0). */
export const AGGREGATE_COUNTERS = ['succeeded', 'scoredRuns', ...SCORE_SUMS.map((s) => s.counter), ...DURATION_BUCKETS.map((b) => b.counter)] as const;
export type AggregateCounter = (typeof AGGREGATE_COUNTERS)[number];

export const WINDOW_COUNTERS = [...ROLLING_COUNTERS, ...AGGREGATE_COUNTERS] as const;
export type WindowCounter = (typeof WINDOW_COUNTERS)[number];
/**
 * A bucket as read. The aggregation counters may be missing from a bucket built by hand (or by
 * code that predates them): read them with `fullBucket` / `?? 0`. Buckets read by the adapters
 * have every counter.
 */
export type WindowBucket = Readonly<Record<RollingCounter, number>> & Readonly<Partial<Record<AggregateCounter, number>>>;
/** A bucket with every counter. */
export type FullWindowBucket = Readonly<Record<WindowCounter, number>>;
export type WindowDelta = Partial<Record<WindowCounter, number>>;

export const HOUR_MS = 3_600_000;

export const EMPTY_BUCKET: FullWindowBucket = Object.freeze(Object.fromEntries(WINDOW_COUNTERS.map((c) => [c, 0])) as Record<WindowCounter, number>);

/** The bucket with every counter, absent ones (and non-finite ones) as 0. */
export function fullBucket(bucket: WindowBucket): FullWindowBucket {
  const full = { ...EMPTY_BUCKET } as Record<WindowCounter, number>;
  for (const name of WINDOW_COUNTERS) {
    const value = (bucket as Partial<Record<WindowCounter, number>>)[name];
    if (typeof value === 'number' && Number.isFinite(value)) full[name] = value;
  }
  return full;
}

/** The hour bucket a moment falls in, as `YYYY-MM-DDTHH` (UTC). */
export function bucketKey(epochMs: number): string {
  return new Date(Math.floor(epochMs / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
}

/** The histogram counter of a duration; undefined for a duration that is not a finite number ≥ 0. */
export function durationCounter(durationMs: number): DurationCounter | undefined {
  if (!Number.isFinite(durationMs) || durationMs < 0) return undefined;
  return (DURATION_BUCKETS.find((b) => durationMs <= b.upperMs) ?? DURATION_BUCKETS[DURATION_BUCKETS.length - 1])?.counter;
}

export type WindowDeltaInput = Pick<WorkerScoreReport, 'status' | 'skipReason' | 'attempts' | 'durationMs'> & { readonly scores?: ComponentScores | null };

/**
 * The ADD deltas one report contributes to its bucket. Only non-zero counters are returned.
 * An executed run adds `runs`, `succeeded` (SUCCEEDED/PARTIAL) or `failures` (FAILED/CRASHED),
 * one histogram bucket for its duration, and, when scored, `scoredRuns` and its score sums.
 */
export function windowDelta(report: WindowDeltaInput): WindowDelta {
  const delta: WindowDelta = {};
  if (report.status === 'SKIPPED') {
    delta.skips = 1;
    if (report.skipReason === 'LOCK_HELD') delta.lockFailures = 1;
    return delta;
  }
  delta.runs = 1;
  if (report.status === 'SUCCEEDED' || report.status === 'PARTIAL') delta.succeeded = 1;
  if (report.status === 'FAILED' || report.status === 'CRASHED') delta.failures = 1;
  if (report.status === 'CRASHED') delta.crashes = 1;
  if (report.status === 'PARTIAL') delta.partials = 1;
  if (report.attempts > 1) delta.retried = 1;
  if (report.attempts > 0) delta.attempts = report.attempts;
  const histogram = durationCounter(report.durationMs);
  if (histogram !== undefined) {
    delta[histogram] = 1;
    if (report.durationMs > 0) delta.durationMsSum = report.durationMs;
  }
  const scores = report.scores;
  if (scores) {
    delta.scoredRuns = 1;
    for (const { counter, field } of SCORE_SUMS) {
      const value = scores[field];
      if (Number.isFinite(value) && value !== 0) delta[counter] = value;
    }
  }
  return delta;
}

export function addToBucket(bucket: WindowBucket, delta: WindowDelta): FullWindowBucket {
  const next = { ...fullBucket(bucket) } as Record<WindowCounter, number>;
  for (const name of WINDOW_COUNTERS) next[name] += delta[name] ?? 0;
  return next;
}

export interface WindowStats extends FullWindowBucket {
  readonly failureRatePercent: number;
  readonly retriedRatePercent: number;
  readonly avgDurationMs: number;
}

/** Statistics for the hour ending at `nowMs`, from the current and previous hour buckets. */
export function rollingWindow(current: WindowBucket, previous: WindowBucket, nowMs: number): WindowStats {
  const elapsed = (nowMs % HOUR_MS) / HOUR_MS;
  const previousWeight = 1 - elapsed;
  const [cur, prev] = [fullBucket(current), fullBucket(previous)];
  const sum = {} as Record<WindowCounter, number>;
  for (const name of WINDOW_COUNTERS) sum[name] = cur[name] + prev[name] * previousWeight;
  const rate = (n: number): number => (sum.runs > 0 ? (100 * n) / sum.runs : 0);
  return {
    ...sum,
    failureRatePercent: rate(sum.failures),
    retriedRatePercent: rate(sum.retried),
    avgDurationMs: sum.runs > 0 ? sum.durationMsSum / sum.runs : 0,
  };
}
