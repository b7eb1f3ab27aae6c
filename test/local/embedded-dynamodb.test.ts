import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toWireItem } from '../../local/ddb-images.js';
import type { EmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { startEmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { EmulatedDynamoStream, type DeliveryFailure } from '../../local/stream-delivery.js';
import type { StreamRecord } from '../../local/stream-types.js';
import { existsSync } from 'node:fs';

let db: EmbeddedDynamo;
let nowMs = Date.UTC(2030, 0, 1);

// The shape a CDK `dynamodb.Table` synthesizes to (PROVISIONED defaults, stream, TTL, a GSI).
const TABLE_PROPS = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'byStatus',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    },
  ],
  ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
  StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
  TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
};

let tableCounter = 0;
async function freshTable(props: Record<string, unknown> = TABLE_PROPS): Promise<string> {
  const name = `Table${++tableCounter}`;
  await db.createTableFromTemplate(props, name);
  return name;
}

const key = (pk: string, sk = 'a') => ({ pk: { S: pk }, sk: { S: sk } });

beforeAll(async () => {
  db = await startEmbeddedDynamo({ clock: () => nowMs });
});
afterAll(async () => {
  await db.close();
});
beforeEach(() => {
  db.stream.drain();
});

describe('emulated stream records', () => {
  it('INSERT carries NewImage only, with keys, table stream ARN, sequence and time', async () => {
    const t = await freshTable();
    nowMs = Date.UTC(2030, 0, 1, 0, 0, 7);
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p1'), n: { N: '1' }, bin: { B: new Uint8Array([1, 2, 3]) } } }));
    const [rec, ...rest] = db.stream.drain();
    expect(rest).toHaveLength(0);
    expect(rec).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local-1',
      eventSourceARN: `arn:aws:dynamodb:local-1:000000000000:table/${t}/stream/1970-01-01T00:00:00.000`,
      dynamodb: {
        Keys: key('p1'),
        NewImage: { ...key('p1'), n: { N: '1' }, bin: { B: 'AQID' } }, // binary in wire format (base64)
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        ApproximateCreationDateTime: Date.UTC(2030, 0, 1, 0, 0, 7) / 1000,
      },
    });
    expect(rec?.dynamodb.OldImage).toBeUndefined();
    expect(rec?.dynamodb.SequenceNumber).toMatch(/^\d{21,}$/);
  });

  it('UpdateItem → MODIFY with both images; DeleteItem → REMOVE with OldImage only', async () => {
    const t = await freshTable();
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p1'), n: { N: '1' } } }));
    await db.client.send(
      new UpdateItemCommand({ TableName: t, Key: key('p1'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } }),
    );
    await db.client.send(new DeleteItemCommand({ TableName: t, Key: key('p1') }));
    const [ins, mod, rem] = db.stream.drain();
    expect(mod).toMatchObject({ eventName: 'MODIFY', dynamodb: { OldImage: { n: { N: '1' } }, NewImage: { n: { N: '2' } } } });
    expect(rem).toMatchObject({ eventName: 'REMOVE', dynamodb: { Keys: key('p1'), OldImage: { ...key('p1'), n: { N: '2' } } } });
    expect(rem?.dynamodb.NewImage).toBeUndefined();
    expect(rem?.userIdentity).toBeUndefined();
    const seqs = [ins, mod, rem].map((r) => BigInt(r?.dynamodb.SequenceNumber ?? '0'));
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    expect(new Set(seqs).size).toBe(3);
  });

  it('emits nothing for a failed conditional write, a no-op update, an identical put or deleting a missing item', async () => {
    const t = await freshTable();
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p1'), n: { N: '1' }, tags: { SS: ['a', 'b'] } } }));
    db.stream.drain();

    await expect(
      db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p1'), n: { N: '9' } }, ConditionExpression: 'attribute_not_exists(pk)' })),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await db.client.send(new UpdateItemCommand({ TableName: t, Key: key('p1'), UpdateExpression: 'SET n = :v', ExpressionAttributeValues: { ':v': { N: '1' } } }));
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p1'), tags: { SS: ['b', 'a'] }, n: { N: '1' } } }));
    await db.client.send(new DeleteItemCommand({ TableName: t, Key: key('nope') }));
    expect(db.stream.drain()).toEqual([]);

    // Sanity: the item really is unchanged and a real change is still seen.
    const got = await db.rawClient.send(new GetItemCommand({ TableName: t, Key: key('p1') }));
    expect(got.Item?.['n']).toEqual({ N: '1' });
    await db.client.send(new UpdateItemCommand({ TableName: t, Key: key('p1'), UpdateExpression: 'SET n = :v', ExpressionAttributeValues: { ':v': { N: '3' } } }));
    expect(db.stream.drain().map((r) => r.eventName)).toEqual(['MODIFY']);
  });

  it('captures writes made through a DynamoDBDocumentClient and BatchWriteItem', async () => {
    const t = await freshTable();
    const doc = DynamoDBDocumentClient.from(db.client);
    await doc.send(new PutCommand({ TableName: t, Item: { pk: 'd1', sk: 'a', list: [1, 'x'] } }));
    await doc.send(new UpdateCommand({ TableName: t, Key: { pk: 'd1', sk: 'a' }, UpdateExpression: 'SET flag = :t', ExpressionAttributeValues: { ':t': true } }));
    await db.client.send(
      new BatchWriteItemCommand({
        RequestItems: { [t]: [{ PutRequest: { Item: { ...key('b1'), v: { S: 'x' } } } }, { DeleteRequest: { Key: key('d1') } }] },
      }),
    );
    const recs = db.stream.drain();
    expect(recs.map((r) => [r.eventName, r.dynamodb.Keys['pk']?.S])).toEqual([
      ['INSERT', 'd1'],
      ['MODIFY', 'd1'],
      ['INSERT', 'b1'],
      ['REMOVE', 'd1'],
    ]);
    expect(recs[0]?.dynamodb.NewImage?.['list']).toEqual({ L: [{ N: '1' }, { S: 'x' }] });
    expect(recs[1]?.dynamodb.NewImage?.['flag']).toEqual({ BOOL: true });
  });

  it('does not stream a template table without StreamSpecification, and honours KEYS_ONLY', async () => {
    const { StreamSpecification: _omit, ...noStream } = TABLE_PROPS;
    const quiet = await freshTable(noStream);
    const keysOnly = await freshTable({ ...TABLE_PROPS, StreamSpecification: { StreamViewType: 'KEYS_ONLY' } });
    await db.client.send(new PutItemCommand({ TableName: quiet, Item: key('q') }));
    await db.client.send(new PutItemCommand({ TableName: keysOnly, Item: { ...key('k'), x: { S: 'secret' } } }));
    const recs = db.stream.drain();
    expect(recs).toHaveLength(1);
    expect(recs[0]?.dynamodb).toMatchObject({ Keys: key('k'), StreamViewType: 'KEYS_ONLY' });
    expect(recs[0]?.dynamodb.NewImage).toBeUndefined();
  });

  it('streams tables created directly (not from a template) by default', async () => {
    const name = `Direct${++tableCounter}`;
    await db.rawClient.send(
      new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
    );
    // A new table is CREATING at first, in dynalite as in DynamoDB: a write right away can find no table.
    await waitUntilTableExists({ client: db.rawClient, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: name });
    await db.client.send(new PutItemCommand({ TableName: name, Item: { id: { S: '1' } } }));
    expect(db.stream.drain(name).map((r) => r.dynamodb.Keys)).toEqual([{ id: { S: '1' } }]);
  });

  it('keeps records consistent under 50 concurrent writes to the same key', async () => {
    const t = await freshTable();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.client.send(
          new UpdateItemCommand({
            TableName: t,
            Key: key('hot'),
            UpdateExpression: 'ADD hits :one SET lastWriter = :w',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':w': { S: `w${i}` } },
          }),
        ),
      ),
    );
    const recs = db.stream.drain(t);
    expect(recs).toHaveLength(50);
    expect(recs[0]?.eventName).toBe('INSERT');
    for (let i = 1; i < recs.length; i++) {
      expect(recs[i]?.eventName).toBe('MODIFY');
      expect(recs[i]?.dynamodb.OldImage).toEqual(recs[i - 1]?.dynamodb.NewImage);
      expect(BigInt(recs[i]?.dynamodb.SequenceNumber ?? '0')).toBeGreaterThan(BigInt(recs[i - 1]?.dynamodb.SequenceNumber ?? '0'));
    }
    expect(recs.map((r) => Number(r.dynamodb.NewImage?.['hits']?.N))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('emits a table\'s records in the order its writes arrived, even across items (writes are serialized per table)', async () => {
    const t = await freshTable();
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('slow'), n: { N: '1' } } }));
    db.stream.drain();
    // The update needs more work (two reads) than the put (one read): arrival order must still win.
    await Promise.all([
      db.client.send(new UpdateItemCommand({ TableName: t, Key: key('slow'), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } })),
      db.client.send(new PutItemCommand({ TableName: t, Item: key('fast') })),
      db.client.send(new BatchWriteItemCommand({ RequestItems: { [t]: [{ PutRequest: { Item: key('batched') } }] } })),
    ]);
    expect(db.stream.drain(t).map((r) => r.dynamodb.Keys['pk']?.S)).toEqual(['slow', 'fast', 'batched']);
  });

  it('rejects transactions with a clear error (dynalite has none)', async () => {
    const t = await freshTable();
    await expect(db.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: t, Item: key('x') } }] }))).rejects.toThrow(/not supported by the embedded DynamoDB/);
  });
});

