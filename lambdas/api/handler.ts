/**
 * The HTTP API Lambda (API Gateway HTTP API, payload format 2.0): builds the real adapters once at
 * module scope and hands them to `makeHandler` (app.ts).
 *
 * Environment: TABLE_NAME (required), PIPELINES (required: JSON `{ "<workerId>.<jobId>": "<state
 * machine ARN>" }` of every pipeline a manual trigger may start).
 * IAM: read/write on the table and its indexes (GetItem, BatchGetItem, Query incl. index/byTime,
 * PutItem, UpdateItem); states:StartExecution on each state machine in PIPELINES.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/dynamo-state-store.js';
import { requiredEnv } from '../shared/env.js';
import { makeHandler } from './app.js';
import { DynamoStatusStore } from './dynamo-status-store.js';
import { parsePipelines, sfnPipelineStarter } from './sfn-pipeline-starter.js';

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  pipelines: parsePipelines(requiredEnv('PIPELINES')),
};

export const handler = makeHandler({
  store: new DynamoStatusStore(documentClient(new DynamoDBClient({})), env.tableName),
  pipelines: sfnPipelineStarter(new SFNClient({}), env.pipelines),
  clock: Date.now,
  logger: new Logger(), // service name from POWERTOOLS_SERVICE_NAME
});
