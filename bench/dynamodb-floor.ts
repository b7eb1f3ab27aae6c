/**
 * What one DynamoDB request costs in the local runtime: the AWS SDK v3 client (serialize, sign,
 * middleware, deserialize) in front of dynalite in-process, with the stream emulation on, as the
 * handlers use it. A mix of GetItem, PutItem and UpdateItem on a 1 KB item; median of `rounds`.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startEmbeddedDynamo } from '../local/embedded-dynamodb.js';
import { median } from './stats.js';

export interface DynamoFloor {
  readonly requestsPerRound: number;
  readonly rounds: number;
  readonly medianMsPerRequest: number;
  readonly msPerRequestRuns: readonly number[];
}

export async function benchDynamoFloor(requestsPerRound = 1500, rounds = 5): Promise<DynamoFloor> {
  const db = await startEmbeddedDynamo({ streamRetentionSeconds: 0 });
  try {
    await db.createTableFromTemplate(
      {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      },
      'floor',
    );
    const payload = 'x'.repeat(1000);
    const key = (i: number) => ({ pk: { S: `WORKER#w${i % 20}` }, sk: { S: 'STATE' } });
    const runs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < requestsPerRound; i += 3) {
        await db.client.send(new PutItemCommand({ TableName: 'floor', Item: { ...key(i), payload: { S: payload }, n: { N: String(i) } } }));
        await db.client.send(new GetItemCommand({ TableName: 'floor', Key: key(i), ConsistentRead: true }));
        await db.client.send(new UpdateItemCommand({ TableName: 'floor', Key: key(i), UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': { N: '1' } } }));
      }
      runs.push((performance.now() - t0) / (Math.ceil(requestsPerRound / 3) * 3));
    }
    return { requestsPerRound: Math.ceil(requestsPerRound / 3) * 3, rounds, medianMsPerRequest: median(runs), msPerRequestRuns: runs };
  } finally {
    await db.close();
  }
}
