/**
 * POST /workers/{id}/jobs/{job}/backfill over the local runtime: the real API handler and DynamoDB
 * adapter on the synthesized table, the template's own backfill state machine running the job's
 * real pipeline (Gate and Record of the real protocol Lambda) for each missed slot. The worker
 * (coach_cleanup_worker, hourly at :00) records which slots it ran.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/api/app.js';
import { DynamoStatusStore } from '../../lambdas/api/dynamo-status-store.js';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { BACKFILL_MAX_SLOTS } from '../../lib/domain/backfill.js';
import { backfillArnOf, localBackfillStarter, localPipelineStarter, pipelinesOf } from '../../local/api-server.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from '../../local/runtime.js';
import type { LocalExecution } from '../../local/step-functions-runner.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';
import { apiEvent, RecordingLogger } from './fakes.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const HOUR_MS = 3600_000;
const WORKER = 'coach_cleanup_worker';
const JOB = 'cleanup';
const PATH = `/workers/${WORKER}/jobs/${JOB}/backfill`;
let template: CfnTemplate;
let rt: LocalRuntime;
let clock: SimulatedClock;
/** The slot of every worker invocation, in order. */
let ran: string[];
let started: LocalExecution[];
let handle: ReturnType<typeof makeHandler>;

beforeAll(() => {
  template = synthesizeTemplate();
});

beforeEach(async () => {
  await rt?.close();
  clock = new SimulatedClock(T0);
  ran = [];
  started = [];
  const cleanup: LambdaHandler = async (event) => {
    ran.push(String((event as { scheduledTime?: unknown }).scheduledTime));
    return workerResult(event, { sessions_cleaned: 1 });
  };
  rt = await startLocalRuntime({ clock, template, workerHandlers: { [WORKER]: cleanup } });
  const pipelines = pipelinesOf(template);
  const backfillArn = backfillArnOf(template);
  if (backfillArn === undefined) throw new Error('the template has no backfill state machine');
  handle = makeHandler({
    store: new DynamoStatusStore(documentClient(rt.dynamo.client), rt.tableName),
    pipelines: localPipelineStarter(rt, pipelines, started),
    backfills: localBackfillStarter(rt, backfillArn, pipelines, started),
    clock: () => clock.now(),
    logger: new RecordingLogger(),
  });
});

afterAll(async () => {
  await rt?.close();
});

const request = async (method: string, path: string, body?: unknown, query?: Record<string, string>) => {
  const response = await handle(apiEvent(method, path, { ...(body === undefined ? {} : { body }), ...(query ? { query } : {}) }));
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
};
const iso = (ms: number): string => new Date(ms).toISOString();
/** A scheduled delivery of one slot, as EventBridge Scheduler would start it. */
const deliver = async (slotMs: number): Promise<void> => {
  const execution = rt.start(WORKER, JOB, { worker: WORKER, job: JOB, scheduledTime: iso(slotMs), trigger: 'schedule' });
  await execution.result;
};
const settle = async (): Promise<void> => {
  for (const e of started) await e.result;
};
const reportsOf = async () => {
  const out = await request('GET', `/workers/${WORKER}/jobs/${JOB}/runs`, undefined, { limit: '10' });
  expect(out.status, JSON.stringify(out.body)).toBe(200);
  return out.body['items'] as { scheduledTime: string; status: string; reports: { status: string }[] }[];
};

