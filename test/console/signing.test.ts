/**
 * The console's signing, offline: a local stand-in for API Gateway that verifies SigV4 the way AWS
 * does (the canonical request rebuilt from what arrived, with the caller's secret) and refuses
 * anything else, behind the real console server. Requests through the console pass; a tampered
 * request, an unsigned one and one signed with another secret are refused; the live WebSocket's
 * `$connect` is signed too; nothing secret reaches the page.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startConsoleServer, type ConsoleServer } from '../../local/console/server.js';
import { makeSigner, parseAuthorization } from '../../local/console/signing.js';

const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
const verifier = makeSigner({ region: REGION, credentials: CREDENTIALS });

/** What the stand-in saw, per request (the headers as they arrived, to replay them). */
const seen: { path: string; verdict: string; headers: Record<string, string> }[] = [];

const headersOf = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out[k] = v;
  return out;
};

/** SigV4 verification as API Gateway does it: recompute the signature over the signed headers. */
async function verify(req: IncomingMessage, body: Buffer): Promise<string> {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return 'missing or malformed Authorization';
  if (auth.accessKeyId !== CREDENTIALS.accessKeyId) return 'unknown access key';
  if (auth.service !== 'execute-api' || auth.region !== REGION) return 'wrong scope';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return 'missing x-amz-date';
  const signingDate = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  if (Math.abs(Date.now() - signingDate.getTime()) > 5 * 60_000) return 'request too old';
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = req.headers[name];
    if (typeof v !== 'string') return `signed header ${name} missing`;
    if (name !== 'host') headers[name] = v;
  }
  if (!auth.signedHeaders.includes('host')) return 'host not signed';
  // A signed payload hash must be the body's (the canonical request then holds it, not the body).
  const claimed = req.headers['x-amz-content-sha256'];
  if (typeof claimed === 'string' && claimed !== createHash('sha256').update(body).digest('hex')) return 'payload hash mismatch';
  const expected = await verifier.sign({ method: req.method ?? 'GET', url: `http://${req.headers.host}${req.url}`, headers, body }, signingDate);
  return parseAuthorization(expected['authorization'])?.signature === auth.signature ? 'ok' : 'signature mismatch';
}

let api: Server;
let apiUrl: string;
let live: WebSocketServer;
let consoleServer: ConsoleServer;

