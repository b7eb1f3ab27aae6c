/**
 * Defaults kept as data, in one place. Numbers carry their unit in their name.
 */
import type { Category, CircuitSpec, ScoringWeights } from './types.js';

/**
 * The design's "Scoring Weights by Worker Type", in percent. The design has no row for Reporting:
 * a playbook is only as good as the data it synthesises, so Reporting weighs data quality like
 * Intelligence does (see docs/scoring.md). `meta` is the intel cycle's own report card: it does no
 * work itself, so resource use carries no weight.
 */
export const CATEGORY_WEIGHTS: Readonly<Record<Category, ScoringWeights>> = {
  generation: { reliability: 40, performance: 30, dataQuality: 20, resource: 10 },
  collection: { reliability: 30, performance: 20, dataQuality: 40, resource: 10 },
  intelligence: { reliability: 30, performance: 20, dataQuality: 40, resource: 10 },
  aggregation: { reliability: 40, performance: 30, dataQuality: 20, resource: 10 },
  maintenance: { reliability: 50, performance: 20, dataQuality: 20, resource: 10 },
  reporting: { reliability: 30, performance: 20, dataQuality: 40, resource: 10 },
  meta: { reliability: 60, performance: 30, dataQuality: 10, resource: 0 },
};

export const DEFAULT_CIRCUIT: CircuitSpec = {
  failuresToOpen: 3,
  openTimeoutSeconds: 900,
  successesToClose: 1,
  halfOpenMaxProbes: 1,
};

/** Lambda's hard limit for one invocation. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Lambda memory bounds, in MB. */
export const LAMBDA_MIN_MEMORY_MB = 128;
export const LAMBDA_MAX_MEMORY_MB = 10_240;
/**
 * Time a pipeline keeps back from its budget for the protocol steps (gate, record, catch), so that
 * a worker that uses its whole step timeout still leaves room to write its report and release its lock.
 */
export const PROTOCOL_RESERVE_SECONDS = 30;

/** The plan step of a fan-out job only lists its items: its default task timeout, in seconds. */
export const FAN_OUT_PLAN_TIMEOUT_SECONDS = 120;
/**
 * What a nested `.sync:2` execution may take beyond its child's own timeout, in seconds: starting
 * it, and its TIMED_OUT reaching the parent. The parent's task times out then, never hangs.
 */
export const SYNC_TASK_SLACK_SECONDS = 60;
/** A sub-pipeline's timeout must exceed its worst case by this much, in percent. */
export const CYCLE_HEADROOM_PERCENT = 10;
/**
 * SLOW_EXECUTION may raise a work step's timeout up to this factor of the registry's (and never
 * past Lambda's 900 s). The function's timeout and the pipeline's budget leave room for it.
 */
export const STEP_TIMEOUT_RAISE_FACTOR_MAX = 1.5;
