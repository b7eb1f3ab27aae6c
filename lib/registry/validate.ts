/**
 * Pure validation of the worker registry. It runs at synth (bin/app.ts) and in tests.
 * Every issue names the worker, the field and the bad value.
 */
import { findCycle } from '../domain/graph.js';
import { cycleBudget, jobBudget } from './budget.js';
import { CATEGORY_WEIGHTS, CYCLE_HEADROOM_PERCENT, DEFAULT_CIRCUIT, LAMBDA_MAX_MEMORY_MB, LAMBDA_MAX_TIMEOUT_SECONDS, LAMBDA_MIN_MEMORY_MB, PROTOCOL_RESERVE_SECONDS } from './defaults.js';
import { isValidTimezone, parseScheduleExpression } from './schedule-expression.js';
import type { Category, CircuitSpec, JobSpec, ScoringWeights, WorkerSpec } from './types.js';

export interface ValidationIssue {
  readonly worker: string;
  readonly field: string;
  readonly value: unknown;
  readonly message: string;
}

export class RegistryValidationError extends Error {
  override readonly name = 'RegistryValidationError';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`invalid worker registry (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${issues.map(formatIssue).join('\n')}`);
  }
}

export function formatIssue(issue: ValidationIssue): string {
  return `worker "${issue.worker}": ${issue.field}: ${issue.message}, got ${JSON.stringify(issue.value)}`;
}

const ID_PATTERN = /^[a-z][a-z0-9_]*$/;
const isLambdaWorker = (w: WorkerSpec): boolean => w.executionModel === 'scheduled' || w.executionModel === 'on-demand';
const isPositiveInteger = (n: number): boolean => Number.isInteger(n) && n > 0;

function checkWeights(weights: ScoringWeights, worker: string, field: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [name, value] of Object.entries(weights)) {
    if (!Number.isFinite(value) || value < 0 || value > 100) {
      issues.push({ worker, field: `${field}.${name}`, value, message: 'a weight must be a percentage from 0 to 100' });
    }
  }
  const sum = weights.reliability + weights.performance + weights.dataQuality + weights.resource;
  if (sum !== 100) issues.push({ worker, field, value: sum, message: 'weights must sum to 100' });
  return issues;
}

function checkCircuit(circuit: CircuitSpec, worker: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const name of ['failuresToOpen', 'openTimeoutSeconds', 'successesToClose', 'halfOpenMaxProbes'] as const) {
    if (!isPositiveInteger(circuit[name])) issues.push({ worker, field: `circuit.${name}`, value: circuit[name], message: 'must be a positive integer' });
  }
  if (circuit.halfOpenMaxProbes < circuit.successesToClose) {
    issues.push({ worker, field: 'circuit.halfOpenMaxProbes', value: circuit.halfOpenMaxProbes, message: `must admit at least successesToClose (${circuit.successesToClose}) probes` });
  }
  return issues;
}

