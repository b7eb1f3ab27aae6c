/**
 * The recovery state machine (design phase 4): one generic Standard workflow, started by the
 * anomaly path with `{ alertId, worker, job, anomaly, actions, scheduledTime, severity }` and a
 * deterministic name. A Choice dispatches on the anomaly to one branch per row of the design's
 * recovery table; every step is a call of the recovery Lambda (lambdas/recovery), which records it.
 *
 *   Recovery (Parallel, one branch) ──► Finish ──► Recovered
 *     Dispatch ─ WORKER_CRASH ──────► Restart ► PageOnCall
 *              ─ QUEUE_OVERFLOW ────► ScaleConsumers ► PauseIntake
 *              ─ HIGH_FAILURE_RATE ─► OpenCircuit ► ReduceRate ► WaitOpenTimeout ► HalfOpen ►
 *                                     ProbeOrNot ─► Probe (startExecution.sync:2) ─► RecordCircuit ► RestoreRate
 *              ─ SLOW_EXECUTION ────► RaiseTimeout
 *              ─ STALE_DATA ────────► RefreshUpstream
 *              ─ API_QUOTA_LOW ─────► SlowSchedule ► WaitQuotaReset ► RestoreSchedule
 *              ─ LOCK_CONTENTION ───► ExtendLease
 *              ─ DEPENDENCY_FAILURE ► PlanUpstream ► RetryUpstream (Map: optional ? SkipOptional
 *                                     : RetryUpstreamRun.sync:2) ► RecordUpstream ► UpstreamAgainOrNot
 *                                     ─ still failing ► WaitUpstreamBackoff ► RetryUpstream (loop, bounded)
 *                                     ─ SUCCEEDED ► RunDependents (once each) ► VerifyDependents
 *              ─ otherwise ─────────► NoRecovery
 *   Catch (States.ALL) on Recovery ──► RecordFailure (records, counts the streak, escalates) ──► RecoveryFailed
 *
 * JSONPath only: no JSONata, no Assign, no ItemReader (the local interpreter runs it).
 */
import { Aws, Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { AnomalyCode } from '../lib/domain/anomaly-rules.js';
import { addLambdaTransientRetry } from './worker-pipeline.js';
import type { RecoveryStep } from '../lambdas/recovery/recover.js';

/** A recovery Lambda call's timeout: a few API calls. */
export const RECOVERY_STEP_TIMEOUT_SECONDS = 60;
/** The longest a probe or upstream retry may run (the longest pipeline budget is 2 h). */
export const NESTED_PIPELINE_TIMEOUT_SECONDS = 2 * 3600;

export interface RecoveryDefinitionProps {
  readonly recoveryFunction: lambda.IFunction;
}

/** A recovery Lambda call with the whole execution state. */
export function recoveryStep(scope: Construct, id: string, fn: lambda.IFunction, step: RecoveryStep, resultPath: string | null, comment: string): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject({ step, executionId: sfn.JsonPath.stringAt('$$.Execution.Id'), state: sfn.JsonPath.entirePayload }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: resultPath === null ? sfn.JsonPath.DISCARD : resultPath,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(RECOVERY_STEP_TIMEOUT_SECONDS)),
    comment,
  });
  addLambdaTransientRetry(task);
  return task;
}

/**
 * `arn:aws:states:::states:startExecution.sync:2` on a state machine chosen at run time (the
 * worker's pipeline, from the Lambda's answer): CDK's StepFunctionsStartExecution takes one fixed
 * state machine, so this is a CustomState. The construct grants what the integration needs. The
 * result keeps the child's status and its output (`$.record.status` is what its run recorded: a
 * pipeline that SKIPPED still ends Succeeded, so the recovery reads the record, not the status).
 */
