/**
 * The intel cycle: design #13's intel sub-orchestrator as a nested state machine.
 *
 *   Gate ─► Stage 1 (youtube games) ─► Stage 2 (creator intel) ─► Freshness ─► [Refresh stale data] ─► Stage 3 (playbook) ─► Record
 *   Each stage is the worker's own pipeline, started with `startExecution.sync:2`, so it follows the
 *   same protocol (locks, circuits, reports). When a stage fails, the later stages do not run: each
 *   gets a SKIPPED report with reason DEPENDENCY_FAILED, which raises DEPENDENCY_FAILURE.
 *   Before a stage whose data dependencies are not earlier stages, the cycle checks their freshness
 *   and forces a refresh of each stale upstream pipeline first.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { Duration } from 'aws-cdk-lib';
import { jobOf, pascalCase, syncTaskTimeoutSeconds, workerById, type WorkerSpec } from '../lib/registry/index.js';
import { protocolStep, recordAndConclude } from './worker-pipeline.js';

export interface IntelCycleDefinitionProps {
  readonly cycle: WorkerSpec;
  readonly protocolFunction: lambda.IFunction;
  /** The pipeline of a `worker.job` key. */
  readonly pipelineOf: (workerId: string, jobId: string) => sfn.IStateMachine;
  /** The job whose pipeline refreshes a worker's data (its first scheduled job). */
  readonly refreshJobOf: (workerId: string) => string;
}


/** The pipelines a cycle starts: its stages and the refresh jobs of external data dependencies. */
export function intelCycleChildren(cycle: WorkerSpec, workers: readonly WorkerSpec[]): { worker: string; job: string }[] {
  const stages = cycle.stages ?? [];
  const children = stages.map((s) => ({ worker: s.worker, job: s.job }));
  stages.forEach((stage, i) => {
    const earlier = new Set(stages.slice(0, i).map((s) => s.worker));
    const spec = workers.find((w) => w.id === stage.worker);
    for (const dep of spec?.dependencies ?? []) {
      if (dep.relation !== 'data' || earlier.has(dep.on)) continue;
      // The job the stage consumes (the dependency names it), else the worker's first scheduled job.
      const job = dep.job ?? workers.find((w) => w.id === dep.on)?.jobs.find((j) => j.schedules.length > 0)?.id;
      if (job !== undefined) children.push({ worker: dep.on, job });
    }
  });
  return children;
}

