/**
 * Time budgets derived from the registry: the worst case of a job's pipeline and of a
 * sub-pipeline's cycle, from the bounds every state carries. Pure; the validator refuses a registry
 * whose worst case does not fit, and the state-machine builders set the same bounds on their states.
 *
 * What counts (each state's own timeout; retries of transient errors are not counted, since a
 * retried step still ends within the pipeline's overall timeout, which then records the run):
 * - a job: gate and record (the protocol reserve), its bounded dependency waits, and either its
 *   work step or its plan step plus ceil(maxItems / maxConcurrency) rounds of one item timeout;
 * - a cycle: its gate and record, one freshness check per stage with external data dependencies,
 *   and each nested `.sync:2` execution (stage or refresh) bounded by the child's timeout plus a
 *   start/stop slack; its timeout must leave a headroom on top.
 * Those are the design's budgets, which the validator checks. The state machines' own timeouts add
 * the room a SLOW_EXECUTION recovery may take (`raiseRoomSeconds`): a job's raised work step, and for
 * a cycle every nested execution's (`pipelineTimeoutSeconds`, `syncTaskTimeoutSeconds`).
 */
import { PROTOCOL_STEP_TIMEOUT_SECONDS } from '../domain/retry-policy.js';
import { CYCLE_HEADROOM_PERCENT, FAN_OUT_PLAN_TIMEOUT_SECONDS, LAMBDA_MAX_TIMEOUT_SECONDS, PROTOCOL_RESERVE_SECONDS, STEP_TIMEOUT_RAISE_FACTOR_MAX, SYNC_TASK_SLACK_SECONDS } from './defaults.js';
import type { JobSpec, WorkerSpec } from './types.js';

/** The longest a job may wait for `not-running` dependencies before it skips. */
export function dependencyWaitSeconds(worker: WorkerSpec, job: JobSpec): number {
  const gating = job.gatedBy ?? worker.dependencies.map((d) => d.on);
  return worker.dependencies.filter((d) => d.relation === 'not-running' && gating.includes(d.on)).reduce((sum, d) => sum + (d.maxWaitSeconds ?? 0), 0);
}

/** The plan step's timeout of a fan-out job (listing the items is quick). */
export function planStepTimeoutSeconds(job: JobSpec): number {
  return Math.min(job.fanOut?.planTimeoutSeconds ?? FAN_OUT_PLAN_TIMEOUT_SECONDS, job.fanOut?.itemTimeoutSeconds ?? Number.POSITIVE_INFINITY);
}

/** Rounds of items a fan-out runs at worst: ceil(maxItems / maxConcurrency). */
export function fanOutRounds(job: JobSpec): number {
  if (!job.fanOut) return 0;
  return Math.ceil(job.fanOut.maxItems / job.fanOut.maxConcurrency);
}

export interface JobBudget {
  /** The worst case of the pipeline, in seconds. */
  readonly worstCaseSeconds: number;
  /** How it adds up, for messages: e.g. `plan 120 s + 10 rounds x 600 s + protocol 30 s`. */
  readonly breakdown: string;
}

/** A job's worst case: see the module comment. */
export function jobBudget(worker: WorkerSpec, job: JobSpec): JobBudget {
  const waits = dependencyWaitSeconds(worker, job);
  const tail = `protocol ${PROTOCOL_RESERVE_SECONDS} s${waits > 0 ? ` + dependency waits ${waits} s` : ''}`;
  if (job.fanOut) {
    const plan = planStepTimeoutSeconds(job);
    const rounds = fanOutRounds(job);
    const { itemTimeoutSeconds, maxItems, maxConcurrency } = job.fanOut;
    return {
      worstCaseSeconds: plan + rounds * itemTimeoutSeconds + PROTOCOL_RESERVE_SECONDS + waits,
      breakdown: `plan ${plan} s + ceil(${maxItems} items / ${maxConcurrency} concurrent) = ${rounds} rounds x ${itemTimeoutSeconds} s + ${tail}`,
    };
  }
  const work = job.timeoutSeconds - PROTOCOL_RESERVE_SECONDS - waits;
  return { worstCaseSeconds: work + PROTOCOL_RESERVE_SECONDS + waits, breakdown: `work ${work} s + ${tail}` };
}

/**
 * The timeout of the work step (or of one fan-out item): the design's budget less the protocol
 * reserve and the bounded dependency waits, so the Catch can always record within the budget.
 */
export function workStepTimeoutSeconds(worker: WorkerSpec, job: JobSpec): number {
  if (job.fanOut) return job.fanOut.itemTimeoutSeconds;
  return job.timeoutSeconds - PROTOCOL_RESERVE_SECONDS - dependencyWaitSeconds(worker, job);
}

/**
 * The longest the SLOW_EXECUTION recovery may raise a job's work step to: the registry's step
 * timeout x STEP_TIMEOUT_RAISE_FACTOR_MAX, at most Lambda's 900 s. A fan-out job's items keep their
 * registry timeout (raise `itemTimeoutSeconds`, or split the items, instead), and so does a cycle
 * (it has no work step: its nested executions are raised each in its own pipeline).
 */
export function maxWorkStepTimeoutSeconds(worker: WorkerSpec, job: JobSpec): number {
  const step = workStepTimeoutSeconds(worker, job);
  if (job.fanOut || job.mode === 'cycle') return step;
  return Math.max(step, Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.floor(step * STEP_TIMEOUT_RAISE_FACTOR_MAX)));
}

