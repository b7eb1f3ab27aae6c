/**
 * The stream emulation works only for items someone listens to: a write to an item whose key no
 * listener's or consumer's filter accepts is "quiet" (no image read, no record), when no records
 * are kept (the local runtime's setting). Listeners with filters, the key predicate behind it, and
 * what stays as before: filtered consumers get exactly what they got, and an unfiltered listener
 * sees everything again.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPORT_INSERT_PATTERN } from '../../lib/constructs/anomaly-detector.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { compileKeyFilter } from '../../local/stream-filter.js';
import type { StreamRecord } from '../../local/stream-types.js';

describe('compileKeyFilter: could a record of this key pass the filters?', () => {
  const sk = (value: string) => ({ pk: { S: 'W#x' }, sk: { S: value } });
  it.each([
    ['no filters', undefined, 'DATA#1', true],
    ['the anomaly mapping, a report', [REPORT_INSERT_PATTERN], 'REPORT#2026', true],
    ['the anomaly mapping, a health finding', [REPORT_INSERT_PATTERN], 'HEALTH#1', true],
    ['the anomaly mapping, a data item', [REPORT_INSERT_PATTERN], 'DATA#1', false],
    ['eventName only (says nothing about keys)', [{ eventName: ['INSERT'] }], 'DATA#1', true],
    ['NewImage only (not a key constraint)', [{ dynamodb: { NewImage: { sk: { S: ['REPORT#1'] } } } }], 'DATA#1', true],
    ['exact key', [{ dynamodb: { Keys: { sk: { S: ['STATE'] } } } }], 'STATE', true],
    ['anything-but', [{ dynamodb: { Keys: { sk: { S: [{ 'anything-but': 'STATE' }] } } } }], 'STATE', false],
    ['any of two patterns', [{ dynamodb: { Keys: { sk: { S: ['STATE'] } } } }, { eventName: ['REMOVE'] }], 'DATA#1', true],
    ['every key field', [{ dynamodb: { Keys: { pk: { S: [{ prefix: 'Z' }] }, sk: { S: [{ prefix: 'DATA#' }] } } } }], 'DATA#1', false],
    ['a pattern as JSON text', [JSON.stringify(REPORT_INSERT_PATTERN)], 'DATA#1', false],
  ] as const)('%s: %s → %s', (_name, filters, value, expected) => {
    expect(compileKeyFilter(filters)(sk(value))).toBe(expected);
  });
});

describe('quiet writes in the embedded DynamoDB', () => {
  let db: EmbeddedDynamo;
  const TABLE = 'Quiet';
  const item = (sk: string, n: number) => ({ pk: { S: 'W#x' }, sk: { S: sk }, n: { N: String(n) } });
  const keyOf = (sk: string) => ({ pk: { S: 'W#x' }, sk: { S: sk } });
  const bump = (sk: string) => new UpdateItemCommand({ TableName: TABLE, Key: keyOf(sk), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': { N: '1' } } });
  const sks = (records: readonly StreamRecord[]) => records.map((r) => `${r.eventName} ${r.dynamodb.Keys['sk']?.S}`);

  beforeEach(async () => {
    db = await startEmbeddedDynamo({ streamRetentionSeconds: 0 });
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
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      },
      TABLE,
    );
  });
  afterEach(async () => {
    await db.close();
  });

  it('reads no image and emits no record for items no filter accepts, and the rest as before', async () => {
    // Prepare: the anomaly mapping as a consumer and a filtered listener, as the local runtime has them.
    const delivered: StreamRecord[] = [];
    const consumer = db.stream.deliverTo(async (e) => void delivered.push(...e.Records), { tableName: TABLE, filters: [REPORT_INSERT_PATTERN], auto: false });
    const heard: StreamRecord[] = [];
    db.stream.subscribe((r) => heard.push(r), { tableName: TABLE, filters: [{ dynamodb: { Keys: { sk: { S: [{ prefix: 'REPORT#' }] } } } }] });

    // Act: data items put, updated and deleted; a report put and updated.
    const put = await db.client.send(new PutItemCommand({ TableName: TABLE, Item: item('DATA#1', 1) }));
    await db.client.send(bump('DATA#1'));
    await db.client.send(new DeleteItemCommand({ TableName: TABLE, Key: keyOf('DATA#1') }));
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: item('REPORT#1', 1) }));
    await db.client.send(bump('REPORT#1'));
    await consumer.flush();

    // Assess: the one update read its old image is the report's; the data item cost nothing.
    expect(db.imageReads()).toEqual({ GetItem: 1 });
    expect(put.Attributes).toBeUndefined();
    expect(sks(delivered)).toEqual(['INSERT REPORT#1']);
    expect(sks(heard)).toEqual(['INSERT REPORT#1', 'MODIFY REPORT#1']);
    expect(heard[1]?.dynamodb.OldImage?.['n']).toEqual({ N: '1' });
    expect(heard[1]?.dynamodb.NewImage?.['n']).toEqual({ N: '2' });
  });

  it('streams every item again once an unfiltered listener joins, with true old images', async () => {
    db.stream.deliverTo(async () => undefined, { tableName: TABLE, filters: [REPORT_INSERT_PATTERN], auto: false });
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: item('DATA#1', 1) })); // quiet

    const heard: StreamRecord[] = [];
    const unsubscribe = db.stream.subscribe((r) => heard.push(r));
    await db.client.send(bump('DATA#1'));
    unsubscribe();
    await db.client.send(bump('DATA#1')); // quiet again

    expect(sks(heard)).toEqual(['MODIFY DATA#1']);
    expect(heard[0]?.dynamodb.OldImage?.['n']).toEqual({ N: '1' });
    expect(heard[0]?.dynamodb.NewImage?.['n']).toEqual({ N: '2' });
    expect(db.imageReads()).toEqual({ GetItem: 1 });
  });

  it('streams every item while records are kept (records(), drain(), TRIM_HORIZON need them)', async () => {
    const keeping = await startEmbeddedDynamo();
    try {
      await keeping.createTableFromTemplate({ AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], StreamSpecification: { StreamViewType: 'NEW_IMAGE' } }, 'Kept');
      keeping.stream.deliverTo(async () => undefined, { filters: [REPORT_INSERT_PATTERN], auto: false });
      await keeping.client.send(new PutItemCommand({ TableName: 'Kept', Item: { pk: { S: 'DATA#1' } } }));
      expect(keeping.stream.records().map((r) => r.dynamodb.Keys['pk']?.S)).toEqual(['DATA#1']);
    } finally {
      await keeping.close();
    }
  });
});
