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
 *
 * `claim` is one conditional PutItem; `markDelivered` one conditional UpdateItem. A failed
 * condition is an answer (`false`), not an error; anything else (throttling, network) is thrown
 * for the caller to retry. `acknowledgeAlert` is one conditional UpdateItem (plus a GetItem when it
 * was acknowledged already or does not exist, to tell the two apart). Escalation is per incident
 * (lib/domain/incident.ts, lambdas/adapters/dynamo-incident-store.ts), not on this item.
 *
 * `listAlerts` is one Query of the GSI `byTime` (`gsi1pk = ALERTS`, newest first, paginated by
 * LastEvaluatedKey). Alerts claimed before the GSI existed have no `gsi1pk` and are not listed.
 *
 * Known edge: `claim` replaces the whole item when a retry (or a stale takeover) of a CLAIMED,
 * never-delivered alert wins, which drops `acknowledgedAt`, `acknowledgedBy` and `ackNote`; the
 * acknowledgement of the alert's incident (on the INCIDENT item) is kept.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../../lib/domain/alerting.js';
import { ALERT_CLAIM_STALE_MS, ALERT_SK, alertExpiresAt, alertPk, type AlertClaim, type AlertState, type AlertStore } from '../../lib/domain/anomaly-evaluation.js';
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
} as const;

/** What `acknowledgeAlert` found. */
export type AcknowledgeResult =
  | { readonly status: 'ACKNOWLEDGED' | 'ALREADY_ACKNOWLEDGED'; readonly acknowledgedAt: string }
  | { readonly status: 'NOT_FOUND' };

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

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about ALERT items `listAlerts` cannot read (they are left out). */
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
}
