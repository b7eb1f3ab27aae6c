/**
 * The API handler over fake ports: every route's happy path and its errors. Prepare (seed the fake
 * store) / Act (one request through makeHandler) / Assess (status, body, and what the ports saw).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_WRITE_ATTEMPTS, makeHandler, type ApiResult } from '../../lambdas/api/app.js';
import { encodeCursor } from '../../lambdas/api/cursor.js';
import { executionName, TRIGGER_STALE_MS } from '../../lambdas/api/trigger.js';
import { buildAlert, type Alert } from '../../lib/domain/alerting.js';
import { RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { decideGate } from '../../lib/domain/gate.js';
import { applyDetection, type Detection, type Incident } from '../../lib/domain/incident.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { circuitAttr, ORCHESTRATOR_RUNNING, parseWorkerState } from '../../lib/domain/worker-state.js';
import { ALL_WORKERS, jobOf, workerById } from '../../lib/registry/index.js';
import { apiEvent, InMemoryStatusStore, PIPELINE_KEYS, RecordingLogger, RecordingStarter, type EventOptions } from './fakes.js';

const NOW = Date.parse('2026-03-02T06:10:00.000Z');
const MIN = 60_000;
const KEY = '8f14e45f-ceea-467f-a9c3-1a2b3c4d5e6f';

let store: InMemoryStatusStore;
let starter: RecordingStarter;
let logger: RecordingLogger;
let clockMs: number;
let handle: (event: unknown) => Promise<ApiResult>;

beforeEach(() => {
  store = new InMemoryStatusStore();
  starter = new RecordingStarter(PIPELINE_KEYS);
  logger = new RecordingLogger();
  clockMs = NOW;
  handle = makeHandler({ store, pipelines: starter, clock: () => clockMs, logger });
});

const call = async (method: string, path: string, options: EventOptions = {}) => {
  const response = await handle(apiEvent(method, path, options));
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(response.body) as Record<string, unknown> & { error?: { code: string; message: string; requestId: string } } };
};

const report = (workerName: string, jobId: string, scheduledTime: string, overallScore: number | null = 90): WorkerScoreReport => ({
  workerName,
  jobId,
  executionId: `exec-${scheduledTime}`,
  scheduledTime,
  startedAt: scheduledTime,
  completedAt: scheduledTime,
  status: overallScore === null ? 'SKIPPED' : 'SUCCEEDED',
  skipReason: overallScore === null ? 'PAUSED' : null,
  success: overallScore !== null,
  durationMs: 1000,
  attempts: 1,
  lockFence: 1,
  scores: overallScore === null ? null : { reliabilityScore: 100, performanceScore: 90, dataQualityScore: 80, resourceScore: 90, overallScore },
  anomalies: [],
  recommendations: [],
  metrics: {},
  error: null,
});

const alertOf = (code: AnomalyCode, raisedAtMs: number, worker = 'youtube_worker'): Alert =>
  buildAlert({ finding: { code, severity: RULE_BY_CODE[code].severity, worker, detail: `${code} detail`, observed: 1, threshold: 0 }, region: 'eu-west-1', raisedAtMs });

describe('GET /workers', () => {
  it('lists every registry worker with the orchestrator mode', async () => {
    store.orchestrator = { mode: 'DRAINING', updatedAt: '2026-03-02T06:00:00.000Z', reason: 'deploy' };
    const { status, body } = await call('GET', '/workers');
    expect(status).toBe(200);
    expect(body['orchestrator']).toEqual({ mode: 'DRAINING', updatedAt: '2026-03-02T06:00:00.000Z', reason: 'deploy' });
    expect((body['workers'] as { id: string }[]).map((w) => w.id)).toEqual(ALL_WORKERS.map((w) => w.id));
  });

  it('per worker: last report and score, circuit with its effective settings, per-job locks, next runs, config', async () => {
    const trending = lockAttrsFor('trending');
    store.states.set('youtube_worker', {
      [trending.holder]: 'exec-live',
      [trending.fence]: 4,
      [trending.expiresAt]: NOW + 5 * MIN,
      circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, state: 'OPEN', changedAtMs: NOW - MIN }),
      lastStatus: 'FAILED',
      lastRunAtMs: NOW - MIN,
      config: { enabled: false, thresholds: { circuitOpenSeconds: 120 }, updatedAt: '2026-03-02T05:00:00.000Z', version: 2 },
    });
    store.addReport(report('youtube_worker', 'trending', '2026-03-02T05:30:00.000Z', 71.5));
    store.addReport(report('youtube_worker', 'trending', '2026-03-02T06:00:00.000Z', 64.5));
    const { body } = await call('GET', '/workers');
    const yt = (body['workers'] as Record<string, unknown>[]).find((w) => w['id'] === 'youtube_worker');
    expect(yt).toMatchObject({
      score: 64.5,
      lastReport: { scheduledTime: '2026-03-02T06:00:00.000Z' },
      lastStatus: 'FAILED',
      lastRunAt: new Date(NOW - MIN).toISOString(),
      circuit: { state: 'OPEN', changedAt: new Date(NOW - MIN).toISOString(), settings: { failuresToOpen: 3, openTimeoutSeconds: 120 } },
      config: { enabled: false, thresholds: { circuitOpenSeconds: 120 }, version: 2 },
      // trending fires every 30 min (cron 0/30), games daily at 05:00 UTC.
      nextRunAt: '2026-03-02T06:30:00.000Z',
      jobs: [
        // The worker's circuit is its least healthy job's; each job shows its own.
        { id: 'trending', nextRunAt: '2026-03-02T06:30:00.000Z', lock: { held: true, holder: 'exec-live', fence: 4, expiresAt: new Date(NOW + 5 * MIN).toISOString() }, circuit: { state: 'OPEN' }, triggerable: true },
        { id: 'games', nextRunAt: '2026-03-03T05:00:00.000Z', lock: { held: false, holder: null }, circuit: { state: 'CLOSED', consecutiveFailures: 0, changedAt: null }, triggerable: true },
      ],
    });
  });

  it('an expired lease is not held; a worker never seen has defaults; on-demand workers have no next run and are not triggerable', async () => {
    const poll = lockAttrsFor('poll');
    store.states.set('clip_radar_worker', { [poll.holder]: 'exec-old', [poll.fence]: 9, [poll.expiresAt]: NOW - 1 });
    const { body } = await call('GET', '/workers');
    const workers = body['workers'] as Record<string, unknown>[];
    expect(workers.find((w) => w['id'] === 'clip_radar_worker')).toMatchObject({ jobs: [{ lock: { held: false, holder: null, fence: 9, expiresAt: null }, nextRunAt: '2026-03-02T06:15:00.000Z' }] });
    expect(workers.find((w) => w['id'] === 'generation_worker')).toMatchObject({
      score: null,
      lastReport: null,
      nextRunAt: null,
      circuit: { state: 'CLOSED', consecutiveFailures: 0 },
      config: { enabled: true, thresholds: {}, updatedAt: null, version: 0 },
      jobs: [{ id: 'generate', nextRunAt: null, triggerable: false }],
    });
  });
});

describe('GET /workers/{id}/reports', () => {
  beforeEach(() => {
    for (let i = 0; i < 25; i++) store.addReport(report('clip_radar_worker', 'poll', new Date(NOW - i * 5 * MIN).toISOString(), 50 + i));
  });

  it('pages newest first: 20 by default with a cursor, then the rest without one', async () => {
    const first = await call('GET', '/workers/clip_radar_worker/reports');
    expect(first.status).toBe(200);
    const items = first.body['items'] as WorkerScoreReport[];
    expect(items).toHaveLength(20);
    expect(items[0]?.scheduledTime).toBe(new Date(NOW).toISOString());
    expect(items.map((r) => r.scheduledTime)).toEqual([...items.map((r) => r.scheduledTime)].sort().reverse());
    expect(first.body['nextCursor']).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await call('GET', '/workers/clip_radar_worker/reports', { query: { cursor: String(first.body['nextCursor']) } });
    expect((second.body['items'] as WorkerScoreReport[]).map((r) => r.scheduledTime)).toEqual(
      Array.from({ length: 5 }, (_, i) => new Date(NOW - (20 + i) * 5 * MIN).toISOString()),
    );
    expect(second.body['nextCursor']).toBeNull();
  });

  it('honours limit', async () => {
    const { body } = await call('GET', '/workers/clip_radar_worker/reports', { query: { limit: '3' } });
    expect(body['items']).toHaveLength(3);
  });

  it.each([['0'], ['101'], ['abc'], ['1.5'], ['-1'], ['']])('limit=%j -> 400 naming query.limit and the value', async (limit) => {
    const { status, body } = await call('GET', '/workers/clip_radar_worker/reports', { query: { limit } });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining(`query.limit: must be an integer from 1 to 100, got ${JSON.stringify(limit)}`) });
    expect(store.calls).not.toContain('listReports');
  });

  it.each<[string, string]>([
    ['not base64url', 'not a cursor!'],
    ['base64url of junk', Buffer.from('junk').toString('base64url')],
    ['a key of another worker', encodeCursor({ pk: 'WORKER#youtube_worker', sk: 'REPORT#2026-03-02T06:00:00.000Z#trending' })],
    ['an alerts cursor', encodeCursor({ pk: 'ALERT#a', sk: 'ALERT', gsi1pk: 'ALERTS', gsi1sk: 'x' })],
    ['a key with an extra attribute', encodeCursor({ pk: 'WORKER#clip_radar_worker', sk: 'REPORT#x', other: 'y' })],
    ['a non-report key', encodeCursor({ pk: 'WORKER#clip_radar_worker', sk: 'STATE' })],
  ])('a cursor that is %s -> 400 INVALID_CURSOR, no query', async (_name, cursor) => {
    const { status, body } = await call('GET', '/workers/clip_radar_worker/reports', { query: { cursor } });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('INVALID_CURSOR');
    expect(store.calls).not.toContain('listReports');
  });

  it('unknown worker -> 404 listing the workers', async () => {
    const { status, body } = await call('GET', '/workers/nope_worker/reports');
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ code: 'UNKNOWN_WORKER', message: expect.stringContaining('no worker "nope_worker"; workers are generation_worker') });
  });
});

describe('GET /alerts', () => {
  it('newest first through pages, with acknowledgement and delivery state', async () => {
    const codes: AnomalyCode[] = ['WORKER_CRASH', 'HIGH_FAILURE_RATE', 'SLOW_EXECUTION'];
    codes.forEach((code, i) => store.addAlert(alertOf(code, NOW - (3 - i) * 20 * MIN), i === 0 ? { acknowledgedAt: '2026-03-02T05:20:00.000Z', acknowledgedBy: 'alice' } : {}));
    const first = await call('GET', '/alerts', { query: { limit: '2' } });
    expect(first.status).toBe(200);
    expect((first.body['items'] as Alert[]).map((a) => a.anomaly)).toEqual(['SLOW_EXECUTION', 'HIGH_FAILURE_RATE']);
    const second = await call('GET', '/alerts', { query: { limit: '2', cursor: String(first.body['nextCursor']) } });
    expect(second.body['items']).toEqual([expect.objectContaining({ anomaly: 'WORKER_CRASH', acknowledgedAt: '2026-03-02T05:20:00.000Z', acknowledgedBy: 'alice', deliveryState: 'DELIVERED' })]);
    expect(second.body['nextCursor']).toBeNull();
  });

  it('a reports cursor is not an alerts cursor -> 400', async () => {
    const { status, body } = await call('GET', '/alerts', { query: { cursor: encodeCursor({ pk: 'WORKER#x', sk: 'REPORT#y' }) } });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('INVALID_CURSOR');
  });
});

describe('POST /workers/{id}/trigger', () => {
  const trigger = (worker: string, options: EventOptions = {}) => call('POST', `/workers/${worker}/trigger`, { headers: { 'idempotency-key': KEY }, ...options });

  it('starts the job pipeline once, with a deterministic name and the manual input; 202', async () => {
    const { status, body } = await trigger('youtube_worker', { body: { job: 'games' } });
    expect(status).toBe(202);
    const name = executionName('youtube_worker', 'games', KEY);
    expect(name).toMatch(/^manual-games-[0-9a-f]{20}$/);
    expect(starter.started).toEqual([
      { pipelineKey: 'youtube_worker.games', name, input: { worker: 'youtube_worker', job: 'games', scheduledTime: new Date(NOW).toISOString(), trigger: 'manual', requestKey: KEY } },
    ]);
    expect(body).toMatchObject({ worker: 'youtube_worker', job: 'games', executionName: name, status: 'STARTED', replayed: false, scheduledTime: new Date(NOW).toISOString() });
    expect(body['executionArn']).toContain(name);
    expect(store.triggers.get(`youtube_worker/${KEY}`)).toMatchObject({ startedAt: new Date(NOW).toISOString(), expiresAt: NOW / 1000 + 24 * 3600 });
  });

  it('without a job: the worker\'s first triggerable job (the intel cycle too)', async () => {
    expect((await trigger('youtube_worker')).body['job']).toBe('trending');
    expect((await trigger('intel_orchestrator')).body).toMatchObject({ job: 'cycle', status: 'STARTED' });
    expect(starter.started.map((s) => s.pipelineKey)).toEqual(['youtube_worker.trending', 'intel_orchestrator.cycle']);
  });

  it('a retry with the same key returns the same execution and starts nothing new, even later', async () => {
    const first = await trigger('youtube_worker');
    clockMs = NOW + 10 * MIN;
    const again = await trigger('youtube_worker');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ executionName: first.body['executionName'], executionArn: first.body['executionArn'], scheduledTime: first.body['scheduledTime'], replayed: true, status: 'STARTED' });
    expect(starter.started).toHaveLength(1);
  });

  it('a double click (two concurrent requests, same key) starts exactly one execution', async () => {
    const [a, b] = await Promise.all([trigger('youtube_worker'), trigger('youtube_worker')]);
    expect(starter.started).toHaveLength(1);
    expect(a.body['executionName']).toBe(b.body['executionName']);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
  });

  it('ten concurrent clicks still start one', async () => {
    await Promise.all(Array.from({ length: 10 }, () => trigger('clip_radar_worker')));
    expect(starter.started).toHaveLength(1);
  });

  it('the same key on another worker is another run', async () => {
    await trigger('youtube_worker');
    await trigger('clip_radar_worker');
    expect(starter.started.map((s) => s.pipelineKey)).toEqual(['youtube_worker.trending', 'clip_radar_worker.poll']);
  });

  it('the same key for another job of the worker -> 409, nothing started', async () => {
    await trigger('youtube_worker', { body: { job: 'trending' } });
    const { status, body } = await trigger('youtube_worker', { body: { job: 'games' } });
    expect(status).toBe(409);
    expect(body.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(starter.started).toHaveLength(1);
  });

  it('a claim left unstarted by a failed request: fresh -> STARTING and no start; stale -> started once under the same name', async () => {
    starter.fail = true;
    const failed = await trigger('youtube_worker');
    expect(failed.status).toBe(500);
    starter.fail = false;
    clockMs = NOW + TRIGGER_STALE_MS - 1;
    const fresh = await trigger('youtube_worker');
    expect(fresh).toMatchObject({ status: 200, body: { status: 'STARTING', replayed: true } });
    expect(starter.started).toHaveLength(0);
    clockMs = NOW + TRIGGER_STALE_MS;
    const redriven = await trigger('youtube_worker');
    expect(redriven).toMatchObject({ status: 200, body: { status: 'STARTED', replayed: true, executionName: executionName('youtube_worker', 'trending', KEY) } });
    expect(starter.started).toHaveLength(1);
    expect(starter.started[0]?.input['scheduledTime']).toBe(new Date(NOW).toISOString());
  });

  it.each<[string, EventOptions, string, string]>([
    ['no Idempotency-Key', { headers: {} }, 'MISSING_IDEMPOTENCY_KEY', 'header Idempotency-Key: required'],
    ['a key with spaces', { headers: { 'idempotency-key': 'a b' } }, 'INVALID_IDEMPOTENCY_KEY', 'header.Idempotency-Key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : -, got "a b"'],
    ['a 129-character key', { headers: { 'idempotency-key': 'k'.repeat(129) } }, 'INVALID_IDEMPOTENCY_KEY', 'header.Idempotency-Key'],
    ['an unknown job', { body: { job: 'nope' } }, 'UNKNOWN_JOB', 'body.job: worker youtube_worker has no job "nope"; its jobs are trending, games'],
    ['job as a number', { body: { job: 7 } }, 'INVALID_REQUEST', 'body.job: Invalid input: expected string, received number, got 7'],
    ['an unknown body key', { body: { job: 'games', force: true } }, 'INVALID_REQUEST', 'body: unknown key(s) "force"'],
    ['malformed JSON', { rawBody: '{"job": ' }, 'MALFORMED_JSON', 'body: not valid JSON'],
    ['a JSON array', { body: ['games'] }, 'INVALID_REQUEST', 'body: Invalid input: expected object, received array'],
    ['JSON null', { rawBody: 'null' }, 'INVALID_REQUEST', 'body: Invalid input: expected object, received null'],
  ])('%s -> 400, nothing claimed or started', async (_name, options, code, message) => {
    const { status, body } = await trigger('youtube_worker', options);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code, message: expect.stringContaining(message), requestId: 'req-1' });
    expect(starter.started).toHaveLength(0);
    expect(store.triggers.size).toBe(0);
  });

  it('an on-demand worker has no pipeline to start -> 400 saying so', async () => {
    const { status, body } = await trigger('generation_worker');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'NOT_TRIGGERABLE', message: 'worker generation_worker is on-demand: its runs come from its queue, and it has no pipeline a manual trigger can start' });
    expect((await trigger('twitch_worker', { body: { job: 'pack' } })).body.error?.message).toContain('job pack of twitch_worker is on-demand');
    expect(starter.started).toHaveLength(0);
  });

  it('a job without a pipeline of a scheduled worker -> 400 naming the triggerable ones', async () => {
    const pipelines = new RecordingStarter(['youtube_worker.trending']);
    handle = makeHandler({ store, pipelines, clock: () => clockMs, logger });
    const { status, body } = await trigger('youtube_worker', { body: { job: 'games' } });
    expect(status).toBe(400);
    expect(body.error?.message).toBe('job games of youtube_worker has no pipeline a manual trigger can start; triggerable jobs: trending');
  });

  it('unknown worker -> 404', async () => {
    expect((await trigger('ghost')).status).toBe(404);
  });

  it('paused or draining orchestrator, or a disabled worker -> 409, nothing claimed or started', async () => {
    store.orchestrator = { mode: 'DRAINING', updatedAt: null, reason: 'deploy' };
    expect(await trigger('youtube_worker')).toMatchObject({ status: 409, body: { error: { code: 'ORCHESTRATOR_NOT_RUNNING', message: expect.stringContaining('DRAINING (deploy)') } } });
    store.orchestrator = ORCHESTRATOR_RUNNING;
    store.states.set('youtube_worker', { config: { enabled: false, version: 1 } });
    expect(await trigger('youtube_worker')).toMatchObject({ status: 409, body: { error: { code: 'WORKER_DISABLED' } } });
    expect(starter.started).toHaveLength(0);
    expect(store.triggers.size).toBe(0);
  });

  it('StartExecution failing -> 500 with the request id, logged, not marked started', async () => {
    starter.fail = true;
    const { status, body } = await trigger('youtube_worker', { requestId: 'req-boom' });
    expect(status).toBe(500);
    expect(body.error).toEqual({ code: 'INTERNAL', message: 'the request failed; quote request id req-boom', requestId: 'req-boom' });
    expect(logger.entries.find((e) => e.level === 'error')?.attributes).toMatchObject({ requestId: 'req-boom', route: 'triggerWorker', error: { message: 'StartExecution: ServiceUnavailable (fake)' } });
    expect(store.triggers.get(`youtube_worker/${KEY}`)?.startedAt).toBeNull();
  });
});

describe('PUT /workers/{id}/config', () => {
  it('stores the config on STATE (protocol attributes untouched) and answers with the effective circuit', async () => {
    const trending = lockAttrsFor('trending');
    store.states.set('youtube_worker', { [trending.holder]: 'exec-1', [trending.fence]: 3, version: 8 });
    const { status, body } = await call('PUT', '/workers/youtube_worker/config', { body: { enabled: false, thresholds: { circuitFailureThreshold: 5, circuitHalfOpenSuccesses: 2 } } });
    expect(status).toBe(200);
    expect(body).toEqual({
      worker: 'youtube_worker',
      config: { enabled: false, thresholds: { circuitFailureThreshold: 5, circuitHalfOpenSuccesses: 2 }, updatedAt: new Date(NOW).toISOString(), version: 1 },
      circuit: { failuresToOpen: 5, openTimeoutSeconds: 900, successesToClose: 2, halfOpenMaxProbes: 2 },
    });
    expect(store.states.get('youtube_worker')).toMatchObject({ [trending.holder]: 'exec-1', [trending.fence]: 3, version: 8, config: { enabled: false, version: 1 } });
  });

  it('is in effect at the next gate: the stored STATE makes the gate SKIP DISABLED; re-enabling keeps the thresholds', async () => {
    await call('PUT', '/workers/youtube_worker/config', { body: { enabled: false, thresholds: { circuitOpenSeconds: 60 } } });
    const gate = () =>
      decideGate({
        worker: workerById('youtube_worker'),
        job: jobOf('youtube_worker', 'trending'),
        call: { executionId: 'exec-9', startedAtMs: NOW, trigger: 'schedule', scheduledTime: '2026-03-02T06:30:00.000Z' },
        nowMs: NOW,
        view: { orchestrator: ORCHESTRATOR_RUNNING, worker: parseWorkerState(store.states.get('youtube_worker') ?? {}), dependencies: {}, windows: {} },
      }).verdict;
    expect(gate()).toMatchObject({ decision: 'SKIP', skipReason: 'DISABLED' });
    const { body } = await call('PUT', '/workers/youtube_worker/config', { body: { enabled: true } });
    expect(body['config']).toMatchObject({ enabled: true, thresholds: { circuitOpenSeconds: 60 }, version: 2 });
    expect(gate()).toMatchObject({ decision: 'RUN' });
  });

  it('retries a lost version race, then gives up with 409', async () => {
    store.configConflicts = 1;
    expect((await call('PUT', '/workers/youtube_worker/config', { body: { enabled: false } })).status).toBe(200);
    store.configConflicts = CONFIG_WRITE_ATTEMPTS;
    const { status, body } = await call('PUT', '/workers/clip_radar_worker/config', { body: { enabled: false } });
    expect(status).toBe(409);
    expect(body.error?.code).toBe('CONFIG_CONFLICT');
    expect(store.states.get('clip_radar_worker')).toBeUndefined();
  });

  it.each<[string, EventOptions, string, string]>([
    ['no body', {}, 'MISSING_BODY', 'body: required'],
    ['an unknown key', { body: { enabled: true, paused: true } }, 'INVALID_REQUEST', 'body: unknown key(s) "paused"'],
    ['an unknown threshold', { body: { thresholds: { failures: 3 } } }, 'INVALID_REQUEST', 'body.thresholds: unknown key(s) "failures"'],
    ['enabled as a string', { body: { enabled: 'false' } }, 'INVALID_REQUEST', 'body.enabled: Invalid input: expected boolean, received string, got "false"'],
    ['a threshold too big', { body: { thresholds: { circuitFailureThreshold: 1000 } } }, 'INVALID_REQUEST', 'body.thresholds.circuitFailureThreshold: Too big: expected number to be <=100, got 1000'],
    ['a fractional threshold', { body: { thresholds: { circuitOpenSeconds: 60.5 } } }, 'INVALID_REQUEST', 'body.thresholds.circuitOpenSeconds'],
    ['malformed JSON', { rawBody: '{enabled:false}' }, 'MALFORMED_JSON', 'body: not valid JSON'],
    ['JSON null', { rawBody: 'null' }, 'INVALID_REQUEST', 'body: Invalid input: expected object, received null'],
  ])('%s -> 400 naming the field and value, nothing written', async (_name, options, code, message) => {
    const { status, body } = await call('PUT', '/workers/youtube_worker/config', options);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code, message: expect.stringContaining(message) });
    expect(store.calls).not.toContain('writeWorkerConfig');
  });

  it('unknown worker -> 404', async () => {
    expect((await call('PUT', '/workers/ghost/config', { body: { enabled: false } })).status).toBe(404);
  });
});

describe('POST /orchestrator/{pause|resume|drain}', () => {
  it('pause and resume write the mode and the reason', async () => {
    expect(await call('POST', '/orchestrator/pause', { body: { reason: 'deploy' } })).toMatchObject({ status: 200, body: { orchestrator: { mode: 'PAUSED', reason: 'deploy', updatedAt: new Date(NOW).toISOString() } } });
    expect(store.orchestrator.mode).toBe('PAUSED');
    expect(await call('POST', '/orchestrator/resume')).toMatchObject({ status: 200, body: { orchestrator: { mode: 'RUNNING', reason: null } } });
  });

  it('drain reports the jobs still holding live locks (running ones finish)', async () => {
    const trending = lockAttrsFor('trending');
    const poll = lockAttrsFor('poll');
    store.states.set('youtube_worker', { [trending.holder]: 'exec-a', [trending.fence]: 2, [trending.expiresAt]: NOW + MIN });
    store.states.set('clip_radar_worker', { [poll.holder]: 'exec-old', [poll.fence]: 1, [poll.expiresAt]: NOW - MIN });
    const { status, body } = await call('POST', '/orchestrator/drain', { body: { reason: 'maintenance' } });
    expect(status).toBe(200);
    expect(body).toEqual({
      orchestrator: { mode: 'DRAINING', reason: 'maintenance', updatedAt: new Date(NOW).toISOString() },
      drained: false,
      stillRunning: [{ worker: 'youtube_worker', job: 'trending', holder: 'exec-a', fence: 2, expiresAt: new Date(NOW + MIN).toISOString() }],
    });
    store.states.clear();
    expect((await call('POST', '/orchestrator/drain')).body).toMatchObject({ drained: true, stillRunning: [] });
  });

  it.each<[string, EventOptions, string]>([
    ['reason as a number', { body: { reason: 5 } }, 'body.reason: Invalid input: expected string, received number, got 5'],
    ['an unknown key', { body: { mode: 'RUNNING' } }, 'body: unknown key(s) "mode"'],
    ['a reason over 500 characters', { body: { reason: 'r'.repeat(501) } }, 'body.reason: Too big'],
  ])('%s -> 400, mode unchanged', async (_name, options, message) => {
    const { status, body } = await call('POST', '/orchestrator/pause', options);
    expect(status).toBe(400);
    expect(body.error?.message).toContain(message);
    expect(store.orchestrator.mode).toBe('RUNNING');
  });
});

describe('POST /alerts/{id}/ack', () => {
  it('acknowledges once; again -> ALREADY_ACKNOWLEDGED with the first time; unknown -> 404', async () => {
    const alert = alertOf('WORKER_CRASH', NOW - 5 * MIN);
    store.addAlert(alert);
    expect(await call('POST', `/alerts/${alert.id}/ack`, { body: { by: 'alice', note: 'looking' } })).toMatchObject({
      status: 200,
      body: { alertId: alert.id, status: 'ACKNOWLEDGED', acknowledgedAt: new Date(NOW).toISOString(), by: 'alice' },
    });
    expect(store.alerts[0]?.acknowledgedBy).toEqual({ by: 'alice', note: 'looking' });
    clockMs = NOW + MIN;
    expect((await call('POST', `/alerts/${alert.id}/ack`, { body: { by: 'bob' } })).body).toMatchObject({ status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: new Date(NOW).toISOString() });
    expect(await call('POST', '/alerts/alert_0000/ack', { body: { by: 'alice' } })).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_ALERT' } } });
  });

  it.each<[string, string, EventOptions, string]>([
    ['no body', 'alert_1', {}, 'MISSING_BODY'],
    ['no by', 'alert_1', { body: { note: 'x' } }, 'INVALID_REQUEST'],
    ['a blank by', 'alert_1', { body: { by: '   ' } }, 'INVALID_REQUEST'],
    ['an id with odd characters', 'alert%20%3Cx%3E', { body: { by: 'a' } }, 'INVALID_ALERT_ID'],
  ])('%s -> 400, nothing written', async (_name, id, options, code) => {
    const { status, body } = await call('POST', `/alerts/${id}/ack`, options);
    expect(status).toBe(400);
    expect(body.error?.code).toBe(code);
    expect(store.calls).not.toContain('acknowledgeAlert');
  });
});

describe('POST /incidents/{id}/ack', () => {
  const id = 'youtube_worker~games~DEPENDENCY_FAILURE~1';
  it('acknowledges once (the escalation stops); again -> ALREADY_ACKNOWLEDGED; unknown or superseded -> 404', async () => {
    store.incidentIds.add(id);
    expect(await call('POST', `/incidents/${encodeURIComponent(id)}/ack`, { body: { by: 'alice' } })).toMatchObject({
      status: 200,
      body: { incidentId: id, status: 'ACKNOWLEDGED', acknowledgedAt: new Date(NOW).toISOString(), by: 'alice' },
    });
    expect((await call('POST', `/incidents/${id}/ack`, { body: { by: 'bob' } })).body).toMatchObject({ status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: new Date(NOW).toISOString() });
    expect(await call('POST', '/incidents/youtube_worker~games~DEPENDENCY_FAILURE~2/ack', { body: { by: 'alice' } })).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_INCIDENT' } } });
  });

  it.each<[string, string]>([
    ['an alert id', 'alert_1'],
    ['no generation', 'youtube_worker~games~DEPENDENCY_FAILURE'],
    ['odd characters', 'youtube_worker~games~X%3Cy~1'],
  ])('%s -> 400, nothing written', async (_name, badId) => {
    const { status, body } = await call('POST', `/incidents/${badId}/ack`, { body: { by: 'a' } });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('INVALID_INCIDENT_ID');
    expect(store.calls).not.toContain('acknowledgeIncident');
  });
});

describe('POST /workers/{id}/jobs/{job}/backfill and per-job circuits', () => {
  it('refuses the job whose own circuit is open (409 CIRCUIT_OPEN) and backfills another job of the same worker', async () => {
    // youtube_worker: trending's circuit is OPEN, games' is CLOSED (circuits are per job).
    store.states.set('youtube_worker', { circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, state: 'OPEN', consecutiveFailures: 3, changedAtMs: NOW - MIN }) });
    const runs: { name: string; job: string; slots: string[] }[] = [];
    const backfills = { start: async (r: { name: string; job: string; runs: readonly { input: Readonly<Record<string, unknown>> }[] }) => (runs.push({ name: r.name, job: r.job, slots: r.runs.map((x) => String(x.input['scheduledTime'])) }), { executionArn: null, alreadyExisted: false }) };
    const withBackfills = makeHandler({ store, pipelines: starter, backfills, clock: () => clockMs, logger });
    const post = async (job: string) => {
      const r = await withBackfills(apiEvent('POST', `/workers/youtube_worker/jobs/${job}/backfill`, { body: { from: '2026-03-02T04:10:00.000Z', to: '2026-03-02T06:10:00.000Z' } }));
      return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> & { error?: { code: string; message: string } } };
    };

    const refused = await post('trending');
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe('CIRCUIT_OPEN');
    expect(refused.body.error?.message).toMatch(/^the circuit of youtube_worker.trending is OPEN; it admits a probe from .*: a backfill would only record skips$/);
    expect(store.calls).not.toContain('claimBackfillSlot');

    const games = await post('games');
    expect(games.status).toBe(202);
    expect(games.body).toMatchObject({ worker: 'youtube_worker', job: 'games', queued: ['2026-03-02T05:00:00.000Z'], status: 'STARTED' });
    expect(runs).toEqual([{ name: expect.any(String), job: 'games', slots: ['2026-03-02T05:00:00.000Z'] }]);
  });
});

describe('GET /incidents', () => {
  const missed = (): Incident => {
    // What the health sweep's MISSED_RUN finding opens for coach_cleanup_worker.cleanup (last claim 04:00).
    const d: Detection = {
      key: { worker: 'coach_cleanup_worker', job: 'cleanup', anomaly: 'WORKER_CRASH' },
      severity: 'HIGH',
      detail: 'coach_cleanup_worker.cleanup: no run for the 2026-03-02T06:00:00.000Z slot (last claimed 2026-03-02T04:00:00.000Z)',
      observedAtMs: NOW,
      observationId: 'health:MISSED_RUN#cleanup#2026-03-02T06:00:00.000Z',
      source: 'health',
      impactedJob: null,
      seenOn: { worker: 'coach_cleanup_worker', job: 'cleanup', scheduledTime: '2026-03-02T06:00:00.000Z', executionId: null },
    };
    return applyDetection(undefined, d).incident;
  };

  it('open by default: the view with its symptoms and, for a missed run, the backfill it offers', async () => {
    store.incidents.push(missed());
    const { status, body } = await call('GET', '/incidents');
    expect(status).toBe(200);
    expect(body).toMatchObject({ state: 'open', nextCursor: null });
    expect(body['items']).toMatchObject([
      {
        id: 'coach_cleanup_worker~cleanup~WORKER_CRASH~1',
        status: 'OPEN',
        ackable: true,
        symptoms: { count: 1, sources: ['health'] },
        backfill: { worker: 'coach_cleanup_worker', job: 'cleanup', from: '2026-03-02T05:00:00.000Z', to: '2026-03-02T06:00:00.001Z', slots: 2, request: { method: 'POST', path: '/workers/coach_cleanup_worker/jobs/cleanup/backfill' } },
      },
    ]);
    expect((await call('GET', '/incidents', { query: { state: 'resolved' } })).body['items']).toEqual([]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['an unknown state', { state: 'closed' }, 'INVALID_REQUEST'],
    ['a limit out of range', { limit: '0' }, 'INVALID_REQUEST'],
    ['a cursor of another listing', { cursor: encodeCursor({ pk: 'ALERT#a', sk: 'ALERT', gsi1pk: 'ALERTS', gsi1sk: 'x' }) }, 'INVALID_CURSOR'],
  ])('%s -> 400, nothing read', async (_name, query, code) => {
    const { status, body } = await call('GET', '/incidents', { query });
    expect(status).toBe(400);
    expect(body.error?.code).toBe(code);
    expect(store.calls).not.toContain('listIncidents');
  });
});

describe('routing and failures', () => {
  it('unknown route -> 404; wrong method -> 405 with Allow', async () => {
    expect(await call('GET', '/nothing/here')).toMatchObject({ status: 404, body: { error: { code: 'NO_SUCH_ROUTE' } } });
    const wrong = await call('DELETE', '/workers/youtube_worker/config');
    expect(wrong).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(wrong.headers['allow']).toBe('PUT');
    expect((await call('GET', '/orchestrator/pause')).headers['allow']).toBe('POST');
  });

  it('a named stage prefix and a trailing slash are fine', async () => {
    expect((await call('GET', '/prod/workers/', { stage: 'prod' })).status).toBe(200);
  });

  it('an event that is not an API Gateway event -> 404, not 500', async () => {
    for (const event of [undefined, null, 42, 'x', [], {}]) expect((await handle(event)).statusCode).toBe(404);
  });

  it('an adapter failure -> 500 with the request id, logged as an error', async () => {
    store.failing.add('readWorkerStates');
    const { status, body } = await call('GET', '/workers', { requestId: 'req-42' });
    expect(status).toBe(500);
    expect(body.error).toMatchObject({ code: 'INTERNAL', requestId: 'req-42' });
    expect(logger.entries.filter((e) => e.level === 'error')).toHaveLength(1);
  });
});
