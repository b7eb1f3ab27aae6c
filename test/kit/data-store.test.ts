import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_GET_MAX, BATCH_MAX_RETRIES, BATCH_WRITE_MAX, DynamoDataStore, InMemoryDataStore, type DataStore } from '../../lambdas/kit/data-store.js';
import { TransientUpstreamError } from '../../lib/domain/errors.js';

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

/** The batch operations, over more ids than one BatchGetItem / BatchWriteItem takes. */
async function exerciseBatches(store: DataStore, clock: { now: number }): Promise<void> {
  const ids = Array.from({ length: 260 }, (_, i) => `b#${String(i).padStart(3, '0')}`);
  // Odd rows expire after a minute; a duplicate id keeps its last row.
  await store.putMany('clip', [...ids.map((id, i) => ({ id, data: { i }, ...(i % 2 === 1 ? { options: { ttlSeconds: 60 } } : {}) })), { id: 'b#000', data: { i: 'last' } }]);
  await store.put('snapshot', 'b#001', { other: 'kind' });
  const asked = [...ids].reverse().concat(['b#missing', 'b#000']);
  const all = await store.getMany('clip', asked);
  expect(all.size).toBe(260);
  expect([...all.keys()]).toEqual([...ids].reverse()); // the order asked for, duplicates once
  expect(all.get('b#000')?.data).toEqual({ i: 'last' });
  expect(all.get('b#007')).toMatchObject({ kind: 'clip', id: 'b#007', data: { i: 7 }, updatedAtMs: clock.now, expiresAtMs: clock.now + 60_000 });
  expect(all.get('b#008')?.expiresAtMs).toBeUndefined();
  expect((await store.list('clip', { prefix: 'b#' })).length).toBe(260);
  expect((await store.get('clip', 'b#123'))?.data).toEqual({ i: 123 });
  expect(await store.getMany('clip', [])).toEqual(new Map());
  await store.putMany('clip', []);
  clock.now += 61_000; // odd rows expired but not yet swept: hidden
  const live = await store.getMany('clip', ids);
  expect(live.size).toBe(130);
  expect([...live.values()].every((i) => (i.data as { i: unknown }).i === 'last' || Number((i.data as { i: number }).i) % 2 === 0)).toBe(true);
  await store.deleteMany('clip', [...ids.slice(0, 200), 'b#000', 'b#missing']);
  expect([...(await store.getMany('clip', ids)).keys()]).toEqual(ids.slice(200).filter((_, i) => i % 2 === 0));
  expect((await store.get('snapshot', 'b#001'))?.data).toEqual({ other: 'kind' });
  await store.deleteMany('clip', []);
}

describe('InMemoryDataStore', () => {
  it('puts, gets, lists by prefix in id order, hides expired items, deletes', async () => {
    const clock = { now: T0 };
    await exercise(new InMemoryDataStore(() => clock.now), clock);
  });

  it('reads, writes and deletes in batches like one by one', async () => {
    const clock = { now: T0 };
    await exerciseBatches(new InMemoryDataStore(() => clock.now), clock);
  });

  it('keeps batch-written data from the caller\'s references', async () => {
    const store = new InMemoryDataStore(() => T0);
    const data = { n: 1 };
    await store.putMany('clip', [{ id: 'a', data }]);
    data.n = 2;
    const got = await store.getMany('clip', ['a']);
    expect(got.get('a')?.data).toEqual({ n: 1 });
    (got.get('a')?.data as { n: number }).n = 3;
    expect((await store.get('clip', 'a'))?.data).toEqual({ n: 1 });
  });
});

/** A fake document client whose next `flaky` batch answers process one key/item only (the rest come back unprocessed). */
function flakyClient(): { client: DynamoDBDocumentClient; sent: string[]; flaky: { rounds: number } } {
  const table = new Map<string, Record<string, unknown>>();
  const sent: string[] = [];
  const flaky = { rounds: 0 };
  const send = (command: unknown): Promise<unknown> => {
    const partial = flaky.rounds > 0;
    if (partial) flaky.rounds--;
    if (command instanceof BatchWriteCommand) {
      const requests = command.input.RequestItems?.['t'] ?? [];
      sent.push(`write:${requests.length}`);
      for (const r of partial ? requests.slice(0, 1) : requests) {
        const item = r.PutRequest?.Item;
        if (item !== undefined) table.set(String(item['sk']), item);
      }
      return Promise.resolve(partial ? { UnprocessedItems: { t: requests.slice(1) } } : {});
    }
    if (command instanceof BatchGetCommand) {
      const keys = command.input.RequestItems?.['t']?.Keys ?? [];
      sent.push(`get:${keys.length}`);
      const rest = partial ? keys.slice(1) : [];
      return Promise.resolve({
        Responses: { t: (partial ? keys.slice(0, 1) : keys).flatMap((k) => table.get(String(k['sk'])) ?? []) },
        ...(rest.length > 0 ? { UnprocessedKeys: { t: { Keys: rest } } } : {}),
      });
    }
    return Promise.reject(new Error('unexpected command'));
  };
  return { client: { send } as unknown as DynamoDBDocumentClient, sent, flaky };
}

