import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SWEEP_INTERVAL_MINUTES } from '../domain/health-sweep.js';
import { ALL_WORKERS, type WorkerSpec } from '../registry/index.js';
import { OrchestratorFunction } from './orchestrator-function.js';
import type { PipelineArns } from './pipeline-arns.js';
import { grantTableAccess } from './table-access.js';

/** The health sweep's delivery and sizing defaults (units in the names). */
export const HEALTH_SWEEP_DEFAULTS = {
  memorySizeMb: 256,
  /** ~15 state reads and report queries, one ListExecutions per pipeline, a few stops: well under a minute. */
  timeoutSeconds: 60,
  /** Scheduler's retries of an invocation it could not deliver (the library default is 185 over 24 h). */
  retryAttempts: 3,
  /** A sweep delivered later than this is dropped to the DLQ: the next one is due. Below the interval, so sweeps never pile up. */
  maxEventAgeSeconds: 4 * 60,
  /** Lambda's retries of a failed asynchronous sweep: none, the next sweep is the retry. */
  asyncRetryAttempts: 0,
  /** How long the DLQ keeps what it holds, in days (SQS's maximum). */
  deadLetterRetentionDays: 14,
} as const;

/**
 * A `dynamodb.ITable` as far as the sweep uses it (a `Table` is one under exactOptionalPropertyTypes,
 * which the full ITable is not: its `tableStreamArn`).
 */
export type SweepTable = Pick<dynamodb.ITable, 'tableName' | 'tableArn' | 'node'>;

export interface HealthSweepProps {
  /** The orchestrator table: STATE and REPORT reads, HEALTH finding puts, CRASHED reports of stopped executions. */
  readonly table: SweepTable;
  /** Every pipeline, by name (PIPELINE_ARN_PREFIX; the keys follow from WORKER_IDS): RUNNING executions are listed, stuck ones stopped. */
  readonly pipelines: PipelineArns;
  /**
   * The on-demand queues by worker id: their depth (QUEUE_OVERFLOW).
   * @default - no queue is watched
   */
  readonly queues?: ReadonlyMap<string, sqs.IQueue>;
  /** Encrypts the dead-letter queue. */
  readonly key: kms.IKey;
  /**
   * The schedule group of the sweep's schedule.
   * @default - the account's default group
   */
  readonly scheduleGroup?: scheduler.IScheduleGroup;
  /**
   * The deployed workers (WORKER_IDS): missed runs are looked for only among them.
   * @default ALL_WORKERS
   */
  readonly workers?: readonly WorkerSpec[];
  /** @default 30 (the protocol's default) */
  readonly reportRetentionDays?: number;
  /**
   * Paged when an incident escalates (lib/domain/incident.ts): CRITICAL and unacknowledged past the
   * escalation time, or CRITICAL/HIGH with a FAILED recovery.
   * @default - no escalation of incidents
   */
  readonly oncallTopic?: sns.ITopic;
  /**
   * The alert topic: each sweep publishes the notifications left PENDING in the outbox (an alert
   * whose publish failed past the stream's retries).
   * @default - no outbox delivery by the sweep
   */
  readonly alertTopic?: sns.ITopic;
}

