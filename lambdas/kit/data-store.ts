/**
 * The `DataStore` port: the workers' own data (snapshots, clips, intel, sessions, events, ...).
 *
 * The DynamoDB adapter keeps it in the orchestrator's single table under `pk = DATA#<kind>`,
 * `sk = <id>`, with the table's TTL attribute `expiresAt` (epoch seconds, see docs/data-model.md). TTL deletion is lazy
 * (it can lag by days), so both implementations hide items whose expiry has passed.
 *
 * `data` comes back as `unknown`: readers parse it with their own schema.
 *
 * The DynamoDB adapter stores `data` as one JSON string attribute, `json`, not as a nested map:
 * nothing queries or projects inside a worker's data, and a document of a few hundred records
 * (a snapshot, a clip bucket) would otherwise be marshalled, sent and validated value by value on
 * every read and write (in the Lambda's CPU, and locally in the embedded table's). A JSON string
 * also takes any JSON document, where a map is bound to 32 levels of nesting. Items written before
 * (`data` as a map) are still read. A `json` attribute that does not parse comes back as its raw
 * string, which no reader's schema accepts: an unreadable record, not a failed run.
 *
 * The batch operations (`getMany`, `putMany`, `deleteMany`) cost one request per 100 reads or 25
 * writes instead of one per item: workers that touch many records per run use them.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TransientUpstreamError } from '../../lib/domain/errors.js';

export const DATA_KINDS = ['snapshot', 'clip', 'intel', 'session', 'event', 'report', 'asset', 'aggregate', 'recap', 'state'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

export interface StoredItem<T = unknown> {
  readonly kind: DataKind;
  readonly id: string;
  readonly data: T;
  readonly updatedAtMs: number;
  readonly expiresAtMs?: number;
}

export interface PutOptions {
  /** Time to live, in seconds. @default - kept until deleted */
  readonly ttlSeconds?: number;
}

export interface ListOptions {
  /** Only ids starting with this prefix. */
  readonly prefix?: string;
  /** At most this many items (in id order). */
  readonly limit?: number;
}

/** One row of `putMany`. */
export interface PutRow {
  readonly id: string;
  readonly data: unknown;
  readonly options?: PutOptions;
}

export interface DataStore {
  put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void>;
  get(kind: DataKind, id: string): Promise<StoredItem | undefined>;
  /**
   * The live items of these ids, keyed by id (in the order of `ids`); missing and expired ids are
   * absent. Duplicate ids are read once.
   */
  getMany(kind: DataKind, ids: readonly string[]): Promise<Map<string, StoredItem>>;
  /**
   * Writes every row, like `put` one by one (for a duplicate id the last row wins). Not atomic:
   * on failure some rows may be written and others not.
   */
  putMany(kind: DataKind, rows: readonly PutRow[]): Promise<void>;
  /** Items of a kind in ascending id order. */
  list(kind: DataKind, options?: ListOptions): Promise<StoredItem[]>;
  delete(kind: DataKind, id: string): Promise<void>;
  /** Deletes every id, like `delete` one by one. Not atomic. */
  deleteMany(kind: DataKind, ids: readonly string[]): Promise<void>;
}

/** BatchGetItem takes at most 100 keys per request. */
export const BATCH_GET_MAX = 100;
/** BatchWriteItem takes at most 25 put or delete requests per request. */
export const BATCH_WRITE_MAX = 25;
/** Retries of the keys/items a batch request left unprocessed, before giving up. */
export const BATCH_MAX_RETRIES = 5;
/** Backoff before retry n (1-based) of unprocessed keys/items: base * 2^(n-1), with full jitter. */
export const BATCH_BACKOFF_BASE_MS = 25;

export const dataPk = (kind: DataKind): string => `DATA#${kind}`;

/** In-memory store for tests and the local runtime. */
export class InMemoryDataStore implements DataStore {
  private readonly items = new Map<string, StoredItem>();
  constructor(private readonly clock: () => number = Date.now) {}

  put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void> {
    this.write(kind, id, data, options);
    return Promise.resolve();
  }

  get(kind: DataKind, id: string): Promise<StoredItem | undefined> {
    return Promise.resolve(this.read(kind, id));
  }

  getMany(kind: DataKind, ids: readonly string[]): Promise<Map<string, StoredItem>> {
    const out = new Map<string, StoredItem>();
    for (const id of ids) {
      const item = out.has(id) ? undefined : this.read(kind, id);
      if (item !== undefined) out.set(id, item);
    }
    return Promise.resolve(out);
  }

