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
 *
 * `claim` is one conditional PutItem; `markDelivered` one conditional UpdateItem. A failed
 * condition is an answer (`false`), not an error; anything else (throttling, network) is thrown
 * for the caller to retry.
 */
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../../lib/domain/alerting.js';
import { ALERT_CLAIM_STALE_MS, ALERT_SK, alertExpiresAt, alertPk, type AlertClaim, type AlertState, type AlertStore } from '../../lib/domain/anomaly-evaluation.js';

export const ALERT_ATTRS = {
  state: 'alertState',
  claimToken: 'claimToken',
  claimedAtMs: 'claimedAtMs',
  deliveredAtMs: 'deliveredAtMs',
} as const;

const CLAIMED: AlertState = 'CLAIMED';
const DELIVERED: AlertState = 'DELIVERED';

const isConditionFailure = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

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
  };
}

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
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
}
