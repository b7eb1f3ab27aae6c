/**
 * Read-only views derived from the registry. Everything that builds infrastructure or runs
 * locally goes through these, so no worker is ever written out by hand twice.
 */
import { CATEGORY_WEIGHTS, DEFAULT_CIRCUIT } from './defaults.js';
import type { CircuitSpec, JobSpec, ScheduleSpec, ScoringWeights, WorkerSpec } from './types.js';
import { WORKERS, type WorkerId } from './workers.js';

export * from './types.js';
export { WORKERS, type WorkerId, type LambdaWorkerId } from './workers.js';
export { CATEGORY_WEIGHTS, CYCLE_HEADROOM_PERCENT, DEFAULT_CIRCUIT, FAN_OUT_PLAN_TIMEOUT_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS, PROTOCOL_RESERVE_SECONDS, STEP_TIMEOUT_RAISE_FACTOR_MAX, SYNC_TASK_SLACK_SECONDS } from './defaults.js';
export { cycleBudget, fanOutRounds, jobBudget, maxWorkStepTimeoutSeconds, nestedJobs, planStepTimeoutSeconds, raiseRoomSeconds, stageRefreshes, workStepTimeoutSeconds, type CycleBudget, type JobBudget } from './budget.js';
import { maxWorkStepTimeoutSeconds, pipelineTimeoutSeconds as pipelineTimeoutIn, syncTaskTimeoutSeconds as syncTaskTimeoutIn } from './budget.js';

export const ALL_WORKERS: readonly WorkerSpec[] = WORKERS;

export function isWorkerId(id: string): id is WorkerId {
  return ALL_WORKERS.some((w) => w.id === id);
}

export function workerById(id: string): WorkerSpec {
  const worker = ALL_WORKERS.find((w) => w.id === id);
  if (!worker) throw new Error(`unknown worker "${id}"`);
  return worker;
}

export function jobOf(workerId: string, jobId: string): JobSpec {
  const job = workerById(workerId).jobs.find((j) => j.id === jobId);
  if (!job) throw new Error(`worker "${workerId}" has no job "${jobId}"`);
  return job;
}

/** The twelve workers that run code in a Lambda. */
export function lambdaWorkers(workers: readonly WorkerSpec[] = ALL_WORKERS): WorkerSpec[] {
  return workers.filter((w) => w.executionModel === 'scheduled' || w.executionModel === 'on-demand');
}

export function weightsFor(worker: WorkerSpec): ScoringWeights {
  return worker.weights ?? CATEGORY_WEIGHTS[worker.category];
}

export function circuitFor(worker: WorkerSpec): CircuitSpec {
  return worker.circuit ?? DEFAULT_CIRCUIT;
}

/** One EventBridge schedule: a job's trigger. `key` is stable and unique, for construct IDs and names. */
export interface ScheduledTrigger {
  readonly key: string;
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
  readonly schedule: ScheduleSpec;
}

export function scheduledTriggers(workers: readonly WorkerSpec[] = ALL_WORKERS): ScheduledTrigger[] {
  return workers.flatMap((worker) =>
    worker.jobs.flatMap((job) =>
      job.schedules.map((schedule, i) => ({
        key: job.schedules.length === 1 ? `${worker.id}.${job.id}` : `${worker.id}.${job.id}.${i + 1}`,
        worker,
        job,
        schedule,
      })),
    ),
  );
}

/** The dependencies that gate a job: `gatedBy` when given, else all of the worker's. */
export function gatingDependencies(worker: WorkerSpec, job: JobSpec) {
  const ids = job.gatedBy ?? worker.dependencies.map((d) => d.on);
  return worker.dependencies.filter((d) => ids.includes(d.on));
}

/** The longest a pipeline may wait for `not-running` dependencies before it skips. */
export function maxDependencyWaitSeconds(worker: WorkerSpec, job: JobSpec): number {
  return gatingDependencies(worker, job)
    .filter((d) => d.relation === 'not-running')
    .reduce((sum, d) => sum + (d.maxWaitSeconds ?? 0), 0);
}

/** A pipeline's overall timeout: the design's budget plus the room raised work steps may take (budget.ts `pipelineTimeoutSeconds`; for the intel cycle, its stages' and refreshes' raised steps). */
export function pipelineTimeoutSeconds(worker: WorkerSpec, job: JobSpec): number {
  return pipelineTimeoutIn(worker, job, ALL_WORKERS);
}

/** The task timeout of a nested `.sync:2` execution of `job`: the child pipeline's overall timeout plus a start/stop slack (budget.ts). */
export function syncTaskTimeoutSeconds(worker: WorkerSpec, job: JobSpec): number {
  return syncTaskTimeoutIn(worker, job, ALL_WORKERS);
}

/** A worker function's Lambda timeout: the longest its work steps may be raised to, so a raised step is not cut short by the function. */
export function functionTimeoutSeconds(worker: WorkerSpec): number {
  return Math.max(...worker.jobs.map((job) => maxWorkStepTimeoutSeconds(worker, job)));
}

/** A registry id (`youtube_worker`, `youtube_worker.trending`) as a PascalCase construct-id part. */
export const pascalCase = (id: string): string => id.replace(/(^|[_.])([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase());