beforeAll(async () => {
  live = new WebSocketServer({ noServer: true });
  live.on('connection', (socket) => {
    socket.send(JSON.stringify({ type: 'mode', worker: null, at: '2026-03-02T04:00:00.000Z', data: { mode: 'RUNNING' } }));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString()) as { action?: string }).action === 'ping') socket.send(JSON.stringify({ type: 'pong', at: '2026-03-02T04:00:01.000Z' }));
    });
  });
  api = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      void verify(req, body).then((verdict) => {
        seen.push({ path: req.url ?? '', verdict, headers: headersOf(req) });
        res.writeHead(verdict === 'ok' ? 200 : 403, { 'content-type': 'application/json' });
        res.end(JSON.stringify(verdict === 'ok' ? { path: req.url, body: body.toString(), idempotencyKey: req.headers['idempotency-key'] ?? null } : { message: verdict }));
      });
    });
  });
  api.on('upgrade', (req, socket, head) => {
    void verify(req, Buffer.alloc(0)).then((verdict) => {
      seen.push({ path: `upgrade ${req.url}`, verdict, headers: headersOf(req) });
      if (verdict !== 'ok') {
        socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
        return;
      }
      live.handleUpgrade(req, socket, head, (ws) => live.emit('connection', ws, req));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  consoleServer = await startConsoleServer({ apiUrl: `${apiUrl}/prod`, liveUrl: `${apiUrl.replace('http', 'ws')}/live`, signer: makeSigner({ region: REGION, credentials: CREDENTIALS }), environment: 'AuraStreamOrchestrator', region: REGION, operator: 'ops-alice' });
});

afterAll(async () => {
  await consoleServer?.close();
  live?.close();
  api?.closeAllConnections();
  await new Promise<void>((resolve) => api.close(() => resolve()));
});

/** A raw request to the stand-in with exactly these headers. */
function raw(method: string, path: string, headers: Record<string, string>, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${apiUrl}${path}`, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the console signs every API call', () => {
  it('forwards the page\'s requests under the stage path, signed, and relays the answers without any signing header', async () => {
    const get = await fetch(`${consoleServer.url}/workers?limit=5`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ path: '/prod/workers?limit=5', body: '', idempotencyKey: null });
    for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token']) expect(get.headers.get(name)).toBeNull();

    const post = await fetch(`${consoleServer.url}/workers/coach_cleanup_worker/jobs/cleanup/backfill`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1', cookie: 'secret=1' }, body: '{"from":"a","to":"b"}' });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ path: '/prod/workers/coach_cleanup_worker/jobs/cleanup/backfill', body: '{"from":"a","to":"b"}', idempotencyKey: 'k-1' });
    expect(seen.slice(-2).map((s) => s.verdict)).toEqual(['ok', 'ok']);
  });

  it('the stand-in refuses a tampered request, an unsigned one and one signed with another secret', async () => {
    const url = `${apiUrl}/prod/workers/youtube_worker/trigger`;
    const signed = await verifier.sign({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await raw('POST', '/prod/workers/youtube_worker/trigger', signed, '{}')).toBe(200);
    // The same signature on another body, another path, another method: refused.
    expect(await raw('POST', '/prod/workers/youtube_worker/trigger', signed, '{"job":"games"}')).toBe(403);
    expect(await raw('POST', '/prod/workers/twitch_worker/trigger', signed, '{}')).toBe(403);
    expect(await raw('PUT', '/prod/workers/youtube_worker/trigger', signed, '{}')).toBe(403);
    const { authorization: _dropped, ...unsigned } = signed;
    expect(await raw('POST', '/prod/workers/youtube_worker/trigger', unsigned, '{}')).toBe(403);
    const other = await makeSigner({ region: REGION, credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret' } }).sign({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await raw('POST', '/prod/workers/youtube_worker/trigger', other, '{}')).toBe(403);
    expect(seen.slice(-5).map((s) => s.verdict)).toEqual([expect.stringMatching(/^(payload hash|signature) mismatch$/), 'signature mismatch', 'signature mismatch', 'missing or malformed Authorization', 'signature mismatch']);
  });

  it('the incidents routes go through signed: the listing, and an Ack whose body cannot be changed on the way', async () => {
    const list = await fetch(`${consoleServer.url}/incidents?state=resolved&limit=5`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ path: '/prod/incidents?state=resolved&limit=5' });
    const id = 'analytics_flush_worker~flush~WORKER_CRASH~1';
    const body = JSON.stringify({ by: 'ops-alice' });
    const ack = await fetch(`${consoleServer.url}/incidents/${encodeURIComponent(id)}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({ path: `/prod/incidents/${encodeURIComponent(id)}/ack`, body });
    const signedAck = seen.at(-1);
    expect(signedAck?.verdict).toBe('ok');

    // The same signed request replayed as is passes; with the acknowledger changed, or another incident, it is refused.
    const path = `/prod/incidents/${encodeURIComponent(id)}/ack`;
    // As they arrived, less the framing headers a new request sets for its own body.
    const { 'content-length': _length, connection: _connection, ...headers } = signedAck?.headers ?? {};
    expect(await raw('POST', path, headers, body)).toBe(200);
    expect(await raw('POST', path, headers, JSON.stringify({ by: 'mallory' }))).toBe(403);
    expect(await raw('POST', `/prod/incidents/${encodeURIComponent('youtube_worker~games~DEPENDENCY_FAILURE~1')}/ack`, headers, body)).toBe(403);
    expect(seen.slice(-2).map((s) => s.verdict)).toEqual([expect.stringMatching(/^(payload hash|signature) mismatch$/), 'signature mismatch']);
  });

  it('opens the live WebSocket with a signed $connect and relays both ways (the heartbeat included)', async () => {
    const socket = new WebSocket(`${consoleServer.url.replace('http', 'ws')}/live`);
    const messages: string[] = [];
    socket.on('message', (d: Buffer) => messages.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ action: 'ping' }));
    await expect.poll(() => messages.length).toBe(2);
    expect(messages.map((m) => (JSON.parse(m) as { type: string }).type)).toEqual(['mode', 'pong']);
    expect(seen.filter((s) => s.path === 'upgrade /live').map((s) => s.verdict)).toEqual(['ok']);
    socket.close();
  });

  it('a console with the wrong secret gets nothing: 403 relayed, and the live socket closed', async () => {
    const bad = await startConsoleServer({ apiUrl: `${apiUrl}/prod`, liveUrl: `${apiUrl.replace('http', 'ws')}/live`, signer: makeSigner({ region: REGION, credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' } }), environment: 'x', region: REGION });
    try {
      expect((await fetch(`${bad.url}/workers`)).status).toBe(403);
      const socket = new WebSocket(`${bad.url.replace('http', 'ws')}/live`);
      const code = await new Promise<number>((resolve) => socket.on('close', (c: number) => resolve(c)));
      expect(code).toBe(1011);
    } finally {
      await bad.close();
    }
  });

  it('serves the same page file, and nothing secret reaches the browser', async () => {
    const page = await (await fetch(`${consoleServer.url}/`)).text();
    expect(page).toContain('<script type="module" src="/app.js"></script>');
    const info = await (await fetch(`${consoleServer.url}/console.json`)).json();
    expect(info).toEqual({ environment: 'AuraStreamOrchestrator', region: REGION, operator: 'ops-alice' });
    for (const body of [page, JSON.stringify(info), await (await fetch(`${consoleServer.url}/app.js`)).text()]) {
      expect(body).not.toContain(CREDENTIALS.accessKeyId);
      expect(body).not.toContain(CREDENTIALS.secretAccessKey);
      expect(body).not.toContain(CREDENTIALS.sessionToken);
    }
    // Another site's page cannot use the console.
    expect((await fetch(`${consoleServer.url}/workers`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
  });
});
