/**
 * The naming convention that lets a function find a pipeline or a schedule without a map of ARNs
 * in its environment (Lambda allows 4 KB of environment; a map of every pipeline's ARN outgrows it
 * near 40 workers). Every name is derived from the stack name and the registry ids:
 * - a pipeline (state machine) is `<stack>-<worker>-<job>`, so its ARN is
 *   `PIPELINE_ARN_PREFIX + <worker>-<job>` with `PIPELINE_ARN_PREFIX` =
 *   `arn:<partition>:states:<region>:<account>:stateMachine:<stack>-`;
 * - a schedule is named by its trigger key (`<worker>.<job>[.<n>]`) inside the stack's own group.
 * Pure: the stack, the handlers and the local runtime compute the same names from here.
 */
import { scheduledTriggers } from './index.js';
import type { JobSpec, WorkerSpec } from './types.js';

/** Step Functions' limit on a state machine name. */
export const STATE_MACHINE_NAME_MAX_LENGTH = 80;
/** EventBridge Scheduler's limit on a schedule name. */
export const SCHEDULE_NAME_MAX_LENGTH = 64;

/**
 * Whether a job runs as a pipeline: every job of a scheduled or sub-pipeline worker, and the fan-out
 * jobs of an on-demand one (the rest run in its consumer); a protocol worker's never (they run
 * inside the protocol steps).
 */
export function hasPipeline(worker: Pick<WorkerSpec, 'executionModel'>, job: Pick<JobSpec, 'fanOut'>): boolean {
  switch (worker.executionModel) {
    case 'scheduled':
    case 'sub-pipeline':
      return true;
    case 'on-demand':
      return job.fanOut !== undefined;
    default:
      return false;
  }
}

/** The `<worker>.<job>` keys of every pipeline of the given workers, in registry order. */
export function pipelineKeys(workers: readonly WorkerSpec[]): string[] {
  return workers.flatMap((w) => w.jobs.filter((j) => hasPipeline(w, j)).map((j) => `${w.id}.${j.id}`));
}

/** The part of a pipeline's name after `<stack>-`: `<worker>-<job>`. */
export const pipelineNameSuffix = (workerId: string, jobId: string): string => `${workerId}-${jobId}`;

/** A pipeline's state machine name: `<stack>-<worker>-<job>`; throws past Step Functions' 80 characters (a cut name could collide). */
export function pipelineName(stackName: string, workerId: string, jobId: string): string {
  const name = `${stackName}-${pipelineNameSuffix(workerId, jobId)}`;
  if (name.length > STATE_MACHINE_NAME_MAX_LENGTH) {
    throw new Error(`worker "${workerId}" job "${jobId}": the pipeline name "${name}" has ${name.length} characters, more than Step Functions' ${STATE_MACHINE_NAME_MAX_LENGTH}`);
  }
  return name;
}

/** A pipeline's ARN from `PIPELINE_ARN_PREFIX` (which ends with `<stack>-`). */
export const pipelineArn = (prefix: string, workerId: string, jobId: string): string => `${prefix}${pipelineNameSuffix(workerId, jobId)}`;

/** Every pipeline of the given workers, `<worker>.<job>` → ARN, from `PIPELINE_ARN_PREFIX`. */
export function pipelineArnsOf(prefix: string, workers: readonly WorkerSpec[]): Record<string, string> {
  return Object.fromEntries(
    workers.flatMap((w) => w.jobs.filter((j) => hasPipeline(w, j)).map((j) => [`${w.id}.${j.id}`, pipelineArn(prefix, w.id, j.id)] as const)),
  );
}

/** A schedule's name: its trigger key; throws past Scheduler's 64 characters. */
export function scheduleName(triggerKey: string): string {
  if (triggerKey.length > SCHEDULE_NAME_MAX_LENGTH) throw new Error(`trigger "${triggerKey}": a schedule name has at most ${SCHEDULE_NAME_MAX_LENGTH} characters, got ${triggerKey.length}`);
  return triggerKey;
}

/** The schedule names of one worker (what API_QUOTA_LOW and REDUCE_RATE slow). */
export function scheduleNamesOf(worker: WorkerSpec): string[] {
  return scheduledTriggers([worker]).map((t) => scheduleName(t.key));
}

/** The IAM path of the roles the schedules' targets run as (the recovery may pass only roles under it). */
export const scheduleTargetRolePath = (stackName: string): string => `/${stackName}/schedules/`;
