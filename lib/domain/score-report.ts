/**
 * The design's WorkerScoreReport, with a run status, the scheduled time, the attempt count and
 * the lock fence. Field names are the design's in camelCase (see docs/scoring.md for the mapping).
 */
import type { AnomalyCode } from './anomaly-rules.js';

export const RUN_STATUSES = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED', 'SKIPPED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A run that executed (as opposed to SKIPPED). */
export type ExecutedStatus = Exclude<RunStatus, 'SKIPPED'>;

/** DISABLED: the worker's config (PUT /workers/{id}/config) has `enabled: false`. */
export const SKIP_REASONS = ['CIRCUIT_OPEN', 'LOCK_HELD', 'FRESH_DATA', 'PAUSED', 'DEPENDENCY_FAILED', 'DISABLED'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface ComponentScores {
  readonly reliabilityScore: number;
  readonly performanceScore: number;
  readonly dataQualityScore: number;
  readonly resourceScore: number;
  readonly overallScore: number;
}

export type MetricValue = number | string | boolean;

export interface WorkerScoreReport {
  readonly workerName: string;
  readonly jobId: string;
  readonly executionId: string;
  /** The schedule slot this run belongs to (ISO-8601 UTC). */
  readonly scheduledTime: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly status: RunStatus;
  readonly skipReason: SkipReason | null;
  readonly success: boolean;
  readonly durationMs: number;
  /** Invocations of the worker, retries included; 0 when skipped. */
  readonly attempts: number;
  /** The lock fence the run held, or null when it took no lock. */
  readonly lockFence: number | null;
  /** Null when the run was skipped: a skip is not scored. */
  readonly scores: ComponentScores | null;
  readonly anomalies: readonly AnomalyCode[];
  readonly recommendations: readonly string[];
  readonly metrics: Readonly<Record<string, MetricValue>>;
  /** Error name and cause when the run failed or crashed. */
  readonly error: { readonly name: string; readonly cause: string } | null;
}
