import { beforeEach, describe, expect, it } from 'vitest';
import { consumeBatch, ON_DEMAND_HOLD_SECONDS, type ConsumerDeps, type InvokeOutcome, type QueueMessage } from '../../lambdas/on-demand/consume.js';
import type { RunSample } from '../../lambdas/protocol/run-metrics.js';
import { PipelineInput, type WorkerInvocation } from '../../lambdas/shared/contracts.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { circuitAttr, lockOf, ORCH_PK, parseWorkerState, STATE_SK, workerPk, type RawItem } from '../../lib/domain/worker-state.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { workerResult } from '../support/worker-result.js';

const ENQUEUED = '2026-01-02T06:00:00.000Z';
const NOW = Date.parse('2026-01-02T06:00:05.000Z');
/** How long the fake worker "runs", on the injected clock. */
const WORK_MS = 3_000;
const MAX_RECEIVE_COUNT = 3;

interface PipelineStart {
  readonly jobId: string;
  readonly name: string;
  readonly input: Record<string, unknown>;
}

let store: InMemoryStateStore;
let now: number;
let invocations: WorkerInvocation[];
let starts: PipelineStart[];
let logs: { level: string; message: string; fields: Record<string, unknown> }[];
/** What the fake worker answers; the default is a valid SUCCEEDED result. */
let respond: (invocation: WorkerInvocation) => Promise<InvokeOutcome>;
let startPipeline: ConsumerDeps['startPipeline'];
/** Jobs the consumer held: sent again with a delay. */
let held: { body: string; delaySeconds: number }[];
let failHold: boolean;

beforeEach(() => {
  store = new InMemoryStateStore();
  now = NOW;
  invocations = [];
  starts = [];
  logs = [];
  held = [];
  failHold = false;
  respond = async (invocation) => ({ ok: true, payload: workerResult(invocation, { jobs_completed: 1 }) });
  startPipeline = async (jobId, name, input) => {
    starts.push({ jobId, name, input });
  };
});

const deps = (workerId = 'generation_worker'): ConsumerDeps => ({
  workerId,
  protocol: { store, clock: () => now, reportRetentionDays: 30 },
  invokeWorker: async (invocation) => {
    invocations.push(invocation);
    now += WORK_MS;
    return respond(invocation);
  },
  startPipeline: (jobId, name, input) => startPipeline(jobId, name, input),
  maxReceiveCount: MAX_RECEIVE_COUNT,
  hold: async (m, delaySeconds) => {
    if (failHold) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    held.push({ body: m.body, delaySeconds });
  },
  log: (level, message, fields) => logs.push({ level, message, fields }),
});

const body = (requestId: string, over: Record<string, unknown> = {}): string => JSON.stringify({ requestId, job: 'generate', request: { prompt: 'a red fox' }, enqueuedAt: ENQUEUED, ...over });
const message = (messageId: string, messageBody: string, receiveCount = 1): QueueMessage => ({ messageId, body: messageBody, receiveCount });
const failed = (ids: string[]) => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });
const transient = async (): Promise<InvokeOutcome> => ({ ok: false, error: { Error: 'TransientUpstreamError', Cause: '{"errorMessage":"502 from provider"}' } });
const reportSkOf = (requestId: string, job = 'generate'): string => `REPORT#${ENQUEUED}#${job}#${requestId}`;
const workerState = (id = 'generation_worker') => parseWorkerState(store.workerItem(id) ?? {});