  putMany(kind: DataKind, rows: readonly PutRow[]): Promise<void> {
    for (const row of rows) this.write(kind, row.id, row.data, row.options);
    return Promise.resolve();
  }

  deleteMany(kind: DataKind, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.items.delete(`${kind}\u0000${id}`);
    return Promise.resolve();
  }

  private write(kind: DataKind, id: string, data: unknown, options: PutOptions | undefined): void {
    const now = this.clock();
    // structuredClone: callers must not be able to mutate stored data by reference, as with a real table.
    const item: StoredItem = { kind, id, data: structuredClone(data), updatedAtMs: now, ...(options?.ttlSeconds !== undefined ? { expiresAtMs: now + options.ttlSeconds * 1000 } : {}) };
    this.items.set(`${kind}\u0000${id}`, item);
  }

  private read(kind: DataKind, id: string): StoredItem | undefined {
    const item = this.items.get(`${kind}\u0000${id}`);
    return item !== undefined && this.live(item) ? structuredClone(item) : undefined;
  }

  list(kind: DataKind, options?: ListOptions): Promise<StoredItem[]> {
    const prefix = options?.prefix ?? '';
    const out = [...this.items.values()]
      .filter((i) => i.kind === kind && i.id.startsWith(prefix) && this.live(i))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, options?.limit ?? Number.POSITIVE_INFINITY);
    return Promise.resolve(out.map((i) => structuredClone(i)));
  }

  delete(kind: DataKind, id: string): Promise<void> {
    this.items.delete(`${kind}\u0000${id}`);
    return Promise.resolve();
  }

  /** Every live item, for assertions. */
  size(kind?: DataKind): number {
    return [...this.items.values()].filter((i) => (kind === undefined || i.kind === kind) && this.live(i)).length;
  }

  private live(item: StoredItem): boolean {
    return item.expiresAtMs === undefined || item.expiresAtMs > this.clock();
  }
}

export interface DynamoDataStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Waits between retries of unprocessed batch keys/items. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

interface DataRow {
  pk: string;
  sk: string;
  /** `data` as JSON: what this adapter writes. */
  json?: string;
  /** `data` as a map: items written before `json`, still read. */
  data?: unknown;
  updatedAtMs: number;
  expiresAt?: number;
}

type WriteRequest = { PutRequest: { Item: DataRow } } | { DeleteRequest: { Key: { pk: string; sk: string } } };

/** DynamoDB adapter on the single table. */
export class DynamoDataStore implements DataStore {
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  constructor(private readonly props: DynamoDataStoreProps) {
    this.clock = props.clock ?? Date.now;
    this.sleep = props.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = props.random ?? Math.random;
  }

  private row(kind: DataKind, id: string, data: unknown, options: PutOptions | undefined): DataRow {
    const now = this.clock();
    const row: DataRow = { pk: dataPk(kind), sk: id, json: JSON.stringify(data), updatedAtMs: now };
    if (options?.ttlSeconds !== undefined) row.expiresAt = Math.ceil((now + options.ttlSeconds * 1000) / 1000);
    return row;
  }

  async put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void> {
    const row = this.row(kind, id, data, options);
    await this.call(() => this.props.client.send(new PutCommand({ TableName: this.props.tableName, Item: row })));
  }

