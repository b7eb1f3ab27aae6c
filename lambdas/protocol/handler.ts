/**
 * The protocol Lambda: every pipeline's Gate and Record steps. Parses the call, runs the step over
 * the StateStore port and returns a GateResult or a RecordResult. A malformed payload throws
 * InvalidPayloadError, which the state machine catches.
 *
 * Every newly stored report of an executed run is also a RunMetrics sample (run-metrics.ts): the
 * real handler writes them as EMF through Powertools Metrics (namespace AuraStream/Orchestrator,
 * dimension Worker); `makeHandler` defaults to no metrics, so the local runtime stays silent.
 *
 * Environment: TABLE_NAME (required), REPORT_RETENTION_DAYS (optional, default 30).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type * as z from 'zod';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import type { StateStore } from '../../lib/domain/ports.js';
import { DEFAULT_REPORT_RETENTION_DAYS } from '../../lib/domain/worker-state.js';
import { documentClient, DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { PipelineState, ProtocolCall, type FreshnessResult, type GateResult, type RecordResult } from '../shared/contracts.js';
import { positiveNumberEnv, requiredEnv } from '../shared/env.js';
import { PowertoolsRunMetrics } from './powertools-run-metrics.js';
import type { RunMetrics } from './run-metrics.js';
import { cycleRecordStep, freshnessStep, gateStep, recordStep } from './steps.js';

/** The part of the Powertools Logger the handler uses (tests pass a fake). */
export interface ProtocolLogger {
  appendKeys(attributes: Record<string, string>): void;
  resetKeys(): void;
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface ProtocolHandlerDeps {
  readonly store: StateStore;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly logger: ProtocolLogger;
  /** @default 30 (DEFAULT_REPORT_RETENTION_DAYS) */
  readonly reportRetentionDays?: number;
  /**
   * Receives one sample per newly stored report (a retried Record counts nothing twice).
   * @default NO_RUN_METRICS - nothing is emitted
   */
  readonly metrics?: RunMetrics;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new InvalidPayloadError(`malformed ${what}: ${issues}`);
}

export const makeHandler = (deps: ProtocolHandlerDeps) => async (event: unknown): Promise<GateResult | RecordResult | FreshnessResult> => {
  const call = parse(ProtocolCall, event, 'protocol call');
  const state = parse(PipelineState, call.state, `execution state for ${call.action}`);
  deps.logger.resetKeys();
  deps.logger.appendKeys({ worker: state.worker, job: state.job, executionId: call.executionId, scheduledTime: state.scheduledTime, action: call.action });
  const ctx = { executionId: call.executionId, startedAtMs: Date.parse(call.startedAt) };
  const protocol = { store: deps.store, clock: deps.clock, reportRetentionDays: deps.reportRetentionDays ?? DEFAULT_REPORT_RETENTION_DAYS, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
  if (call.action === 'gate') {
    const gate = await gateStep(protocol, ctx, state);
    deps.logger.info('gate decided', { gate });
    return gate;
  }
  if (call.action === 'freshness') {
    const freshness = await freshnessStep(protocol, state);
    deps.logger.info('data freshness checked', { freshness });
    return freshness;
  }
  const { result, reportStored } = call.action === 'cycle-record' ? await cycleRecordStep(protocol, ctx, call.state, state) : await recordStep(protocol, ctx, state);
  if (!reportStored) deps.logger.warn('report not stored: the slot already has one', { record: result });
  if (!result.lockReleased) deps.logger.warn('lock lost before record: effects not applied', { record: result });
  deps.logger.info('run recorded', { record: result });
  return result;
};

const env = {
  tableName: requiredEnv('TABLE_NAME'),
  reportRetentionDays: positiveNumberEnv('REPORT_RETENTION_DAYS', DEFAULT_REPORT_RETENTION_DAYS),
};

export const handler = makeHandler({
  store: new DynamoStateStore(documentClient(new DynamoDBClient({})), env.tableName),
  clock: Date.now,
  logger: new Logger(), // service name from POWERTOOLS_SERVICE_NAME
  reportRetentionDays: env.reportRetentionDays,
  metrics: new PowertoolsRunMetrics(),
});
