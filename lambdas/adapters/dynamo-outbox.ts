/**
 * The Outbox port (lib/domain/outbox.ts) on the orchestrator table. One item per entry:
 *
 * | attribute         | type | meaning                                                          |
 * |-------------------|------|------------------------------------------------------------------|
 * | `pk`              | S    | `OUTBOX#<entry id>`                                              |
 * | `sk`              | S    | `OUTBOX`                                                         |
 * | `entity`          | S    | `OUTBOX`                                                         |
 * | `outboxState`     | S    | `PENDING`, `SENDING` or `SENT`                                   |
 * | `kind`            | S    | `alert`, ... (what the message is)                               |
 * | `message`         | M    | the rendered message (subject, text, json, body, attributes)     |
 * | `enqueuedAtMs`    | N    | when it was enqueued                                             |
 * | `deliverByMs`     | N    | its severity's deadline (absent: none)                           |
 * | `digest`          | BOOL | true: held for the MEDIUM digest the health sweep sends          |
 * | `sendToken`       | S    | the delivery attempt holding the SENDING claim                   |
 * | `sendClaimedAtMs` | N    | when that claim was taken                                        |
 * | `attempts`        | N    | claims so far                                                    |
 * | `sentAtMs`        | N    | when it was marked SENT                                          |
 * | `gsi1pk`, `gsi1sk`| S    | `OUTBOX` / `<deliver-by ISO>#<id>` while not SENT: the sparse GSI `byTime` lists exactly the pending entries |
 * | `expiresAt`       | N    | TTL: enqueued + OUTBOX_RETENTION_SECONDS                         |
 *
 * Every write is one conditional PutItem or UpdateItem; a failed condition is an answer (`false`).
 * `pending` is one Query of the GSI (eventually consistent: the conditional claim is the authority).
 */
import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { RenderedMessage } from '../../lib/domain/alerting.js';
import { OUTBOX_RETENTION_SECONDS, OUTBOX_SEND_STALE_MS, type Outbox, type OutboxEntry, type PendingOutboxEntry } from '../../lib/domain/outbox.js';
import { BY_TIME_INDEX, GSI1_PK, GSI1_SK } from '../../lib/domain/worker-state.js';
import { isConditionFailure } from './dynamo-state-store.js';

export const outboxPk = (id: string): string => `OUTBOX#${id}`;
export const OUTBOX_SK = 'OUTBOX';
/** The GSI partition of the pending entries. */
export const OUTBOX_GSI_PK = 'OUTBOX';
/** Where an entry sorts among the pending ones: by deadline (no deadline: last), then id. */
export const outboxGsiSk = (entry: Pick<OutboxEntry, 'id' | 'deliverByMs' | 'enqueuedAtMs'>): string =>
  `${entry.deliverByMs === null ? '9999-12-31T23:59:59.999Z' : new Date(entry.deliverByMs).toISOString()}#${entry.id}`;

const PendingItem = z.object({
  pk: z.string().startsWith('OUTBOX#'),
  outboxState: z.enum(['PENDING', 'SENDING']),
  kind: z.string(),
  message: z.looseObject({ subject: z.string(), text: z.string(), body: z.string(), json: z.looseObject({}), attributes: z.looseObject({}) }),
  enqueuedAtMs: z.number(),
  deliverByMs: z.number().optional(),
  digest: z.boolean().optional(),
  sendClaimedAtMs: z.number().optional(),
  attempts: z.number().optional(),
});

const key = (id: string) => ({ pk: outboxPk(id), sk: OUTBOX_SK });

export class DynamoOutbox implements Outbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about pending items `pending` cannot read (they are left out). */
    private readonly onUnreadable: (pk: string, issues: string) => void = () => undefined,
  ) {}

  private async conditional(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async enqueue(entry: OutboxEntry): Promise<boolean> {
    const item = {
      ...key(entry.id),
      entity: 'OUTBOX',
      outboxState: 'PENDING',
      kind: entry.kind,
      message: entry.message,
      enqueuedAtMs: entry.enqueuedAtMs,
      ...(entry.deliverByMs !== null ? { deliverByMs: entry.deliverByMs } : {}),
      ...(entry.digest === true ? { digest: true } : {}),
      attempts: 0,
      [GSI1_PK]: OUTBOX_GSI_PK,
      [GSI1_SK]: outboxGsiSk(entry),
      expiresAt: Math.floor(entry.enqueuedAtMs / 1000) + OUTBOX_RETENTION_SECONDS,
    };
    return this.conditional(() => this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } })));
  }

  async claimSend(id: string, token: string, nowMs: number): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression: 'SET #state = :sending, #token = :token, #claimedAt = :now ADD #attempts :one',
          // sendClaimWins: PENDING, or SENDING by this token or under a stale claim; never SENT.
          ConditionExpression: 'attribute_exists(#pk) AND (#state = :pending OR (#state = :sending AND (#token = :token OR #claimedAt < :stale)))',
          ExpressionAttributeNames: { '#pk': 'pk', '#state': 'outboxState', '#token': 'sendToken', '#claimedAt': 'sendClaimedAtMs', '#attempts': 'attempts' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':sending': 'SENDING', ':token': token, ':now': nowMs, ':stale': nowMs - OUTBOX_SEND_STALE_MS, ':one': 1 },
        }),
      ),
    );
  }

  async releaseSend(id: string, token: string): Promise<void> {
    await this.conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          UpdateExpression: 'SET #state = :pending REMOVE #token, #claimedAt',
          ConditionExpression: '#state = :sending AND #token = :token',
          ExpressionAttributeNames: { '#state': 'outboxState', '#token': 'sendToken', '#claimedAt': 'sendClaimedAtMs' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':sending': 'SENDING', ':token': token },
        }),
      ),
    );
  }

  async markSent(id: string, token: string, nowMs: number): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(id),
          // Out of the GSI: the pending list holds only what still needs delivering.
          UpdateExpression: 'SET #state = :sent, #sentAt = :now REMOVE #gpk, #gsk',
          ConditionExpression: '#state = :sending AND #token = :token',
          ExpressionAttributeNames: { '#state': 'outboxState', '#token': 'sendToken', '#sentAt': 'sentAtMs', '#gpk': GSI1_PK, '#gsk': GSI1_SK },
          ExpressionAttributeValues: { ':sent': 'SENT', ':sending': 'SENDING', ':token': token, ':now': nowMs },
        }),
      ),
    );
  }

  async pending(limit: number): Promise<PendingOutboxEntry[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_TIME_INDEX,
        KeyConditionExpression: '#gpk = :outbox',
        ExpressionAttributeNames: { '#gpk': GSI1_PK },
        ExpressionAttributeValues: { ':outbox': OUTBOX_GSI_PK },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    const entries: PendingOutboxEntry[] = [];
    for (const item of out.Items ?? []) {
      const parsed = PendingItem.safeParse(item);
      if (!parsed.success) {
        this.onUnreadable(String(item['pk']), parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
        continue;
      }
      const d = parsed.data;
      entries.push({
        id: d.pk.slice('OUTBOX#'.length),
        kind: d.kind,
        // The stored message is the rendered message put by `enqueue`; its envelope is not re-validated.
        message: d.message as unknown as RenderedMessage,
        enqueuedAtMs: d.enqueuedAtMs,
        deliverByMs: d.deliverByMs ?? null,
        ...(d.digest === true ? { digest: true } : {}),
        state: d.outboxState,
        sendClaimedAtMs: d.sendClaimedAtMs ?? null,
        attempts: d.attempts ?? 0,
      });
    }
    return entries;
  }
}
