/**
 * Embedded DynamoDB for the local runtime: dynalite in-process, plus what dynalite lacks and our
 * workers rely on: a DynamoDB stream (emulated in the SDK client) and a manual TTL sweep.
 *
 * The clients reach dynalite in-process (dynalite-transport.ts): the SDK signs and serializes
 * each request as for DynamoDB, dynalite's own request listener answers it, no socket in between.
 *
 * The stream is produced by SDK v3 middleware on the returned `client`. For every PutItem,
 * UpdateItem, DeleteItem and BatchWriteItem it takes a per-table lock, lets the write through and
 * emits INSERT / MODIFY / REMOVE from the old and new images:
 *   - a put or delete asks the write itself for the old image (`ReturnValues: ALL_OLD`), and an
 *     update for the new one (`ALL_NEW`) after one consistent read of the old. The transport hook
 *     captures the image from dynalite's raw response (at 'build' a DocumentClient's output is
 *     already unmarshalled, so it would be lossy there) and takes it out again when the caller did
 *     not ask for it, so the caller's output is unchanged;
 *   - a write whose caller asked for other ReturnValues, and a BatchWriteItem, read the old images
 *     (one BatchGetItem for a whole batch) and read back new images that are not certain;
 *   - a successful delete leaves no item and a successful put leaves exactly its item (once its
 *     numbers are in dynalite's canonical spelling), so only those are taken for granted.
 * The emulation's reads go straight to dynalite in wire JSON, not through a client.
 * A write to an item whose records nobody could get (no listener or consumer of the table whose
 * filters accept its key, and no records kept: `stream.wantsKey`) is "quiet": it takes the table
 * lock like any other write, but no image is read or captured and no record is emitted. In the
 * local runtime that is most writes (DATA# items; only REPORT#/HEALTH# keys are consumed).
 * Like DynamoDB Streams:
 *   - a failed write (e.g. ConditionalCheckFailedException) emits nothing;
 *   - a write that changes nothing emits nothing ("no stream record is written for an operation
 *     that does not change the item");
 *   - records of one table come out in write order, each OldImage equal to the previous NewImage
 *     of the same key (the lock serializes writes per table).
 * The lock is per table, not per item, on purpose: with it a record is emitted (and auto-delivered)
 * only after every write that reached the table before it has landed, which local consumers rely
 * on (the anomaly Lambda reads the failure windows written just before a score report's INSERT).
 * Only writes sent through `client` (or a DynamoDBDocumentClient built on it) are captured.
 * dynalite implements no transactions/PartiQL: those commands are rejected with a clear error.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  AttributeValue,
  CreateTableCommandInput,
  GlobalSecondaryIndex,
  KeySchemaElement,
  LocalSecondaryIndex,
  Projection,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb';
import type { BuildMiddleware, HttpRequest, HttpResponse } from '@smithy/types';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { directCall, inProcessRequestHandler, type RequestListener } from './dynalite-transport.js';
import { createTempDir } from './temp-dir.js';
import { keyId, pickKey, sameImage, storedItem, toWireItem } from './ddb-images.js';
import { isPlainObject } from './json.js';
import { EmulatedDynamoStream } from './stream-delivery.js';
import type { StreamEventName, StreamRecord, StreamViewType, WireItem } from './stream-types.js';
import { LOCAL_REGION, localArn } from './template-asl.js';

export interface EmbeddedDynamoOptions {
  /** Epoch-milliseconds clock for `ApproximateCreationDateTime` (simulated time). Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Emit records for tables that were not created with `createTableFromTemplate` (their stream
   * config is unknown). Default true. Template tables stream only if they declare `StreamSpecification`.
   */
  readonly streamUndeclaredTables?: boolean;
  /** SDK retry budget for the returned client. Default 2. */
  readonly maxAttempts?: number;
  /**
   * How long emitted records stay readable (`stream.records()`, `drain()`, TRIM_HORIZON), in
   * seconds of simulated time. Default 24 hours, as DynamoDB Streams. Consumers attached with
   * `deliverTo` and listeners get every record live regardless.
   */
  readonly streamRetentionSeconds?: number;
  /**
   * Keeps the tables in LevelDB in a fresh temporary directory (dynalite's `path`), removed when
   * the table closes or the process exits, instead of in memory: the JavaScript heap then holds
   * none of the data, which matters to a run of days. @default false (in memory)
   */
  readonly onDisk?: boolean;
}

