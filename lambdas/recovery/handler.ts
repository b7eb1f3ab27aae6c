/**
 * The recovery Lambda: every task of the recovery state machine (statemachines/recovery.ts), one
 * action per call. The logic is in ./recover.ts (`makeHandler(deps)`); this module wires the AWS
 * adapters from the environment, read once at cold start.
 *
 * Environment:
 * - TABLE_NAME (required): the orchestrator table.
 * - ONCALL_TOPIC_ARN (required): the on-call SNS topic.
 * - SCHEDULE_GROUP_NAME (required): the symphony's EventBridge Scheduler group.
 * - PIPELINE_ARN_PREFIX (required): `arn:...:stateMachine:<stack>-`; a pipeline's ARN is the prefix
 *   and `<worker>-<job>`, and its schedules are named by their trigger keys (lib/registry/naming.ts).
 * - CONSUMER_MAPPINGS (optional, default `{}`): JSON `{ "<worker>": "<event source mapping UUID>" }`.
 * - RECOVERY_RETENTION_DAYS (optional, default 30).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { RECOVERY_RETENTION_DAYS } from '../../lib/domain/recovery-actions.js';
import { documentClient, DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { SchedulerScheduleAdapter } from '../adapters/scheduler-schedule-adapter.js';
import { positiveNumberEnv, requiredEnv } from '../shared/env.js';
import { DynamoRecoveryStore, EventSourceMappingQueueAdapter, SfnPipelineStarter, SnsAlertPublisher } from './adapters.js';
import { jsonMapEnv, pipelineArnOf, registryScheduleNamesOf } from './config.js';
import { makeHandler } from './recover.js';

export { makeHandler } from './recover.js';

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  topicArn: requiredEnv('ONCALL_TOPIC_ARN'),
  groupName: requiredEnv('SCHEDULE_GROUP_NAME'),
  pipelineArnPrefix: requiredEnv('PIPELINE_ARN_PREFIX'),
  mappings: jsonMapEnv('CONSUMER_MAPPINGS', process.env['CONSUMER_MAPPINGS']),
  retentionDays: positiveNumberEnv('RECOVERY_RETENTION_DAYS', RECOVERY_RETENTION_DAYS),
};
const doc = documentClient(new DynamoDBClient({}));
const logger = new Logger(); // service name from POWERTOOLS_SERVICE_NAME

export const handler = makeHandler({
  store: new DynamoStateStore(doc, env.tableName),
  recoveries: new DynamoRecoveryStore(doc, env.tableName),
  schedules: new SchedulerScheduleAdapter(new SchedulerClient({}), env.groupName),
  pipelines: new SfnPipelineStarter(new SFNClient({})),
  queues: new EventSourceMappingQueueAdapter(new LambdaClient({}), env.mappings),
  alerts: new SnsAlertPublisher(new SNSClient({}), env.topicArn),
  clock: Date.now,
  pipelineArnOf: pipelineArnOf(env.pipelineArnPrefix),
  scheduleNamesOf: registryScheduleNamesOf,
  logger: { info: (m, a) => logger.info(m, a), warn: (m, a) => logger.warn(m, a) },
  retentionDays: env.retentionDays,
});
