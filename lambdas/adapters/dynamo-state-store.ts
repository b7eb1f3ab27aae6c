/**
 * The StateStore port on DynamoDB (one table, keys `pk`/`sk`; see docs/data-model.md).
 *
 * Every write is one UpdateItem or PutItem with a ConditionExpression translated from the domain's
 * Condition AST. Attribute names and values always go through ExpressionAttributeNames/Values
 * placeholders; nothing is concatenated into an expression. A failed condition
 * (ConditionalCheckFailedException) is an answer (`null` / `false`), not an error.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Condition } from '../../lib/domain/lock.js';
import type { GateView, GateViewRequest, ReportKey, StateStore, StoredReport } from '../../lib/domain/ports.js';
import { EMPTY_BUCKET, WINDOW_COUNTERS, type WindowBucket, type WindowCounter } from '../../lib/domain/window-stats.js';
import {
  ORCH_PK,
  parseOrchestratorState,
  parseWorkerState,
  STATE_SK,
  windowSk,
  workerPk,
  type RawItem,
  type StateWrite,
  type WorkerStateItem,
} from '../../lib/domain/worker-state.js';

/** The WINDOW item's string set of the reports already counted into it (`addWindowCounters` with a count key). */
export const WINDOW_COUNTED_ATTR = 'counted';

/** BatchGetItem's limit of keys per request. */
export const BATCH_GET_MAX_KEYS = 100;
/** Rounds of UnprocessedKeys before giving up. */
export const BATCH_GET_MAX_ROUNDS = 6;
const BATCH_GET_BACKOFF_BASE_MS = 25;

type Key = { readonly pk: string; readonly sk: string };
const keyId = (k: Key): string => `${k.pk}\u0000${k.sk}`;

/** A DocumentClient with the marshalling options this adapter relies on. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Collects ExpressionAttributeNames/Values placeholders. */
export class ExpressionAttributes {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly nameIndex = new Map<string, string>();
  private valueCount = 0;

  name(attr: string): string {
    let placeholder = this.nameIndex.get(attr);
    if (placeholder === undefined) {
      placeholder = `#n${this.nameIndex.size}`;
      this.nameIndex.set(attr, placeholder);
      this.names[placeholder] = attr;
    }
    return placeholder;
  }

  value(v: unknown): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = v;
    return placeholder;
  }
}

const COMPARATORS = { eq: '=', lt: '<', le: '<=' } as const;

