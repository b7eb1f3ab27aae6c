/**
 * The real-time ports on AWS: the connections in the orchestrator table, pushes through the API
 * Gateway Management API.
 *
 * Connection items: pk `WSCONN`, sk `<connectionId>`, `connectedAt` (ISO-8601), `expiresAt` (TTL,
 * epoch s: API Gateway closes a connection after 2 hours anyway). One partition: the dashboard's
 * few viewers fit it many times over.
 */
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectionPusher, ConnectionRegistry, ConnectionStore, RealtimeEvent } from './ports.js';

export const CONNECTION_PK = 'WSCONN';
/** API Gateway's maximum WebSocket connection duration. */
export const CONNECTION_TTL_SECONDS = 2 * 3600;
/** Pages of connections `list` reads at most (1 MB each): far beyond any real number of viewers. */
export const CONNECTION_LIST_MAX_PAGES = 10;

export class DynamoConnectionStore implements ConnectionStore, ConnectionRegistry {
  constructor(
    private readonly doc: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async add(connectionId: string, connectedAtMs: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: CONNECTION_PK, sk: connectionId, entity: 'WSCONN', connectedAt: new Date(connectedAtMs).toISOString(), expiresAt: Math.floor(connectedAtMs / 1000) + CONNECTION_TTL_SECONDS },
      }),
    );
  }

  async remove(connectionId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: CONNECTION_PK, sk: connectionId } }));
  }

  /** The connections whose TTL has not passed (TTL deletion lags by up to days). */
  async list(): Promise<string[]> {
    const nowSeconds = Math.floor(this.clock() / 1000);
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < CONNECTION_LIST_MAX_PAGES; page++) {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ProjectionExpression: '#sk, #exp',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#exp': 'expiresAt' },
          ExpressionAttributeValues: { ':pk': CONNECTION_PK },
          ...(startKey !== undefined ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const expiresAt = item['expiresAt'];
        if (typeof item['sk'] === 'string' && (typeof expiresAt !== 'number' || expiresAt > nowSeconds)) ids.push(item['sk']);
      }
      startKey = out.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return ids;
  }
}

const isGone = (error: unknown): boolean =>
  error instanceof GoneException ||
  (typeof error === 'object' && error !== null && ((error as { name?: unknown }).name === 'GoneException' || (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode === 410));

export class ApiGatewayConnectionPusher implements ConnectionPusher {
  private readonly encoder = new TextEncoder();

  constructor(private readonly client: Pick<ApiGatewayManagementApiClient, 'send'>) {}

  async push(connectionId: string, event: RealtimeEvent): Promise<'ok' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(JSON.stringify(event)) }));
      return 'ok';
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  }
}
