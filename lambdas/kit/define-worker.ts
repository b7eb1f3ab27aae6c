/**
 * The worker kit. `defineWorker(definition)` turns a worker's business logic into a Lambda
 * handler that does the shared work every worker needs:
 *
 * - parses the input with `WorkerInvocation` (malformed -> `InvalidPayloadError`) and checks it
 *   against the registry (worker id, job, mode, phase);
 * - gives the logic a context: deadline (`remainingMs`, `shouldStop` with a graceful stop margin),
 *   an endpoint-bound HTTP client, the data store, secrets, a logger with per-invocation keys,
 *   per-record output validation and a fan-out loop that stops taking items near the deadline;
 * - measures duration, peak memory, attempts and items, validates the output and the metric names
 *   against the registry's score metrics, and returns a `WorkerResult` (or a `PlanResult`).
 *
 * `makeWorkerHandler(definition, deps)` is the same with injected dependencies (tests, local runtime).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  ConfigurationError,
  InvalidPayloadError,
  LockLostError,
  QuotaExhaustedError,
  UpstreamThrottledError,
} from '../../lib/domain/errors.js';
import { workerById } from '../../lib/registry/index.js';
import type { JobSpec, LambdaWorkerId, WorkerSpec } from '../../lib/registry/index.js';
import { PlanResult, WorkerInvocation, WorkerResult } from '../shared/contracts.js';
import { memoryLimitMb, readEndpoints, requireEnv, SECRETS_ARN_ENV, TABLE_NAME_ENV, type EndpointName, type Endpoints, type Env } from './config.js';
import { DynamoDataStore, type DataStore } from './data-store.js';
import { createHttpClient, type HttpClient } from './http.js';
import { SecretsManagerSecretSource, type SecretSource } from './secrets.js';

export type MetricValue = number | string | boolean;
export type Phase = WorkerInvocation['phase'];

/** Stop taking new work when less than max(fraction x initial budget, minMs) remains. */
export interface StopMargin {
  /** @default 0.1 */
  readonly fraction?: number;
  /** @default 15_000 */
  readonly minMs?: number;
}
export const DEFAULT_STOP_MARGIN = { fraction: 0.1, minMs: 15_000 } as const;

/** Metrics the kit measures itself and fills in when the registry lists them and the worker did not. */
export const KIT_METRICS = ['duration_ms', 'peak_memory_mb'] as const;

/** At most this many validation warnings are reported (plus one summary line). */
export const MAX_WARNINGS = 20;
/** The output as a whole is invalid (DATA_CORRUPTION) when more than this fraction of records are. */
export const MAX_INVALID_FRACTION = 0.5;

/** The subset of the Powertools logger the kit and the workers use. */
export type KitLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'appendKeys' | 'resetKeys'>;

/** What a worker's `run` returns; the kit adds the measured facts. */
export interface RunOutcome {
  readonly metrics: Readonly<Record<string, MetricValue>>;
  readonly health?: { readonly quotaRemainingPercent?: number; readonly cacheMiss?: boolean };
  /** True when the worker stopped at its deadline with work left (graceful shutdown). */
  readonly stoppedEarly?: boolean;
  /** @default - counted by `ctx.forEachItem`; for phase `item`, 1 ok */
  readonly itemsOk?: number;
  readonly itemsFailed?: number;
}

export interface ForEachResult<R> {
  readonly results: readonly R[];
  readonly ok: number;
  readonly failed: number;
  /** Items not started because the deadline came near. */
  readonly skipped: number;
  readonly stoppedEarly: boolean;
  readonly errors: readonly Error[];
}