export interface LocalTableInfo {
  readonly tableName: string;
  readonly tableArn: string;
  /** Stream ARN when the table has a stream (template `StreamSpecification`). */
  readonly streamArn?: string;
  readonly streamViewType?: StreamViewType;
  /** `TimeToLiveSpecification.AttributeName` when TTL is enabled in the template. */
  readonly ttlAttributeName?: string;
}

export interface EmbeddedDynamo {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Client with stream emulation; give this (or a DocumentClient over it) to handler code. */
  readonly client: DynamoDBClient;
  /** Same endpoint without stream emulation: for assertions, fixtures and admin calls. */
  readonly rawClient: DynamoDBClient;
  readonly stream: EmulatedDynamoStream;
  /** The LevelDB directory of an `onDisk` table (removed by `close`); undefined in memory. */
  readonly directory: string | undefined;
  /** Creates a table from the `Properties` of an `AWS::DynamoDB::Table` / `GlobalTable` resource. */
  createTableFromTemplate(properties: Readonly<Record<string, unknown>>, tableName: string): Promise<LocalTableInfo>;
  /** The stream emulation's own image reads so far, by operation (they bypass the clients). */
  imageReads(): Readonly<Record<string, number>>;
  /** What `createTableFromTemplate` recorded about a table, if anything. */
  tableInfo(tableName: string): LocalTableInfo | undefined;
  /**
   * Manual TTL sweep: deletes items whose Number attribute `attributeName` is (strictly) below
   * `nowEpochSeconds`, emitting REMOVE records with the TTL `userIdentity`. Like DynamoDB, values
   * more than five years in the past and non-Number values are ignored. Returns the deleted count.
   */
  expireTtl(tableName: string, attributeName: string, nowEpochSeconds: number): Promise<number>;
  close(): Promise<void>;
}

const FAKE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const FIVE_YEARS_SECONDS = 5 * 365 * 24 * 3600;
const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;
const UNSUPPORTED_COMMANDS = new Set([
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
  'ExecuteStatementCommand',
  'BatchExecuteStatementCommand',
  'ExecuteTransactionCommand',
]);

type SdkItem = Record<string, AttributeValue>;

/** A FIFO async mutex per key (table name). */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => held);
    this.tails.set(key, tail);
    await prev;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Acquires several keys in sorted order (no deadlock between multi-table batches). */
  async acquireAll(keys: readonly string[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const k of [...new Set(keys)].sort()) releases.push(await this.acquire(k));
    return () => releases.reverse().forEach((r) => r());
  }
}

/** The header that ties a request to its captured image (local only; dynalite ignores it). */
const CAPTURE_HEADER = 'x-local-stream-capture';

/** How a single-item write returns its own image: `old` (put, delete) or `new` (update). */
interface CapturePlan {
  readonly image: 'old' | 'new';
  /** The ReturnValues the request is changed to, when the caller asked for none. */
  readonly set: 'ALL_OLD' | 'ALL_NEW' | undefined;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A write's image on its way back: set by the transport hook when dynalite answers. */
interface Capture {
  readonly plan: CapturePlan;
  done: boolean;
  attributes: WireItem | undefined;
}

/** The capture plan of a PutItem/DeleteItem/UpdateItem request, or undefined to read images instead. */
function capturePlanOf(command: string, request: unknown): CapturePlan | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const { body, headers } = request as { body?: unknown; headers?: unknown };
  const text = typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : undefined;
  if (text === undefined || !isPlainObject(headers)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed)) return undefined;
  const returnValues = parsed['ReturnValues'] ?? 'NONE';
  const image = command === 'UpdateItemCommand' ? 'new' : command === 'PutItemCommand' || command === 'DeleteItemCommand' ? 'old' : undefined;
  if (image === undefined) return undefined;
  const wanted = image === 'new' ? 'ALL_NEW' : 'ALL_OLD';
  if (returnValues === wanted) return { image, set: undefined, body: parsed };
  if (returnValues === 'NONE') return { image, set: wanted, body: parsed };
  return undefined;
}