/** A ConditionExpression for the AST. An empty `and` is true (null: no condition). */
export function conditionExpression(condition: Condition, attrs: ExpressionAttributes): string | null {
  switch (condition.op) {
    case 'and':
    case 'or': {
      const parts = condition.of.map((c) => conditionExpression(c, attrs));
      if (condition.op === 'and') {
        const real = parts.filter((p): p is string => p !== null);
        return real.length === 0 ? null : real.length === 1 ? (real[0] as string) : `(${real.join(' AND ')})`;
      }
      if (parts.length === 0) throw new Error('an empty "or" condition is never true');
      // An `or` with a true branch is true.
      if (parts.some((p) => p === null)) return null;
      return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`;
    }
    case 'notExists':
      return `attribute_not_exists(${attrs.name(condition.attr)})`;
    default:
      return `${attrs.name(condition.attr)} ${COMPARATORS[condition.op]} ${attrs.value(condition.value)}`;
  }
}

export interface UpdateParts {
  readonly UpdateExpression: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** The UpdateItem expressions for a StateWrite: SET, ADD and REMOVE clauses plus its condition. */
export function updateParts(write: StateWrite): UpdateParts {
  const attrs = new ExpressionAttributes();
  const condition = conditionExpression(write.condition, attrs);
  const clauses: string[] = [];
  const set = Object.entries(write.set).map(([k, v]) => `${attrs.name(k)} = ${attrs.value(v)}`);
  if (set.length > 0) clauses.push(`SET ${set.join(', ')}`);
  const add = Object.entries(write.add).map(([k, v]) => `${attrs.name(k)} ${attrs.value(v)}`);
  if (add.length > 0) clauses.push(`ADD ${add.join(', ')}`);
  const remove = write.remove.map((k) => attrs.name(k));
  if (remove.length > 0) clauses.push(`REMOVE ${remove.join(', ')}`);
  if (clauses.length === 0) throw new Error('a state write must change something');
  return {
    UpdateExpression: clauses.join(' '),
    ...(condition !== null ? { ConditionExpression: condition } : {}),
    ExpressionAttributeNames: attrs.names,
    ...(Object.keys(attrs.values).length > 0 ? { ExpressionAttributeValues: attrs.values } : {}),
  };
}

/** A conditional write that lost: an answer, not an error. */
export const isConditionFailure = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Puts `item` unless an item with its key exists: true when written, false when it was there. */
export async function putIfAbsent(client: DynamoDBDocumentClient, tableName: string, item: Record<string, unknown>): Promise<boolean> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } }));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

function parseBucket(raw: RawItem | undefined): WindowBucket {
  if (raw === undefined) return EMPTY_BUCKET;
  const bucket = { ...EMPTY_BUCKET } as Record<WindowCounter, number>;
  for (const name of WINDOW_COUNTERS) {
    const v = raw[name];
    if (typeof v === 'number' && Number.isFinite(v)) bucket[name] = v;
  }
  return bucket;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class DynamoStateStore implements StateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Consistent BatchGetItem of distinct keys, in chunks, following UnprocessedKeys with backoff.
   * With `keysOnly`, only `pk` and `sk` come back (for existence checks).
   */
  async batchGet(keys: readonly Key[], keysOnly = false): Promise<Map<string, RawItem>> {
    const pending = new Map<string, Key>(keys.map((k) => [keyId(k), { pk: k.pk, sk: k.sk }]));
    const found = new Map<string, RawItem>();
    let queue = [...pending.values()];
    for (let round = 0; queue.length > 0; round++) {
      if (round >= BATCH_GET_MAX_ROUNDS) throw new Error(`BatchGetItem left ${queue.length} key(s) unprocessed after ${BATCH_GET_MAX_ROUNDS} rounds`);
      if (round > 0) await sleep(BATCH_GET_BACKOFF_BASE_MS * 2 ** (round - 1));
      const next: Key[] = [];
      for (let i = 0; i < queue.length; i += BATCH_GET_MAX_KEYS) {
        const chunk = queue.slice(i, i + BATCH_GET_MAX_KEYS);
        const projection = keysOnly ? { ProjectionExpression: '#pk, #sk', ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' } } : {};
        const out = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: chunk, ConsistentRead: true, ...projection } } }));
        for (const item of out.Responses?.[this.tableName] ?? []) {
          if (typeof item['pk'] === 'string' && typeof item['sk'] === 'string') found.set(keyId({ pk: item['pk'], sk: item['sk'] }), item);
        }
        for (const k of out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) {
          if (typeof k['pk'] === 'string' && typeof k['sk'] === 'string') next.push({ pk: k['pk'], sk: k['sk'] });
        }
      }
      queue = next;
    }
    return found;
  }

  async readGateView(request: GateViewRequest): Promise<GateView> {
    const stateKey = (id: string): Key => ({ pk: workerPk(id), sk: STATE_SK });
    const windowKeys = request.windows.flatMap((w) => w.bucketKeys.map((b) => ({ pk: workerPk(w.workerId), sk: windowSk(b) })));
    const items = await this.batchGet([{ pk: ORCH_PK, sk: STATE_SK }, stateKey(request.workerId), ...request.dependencyIds.map(stateKey), ...windowKeys]);
    const state = (id: string): WorkerStateItem | undefined => {
      const raw = items.get(keyId(stateKey(id)));
      return raw === undefined ? undefined : parseWorkerState(raw);
    };
    return {
      orchestrator: parseOrchestratorState(items.get(keyId({ pk: ORCH_PK, sk: STATE_SK }))),
      worker: state(request.workerId),
      dependencies: Object.fromEntries(request.dependencyIds.map((id) => [id, state(id)])),
      windows: Object.fromEntries(request.windows.map((w) => [w.workerId, w.bucketKeys.map((b) => parseBucket(items.get(keyId({ pk: workerPk(w.workerId), sk: windowSk(b) }))))])),
    };
  }

  async readWorkerState(workerId: string): Promise<WorkerStateItem | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: workerPk(workerId), sk: STATE_SK }, ConsistentRead: true }));
    return out.Item === undefined ? undefined : parseWorkerState(out.Item);
  }

  async updateWorkerState(workerId: string, write: StateWrite): Promise<WorkerStateItem | null> {
    try {
      const out = await this.client.send(
        new UpdateCommand({ TableName: this.tableName, Key: { pk: workerPk(workerId), sk: STATE_SK }, ...updateParts(write), ReturnValues: 'ALL_NEW' }),
      );
      return parseWorkerState(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async addWindowCounters(workerId: string, bucketKey: string, delta: Partial<Record<WindowCounter, number>>, expiresAt: number, countKey?: string): Promise<boolean> {
    const add = Object.fromEntries(Object.entries(delta).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] !== 0));
    const write: StateWrite = { condition: { op: 'and', of: [] }, set: { entity: 'WINDOW', expiresAt }, add, remove: [] };
    const parts = updateParts(write);
    const Key = { pk: workerPk(workerId), sk: windowSk(bucketKey) };
    if (countKey === undefined) {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, Key, ...parts }));
      return true;
    }
    // Once per key: the key joins the `counted` string set in the same write, guarded by its absence.
    const names = { ...parts.ExpressionAttributeNames, '#counted': WINDOW_COUNTED_ATTR };
    const values = { ...parts.ExpressionAttributeValues, ':countKey': countKey, ':countKeySet': new Set([countKey]) };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: parts.UpdateExpression.includes('ADD ') ? parts.UpdateExpression.replace('ADD ', 'ADD #counted :countKeySet, ') : `${parts.UpdateExpression} ADD #counted :countKeySet`,
          ConditionExpression: 'NOT contains(#counted, :countKey)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async hasReport(workerId: string, reportSk: string): Promise<boolean> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: workerPk(workerId), sk: reportSk }, ConsistentRead: true, ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': 'pk' } }),
    );
    return out.Item !== undefined;
  }

  async hasReports(keys: readonly ReportKey[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const wanted = keys.map((k) => ({ pk: workerPk(k.workerId), sk: k.reportSk }));
    const found = await this.batchGet(wanted, true);
    return wanted.map((k) => found.has(keyId(k)));
  }

  async putReportOnce(stored: StoredReport): Promise<boolean> {
    const { report, reportSk, expiresAt } = stored;
    return putIfAbsent(this.client, this.tableName, { pk: workerPk(report.workerName), sk: reportSk, entity: 'REPORT', ...report, expiresAt });
  }

  async readWindowBuckets(workerId: string, bucketKeys: readonly string[]): Promise<WindowBucket[]> {
    const items = await this.batchGet(bucketKeys.map((b) => ({ pk: workerPk(workerId), sk: windowSk(b) })));
    return bucketKeys.map((b) => parseBucket(items.get(keyId({ pk: workerPk(workerId), sk: windowSk(b) }))));
  }
}
