/**
 * The AlertStore port on the orchestrator table. One item per alert id:
 *
 * | attribute     | type | meaning                                                            |
 * |---------------|------|--------------------------------------------------------------------|
 * | `pk`          | S    | `ALERT#<alert id>`                                                 |
 * | `sk`          | S    | `ALERT`                                                            |
 * | `entity`      | S    | `ALERT`                                                            |
 * | `alertState`  | S    | `CLAIMED` (being delivered) or `DELIVERED`                         |
 * | `claimToken`  | S    | the stream record (eventID) delivering it                           |
 * | `claimedAtMs` | N    | when it was claimed                                                |
 * | `deliveredAtMs` | N  | when it was marked delivered                                       |
 * | `worker`, `anomaly`, `severity`, `dedupKey`, `windowStart` | S | for reading the table by eye |
 * | `alert`       | M    | the whole Alert (lib/domain/alerting.ts)                           |
 * | `expiresAt`   | N    | TTL: end of the dedup window + ALERT_TTL_GRACE_SECONDS             |
 * | `acknowledgedAt` | S | ISO-8601, set once by `acknowledgeAlert` (POST /alerts/{id}/ack)   |
 * | `acknowledgedBy`, `ackNote` | S | who acknowledged it, and why (optional), set with it      |
 * | `gsi1pk`      | S    | `ALERTS`: puts the alert in the sparse GSI `byTime`                |
 * | `gsi1sk`      | S    | `<raisedAt ISO>#<alert id>`: newest first with ScanIndexForward false |
 * | `escalationState` | S | `PAGING` (a sweep is paging on-call) or `ESCALATED`               |
 * | `escalationToken` | S | the sweep run that claimed the escalation                         |
 * | `escalationClaimedAtMs` | N | when it was claimed                                         |
 * | `escalatedAtMs` | N  | when on-call was paged (marked ESCALATED)                          |
 *
 * `claim` is one conditional PutItem; `markDelivered` one conditional UpdateItem. A failed
 * condition is an answer (`false`), not an error; anything else (throttling, network) is thrown
 * for the caller to retry.
 *
 * Escalation (lib/domain/escalation.ts; the health sweep): no marker item and no index. Alert ids
 * are deterministic, so the sweep computes the ids of the CRITICAL alerts that may be due and
 * `readAlerts` point-reads them (BatchGetItem, 100 keys a request, eventually consistent: the
 * conditional claim is the authority). `claimEscalation`, `markEscalated` and `releaseEscalation`
 * are conditional UpdateItems on the ALERT item itself, so two sweeps never page twice.
 * `acknowledgeAlert` is one conditional UpdateItem (plus a GetItem when it was acknowledged
 * already or does not exist, to tell the two apart).
 *
 * `listAlerts` is one Query of the GSI `byTime` (`gsi1pk = ALERTS`, newest first, paginated by
 * LastEvaluatedKey). Alerts claimed before the GSI existed have no `gsi1pk` and are not listed.
 *
 * Known edge: `claim` replaces the whole item when a retry (or a stale takeover) of a CLAIMED,
 * never-delivered alert wins, which drops `acknowledgedAt` and the escalation attributes; an alert
 * whose delivery kept failing for 15 minutes and then succeeded may page on-call a second time.
 */
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { Alert } from '../../lib/domain/alerting.js';
import { ALERT_CLAIM_STALE_MS, ALERT_SK, alertExpiresAt, alertPk, type AlertClaim, type AlertState, type AlertStore } from '../../lib/domain/anomaly-evaluation.js';
import { ANOMALY_CODES, SEVERITIES } from '../../lib/domain/anomaly-rules.js';
import {
  ESCALATION_CLAIM_STALE_MS,
  ESCALATION_STATES,
  type AlertEscalationView,
  type EscalationClaim,
  type EscalationState,
  type EscalationStore,
} from '../../lib/domain/escalation.js';
import { ALERTS_GSI_PK, alertGsiSk, BY_TIME_INDEX, GSI1_PK, GSI1_SK } from '../../lib/domain/worker-state.js';
import { isConditionFailure } from './dynamo-state-store.js';

