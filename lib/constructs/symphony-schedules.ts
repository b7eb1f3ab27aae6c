import { Duration, RemovalPolicy, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ScheduledTrigger } from '../registry/index.js';
import { scheduleName } from '../registry/naming.js';

/** Explicit delivery settings (the library defaults are 185 retries over 24 h). */
export const SCHEDULE_RETRY_ATTEMPTS = 3;
/** A slot delivered later than this is stale: the next slot is near. */
export const SCHEDULE_MAX_EVENT_AGE = Duration.minutes(5);
/** How long an undeliverable schedule event waits in the DLQ. */
export const SCHEDULE_DLQ_RETENTION = Duration.days(14);

export interface SymphonySchedulesProps {
  readonly triggers: readonly ScheduledTrigger[];
  /** The pipeline each trigger starts, by trigger key. */
  readonly pipelineOf: (trigger: ScheduledTrigger) => sfn.IStateMachine;
  /** Encrypts the dead-letter queue. */
  readonly key: kms.IKey;
  /**
   * The group the schedules go in.
   * @default - a new group, removed by `cdk destroy`
   */
  readonly group?: scheduler.IScheduleGroup;
  /**
   * Where undeliverable schedule events go.
   * @default - a new KMS-encrypted queue
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * The role the targets run as (it is granted the start of each pipeline, the DLQ and its key).
   * @default - one role per target, created by aws-scheduler-targets
   */
  readonly targetRole?: iam.IRole;
}

/**
 * The symphony schedule: one EventBridge Scheduler schedule group and one schedule per registry
 * trigger, each starting its pipeline with the scheduled time in the input so every run knows its
 * slot. Flexible window off, explicit retries and event age, and a dead-letter queue.
 */
export class SymphonySchedules extends Construct {
  readonly group: scheduler.IScheduleGroup;
  readonly deadLetterQueue: sqs.IQueue;
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;

  constructor(scope: Construct, id: string, props: SymphonySchedulesProps) {
    super(scope, id);
    // Not retained: `cdk destroy` removes the group (and its schedules), so a later deploy can create it again.
    this.group = props.group ?? new scheduler.ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    if (props.deadLetterQueue) {
      this.deadLetterQueue = props.deadLetterQueue;
    } else {
      const dlq = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.key,
        enforceSSL: true,
        retentionPeriod: SCHEDULE_DLQ_RETENTION,
      });
      Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the schedules\' dead-letter queue (EventBridge Scheduler targets use it), which cdk-nag cannot see.' });
      Validations.of(dlq).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is a dead-letter queue; it has no redrive of its own.' });
      this.deadLetterQueue = dlq;
    }
    const schedules = new Map<string, scheduler.Schedule>();
    for (const trigger of props.triggers) {
      const target = new targets.StepFunctionsStartExecution(props.pipelineOf(trigger), {
        input: scheduler.ScheduleTargetInput.fromObject({
          worker: trigger.worker.id,
          job: trigger.job.id,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
          trigger: 'schedule',
        }),
        ...(props.targetRole ? { role: props.targetRole } : {}),
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        maxEventAge: SCHEDULE_MAX_EVENT_AGE,
        deadLetterQueue: this.deadLetterQueue,
      });
      schedules.set(
        trigger.key,
        new scheduler.Schedule(this, trigger.key.replace(/[^A-Za-z0-9]/g, '-'), {
          scheduleName: scheduleName(trigger.key),
          scheduleGroup: this.group,
          schedule: scheduler.ScheduleExpression.expression(trigger.schedule.expression, TimeZone.of(trigger.schedule.timezone)),
          target,
          timeWindow: scheduler.TimeWindow.off(),
          description: `${trigger.key}: ${trigger.job.mode} of ${trigger.worker.id}`,
        }),
      );
    }
    this.schedules = schedules;
    // The target roles the scheduler-targets module creates send to the DLQ; it is KMS-encrypted,
    // so they also need the key (the module grants only sqs:SendMessage).
    const roles = props.targetRole ? [props.targetRole] : Stack.of(this).node.children.filter((c): c is iam.Role => c instanceof iam.Role && c.node.id.startsWith('SchedulerRoleForTarget-'));
    for (const role of roles) iam.Grant.addToPrincipal({ grantee: role, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resourceArns: [props.key.keyArn] });
  }
}
