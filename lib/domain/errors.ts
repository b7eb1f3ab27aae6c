/**
 * The named error hierarchy. Step Functions matches `ErrorEquals` on an error's name, so these
 * names are the contract between workers and state machines: the pipelines retry exactly
 * `RETRYABLE_ERROR_NAMES` and catch everything else.
 */

export abstract class OrchestratorError extends Error {
  abstract readonly retryable: boolean;
}

/** A failure that may pass on its own: the pipeline retries it with backoff and jitter. */
export abstract class RetryableError extends OrchestratorError {
  readonly retryable = true;
}

/** A failure that retrying cannot fix: the pipeline catches it and records a FAILED report. */
export abstract class NonRetryableError extends OrchestratorError {
  readonly retryable = false;
}

/** An upstream API answered 5xx, timed out or reset the connection. */
export class TransientUpstreamError extends RetryableError {
  override readonly name = 'TransientUpstreamError';
}

/** An upstream API throttled us (HTTP 429 or a rate-limit header at zero). */
export class UpstreamThrottledError extends RetryableError {
  override readonly name = 'UpstreamThrottledError';
}

/** A quota is spent for the period (e.g. YouTube's daily units): retrying today cannot help. */
export class QuotaExhaustedError extends NonRetryableError {
  override readonly name = 'QuotaExhaustedError';
}

/** The upstream rejected our credentials or request (4xx other than 429). */
export class UpstreamRejectedError extends NonRetryableError {
  override readonly name = 'UpstreamRejectedError';
}

/** The worker's input or output failed validation. */
export class InvalidPayloadError extends NonRetryableError {
  override readonly name = 'InvalidPayloadError';
}

/** Configuration is missing or malformed (environment, secrets, registry). */
export class ConfigurationError extends NonRetryableError {
  override readonly name = 'ConfigurationError';
}

/** The worker's lock was taken over by a newer holder (its fence is stale). */
export class LockLostError extends NonRetryableError {
  override readonly name = 'LockLostError';
}

/** Names the pipelines retry. Lambda's own transient service errors are retried too. */
export const RETRYABLE_ERROR_NAMES = ['TransientUpstreamError', 'UpstreamThrottledError'] as const;

export const LAMBDA_TRANSIENT_ERROR_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

export const NON_RETRYABLE_ERROR_NAMES = [
  'QuotaExhaustedError',
  'UpstreamRejectedError',
  'InvalidPayloadError',
  'ConfigurationError',
  'LockLostError',
] as const;

/**
 * Errors that mean the worker died rather than failed: a timeout, an out-of-memory kill, a runtime
 * crash, or an execution aborted before its Record step (`States.Aborted`: the name the health sweep
 * records an ABORTED execution with; Step Functions itself raises no such error). They make a
 * CRASHED report (the design's WORKER_CRASH) instead of FAILED.
 */
export const CRASH_ERROR_NAMES = ['States.Timeout', 'States.HeartbeatTimeout', 'States.Aborted', 'Sandbox.Timedout', 'Runtime.ExitError', 'Runtime.OutOfMemory', 'Lambda.Unknown'] as const;

export function isCrashError(errorName: string): boolean {
  return (CRASH_ERROR_NAMES as readonly string[]).includes(errorName);
}