function checkJob(w: WorkerSpec, job: JobSpec, stageJobs: ReadonlySet<string>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const at = `jobs.${job.id}`;
  const push = (field: string, value: unknown, message: string): void => {
    issues.push({ worker: w.id, field: `${at}.${field}`, value, message });
  };
  if (!ID_PATTERN.test(job.id)) push('id', job.id, 'a job id must be snake_case');
  if (!isPositiveInteger(job.timeoutSeconds)) push('timeoutSeconds', job.timeoutSeconds, 'must be a positive integer');
  if (!(job.expectedDurationSeconds > 0) || job.expectedDurationSeconds > job.timeoutSeconds) {
    push('expectedDurationSeconds', job.expectedDurationSeconds, `must be positive and at most the timeout (${job.timeoutSeconds} s)`);
  }
  job.schedules.forEach((schedule, i) => {
    const parsed = parseScheduleExpression(schedule.expression);
    if (!parsed.ok) push(`schedules[${i}].expression`, schedule.expression, parsed.reason);
    if (!isValidTimezone(schedule.timezone)) push(`schedules[${i}].timezone`, schedule.timezone, 'must be an IANA timezone');
  });
  if (w.executionModel === 'on-demand' && job.schedules.length > 0) {
    push('schedules', job.schedules.map((s) => s.expression), 'an on-demand job is started by its queue and takes no schedule');
  }
  if (w.executionModel === 'scheduled' && job.schedules.length === 0 && !stageJobs.has(`${w.id}:${job.id}`)) {
    push('schedules', [], 'a scheduled job needs a schedule or a place in a sub-pipeline, or it never runs');
  }
  if (isLambdaWorker(w)) {
    if (job.fanOut) {
      const { itemTimeoutSeconds, maxConcurrency, itemKind } = job.fanOut;
      if (!isPositiveInteger(itemTimeoutSeconds) || itemTimeoutSeconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
        push('fanOut.itemTimeoutSeconds', itemTimeoutSeconds, `one item runs in one Lambda, so it must be 1-${LAMBDA_MAX_TIMEOUT_SECONDS} s`);
      } else if (itemTimeoutSeconds > job.timeoutSeconds) {
        push('fanOut.itemTimeoutSeconds', itemTimeoutSeconds, `must be at most the job timeout (${job.timeoutSeconds} s)`);
      }
      if (!isPositiveInteger(maxConcurrency)) push('fanOut.maxConcurrency', maxConcurrency, 'must be a positive integer');
      if (itemKind.trim() === '') push('fanOut.itemKind', itemKind, 'must name the work item');
      if (!isPositiveInteger(job.fanOut.maxItems)) push('fanOut.maxItems', job.fanOut.maxItems, 'a fan-out needs a bound on its items: a positive integer');
      const plan = job.fanOut.planTimeoutSeconds;
      if (plan !== undefined && (!isPositiveInteger(plan) || plan > LAMBDA_MAX_TIMEOUT_SECONDS)) push('fanOut.planTimeoutSeconds', plan, `the plan runs in one Lambda, so it must be 1-${LAMBDA_MAX_TIMEOUT_SECONDS} s`);
      if (isPositiveInteger(itemTimeoutSeconds) && isPositiveInteger(maxConcurrency) && isPositiveInteger(job.fanOut.maxItems) && isPositiveInteger(job.timeoutSeconds)) {
        const budget = jobBudget(w, job);
        if (budget.worstCaseSeconds > job.timeoutSeconds) {
          push('timeoutSeconds', job.timeoutSeconds, `job "${job.id}" does not fit its worst case of ${budget.worstCaseSeconds} s (${budget.breakdown}): raise the timeout or maxConcurrency, or lower maxItems or the item timeout`);
        }
      }
    } else if (job.timeoutSeconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
      push('timeoutSeconds', job.timeoutSeconds, `a single Lambda step runs at most ${LAMBDA_MAX_TIMEOUT_SECONDS} s; declare fanOut to split the work`);
    } else {
      const waitsSeconds = w.dependencies.filter((d) => d.relation === 'not-running' && (job.gatedBy ?? w.dependencies.map((x) => x.on)).includes(d.on)).reduce((sum, d) => sum + (d.maxWaitSeconds ?? 0), 0);
      if (job.timeoutSeconds - PROTOCOL_RESERVE_SECONDS - waitsSeconds < 1) {
        push('timeoutSeconds', job.timeoutSeconds, `leaves no time to work after the ${PROTOCOL_RESERVE_SECONDS} s protocol reserve and ${waitsSeconds} s of dependency waits`);
      }
    }
    if (w.lockLeaseSeconds > 0 && w.lockLeaseSeconds < job.timeoutSeconds) {
      issues.push({ worker: w.id, field: 'lockLeaseSeconds', value: w.lockLeaseSeconds, message: `the lock lease must cover job "${job.id}" timeout of ${job.timeoutSeconds} s` });
    }
  }
  return issues;
}

