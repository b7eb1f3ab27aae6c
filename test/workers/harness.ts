/** Shared setup of the worker tests: a sandbox on simulated time, an in-memory store and secrets. */
import type { LambdaWorkerId } from '../../lib/registry/index.js';
import { InMemoryDataStore } from '../../lambdas/kit/data-store.js';
import type { KitLogger, LambdaContextLike, WorkerDeps } from '../../lambdas/kit/define-worker.js';
import { InMemorySecretSource } from '../../lambdas/kit/secrets.js';
import type { PlanResult, WorkerResult } from '../../lambdas/shared/contracts.js';
import { clearTwitchTokenCache } from '../../lambdas/workers/logic/common.js';
import { WORKER_HANDLERS } from '../../lambdas/workers/index.js';
import { startSandbox, type Sandbox } from '../../local/sandbox/server.js';

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly keys: Readonly<Record<string, unknown>>;
}

/** A logger that records lines with the keys in force when they were written. */
export class RecordingLogger implements KitLogger {
  readonly lines: LogLine[] = [];
  private keys: Record<string, unknown> = {};
  private write(level: string, message: unknown, extra: unknown[]): void {
    this.lines.push({ level, message: String(message), keys: { ...this.keys, ...(typeof extra[0] === 'object' && extra[0] !== null ? (extra[0] as Record<string, unknown>) : {}) } });
  }
  debug = (message: unknown, ...extra: unknown[]): void => this.write('DEBUG', message, extra);
  info = (message: unknown, ...extra: unknown[]): void => this.write('INFO', message, extra);
  warn = (message: unknown, ...extra: unknown[]): void => this.write('WARN', message, extra);
  error = (message: unknown, ...extra: unknown[]): void => this.write('ERROR', message, extra);
  appendKeys = (keys: Record<string, unknown>): void => {
    this.keys = { ...this.keys, ...keys };
  };
  resetKeys = (): void => {
    this.keys = {};
  };
}

export const T0 = Date.parse('2026-01-05T12:00:00Z');

export interface Harness {
  readonly sandbox: Sandbox;
  readonly store: InMemoryDataStore;
  readonly clock: { now: number };
  readonly logger: RecordingLogger;
  deps(overrides?: Partial<WorkerDeps>): WorkerDeps;
  invoke(worker: LambdaWorkerId, job: string, options?: InvokeOptions): Promise<WorkerResult | PlanResult>;
  run(worker: LambdaWorkerId, job: string, options?: InvokeOptions): Promise<WorkerResult>;
  close(): Promise<void>;
}

export interface InvokeOptions {
  readonly phase?: 'run' | 'plan' | 'item';
  readonly item?: unknown;
  readonly request?: Record<string, unknown>;
  readonly retryCount?: number;
  readonly context?: LambdaContextLike;
  readonly deps?: Partial<WorkerDeps>;
  readonly mode?: string;
}

export function invocation(worker: string, job: string, options: InvokeOptions & { scheduledTime: string }): Record<string, unknown> {
  return {
    worker,
    job,
    mode: options.mode ?? job,
    phase: options.phase ?? 'run',
    scheduledTime: options.scheduledTime,
    executionId: `exec-${worker}-${job}`,
    fence: 1,
    retryCount: options.retryCount ?? 0,
    ...(options.item !== undefined ? { item: options.item } : {}),
    ...(options.request !== undefined ? { request: options.request } : {}),
  };
}

export async function setup(seed = 42, startMs = T0): Promise<Harness> {
  clearTwitchTokenCache();
  const clock = { now: startMs };
  const sandbox = await startSandbox({ seed, clock: () => clock.now });
  const store = new InMemoryDataStore(() => clock.now);
  const secrets = new InMemorySecretSource({ ...sandbox.credentials });
  const logger = new RecordingLogger();
  const deps = (overrides: Partial<WorkerDeps> = {}): WorkerDeps => ({ store, secrets, env: sandbox.env, clock: () => clock.now, logger, memorySampleMs: 0, httpTimeoutMs: 2_000, ...overrides });
  const invoke = (worker: LambdaWorkerId, job: string, options: InvokeOptions = {}): Promise<WorkerResult | PlanResult> =>
    WORKER_HANDLERS[worker](deps(options.deps))(invocation(worker, job, { ...options, scheduledTime: new Date(clock.now).toISOString() }), options.context);
  return {
    sandbox,
    store,
    clock,
    logger,
    deps,
    invoke,
    run: async (worker, job, options) => (await invoke(worker, job, options)) as WorkerResult,
    close: () => sandbox.close(),
  };
}