  async getMany(kind: DataKind, ids: readonly string[]): Promise<Map<string, StoredItem>> {
    const unique = [...new Set(ids)];
    const found = new Map<string, StoredItem>();
    await this.inChunks(unique, BATCH_GET_MAX, async (chunk) => {
      let keys: Record<string, unknown>[] = chunk.map((id) => ({ pk: dataPk(kind), sk: id }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        await this.beforeRetry(attempt, `${keys.length} of ${chunk.length} key(s) of a BatchGetItem stayed unprocessed`);
        const request = { [this.props.tableName]: { Keys: keys, ConsistentRead: true } };
        const out = await this.call(() => this.props.client.send(new BatchGetCommand({ RequestItems: request })));
        for (const row of out.Responses?.[this.props.tableName] ?? []) {
          const item = this.toItem(kind, row as DataRow);
          if (item !== undefined) found.set(item.id, item);
        }
        keys = out.UnprocessedKeys?.[this.props.tableName]?.Keys ?? [];
      }
    });
    // In the order asked for, whatever order the batches answered in.
    const out = new Map<string, StoredItem>();
    for (const id of unique) {
      const item = found.get(id);
      if (item !== undefined) out.set(id, item);
    }
    return out;
  }

  async putMany(kind: DataKind, rows: readonly PutRow[]): Promise<void> {
    // BatchWriteItem rejects two requests on one key: the last row of an id wins, as with `put`.
    const byId = new Map<string, PutRow>();
    for (const r of rows) {
      byId.delete(r.id);
      byId.set(r.id, r);
    }
    await this.writeInBatches([...byId.values()].map((r) => ({ PutRequest: { Item: this.row(kind, r.id, r.data, r.options) } })));
  }

  async deleteMany(kind: DataKind, ids: readonly string[]): Promise<void> {
    await this.writeInBatches([...new Set(ids)].map((id) => ({ DeleteRequest: { Key: { pk: dataPk(kind), sk: id } } })));
  }

  async get(kind: DataKind, id: string): Promise<StoredItem | undefined> {
    const out = await this.call(() => this.props.client.send(new GetCommand({ TableName: this.props.tableName, Key: { pk: dataPk(kind), sk: id }, ConsistentRead: true })));
    return out.Item === undefined ? undefined : this.toItem(kind, out.Item as DataRow);
  }

  async list(kind: DataKind, options?: ListOptions): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let start: Record<string, unknown> | undefined;
    const limit = options?.limit ?? Number.POSITIVE_INFINITY;
    do {
      const prefix = options?.prefix;
      const out = await this.call(() =>
        this.props.client.send(
          new QueryCommand({
            TableName: this.props.tableName,
            KeyConditionExpression: prefix === undefined || prefix === '' ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': dataPk(kind), ...(prefix !== undefined && prefix !== '' ? { ':prefix': prefix } : {}) },
            ConsistentRead: true,
            ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const row of out.Items ?? []) {
        const item = this.toItem(kind, row as DataRow);
        if (item !== undefined) items.push(item);
        if (items.length >= limit) return items;
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async delete(kind: DataKind, id: string): Promise<void> {
    await this.call(() => this.props.client.send(new DeleteCommand({ TableName: this.props.tableName, Key: { pk: dataPk(kind), sk: id } })));
  }

  private async writeInBatches(requests: readonly WriteRequest[]): Promise<void> {
    await this.inChunks(requests, BATCH_WRITE_MAX, async (chunk) => {
      let pending: WriteRequest[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        await this.beforeRetry(attempt, `${pending.length} of ${chunk.length} item(s) of a BatchWriteItem stayed unprocessed`);
        const request = { [this.props.tableName]: pending };
        const out = await this.call(() => this.props.client.send(new BatchWriteCommand({ RequestItems: request })));
        pending = (out.UnprocessedItems?.[this.props.tableName] ?? []) as WriteRequest[];
      }
    });
  }

  /** Nothing on the first attempt; a jittered exponential wait on a retry; a retryable error past the bound. */
  private async beforeRetry(attempt: number, what: string): Promise<void> {
    if (attempt === 0) return;
    if (attempt > BATCH_MAX_RETRIES) throw new TransientUpstreamError(`DynamoDB throttled: ${what} after ${BATCH_MAX_RETRIES} retries`);
    await this.sleep(Math.round(this.random() * BATCH_BACKOFF_BASE_MS * 2 ** (attempt - 1)));
  }

  /**
   * Runs `fn` on consecutive chunks of `size`, one request at a time: gentler on the table's
   * throughput than parallel batches, and a failure stops before the next chunk.
   */
  private async inChunks<T>(items: readonly T[], size: number, fn: (chunk: T[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
  }

  private toItem(kind: DataKind, row: DataRow): StoredItem | undefined {
    const expiresAtMs = typeof row.expiresAt === 'number' ? row.expiresAt * 1000 : undefined;
    if (expiresAtMs !== undefined && expiresAtMs <= this.clock()) return undefined;
    return { kind, id: row.sk, data: typeof row.json === 'string' ? parseJson(row.json) : row.data, updatedAtMs: Number(row.updatedAtMs), ...(expiresAtMs !== undefined ? { expiresAtMs } : {}) };
  }

  /** DynamoDB throttling and 5xx become retryable; anything else propagates as it is. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (/ProvisionedThroughputExceeded|ThrottlingException|RequestLimitExceeded|InternalServerError|ServiceUnavailable/.test(name)) {
        throw new TransientUpstreamError(`DynamoDB unavailable (${name})`, { cause: error });
      }
      throw error;
    }
  }
}

/** The JSON's value, or the string itself when it does not parse (no reader's schema accepts it). */
function parseJson(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}