/** The jobs a cycle runs as nested `.sync:2` executions, in order: each stage's refreshes, then the stage. */
export function nestedJobs(cycle: WorkerSpec, workers: readonly WorkerSpec[]): { readonly worker: WorkerSpec; readonly job: JobSpec }[] {
  return (cycle.stages ?? []).flatMap((stage, i) => {
    const worker = workers.find((w) => w.id === stage.worker);
    const job = worker?.jobs.find((j) => j.id === stage.job);
    return [...stageRefreshes(cycle, i, workers), ...(worker && job ? [{ worker, job }] : [])];
  });
}

/**
 * The room a raise may add to a job's pipeline, in seconds: its own work step raised to the bound,
 * and, for a cycle, every nested execution's room (each runs in turn, in its own pipeline).
 */
export function raiseRoomSeconds(worker: WorkerSpec, job: JobSpec, workers: readonly WorkerSpec[]): number {
  const own = maxWorkStepTimeoutSeconds(worker, job) - workStepTimeoutSeconds(worker, job);
  if (job.mode !== 'cycle') return own;
  return own + nestedJobs(worker, workers).reduce((sum, n) => sum + raiseRoomSeconds(n.worker, n.job, workers), 0);
}

/**
 * A pipeline's overall timeout: the design's budget plus the room raised work steps may take
 * (`raiseRoomSeconds`): for the intel cycle, its stages' and refreshes' raised steps.
 */
export function pipelineTimeoutSeconds(worker: WorkerSpec, job: JobSpec, workers: readonly WorkerSpec[]): number {
  return job.timeoutSeconds + raiseRoomSeconds(worker, job, workers);
}

/**
 * The task timeout of a nested `.sync:2` execution of `job`: the child pipeline's own overall
 * timeout (raise room included) plus a start/stop slack, so the parent never gives up on a child
 * that is still within its bound.
 */
export function syncTaskTimeoutSeconds(worker: WorkerSpec, job: JobSpec, workers: readonly WorkerSpec[]): number {
  return pipelineTimeoutSeconds(worker, job, workers) + SYNC_TASK_SLACK_SECONDS;
}

/** A nested execution as the design budgets it (the registry's timeout plus the slack): what a cycle's own timeout is checked against. */
const designSyncSeconds = (job: JobSpec): number => job.timeoutSeconds + SYNC_TASK_SLACK_SECONDS;

export interface CycleBudget extends JobBudget {
  /** The least timeout that fits the worst case with the headroom. */
  readonly requiredTimeoutSeconds: number;
}

/** The refresh jobs a stage needs first: data dependencies no earlier stage refreshes (their first scheduled job). */
export function stageRefreshes(cycle: WorkerSpec, stageIndex: number, workers: readonly WorkerSpec[]): { worker: WorkerSpec; job: JobSpec }[] {
  const stages = cycle.stages ?? [];
  const stage = stages[stageIndex];
  const earlier = new Set(stages.slice(0, stageIndex).map((s) => s.worker));
  const spec = workers.find((w) => w.id === stage?.worker);
  const out: { worker: WorkerSpec; job: JobSpec }[] = [];
  for (const dep of spec?.dependencies ?? []) {
    if (dep.relation !== 'data' || earlier.has(dep.on)) continue;
    const upstream = workers.find((w) => w.id === dep.on);
    const job = upstream?.jobs.find((j) => j.schedules.length > 0);
    if (upstream && job) out.push({ worker: upstream, job });
  }
  return out;
}

/** A sub-pipeline's worst case and the timeout it needs with {@link CYCLE_HEADROOM_PERCENT}. */
export function cycleBudget(cycle: WorkerSpec, workers: readonly WorkerSpec[]): CycleBudget {
  const parts: string[] = [`gate ${PROTOCOL_STEP_TIMEOUT_SECONDS} s`];
  let total = PROTOCOL_STEP_TIMEOUT_SECONDS;
  (cycle.stages ?? []).forEach((stage, i) => {
    const job = workers.find((w) => w.id === stage.worker)?.jobs.find((j) => j.id === stage.job);
    const refreshes = stageRefreshes(cycle, i, workers);
    if (refreshes.length > 0) {
      total += PROTOCOL_STEP_TIMEOUT_SECONDS;
      parts.push(`freshness ${PROTOCOL_STEP_TIMEOUT_SECONDS} s`);
    }
    for (const r of refreshes) {
      total += designSyncSeconds(r.job);
      parts.push(`refresh ${r.worker.id}.${r.job.id} ${designSyncSeconds(r.job)} s`);
    }
    if (job) {
      total += designSyncSeconds(job);
      parts.push(`${stage.worker}.${stage.job} ${designSyncSeconds(job)} s`);
    }
  });
  total += PROTOCOL_STEP_TIMEOUT_SECONDS;
  parts.push(`record ${PROTOCOL_STEP_TIMEOUT_SECONDS} s`);
  return {
    worstCaseSeconds: total,
    breakdown: parts.join(' + '),
    requiredTimeoutSeconds: Math.ceil((total * (100 + CYCLE_HEADROOM_PERCENT)) / 100),
  };
}