export const ALERT_ATTRS = {
  state: 'alertState',
  claimToken: 'claimToken',
  claimedAtMs: 'claimedAtMs',
  deliveredAtMs: 'deliveredAtMs',
  acknowledgedAt: 'acknowledgedAt',
  acknowledgedBy: 'acknowledgedBy',
  ackNote: 'ackNote',
  escalationState: 'escalationState',
  escalationToken: 'escalationToken',
  escalationClaimedAtMs: 'escalationClaimedAtMs',
  escalatedAtMs: 'escalatedAtMs',
} as const;

/** BatchGetItem's limit of keys per request. */
export const ALERT_BATCH_GET_MAX_KEYS = 100;
/** Rounds of UnprocessedKeys before `readAlerts` gives up. */
export const ALERT_BATCH_GET_MAX_ROUNDS = 5;

const PAGING: EscalationState = 'PAGING';
const ESCALATED: EscalationState = 'ESCALATED';

/** What `acknowledgeAlert` found. */
export type AcknowledgeResult =
  | { readonly status: 'ACKNOWLEDGED' | 'ALREADY_ACKNOWLEDGED'; readonly acknowledgedAt: string }
  | { readonly status: 'NOT_FOUND' };

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });

/** The parts of an ALERT item escalation reads; the stored `alert` is checked for what the page needs. */
const EscalationItemSchema = z.object({
  pk: z.string().startsWith('ALERT#'),
  severity: z.enum(SEVERITIES),
  alert: z.looseObject({
    id: z.string().min(1),
    worker: z.string().min(1),
    anomaly: z.enum(ANOMALY_CODES),
    severity: z.enum(SEVERITIES),
    detail: z.string(),
    raisedAt: IsoTime,
    windowStart: IsoTime,
  }),
  acknowledgedAt: IsoTime.optional(),
  escalationState: z.enum(ESCALATION_STATES).optional(),
  escalationToken: z.string().optional(),
  escalationClaimedAtMs: z.number().optional(),
  escalatedAtMs: z.number().optional(),
});

