/**
 * The HTTP API Lambda (API Gateway HTTP API, payload format 2.0): builds the real adapters once at
 * module scope and hands them to `makeHandler` (app.ts).
 *
 * Environment: TABLE_NAME (required), PIPELINE_ARN_PREFIX (required: `arn:...:stateMachine:<stack>-`;
 * the pipelines a manual trigger or a backfill may start are those of the scheduled and sub-pipeline
 * workers of WORKER_IDS, named by lib/registry/naming.ts), WORKER_IDS (optional, default every
 * registry worker), BACKFILL_STATE_MACHINE_ARN (required: the backfill state machine,
 * statemachines/backfill.ts).
 * IAM: read/write on the table and its indexes (GetItem, BatchGetItem, Query incl. index/byTime,
 * PutItem, UpdateItem, DeleteItem); states:StartExecution on the stack's pipelines and on the
 * backfill state machine.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/dynamo-state-store.js';
import { requiredEnv } from '../shared/env.js';
import { makeHandler } from './app.js';
import { DynamoStatusStore } from './dynamo-status-store.js';
import { manualPipelines, sfnBackfillStarter, sfnPipelineStarter } from './sfn-pipeline-starter.js';

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  pipelines: manualPipelines(requiredEnv('PIPELINE_ARN_PREFIX'), process.env['WORKER_IDS']),
  backfillArn: requiredEnv('BACKFILL_STATE_MACHINE_ARN'),
};
const sfnClient = new SFNClient({});

export const handler = makeHandler({
  store: new DynamoStatusStore(documentClient(new DynamoDBClient({})), env.tableName),
  pipelines: sfnPipelineStarter(sfnClient, env.pipelines),
  backfills: sfnBackfillStarter(sfnClient, env.backfillArn, env.pipelines),
  clock: Date.now,
  logger: new Logger(), // service name from POWERTOOLS_SERVICE_NAME
});
