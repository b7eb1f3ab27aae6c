import { Duration, Token, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SEVERITIES, type Severity } from '../domain/anomaly-rules.js';
import { AlertTopics, allowSnsToUseKey, SUBSCRIPTION_DLQ_RETENTION_DAYS } from './alert-topics.js';
import { OrchestratorFunction } from './orchestrator-function.js';

/** Severities the webhook receives by default. LOW is never published (log only). */
export const WEBHOOK_SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM'];

/** Time allowed for one POST (WEBHOOK_TIMEOUT_MS), in ms. */
export const WEBHOOK_HTTP_TIMEOUT_MS = 5_000;
/** How long a warm function reuses the fetched secret (WEBHOOK_SECRET_CACHE_SECONDS): a rotation reaches every function within this time. */
export const WEBHOOK_SECRET_CACHE_SECONDS = 300;
/** The function timeout: the secret fetch, one POST of at most WEBHOOK_HTTP_TIMEOUT_MS, and slack for a cold start. */
export const WEBHOOK_FUNCTION_TIMEOUT = Duration.seconds(15);
export const WEBHOOK_FUNCTION_MEMORY_MB = 256;
/** Lambda's retries of a failed asynchronous invocation (429, 5xx, timeout, network, bad secret). */
export const WEBHOOK_RETRY_ATTEMPTS = 2;
/** An alert older than this is noise: Lambda stops retrying and sends it to the failure queue. */
export const WEBHOOK_MAX_EVENT_AGE = Duration.hours(1);
/** How long failed deliveries are kept for inspection and redrive, in days. */
export const WEBHOOK_FAILURE_RETENTION_DAYS = 14;

/**
 * Length of the generated key: base64 characters only (letters and digits), a multiple of 4, so
 * the string is canonical unpadded base64 of 40 * 3 / 4 = 30 bytes (Standard Webhooks asks for
 * 24 to 64), with 40 * log2(62) ≈ 238 bits of entropy.
 */
export const WEBHOOK_SECRET_LENGTH = 40;

export interface WebhookDeliveryProps {
  /** The alert topic (AlertTopics.topic). Its messages carry the `severity` message attribute. */
  readonly topic: sns.ITopic;
  /** The receiver: the `alertWebhookUrl` context value. https only; checked at synth unless a token. */
  readonly url: string;
  /** Encrypts the signing secret and both failure queues; SNS is allowed to use it for the subscription DLQ. */
  readonly key: kms.IKey;
  /**
   * The severities delivered (the subscription's filter policy on the `severity` message attribute).
   * Digests carry the severity of their most severe alert.
   * @default WEBHOOK_SEVERITIES - CRITICAL, HIGH and MEDIUM
   */
  readonly severities?: readonly Severity[];
}

/**
 * Signed webhook delivery of alerts (docs/alerting.md, "Webhook delivery"): the alert topic →
 * (filter on `severity`) → the delivery Lambda (lambdas/webhook/handler.ts) → HTTPS receiver.
 *
 * Failure handling, end to end:
 * - SNS cannot hand a message to Lambda at all → the subscription's dead-letter queue
 *   (`subscriptionDeadLetterQueue`, raw SNS messages).
 * - The function fails (429, 5xx, timeout, network, secret missing or malformed) → Lambda retries
 *   WEBHOOK_RETRY_ATTEMPTS times within WEBHOOK_MAX_EVENT_AGE, then writes an invocation record
 *   (the SNS event, the error) to the on-failure destination (`failureQueue`).
 * - 3xx and other 4xx are permanent: logged by the function, not retried.
 *
 * **The signing secret** (`secret`) is `{"current": "<key>", "previous"?: "<key>"}`. At creation
 * Secrets Manager generates `current`: WEBHOOK_SECRET_LENGTH letters and digits, which is valid
 * unpadded base64 of 30 random-enough bytes. `generateSecretString` cannot prepend `whsec_`, so
 * the generated value has no prefix; the Lambda and the Standard Webhooks libraries treat the
 * prefix as optional and decode the same key either way. Give the receiver `whsec_<current>`:
 *
 *   aws secretsmanager get-secret-value --secret-id <secretArn> --query SecretString --output text
 *
 * **Rotation is manual**, with no downtime: write
 * `{"current": "whsec_<new>", "previous": "<old current>"}` (a new key:
 * `node -e "console.log('whsec_' + require('node:crypto').randomBytes(32).toString('base64'))"`).
 * Within WEBHOOK_SECRET_CACHE_SECONDS every delivery carries both signatures; once the receiver
 * uses the new key, drop `previous`. Never change the generation settings below after deploying:
 * CloudFormation would generate a new value and overwrite the one in use.
 */
