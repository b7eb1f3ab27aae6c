/**
 * A worker result as the worker kit reports it, for test doubles at the Lambda boundary: the
 * attempt comes from the invocation's `retryCount` (Step Functions' `$$.State.RetryCount`).
 */
import type { WorkerResult } from '../../lambdas/shared/contracts.js';

export function workerResult(event: unknown, metrics: Record<string, number> = {}, overrides: Partial<WorkerResult> = {}): WorkerResult {
  const retryCount = typeof (event as { retryCount?: unknown })?.retryCount === 'number' ? (event as { retryCount: number }).retryCount : 0;
  return {
    status: 'SUCCEEDED',
    durationMs: 1_000,
    attempts: retryCount + 1,
    itemsOk: 1,
    itemsFailed: 0,
    outputValid: true,
    recordsValid: 10,
    recordsInvalid: 0,
    validationWarnings: [],
    peakMemoryMb: 100,
    memoryLimitMb: 512,
    metrics,
    health: {},
    stoppedEarly: false,
    ...overrides,
  };
}
