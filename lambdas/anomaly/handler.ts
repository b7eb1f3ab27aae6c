/**
 * The anomaly Lambda's entry point, on the orchestrator table's stream (REPORT inserts): the
 * configuration from the environment (read once, at cold start), the AWS adapters and the logger
 * at module scope. See detector.ts for what it does per record.
 *
 * Environment:
 * - TABLE_NAME (required): the orchestrator table (WINDOW reads, INCIDENT items, ALERT claims);
 * - ALERT_TOPIC_ARN (required): the alert topic (one topic; subscribers filter on `severity`);
 * - RECOVERY_STATE_MACHINE_ARN (required): the generic recovery state machine, started with
 *   `{ alertId, worker, job, anomaly, severity, actions, scheduledTime }` and the alert id as its name;
 * - INVALID_RECORD_QUEUE_URL (required): where poison records go (the event source's on-failure queue);
 * - AWS_REGION (set by Lambda): for the console links in alerts;
 * - POWERTOOLS_SERVICE_NAME (optional): the logger's service name.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { RecoveryStarter } from '../../lib/domain/anomaly-evaluation.js';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { DynamoAlertStore } from '../adapters/dynamo-alert-store.js';
import { DynamoIncidentStore } from '../adapters/dynamo-incident-store.js';
import { DynamoOutbox } from '../adapters/dynamo-outbox.js';
import { documentClient, DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { sfnExecutionStarter } from '../adapters/sfn-execution-starter.js';
import { SnsAlertPublisher } from '../adapters/sns-alert-publisher.js';
import { requiredEnv } from '../shared/env.js';
import { makeHandler } from './detector.js';
import { SqsInvalidRecordSink } from './invalid-records.js';

export { makeHandler } from './detector.js';

/** Same shape executionConsoleUrl (lib/domain/alerting.ts) accepts: checked here so a bad value fails the cold start, not every record. */
function regionFrom(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(value)) throw new ConfigurationError(`environment variable AWS_REGION must look like us-east-1, got "${value}"`);
  return value;
}

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  alertTopicArn: requiredEnv('ALERT_TOPIC_ARN'),
  recoveryStateMachineArn: requiredEnv('RECOVERY_STATE_MACHINE_ARN'),
  invalidRecordQueueUrl: requiredEnv('INVALID_RECORD_QUEUE_URL'),
  region: regionFrom(requiredEnv('AWS_REGION')),
};

const startExecution = sfnExecutionStarter(new SFNClient({}), () => env.recoveryStateMachineArn);
const recovery: RecoveryStarter = { start: (request) => startExecution(request.input.job, request.name, { ...request.input }) };
const doc = documentClient(new DynamoDBClient({}));
const logger = new Logger(); // service name from POWERTOOLS_SERVICE_NAME

export const handler = makeHandler({
  windows: new DynamoStateStore(doc, env.tableName),
  incidents: new DynamoIncidentStore(doc, env.tableName),
  alerts: new DynamoAlertStore(doc, env.tableName),
  outbox: new DynamoOutbox(doc, env.tableName),
  publisher: new SnsAlertPublisher(new SNSClient({}), env.alertTopicArn),
  recovery,
  invalidRecords: new SqsInvalidRecordSink(new SQSClient({}), env.invalidRecordQueueUrl),
  logger,
  clock: Date.now,
  region: env.region,
});
