/**
 * The console: the same page (local/dashboard/) for a deployed stack. A node:http server on
 * 127.0.0.1 serves the page and forwards each API request the page makes to the stack's status API,
 * signed with SigV4 (signing.ts) from the credentials the console holds; `/live` is bridged to the
 * stack's live-updates WebSocket, opened with a signed `$connect`. The browser sees its own origin
 * only: no credential, signature or AWS endpoint reaches it.
 *
 * | failure                               | handling                                                 |
 * |---------------------------------------|----------------------------------------------------------|
 * | a request from another site / host    | 403, nothing forwarded                                   |
 * | the API answers 4xx/5xx               | relayed as is (the page shows the API's message)         |
 * | the API cannot be reached or signing  | 502 `{ error: { code: 'UPSTREAM', message } }`           |
 * | fails (expired credentials, network)  |                                                          |
 * | the live WebSocket refuses or drops   | the page's socket is closed: it shows "disconnected" and |
 * |                                       | reconnects, which opens (and signs) a new upstream       |
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { CONSOLE_INFO_PATH, defaultOperator, readBody, readPageFiles, send, sendJson, servePageFile, trusted } from '../page.js';
import type { Signer } from './signing.js';

export const CONSOLE_HOST = '127.0.0.1';
/** Largest request body forwarded, in bytes (the API's own limit is 64 KiB). */
export const MAX_FORWARD_BYTES = 1024 * 1024;
/** How long a forwarded request may take, in ms (API Gateway's integration limit is 30 s). */
export const UPSTREAM_TIMEOUT_MS = 35_000;
/** Request headers of the page that the API reads; everything else (cookies, origin) stays here. */
const FORWARDED_HEADERS = ['accept', 'content-type', 'idempotency-key'] as const;

export interface ConsoleServerOptions {
  /** The status API's invoke URL (the stack output StatusApiUrl). */
  readonly apiUrl: string;
  /** The live-updates WebSocket URL (the stack output LiveUpdatesUrl), or null for none. */
  readonly liveUrl: string | null;
  readonly signer: Signer;
  /** Shown in the page's header. */
  readonly environment: string;
  readonly region: string;
  /** @default 0 - any free port */
  readonly port?: number;
  /** @default local/dashboard */
  readonly dashboardDir?: string;
  /** Who the page's Ack names. @default defaultOperator() - the login name */
  readonly operator?: string;
}

export interface ConsoleServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** One HTTP(S) request with exactly these headers (fetch would add its own, which are not signed). */
function forward(url: URL, method: string, headers: Record<string, string>, body: Buffer): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, timeout: UPSTREAM_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out: Record<string, string> = {};
        for (const name of ['content-type', 'cache-control', 'allow']) {
          const v = res.headers[name];
          if (typeof v === 'string') out[name] = v;
        }
        resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${UPSTREAM_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body.length > 0 ? body : undefined);
  });
}

/** The upstream URL of a page request: the API's base URL (with its stage path) + the path and query. */
export function upstreamUrl(apiUrl: string, requestUrl: string): URL {
  const base = new URL(apiUrl);
  const incoming = new URL(requestUrl, 'http://console');
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${base.protocol}//${base.host}${prefix}${incoming.pathname}${incoming.search}`);
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const files = readPageFiles(options.dashboardDir);
  let port = 0;
  const info = { environment: options.environment, region: options.region, operator: options.operator ?? defaultOperator() };

  const handle = async (request: IncomingMessage, response: import('node:http').ServerResponse): Promise<void> => {
    if (!trusted(request, port)) return sendJson(response, 403, { error: { code: 'FORBIDDEN', message: 'the console answers loopback requests from its own page only' } });
    const method = (request.method ?? 'GET').toUpperCase();
    const path = new URL(request.url ?? '/', 'http://console').pathname;
    if (path === CONSOLE_INFO_PATH && method === 'GET') return sendJson(response, 200, info);
    if (servePageFile(files, method, path, response)) return;
    const body = await readBody(request, MAX_FORWARD_BYTES);
    if (body === 'tooLarge') return sendJson(response, 413, { error: { code: 'BODY_TOO_LARGE', message: `body: at most ${MAX_FORWARD_BYTES} bytes` } });
    const url = upstreamUrl(options.apiUrl, request.url ?? '/');
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const v = request.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    let upstream: UpstreamResponse;
    try {
      const signed = await options.signer.sign({ method, url: url.toString(), headers, body });
      upstream = await forward(url, method, signed, body);
    } catch (e) {
      return sendJson(response, 502, { error: { code: 'UPSTREAM', message: `the status API could not be reached: ${e instanceof Error ? e.message : String(e)}` } });
    }
    send(response, upstream.status, upstream.headers, upstream.body);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      console.error(`console: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else response.end();
    });
  });

  // /live: one signed upstream connection per page connection, messages relayed both ways.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const bridges = new Set<{ page: WebSocket; upstream: WebSocket }>();
  wss.on('connection', (page: WebSocket) => {
    const liveUrl = options.liveUrl;
    if (liveUrl === null) {
      page.close(1011, 'no live updates URL');
      return;
    }
    void (async () => {
      let headers: Record<string, string>;
      try {
        headers = await options.signer.sign({ method: 'GET', url: liveUrl, headers: {} });
      } catch (e) {
        page.close(1011, `signing failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 120));
        return;
      }
      delete headers['host']; // ws sets it from the URL, the same value
      const upstream = new WebSocket(liveUrl, { headers, handshakeTimeout: 10_000 });
      const bridge = { page, upstream };
      bridges.add(bridge);
      const pending: string[] = [];
      upstream.on('open', () => {
        for (const m of pending.splice(0)) upstream.send(m);
      });
      upstream.on('message', (data: Buffer) => {
        if (page.readyState === WebSocket.OPEN) page.send(data.toString('utf8'));
      });
      const end = (code: number, reason: string) => {
        bridges.delete(bridge);
        if (page.readyState === WebSocket.OPEN || page.readyState === WebSocket.CONNECTING) page.close(code, reason.slice(0, 120));
        if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      };
      upstream.on('unexpected-response', (_req, res) => end(1011, `live updates refused the connection: HTTP ${res.statusCode ?? '?'}`));
      upstream.on('error', (e) => end(1011, `live updates: ${e.message}`));
      upstream.on('close', () => end(1001, 'live updates closed'));
      page.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else if (upstream.readyState === WebSocket.CONNECTING) pending.push(text);
      });
      page.on('close', () => end(1000, 'page closed'));
    })();
  });
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://console').pathname;
    if (path !== '/live' || !trusted(request, port)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, CONSOLE_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${CONSOLE_HOST}:${port}`,
    port,
    close: async () => {
      for (const b of bridges) {
        b.upstream.terminate();
        b.page.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