describe('backfill', () => {
  it('runs the 3 missed slots of a range in order, each once; a repeated request runs nothing again', async () => {
    await deliver(T0 + HOUR_MS); // 05:00 ran on schedule
    clock.set(T0 + 4.5 * HOUR_MS); // 08:30: 06:00, 07:00 and 08:00 were missed
    const range = { from: iso(T0 + 0.5 * HOUR_MS), to: iso(T0 + 4.5 * HOUR_MS) };
    const first = await request('POST', PATH, range);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'STARTED', queued: [iso(T0 + 2 * HOUR_MS), iso(T0 + 3 * HOUR_MS), iso(T0 + 4 * HOUR_MS)], alreadyRan: [iso(T0 + HOUR_MS)] });
    const again = await request('POST', PATH, range); // while the first is still running
    await settle();
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'NOTHING_MISSED', queued: [] });
    expect(ran).toEqual([iso(T0 + HOUR_MS), iso(T0 + 2 * HOUR_MS), iso(T0 + 3 * HOUR_MS), iso(T0 + 4 * HOUR_MS)]);

    const third = await request('POST', PATH, range);
    await settle();
    expect(third.body).toMatchObject({ status: 'NOTHING_MISSED', queued: [] });
    expect(ran).toHaveLength(4);
    const runs = await reportsOf();
    for (const h of [2, 3, 4]) expect(runs.find((r) => r.scheduledTime === iso(T0 + h * HOUR_MS))).toMatchObject({ status: 'SUCCEEDED', reports: [{ status: 'SUCCEEDED' }] });
  });

  it('a late scheduled delivery of a backfilled slot does not run it again', async () => {
    clock.set(T0 + 1.5 * HOUR_MS); // 05:30: the 05:00 delivery is late
    const out = await request('POST', PATH, { from: iso(T0 + 0.5 * HOUR_MS), to: iso(T0 + 1.5 * HOUR_MS) });
    expect(out.body).toMatchObject({ queued: [iso(T0 + HOUR_MS)] });
    await settle();
    await deliver(T0 + HOUR_MS); // the late delivery: the backfill claimed the slot, so it is a duplicate
    expect(ran).toEqual([iso(T0 + HOUR_MS)]);
    const runs = await reportsOf();
    expect(runs.find((r) => r.scheduledTime === iso(T0 + HOUR_MS))?.reports).toHaveLength(1);
  });

  it('a slot whose scheduled delivery is under way is not backfilled', async () => {
    clock.set(T0 + 1.5 * HOUR_MS);
    // The scheduled run of 05:00 claimed its slot and has not reported yet.
    const delivery = rt.start(WORKER, JOB, { worker: WORKER, job: JOB, scheduledTime: iso(T0 + HOUR_MS), trigger: 'schedule' });
    await expect.poll(async () => ((await request('GET', '/workers')).body['workers'] as { id: string; jobs: { lastSlot: string | null }[] }[]).find((w) => w.id === WORKER)?.jobs[0]?.lastSlot).toBe(iso(T0 + HOUR_MS));
    const out = await request('POST', PATH, { from: iso(T0 + 0.5 * HOUR_MS), to: iso(T0 + 1.5 * HOUR_MS) });
    await delivery.result;
    await settle();
    expect(ran).toEqual([iso(T0 + HOUR_MS)]);
    expect(out.body['queued']).not.toContain(iso(T0 + HOUR_MS));
  });

  it('a paused orchestrator refuses a backfill and claims nothing; after resume it runs, and resume lists what the pause missed', async () => {
    await request('POST', '/orchestrator/pause', { reason: 'maintenance' });
    clock.set(T0 + 3.5 * HOUR_MS);
    await deliver(T0 + HOUR_MS); // skipped: paused
    const range = { from: iso(T0 + 0.5 * HOUR_MS), to: iso(T0 + 3.5 * HOUR_MS) };
    const refused = await request('POST', PATH, range);
    expect(refused.status).toBe(409);
    expect(refused.body['error']).toMatchObject({ code: 'ORCHESTRATOR_NOT_RUNNING' });
    expect(ran).toEqual([]);

    const resumed = await request('POST', '/orchestrator/resume');
    const missed = (resumed.body['missedWhilePaused'] as { worker: string; job: string; count: number; backfill: { path: string; body: { from: string; to: string } } }[]).find((m) => m.worker === WORKER);
    // From the pause to the resume (the simulated clock moves on by a few milliseconds per request).
    expect(missed).toMatchObject({ job: JOB, count: 3, backfill: { path: PATH, body: { from: expect.stringMatching(/^2026-03-02T04:00:00/), to: expect.stringMatching(/^2026-03-02T07:30:00/) } } });
    // The slot skipped while paused has a SKIPPED report only: it is missed, and the backfill runs it.
    const out = await request('POST', PATH, missed?.backfill.body);
    await settle();
    expect(out.body['queued']).toEqual([iso(T0 + HOUR_MS), iso(T0 + 2 * HOUR_MS), iso(T0 + 3 * HOUR_MS)]);
    expect(ran).toEqual([iso(T0 + HOUR_MS), iso(T0 + 2 * HOUR_MS), iso(T0 + 3 * HOUR_MS)]);
  });

  it("refuses while the job's circuit is open (409 CIRCUIT_OPEN) and runs nothing", async () => {
    clock.set(T0 + 2.5 * HOUR_MS);
    const open = { state: 'OPEN', consecutiveFailures: 3, changedAtMs: T0 + 2.5 * HOUR_MS - 60_000, probesAdmitted: 0, halfOpenSuccesses: 0 };
    await documentClient(rt.dynamo.client).send(new PutCommand({ TableName: rt.tableName, Item: { pk: `WORKER#${WORKER}`, sk: 'STATE', [`circuit_${JOB}`]: open } }));
    const out = await request('POST', PATH, { from: iso(T0 + 0.5 * HOUR_MS), to: iso(T0 + 2.5 * HOUR_MS) });
    expect(out.status).toBe(409);
    expect(out.body).toMatchObject({ error: { code: 'CIRCUIT_OPEN' } });
    expect(started).toHaveLength(0);
    expect(ran).toEqual([]);
  });

  it('refuses bad ranges, naming the field and the value', async () => {
    clock.set(T0 + 100 * 24 * HOUR_MS);
    const cases: [unknown, number, string, RegExp][] = [
      [{ from: iso(T0 + 2 * HOUR_MS), to: iso(T0 + HOUR_MS) }, 400, 'INVALID_RANGE', /from must be before to/],
      [{ from: iso(T0), to: iso(T0 + 40 * 24 * HOUR_MS) }, 400, 'INVALID_RANGE', /at most 31 days, got 40 days/],
      [{ from: 'yesterday', to: iso(T0) }, 400, 'INVALID_RANGE', /from must be an ISO-8601 date-time, got "yesterday"/],
      [{ from: iso(T0 + 200 * 24 * HOUR_MS), to: iso(T0 + 201 * 24 * HOUR_MS) }, 400, 'INVALID_RANGE', /from must be in the past/],
      [{ from: iso(T0), to: iso(T0 + 3 * 24 * HOUR_MS) }, 422, 'BACKFILL_TOO_LARGE', new RegExp(`holds 72 missed slots of ${WORKER}\\.${JOB}; one backfill runs at most ${BACKFILL_MAX_SLOTS}`)],
      [{ from: iso(T0) }, 400, 'INVALID_REQUEST', /body\.to/],
    ];
    for (const [body, status, code, message] of cases) {
      const out = await request('POST', PATH, body);
      expect(out.status, JSON.stringify(body)).toBe(status);
      expect(out.body['error']).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(started).toEqual([]);
    const unknownJob = await request('POST', `/workers/${WORKER}/jobs/nope/backfill`, { from: iso(T0), to: iso(T0 + HOUR_MS) });
    expect(unknownJob.status).toBe(404);
  });
});