/** The finding text cdk-nag gives a policy resource (its flattenCfnReference, which the package does not export). */
export function nagResourceText(resolved: unknown): string {
  if (typeof resolved === 'string') return resolved.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof resolved === 'object' && resolved !== null) {
    const o = resolved as Record<string, unknown>;
    const join = o['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return (join[1] as unknown[]).map(nagResourceText).join(join[0]);
    if (o['Fn::Sub'] !== undefined) return nagResourceText(o['Fn::Sub']);
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${nagResourceText(getAtt[0])}.${nagResourceText(getAtt[1])}>`;
    if (o['Fn::ImportValue'] !== undefined) return nagResourceText(o['Fn::ImportValue']);
    if (o['Ref'] !== undefined) return `<${nagResourceText(o['Ref'])}>`;
  }
  return JSON.stringify(resolved);
}

/**
 * The health sweep: a Lambda (lambdas/sweep/handler.ts) that an EventBridge Scheduler schedule
 * invokes every 5 minutes (flexible window off, explicit retries and event age). Delivery failures
 * of the schedule and failed asynchronous invocations of the function both land in one encrypted
 * dead-letter queue. Grants are least privilege: table read/write, states:ListExecutions on each
 * pipeline, DescribeExecution and StopExecution on its executions, sqs:GetQueueAttributes on each
 * queue.
 */
export class HealthSweep extends Construct {
  readonly handler: OrchestratorFunction;
  readonly schedule: scheduler.Schedule;
  /** Undeliverable schedule events and failed sweep invocations. */
  readonly deadLetterQueue: sqs.Queue;
  /** The role Scheduler invokes the function with. */
  readonly scheduleRole: iam.Role;

  constructor(scope: Construct, id: string, props: HealthSweepProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const queues = [...(props.queues ?? new Map<string, sqs.IQueue>()).entries()];
    const workers = props.workers ?? ALL_WORKERS;
    if (workers.length === 0) throw new Error('health sweep workers must name at least one worker');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(HEALTH_SWEEP_DEFAULTS.deadLetterRetentionDays),
    });

    this.handler = new OrchestratorFunction(this, 'Function', {
      entry: 'lambdas/sweep/handler.ts',
      memorySizeMb: HEALTH_SWEEP_DEFAULTS.memorySizeMb,
      timeout: Duration.seconds(HEALTH_SWEEP_DEFAULTS.timeoutSeconds),
      serviceName: 'health-sweep',
      description: `Health sweep every ${SWEEP_INTERVAL_MINUTES} min: missed runs, stuck executions (stopped and recorded), queue depth, stale data, quota, memory.`,
      environment: {
        TABLE_NAME: props.table.tableName,
        PIPELINE_ARN_PREFIX: props.pipelines.prefix,
        QUEUE_URLS: stack.toJsonString(Object.fromEntries(queues.map(([worker, q]) => [worker, q.queueUrl]))),
        WORKER_IDS: workers.map((w) => w.id).join(','),
        ...(props.reportRetentionDays !== undefined ? { REPORT_RETENTION_DAYS: String(props.reportRetentionDays) } : {}),
        ...(props.oncallTopic ? { ONCALL_TOPIC_ARN: props.oncallTopic.topicArn } : {}),
        ...(props.alertTopic ? { ALERT_TOPIC_ARN: props.alertTopic.topicArn } : {}),
      },
    });
    const fn = this.handler.fn;
    const maxEventAge = Duration.seconds(HEALTH_SWEEP_DEFAULTS.maxEventAgeSeconds);

    // Asynchronous invocations (Scheduler's) that fail go to the DLQ too; exact actions, no wildcard.
    const dlq = this.deadLetterQueue;
    fn.configureAsyncInvoke({ onFailure: { bind: () => ({ destination: dlq.queueArn }) }, retryAttempts: HEALTH_SWEEP_DEFAULTS.asyncRetryAttempts, maxEventAge });
    this.grantDeadLetter(fn, props.key);

    // Unresolved incidents (escalation) and pending outbox entries read the byTime index.
    grantTableAccess(props.table, fn, 'sweep', { indexes: true });
    for (const topic of [props.oncallTopic, props.alertTopic]) topic?.grantPublish(fn);
    if (props.oncallTopic || props.alertTopic) {
      Validations.of(fn.role ?? fn).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Publishing to the KMS-encrypted on-call and alert topics: grantPublish gives kms:GenerateDataKey* on that one key, which SNS needs to encrypt the message.',
      });
    }
    props.pipelines.grantPipelines(fn, 'states:ListExecutions');
    props.pipelines.grantPipelineExecutions(fn, 'states:DescribeExecution', 'states:StopExecution');
    for (const [, q] of queues) q.grant(fn, 'sqs:GetQueueAttributes');

    // Scheduler's role: invoke this function, send to the (encrypted) DLQ. Only this account's schedules of the group.
    const groupArn =
      props.scheduleGroup?.scheduleGroupArn ?? stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' });
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': groupArn } } }),
      description: 'EventBridge Scheduler invokes the health sweep',
    });
    props.key.grant(this.scheduleRole, 'kms:GenerateDataKey', 'kms:Decrypt');

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(SWEEP_INTERVAL_MINUTES)),
      target: new targets.LambdaInvoke(fn, {
        role: this.scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({ source: 'health-sweep', scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: HEALTH_SWEEP_DEFAULTS.retryAttempts,
        maxEventAge,
        deadLetterQueue: dlq,
      }),
      timeWindow: scheduler.TimeWindow.off(),
      description: `Health sweep every ${SWEEP_INTERVAL_MINUTES} minutes`,
      ...(props.scheduleGroup !== undefined ? { scheduleGroup: props.scheduleGroup } : {}),
    });

    this.acknowledge();
  }

  /** sqs:SendMessage and the two KMS actions SSE-KMS needs, on the one queue and key. */
  private grantDeadLetter(grantee: iam.IGrantable, key: kms.IKey): void {
    this.deadLetterQueue.grant(grantee, 'sqs:SendMessage');
    key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  /** The findings the design accepts, each acknowledged by its exact id. */
  private acknowledge(): void {
    const stack = Stack.of(this);
    const fn = this.handler.fn;
    Validations.of(this.scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResourceText(stack.resolve(`${fn.functionArn}:*`))}]`,
      reason: 'lambda:InvokeFunction on the sweep function and its versions/aliases (`:*`), as IFunction.grantInvoke grants it; scoped to this one function.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the sweep schedule (Scheduler target DLQ) and of the function\'s asynchronous invocations (on-failure destination), which cdk-nag cannot see.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is a dead-letter queue; it has no redrive of its own.' });
  }
}