describe('image bookkeeping with fewer reads', () => {
  /** Counts the requests the emulation sends on the raw client while `fn` runs. */
  /** The emulation's own image reads while `fn` runs. */
  async function imageReads(fn: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = db.imageReads();
    await fn();
    const after = db.imageReads();
    const delta: Record<string, number> = {};
    for (const [op, n] of Object.entries(after)) if (n !== (before[op] ?? 0)) delta[op] = n - (before[op] ?? 0);
    return delta;
  }
  const stored = async (t: string, k: Record<string, AttributeValue>) => toWireItem((await db.rawClient.send(new GetItemCommand({ TableName: t, Key: k }))).Item);

  it('reads nothing for a put or delete, once per update and once per BatchWriteItem', async () => {
    const t = await freshTable();
    await db.client.send(new PutItemCommand({ TableName: t, Item: key('warm') })); // key schema cached
    expect(await imageReads(() => db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('p'), n: { N: '1' } } })))).toEqual({});
    expect(
      await imageReads(() => db.client.send(new UpdateItemCommand({ TableName: t, Key: key('p'), UpdateExpression: 'SET n = :v', ExpressionAttributeValues: { ':v': { N: '2' } } }))),
    ).toEqual({ GetItem: 1 });
    expect(await imageReads(() => db.client.send(new DeleteItemCommand({ TableName: t, Key: key('p') })))).toEqual({});
    const requests = Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? { DeleteRequest: { Key: key(`b${i}`) } } : { PutRequest: { Item: { ...key(`b${i}`), i: { N: String(i) } } } }));
    expect(await imageReads(() => db.client.send(new BatchWriteItemCommand({ RequestItems: { [t]: requests } })))).toEqual({ BatchGetItem: 1 });
    const records = db.stream.drain(t);
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'INSERT', 'MODIFY', 'REMOVE', ...Array<string>(20).fill('INSERT')]);
    // The images came from the writes themselves: the update's new image and the delete's old one.
    expect(records[2]?.dynamodb.OldImage).toEqual({ ...key('p'), n: { N: '1' } });
    expect(records[2]?.dynamodb.NewImage).toEqual({ ...key('p'), n: { N: '2' } });
    expect(records[3]?.dynamodb.OldImage).toEqual({ ...key('p'), n: { N: '2' } });
  });

  it("leaves the caller's output as it asked: no Attributes unless it asked for them", async () => {
    const t = await freshTable();
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('r'), n: { N: '1' } } }));
    const put = await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('r'), n: { N: '2' } } }));
    expect(put.Attributes).toBeUndefined();
    const putOld = await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('r'), n: { N: '3' } }, ReturnValues: 'ALL_OLD' }));
    expect(putOld.Attributes).toEqual({ ...key('r'), n: { N: '2' } });
    const update = await db.client.send(new UpdateItemCommand({ TableName: t, Key: key('r'), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
    expect(update.Attributes).toBeUndefined();
    const updated = await db.client.send(
      new UpdateItemCommand({ TableName: t, Key: key('r'), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValues: 'UPDATED_NEW' }),
    );
    expect(updated.Attributes).toEqual({ n: { N: '5' } });
    const deleted = await db.client.send(new DeleteItemCommand({ TableName: t, Key: key('r') }));
    expect(deleted.Attributes).toBeUndefined();
    expect(db.stream.drain(t).map((r) => [r.eventName, r.dynamodb.NewImage?.['n']?.N ?? null, r.dynamodb.OldImage?.['n']?.N ?? null])).toEqual([
      ['INSERT', '1', null],
      ['MODIFY', '2', '1'],
      ['MODIFY', '3', '2'],
      ['MODIFY', '4', '3'],
      ['MODIFY', '5', '4'],
      ['REMOVE', null, '5'],
    ]);
  });

  it('gives a put the image dynalite stores, reading it back when dynalite rewrites its numbers', async () => {
    const t = await freshTable();
    const rich = {
      ...key('rich'),
      n: { N: '-12.5' },
      ns: { NS: ['3', '0.25'] },
      ss: { SS: ['b', 'a'] },
      bs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
      nested: { M: { l: { L: [{ N: '7' }, { NULL: true as const }, { BOOL: false }, { S: '' }, { B: new Uint8Array([]) }] } } },
    };
    await db.client.send(new PutItemCommand({ TableName: t, Item: rich }));
    const odd = { ...key('odd'), a: { N: '1.50' }, b: { N: '1e3' }, c: { N: '-0' }, ns: { NS: ['01', '2.0'] }, m: { M: { x: { N: '.5' } } } };
    await db.client.send(new PutItemCommand({ TableName: t, Item: odd }));
    await db.client.send(new BatchWriteItemCommand({ RequestItems: { [t]: [{ PutRequest: { Item: { ...key('odd2'), a: { N: '2.50' } } } }, { PutRequest: { Item: { ...key('even'), a: { N: '2.5' } } } }] } }));
    const images = Object.fromEntries(db.stream.drain(t).map((r) => [r.dynamodb.Keys['pk']?.S, r.dynamodb.NewImage]));
    for (const pk of ['rich', 'odd', 'odd2', 'even']) expect(images[pk], pk).toEqual(await stored(t, key(pk)));
    expect(images['odd']).toMatchObject({ a: { N: '1.5' }, b: { N: '1000' }, c: { N: '0' }, ns: { NS: ['1', '2'] }, m: { M: { x: { N: '0.5' } } } });
    // The same item spelled canonically changes nothing.
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('odd'), a: { N: '1.5' }, b: { N: '1000' }, c: { N: '0' }, ns: { NS: ['2', '1'] }, m: { M: { x: { N: '0.5' } } } } }));
    expect(db.stream.drain(t)).toEqual([]);
  });

  it('matches BatchGetItem images to keys by value (number keys in any spelling, several tables)', async () => {
    const numeric = {
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    };
    const n = await freshTable(numeric);
    const s = await freshTable();
    for (const id of ['1', '2', '3']) await db.client.send(new PutItemCommand({ TableName: n, Item: { id: { N: id }, v: { S: `old${id}` } } }));
    await db.client.send(new PutItemCommand({ TableName: s, Item: { ...key('x'), v: { S: 'old' } } }));
    db.stream.drain();
    await db.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [n]: [{ PutRequest: { Item: { id: { N: '1.0' }, v: { S: 'new1' } } } }, { DeleteRequest: { Key: { id: { N: '2e0' } } } }, { PutRequest: { Item: { id: { N: '4' }, v: { S: 'new4' } } } }],
          [s]: [{ PutRequest: { Item: { ...key('x'), v: { S: 'new' } } } }],
        },
      }),
    );
    const recs = db.stream.drain();
    expect(recs.map((r) => [r.eventName, r.dynamodb.Keys, r.dynamodb.OldImage?.['v']?.S, r.dynamodb.NewImage?.['v']?.S])).toEqual([
      ['MODIFY', { id: { N: '1' } }, 'old1', 'new1'],
      ['REMOVE', { id: { N: '2' } }, 'old2', undefined],
      ['INSERT', { id: { N: '4' } }, undefined, 'new4'],
      ['MODIFY', key('x'), 'old', 'new'],
    ]);
    // Distinct keys that a double cannot tell apart share a key id: their images are read one by one.
    const close = '1.0000000000000000000001';
    await db.client.send(new PutItemCommand({ TableName: n, Item: { id: { N: close }, v: { S: 'oldc' } } }));
    db.stream.drain();
    await db.client.send(
      new BatchWriteItemCommand({ RequestItems: { [n]: [{ PutRequest: { Item: { id: { N: close }, v: { S: 'newc' } } } }, { DeleteRequest: { Key: { id: { N: '1' } } } }] } }),
    );
    expect(db.stream.drain().map((r) => [r.eventName, r.dynamodb.Keys, r.dynamodb.OldImage?.['v']?.S, r.dynamodb.NewImage?.['v']?.S])).toEqual([
      ['MODIFY', { id: { N: close } }, 'oldc', 'newc'],
      ['REMOVE', { id: { N: '1' } }, 'new1', undefined],
    ]);
    // Same item, other spelling: the OldImage chain holds under concurrency.
    await Promise.all(
      ['3', '3.0', '30e-1', '3', '0.3e1'].map((id, i) => db.client.send(new PutItemCommand({ TableName: n, Item: { id: { N: id }, v: { S: `w${i}` } } }))),
    );
    const chain = db.stream.drain(n);
    expect(chain).toHaveLength(5);
    for (let i = 1; i < chain.length; i++) expect(chain[i]?.dynamodb.OldImage).toEqual(chain[i - 1]?.dynamodb.NewImage);
  });

  it('keeps each item\'s record chain and a strictly increasing sequence under mixed concurrent writes and batches', async () => {
    const t = await freshTable();
    const writes: Array<Promise<unknown>> = [];
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 6; k++) {
        writes.push(
          db.client.send(
            new UpdateItemCommand({ TableName: t, Key: key(`k${k}`), UpdateExpression: 'ADD hits :one', ExpressionAttributeValues: { ':one': { N: '1' } } }),
          ),
        );
      }
      writes.push(
        db.client.send(
          new BatchWriteItemCommand({
            RequestItems: { [t]: [0, 2, 4].map((k) => ({ PutRequest: { Item: { ...key(`k${k}`), hits: { N: String(100 * (round + 1)) } } } })) },
          }),
        ),
      );
    }
    await Promise.all(writes);
    const recs = db.stream.drain(t);
    const seqs = recs.map((r) => BigInt(r.dynamodb.SequenceNumber));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] ?? 0n);
    for (let k = 0; k < 6; k++) {
      const mine = recs.filter((r) => r.dynamodb.Keys['pk']?.S === `k${k}`);
      expect(mine).toHaveLength(k % 2 === 0 ? 10 : 5);
      expect(mine[0]?.eventName).toBe('INSERT');
      for (let i = 1; i < mine.length; i++) expect(mine[i]?.dynamodb.OldImage).toEqual(mine[i - 1]?.dynamodb.NewImage);
      expect(mine.at(-1)?.dynamodb.NewImage).toEqual(await stored(t, key(`k${k}`)));
    }
  });

  it('leaves the caller\'s ReturnValues and output untouched', async () => {
    const t = await freshTable();
    const doc = DynamoDBDocumentClient.from(db.client);
    const first = await doc.send(new PutCommand({ TableName: t, Item: { pk: 'r', sk: 'a', n: 1 } }));
    expect(first.Attributes).toBeUndefined();
    const second = await doc.send(new PutCommand({ TableName: t, Item: { pk: 'r', sk: 'a', n: 2 }, ReturnValues: 'ALL_OLD' }));
    expect(second.Attributes).toEqual({ pk: 'r', sk: 'a', n: 1 });
    const upd = await db.client.send(
      new UpdateItemCommand({ TableName: t, Key: key('r'), UpdateExpression: 'SET n = :v', ExpressionAttributeValues: { ':v': { N: '2' } }, ReturnValues: 'UPDATED_NEW' }),
    );
    expect(upd.Attributes).toEqual({ n: { N: '2' } }); // a no-op SET is still "updated"
    const del = await db.client.send(new DeleteItemCommand({ TableName: t, Key: key('r') }));
    expect(del.Attributes).toBeUndefined();
    expect(db.stream.drain(t).map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
  });
});

