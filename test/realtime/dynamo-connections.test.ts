/**
 * The connection store on a real DynamoDB API (dynalite, the construct's table): $connect and $disconnect through the
 * handler, the broadcaster listing connections and removing a gone one, TTL-expired items skipped.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_PK, DynamoConnectionStore } from '../../lambdas/realtime/adapters.js';
import { makeHandler as makeBroadcaster } from '../../lambdas/realtime/broadcaster.js';
import { makeHandler as makeConnections } from '../../lambdas/realtime/connections.js';
import type { RealtimeEvent, RealtimeLogger } from '../../lambdas/realtime/ports.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';
import { reportInsert } from './records.js';

const NOW = Date.parse('2026-01-02T06:00:00.000Z');
const logger: RealtimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
let fixture: TableFixture;
let doc: DynamoDBDocumentClient;
let TABLE: string;

beforeAll(async () => {
  // The table exactly as the construct declares it.
  fixture = await startTableFixture(() => NOW);
  doc = fixture.doc;
  TABLE = await fixture.newTable('Realtime');
});

afterAll(async () => {
  await fixture.close();
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
