/**
 * The API over the local runtime: the real DynamoDB adapter on the synthesized table, manual runs
 * started in the template's own state machines (aws-local-stepfunctions), the real protocol Lambda.
 * A manual trigger runs and its report shows up; a config change is in effect at the next gate.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/api/app.js';
import { DynamoStatusStore } from '../../lambdas/api/dynamo-status-store.js';
import type { PipelineStarter } from '../../lambdas/api/ports.js';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from '../../local/runtime.js';
import type { LocalExecution } from '../../local/step-functions-runner.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';
import { apiEvent, RecordingLogger } from './fakes.js';

/** A non-retryable worker failure, by name (the state machine's Catch). */
class UpstreamRejectedError extends Error {
  override readonly name = 'UpstreamRejectedError';
}

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const WORKER = 'coach_cleanup_worker';
let template: CfnTemplate;
let rt: LocalRuntime;
let clock: SimulatedClock;
let fail = false;
let executions: LocalExecution[];
let handle: ReturnType<typeof makeHandler>;

beforeAll(() => {
  template = synthesizeTemplate();
});

beforeEach(async () => {
  await rt?.close();
  clock = new SimulatedClock(T0);
  fail = false;
  executions = [];
  const cleanup: LambdaHandler = async (event) => {
    if (fail) throw new UpstreamRejectedError('HTTP 401');
    return workerResult(event, { sessions_cleaned: 2 });
  };
  rt = await startLocalRuntime({ clock, template, workerHandlers: { [WORKER]: cleanup } });
  const pipelines: PipelineStarter = {
    pipelineKeys: [`${WORKER}.cleanup`],
    start: async ({ name, input }) => {
      const execution = rt.start(WORKER, 'cleanup', { ...input }, name);
      executions.push(execution);
      return { executionArn: execution.executionArn, alreadyExisted: false };
    },
  };
  handle = makeHandler({ store: new DynamoStatusStore(documentClient(rt.dynamo.client), rt.tableName), pipelines, clock: () => clock.now(), logger: new RecordingLogger() });
});

afterAll(async () => {
  await rt?.close();
});

const request = async (method: string, path: string, options: Parameters<typeof apiEvent>[2] = {}) => {
  const response = await handle(apiEvent(method, path, options));
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
};
const scheduled = (time: string) => ({ scheduledTime: time, trigger: 'schedule' });

describe('manual trigger, end to end', () => {
  it('a double click runs the pipeline once; the manual run\'s report and score appear in the API', async () => {
    const click = () => request('POST', `/workers/${WORKER}/trigger`, { headers: { 'idempotency-key': 'click-1' } });
    const [a, b] = await Promise.all([click(), click()]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(executions).toHaveLength(1);
    expect((await executions[0]?.result)?.status).toBe('SUCCEEDED');

    const reports = await request('GET', `/workers/${WORKER}/reports`);
    expect(reports.body['items']).toEqual([expect.objectContaining({ status: 'SUCCEEDED', jobId: 'cleanup', executionId: expect.stringContaining(String(a.body['executionName'])) })]);
    const workers = await request('GET', '/workers');
    const worker = (workers.body['workers'] as Record<string, unknown>[]).find((w) => w['id'] === WORKER);
    expect(worker).toMatchObject({ lastStatus: 'SUCCEEDED', score: expect.any(Number), jobs: [{ id: 'cleanup', lock: { held: false }, triggerable: true }] });
  });
});

describe('config, end to end', () => {
  it('disabled: the next scheduled run is SKIPPED with DISABLED; enabled again: it runs', async () => {
    expect((await request('PUT', `/workers/${WORKER}/config`, { body: { enabled: false } })).status).toBe(200);
    expect((await rt.start(WORKER, 'cleanup', scheduled('2026-03-02T04:00:00Z')).result).status).toBe('SUCCEEDED');
    const [skipped] = (await request('GET', `/workers/${WORKER}/reports`)).body['items'] as Record<string, unknown>[];
    expect(skipped).toMatchObject({ status: 'SKIPPED', skipReason: 'DISABLED' });

    await request('PUT', `/workers/${WORKER}/config`, { body: { enabled: true } });
    clock.set(Date.parse('2026-03-02T05:00:00Z'));
    await rt.start(WORKER, 'cleanup', scheduled('2026-03-02T05:00:00Z')).result;
    const [ran] = (await request('GET', `/workers/${WORKER}/reports`)).body['items'] as Record<string, unknown>[];
    expect(ran).toMatchObject({ status: 'SUCCEEDED', scheduledTime: '2026-03-02T05:00:00.000Z' });
  });

  it('circuitFailureThreshold 1: one failed run opens the circuit (the registry needs 3)', async () => {
    await request('PUT', `/workers/${WORKER}/config`, { body: { thresholds: { circuitFailureThreshold: 1 } } });
    fail = true;
    await rt.start(WORKER, 'cleanup', scheduled('2026-03-02T04:00:00Z')).result;
    const worker = ((await request('GET', '/workers')).body['workers'] as Record<string, unknown>[]).find((w) => w['id'] === WORKER);
    expect(worker).toMatchObject({ lastStatus: 'FAILED', circuit: { state: 'OPEN', settings: { failuresToOpen: 1 } } });
  });
});
