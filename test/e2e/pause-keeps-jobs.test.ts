/**
 * Item 4 of "nothing lost": a pause keeps on-demand jobs. The generation queue as the template
 * declares it (its visibility timeout, 3 receives before the dead-letter queue) in the local
 * runtime's SQS stand-in, driving the real consumer logic against embedded DynamoDB. The
 * orchestrator is paused for ten visibility timeouts while the event source mapping keeps polling;
 * no job reaches the dead-letter queue, and after the resume every job runs exactly once.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { ON_DEMAND_HOLD_SECONDS } from '../../lambdas/on-demand/consume.js';
import { ON_DEMAND_MAX_RECEIVE_COUNT } from '../../lib/constructs/on-demand-queue.js';
import { ORCH_PK, STATE_SK } from '../../lib/domain/worker-state.js';
import { LocalQueues } from '../../local/local-queues.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LocalRuntime } from '../../local/runtime.js';
import { queueVisibilityOf } from '../../local/symphony.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const WORKER = 'generation_worker';
const JOBS = 8;
let template: CfnTemplate;
let rt: LocalRuntime | undefined;

beforeAll(() => {
  template = synthesizeTemplate();
});

afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('a long pause', () => {
  it('holds every on-demand job through ten visibility timeouts; after the resume each runs exactly once, none dead-lettered', async () => {
    const clock = new SimulatedClock(T0);
    const ran: string[] = [];
    const handlers = {
      [WORKER]: async (event: unknown) => {
        ran.push(String((event as { executionId?: unknown }).executionId));
        return workerResult(event, { jobs_completed: 1 });
      },
    };
    const runtime = await startLocalRuntime({ clock, template, workerHandlers: handlers });
    rt = runtime;
    const visibilityMs = queueVisibilityOf(template).get(WORKER);
    if (visibilityMs === undefined) throw new Error(`no queue for ${WORKER} in the template`);
    const queues = new LocalQueues({ runtime, clock: () => clock.now(), workerHandlers: handlers, maxReceiveCount: ON_DEMAND_MAX_RECEIVE_COUNT, visibilityTimeoutMs: () => visibilityMs });
    const setMode = async (mode: 'PAUSED' | 'RUNNING') =>
      documentClient(runtime.dynamo.client).send(new PutCommand({ TableName: runtime.tableName, Item: { pk: ORCH_PK, sk: STATE_SK, mode, updatedAt: new Date(clock.now()).toISOString(), reason: 'maintenance' } }));

    await setMode('PAUSED');
    for (let i = 0; i < JOBS; i++) queues.send(WORKER, { requestId: `req-${i}`, job: 'generate', request: { prompt: `fox ${i}` }, enqueuedAt: new Date(T0).toISOString() });

    // Ten visibility timeouts of polling while paused, one poll per hold delay.
    const pauseEnd = T0 + 10 * visibilityMs;
    let polls = 0;
    while (clock.now() < pauseEnd) {
      await queues.poll(WORKER, 5, 2);
      polls++;
      clock.advance(ON_DEMAND_HOLD_SECONDS * 1000);
    }
    expect(polls).toBeGreaterThanOrEqual(10);
    expect(ran).toEqual([]);
    expect(queues.deadLetters(WORKER)).toEqual([]);
    expect(queues.messages(WORKER)).toHaveLength(JOBS);
    // Held many times over: each hold was a new message, never a receive counted towards the dead-letter queue.
    expect(queues.sentAgain).toBeGreaterThan(JOBS * ON_DEMAND_MAX_RECEIVE_COUNT);

    await setMode('RUNNING');
    for (let i = 0; i < 4 && queues.messages(WORKER).length > 0; i++) {
      clock.advance(ON_DEMAND_HOLD_SECONDS * 1000);
      await queues.poll(WORKER, 5, 2);
    }

    expect(queues.messages(WORKER)).toEqual([]);
    expect(queues.deadLetters(WORKER)).toEqual([]);
    expect(ran.sort()).toEqual(Array.from({ length: JOBS }, (_, i) => `on-demand:${WORKER}:req-${i}`).sort());
  });
});