function tableNameOf(nameOrArn: string): string {
  // DynamoDB accepts a table ARN wherever a TableName is expected.
  const m = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(nameOrArn);
  return m?.[1] ?? nameOrArn;
}

/** The key of a wire-format item in the SDK's shape (binary as bytes), for `keyId`. */
function sdkKeyOf(item: WireItem, keyNames: readonly string[]): SdkItem {
  const key: SdkItem = {};
  for (const name of keyNames) {
    const v = item[name];
    if (v === undefined) continue;
    key[name] = v.B !== undefined ? { B: Buffer.from(v.B, 'base64') } : (v as AttributeValue);
  }
  return key;
}

function sdkItemOrThrow(v: unknown, what: string): SdkItem {
  if (!isPlainObject(v)) throw new TypeError(`${what} must be a map of AttributeValues`);
  return v as SdkItem;
}

/** What a successful write leaves in the table, when that is known without reading it back. */
type AfterWrite = { readonly known: true; readonly image: WireItem | undefined } | { readonly known: false };
const READ_BACK: AfterWrite = { known: false };
const ABSENT: AfterWrite = { known: true, image: undefined };

/** One logical single-item write being observed. */
interface PendingWrite {
  readonly table: string;
  /** The key attributes, SDK-shaped (for reads). */
  readonly key: SdkItem;
  /** `keyId` of the item: matches it with its BatchGetItem result. */
  readonly id: string;
  readonly after: AfterWrite;
}

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
const BATCH_GET_ATTEMPTS = 20;