/** Validates the registry and returns every issue found (empty when valid). */
export function validateRegistry(workers: readonly WorkerSpec[], categoryWeights: Readonly<Record<Category, ScoringWeights>> = CATEGORY_WEIGHTS): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const byId = new Map<string, WorkerSpec>();
  for (const w of workers) {
    if (byId.has(w.id)) issues.push({ worker: w.id, field: 'id', value: w.id, message: 'duplicate worker id' });
    byId.set(w.id, w);
  }

  for (const [category, weights] of Object.entries(categoryWeights)) {
    issues.push(...checkWeights(weights, `(category ${category})`, 'weights'));
  }

  const stageJobs = new Set<string>();
  for (const w of workers) for (const stage of w.stages ?? []) stageJobs.add(`${stage.worker}:${stage.job}`);

  for (const w of workers) {
    const push = (field: string, value: unknown, message: string): void => {
      issues.push({ worker: w.id, field, value, message });
    };
    if (!ID_PATTERN.test(w.id)) push('id', w.id, 'a worker id must be snake_case');
    if (w.description.trim() === '') push('description', w.description, 'must say what the entry does');

    const jobIds = new Set<string>();
    for (const job of w.jobs) {
      if (jobIds.has(job.id)) push(`jobs.${job.id}`, job.id, 'duplicate job id');
      jobIds.add(job.id);
      issues.push(...checkJob(w, job, stageJobs));
    }

    if (isLambdaWorker(w)) {
      if (w.jobs.length === 0) push('jobs', [], 'a Lambda worker needs at least one job');
      if (!Number.isInteger(w.memoryMb) || w.memoryMb < LAMBDA_MIN_MEMORY_MB || w.memoryMb > LAMBDA_MAX_MEMORY_MB) {
        push('memoryMb', w.memoryMb, `must be ${LAMBDA_MIN_MEMORY_MB}-${LAMBDA_MAX_MEMORY_MB} MB`);
      }
      if (w.executionModel === 'scheduled' && !isPositiveInteger(w.lockLeaseSeconds)) {
        push('lockLeaseSeconds', w.lockLeaseSeconds, 'a scheduled worker locks, so the lease must be a positive integer');
      }
      if (w.scoreMetrics.length === 0) push('scoreMetrics', [], 'a worker reports at least one score metric');
    } else {
      if (w.memoryMb !== 0) push('memoryMb', w.memoryMb, `a ${w.executionModel} entry is not a Lambda and has no memory`);
      if (w.lockLeaseSeconds !== 0) push('lockLeaseSeconds', w.lockLeaseSeconds, `a ${w.executionModel} entry takes no lock`);
    }
    if (w.weights) issues.push(...checkWeights(w.weights, w.id, 'weights'));
    issues.push(...checkCircuit(w.circuit ?? DEFAULT_CIRCUIT, w.id));

    for (const [i, dep] of w.dependencies.entries()) {
      const field = `dependencies[${i}]`;
      if (!byId.has(dep.on)) push(`${field}.on`, dep.on, 'unknown worker');
      if (dep.on === w.id) push(`${field}.on`, dep.on, 'a worker cannot depend on itself');
      if (dep.relation === 'data' && !isPositiveInteger(dep.freshnessSeconds ?? 0)) push(`${field}.freshnessSeconds`, dep.freshnessSeconds, 'a data dependency needs a positive freshness threshold');
      if (dep.relation === 'not-running' && !isPositiveInteger(dep.maxWaitSeconds ?? 0)) push(`${field}.maxWaitSeconds`, dep.maxWaitSeconds, 'a not-running dependency needs a positive bound on the wait');
      if (dep.relation === 'coverage' && !((dep.minCoveragePercent ?? 0) > 0 && (dep.minCoveragePercent ?? 0) <= 100)) {
        push(`${field}.minCoveragePercent`, dep.minCoveragePercent, 'a coverage dependency needs a percentage in (0, 100]');
      }
      const upstream = byId.get(dep.on);
      if (upstream && !upstream.blocks.includes(w.id)) push(`${field}.on`, dep.on, `"${dep.on}" must list "${w.id}" in its blocks`);
      if (dep.job === undefined) {
        if (dep.relation !== 'not-running') push(`${field}.job`, dep.job, `a ${dep.relation} dependency must name the job of "${dep.on}" it consumes`);
      } else if (upstream && !upstream.jobs.some((j) => j.id === dep.job)) {
        push(`${field}.job`, dep.job, `"${dep.on}" has no such job (jobs: ${upstream.jobs.map((j) => j.id).join(', ') || 'none'})`);
      }
    }
    for (const blocked of w.blocks) {
      const downstream = byId.get(blocked);
      if (!downstream) push('blocks', blocked, 'unknown worker');
      else if (!downstream.dependencies.some((d) => d.on === w.id)) push('blocks', blocked, `"${blocked}" does not depend on "${w.id}"`);
    }
    for (const job of w.jobs) {
      for (const gate of job.gatedBy ?? []) {
        if (!byId.has(gate)) push(`jobs.${job.id}.gatedBy`, gate, 'unknown worker');
      }
    }

    if (w.executionModel === 'sub-pipeline') {
      const stages = w.stages ?? [];
      if (stages.length === 0) push('stages', [], 'a sub-pipeline needs stages');
      let stageBudgetSeconds = 0;
      stages.forEach((stage, i) => {
        const stageJob = byId.get(stage.worker)?.jobs.find((j) => j.id === stage.job);
        if (!stageJob) {
          push(`stages[${i}]`, `${stage.worker}:${stage.job}`, 'unknown worker job');
          return;
        }
        stageBudgetSeconds += stageJob.timeoutSeconds;
        const stageWorker = byId.get(stage.worker);
        for (const dep of stageWorker?.dependencies ?? []) {
          const depIndex = stages.findIndex((s) => s.worker === dep.on);
          if (depIndex > i) push(`stages[${i}]`, `${stage.worker}:${stage.job}`, `runs before its dependency "${dep.on}" (stage ${depIndex})`);
        }
      });
      const budget = cycleBudget(w, workers);
      for (const job of w.jobs) {
        if (job.timeoutSeconds < stageBudgetSeconds) push(`jobs.${job.id}.timeoutSeconds`, job.timeoutSeconds, `must cover the stages' budgets (${stageBudgetSeconds} s)`);
        else if (job.timeoutSeconds < budget.requiredTimeoutSeconds) {
          push(
            `jobs.${job.id}.timeoutSeconds`,
            job.timeoutSeconds,
            `cycle "${job.id}" does not fit its worst case of ${budget.worstCaseSeconds} s (${budget.breakdown}) with ${CYCLE_HEADROOM_PERCENT} % headroom: it needs at least ${budget.requiredTimeoutSeconds} s`,
          );
        }
      }
    } else if (w.stages !== undefined) {
      push('stages', w.stages.map((s) => `${s.worker}:${s.job}`), 'only a sub-pipeline has stages');
    }
  }

  const graph = new Map(workers.map((w) => [w.id, w.dependencies.map((d) => d.on)] as const));
  const cycle = findCycle(graph);
  if (cycle) issues.push({ worker: cycle[0] ?? '?', field: 'dependencies', value: cycle.join(' -> '), message: 'dependency cycle' });
  return issues;
}

/** Throws a RegistryValidationError listing every issue. */
export function assertValidRegistry(workers: readonly WorkerSpec[]): void {
  const issues = validateRegistry(workers);
  if (issues.length > 0) throw new RegistryValidationError(issues);
}
