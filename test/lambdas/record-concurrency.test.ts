/**
 * Concurrent records of one worker: 20 on-demand generation runs end within seconds of each other
 * and record at once, each through the real Record step (recordStep) on the real adapter
 * (DynamoStateStore), on the orchestrator table as its construct declares it in the embedded
 * DynamoDB (test/support/table-fixture.ts). A success on a closed circuit writes by order,
 * not by version, so none of them loses its effects to the others (before, in a flood of 1,500
 * jobs, three records in four gave up after three lost version races).
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { recordStep } from '../../lambdas/protocol/steps.js';
import type { PipelineState } from '../../lambdas/shared/contracts.js';
import { STATE_CONTENDED_RECOMMENDATION } from '../../lib/domain/record.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const RUNS = 20;

let fixture: TableFixture;
beforeAll(async () => {
  fixture = await startTableFixture(() => T0);
});
afterAll(async () => {
  await fixture.close();
});

describe(`${RUNS} simultaneous records of one worker's on-demand runs`, () => {
  it('all apply their effects: every report stored with no contention, the state holds the last run and the newest freshness', async () => {
    const table = await fixture.newTable('record-race-');
    const store = new DynamoStateStore(fixture.doc, table);
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

    const reports = (await fixture.raw.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': { S: 'WORKER#generation_worker' }, ':r': { S: 'REPORT#' } } }))).Items ?? [];
    expect(reports).toHaveLength(RUNS);
    expect(reports.map((r) => unmarshall(r)['recommendations'] as string[]).filter((recs) => recs.includes(STATE_CONTENDED_RECOMMENDATION))).toEqual([]);

    const after = await store.readWorkerState('generation_worker');
    const last = T0 + (RUNS - 1) * 1000;
    expect(after).toMatchObject({ lastRunAtMs: last, lastExecutionId: `exec-${RUNS - 1}`, lastStatus: 'SUCCEEDED', freshAt: { generate: last } });
    // Every write that applied bumped the version; at least the last run's did.
    expect(after?.version).toBeGreaterThanOrEqual(1);
  });
});
