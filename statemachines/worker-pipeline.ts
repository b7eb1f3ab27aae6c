/**
 * The definition of one worker pipeline: the protocol every worker step follows.
 *
 *   Gate ──RUN──► Work ───────────────► Record ──► Outcome ──► Succeeded | Failed
 *     │           (or Plan ► CountItems ► WithinBound ► FanOut; over maxItems ► TooManyItems ► Record)
 *     │                                   ▲
 *     ├─WAIT──► WaitForDependency ► Gate  │
 *     ├─SKIP──────────────────────────────┘
 *     └─DUPLICATE──► Duplicate (no second run, no second report)
 *   Any failure of Work/Plan/FanOut (States.Timeout included) is caught into $.failure and recorded.
 *
 * JSONPath only: no JSONata, no Assign, no ItemReader (the local interpreter would ignore them).
 * The definition is built from registry data; nothing here is written per worker.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { LAMBDA_TRANSIENT_ERROR_NAMES, NON_RETRYABLE_ERROR_NAMES, RETRYABLE_ERROR_NAMES } from '../lib/domain/errors.js';
import { PROTOCOL_STEP_RETRY, PROTOCOL_STEP_TIMEOUT_SECONDS, RECORD_STEP_RETRY, WORKER_STEP_RETRY } from '../lib/domain/retry-policy.js';
import { planStepTimeoutSeconds, workStepTimeoutSeconds, type JobSpec, type WorkerSpec } from '../lib/registry/index.js';

export interface WorkerPipelineDefinitionProps {
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
  readonly protocolFunction: lambda.IFunction;
  readonly workerFunction: lambda.IFunction;
}

/** A protocol call: the action, the execution's identity and the execution state (`$` by default). */
export const protocolPayload = (action: string, statePath = '$'): sfn.TaskInput =>
  sfn.TaskInput.fromObject({
    action,
    executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
    startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
    state: statePath === '$' ? sfn.JsonPath.entirePayload : sfn.JsonPath.objectAt(statePath),
  });

export interface ProtocolStepProps {
  readonly action: 'gate' | 'record' | 'freshness' | 'cycle-record';
  readonly resultPath: string;
  readonly comment: string;
  /** Where the protocol finds the execution state. @default '$' */
  readonly statePath?: string;
}

/** A protocol step (gate, record, freshness): quick retries of Lambda's own transient errors only. */
export function protocolStep(scope: Construct, id: string, fn: lambda.IFunction, props: ProtocolStepProps): tasks.LambdaInvoke {
  const { action, resultPath, comment, statePath } = props;
  const step = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payload: protocolPayload(action, statePath),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(PROTOCOL_STEP_TIMEOUT_SECONDS)),
    comment,
  });
  addLambdaTransientRetry(step);
  return step;
}

