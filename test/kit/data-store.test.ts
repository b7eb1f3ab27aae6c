import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDataStore, InMemoryDataStore, type DataStore } from '../../lambdas/kit/data-store.js';

const T0 = Date.parse('2026-01-05T12:00:00Z');

async function exercise(store: DataStore, clock: { now: number }): Promise<void> {
  await store.put('clip', '2026-01-05T11#b', { v: 2 }, { ttlSeconds: 60 });
  await store.put('clip', '2026-01-05T11#a', { v: 1 });
  await store.put('clip', '2026-01-05T12#c', { v: 3 });
  await store.put('snapshot', 'x', { fetchedAt: 'now' });
  expect((await store.get('clip', '2026-01-05T11#a'))?.data).toEqual({ v: 1 });
  expect((await store.list('clip', { prefix: '2026-01-05T11#' })).map((i) => i.id)).toEqual(['2026-01-05T11#a', '2026-01-05T11#b']);
  expect((await store.list('clip', { limit: 1 })).map((i) => i.id)).toEqual(['2026-01-05T11#a']);
  const withTtl = await store.get('clip', '2026-01-05T11#b');
  expect(withTtl?.expiresAtMs).toBe(T0 + 60_000);
  expect(withTtl?.updatedAtMs).toBe(T0);
  clock.now += 61_000; // expired but not yet swept: hidden
  expect(await store.get('clip', '2026-01-05T11#b')).toBeUndefined();
  expect((await store.list('clip')).map((i) => i.id)).toEqual(['2026-01-05T11#a', '2026-01-05T12#c']);
  await store.delete('clip', '2026-01-05T11#a');
  expect(await store.get('clip', '2026-01-05T11#a')).toBeUndefined();
  expect((await store.list('snapshot')).length).toBe(1);
}

describe('InMemoryDataStore', () => {
  it('puts, gets, lists by prefix in id order, hides expired items, deletes', async () => {
    const clock = { now: T0 };
    await exercise(new InMemoryDataStore(() => clock.now), clock);
  });
});

describe('DynamoDataStore on dynalite', () => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let client: DynamoDBClient;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await client.send(new CreateTableCommand({ TableName: 'orchestrator', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], BillingMode: 'PAY_PER_REQUEST' }));
  });
  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('behaves like the in-memory store under pk = DATA#<kind>', async () => {
    const clock = { now: T0 };
    const document = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    await exercise(new DynamoDataStore({ client: document, tableName: 'orchestrator', clock: () => clock.now }), clock);
  });
});