export interface WorkerContext<Out = unknown, Item = unknown> {
  readonly worker: LambdaWorkerId;
  readonly spec: WorkerSpec;
  readonly job: JobSpec;
  readonly mode: string;
  readonly phase: Phase;
  readonly scheduledTime: string;
  readonly scheduledAtMs: number;
  readonly executionId: string;
  readonly fence: number;
  readonly retryCount: number;
  /** The work item (phase `item` only). */
  readonly item: Item | undefined;
  /** An on-demand job's request. */
  readonly request: Readonly<Record<string, unknown>> | undefined;
  readonly endpoints: Endpoints;
  readonly env: Env;
  readonly http: HttpClient;
  readonly store: DataStore;
  readonly secrets: SecretSource;
  readonly logger: KitLogger;
  /** The current time, epoch ms (the injected clock). */
  now(): number;
  /** Ms since the invocation started. */
  elapsedMs(): number;
  /** Ms left before Lambda kills the invocation. */
  remainingMs(): number;
  /** True once less than the stop margin remains: take no new work, return what you have. */
  shouldStop(): boolean;
  /** Validates one output record with the worker's schema and counts it; undefined when invalid. */
  validate(record: unknown, label?: string): Out | undefined;
  /** Counts a record that could not even be built (e.g. an undecodable image). */
  invalid(label: string, reason: string): void;
  /** Adds a validation warning. */
  warn(message: string): void;
  /**
   * Runs `fn` for each item in order, stopping before the deadline. A failed item is counted
   * and the loop goes on; quota, throttling, configuration and lock errors abort it, and so does
   * any error when no item succeeded.
   */
  forEachItem<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, label?: (item: T) => string): Promise<ForEachResult<R>>;
  /** Samples memory now (the kit also samples on its own). */
  sampleMemory(): void;
}

export interface WorkerDefinition<Out = unknown, Item = unknown> {
  readonly id: LambdaWorkerId;
  /** Schema of one output record. */
  readonly output: z.ZodType<Out>;
  /** Schema of a fan-out work item (phase `item`). */
  readonly item?: z.ZodType<Item>;
  /** Endpoints this worker may call; the HTTP client allows nothing else. */
  readonly endpoints?: readonly EndpointName[];
  /** Phase `plan` of a fan-out job: the work items. */
  readonly plan?: (ctx: WorkerContext<Out, Item>) => Promise<readonly Item[]>;
  /** Phase `run` (the whole job) and phase `item` (one item, `ctx.item`). */
  readonly run: (ctx: WorkerContext<Out, Item>) => Promise<RunOutcome>;
  readonly stopMargin?: StopMargin;
}

export interface WorkerDeps {
  readonly store: DataStore;
  readonly secrets: SecretSource;
  /** @default process.env */
  readonly env?: Env;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Epoch-ms clock. @default Date.now */
  readonly clock?: () => number;
  /** Resident set size in bytes. @default process.memoryUsage.rss */
  readonly memoryRss?: () => number;
  /** @default a Powertools logger named after the worker */
  readonly logger?: KitLogger;
  /** Per-request HTTP timeout in ms. @default 10_000 */
  readonly httpTimeoutMs?: number;
  /** Memory sampling period in ms; 0 disables the timer. @default 100 */
  readonly memorySampleMs?: number;
}

/** The part of the Lambda context the kit uses. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

export type WorkerHandler = (event: unknown, context?: LambdaContextLike) => Promise<WorkerResult | PlanResult>;

const FATAL_ITEM_ERRORS = [QuotaExhaustedError, UpstreamThrottledError, ConfigurationError, LockLostError] as const;

function isFatal(error: unknown): boolean {
  return FATAL_ITEM_ERRORS.some((cls) => error instanceof cls);
}

const MB = 1024 * 1024;
const round1 = (n: number): number => Math.round(n * 10) / 10;

function parseInvocation(event: unknown, spec: WorkerSpec): { input: WorkerInvocation; job: JobSpec } {
  const parsed = WorkerInvocation.safeParse(event);
  if (!parsed.success) throw new InvalidPayloadError(`invalid worker invocation for ${spec.id}: ${z.prettifyError(parsed.error)}`);
  const input = parsed.data;
  if (input.worker !== spec.id) throw new InvalidPayloadError(`invocation for worker "${input.worker}" reached ${spec.id}`);
  const job = spec.jobs.find((j) => j.id === input.job);
  if (job === undefined) throw new InvalidPayloadError(`worker ${spec.id} has no job "${input.job}"`);
  if (input.mode !== job.mode) throw new InvalidPayloadError(`job ${spec.id}.${job.id} runs in mode "${job.mode}", got "${input.mode}"`);
  if (input.phase !== 'run' && job.fanOut === undefined) throw new InvalidPayloadError(`job ${spec.id}.${job.id} does not fan out, got phase "${input.phase}"`);
  return { input, job };
}

/** The least real time between two memory samples taken by `shouldStop`, ms. */
export const SHOULD_STOP_SAMPLE_MS = 10;

