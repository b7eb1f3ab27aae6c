/**
 * Item 1 of "nothing lost", end to end: a DynamoDB failure injected into each write of the Record
 * step of a real pipeline (the synthesized state machine in the local runtime, the real protocol
 * Lambda and adapter against embedded DynamoDB). The failure is thrown at the client boundary, before
 * the SDK's own retries, exactly as a `ProvisionedThroughputExceededException` that outlived them.
 *
 * - once: the Record step's retry lands the run: one SUCCEEDED report, counted once, lock released;
 * - always: the execution ends in RecordFailed with no report (nothing looks finished); the health
 *   sweep then records the slot FAILED with the cause, releases the lock with its fence and raises
 *   UNRECORDED_RUN; the run is counted once in its window either way.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { DynamoHealthFindingStore, DynamoReportReader } from '../../lambdas/sweep/adapters.js';
import { RECORD_FAILURE, runSweep, type SweepDeps } from '../../lambdas/sweep/sweep.js';
import { RECORD_STEP_RETRY } from '../../lib/domain/retry-policy.js';
import { bucketKey } from '../../lib/domain/window-stats.js';
import { parseWorkerState, STATE_SK, windowSk, workerPk } from '../../lib/domain/worker-state.js';
import { workerById } from '../../lib/registry/index.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LocalRuntime } from '../../local/runtime.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const WORKER = 'coach_cleanup_worker';
const JOB = 'cleanup';
const SLOT = '2026-03-02T04:00:00.000Z';
const SLOT_SK = `REPORT#${SLOT}#${JOB}`;

/** The three writes of the Record step, told apart by what they write. */
const RECORD_WRITES = {
  counters: (input: string) => input.includes('WINDOW#'),
  state: (input: string) => input.includes('"STATE"') && input.includes('lastExecutionId'),
  report: (input: string) => input.includes('"Item"') && input.includes(SLOT_SK),
} as const;
type RecordWrite = keyof typeof RECORD_WRITES;

let template: CfnTemplate;
let rt: LocalRuntime;
let clock: SimulatedClock;
/** Failures left to inject per write (Infinity: always). */
let inject: Partial<Record<RecordWrite, number>> = {};
let injected: RecordWrite[] = [];

class ThroughputExceeded extends Error {
  override readonly name = 'ProvisionedThroughputExceededException';
}

beforeAll(() => {
  template = synthesizeTemplate();
});

