/**
 * The emulated DynamoDB stream and a Lambda-event-source-mapping-like consumer.
 *
 * Consumer semantics (mirroring an ESM on a DynamoDB stream with `ReportBatchItemFailures`,
 * `ParallelizationFactor: 1`, i.e. one in-order "shard" per consumer):
 *
 *  - records are filtered first (filtered-out records are simply skipped, as Lambda does), then
 *    delivered in sequence order in batches of at most `batchSize`, one batch at a time;
 *  - the handler throwing, or returning a `batchItemFailures` entry whose `itemIdentifier` is empty
 *    or not a sequence number of the batch, fails the WHOLE batch;
 *  - otherwise records before the lowest failed sequence number are checkpointed, and the next
 *    invocation starts at that record (and may contain newer records, up to `batchSize`);
 *  - a failing head record is retried at most `maxRetries` times (Lambda's
 *    `MaximumRetryAttempts`; the count restarts when the checkpoint moves to a different record).
 *    When exhausted, the failed records of the last batch go to `onFailure` (Lambda's on-failure
 *    destination) and the whole batch is skipped. Retries are immediate: no backoff delay.
 */
import { compileFilters, compileKeyFilter } from './stream-filter.js';
import type { FilterPattern, ItemKey, KeyPredicate } from './stream-filter.js';
import type { StreamHandler, StreamRecord } from './stream-types.js';
import { tableNameOfRecord } from './stream-types.js';

export interface DeliveryFailure {
  /** Records from the first failed one to the end of the last attempted batch. */
  readonly records: readonly StreamRecord[];
  /** `batchItemFailures` reported by the last attempt (empty when the handler threw). */
  readonly failedItemIdentifiers: readonly string[];
  /** Invocations that included the failed head record. */
  readonly attempts: number;
  /** The error thrown by the last attempt, if it threw. */
  readonly error?: unknown;
}

export interface DeliveryOptions {
  /** Max records per invocation (Lambda's default for DynamoDB streams is 100). */
  readonly batchSize?: number;
  /** Only records of this table (an ESM is attached to one table's stream). All tables if omitted. */
  readonly tableName?: string;
  /** Lambda `FilterCriteria` patterns; see stream-filter.ts for the supported subset. */
  readonly filters?: ReadonlyArray<string | FilterPattern>;
  /** Retries after the first failed attempt, per head record. Default 2. */
  readonly maxRetries?: number;
  /** Called with records given up on (the on-failure destination). */
  readonly onFailure?: (failure: DeliveryFailure) => void | Promise<void>;
  /** `LATEST` (default): only records emitted after subscribing. `TRIM_HORIZON`: also the history. */
  readonly startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  /**
   * `true` (default): deliver automatically shortly after records arrive (records emitted in the
   * same tick are batched together). `false`: deliver only when `flush()` is called.
   */
  readonly auto?: boolean;
}

export interface DeliveryStats {
  invocations: number;
  /** Records acknowledged (successfully processed or skipped after failure). */
  checkpointed: number;
  /** Records handed to `onFailure`. */
  failedRecords: number;
}

export interface StreamConsumer {
  /** Resolves once every record received so far is checkpointed; rethrows `onFailure` errors. */
  flush(): Promise<void>;
  /** Detaches from the stream; pending records are dropped. */
  stop(): void;
  /** Resolves once no batch is being delivered (a batch in flight at `stop` finishes first); never rejects. */
  idle(): Promise<void>;
  /** Records waiting to be delivered (including a batch being retried). */
  pending(): number;
  readonly stats: Readonly<DeliveryStats>;
}

type Listener = (record: StreamRecord) => void;

/** Which records a listener gets: one table's, and those its filters accept. */
export interface ListenerOptions {
  /** Only records of this table. All tables if omitted. */
  readonly tableName?: string;
  /** Lambda `FilterCriteria` patterns (stream-filter.ts). Every record if omitted. */
  readonly filters?: ReadonlyArray<string | FilterPattern>;
}

interface Subscription {
  readonly listener: Listener;
  readonly accepts: (record: StreamRecord) => boolean;
  readonly tableName: string | undefined;
  readonly keys: KeyPredicate;
}

/** DynamoDB Streams keeps a record for 24 hours. */
export const STREAM_RETENTION_SECONDS = 24 * 3600;
/** Expired records are dropped in batches, once the oldest is this much past the retention. */
const TRIM_SLACK_SECONDS = 3600;

