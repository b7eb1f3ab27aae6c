import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SEVERITIES, type Severity } from '../domain/anomaly-rules.js';

/**
 * Severities the email subscription receives by default. LOW is never published (log only); the
 * rest all reach people: CRITICAL and HIGH at once, MEDIUM in the health sweep's digests (a digest
 * carries the `severity` of its most severe alert).
 */
export const EMAIL_SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM'];

/** How long a message SNS could not deliver to a subscription is kept, in days. */
export const SUBSCRIPTION_DLQ_RETENTION_DAYS = 14;

export interface AlertTopicsProps {
  /** Encrypts the topic and the subscription dead-letter queue. */
  readonly key: kms.IKey;
  /**
   * The topic's display name: the sender of its emails and of the subscription confirmation, so
   * each topic needs its own (alerts and on-call pages must not look alike in an inbox).
   * @default 'AuraStream alerts'
   */
  readonly displayName?: string;
  /**
   * An address subscribed to the topic by email (the lead passes the `alertEmail` context value).
   * The recipient must confirm the subscription once.
   * @default - no email subscription
   */
  readonly alertEmail?: string;
  /**
   * The severities the email subscription receives (its filter policy on the `severity` message attribute).
   * @default EMAIL_SEVERITIES - CRITICAL, HIGH and MEDIUM
   */
  readonly emailSeverities?: readonly Severity[];
}

/**
 * The alert topic: ONE SNS topic for every alert and digest (docs/alerting.md, "Topic design"),
 * KMS-encrypted and SSL-only. Every message carries the `type`, `severity`, `worker` and `anomaly`
 * message attributes, and routing is a subscription's filter policy, e.g.:
 *
 * | subscriber      | filter policy (MessageAttributes)                     |
 * |-----------------|-------------------------------------------------------|
 * | email (here)    | `{"severity": ["CRITICAL", "HIGH", "MEDIUM"]}`        |
 * | pager           | `{"severity": ["CRITICAL"]}`                           |
 * | webhook Lambda  | none: everything                                      |
 *
 * Subscriptions made here have a dead-letter queue for messages SNS could not deliver.
 */
/**
 * Lets SNS use the key to write undeliverable messages to an encrypted dead-letter queue: for this
 * account's topics in this region (the topic's own ARN would make a key -> topic -> key cycle).
 * Identical statements merge, so every subscription with a DLQ may call it.
 */
export function allowSnsToUseKey(key: kms.IKey, scope: Construct): void {
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'sns', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) },
      },
    }),
  );
}

export class AlertTopics extends Construct {
  /** The filter policy that passes the given severities. */
  static severityFilter(severities: readonly Severity[]): Record<string, sns.SubscriptionFilter> {
    return { severity: sns.SubscriptionFilter.stringFilter({ allowlist: [...severities] }) };
  }

  /**
   * The email filter: the given severities, and messages with no `severity` attribute at all, which
   * are CloudWatch alarm notifications (lib/constructs/orchestrator-dashboard.ts): an alarm is
   * meant for a person. The webhook keeps the plain severity filter: it delivers alerts only.
   */
  static emailFilter(severities: readonly Severity[]): Record<string, sns.SubscriptionFilter> {
    return { severity: new sns.SubscriptionFilter([...severities, { exists: false }]) };
  }

  readonly topic: sns.Topic;
  /** Messages SNS could not deliver to a subscription made here; undefined without one. */
  readonly subscriptionDeadLetterQueue: sqs.Queue | undefined;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    const severities = props.emailSeverities ?? EMAIL_SEVERITIES;
    if (severities.length === 0) throw new Error('emailSeverities must name at least one severity, got none');
    for (const s of severities) if (!SEVERITIES.includes(s)) throw new Error(`emailSeverities must be among ${SEVERITIES.join(', ')}, got ${String(s)}`);
    // An empty context value means no subscription.
    const email = props.alertEmail === '' ? undefined : props.alertEmail;
    if (email !== undefined && !Token.isUnresolved(email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      throw new Error(`alertEmail must be an email address, got "${email}"`);
    }

    const displayName = props.displayName ?? 'AuraStream alerts';
    if (!Token.isUnresolved(displayName) && (displayName.trim() === '' || displayName.length > 100)) throw new Error(`displayName must be 1-100 characters, got "${displayName}"`);
    this.topic = new sns.Topic(this, 'Topic', { displayName, masterKey: props.key, enforceSSL: true });

    this.subscriptionDeadLetterQueue = undefined;
    if (email !== undefined) {
      const dlq = new sqs.Queue(this, 'SubscriptionDeadLetterQueue', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(SUBSCRIPTION_DLQ_RETENTION_DAYS),
      });
      allowSnsToUseKey(props.key, this);
      this.topic.addSubscription(new subscriptions.EmailSubscription(email, { filterPolicy: AlertTopics.emailFilter(severities), deadLetterQueue: dlq }));
      Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the alert topic\'s subscriptions (SNS RedrivePolicy); it needs none of its own.' });
      Validations.of(dlq).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the dead-letter queue of the alert topic\'s subscriptions; it has no redrive of its own.' });
      this.subscriptionDeadLetterQueue = dlq;
    }
  }

  /** Lets `grantee` publish to the topic (and use its key). */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.topic.grantPublish(grantee);
  }
}
