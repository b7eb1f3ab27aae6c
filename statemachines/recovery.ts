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
 *                                     : StartUpstream.sync:2 with Retry) ► RecordUpstream
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
/** DEPENDENCY_FAILURE: how the upstream pipeline is retried (a failed run fails its `.sync:2` task). */
export const UPSTREAM_RETRY = { maxRetries: 2, intervalSeconds: 60, backoffRate: 2, maxDelaySeconds: 600 } as const;
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
 * state machine, so this is a CustomState. The construct grants what the integration needs.
 */
function startPipelineSync(scope: Construct, id: string, from: string, resultPath: string, comment: string, nameFromRetryCount: boolean): sfn.CustomState {
  return new sfn.CustomState(scope, id, {
    stateJson: {
      Type: 'Task',
      Comment: comment,
      Resource: `arn:${Aws.PARTITION}:states:::states:startExecution.sync:2`,
      Parameters: {
        'StateMachineArn.$': `${from}.stateMachineArn`,
        ...(nameFromRetryCount ? { 'Name.$': `States.Format('{}-{}', ${from}.name, $$.State.RetryCount)` } : { 'Name.$': `${from}.name` }),
        Input: {
          'worker.$': `${from}.input.worker`,
          'job.$': `${from}.input.job`,
          'scheduledTime.$': `${from}.input.scheduledTime`,
          'trigger.$': `${from}.input.trigger`,
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      ResultSelector: { 'executionArn.$': '$.ExecutionArn', 'status.$': '$.Status' },
      ResultPath: resultPath,
      TimeoutSeconds: NESTED_PIPELINE_TIMEOUT_SECONDS,
    },
  });
}

/** Builds the recovery chain. */
export function buildRecovery(scope: Construct, props: RecoveryDefinitionProps): sfn.IChainable {
  const fn = props.recoveryFunction;
  const step = (id: string, name: RecoveryStep, resultPath: string | null, comment: string) => recoveryStep(scope, id, fn, name, resultPath, comment);

  // WORKER_CRASH
  const crash = step('Restart', 'restart', '$.restart', 'Start the pipeline again (trigger recovery), within the hourly restart budget.').next(
    step('PageOnCall', 'page', '$.page', 'Page on-call.'),
  );

  // QUEUE_OVERFLOW
  const overflow = step('ScaleConsumers', 'scale-consumers', '$.scale', 'Raise the consumers\' maximum concurrency (bounded).').next(
    step('PauseIntake', 'pause-intake', '$.pause', 'Hold back new jobs for a while.'),
  );

  // HIGH_FAILURE_RATE
  const recordCircuit = step('RecordCircuit', 'record-circuit', '$.circuit', 'Record the circuit state the probe left.');
  recordCircuit.next(step('RestoreRate', 'restore-rate', '$.restoreRate', 'Restore the schedules; fail the recovery when the circuit did not close.'));
  const probe = startPipelineSync(scope, 'Probe', '$.halfOpen', '$.probe', 'Run the worker\'s pipeline once as the HALF_OPEN probe; its Record closes (or reopens) the circuit.', false);
  probe.addCatch(recordCircuit, { errors: ['States.ALL'], resultPath: '$.probeFailure' });
  probe.next(recordCircuit);
  const probeOrNot = new sfn.Choice(scope, 'ProbeOrNot', { comment: 'Workers without a pipeline (on-demand jobs) probe with their next job.' })
    .when(sfn.Condition.booleanEquals('$.halfOpen.probe', true), probe)
    .otherwise(recordCircuit);
  const failureRate = step('OpenCircuit', 'open-circuit', '$.open', 'Trip the circuit: every run is skipped while it is OPEN.')
    .next(step('ReduceRate', 'reduce-rate', '$.rate', 'Slow the worker\'s schedules until the probe.'))
    .next(new sfn.Wait(scope, 'WaitOpenTimeout', { time: sfn.WaitTime.secondsPath('$.open.waitSeconds'), comment: 'The circuit\'s open timeout.' }))
    .next(step('HalfOpen', 'half-open', '$.halfOpen', 'Move the circuit to HALF_OPEN; name the probe.'))
    .next(probeOrNot);

  // SLOW_EXECUTION, STALE_DATA, LOCK_CONTENTION
  const slowExecution = step('RaiseTimeout', 'raise-timeout', '$.timeout', 'Raise stepTimeoutOverrideSeconds within the bound, or recommend.');
  const staleData = step('RefreshUpstream', 'refresh-upstream', '$.refresh', 'Start the upstream pipelines (trigger refresh).');
  const lockContention = step('ExtendLease', 'extend-lease', '$.lease', 'Lengthen leaseSecondsOverride within the bound, or recommend.');

  // API_QUOTA_LOW
  const quotaLow = step('SlowSchedule', 'slow-schedule', '$.slow', 'Multiply the schedules\' interval; keep the original in the table and the schedule\'s description.')
    .next(new sfn.Wait(scope, 'WaitQuotaReset', { time: sfn.WaitTime.timestampPath('$.slow.resumeAt'), comment: 'Until the quota resets (midnight America/Los_Angeles).' }))
    .next(step('RestoreSchedule', 'restore-schedule', '$.restore', 'Put the original schedules back.'));

  // DEPENDENCY_FAILURE
  const startUpstream = startPipelineSync(scope, 'StartUpstream', '$', '$.run', 'Run the upstream pipeline; a failed run is retried with backoff under a new name.', true);
  startUpstream.addRetry({
    errors: ['States.TaskFailed'],
    interval: Duration.seconds(UPSTREAM_RETRY.intervalSeconds),
    backoffRate: UPSTREAM_RETRY.backoffRate,
    maxAttempts: UPSTREAM_RETRY.maxRetries,
    maxDelay: Duration.seconds(UPSTREAM_RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
  const upstreamOk = new sfn.Pass(scope, 'UpstreamRecovered', { parameters: { result: 'APPLIED', 'status.$': '$.run.status' } });
  const upstreamFailed = new sfn.Pass(scope, 'UpstreamStillFailing', { parameters: { result: 'FAILED', 'error.$': '$.error.Error' } });
  startUpstream.addCatch(upstreamFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  startUpstream.next(upstreamOk);
  const perUpstream = new sfn.Choice(scope, 'OptionalOrHard')
    .when(sfn.Condition.booleanEquals('$.optional', true), new sfn.Pass(scope, 'SkipOptional', { parameters: { result: 'SKIPPED' }, comment: 'An optional dependency is skipped.' }))
    .otherwise(startUpstream);
  const retryUpstream = new sfn.Map(scope, 'RetryUpstream', { itemsPath: '$.upstream.items', maxConcurrency: 4, resultPath: '$.upstreamResults', comment: 'Each upstream of the job.' });
  retryUpstream.itemProcessor(perUpstream);
  const dependencyFailure = step('PlanUpstream', 'plan-upstream', '$.upstream', 'List the upstream pipelines and which are optional.')
    .next(retryUpstream)
    .next(step('RecordUpstream', 'record-upstream', '$.upstreamRecord', 'Record the outcome; fail the recovery when a hard dependency still fails.'));

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
  dispatch.otherwise(step('NoRecovery', 'no-recovery', '$.none', 'The anomaly has no recovery action: alerted only.'));

  const recovery = new sfn.Parallel(scope, 'Recovery', { resultPath: sfn.JsonPath.DISCARD, comment: 'The recovery, so one Catch covers every branch.' });
  recovery.branch(dispatch);
  const recordFailure = step('RecordFailure', 'fail', '$.failure', 'Record the failure, count the streak, escalate to on-call at the limit.');
  recordFailure.next(new sfn.Fail(scope, 'RecoveryFailed', { error: 'RecoveryFailed', causePath: '$.error.Error' }));
  recovery.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });

  return recovery.next(step('Finish', 'finish', '$.finish', 'Record the recovery as done; reset the failure streak.')).next(new sfn.Succeed(scope, 'Recovered'));
}