export class EmulatedDynamoStream {
  private readonly history: StreamRecord[] = [];
  private readonly undrained: StreamRecord[] = [];
  private readonly listeners = new Set<Subscription>();
  private readonly consumers = new Set<StreamConsumer>();

  /**
   * @param retentionSeconds how long a record stays readable by `records()`, `drain()` and a
   * TRIM_HORIZON start, by its `ApproximateCreationDateTime` (simulated time). Default 24 hours,
   * as DynamoDB Streams. Listeners and consumers get every record as it is emitted either way.
   */
  constructor(private readonly retentionSeconds: number = STREAM_RETENTION_SECONDS) {}

  /**
   * Appends a record and notifies listeners synchronously, in order. Records past the retention
   * are dropped (in batches), so a long run does not hold every image it ever wrote.
   */
  emit(record: StreamRecord): void {
    this.history.push(record);
    this.undrained.push(record);
    for (const l of [...this.listeners]) if (l.accepts(record)) l.listener(record);
    const horizon = record.dynamodb.ApproximateCreationDateTime - this.retentionSeconds;
    for (const list of [this.history, this.undrained]) {
      const first = list[0];
      if (first === undefined || first.dynamodb.ApproximateCreationDateTime >= horizon - TRIM_SLACK_SECONDS) continue;
      const keep = list.findIndex((r) => r.dynamodb.ApproximateCreationDateTime >= horizon);
      list.splice(0, keep === -1 ? list.length : keep);
    }
  }

  /**
   * Listens to new records (of one table, passing filters, when given); returns an unsubscribe
   * function. An unsupported filter throws here, before anything is attached.
   */
  subscribe(listener: Listener, options: ListenerOptions = {}): () => void {
    const { tableName, filters } = options;
    const passes = compileFilters(filters);
    const subscription: Subscription = {
      listener,
      accepts: (r) => (tableName === undefined || tableNameOfRecord(r) === tableName) && passes(r),
      tableName,
      keys: compileKeyFilter(filters),
    };
    this.listeners.add(subscription);
    return () => this.listeners.delete(subscription);
  }

  /**
   * Whether a write to this item could emit a record anyone gets: a listener or consumer of its
   * table whose filters accept its key, or any item while records are kept (`records()`, `drain()`,
   * TRIM_HORIZON). When false the embedded DynamoDB skips the item's image reads and its record:
   * nobody could ever see them.
   */
  wantsKey(tableName: string, key: ItemKey): boolean {
    if (this.retentionSeconds > 0) return true;
    for (const l of this.listeners) if ((l.tableName === undefined || l.tableName === tableName) && l.keys(key)) return true;
    return false;
  }

  /** Returns (and forgets) the records emitted since the previous `drain()`, optionally for one table. */
  drain(tableName?: string): StreamRecord[] {
    if (tableName === undefined) return this.undrained.splice(0, this.undrained.length);
    const taken: StreamRecord[] = [];
    const kept: StreamRecord[] = [];
    for (const r of this.undrained) (tableNameOfRecord(r) === tableName ? taken : kept).push(r);
    this.undrained.splice(0, this.undrained.length, ...kept);
    return taken;
  }

  /** Stops every consumer created by `deliverTo` (pending records are dropped). */
  stopAll(): void {
    for (const c of [...this.consumers]) c.stop();
  }

  /** Every record ever emitted (a copy). */
  records(tableName?: string): StreamRecord[] {
    return tableName === undefined ? [...this.history] : this.history.filter((r) => tableNameOfRecord(r) === tableName);
  }

  /** Attaches a Lambda-shaped handler with event-source-mapping semantics (see module docs). */
  deliverTo(handler: StreamHandler, options: DeliveryOptions = {}): StreamConsumer {
    // Compile first: an unsupported pattern must throw before anything is attached.
    const accepts = compileFilters(options.filters);
    const wants = (r: StreamRecord): boolean =>
      (options.tableName === undefined || tableNameOfRecord(r) === options.tableName) && accepts(r);
    let unsubscribe: () => void = () => undefined;
    const consumer: Consumer = new Consumer(handler, options, () => {
      unsubscribe();
      this.consumers.delete(consumer);
    });
    if (options.startingPosition === 'TRIM_HORIZON') {
      for (const r of this.history) if (wants(r)) consumer.enqueue(r);
    }
    const listening: ListenerOptions = {
      ...(options.tableName !== undefined ? { tableName: options.tableName } : {}),
      ...(options.filters !== undefined ? { filters: options.filters } : {}),
    };
    unsubscribe = this.subscribe((r) => consumer.enqueue(r), listening);
    this.consumers.add(consumer);
    return consumer;
  }
}

