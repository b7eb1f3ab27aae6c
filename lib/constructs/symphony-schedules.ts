import { Duration, RemovalPolicy, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ScheduledTrigger } from '../registry/index.js';

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
}

/**
 * The symphony schedule: one EventBridge Scheduler schedule group and one schedule per registry
 * trigger, each starting its pipeline with the scheduled time in the input so every run knows its
 * slot. Flexible window off, explicit retries and event age, and a dead-letter queue.
 */
export class SymphonySchedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;

  constructor(scope: Construct, id: string, props: SymphonySchedulesProps) {
    super(scope, id);
    // Not retained: `cdk destroy` removes the group (and its schedules), so a later deploy can create it again.
    this.group = new scheduler.ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: SCHEDULE_DLQ_RETENTION,
    });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the schedules\' dead-letter queue (EventBridge Scheduler targets use it), which cdk-nag cannot see.' });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is a dead-letter queue; it has no redrive of its own.' });
    const schedules = new Map<string, scheduler.Schedule>();
    for (const trigger of props.triggers) {
      const target = new targets.StepFunctionsStartExecution(props.pipelineOf(trigger), {
        input: scheduler.ScheduleTargetInput.fromObject({
          worker: trigger.worker.id,
          job: trigger.job.id,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
          trigger: 'schedule',
        }),
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        maxEventAge: SCHEDULE_MAX_EVENT_AGE,
        deadLetterQueue: this.deadLetterQueue,
      });
      schedules.set(
        trigger.key,
        new scheduler.Schedule(this, trigger.key.replace(/[^A-Za-z0-9]/g, '-'), {
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
    for (const role of Stack.of(this).node.children.filter((c): c is iam.Role => c instanceof iam.Role && c.node.id.startsWith('SchedulerRoleForTarget-'))) {
      props.key.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
  }
}
