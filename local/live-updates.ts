/**
 * The local stand-in for the WebSocket API: the real broadcaster Lambda (lambdas/realtime/
 * broadcaster.ts) consumes the embedded table's emulated stream, with the event source mapping's
 * own filters from the synthesized template, and pushes to WebSocket connections served by the
 * `ws` package instead of API Gateway's Management API. The connection store and the pusher are
 * the only local pieces: they stand at the AWS boundary, as in the rest of the local runtime.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { makeHandler as makeBroadcaster } from '../lambdas/realtime/broadcaster.js';
import type { RealtimeEvent } from '../lambdas/realtime/ports.js';
import type { EmbeddedDynamo } from './embedded-dynamodb.js';
import { silent } from './self-healing.js';
import { compileFilters, UnsupportedFilterError, type FilterPattern } from './stream-filter.js';
import { logicalIdFromArn, resolveIntrinsics, type CfnTemplate } from './template-asl.js';

export interface LiveUpdatesOptions {
  readonly dynamo: EmbeddedDynamo;
  readonly tableName: string;
  readonly template: CfnTemplate;
  /** Epoch-ms clock for the heartbeat's answer (the runtime's simulated clock). @default Date.now */
  readonly clock?: () => number;
}

export interface LiveUpdates {
  /** Accepts an HTTP upgrade as a live connection (the server checks the path and origin first). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open connections. */
  connections(): number;
  /** Delivers what the stream holds now to the broadcaster, and waits for its pushes. */
  flush(): Promise<void>;
  /** Cuts every open connection, as a network failure would (new connections are still accepted). */
  drop(): void;
  /** Detaches from the stream and closes every connection. */
  close(): Promise<void>;
}

type TemplateResource = { Type: string; Properties?: Record<string, unknown> };

/** The broadcaster's stream mapping in the template: its batch size and filter patterns. */
export interface BroadcasterMapping {
  readonly batchSize: number;
  readonly filters: readonly FilterPattern[];
}

/**
 * Finds the event source mapping on the table stream whose function is the broadcaster (service
 * name `broadcaster`); undefined when the template has none.
 */
export function broadcasterMappingOf(template: CfnTemplate): BroadcasterMapping | undefined {
  const resources = template.Resources as Record<string, TemplateResource>;
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping' || !r.Properties) continue;
    const fn = logicalIdFromArn(String(resolveIntrinsics(r.Properties['FunctionName'], template)));
    const vars = (resources[fn ?? '']?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    if (vars['POWERTOOLS_SERVICE_NAME'] !== 'broadcaster') continue;
    const criteria = r.Properties['FilterCriteria'] as { Filters?: { Pattern?: unknown }[] } | undefined;
    const filters = (criteria?.Filters ?? []).map((f) => (typeof f.Pattern === 'string' ? (JSON.parse(f.Pattern) as FilterPattern) : (f.Pattern as FilterPattern)));
    const batchSize = typeof r.Properties['BatchSize'] === 'number' ? r.Properties['BatchSize'] : 100;
    return { batchSize, filters };
  }
  return undefined;
}

/**
 * Whether the emulated stream can apply these filters (stream-filter.ts supports a subset). When it
 * cannot, every record goes to the broadcaster, which ignores the ones without events anyway.
 */
function supported(filters: readonly FilterPattern[]): boolean {
  if (filters.length === 0) return false;
  try {
    compileFilters(filters);
    return true;
  } catch (e) {
    if (e instanceof UnsupportedFilterError) return false;
    throw e;
  }
}

export function startLiveUpdates(options: LiveUpdatesOptions): LiveUpdates {
  const sockets = new Map<string, WebSocket>();
  let next = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  wss.on('connection', (socket) => {
    const id = `local-${++next}`;
    sockets.set(id, socket);
    socket.on('close', () => sockets.delete(id));
    socket.on('error', () => sockets.delete(id));
    // As the deployed API's `ping` route (lib/constructs/live-updates.ts): `{"action":"ping"}` is
    // answered `{"type":"pong","at":...}`; anything else the page sends is ignored.
    socket.on('message', (data: Buffer) => {
      let action: unknown;
      try {
        action = (JSON.parse(data.toString('utf8')) as { action?: unknown }).action;
      } catch {
        return;
      }
      if (action === 'ping') socket.send(JSON.stringify({ type: 'pong', at: new Date((options.clock ?? Date.now)()).toISOString() }));
    });
  });

  const broadcaster = makeBroadcaster({
    connections: {
      list: async () => [...sockets.keys()],
      remove: async (id: string) => {
        sockets.get(id)?.terminate();
        sockets.delete(id);
      },
    },
    push: {
      // 'gone' is what PostToConnection's 410 means: the broadcaster then removes the connection.
      push: (id: string, event: RealtimeEvent) =>
        new Promise<'ok' | 'gone'>((resolve) => {
          const socket = sockets.get(id);
          if (!socket || socket.readyState !== WebSocket.OPEN) {
            resolve('gone');
            return;
          }
          socket.send(JSON.stringify(event), (error) => resolve(error ? 'gone' : 'ok'));
        }),
    },
    logger: silent,
  });

  const mapping = broadcasterMappingOf(options.template);
  const consumer = options.dynamo.stream.deliverTo(broadcaster, {
    tableName: options.tableName,
    batchSize: mapping?.batchSize ?? 100,
    ...(mapping && supported(mapping.filters) ? { filters: mapping.filters } : {}),
  });

  return {
    handleUpgrade: (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    connections: () => sockets.size,
    flush: () => consumer.flush(),
    drop: () => {
      for (const socket of sockets.values()) socket.terminate();
    },
    close: async () => {
      consumer.stop();
      for (const socket of sockets.values()) socket.terminate();
      sockets.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
