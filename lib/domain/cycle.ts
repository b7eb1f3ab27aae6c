/**
 * The intel cycle's own score report (design #13: the sub-orchestrator's health, visible to the
 * head). The cycle does no work itself; its run is the outcome of its stages. Pure.
 */
import type { WorkerSpec } from '../registry/types.js';

export interface StageOutcome {
  readonly worker: string;
  readonly job: string;
  /** The stage pipeline's recorded status, or null when the stage did not run. */
  readonly status: string | null;
}

export type CycleOutcome =
  | { readonly kind: 'failed'; readonly failure: { readonly Error: string; readonly Cause: string }; readonly stages: readonly StageOutcome[] }
  | { readonly kind: 'ran'; readonly stages: readonly StageOutcome[]; readonly succeeded: number; readonly skipped: number };

/** The error name a cycle is recorded with when one of its stages failed. */
export const STAGE_FAILED_ERROR = 'StageFailed';

/**
 * Reads the stage results the cycle state machine left at `$.stage_<worker>` and the Catch at
 * `$.stageFailure`.
 */
export function cycleOutcome(cycle: WorkerSpec, state: Readonly<Record<string, unknown>>): CycleOutcome {
  const stages: StageOutcome[] = (cycle.stages ?? []).map((s) => {
    const result = state[`stage_${s.worker}`] as { status?: unknown } | undefined;
    return { worker: s.worker, job: s.job, status: typeof result?.status === 'string' ? result.status : null };
  });
  const stageFailure = state['stageFailure'] as { Error?: unknown; Cause?: unknown } | undefined;
  if (stageFailure) {
    const failed = stages.find((s) => s.status === null);
    return {
      kind: 'failed',
      failure: { Error: STAGE_FAILED_ERROR, Cause: `stage ${failed ? `${failed.worker}.${failed.job}` : '?'} failed (${String(stageFailure.Error ?? 'unknown')}); the later stages were skipped` },
      stages,
    };
  }
  const succeeded = stages.filter((s) => s.status === 'SUCCEEDED' || s.status === 'PARTIAL').length;
  return { kind: 'ran', stages, succeeded, skipped: stages.length - succeeded };
}
