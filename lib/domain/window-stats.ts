/**
 * Rolling-window statistics from per-worker hourly buckets. Each bucket is updated with one atomic
 * `ADD` per run (see `windowDelta`), so the anomaly rules read two small items — this hour and the
 * last — instead of scanning an hour of reports. The last hour is approximated as the current
 * bucket plus the previous bucket weighted by the part of it still inside the window (the sliding
 * window counter used by rate limiters). Pure.
 */
import type { WorkerScoreReport } from './score-report.js';

export const WINDOW_COUNTERS = ['runs', 'failures', 'crashes', 'retried', 'attempts', 'partials', 'skips', 'lockFailures', 'durationMsSum'] as const;
export type WindowCounter = (typeof WINDOW_COUNTERS)[number];
export type WindowBucket = Readonly<Record<WindowCounter, number>>;

export const HOUR_MS = 3_600_000;

export const EMPTY_BUCKET: WindowBucket = Object.freeze({ runs: 0, failures: 0, crashes: 0, retried: 0, attempts: 0, partials: 0, skips: 0, lockFailures: 0, durationMsSum: 0 });

/** The hour bucket a moment falls in, as `YYYY-MM-DDTHH` (UTC). */
export function bucketKey(epochMs: number): string {
  return new Date(Math.floor(epochMs / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
}

/** The ADD deltas one report contributes to its bucket. Only non-zero counters are returned. */
export function windowDelta(report: Pick<WorkerScoreReport, 'status' | 'skipReason' | 'attempts' | 'durationMs'>): Partial<Record<WindowCounter, number>> {
  const delta: Partial<Record<WindowCounter, number>> = {};
  if (report.status === 'SKIPPED') {
    delta.skips = 1;
    if (report.skipReason === 'LOCK_HELD') delta.lockFailures = 1;
    return delta;
  }
  delta.runs = 1;
  if (report.status === 'FAILED' || report.status === 'CRASHED') delta.failures = 1;
  if (report.status === 'CRASHED') delta.crashes = 1;
  if (report.status === 'PARTIAL') delta.partials = 1;
  if (report.attempts > 1) delta.retried = 1;
  if (report.attempts > 0) delta.attempts = report.attempts;
  if (report.durationMs > 0) delta.durationMsSum = report.durationMs;
  return delta;
}

export function addToBucket(bucket: WindowBucket, delta: Partial<Record<WindowCounter, number>>): WindowBucket {
  const next = { ...bucket };
  for (const name of WINDOW_COUNTERS) next[name] += delta[name] ?? 0;
  return next;
}

export interface WindowStats extends WindowBucket {
  readonly failureRatePercent: number;
  readonly retriedRatePercent: number;
  readonly avgDurationMs: number;
}

/** Statistics for the hour ending at `nowMs`, from the current and previous hour buckets. */
export function rollingWindow(current: WindowBucket, previous: WindowBucket, nowMs: number): WindowStats {
  const elapsed = (nowMs % HOUR_MS) / HOUR_MS;
  const previousWeight = 1 - elapsed;
  const sum = {} as Record<WindowCounter, number>;
  for (const name of WINDOW_COUNTERS) sum[name] = current[name] + previous[name] * previousWeight;
  const rate = (n: number): number => (sum.runs > 0 ? (100 * n) / sum.runs : 0);
  return {
    ...sum,
    failureRatePercent: rate(sum.failures),
    retriedRatePercent: rate(sum.retried),
    avgDurationMs: sum.runs > 0 ? sum.durationMsSum / sum.runs : 0,
  };
}
