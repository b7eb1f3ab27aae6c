import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { startEmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import type { DeliveryFailure } from '../../local/stream-delivery.js';
import type { StreamRecord } from '../../local/stream-types.js';

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

  it('rejects transactions with a clear error (dynalite has none)', async () => {
    const t = await freshTable();
    await expect(db.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: t, Item: key('x') } }] }))).rejects.toThrow(/not supported by the embedded DynamoDB/);
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