/** Builds a handler from a definition and injected dependencies. Configuration is read once, here. */
export function makeWorkerHandler<Out, Item>(definition: WorkerDefinition<Out, Item>, deps: WorkerDeps): WorkerHandler {
  const spec = workerById(definition.id);
  const env: Env = deps.env ?? process.env;
  const clock = deps.clock ?? Date.now;
  const rss = deps.memoryRss ?? (() => process.memoryUsage.rss());
  const logger: KitLogger = deps.logger ?? new Logger({ serviceName: definition.id });
  const limitMb = memoryLimitMb(env, spec.memoryMb);
  const margin = { ...DEFAULT_STOP_MARGIN, ...(definition.stopMargin ?? {}) };
  const scoreMetrics: readonly string[] = spec.scoreMetrics;
  // Read once; a configuration problem fails every invocation with a named error.
  let endpoints: Endpoints = {};
  let configError: ConfigurationError | undefined;
  try {
    endpoints = readEndpoints(env, definition.endpoints ?? []);
  } catch (error) {
    configError = error instanceof ConfigurationError ? error : new ConfigurationError(String(error));
  }
  // One client per handler instance: rate-limit state carries over warm invocations.
  const http = createHttpClient({ endpoints, clock, ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}), ...(deps.httpTimeoutMs !== undefined ? { timeoutMs: deps.httpTimeoutMs } : {}) });

  return async (event, lambdaContext) => {
    const startedAtMs = clock();
    let peakBytes = rss();
    const sampleMemory = (): void => {
      const now = rss();
      if (now > peakBytes) peakBytes = now;
    };
    const sampler = (deps.memorySampleMs ?? 100) > 0 ? setInterval(sampleMemory, deps.memorySampleMs ?? 100) : undefined;
    sampler?.unref();
    // shouldStop runs once per item: reading the RSS (a /proc read) each time cost more than many
    // items do. It samples at most every SHOULD_STOP_SAMPLE_MS of real time; the sampler and an
    // explicit sampleMemory() still read it at once.
    let lastSampledAt = Number.NEGATIVE_INFINITY;
    const sampleMemoryAtMostOften = (): void => {
      const t = performance.now();
      if (t - lastSampledAt < SHOULD_STOP_SAMPLE_MS) return;
      lastSampledAt = t;
      sampleMemory();
    };
    try {
      if (configError !== undefined) throw configError;
      const { input, job } = parseInvocation(event, spec);
      logger.appendKeys({ worker: spec.id, executionId: input.executionId, scheduledTime: input.scheduledTime, job: job.id, phase: input.phase, attempt: input.retryCount + 1 });

      const budgetMs = (input.phase === 'item' ? (job.fanOut?.itemTimeoutSeconds ?? job.timeoutSeconds) : job.timeoutSeconds) * 1000;
      const remainingMs = (): number => (lambdaContext !== undefined ? lambdaContext.getRemainingTimeInMillis() : budgetMs - (clock() - startedAtMs));
      const initialRemainingMs = remainingMs();
      const stopMarginMs = Math.max(margin.minMs, margin.fraction * initialRemainingMs);
      const shouldStop = (): boolean => {
        sampleMemoryAtMostOften();
        return remainingMs() < stopMarginMs;
      };

      let item: Item | undefined;
      if (input.phase === 'item') {
        if (definition.item === undefined) throw new ConfigurationError(`worker ${spec.id} defines no item schema`);
        const parsedItem = definition.item.safeParse(input.item);
        if (!parsedItem.success) throw new InvalidPayloadError(`invalid work item for ${spec.id}: ${z.prettifyError(parsedItem.error)}`);
        item = parsedItem.data;
      }

      let recordsValid = 0;
      let recordsInvalid = 0;
      const warnings: string[] = [];
      let droppedWarnings = 0;
      const warn = (message: string): void => {
        if (warnings.length < MAX_WARNINGS) warnings.push(message);
        else droppedWarnings++;
      };
      let loopOk = 0;
      let loopFailed = 0;
      let loopStopped = false;
      let looped = false;

      const ctx: WorkerContext<Out, Item> = {
        worker: definition.id,
        spec,
        job,
        mode: input.mode,
        phase: input.phase,
        scheduledTime: input.scheduledTime,
        scheduledAtMs: Date.parse(input.scheduledTime),
        executionId: input.executionId,
        fence: input.fence,
        retryCount: input.retryCount,
        item,
        request: input.request,
        endpoints,
        env,
        http,
        store: deps.store,
        secrets: deps.secrets,
        logger,
        now: clock,
        elapsedMs: () => clock() - startedAtMs,
        remainingMs,
        shouldStop,
        validate(record, label) {
          const result = definition.output.safeParse(record);
          if (result.success) {
            recordsValid++;
            return result.data;
          }
          recordsInvalid++;
          const issue = result.error.issues[0];
          warn(`invalid record${label === undefined ? '' : ` ${label}`}: ${issue === undefined ? 'schema mismatch' : `${issue.path.join('.') || '(root)'}: ${issue.message}`}`);
          return undefined;
        },
        invalid(label, reason) {
          recordsInvalid++;
          warn(`invalid record ${label}: ${reason}`);
        },
        warn,
        async forEachItem(items, fn, label) {
          looped = true;
          const results: Awaited<ReturnType<typeof fn>>[] = [];
          const errors: Error[] = [];
          let ok = 0;
          let failed = 0;
          let index = 0;
          for (; index < items.length; index++) {
            if (shouldStop()) break;
            const current = items[index] as (typeof items)[number];
            try {
              results.push(await fn(current, index));
              ok++;
            } catch (error) {
              if (isFatal(error)) throw error;
              failed++;
              const err = error instanceof Error ? error : new Error(String(error));
              errors.push(err);
              logger.warn('item failed', { item: label?.(current) ?? index, errorName: err.name, errorMessage: err.message });
            }
          }
          const skipped = items.length - index;
          if (ok === 0 && errors[0] !== undefined) throw errors[0];
          loopOk += ok;
          loopFailed += failed;
          if (skipped > 0) loopStopped = true;
          return { results, ok, failed, skipped, stoppedEarly: skipped > 0, errors };
        },
        sampleMemory,
      };

      logger.info('worker started', { remainingMs: initialRemainingMs, stopMarginMs });

      if (input.phase === 'plan') {
        if (definition.plan === undefined) throw new ConfigurationError(`worker ${spec.id} has no plan step`);
        const items = await definition.plan(ctx);
        const plan = PlanResult.safeParse({ items: [...items] });
        if (!plan.success) throw new InvalidPayloadError(`plan of ${spec.id} is invalid: ${z.prettifyError(plan.error)}`);
        logger.info('plan ready', { items: items.length, durationMs: clock() - startedAtMs });
        return plan.data;
      }

      const outcome = await definition.run(ctx);
      sampleMemory();
      const durationMs = clock() - startedAtMs;
      const peakMemoryMb = round1(peakBytes / MB);

      const metrics: Record<string, MetricValue> = {};
      for (const [name, value] of Object.entries(outcome.metrics)) {
        if (scoreMetrics.includes(name)) metrics[name] = value;
        else warn(`unexpected metric "${name}" (not a score metric of ${spec.id})`);
      }
      if (scoreMetrics.includes('duration_ms') && metrics['duration_ms'] === undefined) metrics['duration_ms'] = durationMs;
      if (scoreMetrics.includes('peak_memory_mb') && metrics['peak_memory_mb'] === undefined) metrics['peak_memory_mb'] = peakMemoryMb;
      for (const name of scoreMetrics) if (metrics[name] === undefined) warn(`missing metric "${name}"`);
      const finiteMetrics = Object.fromEntries(
        Object.entries(metrics).filter(([name, value]) => {
          const finite = typeof value !== 'number' || Number.isFinite(value);
          if (!finite) warn(`metric "${name}" is not a finite number`);
          return finite;
        }),
      );
      if (droppedWarnings > 0) warnings.push(`... and ${droppedWarnings} more warning(s)`);

      const itemsOk = outcome.itemsOk ?? (looped ? loopOk : 1);
      const itemsFailed = outcome.itemsFailed ?? (looped ? loopFailed : 0);
      const stoppedEarly = outcome.stoppedEarly ?? loopStopped;
      const records = recordsValid + recordsInvalid;
      const result: WorkerResult = {
        status: itemsFailed > 0 || stoppedEarly ? 'PARTIAL' : 'SUCCEEDED',
        durationMs,
        attempts: input.retryCount + 1,
        itemsOk,
        itemsFailed,
        outputValid: records === 0 || recordsInvalid / records <= MAX_INVALID_FRACTION,
        recordsValid,
        recordsInvalid,
        validationWarnings: warnings,
        peakMemoryMb,
        memoryLimitMb: limitMb,
        metrics: finiteMetrics,
        health: { ...(outcome.health ?? {}) },
        stoppedEarly,
      };
      const checked = WorkerResult.parse(result);
      logger.info('worker finished', { status: checked.status, durationMs, itemsOk, itemsFailed, recordsValid, recordsInvalid, stoppedEarly, metrics });
      return checked;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      logger.error('worker failed', { errorName: err.name, errorMessage: err.message, retryable: (err as { retryable?: unknown }).retryable === true });
      throw err;
    } finally {
      if (sampler !== undefined) clearInterval(sampler);
      logger.resetKeys();
    }
  };
}

let productionDepsCache: WorkerDeps | undefined;

/** The AWS dependencies: DynamoDB single table (`TABLE_NAME`) and Secrets Manager (`WORKER_SECRETS_ARN`). */
export function productionDeps(env: Env = process.env): WorkerDeps {
  if (productionDepsCache !== undefined) return productionDepsCache;
  const tableName = requireEnv(env, TABLE_NAME_ENV);
  const secretId = requireEnv(env, SECRETS_ARN_ENV);
  const document = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  productionDepsCache = {
    env,
    store: new DynamoDataStore({ client: document, tableName }),
    secrets: new SecretsManagerSecretSource({ client: new SecretsManagerClient({}), secretId }),
  };
  return productionDepsCache;
}

/**
 * The Lambda entry point of a worker. Production dependencies are built on the first invocation
 * (once per execution environment), so a missing variable fails as a named `ConfigurationError`.
 */
export function defineWorker<Out, Item>(definition: WorkerDefinition<Out, Item>, deps?: () => WorkerDeps): WorkerHandler {
  let handler: WorkerHandler | undefined;
  return async (event, context) => {
    handler ??= makeWorkerHandler(definition, (deps ?? productionDeps)());
    return handler(event, context);
  };
}