describe('TTL sweep', () => {
  it('deletes only expired Number TTLs and emits REMOVE records marked as TTL deletions', async () => {
    const t = await freshTable();
    const now = 2_000_000_000;
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('old'), expiresAt: { N: String(now - 10) } } }));
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('future'), expiresAt: { N: String(now + 10) } } }));
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('string'), expiresAt: { S: '1' } } }));
    await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key('ancient'), expiresAt: { N: String(now - 6 * 365 * 24 * 3600) } } }));
    await db.client.send(new PutItemCommand({ TableName: t, Item: key('none') }));
    db.stream.drain();

    expect(db.tableInfo(t)?.ttlAttributeName).toBe('expiresAt');
    expect(await db.expireTtl(t, 'expiresAt', now)).toBe(1);
    const [rec, ...rest] = db.stream.drain();
    expect(rest).toHaveLength(0);
    expect(rec).toMatchObject({ eventName: 'REMOVE', dynamodb: { Keys: key('old') }, userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } });
    const left = await db.rawClient.send(new GetItemCommand({ TableName: t, Key: key('future') }));
    expect(left.Item).toBeDefined();
    expect(await db.expireTtl(t, 'expiresAt', now)).toBe(0);
  });
});

describe('a table on disk', () => {
  it('keeps its items in LevelDB in a temporary directory, streams as in memory, and removes the directory on close', async () => {
    const disk = await startEmbeddedDynamo({ clock: () => nowMs, onDisk: true });
    const dir = disk.directory;
    try {
      expect(dir).toBeDefined();
      expect(existsSync(dir ?? '')).toBe(true);
      expect(db.directory).toBeUndefined();
      await disk.createTableFromTemplate(TABLE_PROPS, 'OnDisk');
      await disk.client.send(new PutItemCommand({ TableName: 'OnDisk', Item: { ...key('p', 'a'), status: { S: 'NEW' }, n: { N: '1' } } }));
      await disk.client.send(new UpdateItemCommand({ TableName: 'OnDisk', Key: key('p', 'a'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
      await disk.client.send(new PutItemCommand({ TableName: 'OnDisk', Item: { ...key('p', 'b'), status: { S: 'NEW' } } }));
      const q = await disk.rawClient.send(new QueryCommand({ TableName: 'OnDisk', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } } }));
      expect(q.Items?.map((i) => `${i['sk']?.S}:${i['n']?.N ?? '-'}`)).toEqual(['a:2', 'b:-']);
      const byStatus = await disk.rawClient.send(new QueryCommand({ TableName: 'OnDisk', IndexName: 'byStatus', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'NEW' } } }));
      expect(byStatus.Count).toBe(2);
      const records = disk.stream.drain('OnDisk');
      expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'INSERT']);
      expect(records[1]?.dynamodb.OldImage?.['n']).toEqual({ N: '1' });
    } finally {
      await disk.close();
    }
    expect(existsSync(dir ?? '')).toBe(false);
  });
});

