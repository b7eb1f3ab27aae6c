/**
 * What the local API server (api-server.ts) and the console (console/server.ts) share to serve the
 * one page (local/dashboard/): its files, read once, and the guard against other sites. Both bind
 * the loopback interface only; a request whose `Host` is not a loopback name (DNS rebinding) or
 * whose `Origin` is another site's (cross-site requests, WebSocket hijacking) is refused.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};
/** The page's own policy: its origin only (the API and the live WebSocket are on it). */
export const PAGE_CSP = "default-src 'self'; connect-src 'self'";
/** The page's header info: `{ environment, region, operator }` (the operator is who an Ack names). */
export const CONSOLE_INFO_PATH = '/console.json';

/** Who acknowledges from this page: the login name of the user running the server. */
export function defaultOperator(): string {
  try {
    const name = userInfo().username.trim();
    if (name !== '') return name;
  } catch {
    // No user entry (some containers): fall through.
  }
  return 'operator';
}

export type PageFiles = ReadonlyMap<string, { readonly type: string; readonly body: Buffer }>;

/** The page's files by URL path (`/` is index.html); no path from a request ever reaches the disk. */
export function readPageFiles(dir: string = DASHBOARD_DIR): PageFiles {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type !== undefined) files.set(`/${name}`, { type, body: readFileSync(join(dir, name)) });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A request from this machine's own page or a non-browser client; never from another site. */
export function trusted(request: IncomingMessage, port: number): boolean {
  const host = request.headers.host ?? '';
  const hostname = host.replace(/:\d+$/, '');
  if (!LOOPBACK_HOSTS.has(hostname)) return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const o = new URL(origin);
    return LOOPBACK_HOSTS.has(o.hostname) && Number(o.port) === port;
  } catch {
    return false;
  }
}

export function send(response: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: string | Buffer): void {
  response.writeHead(status, { 'x-content-type-options': 'nosniff', ...headers });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, payload: unknown): void {
  send(response, status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, JSON.stringify(payload));
}

/** Serves a page file for GET/HEAD; false when the path is not one. */
export function servePageFile(files: PageFiles, method: string, path: string, response: ServerResponse): boolean {
  const file = files.get(path);
  if (!file || (method !== 'GET' && method !== 'HEAD')) return false;
  send(response, 200, { 'content-type': file.type, 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP }, method === 'HEAD' ? '' : file.body);
  return true;
}

/** Reads a request body up to `maxBytes`; 'tooLarge' beyond. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | 'tooLarge'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'tooLarge' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
