/**
 * The local runtime with its HTTP API, page and live updates up (local/api-server.ts), for the
 * api-server and browser tests: the synthesized template, the real protocol Lambda, the real
 * workers in-process (coach_cleanup_worker and analytics_flush_worker need nothing but the table;
 * the sandbox-backed ones fail every run here, as no sandbox is started, which the browser test
 * uses to open a circuit), the real anomaly Lambda on the stream, and the server on 127.0.0.1,
 * port 0.
 */
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { DynamoDataStore } from '../../lambdas/kit/data-store.js';
import { InMemorySecretSource } from '../../lambdas/kit/secrets.js';
import { WORKER_HANDLERS } from '../../lambdas/workers/index.js';
import { startLocalApiServer, type LocalApiServer } from '../../local/api-server.js';
import { startLocalRuntime, SimulatedClock, type LambdaHandler, type LocalRuntime } from '../../local/runtime.js';
import { LocalAlertSink, silent } from '../../local/self-healing.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { SharedMemoryMeter } from '../../local/memory-meter.js';

export interface ServedRuntime {
  readonly runtime: LocalRuntime;
  readonly server: LocalApiServer;
  readonly clock: SimulatedClock;
  /** Worker invocations by worker id. */
  readonly invocations: Record<string, number>;
  /** Every worker invocation's worker and slot, in order. */
  readonly runs: { readonly worker: string; readonly scheduledTime: string }[];
  /** Holds the next invocations of a worker until the returned function is called. */
  hold(workerId: string): () => void;
  close(): Promise<void>;
}

export const T0 = Date.parse('2026-03-02T04:00:00.000Z');
/** Who the page acknowledges as (the server's /console.json). */
export const OPERATOR = 'ops-alice';

export async function startServedRuntime(template: CfnTemplate): Promise<ServedRuntime> {
  const clock = new SimulatedClock(T0);
  const handlers: Record<string, LambdaHandler> = {};
  const invocations: Record<string, number> = {};
  const runs: { worker: string; scheduledTime: string }[] = [];
  const holds = new Map<string, Promise<void>>();
  const runtime = await startLocalRuntime({ clock, template, workerHandlers: handlers, alertSink: new LocalAlertSink() });
  const store = new DynamoDataStore({ client: documentClient(runtime.dynamo.client), tableName: runtime.tableName, clock: () => clock.now() });
  const secrets = new InMemorySecretSource({});
  const memory = new SharedMemoryMeter();
  for (const [id, factory] of Object.entries(WORKER_HANDLERS)) {
    handlers[id] = async (event) => {
      invocations[id] = (invocations[id] ?? 0) + 1;
      runs.push({ worker: id, scheduledTime: String((event as { scheduledTime?: unknown }).scheduledTime) });
      await holds.get(id);
      // As the symphony does: a worker's memory is its share of the process's growth while it ran.
      const metered = memory.begin();
      try {
        return await factory({ store, secrets, env: {}, clock: () => clock.now(), logger: silent, memorySampleMs: 0, memoryRss: () => metered.read() })(event);
      } finally {
        metered.end();
      }
    };
  }
  let server: LocalApiServer;
  try {
    server = await startLocalApiServer({ runtime, clock: () => clock.now(), port: 0, operator: OPERATOR });
  } catch (e) {
    await runtime.close();
    throw e;
  }
  return {
    runtime,
    server,
    clock,
    invocations,
    runs,
    hold: (workerId) => {
      let release: () => void = () => undefined;
      holds.set(workerId, new Promise<void>((resolve) => {
        release = resolve;
      }));
      return () => {
        holds.delete(workerId);
        release();
      };
    },
    close: async () => {
      await server.close();
      await runtime.close();
    },
  };
}
