/**
 * The on-demand queues of the local runtime: an in-process stand-in for each on-demand worker's SQS
 * queue and its Lambda event source mapping, driving the real consumer logic (`consumeBatch`).
 *
 * Semantics (what the symphony needs of SQS):
 * - Messages wait in arrival order. A poll receives up to `batchSize x maxBatches` visible messages,
 *   each delivery counting one receive, and runs the batches concurrently (the mapping's
 *   MaximumConcurrency), the messages of a batch one after the other (as the consumer does).
 * - A message the consumer returns in `batchItemFailures` becomes visible again once the queue's
 *   visibility timeout has passed (at the back of the queue: a standard queue does not keep order);
 *   with `visibilityTimeoutMs: 0`, at the next poll. After `maxReceiveCount` deliveries it moves to
 *   the dead-letter queue instead. A job the gate holds (pause, open circuit) is not returned: the
 *   consumer sends it again with a delay (`hold`), a new message whose receive count starts at 0,
 *   so no pause dead-letters it.
 * - `depth` is ApproximateNumberOfMessages: the visible messages (not those in flight).
 * - Fan-out jobs start their pipeline on the local runner; `settled()` waits for those executions.
 */
import { DEFAULT_REPORT_RETENTION_DAYS } from '../lib/domain/worker-state.js';
import { consumeBatch, type ConsumerDeps, type InvokeOutcome, type QueueMessage } from '../lambdas/on-demand/consume.js';
import type { OnDemandJob } from '../lambdas/shared/contracts.js';
import type { LambdaHandler, LocalRuntime } from './runtime.js';
import { ExecutionAlreadyExists } from './step-functions-runner.js';

/** Deliveries before a job is dead-lettered: ON_DEMAND_MAX_RECEIVE_COUNT of the queue construct. */
export const LOCAL_MAX_RECEIVE_COUNT = 3;
/** The event source mapping's BatchSize. */
export const LOCAL_BATCH_SIZE = 5;

export interface LocalQueueMessage extends QueueMessage {
  readonly sentAtMs: number;
  /** In flight (returned, not yet visible) until this time; 0 when visible. */
  readonly invisibleUntilMs: number;
}

export interface PollOutcome {
  readonly received: number;
  readonly done: number;
  /** Returned for redelivery (a transient failure, a refusal that is not a hold). */
  readonly retried: number;
  /** Held by the gate (pause, open circuit): sent again as new, delayed messages; no receive counted. */
  readonly held: number;
  readonly deadLettered: number;
}

export interface LocalQueuesOptions {
  readonly runtime: LocalRuntime;
  readonly clock: () => number;
  /** The in-process worker handlers by worker id (read at each invocation). */
  readonly workerHandlers: Readonly<Record<string, LambdaHandler>>;
  /** @default LOCAL_MAX_RECEIVE_COUNT */
  readonly maxReceiveCount?: number;
  /** Worker id → its queue's VisibilityTimeout in ms. @default 0 (visible again at the next poll) */
  readonly visibilityTimeoutMs?: (workerId: string) => number;
  readonly log?: ConsumerDeps['log'];
}

interface Queue {
  messages: LocalQueueMessage[];
  /** Returned messages waiting out their visibility timeout. */
  inFlight: LocalQueueMessage[];
  readonly dlq: LocalQueueMessage[];
}

