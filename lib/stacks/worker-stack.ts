import { Duration, NestedStack, Stack, Validations, type CfnElement, type NestedStackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { buildIntelCycle, intelCycleChildren } from '../../statemachines/intel-cycle.js';
import { buildWorkerPipeline } from '../../statemachines/worker-pipeline.js';
import { OnDemandQueue } from '../constructs/on-demand-queue.js';
import { OrchestratorFunction } from '../constructs/orchestrator-function.js';
import { Pipeline, type PipelineProps } from '../constructs/pipeline.js';
import type { PipelineArns } from '../constructs/pipeline-arns.js';
import { SymphonySchedules } from '../constructs/symphony-schedules.js';
import { grantTableAccess } from '../constructs/table-access.js';
import { refreshJobOf as refreshJobOfWorker } from '../domain/recovery-actions.js';
import { functionTimeoutSeconds, pascalCase, scheduledTriggers, type JobSpec, type WorkerSpec } from '../registry/index.js';
import { hasPipeline, scheduleTargetRolePath } from '../registry/naming.js';

/**
 * What ISecret.grantRead gives (GetSecretValue, DescribeSecret; kms:Decrypt via Secrets Manager),
 * on the function's own policy: grantRead would put the role in the key's policy, in the parent
 * stack, which would then depend on this stack (a cycle).
 */
function grantSecretRead(secret: secretsmanager.Secret, key: kms.IKey, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resourceArns: [secret.secretArn] });
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` } },
    }),
  );
}

/** Extra time an on-demand consumer has beyond its worker's step, in seconds. */
export const CONSUMER_OVERHEAD_SECONDS = 30;

export interface WorkerStackProps extends NestedStackProps {
  readonly worker: WorkerSpec;
  /** The whole registry (a cycle's children and their refresh jobs). */
  readonly workers: readonly WorkerSpec[];
  /** The parent stack's name: pipelines are named `<stack>-<worker>-<job>`. */
  readonly stackName: string;
  readonly table: dynamodb.Table;
  readonly key: kms.IKey;
  readonly protocolFunction: lambda.IFunction;
  readonly pipelineArns: PipelineArns;
  readonly scheduleGroup: scheduler.IScheduleGroup;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  readonly workerSecrets: secretsmanager.Secret;
  /** Environment of the worker's function (table, endpoints). */
  readonly workerEnvironment: Readonly<Record<string, string>>;
  /** @default - `lambdas/workers/<worker id>.ts` */
  readonly workerEntry?: (worker: WorkerSpec) => string;
}

/**
 * Everything of one worker, as one nested stack of the orchestrator: its function, its pipelines
 * (one per job, or the intel cycle's), its schedules (in the parent's group) and, for an
 * on-demand worker, its queue and consumer. The parent holds what the workers share (table, key,
 * protocol Lambda, topics, sweep, recovery, API, dashboard) and finds the pipelines by name
 * (lib/registry/naming.ts), so a worker's stack stays the same size whatever the registry's and
 * adding a worker adds one nested stack without moving any resource of the others.
 */
export class WorkerStack extends NestedStack {
  readonly worker: WorkerSpec;
  readonly workerFunction: OrchestratorFunction | undefined;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly schedules: SymphonySchedules | undefined;
  readonly consumerFunction: OrchestratorFunction | undefined;
  readonly queue: OnDemandQueue | undefined;

  constructor(scope: Construct, id: string, props: WorkerStackProps) {
    super(scope, id, { description: `AuraStream worker ${props.worker.id}: function, pipelines, schedules.`, ...props });
    const { worker, workers, protocolFunction } = props;
    this.worker = worker;
    const tableEnv = { TABLE_NAME: props.table.tableName, ...props.workerEnvironment };

    let workerFunction: OrchestratorFunction | undefined;
    if (worker.executionModel === 'scheduled' || worker.executionModel === 'on-demand') {
      workerFunction = new OrchestratorFunction(this, `Worker${pascalCase(worker.id)}`, {
        entry: props.workerEntry?.(worker) ?? `lambdas/workers/${worker.id}.ts`,
        memorySizeMb: worker.memoryMb,
        timeout: Duration.seconds(functionTimeoutSeconds(worker)),
        environment: { ...tableEnv, WORKER_ID: worker.id, WORKER_SECRETS_ARN: props.workerSecrets.secretArn },
        serviceName: worker.id,
        description: `${worker.id}: ${worker.description}`.slice(0, 256),
      });
      grantTableAccess(props.table, workerFunction.fn, 'worker');
      grantSecretRead(props.workerSecrets, props.key, workerFunction.fn);
    }
    this.workerFunction = workerFunction;

    const pipelines = new Map<string, Pipeline>();
    const addPipeline = (job: JobSpec, how: Pick<PipelineProps, 'definition' | 'invokes' | 'starts'>): void => {
      pipelines.set(`${worker.id}.${job.id}`, new Pipeline(this, `Pipeline${pascalCase(worker.id)}${pascalCase(job.id)}`, { worker, job, stackName: props.stackName, ...how }));
    };
    if (workerFunction) {
      const fn = workerFunction.fn;
      for (const job of worker.jobs.filter((j) => hasPipeline(worker, j))) {
        addPipeline(job, { definition: (scope) => buildWorkerPipeline(scope, { worker, job, protocolFunction, workerFunction: fn }), invokes: [protocolFunction, fn] });
      }
    }
    if (worker.executionModel === 'sub-pipeline') {
      const pipelineOf = (workerId: string, jobId: string) => props.pipelineArns.stateMachine(this, workerId, jobId);
      const refreshJobOf = (workerId: string): string => {
        const spec = workers.find((w) => w.id === workerId);
        const job = spec === undefined ? null : refreshJobOfWorker(spec);
        if (job === null) throw new Error(`worker "${workerId}": no scheduled job can refresh its data`);
        return job;
      };
      for (const job of worker.jobs) {
        addPipeline(job, {
          definition: (scope) => buildIntelCycle(scope, { cycle: worker, protocolFunction, pipelineOf, refreshJobOf }),
          invokes: [protocolFunction],
          starts: intelCycleChildren(worker, workers).map(({ worker: w, job: j }) => pipelineOf(w, j)),
        });
      }
    }
    this.pipelines = pipelines;

    const triggers = scheduledTriggers([worker]);
    if (triggers.length > 0) {
      // Under an IAM path: the recovery may pass (UpdateSchedule) only the roles under it.
      const targetRole = new iam.Role(this, `ScheduleTargetRole${pascalCase(worker.id)}`, {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
        path: scheduleTargetRolePath(props.stackName),
        description: `EventBridge Scheduler starts the pipelines of ${worker.id}`,
      });
      this.schedules = new SymphonySchedules(this, `Schedules${pascalCase(worker.id)}`, {
        triggers,
        pipelineOf: (trigger) => {
          const p = pipelines.get(`${trigger.worker.id}.${trigger.job.id}`);
          if (!p) throw new Error(`worker "${trigger.worker.id}": no pipeline for job "${trigger.job.id}"`);
          return p.stateMachine;
        },
        key: props.key,
        group: props.scheduleGroup,
        deadLetterQueue: props.scheduleDeadLetterQueue,
        targetRole,
      });
    }

    if (worker.executionModel === 'on-demand' && workerFunction) {
      const consumerTimeout = Duration.seconds(functionTimeoutSeconds(worker) + CONSUMER_OVERHEAD_SECONDS);
      const packJobs = worker.jobs.filter((j) => j.fanOut);
      const consumer = new OrchestratorFunction(this, `Consumer${pascalCase(worker.id)}`, {
        entry: 'lambdas/on-demand/consumer.ts',
        memorySizeMb: 256,
        timeout: consumerTimeout,
        environment: {
          TABLE_NAME: props.table.tableName,
          ...(props.workerEnvironment['REPORT_RETENTION_DAYS'] !== undefined ? { REPORT_RETENTION_DAYS: props.workerEnvironment['REPORT_RETENTION_DAYS'] } : {}),
          WORKER_ID: worker.id,
          WORKER_FUNCTION_NAME: workerFunction.fn.functionName,
          PACK_PIPELINES: JSON.stringify(Object.fromEntries(packJobs.map((j) => [j.id, pipelines.get(`${worker.id}.${j.id}`)?.stateMachine.stateMachineArn]))),
        },
        serviceName: `${worker.id}-consumer`,
        description: `Consumes ${worker.id} jobs: runs each one and records its score report.`,
      });
      grantTableAccess(props.table, consumer.fn, 'consumer');
      workerFunction.fn.grantInvoke(consumer.fn);
      if (consumer.fn.role) {
        Validations.of(consumer.fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(workerFunction.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
          reason: 'lambda:InvokeFunction on the worker function and its versions/aliases (`:*`), as grantInvoke grants it; scoped to this one function.',
        });
      }
      for (const job of packJobs) pipelines.get(`${worker.id}.${job.id}`)?.stateMachine.grantStartExecution(consumer.fn);
      this.consumerFunction = consumer;
      this.queue = new OnDemandQueue(this, `Queue${pascalCase(worker.id)}`, { workerId: worker.id, consumer: consumer.fn, consumerTimeout, key: props.key });
    }
  }
}