class Consumer implements StreamConsumer {
  readonly stats: DeliveryStats = { invocations: 0, checkpointed: 0, failedRecords: 0 };
  private readonly queue: StreamRecord[] = [];
  private readonly batchSize: number;
  private readonly maxRetries: number;
  private readonly auto: boolean;
  private running: Promise<void> | undefined;
  private scheduled = false;
  private stopped = false;
  private headSeq: string | undefined;
  private headAttempts = 0;
  /** Errors thrown by `onFailure`, reported by the next `flush()` (a Set: auto and flush may both see one). */
  private readonly errors = new Set<unknown>();

  constructor(
    private readonly handler: StreamHandler,
    private readonly options: DeliveryOptions,
    private readonly detach: () => void,
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.maxRetries = options.maxRetries ?? 2;
    this.auto = options.auto ?? true;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError('batchSize must be a positive integer');
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) throw new RangeError('maxRetries must be a non-negative integer');
  }

  enqueue(record: StreamRecord): void {
    if (this.stopped) return;
    this.queue.push(record);
    if (this.auto && !this.scheduled && this.running === undefined) {
      this.scheduled = true;
      // setImmediate lets writes of the same tick land in the same batch, like a batching window.
      setImmediate(() => {
        this.scheduled = false;
        void this.pump().catch((e: unknown) => this.errors.add(e));
      });
    }
  }

  pending(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.detach();
  }

  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  async flush(): Promise<void> {
    // Loop: records may be emitted by the handler itself while we deliver.
    while (!this.stopped && (this.running !== undefined || this.queue.length > 0)) {
      await this.pump().catch((e: unknown) => this.errors.add(e));
    }
    if (this.errors.size > 0) {
      const [first] = this.errors;
      this.errors.clear();
      throw first;
    }
  }

  private pump(): Promise<void> {
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      await this.deliverOneBatch();
    }
  }

  private async deliverOneBatch(): Promise<void> {
    const batch = this.queue.slice(0, this.batchSize);
    const head = batch[0];
    if (head === undefined) return;
    if (this.headSeq !== head.dynamodb.SequenceNumber) {
      this.headSeq = head.dynamodb.SequenceNumber;
      this.headAttempts = 0;
    }
    this.headAttempts++;
    this.stats.invocations++;

    let failedIndex: number | undefined; // index in `batch` of the first failed record
    let failedIds: string[] = [];
    let thrown: unknown;
    let threw = false;
    try {
      // Deep copy: the handler receives a deserialized event, never our internal objects.
      const response = await this.handler({ Records: structuredClone(batch) });
      failedIds = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      if (failedIds.length > 0) {
        const indexes = failedIds.map((id) => batch.findIndex((r) => r.dynamodb.SequenceNumber === id));
        // An empty/unknown identifier makes Lambda treat the whole batch as failed.
        failedIndex = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
      }
    } catch (e) {
      threw = true;
      thrown = e;
      failedIndex = 0;
    }

    if (failedIndex === undefined) {
      this.checkpoint(batch.length);
      return;
    }
    if (failedIndex > 0) {
      // Partial success: records before the first failure are done; the next batch starts there.
      this.checkpoint(failedIndex);
      this.headSeq = batch[failedIndex]?.dynamodb.SequenceNumber;
      this.headAttempts = 1;
    }
    if (this.headAttempts <= this.maxRetries) return; // retry from the checkpoint

    const failed = batch.slice(failedIndex);
    this.checkpoint(batch.length - failedIndex);
    this.stats.failedRecords += failed.length;
    const failure: DeliveryFailure = {
      records: failed,
      failedItemIdentifiers: failedIds,
      attempts: this.headAttempts,
      ...(threw ? { error: thrown } : {}),
    };
    this.headSeq = undefined;
    this.headAttempts = 0;
    if (this.options.onFailure !== undefined) await this.options.onFailure(failure);
  }

  private checkpoint(count: number): void {
    this.queue.splice(0, count);
    this.stats.checkpointed += count;
  }
}
