/**
 * The `DataStore` port: the workers' own data (snapshots, clips, intel, sessions, events, ...).
 *
 * The DynamoDB adapter keeps it in the orchestrator's single table under `pk = DATA#<kind>`,
 * `sk = <id>`, with the table's TTL attribute `expiresAt` (epoch seconds, see docs/data-model.md). TTL deletion is lazy
 * (it can lag by days), so both implementations hide items whose expiry has passed.
 *
 * `data` comes back as `unknown`: readers parse it with their own schema.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
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

export interface DataStore {
  put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void>;
  get(kind: DataKind, id: string): Promise<StoredItem | undefined>;
  /** Items of a kind in ascending id order. */
  list(kind: DataKind, options?: ListOptions): Promise<StoredItem[]>;
  delete(kind: DataKind, id: string): Promise<void>;
}

export const dataPk = (kind: DataKind): string => `DATA#${kind}`;

/** In-memory store for tests and the local runtime. */
export class InMemoryDataStore implements DataStore {
  private readonly items = new Map<string, StoredItem>();
  constructor(private readonly clock: () => number = Date.now) {}

  put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void> {
    const now = this.clock();
    // structuredClone: callers must not be able to mutate stored data by reference, as with a real table.
    const item: StoredItem = { kind, id, data: structuredClone(data), updatedAtMs: now, ...(options?.ttlSeconds !== undefined ? { expiresAtMs: now + options.ttlSeconds * 1000 } : {}) };
    this.items.set(`${kind}\u0000${id}`, item);
    return Promise.resolve();
  }

  get(kind: DataKind, id: string): Promise<StoredItem | undefined> {
    const item = this.items.get(`${kind}\u0000${id}`);
    return Promise.resolve(item !== undefined && this.live(item) ? structuredClone(item) : undefined);
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
}

interface DataRow {
  pk: string;
  sk: string;
  data: unknown;
  updatedAtMs: number;
  expiresAt?: number;
}

/** DynamoDB adapter on the single table. */
export class DynamoDataStore implements DataStore {
  private readonly clock: () => number;
  constructor(private readonly props: DynamoDataStoreProps) {
    this.clock = props.clock ?? Date.now;
  }

  async put(kind: DataKind, id: string, data: unknown, options?: PutOptions): Promise<void> {
    const now = this.clock();
    const row: DataRow = { pk: dataPk(kind), sk: id, data, updatedAtMs: now };
    if (options?.ttlSeconds !== undefined) row.expiresAt = Math.ceil((now + options.ttlSeconds * 1000) / 1000);
    await this.call(() => this.props.client.send(new PutCommand({ TableName: this.props.tableName, Item: row })));
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

  private toItem(kind: DataKind, row: DataRow): StoredItem | undefined {
    const expiresAtMs = typeof row.expiresAt === 'number' ? row.expiresAt * 1000 : undefined;
    if (expiresAtMs !== undefined && expiresAtMs <= this.clock()) return undefined;
    return { kind, id: row.sk, data: row.data, updatedAtMs: Number(row.updatedAtMs), ...(expiresAtMs !== undefined ? { expiresAtMs } : {}) };
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