describe('on-demand consumer: a valid job', () => {
  it('runs the worker once, unlocked, and records a SUCCEEDED report keyed by its requestId', async () => {
    // Prepare
    const job = message('m-1', body('req-1'));

    // Act
    const response = await consumeBatch(deps(), [job]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(invocations).toEqual([
      {
        worker: 'generation_worker',
        job: 'generate',
        mode: 'generate',
        phase: 'run',
        scheduledTime: ENQUEUED,
        executionId: 'on-demand:generation_worker:req-1',
        fence: 0,
        retryCount: 0,
        request: { prompt: 'a red fox' },
      },
    ]);
    const reports = store.reports('generation_worker');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      sk: reportSkOf('req-1'),
      status: 'SUCCEEDED',
      executionId: 'on-demand:generation_worker:req-1',
      scheduledTime: ENQUEUED,
      startedAt: new Date(NOW).toISOString(),
      completedAt: new Date(NOW + WORK_MS).toISOString(),
      attempts: 1,
      lockFence: null,
      error: null,
      metrics: { jobs_completed: 1 },
    });
    expect(workerState()).toMatchObject({ lastStatus: 'SUCCEEDED', freshAt: { generate: NOW + WORK_MS } });
    // Unlocked: no lock held (none was ever taken).
    expect(lockOf(workerState(), 'generate').holder).toBeNull();
    expect(workerState().locks).toEqual({});
    expect(starts).toEqual([]);
  });

  it('two jobs enqueued in the same millisecond get two reports', async () => {
    // Prepare
    const batch = [message('m-1', body('req-a')), message('m-2', body('req-b'))];

    // Act
    const response = await consumeBatch(deps(), batch);

    // Assess
    expect(response).toEqual(failed([]));
    expect(store.reports('generation_worker').map((r) => r['sk'])).toEqual([reportSkOf('req-a'), reportSkOf('req-b')]);
    expect(store.reports('generation_worker').map((r) => r['status'])).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('a redelivery passes the delivery count to the worker as its retry count', async () => {
    await consumeBatch(deps(), [message('m-1', body('req-1'), 2)]);
    expect(invocations.map((i) => i.retryCount)).toEqual([1]);
    expect(store.reports('generation_worker')[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });
});

describe('on-demand consumer: malformed messages are kept for the dead-letter queue', () => {
  it.each<[string, string]>([
    ['bad JSON', '{"requestId": "req-1", '],
    ['a JSON array', '[1, 2]'],
    ['no requestId', JSON.stringify({ job: 'generate', enqueuedAt: ENQUEUED })],
    ['a requestId with a space and "!"', body('req 1!')],
    ['a requestId with a path', body('../req-1')],
    ['a requestId of 65 characters', body('r'.repeat(65))],
    ['an empty requestId', body('')],
    ['no job', body('req-1', { job: undefined })],
    ['a bad enqueuedAt', body('req-1', { enqueuedAt: 'just now' })],
  ])('%s -> a batch item failure, nothing run, nothing written', async (_name, messageBody) => {
    // Prepare
    const poison = message('m-poison', messageBody);

    // Act
    const response = await consumeBatch(deps(), [poison]);

    // Assess
    expect(response).toEqual(failed(['m-poison']));
    expect(invocations).toEqual([]);
    expect(starts).toEqual([]);
    expect(store.items.size).toBe(0);
    expect(store.writes).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('malformed on-demand job'), fields: expect.objectContaining({ messageId: 'm-poison' }) }));
  });

  it('a job the worker does not have -> a batch item failure, nothing recorded', async () => {
    const response = await consumeBatch(deps(), [message('m-1', body('req-1', { job: 'upscale' }))]);
    expect(response).toEqual(failed(['m-1']));
    expect(invocations).toEqual([]);
    expect(store.reports('generation_worker')).toEqual([]);
  });

  it('one poison message in a batch of three: only its id fails, the other two are recorded', async () => {
    // Prepare
    const batch = [message('m-1', body('req-1')), message('m-2', 'not json at all'), message('m-3', body('req-3'))];

    // Act
    const response = await consumeBatch(deps(), batch);

    // Assess
    expect(response).toEqual(failed(['m-2']));
    expect(invocations.map((i) => i.executionId)).toEqual(['on-demand:generation_worker:req-1', 'on-demand:generation_worker:req-3']);
    expect(store.reports('generation_worker').map((r) => r['sk'])).toEqual([reportSkOf('req-1'), reportSkOf('req-3')]);
  });
});

