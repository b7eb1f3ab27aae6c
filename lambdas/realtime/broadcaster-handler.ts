/**
 * Entry point of the broadcaster Lambda, on the orchestrator table's stream.
 *
 * Environment:
 * - TABLE_NAME (required): the connections (`WSCONN` items);
 * - WEBSOCKET_CALLBACK_URL (required): the WebSocket stage's management endpoint
 *   (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`);
 * - POWERTOOLS_SERVICE_NAME (optional): the logger's service name.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/dynamo-state-store.js';
import { requiredEnv } from '../shared/env.js';
import { ApiGatewayConnectionPusher, DynamoConnectionStore } from './adapters.js';
import { makeHandler } from './broadcaster.js';

const env = { tableName: requiredEnv('TABLE_NAME'), callbackUrl: requiredEnv('WEBSOCKET_CALLBACK_URL') };

export const handler = makeHandler({
  connections: new DynamoConnectionStore(documentClient(new DynamoDBClient({})), env.tableName),
  push: new ApiGatewayConnectionPusher(new ApiGatewayManagementApiClient({ endpoint: env.callbackUrl })),
  logger: new Logger(),
});
