/**
 * The local HTTP API and dashboard: a node:http server on 127.0.0.1 in front of the real API
 * Lambda (lambdas/api/app.ts `makeHandler`) with its real DynamoDB adapter over the embedded table,
 * and the local runner as its pipeline starter. Each request becomes an API Gateway HTTP API
 * (payload v2) event, as API Gateway would send it. It also serves the dashboard page
 * (local/dashboard/) at `/` and the live updates WebSocket at `/live` (live-updates.ts).
 *
 * NO AUTHENTICATION: the deployed API is IAM-authorized; this server binds the loopback interface
 * only and is meant for the developer's own machine. As a guard against other web pages in the
 * same browser, it refuses a request whose `Host` is not a loopback name (DNS rebinding) or whose
 * `Origin` is another site's (cross-site requests and WebSocket hijacking).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { makeHandler as makeApiHandler } from '../lambdas/api/app.js';
import { DynamoStatusStore } from '../lambdas/api/dynamo-status-store.js';
import type { BackfillStarter, PipelineStarter, StartExecutionRequest } from '../lambdas/api/ports.js';
import { matchRoute, ROUTES } from '../lambdas/api/routes.js';
import { startLiveUpdates, type LiveUpdates } from './live-updates.js';
import { CONSOLE_INFO_PATH, defaultOperator, readBody, readPageFiles, send, sendJson, servePageFile, trusted } from './page.js';
import type { LocalRuntime } from './runtime.js';
import { silent } from './self-healing.js';
import { ExecutionAlreadyExists, type LocalExecution } from './step-functions-runner.js';
import { logicalIdFromArn, resolveIntrinsics, type CfnTemplate } from './template-asl.js';

/** The only interface the server listens on. */
export const LOCAL_API_HOST = '127.0.0.1';
/** Largest request body read, in bytes; the API itself answers 400 above its own, smaller limit. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** The WebSocket path of the live updates. */
export const LIVE_PATH = '/live';
export { CONSOLE_INFO_PATH } from './page.js';


export interface LocalApiServerOptions {
  readonly runtime: LocalRuntime;
  /** Epoch-ms clock of the runtime (the simulated clock). */
  readonly clock: () => number;
  /** @default 0 - any free port */
  readonly port?: number;
  /** Where the page's files are. @default local/dashboard next to this module */
  readonly dashboardDir?: string;
  /** Who the page's Ack names. @default defaultOperator() - the login name */
  readonly operator?: string;
}

export interface LocalApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Executions the API started on the local runner (not the ones that already existed). */
  readonly started: readonly LocalExecution[];
  /** Open live connections. */
  liveConnections(): number;
  /** Delivers what the table stream holds now to the live connections. */
  flushLive(): Promise<void>;
  /** Cuts the open live connections, as a network failure would: the page shows it is disconnected, then reconnects. */
  dropLive(): void;
  close(): Promise<void>;
}

type TemplateResource = { Type: string; Properties?: Record<string, unknown> };

/**
 * The pipelines a manual trigger may start, `<workerId>.<jobId>` → state machine ARN: the API
 * function's `PIPELINES` in the template, else the recovery function's `PIPELINE_ARNS` (the same
 * map) for a template without the API.
 */
export function pipelinesOf(template: CfnTemplate): Record<string, string> {
  const fromFunction = (service: string, name: string): Record<string, string> | undefined => {
    for (const r of Object.values(template.Resources as Record<string, TemplateResource>)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const vars = (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      if (vars['POWERTOOLS_SERVICE_NAME'] !== service || vars[name] === undefined) continue;
      return JSON.parse(String(resolveIntrinsics(vars[name], template))) as Record<string, string>;
    }
    return undefined;
  };
  return fromFunction('api', 'PIPELINES') ?? fromFunction('recovery', 'PIPELINE_ARNS') ?? {};
}

/** The backfill state machine's ARN in the template (the API function's BACKFILL_STATE_MACHINE_ARN), or undefined. */
export function backfillArnOf(template: CfnTemplate): string | undefined {
  for (const r of Object.values(template.Resources as Record<string, TemplateResource>)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    if (vars['POWERTOOLS_SERVICE_NAME'] === 'api' && vars['BACKFILL_STATE_MACHINE_ARN'] !== undefined) return String(resolveIntrinsics(vars['BACKFILL_STATE_MACHINE_ARN'], template));
  }
  return undefined;
}

/** The local runner behind the API's BackfillStarter port: the backfill state machine of the template. */
export function localBackfillStarter(runtime: LocalRuntime, backfillArn: string, pipelines: Readonly<Record<string, string>>, started: LocalExecution[]): BackfillStarter {
  return {
    start: async ({ name, worker, job, runs }) => {
      const input = {
        worker,
        job,
        runs: runs.map((r) => {
          const stateMachineArn = pipelines[r.pipelineKey];
          if (stateMachineArn === undefined) throw new Error(`no pipeline ${r.pipelineKey}`);
          return { stateMachineArn, name: r.name, input: r.input };
        }),
      };
      try {
        const execution = runtime.runner.startExecution(logicalIdFromArn(backfillArn) ?? backfillArn, input, { name });
        started.push(execution);
        return { executionArn: execution.executionArn, alreadyExisted: false };
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists) return { executionArn: null, alreadyExisted: true };
        throw e;
      }
    },
  };
}