export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions = {}): Promise<EmbeddedDynamo> {
  const clock = options.clock ?? Date.now;
  const dir = options.onDisk === true ? createTempDir('aurastream-table-') : undefined;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dir !== undefined ? { path: dir.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  // The clients reach dynalite in-process (dynalite-transport.ts); `endpoint` still serves others.
  const [listener] = server.listeners('request') as RequestListener[];
  if (listener === undefined) throw new Error('dynalite has no request listener');
  const clientConfig = {
    endpoint,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 2,
  };
  const rawClient = new DynamoDBClient({ ...clientConfig, requestHandler: inProcessRequestHandler(listener) });
  // `onResponse` (below) is only called for requests, once everything here is set up.
  const client = new DynamoDBClient({ ...clientConfig, requestHandler: inProcessRequestHandler(listener, (request, response) => onResponse(request, response)) });
  const stream = new EmulatedDynamoStream(options.streamRetentionSeconds);
  const mutex = new KeyedMutex();
  const tables = new Map<string, LocalTableInfo>();
  const keySchemas = new Map<string, Promise<string[]>>();
  let sequence = 100000000000000000000n; // 21 digits, like real sequence numbers

  const keyNamesOf = (table: string): Promise<string[]> => {
    let cached = keySchemas.get(table);
    if (cached === undefined) {
      cached = rawClient.send(new DescribeTableCommand({ TableName: table })).then((d) => {
        const schema = d.Table?.KeySchema ?? [];
        // HASH first, then RANGE.
        return [...schema.filter((k) => k.KeyType === 'HASH'), ...schema.filter((k) => k.KeyType !== 'HASH')].map((k) => k.AttributeName ?? '');
      });
      cached.catch(() => keySchemas.delete(table));
      keySchemas.set(table, cached);
    }
    return cached;
  };

  const viewTypeOf = (table: string): StreamViewType | undefined => {
    const info = tables.get(table);
    if (info !== undefined) return info.streamViewType;
    return options.streamUndeclaredTables === false ? undefined : 'NEW_AND_OLD_IMAGES';
  };

  // The emulation's own image reads go straight to dynalite in wire JSON (dynalite-transport.ts):
  // no SDK round trip, and the items come back already in the stream's wire format.
  const imageReads: Record<string, number> = {};
  const countRead = (operation: string): void => {
    imageReads[operation] = (imageReads[operation] ?? 0) + 1;
  };
  const readImage = async (table: string, key: SdkItem): Promise<WireItem | undefined> => {
    countRead('GetItem');
    const r = await directCall(listener, 'GetItem', { TableName: table, Key: toWireItem(key), ConsistentRead: true });
    return isPlainObject(r['Item']) ? (r['Item'] as WireItem) : undefined;
  };

  /** Current images of several items (consistent reads): one GetItem, or BatchGetItems matched by `keyId`. */
  const readImages = async (targets: readonly PendingWrite[]): Promise<Array<WireItem | undefined>> => {
    const [first] = targets;
    if (targets.length === 1 && first !== undefined) return [await readImage(first.table, first.key)];
    // BatchGetItem answers in no particular order: results are matched back by id, so ids must be unique.
    if (new Set(targets.map((t) => t.id)).size !== targets.length) return Promise.all(targets.map((t) => readImage(t.table, t.key)));
    const found = new Map<string, WireItem>();
    for (let i = 0; i < targets.length; i += BATCH_GET_LIMIT) {
      let request: Record<string, { Keys: WireItem[]; ConsistentRead: true }> = {};
      for (const t of targets.slice(i, i + BATCH_GET_LIMIT)) (request[t.table] ??= { Keys: [], ConsistentRead: true }).Keys.push(toWireItem(t.key));
      for (let attempt = 1; Object.keys(request).length > 0; attempt++) {
        if (attempt > BATCH_GET_ATTEMPTS) throw new Error(`BatchGetItem still had unprocessed keys after ${BATCH_GET_ATTEMPTS} attempts`);
        countRead('BatchGetItem');
        const r = await directCall(listener, 'BatchGetItem', { RequestItems: request });
        const responses = isPlainObject(r['Responses']) ? (r['Responses'] as Record<string, WireItem[]>) : {};
        for (const [table, items] of Object.entries(responses)) {
          const names = await keyNamesOf(table);
          for (const item of items) found.set(keyId(table, sdkKeyOf(item, names), names), item);
        }
        request = isPlainObject(r['UnprocessedKeys']) ? (r['UnprocessedKeys'] as typeof request) : {};
      }
    }
    return targets.map((t) => found.get(t.id));
  };

  const emit = (table: string, keyNames: readonly string[], old: WireItem | undefined, now: WireItem | undefined, ttl = false): void => {
    const viewType = viewTypeOf(table);
    if (viewType === undefined || sameImage(old, now)) return;
    const image = now ?? old;
    if (image === undefined) return;
    const eventName: StreamEventName = old === undefined ? 'INSERT' : now === undefined ? 'REMOVE' : 'MODIFY';
    const Keys = pickKey(image, keyNames);
    const withNew = viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES';
    const withOld = viewType === 'OLD_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES';
    const images = {
      ...(withNew && now !== undefined ? { NewImage: now } : {}),
      ...(withOld && old !== undefined ? { OldImage: old } : {}),
    };
    sequence += 1n;
    const record: StreamRecord = {
      eventID: randomUUID().replaceAll('-', ''),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      eventSourceARN: localArn.dynamoStream(table),
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(clock() / 1000),
        Keys,
        ...images,
        SequenceNumber: sequence.toString(),
        SizeBytes: Buffer.byteLength(JSON.stringify({ Keys, ...images })),
        StreamViewType: viewType,
      },
      ...(ttl ? { userIdentity: TTL_IDENTITY } : {}),
    };
    stream.emit(record);
  };

  /**
   * Wraps `write` with old/new images under the locks of all touched tables. `readBackAll` tells,
   * from the write's result, that the new images cannot be taken for granted (a BatchWriteItem
   * with unprocessed items): they are then all read back.
   */
  const observe = async <T>(writes: readonly PendingWrite[], write: () => Promise<T>, readBackAll: (result: T) => boolean, quietTables: ReadonlySet<string>): Promise<T> => {
    if (writes.length === 0 && quietTables.size === 0) return write();
    const release = await mutex.acquireAll([...writes.map((w) => w.table), ...quietTables]);
    try {
      // Items nobody listens to (quiet): the table lock alone, so the write still lands before any
      // record emitted after it (the ordering consumers rely on), but no image and no record.
      if (writes.length === 0) return await write();
      let olds: Array<WireItem | undefined>;
      try {
        olds = await readImages(writes);
      } catch {
        // The table/key is unusable (e.g. ResourceNotFoundException): let the write report it.
        return await write();
      }
      const result = await write(); // throws → no record, exactly like a failed DynamoDB write
      const all = readBackAll(result);
      const toRead = writes.filter((w) => all || !w.after.known);
      const reread = toRead.length > 0 ? await readImages(toRead) : [];
      let next = 0;
      for (const [i, w] of writes.entries()) {
        const now = !all && w.after.known ? w.after.image : reread[next++];
        emit(w.table, await keyNamesOf(w.table), olds[i], now);
      }
      return result;
    } finally {
      release();
    }
  };

  /** In-flight captures by request id: the plan, and the image once the response came back. */
  const captures = new Map<string, Capture>();
  let captureSeq = 0;
  /**
   * A single-item write whose image the write itself can return: the request asks dynalite for it
   * (`ReturnValues`), the transport hook captures it from the raw response and, when the caller
   * did not ask for it, takes it out again, so the caller's output is what it would have been.
   * A put or delete then needs no read at all, an update one (its old image).
   */
  const observeCaptured = async <T>(w: PendingWrite, plan: CapturePlan, request: HttpRequest, write: () => Promise<T>): Promise<T> => {
    const id = String(++captureSeq);
    request.headers[CAPTURE_HEADER] = id;
    if (plan.set !== undefined) {
      request.body = JSON.stringify({ ...plan.body, ReturnValues: plan.set });
      for (const name of Object.keys(request.headers)) if (name.toLowerCase() === 'content-length') request.headers[name] = String(Buffer.byteLength(request.body as string));
    }
    const capture: Capture = { plan, done: false, attributes: undefined };
    captures.set(id, capture);
    const release = await mutex.acquire(w.table);
    try {
      let old: WireItem | undefined;
      if (plan.image === 'new') {
        try {
          old = await readImage(w.table, w.key);
        } catch {
          return await write(); // unusable table/key: let the write report it
        }
      }
      const result = await write(); // throws → no record, exactly like a failed DynamoDB write
      if (!capture.done) throw new Error(`the embedded DynamoDB lost the image of a ${w.table} write`);
      let now: WireItem | undefined;
      if (plan.image === 'old') {
        old = capture.attributes;
        now = w.after.known ? w.after.image : await readImage(w.table, w.key);
      } else {
        now = capture.attributes;
      }
      emit(w.table, await keyNamesOf(w.table), old, now);
      return result;
    } finally {
      captures.delete(id);
      release();
    }
  };
  /** The transport hook: takes the captured image out of dynalite's raw response. */
  const onResponse = (request: HttpRequest, response: HttpResponse): HttpResponse => {
    const id = request.headers[CAPTURE_HEADER];
    const capture = id === undefined ? undefined : captures.get(id);
    if (capture === undefined || response.statusCode !== 200) return response;
    const { plan } = capture;
    const json = JSON.parse(Buffer.from(response.body as Uint8Array).toString('utf8')) as Record<string, unknown>;
    const attributes = json['Attributes'];
    capture.done = true;
    capture.attributes = isPlainObject(attributes) ? (attributes as WireItem) : undefined;
    if (plan.set === undefined) return response;
    delete json['Attributes'];
    const body = Buffer.from(JSON.stringify(json), 'utf8');
    const headers: Record<string, string> = { ...response.headers, 'content-length': String(body.length) };
    delete headers['x-amz-crc32'];
    return { ...response, headers, body };
  };

  /**
   * The observed single-item writes of a request (none for tables without a stream), and the
   * tables of its quiet writes (items whose records nobody could get: `stream.wantsKey`), or
   * undefined if it writes nothing.
   */
  const pendingWritesOf = async (command: string, input: unknown): Promise<{ writes: PendingWrite[]; quietTables: Set<string> } | undefined> => {
    if (!isPlainObject(input)) return undefined;
    const out: PendingWrite[] = [];
    const quietTables = new Set<string>();
    const add = async (table: unknown, kind: 'put' | 'update' | 'delete', keyOrItem: unknown): Promise<void> => {
      if (typeof table !== 'string') throw new TypeError(`${command}: TableName must be a string`);
      const name = tableNameOf(table);
      if (viewTypeOf(name) === undefined) return;
      const sdk = sdkItemOrThrow(keyOrItem, kind === 'put' ? 'Item' : 'Key');
      const names = await keyNamesOf(name);
      let key = sdk;
      if (kind === 'put') {
        key = {};
        for (const k of names) {
          const v = sdk[k];
          if (v !== undefined) key[k] = v;
        }
      }
      if (!stream.wantsKey(name, key)) {
        quietTables.add(name);
        return;
      }
      let after: AfterWrite = READ_BACK;
      if (kind === 'put') {
        const image = storedItem(sdk);
        if (image !== undefined) after = { known: true, image };
      } else if (kind === 'delete') {
        after = ABSENT;
      }
      out.push({ table: name, key, id: keyId(name, key, names), after });
    };
    switch (command) {
      case 'PutItemCommand':
        await add(input['TableName'], 'put', input['Item']);
        return { writes: out, quietTables };
      case 'UpdateItemCommand':
        await add(input['TableName'], 'update', input['Key']);
        return { writes: out, quietTables };
      case 'DeleteItemCommand':
        await add(input['TableName'], 'delete', input['Key']);
        return { writes: out, quietTables };
      case 'BatchWriteItemCommand': {
        const requestItems = input['RequestItems'];
        if (!isPlainObject(requestItems)) return undefined;
        for (const [table, requests] of Object.entries(requestItems)) {
          for (const req of Array.isArray(requests) ? requests : []) {
            if (!isPlainObject(req)) continue;
            const put = req['PutRequest'];
            const del = req['DeleteRequest'];
            if (isPlainObject(put)) await add(table, 'put', put['Item']);
            else if (isPlainObject(del)) await add(table, 'delete', del['Key']);
          }
        }
        return { writes: out, quietTables };
      }
      default:
        return undefined;
    }
  };

  /** Whether a BatchWriteItem result left items unprocessed (those writes did not happen). */
  const hasUnprocessedItems = (result: { output: unknown }): boolean => {
    const output = result.output;
    const unprocessed = isPlainObject(output) ? output['UnprocessedItems'] : undefined;
    return isPlainObject(unprocessed) && Object.values(unprocessed).some((reqs) => !Array.isArray(reqs) || reqs.length > 0);
  };

  /*
   * Step choice: 'build'. In 'initialize' a DynamoDBDocumentClient's input is still native JS
   * (its marshalling middleware runs just before 'serialize'), while in 'build' `args.input` is
   * always AttributeValue-shaped, whichever client sent it. 'build' is also still outside the
   * retry middleware ('finalizeRequest'), so an SDK retry of one logical write cannot emit twice.
   */
  const streamMiddleware: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    const command = context.commandName ?? '';
    if (UNSUPPORTED_COMMANDS.has(command)) {
      throw new Error(`${command} is not supported by the embedded DynamoDB (dynalite has no transactions or PartiQL)`);
    }
    if (command === 'CreateTableCommand' || command === 'DeleteTableCommand') {
      const t = isPlainObject(args.input) ? args.input['TableName'] : undefined;
      if (typeof t === 'string') keySchemas.delete(tableNameOf(t));
      return next(args);
    }
    let observed: { writes: PendingWrite[]; quietTables: Set<string> } | undefined;
    try {
      observed = await pendingWritesOf(command, args.input);
    } catch {
      observed = undefined; // malformed input or unknown table: DynamoDB will reject the request itself
    }
    if (observed === undefined) return next(args);
    const { writes, quietTables } = observed;
    const [only] = writes;
    const plan = writes.length === 1 && quietTables.size === 0 && only !== undefined ? capturePlanOf(command, args.request) : undefined;
    if (plan !== undefined && only !== undefined) return observeCaptured(only, plan, args.request as HttpRequest, () => next(args));
    return observe(writes, () => next(args), command === 'BatchWriteItemCommand' ? hasUnprocessedItems : () => false, quietTables);
  };
  client.middlewareStack.add(streamMiddleware, { step: 'build', name: 'localDynamoStreamEmulation', priority: 'high' });

  const createTableFromTemplate = async (properties: Readonly<Record<string, unknown>>, tableName: string): Promise<LocalTableInfo> => {
    const input = createTableInput(properties, tableName);
    keySchemas.delete(tableName);
    await rawClient.send(new CreateTableCommand(input));
    for (let i = 0; i < 200; i++) {
      const d = await rawClient.send(new DescribeTableCommand({ TableName: tableName }));
      if (d.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 2));
    }
    const spec = properties['StreamSpecification'];
    const viewType = isPlainObject(spec) ? parseViewType(spec['StreamViewType']) : undefined;
    const ttlSpec = properties['TimeToLiveSpecification'];
    const ttlAttr = isPlainObject(ttlSpec) && ttlSpec['Enabled'] !== false && typeof ttlSpec['AttributeName'] === 'string' ? ttlSpec['AttributeName'] : undefined;
    const info: LocalTableInfo = {
      tableName,
      tableArn: localArn.dynamoTable(tableName),
      ...(viewType !== undefined ? { streamArn: localArn.dynamoStream(tableName), streamViewType: viewType } : {}),
      ...(ttlAttr !== undefined ? { ttlAttributeName: ttlAttr } : {}),
    };
    tables.set(tableName, info);
    return info;
  };

  const expireTtl = async (tableName: string, attributeName: string, nowEpochSeconds: number): Promise<number> => {
    const keyNames = await keyNamesOf(tableName);
    const isExpired = (item: SdkItem | WireItem | undefined): boolean => {
      const n = item?.[attributeName]?.N;
      if (n === undefined) return false;
      const t = Number(n);
      return Number.isFinite(t) && t < nowEpochSeconds && t >= nowEpochSeconds - FIVE_YEARS_SECONDS;
    };
    const candidates: SdkItem[] = [];
    let startKey: SdkItem | undefined;
    do {
      // Only the keys and the TTL of expired items come back (the whole table would be read otherwise).
      const names = Object.fromEntries([...keyNames, attributeName].map((n, i) => [`#a${i}`, n]));
      const page = await rawClient.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          ProjectionExpression: Object.keys(names).join(', '),
          FilterExpression: `#a${keyNames.length} < :now AND #a${keyNames.length} >= :oldest`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':now': { N: String(nowEpochSeconds) }, ':oldest': { N: String(nowEpochSeconds - FIVE_YEARS_SECONDS) } },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) if (isExpired(item)) candidates.push(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);

    let deleted = 0;
    for (const item of candidates) {
      const key: SdkItem = {};
      for (const k of keyNames) {
        const v = item[k];
        if (v !== undefined) key[k] = v;
      }
      const release = await mutex.acquire(tableName);
      try {
        const old = await readImage(tableName, key);
        if (!isExpired(old)) continue; // re-written (e.g. TTL extended) since the scan
        await rawClient.send(new DeleteItemCommand({ TableName: tableName, Key: key }));
        deleted++;
        emit(tableName, keyNames, old, undefined, true);
      } finally {
        release();
      }
    }
    return deleted;
  };

  const close = async (): Promise<void> => {
    stream.stopAll();
    client.destroy();
    rawClient.destroy();
    server.closeAllConnections();
    try {
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    } finally {
      dir?.remove();
    }
  };

  return {
    endpoint,
    client,
    rawClient,
    stream,
    directory: dir?.path,
    createTableFromTemplate,
    tableInfo: (t) => tables.get(t),
    imageReads: () => ({ ...imageReads }),
    expireTtl,
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// Template table properties → CreateTable input
// ---------------------------------------------------------------------------------------------

function parseViewType(v: unknown): StreamViewType | undefined {
  return v === 'KEYS_ONLY' || v === 'NEW_IMAGE' || v === 'OLD_IMAGE' || v === 'NEW_AND_OLD_IMAGES' ? v : undefined;
}

function objects(v: unknown, what: string): Array<Record<string, unknown>> {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isPlainObject)) throw new TypeError(`${what} must be a list of objects`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string (resolve intrinsics first), got ${JSON.stringify(v)}`);
  return v;
}

function keySchema(v: unknown, what: string): KeySchemaElement[] {
  return objects(v, what).map((k, i) => ({
    AttributeName: str(k['AttributeName'], `${what}[${i}].AttributeName`),
    KeyType: k['KeyType'] === 'RANGE' ? 'RANGE' : 'HASH',
  }));
}

function projection(v: unknown): Projection {
  if (!isPlainObject(v)) return { ProjectionType: 'ALL' };
  const type = v['ProjectionType'];
  const nonKey = v['NonKeyAttributes'];
  return {
    ProjectionType: type === 'KEYS_ONLY' || type === 'INCLUDE' ? type : 'ALL',
    ...(Array.isArray(nonKey) ? { NonKeyAttributes: nonKey.map((a, i) => str(a, `NonKeyAttributes[${i}]`)) } : {}),
  };
}

/**
 * Keeps only what shapes the data (keys, attribute definitions, indexes). Capacity is irrelevant
 * locally, so every table and index is created PAY_PER_REQUEST; streams/TTL are emulated separately.
 */
function createTableInput(props: Readonly<Record<string, unknown>>, tableName: string): CreateTableCommandInput {
  const gsis: GlobalSecondaryIndex[] = objects(props['GlobalSecondaryIndexes'], 'GlobalSecondaryIndexes').map((g, i) => ({
    IndexName: str(g['IndexName'], `GlobalSecondaryIndexes[${i}].IndexName`),
    KeySchema: keySchema(g['KeySchema'], `GlobalSecondaryIndexes[${i}].KeySchema`),
    Projection: projection(g['Projection']),
  }));
  const lsis: LocalSecondaryIndex[] = objects(props['LocalSecondaryIndexes'], 'LocalSecondaryIndexes').map((l, i) => ({
    IndexName: str(l['IndexName'], `LocalSecondaryIndexes[${i}].IndexName`),
    KeySchema: keySchema(l['KeySchema'], `LocalSecondaryIndexes[${i}].KeySchema`),
    Projection: projection(l['Projection']),
  }));
  const attrTypes = new Set(['S', 'N', 'B']);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(props['KeySchema'], 'KeySchema'),
    AttributeDefinitions: objects(props['AttributeDefinitions'], 'AttributeDefinitions').map((a, i) => {
      const t = a['AttributeType'];
      if (typeof t !== 'string' || !attrTypes.has(t)) throw new TypeError(`AttributeDefinitions[${i}].AttributeType must be S, N or B`);
      return { AttributeName: str(a['AttributeName'], `AttributeDefinitions[${i}].AttributeName`), AttributeType: t as 'S' | 'N' | 'B' };
    }),
    ...(gsis.length > 0 ? { GlobalSecondaryIndexes: gsis } : {}),
    ...(lsis.length > 0 ? { LocalSecondaryIndexes: lsis } : {}),
  };
}
