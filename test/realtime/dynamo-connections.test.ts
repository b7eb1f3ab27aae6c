/**
 * The connection store on a real DynamoDB API (dynalite): $connect and $disconnect through the
 * handler, the broadcaster listing connections and removing a gone one, TTL-expired items skipped.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { CONNECTION_PK, DynamoConnectionStore } from '../../lambdas/realtime/adapters.js';
import { makeHandler as makeBroadcaster } from '../../lambdas/realtime/broadcaster.js';
import { makeHandler as makeConnections } from '../../lambdas/realtime/connections.js';
import type { RealtimeEvent, RealtimeLogger } from '../../lambdas/realtime/ports.js';
import { reportInsert } from './records.js';

const NOW = Date.parse('2026-01-02T06:00:00.000Z');
const TABLE = 'orchestrator-realtime';
const logger: RealtimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
let server: Server;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  doc = documentClient(raw);
  await raw.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  raw.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('connections over DynamoDB', () => {
  it('connect, broadcast, gone, disconnect', async () => {
    // Prepare
    const store = new DynamoConnectionStore(doc, TABLE, () => NOW);
    const connections = makeConnections({ connections: store, clock: () => NOW, logger });
    const ws = (routeKey: string, connectionId: string) => connections({ requestContext: { routeKey, connectionId } });
    await ws('$connect', 'alive=');
    await ws('$connect', 'stale=');
    await ws('$connect', 'leaving=');
    // An item whose TTL passed but that DynamoDB has not deleted yet.
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: CONNECTION_PK, sk: 'expired=', connectedAt: '2026-01-02T03:00:00.000Z', expiresAt: NOW / 1000 - 1 } }));
    await ws('$disconnect', 'leaving=');
    expect((await store.list()).sort()).toEqual(['alive=', 'stale=']);
    expect((await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: CONNECTION_PK, sk: 'alive=' } }))).Item).toMatchObject({ connectedAt: '2026-01-02T06:00:00.000Z', expiresAt: NOW / 1000 + 7200 });

    // Act
    const sent: { id: string; event: RealtimeEvent }[] = [];
    const broadcaster = makeBroadcaster({
      connections: store,
      push: { push: async (id, event) => (id === 'stale=' ? 'gone' : (sent.push({ id, event }), 'ok')) },
      logger,
    });
    const response = await broadcaster({ Records: [reportInsert('youtube_worker')] });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sent.map((s) => [s.id, s.event.type, s.event.worker])).toEqual([['alive=', 'report', 'youtube_worker']]);
    expect(await store.list()).toEqual(['alive=']);
  });
});