export class LocalQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly pending: Promise<unknown>[] = [];
  private sequence = 0;
  /** Jobs the consumers held (sent again, delayed) so far. */
  sentAgain = 0;
  private readonly maxReceiveCount: number;

  constructor(private readonly options: LocalQueuesOptions) {
    this.maxReceiveCount = options.maxReceiveCount ?? LOCAL_MAX_RECEIVE_COUNT;
  }

  private queue(workerId: string): Queue {
    let q = this.queues.get(workerId);
    if (!q) {
      q = { messages: [], inFlight: [], dlq: [] };
      this.queues.set(workerId, q);
    }
    return q;
  }

  /** Enqueues a job (the body is the job as JSON, as the API sends it); returns the message id. */
  send(workerId: string, job: OnDemandJob | Record<string, unknown>): string {
    const messageId = `local-${workerId}-${++this.sequence}`;
    this.queue(workerId).messages.push({ messageId, body: JSON.stringify(job), receiveCount: 0, sentAtMs: this.options.clock(), invisibleUntilMs: 0 });
    return messageId;
  }

  /** Makes the in-flight messages whose visibility timeout has passed visible again. */
  private release(q: Queue): void {
    if (q.inFlight.length === 0) return;
    const now = this.options.clock();
    const due = q.inFlight.filter((m) => m.invisibleUntilMs <= now);
    if (due.length === 0) return;
    q.inFlight = q.inFlight.filter((m) => m.invisibleUntilMs > now);
    q.messages.push(...due.map((m) => ({ ...m, invisibleUntilMs: 0 })));
  }

  /** ApproximateNumberOfMessages: the visible messages (not those in flight, nor the dead-lettered ones). */
  depth(workerId: string): number {
    const q = this.queues.get(workerId);
    if (!q) return 0;
    this.release(q);
    return q.messages.length;
  }

  /** ApproximateNumberOfMessagesNotVisible: the messages in flight. */
  inFlight(workerId: string): number {
    return this.queues.get(workerId)?.inFlight.length ?? 0;
  }

  /** Every message still in the queue (visible, then in flight). */
  messages(workerId: string): readonly LocalQueueMessage[] {
    const q = this.queues.get(workerId);
    return q ? [...q.messages, ...q.inFlight] : [];
  }

  /** The dead-letter queue's messages. */
  deadLetters(workerId: string): readonly LocalQueueMessage[] {
    return [...(this.queues.get(workerId)?.dlq ?? [])];
  }

  /** Worker ids whose queue holds messages, visible or in flight. */
  nonEmpty(): string[] {
    return [...this.queues.entries()].filter(([, q]) => q.messages.length + q.inFlight.length > 0).map(([id]) => id);
  }

  /** Waits for the fan-out executions the consumers started. */
  async settled(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  private deps(workerId: string): ConsumerDeps {
    const { runtime, clock, workerHandlers } = this.options;
    return {
      workerId,
      protocol: { store: runtime.store, clock, reportRetentionDays: DEFAULT_REPORT_RETENTION_DAYS },
      invokeWorker: async (invocation): Promise<InvokeOutcome> => {
        const handler = workerHandlers[workerId];
        if (!handler) return { ok: false, error: { Error: 'ConfigurationError', Cause: `no local handler for ${workerId}` } };
        try {
          // A JSON round trip, as Lambda serializes the event and the result.
          const payload = await handler(JSON.parse(JSON.stringify(invocation)) as unknown);
          return { ok: true, payload: payload === undefined ? null : (JSON.parse(JSON.stringify(payload)) as unknown) };
        } catch (e) {
          const error = e instanceof Error ? e : new Error(String(e));
          return { ok: false, error: { Error: error.name, Cause: error.message } };
        }
      },
      startPipeline: async (jobId, name, input) => {
        try {
          const execution = runtime.runner.startExecution(runtime.pipelineOf(workerId, jobId), input, { name });
          this.pending.push(execution.result);
        } catch (e) {
          if (!(e instanceof ExecutionAlreadyExists)) throw e;
        }
      },
      maxReceiveCount: this.maxReceiveCount,
      // SendMessage with DelaySeconds: a new message (receive count 0), visible after the delay.
      hold: async (message, delaySeconds) => {
        this.sentAgain++;
        this.queue(workerId).inFlight.push({ messageId: `local-${workerId}-${++this.sequence}`, body: message.body, receiveCount: 0, sentAtMs: clock(), invisibleUntilMs: clock() + delaySeconds * 1000 });
      },
      log: this.options.log ?? (() => undefined),
    };
  }

  /**
   * One poll of the event source mapping: up to `maxBatches` concurrent batches of `batchSize`.
   * Messages delivered `maxReceiveCount` times that fail again go to the dead-letter queue.
   */
  async poll(workerId: string, batchSize: number = LOCAL_BATCH_SIZE, maxBatches = 1): Promise<PollOutcome> {
    const q = this.queue(workerId);
    this.release(q);
    const received = q.messages.splice(0, Math.max(0, batchSize * maxBatches)).map((m) => ({ ...m, receiveCount: m.receiveCount + 1 }));
    if (received.length === 0) return { received: 0, done: 0, retried: 0, held: 0, deadLettered: 0 };
    const heldBefore = this.sentAgain;
    const batches: LocalQueueMessage[][] = [];
    for (let i = 0; i < received.length; i += batchSize) batches.push(received.slice(i, i + batchSize));
    const deps = this.deps(workerId);
    const failed = new Set<string>();
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const { batchItemFailures } = await consumeBatch(deps, batch);
          for (const f of batchItemFailures) failed.add(f.itemIdentifier);
        } catch {
          // A failed invocation returns the whole batch.
          for (const m of batch) failed.add(m.messageId);
        }
      }),
    );
    let retried = 0;
    let deadLettered = 0;
    const invisibleUntilMs = this.options.clock() + (this.options.visibilityTimeoutMs?.(workerId) ?? 0);
    for (const m of received) {
      if (!failed.has(m.messageId)) continue;
      if (m.receiveCount >= this.maxReceiveCount) {
        q.dlq.push(m);
        deadLettered++;
      } else if (invisibleUntilMs > this.options.clock()) {
        q.inFlight.push({ ...m, invisibleUntilMs });
        retried++;
      } else {
        q.messages.push(m);
        retried++;
      }
    }
    const held = this.sentAgain - heldBefore;
    return { received: received.length, done: received.length - failed.size - held, retried, held, deadLettered };
  }
}
