/**
 * The on-demand consumer's logic: for each queued job, the same protocol as a pipeline — gate
 * (pause, circuit), work, record — run inside one Lambda; fan-out jobs (twitch packs) start their
 * pipeline instead. Returns SQS partial batch failures. No AWS imports: adapters are injected.
 *
 * Held jobs: while the orchestrator is paused or draining, the worker's intake is paused, its
 * circuit is open, or a dependency is still running, the job is not returned for redelivery (each
 * receive counts against the queue's maxReceiveCount, so a pause longer than a few visibility
 * timeouts would dead-letter valid jobs). It is sent again as a new message, delayed by
 * ON_DEMAND_HOLD_SECONDS (receive count back to 0), and the original is deleted. A crash between the
 * two leaves both copies: the job may run twice (SQS standard queues are at-least-once anyway), its
 * report is still put once per request id.
 */
import { isRetriedErrorName } from '../../lib/domain/retry-policy.js';
import { normalizeIso } from '../../lib/domain/worker-state.js';
import { gateStep, recordStep, resolveWorkerJob, type ProtocolDeps } from '../protocol/steps.js';
import { OnDemandJob, PipelineState, type GateResult, type WorkerInvocation } from '../shared/contracts.js';

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  /** How many times SQS has delivered this message (ApproximateReceiveCount). */
  readonly receiveCount: number;
  /** The queue's ARN (the record's eventSourceARN), where a held job is sent again. */
  readonly sourceArn?: string;
}

/** How long a held job waits before it is delivered again, in seconds (SQS DelaySeconds: at most 900). */
export const ON_DEMAND_HOLD_SECONDS = 300;

/** The gate answers that mean "not now, later": the job is held, never counted towards the dead-letter queue. */
export function isHeldBack(gate: GateResult): boolean {
  return gate.decision === 'WAIT' || (gate.decision === 'SKIP' && (gate.skipReason === 'PAUSED' || gate.skipReason === 'CIRCUIT_OPEN'));
}

/** A worker invocation's outcome: its result payload, or the named error it raised. */
export type InvokeOutcome = { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly error: { readonly Error: string; readonly Cause: string } };

export interface ConsumerDeps {
  readonly workerId: string;
  readonly protocol: ProtocolDeps;
  readonly invokeWorker: (invocation: WorkerInvocation) => Promise<InvokeOutcome>;
  /** Starts the fan-out pipeline of `jobId` with a deterministic name; an existing execution of that name is not an error. */
  readonly startPipeline: (jobId: string, name: string, input: Record<string, unknown>) => Promise<void>;
  /** Deliveries before SQS moves a message to the DLQ. */
  readonly maxReceiveCount: number;
  /** Sends the message's body again as a new message on its queue, delivered after `delaySeconds`. */
  readonly hold: (message: QueueMessage, delaySeconds: number) => Promise<void>;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;
}

export type MessageOutcome = 'done' | 'retry' | 'held';

export async function consumeOne(deps: ConsumerDeps, message: QueueMessage): Promise<MessageOutcome> {
  let parsedBody: unknown;
  try {
    parsedBody = JSON.parse(message.body);
  } catch {
    parsedBody = undefined;
  }
  const parsed = OnDemandJob.safeParse(parsedBody);
  if (!parsed.success) {
    // Poison: kept (never lost) — it goes to the dead-letter queue after maxReceiveCount deliveries.
    deps.log('error', 'malformed on-demand job: kept for the dead-letter queue', { messageId: message.messageId, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
    return 'retry';
  }
  const job = parsed.data;
  const { job: spec } = resolveWorkerJob({ worker: deps.workerId, job: job.job }, deps.protocol.lookup);
  if (spec.fanOut) {
    await deps.startPipeline(job.job, job.requestId, { worker: deps.workerId, job: job.job, scheduledTime: normalizeIso(job.enqueuedAt), trigger: 'manual', runId: job.requestId, request: job.request });
    return 'done';
  }

  const executionId = `on-demand:${deps.workerId}:${job.requestId}`;
  const ctx = { executionId, startedAtMs: deps.protocol.clock() };
  const base: PipelineState = { worker: deps.workerId, job: job.job, scheduledTime: normalizeIso(job.enqueuedAt), trigger: 'manual', runId: job.requestId, request: job.request };
  const gate = await gateStep(deps.protocol, ctx, base);
  if (gate.decision !== 'RUN') {
    if (isHeldBack(gate)) {
      // Paused, draining or circuit open: the job waits as a new message; nothing ran, nothing is recorded.
      await deps.hold(message, ON_DEMAND_HOLD_SECONDS);
      deps.log('info', 'on-demand job held by the gate: sent again, delayed', { requestId: job.requestId, gate, delaySeconds: ON_DEMAND_HOLD_SECONDS });
      return 'held';
    }
    deps.log('warn', 'on-demand job refused by the gate: returned for redelivery', { requestId: job.requestId, gate });
    return 'retry';
  }
  const outcome = await deps.invokeWorker({
    worker: deps.workerId,
    job: job.job,
    mode: spec.mode,
    phase: 'run',
    scheduledTime: gate.scheduledTime,
    executionId,
    fence: gate.fence,
    retryCount: message.receiveCount - 1,
    request: job.request,
  });
  if (!outcome.ok && isRetriedErrorName(outcome.error.Error) && message.receiveCount < deps.maxReceiveCount) {
    deps.log('warn', 'transient failure: SQS redelivers the job', { requestId: job.requestId, error: outcome.error.Error, receiveCount: message.receiveCount });
    return 'retry';
  }
  let state: PipelineState = { ...base, gate, failure: outcome.ok ? { Error: 'InvalidPayloadError', Cause: '' } : outcome.error };
  if (outcome.ok) {
    // The worker's result is untrusted input: a malformed one is recorded as a failure, never a crash.
    const checked = PipelineState.safeParse({ ...base, gate, work: outcome.payload });
    state = checked.success
      ? checked.data
      : { ...base, gate, failure: { Error: 'InvalidPayloadError', Cause: `malformed worker result: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` } };
  }
  const { result } = await recordStep(deps.protocol, ctx, state);
  deps.log('info', 'on-demand job recorded', { requestId: job.requestId, status: result.status, overallScore: result.overallScore });
  return 'done';
}

/** Processes a batch; failed messages are returned for SQS to redeliver (held ones were sent again and are done). */
export async function consumeBatch(deps: ConsumerDeps, messages: readonly QueueMessage[]): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const message of messages) {
    try {
      if ((await consumeOne(deps, message)) === 'retry') batchItemFailures.push({ itemIdentifier: message.messageId });
    } catch (e) {
      deps.log('error', 'on-demand job failed to process', { messageId: message.messageId, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      batchItemFailures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures };
}
