/**
 * Read-only views derived from the registry. Everything that builds infrastructure or runs
 * locally goes through these, so no worker is ever written out by hand twice.
 */
import { CATEGORY_WEIGHTS, DEFAULT_CIRCUIT } from './defaults.js';
import type { CircuitSpec, JobSpec, ScheduleSpec, ScoringWeights, WorkerSpec } from './types.js';
import { WORKERS, type WorkerId } from './workers.js';

export * from './types.js';
export { WORKERS, type WorkerId, type LambdaWorkerId } from './workers.js';
export { CATEGORY_WEIGHTS, DEFAULT_CIRCUIT, LAMBDA_MAX_TIMEOUT_SECONDS, PROTOCOL_RESERVE_SECONDS } from './defaults.js';

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
