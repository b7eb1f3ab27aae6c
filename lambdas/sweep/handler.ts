/**
 * The health sweep Lambda, invoked every 5 minutes by an EventBridge Scheduler schedule
 * (lib/constructs/health-sweep.ts). The logic is in ./sweep.ts (`makeHandler(deps)`); this module
 * wires the AWS adapters from the environment, read once at cold start.
 *
 * Environment:
 * - TABLE_NAME (required): the orchestrator table.
 * - PIPELINE_ARN_PREFIX (required): `arn:...:stateMachine:<stack>-`; the pipelines of WORKER_IDS are
 *   the prefix and `<worker>-<job>` (lib/registry/naming.ts).
 * - QUEUE_URLS (optional, default `{}`): JSON `{ "<worker>": "<queue URL>" }` of the on-demand queues.
 * - WORKER_IDS (optional, default every registry worker): comma-separated ids of the deployed workers.
 * - REPORT_RETENTION_DAYS (optional, default 30): TTL of the CRASHED reports of stopped executions.
 * - HEALTH_RETENTION_DAYS (optional, default 7): TTL of the HEALTH finding items.
 * - ONCALL_TOPIC_ARN (optional): the on-call SNS topic. When set, each sweep escalates CRITICAL incidents
 *   unacknowledged for ESCALATION.unacknowledgedCriticalMinutes (one page per incident); unset,
 *   escalation is off (logged at cold start).
 * - ALERT_TOPIC_ARN (optional): the alert topic. When set, each sweep delivers the notifications
 *   left PENDING in the outbox (an alert whose publish failed past the stream's retries); unset, that
 *   delivery is off (logged at cold start).
 * - POWERTOOLS_SERVICE_NAME (optional): the logger's service name.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { DEFAULT_REPORT_RETENTION_DAYS } from '../../lib/domain/worker-state.js';
import { ALL_WORKERS, isWorkerId, workerById, type WorkerSpec } from '../../lib/registry/index.js';
import { pipelineArnsOf } from '../../lib/registry/naming.js';
import { DynamoIncidentStore } from '../adapters/dynamo-incident-store.js';
import { DynamoOutbox } from '../adapters/dynamo-outbox.js';
import { SnsAlertPublisher } from '../adapters/sns-alert-publisher.js';
import { documentClient, DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { jsonMapEnv } from '../recovery/config.js';
import { positiveNumberEnv, requiredEnv } from '../shared/env.js';
import { DynamoHealthFindingStore, DynamoRecoveryOutcomeReader, DynamoReportReader, SfnExecutionLister, SnsOnCallPager, SqsQueueDepthReader } from './adapters.js';
import { HEALTH_RETENTION_DAYS, makeHandler } from './sweep.js';

export { makeHandler } from './sweep.js';

/** The deployed workers: WORKER_IDS (comma-separated) or the whole registry. */
export function workersFromEnv(raw: string | undefined): readonly WorkerSpec[] {
  if (raw === undefined || raw.trim() === '') return ALL_WORKERS;
  return raw.split(',').map((s) => {
    const id = s.trim();
    if (!isWorkerId(id)) throw new ConfigurationError(`environment variable WORKER_IDS names an unknown worker "${id}"`);
    return workerById(id);
  });
}

/** An environment value, or undefined when unset or blank. */
export const optionalEnv = (raw: string | undefined): string | undefined => (raw === undefined || raw.trim() === '' ? undefined : raw.trim());

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  pipelineArnPrefix: requiredEnv('PIPELINE_ARN_PREFIX'),
  queueUrls: jsonMapEnv('QUEUE_URLS', process.env['QUEUE_URLS']),
  workers: workersFromEnv(process.env['WORKER_IDS']),
  reportRetentionDays: positiveNumberEnv('REPORT_RETENTION_DAYS', DEFAULT_REPORT_RETENTION_DAYS),
  findingRetentionDays: positiveNumberEnv('HEALTH_RETENTION_DAYS', HEALTH_RETENTION_DAYS),
  oncallTopicArn: optionalEnv(process.env['ONCALL_TOPIC_ARN']),
  alertTopicArn: optionalEnv(process.env['ALERT_TOPIC_ARN']),
};
const doc = documentClient(new DynamoDBClient({}));
const logger = new Logger(); // service name from POWERTOOLS_SERVICE_NAME
if (env.oncallTopicArn === undefined) logger.warn('ONCALL_TOPIC_ARN is not set: unacknowledged critical incidents are not escalated', {});
if (env.alertTopicArn === undefined) logger.warn('ALERT_TOPIC_ARN is not set: alerts left in the outbox are not delivered by the sweep', {});
const sns = new SNSClient({});

export const handler = makeHandler({
  store: new DynamoStateStore(doc, env.tableName),
  reports: new DynamoReportReader(doc, env.tableName, (workerId, issues) => logger.warn('latest report unreadable: its findings are skipped', { workerId, issues })),
  executions: new SfnExecutionLister(new SFNClient({})),
  queues: new SqsQueueDepthReader(new SQSClient({})),
  findings: new DynamoHealthFindingStore(doc, env.tableName),
  clock: Date.now,
  logger,
  workers: env.workers,
  pipelineArns: pipelineArnsOf(env.pipelineArnPrefix, env.workers),
  queueUrls: env.queueUrls,
  reportRetentionDays: env.reportRetentionDays,
  findingRetentionDays: env.findingRetentionDays,
  incidents: new DynamoIncidentStore(doc, env.tableName, (pk, sk) => logger.warn('incident item unreadable: not cleared or escalated', { pk, sk })),
  ...(env.oncallTopicArn !== undefined
    ? { escalation: { pager: new SnsOnCallPager(sns, env.oncallTopicArn), recoveries: new DynamoRecoveryOutcomeReader(doc, env.tableName), ...(process.env['AWS_REGION'] ? { region: process.env['AWS_REGION'] } : {}) } }
    : {}),
  ...(env.alertTopicArn !== undefined
    ? { outbox: { store: new DynamoOutbox(doc, env.tableName, (pk, issues) => logger.warn('outbox entry unreadable: not delivered', { pk, issues })), publisher: new SnsAlertPublisher(sns, env.alertTopicArn) } }
    : {}),
});
