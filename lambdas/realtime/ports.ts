/**
 * The ports of the real-time Lambdas (the WebSocket API's connections and the stream broadcaster).
 * The AWS adapters are in adapters.ts; the local runtime (local/live-updates.ts) brings its own.
 */

export const REALTIME_EVENT_TYPES = ['report', 'alert', 'circuit', 'lock', 'mode', 'incident'] as const;
export type RealtimeEventType = (typeof REALTIME_EVENT_TYPES)[number];

/** What every connected client receives, one JSON message per event. */
export interface RealtimeEvent {
  readonly type: RealtimeEventType;
  /** The worker the event is about; null for the orchestrator's mode. */
  readonly worker: string | null;
  /** When it happened (ISO-8601). */
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The open WebSocket connections, as the broadcaster sees them. */
export interface ConnectionStore {
  list(): Promise<string[]>;
  remove(connectionId: string): Promise<void>;
}

/** The connections as $connect and $disconnect keep them. */
export interface ConnectionRegistry {
  add(connectionId: string, connectedAtMs: number): Promise<void>;
  remove(connectionId: string): Promise<void>;
}

/** Sends one event to one connection; `gone` when the connection no longer exists (API Gateway's 410). */
export interface ConnectionPusher {
  push(connectionId: string, event: RealtimeEvent): Promise<'ok' | 'gone'>;
}

/** The part of the Powertools Logger the real-time handlers use (tests pass a fake). */
export interface RealtimeLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}
