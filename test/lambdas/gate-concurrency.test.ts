/**
 * Protection in depth for the slot and the lock: 50 rounds of 10 simultaneous deliveries of one
 * slot, each through the real gate step (gateStep) on the real adapter (DynamoStateStore) against
 * the embedded DynamoDB. Exactly one delivery per round may RUN. The negative control runs the same
 * harness with the conditions dropped (test/support/without-conditions.ts) and sees more than one
 * winner, so the harness can tell.
 */
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient, DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { gateStep } from '../../lambdas/protocol/steps.js';
import type { GateResult } from '../../lambdas/shared/contracts.js';
import { workerById } from '../../lib/registry/index.js';
import { dropConditions } from '../support/without-conditions.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const ROUNDS = 50;
const DELIVERIES = 10;
/** Longer than youtube's lock lease: each round's slot finds the previous round's lock lapsed. */
const ROUND_MS = (workerById('youtube_worker').lockLeaseSeconds + 60) * 1000;

let server: Server;
let raw: DynamoDBClient;
let tables = 0;
let store: DynamoStateStore;
let now = T0;

// Plain dynalite (no stream emulation: the gate writes nothing the stream carries), a table per test.
beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  raw.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(async () => {
  const tableName = `gate-race-${++tables}`;
  await raw.send(
    new CreateTableCommand({
      TableName: tableName,
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
  await waitUntilTableExists({ client: raw, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
  store = new DynamoStateStore(documentClient(raw), tableName);
  now = T0;
});

/** Runs the rounds; per round, the decisions of the simultaneous deliveries. */
async function race(): Promise<GateResult[][]> {
  const rounds: GateResult[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    now = T0 + round * ROUND_MS;
    const scheduledTime = new Date(now).toISOString();
    const deps = { store, clock: () => now, reportRetentionDays: 30 };
    rounds.push(
      await Promise.all(
        Array.from({ length: DELIVERIES }, (_, i) =>
          gateStep(deps, { executionId: `exec-${round}-${i}`, startedAtMs: now }, { worker: 'youtube_worker', job: 'trending', scheduledTime, trigger: 'schedule' }),
        ),
      ),
    );
  }
  return rounds;
}

const winners = (round: readonly GateResult[]): number => round.filter((g) => g.decision === 'RUN').length;

describe(`${ROUNDS} rounds x ${DELIVERIES} simultaneous deliveries of one slot`, () => {
  it('give exactly one RUN per round; the others are duplicates of the claimed slot', async () => {
    const rounds = await race();
    expect(rounds.map(winners)).toEqual(Array.from({ length: ROUNDS }, () => 1));
    expect(rounds.flat().filter((g) => g.decision !== 'RUN').every((g) => g.decision === 'DUPLICATE')).toBe(true);
    // Each winner holds the next fence: one acquire per round.
    expect(rounds.map((r) => r.find((g) => g.decision === 'RUN')).map((g) => (g?.decision === 'RUN' ? g.fence : 0))).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
  });

  it('negative control: without the conditions the same harness has more than one winner', async () => {
    dropConditions(store);
    const rounds = await race();
    expect(Math.max(...rounds.map(winners))).toBeGreaterThan(1);
  });
});