function startPipelineSync(scope: Construct, id: string, from: string, resultPath: string, comment: string): sfn.CustomState {
  return new sfn.CustomState(scope, id, {
    stateJson: {
      Type: 'Task',
      Comment: comment,
      Resource: `arn:${Aws.PARTITION}:states:::states:startExecution.sync:2`,
      Parameters: {
        'StateMachineArn.$': `${from}.stateMachineArn`,
        'Name.$': `${from}.name`,
        Input: {
          'worker.$': `${from}.input.worker`,
          'job.$': `${from}.input.job`,
          'scheduledTime.$': `${from}.input.scheduledTime`,
          'trigger.$': `${from}.input.trigger`,
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      ResultSelector: { 'executionArn.$': '$.ExecutionArn', 'status.$': '$.Status', 'output.$': '$.Output' },
      ResultPath: resultPath,
      TimeoutSeconds: NESTED_PIPELINE_TIMEOUT_SECONDS,
    },
  });
}

/**
 * A Map that runs each item's pipeline once (`.sync:2`), as `{ result: RAN, output }` or
 * `{ result: FAILED, error }`; an item marked `optional` is `{ result: SKIPPED }`. A run is never
 * retried here: DEPENDENCY_FAILURE loops over the Map itself, so that each attempt has its own name
 * and scheduled time and a SKIPPED run is retried too (a Retry only sees a failed task).
 */
function runEach(scope: Construct, prefix: string, itemsPath: string, resultPath: string, maxConcurrency: number, comment: string): sfn.Map {
  const run = startPipelineSync(scope, `${prefix}Run`, '$', '$.run', 'Run the pipeline once.');
  const ran = new sfn.Pass(scope, `${prefix}Ran`, { parameters: { result: 'RAN', 'output.$': '$.run.output' } });
  const failed = new sfn.Pass(scope, `${prefix}Failed`, { parameters: { result: 'FAILED', 'error.$': '$.error.Error' } });
  run.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
  run.next(ran);
  const perItem = new sfn.Choice(scope, `${prefix}OptionalOrHard`)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.optional'), sfn.Condition.booleanEquals('$.optional', true)), new sfn.Pass(scope, `${prefix}SkipOptional`, { parameters: { result: 'SKIPPED' }, comment: 'An optional dependency is not retried: its dependents run without it.' }))
    .otherwise(run);
  const map = new sfn.Map(scope, prefix, { itemsPath, maxConcurrency, resultPath, comment });
  map.itemProcessor(perItem);
  return map;
}

/** Builds the recovery chain. Every branch ends with a verdict at `$.verdict` (outcome, verified, reason, action, job). */
export function buildRecovery(scope: Construct, props: RecoveryDefinitionProps): sfn.IChainable {
  const fn = props.recoveryFunction;
  const step = (id: string, name: RecoveryStep, resultPath: string | null, comment: string) => recoveryStep(scope, id, fn, name, resultPath, comment);
  const verify = (id: string, name: RecoveryStep, comment: string) => step(id, name, '$.verdict', comment);

  // WORKER_CRASH: page, restart within the budget, check the restarted run SUCCEEDED.
  const verifyRestart = verify('VerifyRestart', 'verify-restart', 'SUCCEEDED only when the restarted run recorded SUCCEEDED.');
  const runRestart = startPipelineSync(scope, 'RunRestart', '$.restart', '$.restartRun', 'Run the worker\'s pipeline again (trigger recovery).');
  runRestart.addCatch(verifyRestart, { errors: ['States.ALL'], resultPath: '$.restartFailure' });
  runRestart.next(verifyRestart);
  const crash = step('PageOnCall', 'page', '$.page', 'Page on-call.')
    .next(step('Restart', 'restart', '$.restart', 'Claim the hourly restart budget and name the run (not applicable to on-demand jobs).'))
    .next(new sfn.Choice(scope, 'RestartOrNot').when(sfn.Condition.booleanEquals('$.restart.start', true), runRestart).otherwise(verifyRestart));

  // QUEUE_OVERFLOW
  const overflow = step('ScaleConsumers', 'scale-consumers', '$.scale', 'Raise the consumers\' maximum concurrency (bounded).').next(
    step('PauseIntake', 'pause-intake', '$.pause', 'Hold back new jobs for a while.'),
  ).next(verify('VerifyIntake', 'verify-intake', 'SUCCEEDED when the raised concurrency and the intake pause read back.'));

  // HIGH_FAILURE_RATE
  const recordCircuit = step('RecordCircuit', 'record-circuit', '$.circuit', 'Record the circuit state the probe left.');
  recordCircuit.next(verify('RestoreRate', 'restore-rate', 'Restore the schedules; SUCCEEDED only when a probe run SUCCEEDED and closed the circuit.'));
  const probe = startPipelineSync(scope, 'Probe', '$.halfOpen', '$.probe', 'Run the worker\'s pipeline once as the HALF_OPEN probe; its Record closes (or reopens) the circuit.');
  probe.addCatch(recordCircuit, { errors: ['States.ALL'], resultPath: '$.probeFailure' });
  probe.next(recordCircuit);
  const probeOrNot = new sfn.Choice(scope, 'ProbeOrNot', { comment: 'On-demand jobs are not probed here: their next job is the probe.' })
    .when(sfn.Condition.booleanEquals('$.halfOpen.probe', true), probe)
    .otherwise(recordCircuit);
  const failureRate = step('OpenCircuit', 'open-circuit', '$.open', 'Trip the job\'s circuit: every run of it is skipped while it is OPEN.')
    .next(step('ReduceRate', 'reduce-rate', '$.rate', 'Slow the worker\'s schedules until the probe.'))
    .next(new sfn.Wait(scope, 'WaitOpenTimeout', { time: sfn.WaitTime.secondsPath('$.open.waitSeconds'), comment: 'The circuit\'s open timeout.' }))
    .next(step('HalfOpen', 'half-open', '$.halfOpen', 'Move the circuit to HALF_OPEN; name the probe.'))
    .next(probeOrNot);

  // SLOW_EXECUTION
  const slowExecution = verify('RaiseTimeout', 'raise-timeout', 'Raise the job\'s work-step timeout within the bound (read back as the gate hands it), or recommend at the bound.');

  // STALE_DATA: run each stale job again, check each SUCCEEDED.
  const staleData = step('RefreshUpstream', 'refresh-upstream', '$.refresh', 'List the jobs whose data is stale.')
    .next(runEach(scope, 'RefreshEach', '$.refresh.items', '$.refreshRuns', 4, 'Run each stale job once.'))
    .next(verify('VerifyRefresh', 'verify-refresh', 'SUCCEEDED only when every refresh run recorded SUCCEEDED.'));

  // API_QUOTA_LOW
  const quotaLow = step('SlowSchedule', 'slow-schedule', '$.slow', 'Multiply the schedules\' interval; keep the original in the table and the schedule\'s description.')
    .next(new sfn.Wait(scope, 'WaitQuotaReset', { time: sfn.WaitTime.timestampPath('$.slow.resumeAt'), comment: 'Until the quota resets (midnight America/Los_Angeles).' }))
    .next(verify('RestoreSchedule', 'restore-schedule', 'Put the original schedules back and read them back.'));

  // LOCK_CONTENTION: lengthen the lease, wait for the job's next run, check it acquired the lock.
  const verifyLease = verify('VerifyLease', 'verify-lease', 'SUCCEEDED only when a run after the change acquired the lock.');
  const lockContention = step('ExtendLease', 'extend-lease', '$.lease', 'Lengthen leaseSecondsOverride within the bound, or recommend.').next(
    new sfn.Choice(scope, 'LeaseCheckOrNot')
      .when(
        sfn.Condition.and(sfn.Condition.booleanEquals('$.lease.raised', true), sfn.Condition.isPresent('$.lease.checkAt')),
        new sfn.Wait(scope, 'WaitNextRun', { time: sfn.WaitTime.timestampPath('$.lease.checkAt'), comment: 'Until the job\'s next run should hold the lock.' }).next(verifyLease),
      )
      .otherwise(verifyLease),
  );

  // DEPENDENCY_FAILURE: retry the failed upstream jobs with backoff until they succeed (bounded), then run the blocked dependents once.
  const verifyDependents = verify('VerifyDependents', 'verify-dependents', 'SUCCEEDED only when the upstream and then the dependents recorded SUCCEEDED.');
  const retryUpstream = runEach(scope, 'RetryUpstream', '$.upstream.items', '$.upstreamResults', 4, 'Each upstream job still failing, run once (this attempt\'s name and scheduled time).');
  const upstreamAgainOrNot = new sfn.Choice(scope, 'UpstreamAgainOrNot', { comment: 'A hard upstream job still failing (or SKIPPED) is tried again after the backoff; RecordUpstream fails the recovery past the bound.' })
    .when(
      sfn.Condition.booleanEquals('$.upstream.retry', true),
      new sfn.Wait(scope, 'WaitUpstreamBackoff', { time: sfn.WaitTime.secondsPath('$.upstream.waitSeconds'), comment: 'The backoff before the next attempt (60, 120, 240, 480, then 600 s).' }).next(retryUpstream),
    )
    .when(sfn.Condition.booleanEquals('$.upstream.runDependents', true), runEach(scope, 'RunDependents', '$.upstream.dependents', '$.dependentRuns', 1, 'The blocked dependents, once each, in order, as soon as the upstream SUCCEEDED.').next(verifyDependents))
    .otherwise(verifyDependents);
  const dependencyFailure = step('PlanUpstream', 'plan-upstream', '$.upstream', 'List the failed upstream jobs (the job consumed; optional ones are skipped) and the dependents they block.')
    .next(retryUpstream)
    .next(step('RecordUpstream', 'record-upstream', '$.upstream', 'Record the attempt; plan the next one with its backoff, or fail the recovery past the bound.'))
    .next(upstreamAgainOrNot);

  const branches: Readonly<Partial<Record<AnomalyCode, sfn.IChainable>>> = {
    WORKER_CRASH: crash,
    QUEUE_OVERFLOW: overflow,
    HIGH_FAILURE_RATE: failureRate,
    SLOW_EXECUTION: slowExecution,
    STALE_DATA: staleData,
    API_QUOTA_LOW: quotaLow,
    LOCK_CONTENTION: lockContention,
    DEPENDENCY_FAILURE: dependencyFailure,
  };
  const dispatch = new sfn.Choice(scope, 'Dispatch', { comment: 'One branch per row of the design\'s recovery table.' });
  for (const [code, branch] of Object.entries(branches)) {
    if (branch) dispatch.when(sfn.Condition.stringEquals('$.anomaly', code), branch);
  }
  dispatch.otherwise(verify('NoRecovery', 'no-recovery', 'The anomaly has no recovery action: alerted only.'));

  const recovery = new sfn.Parallel(scope, 'Recovery', {
    resultSelector: { 'verdict.$': '$[0].verdict' },
    resultPath: '$.outcome',
    comment: 'The recovery, so one Catch covers every branch; its verdict is kept at $.outcome.verdict.',
  });
  recovery.branch(dispatch);
  const recordFailure = step('RecordFailure', 'fail', '$.failure', 'Record the failure, count the streak, escalate to on-call at the limit.');
  recordFailure.next(new sfn.Fail(scope, 'RecoveryFailed', { error: 'RecoveryFailed', causePath: '$.error.Error' }));
  recovery.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });

  return recovery.next(step('Finish', 'finish', '$.finish', 'Record the verdict in the summary (SUCCEEDED only when verified); reset the failure streak on success.')).next(new sfn.Succeed(scope, 'Recovered'));
}
