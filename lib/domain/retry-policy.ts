/**
 * The retry policy of a worker step (`Work`, `Plan` and each Map item), shared by the state-machine
 * builder (its `Retry` block) and the Record step (which infers how many attempts a failed step made).
 * Pure.
 */
import { LAMBDA_TRANSIENT_ERROR_NAMES, RETRYABLE_ERROR_NAMES } from './errors.js';

/** The `Retry` block of a worker step: exponential backoff with full jitter, each sleep capped. */
export const WORKER_STEP_RETRY = {
  /** Retries after the first attempt. */
  maxRetries: 3,
  intervalSeconds: 5,
  backoffRate: 2,
  maxDelaySeconds: 60,
} as const;

/** Retries of a worker step after its first attempt: a retryable error that is still failing was tried `1 + WORKER_STEP_MAX_RETRIES` times. */
export const WORKER_STEP_MAX_RETRIES: number = WORKER_STEP_RETRY.maxRetries;

/** Protocol steps (gate, record) retry Lambda's own transient errors quickly. */
export const PROTOCOL_STEP_RETRY = { maxRetries: 3, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 10 } as const;
/**
 * The Record step's second retrier: every error but the non-retryable ones (a malformed payload
 * stays malformed), with exponential backoff, full jitter and a bound. Record is idempotent (counters
 * once per report key, the fenced state write once per execution, the report once per slot), so any
 * prefix of it may run again. Worst case about 2 + 4 + 8 + 16 + 30 + 30 = 90 s of sleeps.
 */
export const RECORD_STEP_RETRY = { maxRetries: 6, intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 30 } as const;
/** Timeout of one protocol step, in seconds. */
export const PROTOCOL_STEP_TIMEOUT_SECONDS = 20;
/** How long a pipeline sleeps between two looks at a `not-running` dependency, at most. */
export const DEPENDENCY_POLL_SECONDS = 30;

/** Every error name a worker step's `Retry` block matches: ours plus Lambda's transient service errors. */
export const WORKER_STEP_RETRIED_ERROR_NAMES: readonly string[] = [...RETRYABLE_ERROR_NAMES, ...LAMBDA_TRANSIENT_ERROR_NAMES];

export function isRetriedErrorName(errorName: string): boolean {
  return WORKER_STEP_RETRIED_ERROR_NAMES.includes(errorName);
}

/** Invocations a step made before it failed with `errorName`: every retry was spent on a retried error. */
export function attemptsBeforeFailure(errorName: string, maxRetries: number = WORKER_STEP_MAX_RETRIES): number {
  return isRetriedErrorName(errorName) ? 1 + maxRetries : 1;
}