/** An ALERT item as escalation sees it; null when it is not readable. */
export function escalationView(item: Record<string, unknown>): AlertEscalationView | null {
  const parsed = EscalationItemSchema.safeParse(item);
  if (!parsed.success) return null;
  const d = parsed.data;
  return {
    alert: d.alert as unknown as Alert,
    acknowledgedAt: d.acknowledgedAt ?? null,
    escalation:
      d.escalationState === undefined
        ? null
        : { state: d.escalationState, token: d.escalationToken ?? '', claimedAtMs: d.escalationClaimedAtMs ?? 0, ...(d.escalatedAtMs !== undefined ? { escalatedAtMs: d.escalatedAtMs } : {}) },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const CLAIMED: AlertState = 'CLAIMED';
const DELIVERED: AlertState = 'DELIVERED';


/** The item stored for a claim. */
export function alertItem(alert: Alert, claim: AlertClaim): Record<string, unknown> {
  return {
    pk: alertPk(alert.id),
    sk: ALERT_SK,
    entity: 'ALERT',
    [ALERT_ATTRS.state]: CLAIMED,
    [ALERT_ATTRS.claimToken]: claim.token,
    [ALERT_ATTRS.claimedAtMs]: claim.nowMs,
    worker: alert.worker,
    anomaly: alert.anomaly,
    severity: alert.severity,
    dedupKey: alert.dedupKey,
    windowStart: alert.windowStart,
    alert,
    expiresAt: alertExpiresAt(alert),
    [GSI1_PK]: ALERTS_GSI_PK,
    [GSI1_SK]: alertGsiSk(alert.raisedAt, alert.id),
  };
}

/** An ALERT item as GET /alerts lists it. */
export interface ListedAlert {
  readonly alert: Alert;
  readonly deliveryState: string | null;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
}

/** A page of `listAlerts`: newest first; `lastKey` when there may be more. */
export interface AlertPage {
  readonly items: readonly ListedAlert[];
  readonly lastKey?: Readonly<Record<string, string>>;
}

const optionalString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A listed ALERT item; null when its `alert` map is not readable. */
export function listedAlert(item: Record<string, unknown>): ListedAlert | null {
  const alert = item['alert'];
  if (typeof alert !== 'object' || alert === null || typeof (alert as Record<string, unknown>)['id'] !== 'string') return null;
  return {
    alert: alert as Alert,
    deliveryState: optionalString(item[ALERT_ATTRS.state]),
    acknowledgedAt: optionalString(item[ALERT_ATTRS.acknowledgedAt]),
    acknowledgedBy: optionalString(item[ALERT_ATTRS.acknowledgedBy]),
  };
}

const stringKey = (key: Record<string, unknown> | undefined): Readonly<Record<string, string>> | undefined => {
  if (key === undefined) return undefined;
  return Object.fromEntries(Object.entries(key).filter((e): e is [string, string] => typeof e[1] === 'string'));
};

export class DynamoAlertStore implements AlertStore, EscalationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about ALERT items `readAlerts` cannot read (they are left out). */
    private readonly onUnreadable: (alertId: string) => void = () => undefined,
  ) {}

  /** `claimWins` as a ConditionExpression: no item, or CLAIMED by the same token, or CLAIMED and stale. */
  async claim(alert: Alert, claim: AlertClaim): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: alertItem(alert, claim),
          ConditionExpression: 'attribute_not_exists(#pk) OR (#state = :claimed AND (#token = :token OR #claimedAt < :staleBefore))',
          ExpressionAttributeNames: { '#pk': 'pk', '#state': ALERT_ATTRS.state, '#token': ALERT_ATTRS.claimToken, '#claimedAt': ALERT_ATTRS.claimedAtMs },
          ExpressionAttributeValues: { ':claimed': CLAIMED, ':token': claim.token, ':staleBefore': claim.nowMs - ALERT_CLAIM_STALE_MS },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markDelivered(alert: Alert, claim: AlertClaim): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: alertPk(alert.id), sk: ALERT_SK },
          UpdateExpression: 'SET #state = :delivered, #deliveredAt = :now',
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#state': ALERT_ATTRS.state, '#deliveredAt': ALERT_ATTRS.deliveredAtMs, '#token': ALERT_ATTRS.claimToken },
          ExpressionAttributeValues: { ':delivered': DELIVERED, ':now': claim.nowMs, ':token': claim.token },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Sets `acknowledgedAt` once (POST /alerts/{id}/ack): one conditional UpdateItem; when the
   * condition fails, one consistent GetItem tells an earlier acknowledgement (its time is kept)
   * from a missing alert.
   */
  async acknowledgeAlert(alertId: string, nowMs: number, ack?: { readonly by: string; readonly note: string | null }): Promise<AcknowledgeResult> {
    const acknowledgedAt = new Date(nowMs).toISOString();
    const names: Record<string, string> = { '#pk': 'pk', '#ack': ALERT_ATTRS.acknowledgedAt };
    const values: Record<string, unknown> = { ':at': acknowledgedAt };
    const sets = ['#ack = :at'];
    if (ack !== undefined) {
      names['#by'] = ALERT_ATTRS.acknowledgedBy;
      values[':by'] = ack.by;
      sets.push('#by = :by');
      if (ack.note !== null) {
        names['#note'] = ALERT_ATTRS.ackNote;
        values[':note'] = ack.note;
        sets.push('#note = :note');
      }
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: alertPk(alertId), sk: ALERT_SK },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#ack)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return { status: 'ACKNOWLEDGED', acknowledgedAt };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: alertPk(alertId), sk: ALERT_SK },
        ConsistentRead: true,
        ProjectionExpression: '#ack',
        ExpressionAttributeNames: { '#ack': ALERT_ATTRS.acknowledgedAt },
      }),
    );
    const at = out.Item?.[ALERT_ATTRS.acknowledgedAt];
    return out.Item === undefined ? { status: 'NOT_FOUND' } : { status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: typeof at === 'string' ? at : '' };
  }

  /** One Query of the GSI `byTime` (`gsi1pk = ALERTS`), newest first; items whose `alert` is unreadable are left out. */
  async listAlerts(page: { readonly limit: number; readonly startKey?: Readonly<Record<string, string>> }): Promise<AlertPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_TIME_INDEX,
        KeyConditionExpression: '#gpk = :alerts',
        ExpressionAttributeNames: { '#gpk': GSI1_PK },
        ExpressionAttributeValues: { ':alerts': ALERTS_GSI_PK },
        ScanIndexForward: false,
        Limit: page.limit,
        ...(page.startKey ? { ExclusiveStartKey: { ...page.startKey } } : {}),
      }),
    );
    const items: ListedAlert[] = [];
    for (const item of out.Items ?? []) {
      const listed = listedAlert(item);
      if (listed === null) this.onUnreadable(String(item['pk']).replace(/^ALERT#/, ''));
      else items.push(listed);
    }
    const lastKey = stringKey(out.LastEvaluatedKey);
    return lastKey ? { items, lastKey } : { items };
  }

  /** BatchGetItem of the ids (distinct, 100 a request), following UnprocessedKeys with backoff. Missing items are left out. */
  async readAlerts(alertIds: readonly string[]): Promise<AlertEscalationView[]> {
    let queue: Record<string, unknown>[] = [...new Set(alertIds)].map((id) => ({ pk: alertPk(id), sk: ALERT_SK }));
    const views: AlertEscalationView[] = [];
    for (let round = 0; queue.length > 0; round++) {
      if (round >= ALERT_BATCH_GET_MAX_ROUNDS) throw new Error(`BatchGetItem left ${queue.length} ALERT key(s) unprocessed after ${ALERT_BATCH_GET_MAX_ROUNDS} rounds`);
      if (round > 0) await sleep(50 * 2 ** round);
      const unprocessed: Record<string, unknown>[] = [];
      for (let i = 0; i < queue.length; i += ALERT_BATCH_GET_MAX_KEYS) {
        const out = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: queue.slice(i, i + ALERT_BATCH_GET_MAX_KEYS) } } }));
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const view = escalationView(item);
          if (view === null) this.onUnreadable(String(item['pk']).replace(/^ALERT#/, ''));
          else views.push(view);
        }
        unprocessed.push(...((out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[]));
      }
      queue = unprocessed;
    }
    return views;
  }

  /** `escalationClaimWins` as a ConditionExpression: CRITICAL, not acknowledged, not escalated or PAGING and stale. */
  async claimEscalation(alertId: string, claim: EscalationClaim): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { pk: alertPk(alertId), sk: ALERT_SK },
      UpdateExpression: 'SET #state = :paging, #token = :token, #claimedAt = :now',
      ConditionExpression: 'attribute_exists(#pk) AND #severity = :critical AND attribute_not_exists(#ack) AND (attribute_not_exists(#state) OR (#state = :paging AND #claimedAt < :staleBefore))',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        '#severity': 'severity',
        '#ack': ALERT_ATTRS.acknowledgedAt,
        '#state': ALERT_ATTRS.escalationState,
        '#token': ALERT_ATTRS.escalationToken,
        '#claimedAt': ALERT_ATTRS.escalationClaimedAtMs,
      },
      ExpressionAttributeValues: { ':paging': PAGING, ':token': claim.token, ':now': claim.nowMs, ':critical': 'CRITICAL', ':staleBefore': claim.nowMs - ESCALATION_CLAIM_STALE_MS },
    });
  }

  async markEscalated(alertId: string, claim: EscalationClaim): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { pk: alertPk(alertId), sk: ALERT_SK },
      UpdateExpression: 'SET #state = :escalated, #escalatedAt = :now',
      ConditionExpression: '#state = :paging AND #token = :token',
      ExpressionAttributeNames: { '#state': ALERT_ATTRS.escalationState, '#token': ALERT_ATTRS.escalationToken, '#escalatedAt': ALERT_ATTRS.escalatedAtMs },
      ExpressionAttributeValues: { ':escalated': ESCALATED, ':paging': PAGING, ':token': claim.token, ':now': claim.nowMs },
    });
  }

  async releaseEscalation(alertId: string, token: string): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { pk: alertPk(alertId), sk: ALERT_SK },
      UpdateExpression: 'REMOVE #state, #token, #claimedAt',
      ConditionExpression: '#state = :paging AND #token = :token',
      ExpressionAttributeNames: { '#state': ALERT_ATTRS.escalationState, '#token': ALERT_ATTRS.escalationToken, '#claimedAt': ALERT_ATTRS.escalationClaimedAtMs },
      ExpressionAttributeValues: { ':paging': PAGING, ':token': token },
    });
  }

  private async conditionalUpdate(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
