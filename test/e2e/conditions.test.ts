/**
 * End to end, the adapter's conditions are what keep one slot to one run: ten executions of the
 * same slot of a real pipeline started at once (the synthesized state machine, the real protocol
 * Lambda and DynamoDB adapter, embedded DynamoDB) run the worker once and leave one report. The
 * negative control drops the conditions (test/support/without-conditions.ts) and the same test
 * sees the worker run more than once, so this test fails if the adapter stops sending them.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LocalRuntime } from '../../local/runtime.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';
import { dropConditions } from '../support/without-conditions.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const SLOT = '2026-03-02T04:00:00.000Z';
const DELIVERIES = 10;
let template: CfnTemplate;
let rt: LocalRuntime;
let runs: number;

beforeAll(() => {
  template = synthesizeTemplate();
});

beforeEach(async () => {
  runs = 0;
  rt = await startLocalRuntime({
    clock: new SimulatedClock(T0),
    template,
    workerHandlers: {
      coach_cleanup_worker: async (event: unknown) => {
        runs++;
        return workerResult(event, { sessions_cleaned: 1 });
      },
    },
  });
});

afterEach(async () => {
  await rt.close();
});

async function deliverSlotTimes(n: number): Promise<{ statuses: string[]; reports: number }> {
  const executions = Array.from({ length: n }, () => rt.start('coach_cleanup_worker', 'cleanup', { scheduledTime: SLOT, trigger: 'schedule' }));
  const outcomes = await Promise.all(executions.map((e) => e.result));
  const out = await documentClient(rt.dynamo.client).send(
    new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': 'WORKER#coach_cleanup_worker', ':r': 'REPORT#' } }),
  );
  return { statuses: outcomes.map((o) => o.status), reports: out.Items?.length ?? 0 };
}

describe(`${DELIVERIES} simultaneous executions of one slot`, () => {
  it('run the worker once and leave one report; the rest end as duplicates', async () => {
    const { statuses, reports } = await deliverSlotTimes(DELIVERIES);
    expect(runs).toBe(1);
    expect(reports).toBe(1);
    expect(statuses.every((s) => s === 'SUCCEEDED')).toBe(true);
  });

  it('negative control: with the adapter\'s conditions dropped, the worker runs more than once', async () => {
    dropConditions(rt.store);
    await deliverSlotTimes(DELIVERIES);
    expect(runs).toBeGreaterThan(1);
  });
});