/** Quick retries of Lambda's own transient service errors only: the retry of every protocol-like step. */
export function addLambdaTransientRetry(step: tasks.LambdaInvoke): void {
  step.addRetry({
    errors: [...LAMBDA_TRANSIENT_ERROR_NAMES],
    interval: Duration.seconds(PROTOCOL_STEP_RETRY.intervalSeconds),
    backoffRate: PROTOCOL_STEP_RETRY.backoffRate,
    maxAttempts: PROTOCOL_STEP_RETRY.maxRetries,
    maxDelay: Duration.seconds(PROTOCOL_STEP_RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/**
 * The Record step followed by the run's outcome: the execution fails when the run was recorded as
 * FAILED or CRASHED, so the console's run history and the ExecutionsFailed metric tell the truth.
 *
 * Record retries every error but the non-retryable ones (RECORD_STEP_RETRY): it is idempotent, and
 * it writes the report last, so an attempt that failed part-way left nothing that looks finished.
 */
export function recordAndConclude(scope: Construct, fn: lambda.IFunction, action: 'record' | 'cycle-record'): tasks.LambdaInvoke {
  const record = protocolStep(scope, 'Record', fn, {
    action,
    resultPath: '$.record',
    comment: 'Write the score report, counters and freshness mark; update the circuit; release the lock (fenced).',
  });
  const failed = new sfn.Fail(scope, 'Failed', { error: 'WorkerRunFailed', causePath: '$.record.status', comment: 'The run was recorded as FAILED or CRASHED.' });
  const outcome = new sfn.Choice(scope, 'Outcome')
    .when(sfn.Condition.or(sfn.Condition.stringEquals('$.record.status', 'FAILED'), sfn.Condition.stringEquals('$.record.status', 'CRASHED')), failed)
    .otherwise(new sfn.Succeed(scope, 'Recorded'));
  // After the quick retries of Lambda's own errors: a malformed payload is not retried, anything else
  // (throttling, a DynamoDB error, a timeout) is, with backoff.
  record.addRetry({ errors: [...NON_RETRYABLE_ERROR_NAMES], maxAttempts: 0 });
  record.addRetry({
    errors: ['States.ALL'],
    interval: Duration.seconds(RECORD_STEP_RETRY.intervalSeconds),
    backoffRate: RECORD_STEP_RETRY.backoffRate,
    maxAttempts: RECORD_STEP_RETRY.maxRetries,
    maxDelay: Duration.seconds(RECORD_STEP_RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
  record.next(outcome);
  record.addCatch(
    new sfn.Fail(scope, 'RecordFailed', {
      error: 'RecordFailed',
      comment:
        'Record gave up after its retries. Its report is written last, so the slot is claimed but unreported: the health sweep records it FAILED with this cause and releases the lock with its fence.',
    }),
    {
      errors: ['States.ALL'],
      resultPath: '$.recordFailure',
    },
  );
  return record;
}

/** Retries only the named transient errors, with exponential backoff and full jitter. */
function addWorkerRetry(step: tasks.LambdaInvoke): void {
  step.addRetry({
    errors: [...RETRYABLE_ERROR_NAMES, ...LAMBDA_TRANSIENT_ERROR_NAMES],
    interval: Duration.seconds(WORKER_STEP_RETRY.intervalSeconds),
    backoffRate: WORKER_STEP_RETRY.backoffRate,
    maxAttempts: WORKER_STEP_RETRY.maxRetries,
    maxDelay: Duration.seconds(WORKER_STEP_RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

function workerPayload(worker: WorkerSpec, job: JobSpec, phase: 'run' | 'plan', withRequest: boolean): sfn.TaskInput {
  return sfn.TaskInput.fromObject({
    worker: worker.id,
    job: job.id,
    mode: job.mode,
    phase,
    scheduledTime: sfn.JsonPath.stringAt('$.gate.scheduledTime'),
    executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
    fence: sfn.JsonPath.numberAt('$.gate.fence'),
    retryCount: sfn.JsonPath.numberAt('$$.State.RetryCount'),
    ...(withRequest ? { request: sfn.JsonPath.objectAt('$.request') } : {}),
  });
}

/** Builds the pipeline chain for one job of one worker. */
export function buildWorkerPipeline(scope: Construct, props: WorkerPipelineDefinitionProps): sfn.IChainable {
  const { worker, job, protocolFunction, workerFunction } = props;
  const withRequest = worker.executionModel === 'on-demand';
  const stepTimeout = sfn.Timeout.duration(Duration.seconds(workStepTimeoutSeconds(worker, job)));

  const record = recordAndConclude(scope, protocolFunction, 'record');

  const catchInto = (step: sfn.TaskStateBase | sfn.Map): void => {
    step.addCatch(record, { errors: ['States.ALL'], resultPath: '$.failure' });
  };

  let work: sfn.IChainable;
  if (job.fanOut) {
    const plan = new tasks.LambdaInvoke(scope, 'Plan', {
      lambdaFunction: workerFunction,
      payload: workerPayload(worker, job, 'plan', withRequest),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.plan',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(planStepTimeoutSeconds(job))),
      comment: `List the ${job.fanOut.itemKind}s to work on.`,
    });
    addWorkerRetry(plan);
    catchInto(plan);

    const item = new tasks.LambdaInvoke(scope, 'WorkItem', {
      lambdaFunction: workerFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultSelector: { ok: true, 'result.$': '$' },
      taskTimeout: stepTimeout,
      comment: `Work on one ${job.fanOut.itemKind} in one Lambda (at most ${job.fanOut.itemTimeoutSeconds} s).`,
    });
    addWorkerRetry(item);
    item.addCatch(new sfn.Pass(scope, 'ItemFailed', { parameters: { ok: false, 'error.$': '$' }, comment: 'One failed item makes the run PARTIAL, not FAILED.' }), {
      errors: ['States.ALL'],
    });

    const fanOut = new sfn.Map(scope, 'FanOut', {
      itemsPath: '$.plan.items',
      maxConcurrency: job.fanOut.maxConcurrency,
      itemSelector: {
        worker: worker.id,
        job: job.id,
        mode: job.mode,
        phase: 'item',
        'scheduledTime.$': '$.gate.scheduledTime',
        'executionId.$': '$$.Execution.Id',
        'fence.$': '$.gate.fence',
        'item.$': '$$.Map.Item.Value',
      },
      resultPath: '$.items',
      comment: `One Lambda per ${job.fanOut.itemKind}, ${job.fanOut.maxConcurrency} at a time.`,
    });
    fanOut.itemProcessor(item);
    catchInto(fanOut);
    // The Map's bound: a plan over maxItems never reaches it (the registry's budget assumes maxItems).
    const { maxItems } = job.fanOut;
    const countItems = new sfn.Pass(scope, 'CountItems', {
      parameters: { 'count.$': 'States.ArrayLength($.plan.items)' },
      resultPath: '$.planSize',
      comment: `The Map runs at most ${maxItems} ${job.fanOut.itemKind}s.`,
    });
    const tooManyItems = new sfn.Pass(scope, 'TooManyItems', {
      parameters: { Error: 'InvalidPayloadError', 'Cause.$': `States.Format('the plan lists {} items, over the bound of ${maxItems}', $.planSize.count)` },
      resultPath: '$.failure',
      comment: 'Recorded as FAILED: a plan over the bound would not fit the job\'s budget.',
    });
    tooManyItems.next(record);
    plan.next(countItems);
    countItems.next(new sfn.Choice(scope, 'WithinBound').when(sfn.Condition.numberGreaterThan('$.planSize.count', maxItems), tooManyItems).otherwise(fanOut));
    fanOut.next(record);
    work = plan;
  } else {
    const run = new tasks.LambdaInvoke(scope, 'Work', {
      lambdaFunction: workerFunction,
      payload: workerPayload(worker, job, 'run', withRequest),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.work',
      // The gate hands the timeout: the registry's, or the one a SLOW_EXECUTION recovery raised (bounded).
      taskTimeout: sfn.Timeout.at('$.gate.stepTimeoutSeconds'),
      comment: `Run ${worker.id} (${job.mode}).`,
    });
    addWorkerRetry(run);
    catchInto(run);
    run.next(record);
    work = run;
  }

  const gate = protocolStep(scope, 'Gate', protocolFunction, {
    action: 'gate',
    resultPath: '$.gate',
    comment: 'Pause/drain check, circuit gate, dependency gate, slot claim and lock acquire.',
  });
  gate.addCatch(record, { errors: ['States.ALL'], resultPath: '$.failure' });
  const waitForDependency = new sfn.Wait(scope, 'WaitForDependency', {
    time: sfn.WaitTime.secondsPath('$.gate.waitSeconds'),
    comment: 'A not-running dependency is in progress: wait, bounded by the gate.',
  });
  waitForDependency.next(gate);

  const decide = new sfn.Choice(scope, 'Decide')
    .when(sfn.Condition.stringEquals('$.gate.decision', 'RUN'), work)
    .when(sfn.Condition.stringEquals('$.gate.decision', 'WAIT'), waitForDependency)
    .when(sfn.Condition.stringEquals('$.gate.decision', 'DUPLICATE'), new sfn.Succeed(scope, 'Duplicate', { comment: 'This schedule slot already ran.' }))
    .otherwise(record);

  return gate.next(decide);
}
