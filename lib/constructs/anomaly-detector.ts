import { Duration, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventsources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { OrchestratorFunction } from './orchestrator-function.js';
import { grantTableAccess } from './table-access.js';
import { REPORT_INSERT_PATTERN } from '../stream-patterns.js';

/** The event source's filter: inserts of score reports and health findings (lib/stream-patterns.ts). */
export { REPORT_INSERT_PATTERN };

/** The anomaly Lambda's delivery and sizing defaults (units in the names). */
export const ANOMALY_DETECTOR_DEFAULTS = {
  /** Records per invocation: each costs 1-3 DynamoDB requests, plus SNS and SFN calls when it alerts. */
  batchSize: 25,
  /** Retries of a failing record before its batch goes to the on-failure queue (Lambda's default is unbounded). */
  retryAttempts: 3,
  /** Records older than this are not processed but sent to the on-failure queue: an alert an hour late is noise. */
  maxRecordAgeSeconds: 3600,
  memorySizeMb: 256,
  timeoutSeconds: 60,
  /** How long the on-failure queue keeps what it holds, in days (SQS's maximum). */
  failureQueueRetentionDays: 14,
} as const;

/**
 * A `dynamodb.ITable`, spelled so that a `Table` is one under `exactOptionalPropertyTypes` (its
 * `tableStreamArn` getter is `string | undefined`, the interface's optional property `string`).
 */
export type StreamTable = Omit<dynamodb.ITable, 'tableStreamArn'> & { readonly tableStreamArn?: string | undefined };

export interface AnomalyDetectorProps {
  /** The orchestrator table; it must have a stream with new images (NEW_IMAGE or NEW_AND_OLD_IMAGES). */
  readonly table: StreamTable;
  /** Where alerts are published (AlertTopics.topic). */
  readonly alertTopic: sns.ITopic;
  /** The generic recovery state machine, started with `{ alertId, worker, job, anomaly, severity, actions, scheduledTime }`. */
  readonly recoveryStateMachine: sfn.IStateMachine;
  /** Encrypts the on-failure queue. */
  readonly key: kms.IKey;
  /** @default ANOMALY_DETECTOR_DEFAULTS.batchSize */
  readonly batchSize?: number;
  /** @default ANOMALY_DETECTOR_DEFAULTS.retryAttempts */
  readonly retryAttempts?: number;
  /** @default Duration.seconds(ANOMALY_DETECTOR_DEFAULTS.maxRecordAgeSeconds) */
  readonly maxRecordAge?: Duration;
}

/**
 * The anomaly Lambda on the table stream: REPORT and HEALTH inserts in, alerts (SNS) and recoveries (Step
 * Functions) out. Delivery is explicit: partial batch responses, bisect on error, bounded retries
 * and record age, and an encrypted on-failure queue. The same queue receives the poison records the
 * function itself sets aside (INVALID_RECORD_QUEUE_URL), whole; the event source's own failure
 * messages carry only the shard and sequence numbers of the batch. See lambdas/anomaly/detector.ts.
 */
export class AnomalyDetector extends Construct {
  readonly handler: OrchestratorFunction;
  /** Batches that exhausted their retries or aged out (event source metadata) and poison records (the records themselves). */
  readonly failureQueue: sqs.Queue;
  readonly eventSource: eventsources.DynamoEventSource;

  constructor(scope: Construct, id: string, props: AnomalyDetectorProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? ANOMALY_DETECTOR_DEFAULTS.batchSize;
    const retryAttempts = props.retryAttempts ?? ANOMALY_DETECTOR_DEFAULTS.retryAttempts;
    const maxRecordAge = props.maxRecordAge ?? Duration.seconds(ANOMALY_DETECTOR_DEFAULTS.maxRecordAgeSeconds);
    if (props.table.tableStreamArn === undefined) throw new Error(`table must have a stream with new images, got ${props.table.node.path} without one`);
    if (!Token.isUnresolved(batchSize) && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000)) throw new Error(`batchSize must be an integer in 1..1000, got ${batchSize}`);
    if (!Token.isUnresolved(retryAttempts) && (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 10)) {
      throw new Error(`retryAttempts must be an integer in 0..10 (bounded: the shard waits while a batch retries), got ${retryAttempts}`);
    }

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(ANOMALY_DETECTOR_DEFAULTS.failureQueueRetentionDays),
    });

    this.handler = new OrchestratorFunction(this, 'Function', {
      entry: 'lambdas/anomaly/handler.ts',
      memorySizeMb: ANOMALY_DETECTOR_DEFAULTS.memorySizeMb,
      timeout: Duration.seconds(ANOMALY_DETECTOR_DEFAULTS.timeoutSeconds),
      serviceName: 'anomaly',
      description: 'Anomaly detection on the score-report stream: window rules, deduplicated alerts, recoveries.',
      environment: {
        TABLE_NAME: props.table.tableName,
        ALERT_TOPIC_ARN: props.alertTopic.topicArn,
        RECOVERY_STATE_MACHINE_ARN: props.recoveryStateMachine.stateMachineArn,
        INVALID_RECORD_QUEUE_URL: this.failureQueue.queueUrl,
      },
    });
    const fn = this.handler.fn;

    // Checked above: the table has a stream, so it is an ITable in full.
    this.eventSource = new eventsources.DynamoEventSource(props.table as dynamodb.ITable, {
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts,
      maxRecordAge,
      onFailure: new eventsources.SqsDlq(this.failureQueue),
      filters: [lambda.FilterCriteria.filter(REPORT_INSERT_PATTERN)],
    });
    fn.addEventSource(this.eventSource);

    // Least privilege: the two WINDOW buckets (BatchGetItem), the INCIDENT items (GetItem, Query of the
    // worker's partition, conditional PutItem), the ALERT claim (PutItem) and its mark (UpdateItem).
    grantTableAccess(props.table, fn, 'anomaly');
    props.alertTopic.grantPublish(fn);
    props.recoveryStateMachine.grantStartExecution(fn);
    this.failureQueue.grantSendMessages(fn);

    if (fn.role) {
      const keyUse = 'on the one KMS key of the alert topic and the on-failure queue: sns:Publish needs kms:GenerateDataKey*, and sqs:SendMessage to the encrypted queue (Lambda\'s on-failure destination and the poison-record sink) needs the encrypt actions that IQueue.grantSendMessages grants';
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: `kms:GenerateDataKey* ${keyUse}.` });
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: `kms:ReEncrypt* ${keyUse}.` });
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Besides X-Ray: dynamodb:ListStreams, which the stream event source needs (ITable.grantStreamRead grants it) and which supports only the * resource; the stream reads themselves are on the table\'s stream ARN.',
      });
    }
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the stream event source\'s on-failure destination (a dead-letter queue for batches and poison records); it needs none of its own.',
    });
    Validations.of(this.failureQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the stream event source\'s on-failure destination; it has no redrive of its own.' });
  }
}