export function buildIntelCycle(scope: Construct, props: IntelCycleDefinitionProps): sfn.IChainable {
  const { cycle, protocolFunction, pipelineOf, refreshJobOf } = props;
  const stages = cycle.stages ?? [];
  const record = recordAndConclude(scope, protocolFunction, 'cycle-record');

  const startChild = (id: string, workerId: string, jobId: string, trigger: string, suffix: string, resultPath: string): tasks.StepFunctionsStartExecution =>
    new tasks.StepFunctionsStartExecution(scope, id, {
      stateMachine: pipelineOf(workerId, jobId),
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      name: sfn.JsonPath.format(`{}-${suffix}`, sfn.JsonPath.stringAt('$$.Execution.Name')),
      input: sfn.TaskInput.fromObject({
        worker: workerId,
        job: jobId,
        scheduledTime: sfn.JsonPath.stringAt('$.gate.scheduledTime'),
        trigger,
      }),
      resultSelector: { 'status.$': '$.Output.record.status' },
      resultPath,
      // The child times out on its own overall timeout (a raised work step included); the slack bounds the wait for that to reach us.
      taskTimeout: sfn.Timeout.duration(Duration.seconds(syncTaskTimeoutSeconds(workerById(workerId), jobOf(workerId, jobId)))),
      comment: `Run ${workerId}.${jobId} as a nested execution.`,
    });

  /** SKIPPED(DEPENDENCY_FAILED) reports for stages after `failedIndex`, then the cycle's record. */
  const skipAfter = (failedIndex: number): sfn.IChainable => {
    const failed = stages[failedIndex];
    const later = stages.slice(failedIndex + 1);
    let chain: sfn.IChainable = record;
    for (const stage of [...later].reverse()) {
      const id = `Skip${pascalCase(stage.worker)}After${pascalCase(failed?.worker ?? 'stage')}`;
      const build = new sfn.Pass(scope, `${id}State`, {
        parameters: {
          worker: stage.worker,
          job: stage.job,
          'scheduledTime.$': '$.gate.scheduledTime',
          trigger: 'intel_cycle',
          gate: { decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail: `${failed?.worker}.${failed?.job} failed in this intel cycle`, 'scheduledTime.$': '$.gate.scheduledTime' },
        },
        resultPath: '$.skip',
      });
      const skip = protocolStep(scope, id, protocolFunction, { action: 'record', statePath: '$.skip', resultPath: sfn.JsonPath.DISCARD, comment: `Record ${stage.worker} as skipped: its dependency failed.` });
      build.next(skip);
      skip.next(chain);
      chain = build;
    }
    return chain;
  };

  let next: sfn.IChainable = record;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (!stage) continue;
    const run = startChild(`Stage${i + 1}${pascalCase(stage.worker)}`, stage.worker, stage.job, 'intel_cycle', stage.worker.replace(/_worker$/, ''), `$.stage_${stage.worker}`);
    run.addCatch(skipAfter(i), { errors: ['States.ALL'], resultPath: '$.stageFailure' });
    run.next(next);
    next = run;

    // Data dependencies that no earlier stage refreshes: check freshness, refresh what is stale.
    const earlier = new Set(stages.slice(0, i).map((s) => s.worker));
    const external = workerById(stage.worker).dependencies.filter((d) => d.relation === 'data' && !earlier.has(d.on));
    if (external.length === 0) continue;
    let afterRefresh: sfn.IChainable = run;
    for (const dep of [...external].reverse()) {
      const refresh = startChild(`Refresh${pascalCase(dep.on)}`, dep.on, dep.job ?? refreshJobOf(dep.on), 'refresh', `refresh-${dep.on.replace(/_worker$/, '')}`, sfn.JsonPath.DISCARD);
      // A failed refresh is not the cycle's failure: the stage's own gate then skips it with DEPENDENCY_FAILED.
      refresh.addCatch(afterRefresh, { errors: ['States.ALL'], resultPath: `$.refreshFailure_${dep.on}` });
      refresh.next(afterRefresh);
      const stalePath = `$.freshness_${stage.worker}.stale.${dep.on}`;
      const check = new sfn.Choice(scope, `Is${pascalCase(dep.on)}Stale`)
        // isPresent first: a Choice on a missing path is a runtime error, and the check may have failed.
        .when(sfn.Condition.and(sfn.Condition.isPresent(stalePath), sfn.Condition.booleanEquals(stalePath, true)), refresh)
        .otherwise(afterRefresh);
      afterRefresh = check;
    }
    const freshness = protocolStep(scope, `CheckFreshnessFor${pascalCase(stage.worker)}`, protocolFunction, {
      action: 'freshness',
      statePath: '$.freshnessQuery',
      resultPath: `$.freshness_${stage.worker}`,
      comment: `Is the data ${stage.worker} needs fresh?`,
    });
    freshness.addCatch(afterRefresh, { errors: ['States.ALL'], resultPath: '$.freshnessFailure' });
    const query = new sfn.Pass(scope, `FreshnessQueryFor${pascalCase(stage.worker)}`, {
      parameters: { worker: stage.worker, job: stage.job, 'scheduledTime.$': '$.gate.scheduledTime', trigger: 'intel_cycle' },
      resultPath: '$.freshnessQuery',
    });
    query.next(freshness);
    freshness.next(afterRefresh);
    next = query;
  }

  const gate = protocolStep(scope, 'Gate', protocolFunction, { action: 'gate', resultPath: '$.gate', comment: 'Pause/drain check and slot claim for the cycle.' });
  gate.addCatch(record, { errors: ['States.ALL'], resultPath: '$.failure' });
  const decide = new sfn.Choice(scope, 'Decide')
    .when(sfn.Condition.stringEquals('$.gate.decision', 'RUN'), next)
    .when(sfn.Condition.stringEquals('$.gate.decision', 'DUPLICATE'), new sfn.Succeed(scope, 'Duplicate', { comment: 'This schedule slot already ran.' }))
    .otherwise(record);
  return gate.next(decide);
}
