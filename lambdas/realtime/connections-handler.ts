/**
 * Entry point of the WebSocket connections Lambda ($connect, $disconnect).
 *
 * Environment: TABLE_NAME (required); POWERTOOLS_SERVICE_NAME (optional): the logger's service name.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/dynamo-state-store.js';
import { requiredEnv } from '../shared/env.js';
import { DynamoConnectionStore } from './adapters.js';
import { makeHandler } from './connections.js';

const env = { tableName: requiredEnv('TABLE_NAME') };

export const handler = makeHandler({
  connections: new DynamoConnectionStore(documentClient(new DynamoDBClient({})), env.tableName),
  clock: Date.now,
  logger: new Logger(),
});
