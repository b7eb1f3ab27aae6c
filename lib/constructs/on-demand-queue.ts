import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventsources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS guidance: the visibility timeout is at least six times the consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Receives before a job goes to the dead-letter queue. */
export const ON_DEMAND_MAX_RECEIVE_COUNT = 3;
/** Jobs handed to one consumer invocation. */
export const ON_DEMAND_BATCH_SIZE = 5;
/** Concurrent consumer invocations; the QUEUE_OVERFLOW recovery scales it up within its bound. */
export const ON_DEMAND_MAX_CONCURRENCY = 10;

export interface OnDemandQueueProps {
  readonly workerId: string;
  /** The Lambda that consumes jobs; it reports partial batch failures. */
  readonly consumer: lambda.IFunction;
  readonly consumerTimeout: Duration;
  readonly key: kms.IKey;
}

/**
 * The queue of an on-demand worker (the design's RQ queue): encrypted, with a dead-letter queue,
 * consumed by a Lambda that reports partial batch failures. Its depth feeds QUEUE_OVERFLOW.
 */
export class OnDemandQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The event source mapping's id, which the QUEUE_OVERFLOW recovery scales. */
  readonly eventSourceMappingId: string;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: OnDemandQueueProps) {
    super(scope, id);
    this.key = props.key;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: ON_DEMAND_MAX_RECEIVE_COUNT },
    });
    const source = new eventsources.SqsEventSource(this.queue, {
      batchSize: ON_DEMAND_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: ON_DEMAND_MAX_CONCURRENCY,
    });
    props.consumer.addEventSource(source);
    // A job held by the gate (pause, open circuit) is sent again, delayed, on this queue: a new message, so a
    // long pause never counts towards maxReceiveCount (lambdas/on-demand/consume.ts).
    this.grantSend(props.consumer);
    this.eventSourceMappingId = source.eventSourceMappingId;
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the dead-letter queue; it has no redrive of its own.' });
    Validations.of(props.consumer).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'SQS event sources take no on-failure destination: a job that keeps failing moves to the queue\'s dead-letter queue after ON_DEMAND_MAX_RECEIVE_COUNT receives.',
    });
  }

  /**
   * Lets a producer (the AuraStream API, a script) send jobs: sqs:SendMessage and
   * GetQueueAttributes/GetQueueUrl on this queue, and kms:GenerateDataKey/Decrypt on its key.
   */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    // Exact actions (IQueue.grantSendMessages adds kms:ReEncrypt* and kms:GenerateDataKey*): what an
    // SSE-KMS sender needs is GenerateDataKey and Decrypt.
    const send = iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resourceArns: [this.queue.queueArn] });
    this.key.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    return send;
  }
}
