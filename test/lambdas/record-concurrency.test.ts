/**
 * Concurrent records of one worker: 20 on-demand generation runs end within seconds of each other
 * and record at once, each through the real Record step (recordStep) on the real adapter
 * (DynamoStateStore) against the embedded DynamoDB. A success on a closed circuit writes by order,
 * not by version, so none of them loses its effects to the others (before, in a flood of 1,500
 * jobs, three records in four gave up after three lost version races).
 */
import { CreateTableCommand, DynamoDBClient, QueryCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { recordStep } from '../../lambdas/protocol/steps.js';
import type { PipelineState } from '../../lambdas/shared/contracts.js';
import { STATE_CONTENDED_RECOMMENDATION } from '../../lib/domain/record.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const RUNS = 20;
const TABLE = 'record-race';

let server: Server;
let raw: DynamoDBClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
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
  // A new table is CREATING at first, in dynalite as in DynamoDB: wait until it is ACTIVE.
  await waitUntilTableExists({ client: raw, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: TABLE });
});

afterAll(async () => {
  raw.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe(`${RUNS} simultaneous records of one worker's on-demand runs`, () => {
  it('all apply their effects: every report stored with no contention, the state holds the last run and the newest freshness', async () => {
    const store = new DynamoStateStore(documentClient(raw), TABLE);
    const state = (i: number): PipelineState => ({
      worker: 'generation_worker',
      job: 'generate',
      scheduledTime: new Date(T0).toISOString(),
      trigger: 'manual',
      runId: `req-${i}`,
      gate: { decision: 'RUN', fence: 0, owner: `exec-${i}`, probe: false, scheduledTime: new Date(T0).toISOString() },
      work: workerResult({}, { jobs_completed: 1 }),
    });
    // Run i ends at T0 + i s: they all read the same state, then write at once.
    const outcomes = await Promise.all(
      Array.from({ length: RUNS }, (_, i) => recordStep({ store, clock: () => T0 + i * 1000, reportRetentionDays: 30 }, { executionId: `exec-${i}`, startedAtMs: T0 }, state(i))),
    );
    expect(outcomes.every((o) => o.reportStored && o.result.status === 'SUCCEEDED')).toBe(true);

    const reports = (await raw.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': { S: 'WORKER#generation_worker' }, ':r': { S: 'REPORT#' } } }))).Items ?? [];
    expect(reports).toHaveLength(RUNS);
    expect(reports.map((r) => unmarshall(r)['recommendations'] as string[]).filter((recs) => recs.includes(STATE_CONTENDED_RECOMMENDATION))).toEqual([]);

    const after = await store.readWorkerState('generation_worker');
    const last = T0 + (RUNS - 1) * 1000;
    expect(after).toMatchObject({ lastRunAtMs: last, lastExecutionId: `exec-${RUNS - 1}`, lastStatus: 'SUCCEEDED', freshAt: { generate: last } });
    // Every write that applied bumped the version; at least the last run's did.
    expect(after?.version).toBeGreaterThanOrEqual(1);
  });
});