export class WebhookDelivery extends Construct {
  readonly secret: secretsmanager.Secret;
  readonly handler: OrchestratorFunction;
  /** Lambda's on-failure destination: records of invocations that failed every attempt. */
  readonly failureQueue: sqs.Queue;
  /** Messages SNS could not hand to the function. */
  readonly subscriptionDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WebhookDeliveryProps) {
    super(scope, id);
    checkWebhookUrl(props.url);
    const severities = [...new Set(props.severities ?? WEBHOOK_SEVERITIES)];
    if (severities.length === 0) throw new Error('severities must name at least one severity, got none');
    for (const s of severities) if (!SEVERITIES.includes(s)) throw new Error(`severities must be among ${SEVERITIES.join(', ')}, got ${String(s)}`);

    this.secret = new secretsmanager.Secret(this, 'SigningSecret', {
      description: 'AuraStream alert webhook signing secrets (Standard Webhooks): {"current": "whsec_<base64>", "previous"?: "whsec_<base64>"}. The generated current has no whsec_ prefix; see lib/constructs/webhook-delivery.ts.',
      encryptionKey: props.key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'current',
        passwordLength: WEBHOOK_SECRET_LENGTH,
        // Letters and digits only: no '+' or '/', so no padding question and no JSON escaping.
        excludePunctuation: true,
        includeSpace: false,
        // Uniform over the 62 characters.
        requireEachIncludedType: false,
      },
    });

    const queueProps: sqs.QueueProps = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(WEBHOOK_FAILURE_RETENTION_DAYS),
    };
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', queueProps);
    this.subscriptionDeadLetterQueue = new sqs.Queue(this, 'SubscriptionDeadLetterQueue', { ...queueProps, retentionPeriod: Duration.days(SUBSCRIPTION_DLQ_RETENTION_DAYS) });

    this.handler = new OrchestratorFunction(this, 'Delivery', {
      entry: 'lambdas/webhook/handler.ts',
      memorySizeMb: WEBHOOK_FUNCTION_MEMORY_MB,
      timeout: WEBHOOK_FUNCTION_TIMEOUT,
      serviceName: 'webhook',
      asyncInvocation: true,
      description: 'Signs alert messages (Standard Webhooks) and POSTs them to the alert webhook',
      environment: {
        WEBHOOK_URL: props.url,
        // The ARN only: the function reads the value from Secrets Manager at run time.
        WEBHOOK_SECRET_ARN: this.secret.secretArn,
        WEBHOOK_TIMEOUT_MS: String(WEBHOOK_HTTP_TIMEOUT_MS),
        WEBHOOK_SECRET_CACHE_SECONDS: String(WEBHOOK_SECRET_CACHE_SECONDS),
      },
    });
    const fn = this.handler.fn;
    this.secret.grantRead(fn);

    // SqsDestination grants the function sqs:SendMessage (and the key's encrypt actions) on the queue.
    fn.configureAsyncInvoke({
      retryAttempts: WEBHOOK_RETRY_ATTEMPTS,
      maxEventAge: WEBHOOK_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.failureQueue),
    });

    props.topic.addSubscription(
      new subscriptions.LambdaSubscription(fn, { filterPolicy: AlertTopics.severityFilter(severities), deadLetterQueue: this.subscriptionDeadLetterQueue }),
    );
    // AlertTopics adds the same statement when it has an email subscription; identical statements merge.
    allowSnsToUseKey(props.key, this);

    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotated manually with no downtime: the secret holds "current" and "previous", the function signs with both, and Standard Webhooks receivers accept either; an automatic rotation could not hand the new key to the receiver.',
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: `Invoked asynchronously by SNS: failures go to an on-failure destination instead of a DeadLetterConfig (${WEBHOOK_RETRY_ATTEMPTS} retries, max event age ${WEBHOOK_MAX_EVENT_AGE.toHumanString()}, then the encrypted FailureQueue; Serverless-LambdaAsyncFailureDestination checks it). Its invocation record carries the event and the error; a DLQ would be a second, error-less copy of the same failures.`,
    });
    if (fn.role) {
      const keyUse = 'on the one KMS key of the failure queue: sqs:SendMessage to the encrypted queue (Lambda\'s on-failure destination) needs the encrypt actions that IQueue.grantSendMessages grants';
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: `kms:GenerateDataKey* ${keyUse}.` });
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: `kms:ReEncrypt* ${keyUse}.` });
    }
    Validations.of(this.failureQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the webhook function\'s on-failure destination (its dead-letter queue); it needs none of its own.' });
    Validations.of(this.failureQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the webhook function\'s on-failure destination; it has no redrive of its own.' });
    Validations.of(this.subscriptionDeadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the webhook\'s SNS subscription (SNS RedrivePolicy); it needs none of its own.' });
    Validations.of(this.subscriptionDeadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the dead-letter queue of the webhook\'s SNS subscription; it has no redrive of its own.' });
  }
}

/**
 * Throws unless `url` is an absolute https URL without credentials. An unresolved token is let
 * through: the function checks WEBHOOK_URL again at cold start (webhookUrlFrom).
 */
export function checkWebhookUrl(url: string): void {
  if (Token.isUnresolved(url)) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`alertWebhookUrl must be an https URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:') throw new Error(`alertWebhookUrl must be an https URL, got ${JSON.stringify(url)}`);
  // The URL is a plain environment variable: credentials in it would be a secret in the clear.
  if (parsed.username !== '' || parsed.password !== '') throw new Error(`alertWebhookUrl must not carry credentials (user:password@), got an https URL to ${parsed.host}`);
}
