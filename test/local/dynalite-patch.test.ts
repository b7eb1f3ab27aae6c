/**
 * The dynalite patch (patches/dynalite+*.patch, applied by patch-package on `npm ci`):
 *   - dynalite ends its Query/Scan streams with `iterator.return()`, which abstract-level
 *     iterators do not have; the patch calls `close()`, so no iterator (and no snapshot of
 *     memory-level's tree it pins) outlives its request;
 *   - memory-level stores keys and values as strings instead of Buffers (each small Buffer held
 *     an 8 KB pool slab).
 * Observed on memory-level's own iterators: every one dynalite opens is closed again, and the
 * store that opened it encodes utf8. Without the patch both fail.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { MemoryLevel } from 'memory-level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../local/embedded-dynamodb.js';

interface Tracked {
  closed: boolean;
  utf8: boolean;
}
type IteratorFactory = (this: MemoryLevel, options: unknown) => { _close(): Promise<void> };

const opened: Tracked[] = [];
const originals = new Map<string, IteratorFactory>();
const proto = MemoryLevel.prototype as unknown as Record<string, IteratorFactory>;

let db: EmbeddedDynamo;
const TABLE = 'Patched';

beforeAll(async () => {
  for (const method of ['_iterator', '_keys', '_values']) {
    const original = proto[method];
    if (original === undefined) throw new Error(`memory-level has no ${method}`);
    originals.set(method, original);
    proto[method] = function (this: MemoryLevel, options: unknown) {
      const iterator = original.call(this, options);
      const tracked: Tracked = { closed: false, utf8: this.supports.encodings['utf8'] === true && this.supports.encodings['buffer'] !== true };
      opened.push(tracked);
      const close = iterator._close.bind(iterator);
      iterator._close = async () => {
        tracked.closed = true;
        await close();
      };
      return iterator;
    };
  }
  db = await startEmbeddedDynamo({ streamUndeclaredTables: false });
  await db.createTableFromTemplate(
    {
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    },
    TABLE,
  );
});

afterAll(async () => {
  await db.close();
  for (const [method, original] of originals) proto[method] = original;
});

describe('the dynalite patch', () => {
  it('closes every iterator a Query or Scan opens, on a store of strings', async () => {
    // Prepare: a few items, some overwritten (each version would stay pinned by an open iterator).
    for (let i = 0; i < 20; i++) {
      await db.rawClient.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'P' }, sk: { S: `S#${i % 5}` }, n: { N: String(i) } } }));
    }
    const before = opened.length;

    // Act: queries and scans to their end, with a Limit (ended early) and with a filter.
    for (let i = 0; i < 5; i++) {
      await db.rawClient.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'P' } } }));
      await db.rawClient.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'P' } }, Limit: 2 }));
      await db.rawClient.send(new ScanCommand({ TableName: TABLE }));
      await db.rawClient.send(new ScanCommand({ TableName: TABLE, Limit: 1 }));
      await db.rawClient.send(new UpdateItemCommand({ TableName: TABLE, Key: { pk: { S: 'P' }, sk: { S: 'S#0' } }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
    }
    // Closing is asynchronous (the stream's destroy): one more request lets it finish.
    await db.rawClient.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'P' }, sk: { S: 'S#0' } } }));
    await new Promise((resolve) => setImmediate(resolve));

    // Assess
    const ours = opened.slice(before);
    expect(ours.length).toBeGreaterThanOrEqual(20);
    expect(ours.filter((t) => !t.closed)).toHaveLength(0);
    expect(ours.every((t) => t.utf8)).toBe(true);
  });
});