describe('on-demand consumer: worker outcomes', () => {
  it('a result that fails the WorkerResult schema -> FAILED with InvalidPayloadError, not a crash', async () => {
    // Prepare
    respond = async () => ({ ok: true, payload: { status: 'DONE', durationMs: 'fast' } });

    // Act
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'))]);

    // Assess
    expect(response).toEqual(failed([]));
    const reports = store.reports('generation_worker');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ sk: reportSkOf('req-1'), status: 'FAILED', error: { name: 'InvalidPayloadError' } });
    expect((reports[0]?.['error'] as { cause: string }).cause).toMatch(/malformed worker result: .*work\.status/);
    expect(workerState()).toMatchObject({ lastStatus: 'FAILED', circuits: { generate: { consecutiveFailures: 1 } } });
  });

  it('a retryable error before the last delivery -> a batch item failure, no report, no write', async () => {
    // Prepare
    respond = transient;

    // Act
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'), MAX_RECEIVE_COUNT - 1)]);

    // Assess
    expect(response).toEqual(failed(['m-1']));
    expect(invocations).toHaveLength(1);
    expect(store.reports('generation_worker')).toEqual([]);
    expect(store.writes).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ requestId: 'req-1', error: 'TransientUpstreamError', receiveCount: MAX_RECEIVE_COUNT - 1 }) }));
  });

  it('the same error on the last delivery -> a FAILED report, and the message is done', async () => {
    // Prepare
    respond = transient;

    // Act
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'), MAX_RECEIVE_COUNT)]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(invocations.map((i) => i.retryCount)).toEqual([MAX_RECEIVE_COUNT - 1]);
    expect(store.reports('generation_worker')).toHaveLength(1);
    expect(store.reports('generation_worker')[0]).toMatchObject({ status: 'FAILED', error: { name: 'TransientUpstreamError', cause: '{"errorMessage":"502 from provider"}' } });
    expect(workerState()).toMatchObject({ lastStatus: 'FAILED', circuits: { generate: { consecutiveFailures: 1 } } });
  });

  it('a non-retryable error on the first delivery -> a FAILED report, and the message is done', async () => {
    // Prepare
    respond = async () => ({ ok: false, error: { Error: 'UpstreamRejectedError', Cause: '{"errorMessage":"content policy"}' } });

    // Act
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'), 1)]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(invocations).toHaveLength(1);
    expect(store.reports('generation_worker')).toHaveLength(1);
    expect(store.reports('generation_worker')[0]).toMatchObject({ sk: reportSkOf('req-1'), status: 'FAILED', attempts: 1, error: { name: 'UpstreamRejectedError' } });
  });

  it('a crash of the invocation itself (the adapter throws) -> a batch item failure, nothing recorded', async () => {
    respond = async () => {
      throw new Error('socket hang up');
    };
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'))]);
    expect(response).toEqual(failed(['m-1']));
    expect(store.reports('generation_worker')).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', fields: { messageId: 'm-1', error: 'Error: socket hang up' } }));
  });
});

describe('on-demand consumer: the gate holds jobs back', () => {
  it('orchestrator PAUSED -> held: sent again delayed, the original done (no receive counted), the worker not invoked, nothing written', async () => {
    // Prepare
    store.put(ORCH_PK, STATE_SK, { mode: 'PAUSED', updatedAt: '2026-01-02T05:00:00.000Z', reason: 'incident 42' });
    store.resetCounts();

    // Act: even on what would be its last delivery.
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'), MAX_RECEIVE_COUNT)]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(held).toEqual([{ body: body('req-1'), delaySeconds: ON_DEMAND_HOLD_SECONDS }]);
    expect(invocations).toEqual([]);
    expect(store.reports('generation_worker')).toEqual([]);
    expect(store.writes).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ fields: expect.objectContaining({ gate: expect.objectContaining({ decision: 'SKIP', skipReason: 'PAUSED' }) }) }));
  });

  it('circuit OPEN -> held, the worker is not invoked', async () => {
    // Prepare
    const open: RawItem = { circuit_generate: circuitAttr({ ...CLOSED_CIRCUIT, state: 'OPEN', changedAtMs: NOW - 60_000 }) };
    store.put(workerPk('generation_worker'), STATE_SK, open);

    // Act
    const response = await consumeBatch(deps(), [message('m-1', body('req-1'))]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(held).toHaveLength(1);
    expect(invocations).toEqual([]);
    expect(store.reports('generation_worker')).toEqual([]);
  });

  it('a hold that cannot be sent -> a batch item failure (SQS redelivers the original)', async () => {
    store.put(ORCH_PK, STATE_SK, { mode: 'DRAINING', updatedAt: '2026-01-02T05:00:00.000Z' });
    failHold = true;
    expect(await consumeBatch(deps(), [message('m-1', body('req-1'))])).toEqual(failed(['m-1']));
    expect(invocations).toEqual([]);
  });
});

