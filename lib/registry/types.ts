/**
 * Types of the worker registry, the single source of truth for the orchestrator.
 *
 * The registry is plain data (see `workers.ts`). Everything else — schedules, state
 * machines, functions, alarms and scoring weights — is derived from it.
 */

export const CATEGORIES = ['collection', 'intelligence', 'aggregation', 'generation', 'reporting', 'maintenance', 'meta'] as const;
export type Category = (typeof CATEGORIES)[number];

export const PRIORITIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * How an entry runs.
 * - `scheduled`: EventBridge Scheduler starts a pipeline per job.
 * - `on-demand`: an SQS queue feeds the worker (the design's RQ queue).
 * - `sub-pipeline`: not a Lambda; a nested state machine made of other workers' jobs (design #13).
 * - `protocol`: not a Lambda; a protocol every gate and worker honours (design #14).
 */
export const EXECUTION_MODELS = ['scheduled', 'on-demand', 'sub-pipeline', 'protocol'] as const;
export type ExecutionModel = (typeof EXECUTION_MODELS)[number];

import type { ScoringWeights } from '../domain/scoring.js';
/** Scoring weights in percent; they must sum to 100. */
export type { ScoringWeights };

/** An EventBridge Scheduler trigger: `cron(...)`, `rate(...)` or `at(...)` plus an IANA timezone. */
export interface ScheduleSpec {
  readonly expression: string;
  readonly timezone: string;
}

/**
 * A fan-out plan for jobs whose budget exceeds one Lambda's 15 minutes: a plan step lists
 * work items and a Map runs one Lambda invocation per item.
 */
export interface FanOutSpec {
  /** What one work item is, e.g. `game`, `category`, `hour`, `asset`. */
  readonly itemKind: string;
  /** Lambda timeout for one item, in seconds; at most 900. */
  readonly itemTimeoutSeconds: number;
  /** Map state MaxConcurrency. */
  readonly maxConcurrency: number;
  /**
   * The most items a plan may list. The pipeline refuses a larger plan before its Map (so the Map
   * is bounded), and the validator checks ceil(maxItems / maxConcurrency) rounds fit the timeout.
   */
  readonly maxItems: number;
  /** The plan step's timeout, in seconds. @default FAN_OUT_PLAN_TIMEOUT_SECONDS (120) */
  readonly planTimeoutSeconds?: number;
}

export interface JobSpec {
  readonly id: string;
  /** Passed to the worker as `mode`. */
  readonly mode: string;
  /** The design's timeout for this job: the pipeline's overall budget, in seconds. */
  readonly timeoutSeconds: number;
  /** How long a normal run takes, in seconds (SLOW_EXECUTION fires past 2x). */
  readonly expectedDurationSeconds: number;
  /** Scheduler triggers owned by this job. Empty for on-demand jobs and for jobs run only inside a sub-pipeline. */
  readonly schedules: readonly ScheduleSpec[];
  /** Present when the job fans out over work items. */
  readonly fanOut?: FanOutSpec;
  /** A dependency gate applies to this job (e.g. recap checks clip coverage). Defaults to all of the worker's dependencies. */
  readonly gatedBy?: readonly string[];
}

/**
 * - `data`: the dependent needs the dependency's data no older than `freshnessSeconds`.
 * - `not-running`: the dependent waits (bounded) while the dependency's in-progress flag is set.
 * - `coverage`: the dependent needs the dependency to have covered the period (e.g. a whole day of polls).
 */
export const DEPENDENCY_RELATIONS = ['data', 'not-running', 'coverage'] as const;
export type DependencyRelation = (typeof DEPENDENCY_RELATIONS)[number];

export interface DependencySpec {
  readonly on: string;
  /**
   * The job of `on` whose output the dependent consumes (creator intel needs youtube's `games`, not
   * its `trending`): its freshness and its circuit are what the gate checks, and the job a
   * DEPENDENCY_FAILURE or STALE_DATA recovery runs again. Required for `data` and `coverage`; for
   * `not-running`, absent means any job of `on`.
   */
  readonly job?: string;
  /** `optional`: a failing dependency neither blocks the dependent nor is retried for it. */
  readonly kind: 'hard' | 'optional';
  readonly relation: DependencyRelation;
  /** For `data`: maximum age of the dependency's data; for `not-running`: how long to wait at most; for `coverage`: the fraction in percent of expected slots that must have a report. */
  readonly freshnessSeconds?: number;
  readonly maxWaitSeconds?: number;
  readonly minCoveragePercent?: number;
}

/**
 * Circuit-breaker settings. The design's "failures > threshold" is `failuresToOpen` consecutive
 * failures, and "successes > threshold" is `successesToClose` HALF_OPEN successes.
 */
export interface CircuitSpec {
  /** Consecutive failures that open the circuit. */
  readonly failuresToOpen: number;
  /** How long the circuit stays OPEN before admitting HALF_OPEN probes, in seconds. */
  readonly openTimeoutSeconds: number;
  /** HALF_OPEN successes that close the circuit. */
  readonly successesToClose: number;
  /** HALF_OPEN probes admitted before the state is decided; at least `successesToClose`. */
  readonly halfOpenMaxProbes: number;
}

export interface WorkerSpec {
  readonly id: string;
  readonly category: Category;
  readonly executionModel: ExecutionModel;
  readonly priority: Priority;
  readonly description: string;
  /** The file the design names for this entry. */
  readonly designSource: string;
  readonly jobs: readonly JobSpec[];
  readonly dependencies: readonly DependencySpec[];
  /** Entries that cannot run well without this one; must mirror their `dependencies`. */
  readonly blocks: readonly string[];
  /** The design's Score Metrics, as metric names. */
  readonly scoreMetrics: readonly string[];
  /** Lambda memory, in MB. Zero for entries that are not Lambdas. */
  readonly memoryMb: number;
  /** Lock lease, in seconds; must cover the longest job's timeout. Zero for entries that do not lock. */
  readonly lockLeaseSeconds: number;
  /** Overrides the category's weights. */
  readonly weights?: ScoringWeights;
  /** Overrides the default circuit settings. */
  readonly circuit?: CircuitSpec;
  /** For sub-pipelines: the stages, in order, as `worker:job` references. */
  readonly stages?: readonly StageRef[];
}

export interface StageRef {
  readonly worker: string;
  readonly job: string;
}
