/**
 * The local HTTP API (local/api-server.ts) over real HTTP: the real API Lambda with its DynamoDB
 * adapter on the embedded table, the local runner starting the synthesized pipelines, the page's
 * files, and the live updates WebSocket fed by the real broadcaster on the table stream.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BROADCAST_PATTERNS } from '../../lib/constructs/live-updates.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { broadcasterMappingOf } from '../../local/live-updates.js';
import { synthesizeTemplate } from '../../local/runtime.js';
import { startServedRuntime, type ServedRuntime } from '../browser/served-runtime.js';

const WORKER = 'coach_cleanup_worker';
const JOB = 'cleanup';

let served: ServedRuntime;

beforeAll(async () => {
  served = await startServedRuntime(synthesizeTemplate());
});

afterAll(async () => {
  await served?.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

/** One HTTP request with node:http (full control of Host and Origin, unlike fetch). */
function call(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${served.server.url}${path}`, { method, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const executionsOf = (worker: string, job: string) => served.runtime.runner.listExecutions(served.runtime.pipelineOf(worker, job));

describe('the local API', () => {
  it('GET /workers lists every worker of the registry', async () => {
    const reply = await call('GET', '/workers');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/application\/json/);
    const workers = reply.json()['workers'] as { id: string; circuit: { state: string } }[];
    expect(workers.map((w) => w.id).sort()).toEqual(ALL_WORKERS.map((w) => w.id).sort());
    expect(workers).toHaveLength(14);
    expect(workers.every((w) => w.circuit.state === 'CLOSED')).toBe(true);
  });

  it('a double-clicked trigger (two requests, one Idempotency-Key) starts exactly one execution, which runs and reports', async () => {
    const before = executionsOf(WORKER, JOB).length;
    const startedBefore = served.server.started.length;
    const invokedBefore = served.invocations[WORKER] ?? 0;
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'double-click-1' };
    const [a, b] = await Promise.all([call('POST', `/workers/${WORKER}/trigger`, { headers, body: '{}' }), call('POST', `/workers/${WORKER}/trigger`, { headers, body: '{}' })]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(a.json()['executionName']).toBe(b.json()['executionName']);
    expect(executionsOf(WORKER, JOB).length - before).toBe(1);
    expect(served.server.started.length - startedBefore).toBe(1);

    const execution = served.server.started.at(-1);
    expect(execution?.name).toBe(a.json()['executionName']);
    expect((await execution?.result)?.status).toBe('SUCCEEDED');
    expect((served.invocations[WORKER] ?? 0) - invokedBefore).toBe(1);
    // A third request with the same key, after the run: still the same execution, nothing new.
    const again = await call('POST', `/workers/${WORKER}/trigger`, { headers, body: '{}' });
    expect(again.status).toBe(200);
    expect(again.json()['replayed']).toBe(true);
    expect(executionsOf(WORKER, JOB).length - before).toBe(1);

    const reports = (await call('GET', `/workers/${WORKER}/reports`)).json()['items'] as { executionId: string; status: string }[];
    expect(reports.filter((r) => r.executionId.endsWith(`:${String(a.json()['executionName'])}`)).map((r) => r.status)).toEqual(['SUCCEEDED']);
  });

  it('bad JSON is a 400 that starts nothing', async () => {
    const before = served.server.started.length;
    const reply = await call('POST', `/workers/${WORKER}/trigger`, { headers: { 'content-type': 'application/json', 'idempotency-key': 'bad-json-1' }, body: '{"job": ' });
    expect(reply.status).toBe(400);
    expect((reply.json()['error'] as { code: string }).code).toBe('MALFORMED_JSON');
    const missingKey = await call('POST', `/workers/${WORKER}/trigger`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(missingKey.status).toBe(400);
    expect(served.server.started.length).toBe(before);
  });

  it('unknown paths are 404 and wrong methods 405, in the API error shape', async () => {
    const missing = await call('GET', '/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.json()['error']).toBeDefined();
    const wrong = await call('DELETE', '/workers');
    expect(wrong.status).toBe(405);
  });

  it('serves the dashboard page and its script at /', async () => {
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('/app.js');
    const script = await call('GET', '/app.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
  });

  it('refuses other sites: a foreign Origin or a non-loopback Host is a 403 and starts nothing', async () => {
    const before = served.server.started.length;
    const foreign = await call('POST', '/orchestrator/pause', { headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '{}' });
    expect(foreign.status).toBe(403);
    const rebound = await call('POST', `/workers/${WORKER}/trigger`, { headers: { host: 'evil.example', 'idempotency-key': 'rebind-1' }, body: '{}' });
    expect(rebound.status).toBe(403);
    expect(served.server.started.length).toBe(before);
    expect(((await call('GET', '/workers')).json()['orchestrator'] as { mode: string }).mode).toBe('RUNNING');
    // The page's own origin is accepted.
    const own = await call('GET', '/workers', { headers: { origin: served.server.url } });
    expect(own.status).toBe(200);
  });

  it('the WebSocket at /live receives the report event of a run, pushed by the broadcaster from the table stream', async () => {
    const socket = new WebSocket(`${served.server.url.replace('http', 'ws')}/live`);
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    try {
      expect(served.server.liveConnections()).toBeGreaterThanOrEqual(1);
      const reply = await call('POST', `/workers/${WORKER}/trigger`, { headers: { 'content-type': 'application/json', 'idempotency-key': 'live-1' }, body: '{}' });
      expect(reply.status).toBe(202);
      const name = String(reply.json()['executionName']);
      const execution = served.server.started.find((e) => e.name === name);
      expect((await execution?.result)?.status).toBe('SUCCEEDED');
      await served.server.flushLive();
      await expect.poll(() => messages.find((m) => m['type'] === 'report' && String((m['data'] as { executionId?: string }).executionId).endsWith(`:${name}`)), { timeout: 10_000 }).toBeDefined();
      const report = messages.find((m) => m['type'] === 'report' && String((m['data'] as { executionId?: string }).executionId).endsWith(`:${name}`));
      expect(report).toMatchObject({ type: 'report', worker: WORKER, data: { job: JOB, status: 'SUCCEEDED' } });
    } finally {
      socket.close();
    }
  });

  it('feeds the broadcaster with the event source filters of the synthesized template', () => {
    const mapping = broadcasterMappingOf(served.runtime.template);
    expect(mapping?.filters).toEqual(Object.values(BROADCAST_PATTERNS));
  });

  it('refuses a WebSocket from another site', async () => {
    const socket = new WebSocket(`${served.server.url.replace('http', 'ws')}/live`, { headers: { origin: 'https://evil.example' } });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('open', () => resolve('open'));
      socket.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      socket.once('error', (e) => resolve(`error ${e.message}`));
    });
    socket.terminate();
    expect(outcome).toBe('status 403');
  });
});