describe('deliverTo: event-source-mapping semantics', () => {
  async function putMany(t: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await db.client.send(new PutItemCommand({ TableName: t, Item: { ...key(`k${i}`), i: { N: String(i) } } }));
  }
  const ids = (rs: readonly StreamRecord[]) => rs.map((r) => r.dynamodb.Keys['pk']?.S);

  it('delivers in order in batches of batchSize', async () => {
    const t = await freshTable();
    const batches: Array<Array<string | undefined>> = [];
    const consumer = db.stream.deliverTo(async (e) => void batches.push(ids(e.Records)), { tableName: t, batchSize: 2, auto: false });
    await putMany(t, 5);
    expect(consumer.pending()).toBe(5);
    await consumer.flush();
    expect(batches).toEqual([['k0', 'k1'], ['k2', 'k3'], ['k4']]);
    expect(consumer.stats).toEqual({ invocations: 3, checkpointed: 5, failedRecords: 0 });
    consumer.stop();
  });

  it('retries from the first failed sequence number (partial batch response)', async () => {
    const t = await freshTable();
    const batches: Array<Array<string | undefined>> = [];
    let failK2 = 1; // k2 fails once, then succeeds
    const consumer = db.stream.deliverTo(
      async (e) => {
        batches.push(ids(e.Records));
        const bad = e.Records.filter((r) => r.dynamodb.Keys['pk']?.S === 'k2' && failK2-- > 0);
        // Report k2 and also k3 (a later record): the checkpoint is the lowest failed one.
        const k3 = e.Records.find((r) => r.dynamodb.Keys['pk']?.S === 'k3');
        const failures = bad.length > 0 && k3 ? [k3, ...bad] : bad;
        return { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.dynamodb.SequenceNumber })) };
      },
      { tableName: t, batchSize: 4, auto: false },
    );
    await putMany(t, 6);
    await consumer.flush();
    expect(batches).toEqual([
      ['k0', 'k1', 'k2', 'k3'],
      ['k2', 'k3', 'k4', 'k5'], // k0,k1 checkpointed; retry starts at k2 and takes newer records
    ]);
    expect(consumer.stats).toMatchObject({ invocations: 2, checkpointed: 6, failedRecords: 0 });
    consumer.stop();
  });

  it('gives up after maxRetries and hands the failed records to onFailure, then moves on', async () => {
    const t = await freshTable();
    const batches: Array<Array<string | undefined>> = [];
    const failures: DeliveryFailure[] = [];
    const consumer = db.stream.deliverTo(
      async (e) => {
        batches.push(ids(e.Records));
        const poison = e.Records.find((r) => r.dynamodb.Keys['pk']?.S === 'k1');
        return { batchItemFailures: poison ? [{ itemIdentifier: poison.dynamodb.SequenceNumber }] : [] };
      },
      { tableName: t, batchSize: 2, maxRetries: 2, onFailure: (f) => void failures.push(f), auto: false },
    );
    await putMany(t, 4);
    await consumer.flush();
    expect(batches).toEqual([
      ['k0', 'k1'],
      ['k1', 'k2'], // retry 1
      ['k1', 'k2'], // retry 2 → exhausted; k1..k2 go to onFailure
      ['k3'],
    ]);
    expect(failures).toHaveLength(1);
    expect(ids(failures[0]?.records ?? [])).toEqual(['k1', 'k2']);
    expect(failures[0]?.attempts).toBe(3);
    expect(consumer.stats).toMatchObject({ checkpointed: 4, failedRecords: 2 });
    consumer.stop();
  });

  it('treats a thrown error or an unknown itemIdentifier as a whole-batch failure', async () => {
    const t = await freshTable();
    const batches: Array<Array<string | undefined>> = [];
    let call = 0;
    const consumer = db.stream.deliverTo(
      async (e) => {
        batches.push(ids(e.Records));
        call++;
        if (call === 1) throw new Error('boom');
        if (call === 2) return { batchItemFailures: [{ itemIdentifier: '' }] };
        return undefined;
      },
      { tableName: t, batchSize: 3, auto: false },
    );
    await putMany(t, 3);
    await consumer.flush();
    expect(batches).toEqual([
      ['k0', 'k1', 'k2'],
      ['k0', 'k1', 'k2'],
      ['k0', 'k1', 'k2'],
    ]);
    consumer.stop();
  });

  it('applies Lambda filter patterns and delivers automatically', async () => {
    const t = await freshTable();
    const seen: string[] = [];
    const consumer = db.stream.deliverTo(
      async (e) => {
        for (const r of e.Records) seen.push(`${r.eventName}:${r.dynamodb.NewImage?.['status']?.S ?? '-'}`);
      },
      {
        tableName: t,
        filters: [
          { eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: [{ prefix: 'due' }] } } } },
          JSON.stringify({ eventName: ['MODIFY'], dynamodb: { NewImage: { status: { S: ['done'] } } } }),
        ],
      },
    );
    const put = (pk: string, status: string) => db.client.send(new PutItemCommand({ TableName: t, Item: { ...key(pk), status: { S: status } } }));
    await put('a', 'due-now'); // INSERT due* → yes
    await put('b', 'idle'); // INSERT idle → no
    await put('a', 'done'); // MODIFY done → yes
    await put('b', 'due-later'); // MODIFY due* → no (MODIFY only matches done)
    await db.client.send(new DeleteItemCommand({ TableName: t, Key: key('a') })); // REMOVE → no
    await consumer.flush();
    expect(seen).toEqual(['INSERT:due-now', 'MODIFY:done']);
    consumer.stop();
  });

  it('accepts a handler typed with the aws-lambda DynamoDB stream types', async () => {
    const t = await freshTable();
    const received: DynamoDBStreamEvent[] = [];
    const lambdaHandler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
      received.push(event);
      return { batchItemFailures: [] };
    };
    const consumer = db.stream.deliverTo(lambdaHandler, { tableName: t });
    await db.client.send(new PutItemCommand({ TableName: t, Item: key('typed') }));
    await consumer.flush();
    expect(received[0]?.Records[0]?.eventName).toBe('INSERT');
    consumer.stop();
  });

  it('refuses unsupported filter patterns instead of matching everything', () => {
    expect(() => db.stream.deliverTo(async () => undefined, { filters: [{ dynamodb: { NewImage: { n: { N: [{ numeric: ['>', 1] }] } } } }] })).toThrow(/only the "S" attribute type/);
    expect(() => db.stream.deliverTo(async () => undefined, { filters: [{ eventSource: ['aws:dynamodb'] }] })).toThrow(/Unsupported filter pattern/);
  });
});

describe('stream retention', () => {
  const rec = (seconds: number, n: number): StreamRecord => ({
    eventID: `e${n}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
    dynamodb: { ApproximateCreationDateTime: seconds, Keys: { pk: { S: `k${n}` } }, NewImage: { pk: { S: `k${n}` } }, SequenceNumber: String(100 + n), SizeBytes: 10, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });

  it('keeps 24 hours of records, as DynamoDB Streams does, so a long run does not hold every image', () => {
    const stream = new EmulatedDynamoStream();
    const hour = 3600;
    for (let h = 0; h <= 30; h++) stream.emit(rec(h * hour, h));
    const kept = stream.records().map((r) => r.dynamodb.ApproximateCreationDateTime / hour);
    // Trimmed in batches: nothing older than 24 h plus the one-hour slack survives, and nothing within 24 h is lost.
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(30 - 24 - 1);
    expect(kept.filter((h) => h >= 30 - 24)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(stream.drain().length).toBe(kept.length);
    // A subscriber still saw every record as it was emitted.
    const seen: number[] = [];
    stream.subscribe((r) => seen.push(r.dynamodb.ApproximateCreationDateTime / hour));
    stream.emit(rec(31 * hour, 31));
    expect(seen).toEqual([31]);
  });
});