describe('on-demand consumer: fan-out jobs', () => {
  const pack = (requestId: string): string => body(requestId, { job: 'pack', request: { channel: 'aura', assets: ['overlay', 'emotes'] } });

  it('a twitch pack starts its pipeline once, named by the requestId, with the job as input; the worker is not invoked', async () => {
    // Act
    const response = await consumeBatch(deps('twitch_worker'), [message('m-1', pack('pack-1'))]);

    // Assess
    expect(response).toEqual(failed([]));
    expect(invocations).toEqual([]);
    expect(starts).toEqual([
      {
        jobId: 'pack',
        name: 'pack-1',
        input: { worker: 'twitch_worker', job: 'pack', scheduledTime: ENQUEUED, trigger: 'manual', runId: 'pack-1', request: { channel: 'aura', assets: ['overlay', 'emotes'] } },
      },
    ]);
    expect(PipelineInput.safeParse(starts[0]?.input).success).toBe(true);
    // The pack pipeline records its own run: the consumer writes nothing.
    expect(store.items.size).toBe(0);
  });

  it('a twitch asset job (no fan-out) runs the worker instead', async () => {
    const response = await consumeBatch(deps('twitch_worker'), [message('m-1', body('asset-1', { job: 'asset' }))]);
    expect(response).toEqual(failed([]));
    expect(starts).toEqual([]);
    expect(invocations).toMatchObject([{ worker: 'twitch_worker', job: 'asset', mode: 'asset' }]);
    expect(store.reports('twitch_worker')).toMatchObject([{ sk: reportSkOf('asset-1', 'asset'), status: 'SUCCEEDED' }]);
  });

  it('a pipeline that cannot be started -> a batch item failure for that message only', async () => {
    // Prepare
    startPipeline = async (jobId, name) => {
      if (name === 'pack-2') throw new Error('ThrottlingException');
      starts.push({ jobId, name, input: {} });
    };

    // Act
    const response = await consumeBatch(deps('twitch_worker'), [message('m-1', pack('pack-1')), message('m-2', pack('pack-2')), message('m-3', pack('pack-3'))]);

    // Assess
    expect(response).toEqual(failed(['m-2']));
    expect(starts.map((s) => s.name)).toEqual(['pack-1', 'pack-3']);
  });
});

describe('on-demand consumer: run metrics', () => {
  it('emits one sample per stored report, none for a redelivery of a recorded job or a job kept for retry', async () => {
    const samples: RunSample[] = [];
    const base = deps();
    const withMetrics: ConsumerDeps = { ...base, protocol: { ...base.protocol, metrics: { record: (s) => samples.push(s) } } };
    await consumeBatch(withMetrics, [message('m-1', body('req-1'))]);
    // The duration is the report's: the worker's own measurement (1 s in workerResult()).
    expect(samples).toEqual([{ worker: 'generation_worker', status: 'SUCCEEDED', overallScore: 100, durationMs: 1000 }]);
    // The same job delivered again: its slot has a report already, so nothing new is counted.
    await consumeBatch(withMetrics, [message('m-1b', body('req-1'), 2)]);
    // A transient failure before the last delivery records nothing, so it emits nothing.
    respond = transient;
    await consumeBatch(withMetrics, [message('m-2', body('req-2'))]);
    expect(samples).toHaveLength(1);
  });
});