beforeEach(async () => {
  clock = new SimulatedClock(T0);
  inject = {};
  injected = [];
  rt = await startLocalRuntime({ clock, template, workerHandlers: { [WORKER]: async (event: unknown) => workerResult(event, { sessions_cleaned: 1 }) } });
  rt.dynamo.client.middlewareStack.add(
    (next) => async (args) => {
      const input = JSON.stringify(args.input);
      for (const write of Object.keys(RECORD_WRITES) as RecordWrite[]) {
        const left = inject[write] ?? 0;
        if (left > 0 && RECORD_WRITES[write](input)) {
          inject[write] = left - 1;
          injected.push(write);
          throw new ThroughputExceeded(`injected into the Record step's ${write} write`);
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectRecordFailure' },
  );
});

afterEach(async () => {
  await rt.close();
});

const doc = () => documentClient(rt.dynamo.client);

async function reports(): Promise<Record<string, unknown>[]> {
  const out = await doc().send(new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': workerPk(WORKER), ':r': 'REPORT#' } }));
  return (out.Items ?? []) as Record<string, unknown>[];
}

async function rawItem(sk: string): Promise<Record<string, unknown> | undefined> {
  const out = await doc().send(new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': workerPk(WORKER), ':sk': sk } }));
  return out.Items?.[0] as Record<string, unknown> | undefined;
}

const runsCounted = async (): Promise<number> => Number((await rawItem(windowSk(bucketKey(clock.now()))))?.['runs'] ?? 0);

function sweepDeps(): SweepDeps {
  const pipeline = rt.pipelineOf(WORKER, JOB);
  return {
    store: rt.store,
    reports: new DynamoReportReader(doc(), rt.tableName),
    executions: {
      listRunning: async (arn) => rt.runner.listExecutions(arn).filter((e) => e.status === 'RUNNING').map((e) => ({ executionArn: e.executionArn, startMs: e.startDate.getTime() })),
      listEnded: async () => [],
      input: async (arn) => JSON.parse(rt.runner.describeExecution(arn).input) as unknown,
      stop: async () => undefined,
    },
    queues: { depth: async () => 0 },
    findings: new DynamoHealthFindingStore(doc(), rt.tableName),
    clock: () => clock.now(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    workers: [workerById(WORKER)],
    pipelineArns: { [`${WORKER}.${JOB}`]: pipeline },
    queueUrls: {},
    reportRetentionDays: 30,
  };
}

describe.each(Object.keys(RECORD_WRITES) as RecordWrite[])('a DynamoDB failure in the Record step\'s %s write', (write) => {
  it('once: the retried Record lands the run (one SUCCEEDED report, counted once, lock released)', async () => {
    inject[write] = 1;
    const exec = rt.start(WORKER, JOB, { scheduledTime: SLOT, trigger: 'schedule' });
    const outcome = await exec.result;

    expect(injected).toEqual([write]);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(await reports()).toEqual([expect.objectContaining({ sk: SLOT_SK, status: 'SUCCEEDED', executionId: exec.executionArn })]);
    expect(await runsCounted()).toBe(1);
    const state = parseWorkerState((await rawItem(STATE_SK)) ?? {});
    expect(state.locks[JOB]?.holder).toBeNull();
    expect(state.lastExecutionId).toBe(exec.executionArn);
  });

  it('always: RecordFailed leaves no report; the health sweep records the slot FAILED, releases the lock, raises UNRECORDED_RUN', async () => {
    inject[write] = Number.POSITIVE_INFINITY;
    const exec = rt.start(WORKER, JOB, { scheduledTime: SLOT, trigger: 'schedule' });
    const outcome = await exec.result;

    // Every attempt failed on the injected write: 1 + the bounded retries.
    expect(injected).toEqual(Array.from({ length: 1 + RECORD_STEP_RETRY.maxRetries }, () => write));
    expect(outcome.status).toBe('FAILED');
    expect(rt.runner.describeExecution(exec.executionArn)).toMatchObject({ error: 'RecordFailed' });
    expect(await reports()).toEqual([]);
    // The writes before the failed one landed, and nothing after it: the lock is released only once the state write has landed.
    expect(parseWorkerState((await rawItem(STATE_SK)) ?? {}).locks[JOB]?.holder ?? null).toBe(write === 'report' ? null : exec.executionArn);

    inject = {};
    clock.advance(5 * 60_000);
    const summary = await runSweep(sweepDeps());

    expect(summary.errors).toEqual([]);
    expect(summary.unrecorded).toEqual([expect.objectContaining({ executionArn: exec.executionArn, reportStored: true, heldLock: write !== 'report' })]);
    expect(await reports()).toEqual([expect.objectContaining({ sk: SLOT_SK, status: 'FAILED', executionId: exec.executionArn, error: { name: 'RecordFailed', cause: RECORD_FAILURE.Cause } })]);
    const state = parseWorkerState((await rawItem(STATE_SK)) ?? {});
    expect(state.locks[JOB]).toMatchObject({ holder: null, fence: 1 });
    expect(await rawItem(`HEALTH#UNRECORDED_RUN#${JOB}#${SLOT}`)).toMatchObject({ kind: 'UNRECORDED_RUN', anomaly: 'WORKER_CRASH', executionArn: exec.executionArn });
    expect(await runsCounted()).toBe(1);

    // A second sweep finds the slot reported: nothing new.
    const again = await runSweep(sweepDeps());
    expect(again.unrecorded).toEqual([]);
    expect(await reports()).toHaveLength(1);
  });
});
