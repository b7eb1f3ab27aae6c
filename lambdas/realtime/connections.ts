/**
 * The WebSocket API's $connect and $disconnect routes: one `WSCONN` / `<connectionId>` item per open
 * connection (adapters.ts), with a TTL at API Gateway's 2-hour connection limit, so a missed
 * $disconnect cleans itself up. $connect is IAM-authorized by API Gateway before this runs.
 *
 * The `ping` route (the page's heartbeat) answers `{"type":"pong","at":<now>}` and touches nothing.
 *
 * A store error is thrown: on $connect API Gateway then refuses the connection (500).
 */
import * as z from 'zod';
import type { ConnectionRegistry, RealtimeLogger } from './ports.js';

export interface ConnectionsDeps {
  readonly connections: ConnectionRegistry;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly logger: RealtimeLogger;
}

export interface WebSocketResult {
  readonly statusCode: number;
  readonly body?: string;
}

const WebSocketEvent = z.object({
  requestContext: z.object({
    routeKey: z.string().min(1),
    connectionId: z.string().min(1).max(128),
  }),
});

export function makeHandler(deps: ConnectionsDeps): (event: unknown) => Promise<WebSocketResult> {
  return async (event: unknown): Promise<WebSocketResult> => {
    const parsed = WebSocketEvent.safeParse(event);
    if (!parsed.success) {
      deps.logger.error('not a WebSocket route event', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      return { statusCode: 400, body: 'bad request' };
    }
    const { routeKey, connectionId } = parsed.data.requestContext;
    if (routeKey === '$connect') {
      await deps.connections.add(connectionId, deps.clock());
      deps.logger.info('connection opened', { connectionId });
      return { statusCode: 200 };
    }
    if (routeKey === '$disconnect') {
      await deps.connections.remove(connectionId);
      deps.logger.info('connection closed', { connectionId });
      return { statusCode: 200 };
    }
    if (routeKey === 'ping') return { statusCode: 200, body: JSON.stringify({ type: 'pong', at: new Date(deps.clock()).toISOString() }) };
    deps.logger.warn('unknown route: the live API only pushes', { routeKey, connectionId });
    return { statusCode: 400, body: `unknown route ${routeKey}` };
  };
}