/** The local runner behind the API's PipelineStarter port, as self-healing.ts does for recoveries. */
export function localPipelineStarter(runtime: LocalRuntime, pipelines: Readonly<Record<string, string>>, started: LocalExecution[]): PipelineStarter {
  return {
    pipelineKeys: Object.keys(pipelines),
    start: async ({ pipelineKey, name, input }: StartExecutionRequest) => {
      const arn = pipelines[pipelineKey];
      if (arn === undefined) throw new Error(`no pipeline ${pipelineKey}`);
      try {
        const execution = runtime.runner.startExecution(logicalIdFromArn(arn) ?? arn, input, { name });
        started.push(execution);
        return { executionArn: execution.executionArn, alreadyExisted: false };
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists) return { executionArn: null, alreadyExisted: true };
        throw e;
      }
    },
  };
}

/** API Gateway's `routeKey` and `pathParameters` for a request (`$default` when no route matches). */
function routeOf(method: string, path: string): { routeKey: string; pathParameters?: Record<string, string> } {
  const match = matchRoute(method, path);
  if (match.kind !== 'route') return { routeKey: '$default' };
  const route = ROUTES.find((r) => r.name === match.route);
  const template = (route?.pattern ?? []).map((p: string) => (p.startsWith(':') ? `{${p.slice(1)}}` : p)).join('/');
  return { routeKey: `${method} /${template}`, ...(Object.keys(match.params).length > 0 ? { pathParameters: { ...match.params } } : {}) };
}

/** The request as an API Gateway HTTP API payload v2 event. */
export function toApiEvent(request: IncomingMessage, body: Buffer, nowMs: number): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://local');
  const method = (request.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const cookies = request.headers.cookie?.split(';').map((c) => c.trim()).filter((c) => c.length > 0);
  const textual = body.length === 0 || /json|text/.test(headers['content-type'] ?? 'application/json');
  const requestId = randomUUID();
  const route = routeOf(method, url.pathname);
  return {
    version: '2.0',
    ...route,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers['host'] ?? LOCAL_API_HOST,
      domainPrefix: 'local',
      http: { method, path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? LOCAL_API_HOST, userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: new Date(nowMs).toUTCString(),
      timeEpoch: nowMs,
    },
    ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !textual,
  };
}

export async function startLocalApiServer(options: LocalApiServerOptions): Promise<LocalApiServer> {
  const { runtime, clock } = options;
  const started: LocalExecution[] = [];
  const pipelines = pipelinesOf(runtime.template);
  const backfillArn = backfillArnOf(runtime.template);
  const api = makeApiHandler({
    store: new DynamoStatusStore(documentClient(runtime.dynamo.client as DynamoDBClient), runtime.tableName),
    pipelines: localPipelineStarter(runtime, pipelines, started),
    ...(backfillArn !== undefined ? { backfills: localBackfillStarter(runtime, backfillArn, pipelines, started) } : {}),
    clock,
    logger: silent,
  });

  // The page: the files of the dashboard folder, read once (no path from the request reaches the disk).
  const files = readPageFiles(options.dashboardDir);

  const operator = options.operator ?? defaultOperator();
  const live: LiveUpdates = startLiveUpdates({ dynamo: runtime.dynamo, tableName: runtime.tableName, template: runtime.template, clock });
  let port = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!trusted(request, port)) return sendJson(response, 403, { error: { code: 'FORBIDDEN', message: 'the local API answers loopback requests from its own page only' } });
    const method = (request.method ?? 'GET').toUpperCase();
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (path === CONSOLE_INFO_PATH && method === 'GET') return sendJson(response, 200, { environment: 'local', region: null, operator });
    if (servePageFile(files, method, path, response)) return;
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === 'tooLarge') return sendJson(response, 413, { error: { code: 'BODY_TOO_LARGE', message: `body: at most ${MAX_REQUEST_BYTES} bytes` } });
    const result = (await api(toApiEvent(request, body, clock()))) as APIGatewayProxyStructuredResultV2;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    send(response, result.statusCode ?? 200, headers, result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      console.error(`local API: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else response.end();
    });
  });
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (path !== LIVE_PATH || !trusted(request, port)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
      return;
    }
    live.handleUpgrade(request, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOCAL_API_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${LOCAL_API_HOST}:${port}`,
    port,
    started,
    liveConnections: () => live.connections(),
    flushLive: () => live.flush(),
    dropLive: () => live.drop(),
    close: async () => {
      await live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