describe('DynamoDataStore batch retries (fake client)', () => {
  const rows = Array.from({ length: 3 }, (_, i) => ({ id: `k${i}`, data: { i } }));

  it('retries unprocessed items and keys with a growing, jittered backoff', async () => {
    const { client, sent, flaky } = flakyClient();
    const waits: number[] = [];
    const store = new DynamoDataStore({ client, tableName: 't', clock: () => T0, random: () => 0.999, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    flaky.rounds = 2;
    await store.putMany('clip', rows);
    expect(sent).toEqual(['write:3', 'write:2', 'write:1']);
    expect(waits).toEqual([25, 50]);
    flaky.rounds = 2;
    const got = await store.getMany('clip', ['k2', 'k1', 'k0']);
    expect([...got.keys()]).toEqual(['k2', 'k1', 'k0']);
    expect(got.get('k1')?.data).toEqual({ i: 1 });
    expect(sent.slice(3)).toEqual(['get:3', 'get:2', 'get:1']);
    expect(waits).toEqual([25, 50, 25, 50]);
  });

  it('throws a retryable TransientUpstreamError when items stay unprocessed past the bound', async () => {
    const { client, sent, flaky } = flakyClient();
    flaky.rounds = Number.POSITIVE_INFINITY;
    const waits: number[] = [];
    const store = new DynamoDataStore({ client, tableName: 't', clock: () => T0, random: () => 0.999, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    const many = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, data: i }));
    const error = await store.putMany('clip', many).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect((error as Error).name).toBe('TransientUpstreamError');
    expect(sent.length).toBe(1 + BATCH_MAX_RETRIES);
    expect(waits).toEqual([25, 50, 100, 200, 400]);
    const readError = await store.getMany('clip', many.map((m) => m.id)).catch((e: unknown) => e);
    expect(readError).toBeInstanceOf(TransientUpstreamError);
  });

  it('splits reads into requests of at most 100 keys and writes into requests of at most 25 items', async () => {
    const { client, sent } = flakyClient();
    const store = new DynamoDataStore({ client, tableName: 't', clock: () => T0 });
    const ids = Array.from({ length: 230 }, (_, i) => `x${i}`);
    await store.putMany('clip', ids.map((id) => ({ id, data: id })));
    await store.deleteMany('clip', ids.slice(0, 30));
    expect((await store.getMany('clip', ids)).size).toBe(230); // the fake ignores deletes
    expect(sent.filter((s) => s.startsWith('write:')).map((s) => Number(s.slice(6)))).toEqual([...Array<number>(9).fill(BATCH_WRITE_MAX), 5, BATCH_WRITE_MAX, 5]);
    expect(sent.filter((s) => s.startsWith('get:')).map((s) => Number(s.slice(4)))).toEqual([BATCH_GET_MAX, BATCH_GET_MAX, 30]);
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
    // A new table is CREATING at first, in dynalite as in DynamoDB: wait until it is ACTIVE.
    await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: 'orchestrator' });
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

  it('reads, writes and deletes in batches like the in-memory store', async () => {
    const clock = { now: T0 };
    const document = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    await exerciseBatches(new DynamoDataStore({ client: document, tableName: 'orchestrator', clock: () => clock.now }), clock);
  });

  it('stores data as one JSON string attribute, still reads items of before (data as a map), and reads unparsable JSON as unreadable, not as an error', async () => {
    const document = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoDataStore({ client: document, tableName: 'orchestrator', clock: () => T0 });
    const doc = { videos: [{ id: 'v1', views: 12, tags: ['a', 'b'], nested: { deep: [1, 2.5, null, true] } }], note: 'é ✓' };
    await store.put('snapshot', 'fmt-json-1', doc);
    await store.putMany('snapshot', [{ id: 'fmt-json-2', data: doc }]);
    for (const id of ['fmt-json-1', 'fmt-json-2']) {
      const raw = await client.send(new GetItemCommand({ TableName: 'orchestrator', Key: { pk: { S: 'DATA#snapshot' }, sk: { S: id } } }));
      expect(raw.Item?.['json']).toEqual({ S: JSON.stringify(doc) });
      expect(raw.Item?.['data']).toBeUndefined();
    }
    expect((await store.get('snapshot', 'fmt-json-1'))?.data).toEqual(doc);
    expect((await store.getMany('snapshot', ['fmt-json-2'])).get('fmt-json-2')?.data).toEqual(doc);
    // An item of before: `data` as a map.
    await client.send(new PutItemCommand({ TableName: 'orchestrator', Item: { pk: { S: 'DATA#snapshot' }, sk: { S: 'fmt-old' }, data: { M: { n: { N: '7' }, s: { S: 'x' } } }, updatedAtMs: { N: String(T0) } } }));
    expect((await store.get('snapshot', 'fmt-old'))?.data).toEqual({ n: 7, s: 'x' });
    // A damaged `json`: its raw string comes back.
    await client.send(new PutItemCommand({ TableName: 'orchestrator', Item: { pk: { S: 'DATA#snapshot' }, sk: { S: 'fmt-broken' }, json: { S: '{"n": 1' }, updatedAtMs: { N: String(T0) } } }));
    expect((await store.get('snapshot', 'fmt-broken'))?.data).toBe('{"n": 1');
    expect((await store.list('snapshot', { prefix: 'fmt-' })).map((i) => [i.id, typeof i.data])).toEqual([
      ['fmt-broken', 'string'],
      ['fmt-json-1', 'object'],
      ['fmt-json-2', 'object'],
      ['fmt-old', 'object'],
    ]);
  });
});
