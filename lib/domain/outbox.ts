/**
 * The notification outbox: a message someone decided to send (an alert today; incident
 * notifications ride on it too) is first stored as an outbox entry, then delivered from it. An
 * entry outlives a publish that failed, a Lambda that crashed and an event source that gave up, so
 * whoever delivers next (a retry of the same record, or the health sweep) finds it. Pure: the rules,
 * the ports, and delivery over the ports.
 *
 * Lifecycle of an entry (one per id, the notification's idempotency key):
 *
 *   PENDING --claimSend--> SENDING --publish ok, markSent--> SENT
 *                             |
 *                             +--publish failed, releaseSend--> PENDING
 *
 * - `enqueue` puts the entry unless its id exists: enqueueing again after a success changes nothing.
 * - `claimSend` wins for a PENDING entry, for a SENDING entry claimed by the same token (a retry of
 *   the same delivery attempt) or one whose claim is stale (OUTBOX_SEND_STALE_MS: its deliverer died).
 *   A SENT entry is never claimed again: one publish per id.
 * - The one duplicate left is a publish that succeeded followed by a crash before `markSent`: after
 *   the claim goes stale the entry is published again (at-least-once; subscribers dedupe on the id).
 */
import { buildDigest, renderDigest, type Alert, type AlertMessage, type DigestEnvelope, type RenderedMessage } from './alerting.js';

export const OUTBOX_STATES = ['PENDING', 'SENDING', 'SENT'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/**
 * A SENDING claim older than this may be taken over, in ms: longer than one publish call and than
 * the anomaly Lambda's timeout, so a live delivery is never taken over.
 */
export const OUTBOX_SEND_STALE_MS = 2 * 60_000;
/**
 * The sweep leaves a PENDING entry younger than this to whoever enqueued it (it is publishing it
 * right now, or its event source is retrying), in ms.
 */
export const OUTBOX_SWEEP_GRACE_MS = 60_000;
/** How many pending entries one sweep delivers at most (oldest deadline first). */
export const OUTBOX_SWEEP_LIMIT = 100;
/** How long an entry is kept (TTL), in seconds: far longer than any redelivery of its source. */
export const OUTBOX_RETENTION_SECONDS = 7 * 24 * 3600;

/** A notification waiting for delivery. */
export interface OutboxEntry<M extends AlertMessage = AlertMessage> {
  /** The idempotency key: one publish per id (an alert id; an incident transition id). */
  readonly id: string;
  /** What it is, for people reading the table and for logs: `alert`, `incident-opened`, ... */
  readonly kind: string;
  readonly message: RenderedMessage<M>;
  /** Epoch ms. */
  readonly enqueuedAtMs: number;
  /** When it is due by its severity's deadline, epoch ms; null: no deadline. */
  readonly deliverByMs: number | null;
  /**
   * Held for the MEDIUM digest (deliveryPlan's `digest` channel): nobody publishes it alone; the
   * health sweep sends it with the other held entries as one digest message (`planDigest`).
   */
  readonly digest?: boolean;
}

/** An entry not yet SENT, as the sweep reads it. */
export interface PendingOutboxEntry extends OutboxEntry {
  readonly state: Exclude<OutboxState, 'SENT'>;
  /** When its current SENDING claim was taken, epoch ms; null when PENDING. */
  readonly sendClaimedAtMs: number | null;
  /** Claims so far (each one a publish attempt). */
  readonly attempts: number;
}

/** What an entry says about its delivery, for `sendClaimWins`. */
export interface StoredSendClaim {
  readonly state: OutboxState;
  readonly sendToken: string | null;
  readonly sendClaimedAtMs: number | null;
}

/** The claim rule (the DynamoDB adapter's ConditionExpression, and the in-memory fakes). */
export function sendClaimWins(existing: StoredSendClaim | undefined, token: string, nowMs: number): boolean {
  if (existing === undefined) return false;
  if (existing.state === 'PENDING') return true;
  if (existing.state === 'SENT') return false;
  return existing.sendToken === token || (existing.sendClaimedAtMs ?? 0) < nowMs - OUTBOX_SEND_STALE_MS;
}

/** Whether the sweep should deliver a pending entry now (see OUTBOX_SWEEP_GRACE_MS, OUTBOX_SEND_STALE_MS). */
export function sweepShouldDeliver(entry: Pick<PendingOutboxEntry, 'state' | 'enqueuedAtMs' | 'sendClaimedAtMs'>, nowMs: number): boolean {
  if (entry.state === 'PENDING') return nowMs - entry.enqueuedAtMs >= OUTBOX_SWEEP_GRACE_MS;
  return (entry.sendClaimedAtMs ?? 0) < nowMs - OUTBOX_SEND_STALE_MS;
}

export interface Outbox {
  /** Stores the entry (PENDING) unless its id exists; true when stored. */
  enqueue(entry: OutboxEntry): Promise<boolean>;
  /** Claims the entry for one publish (`sendClaimWins`); false when it is SENT, claimed by another live delivery, or absent. */
  claimSend(id: string, token: string, nowMs: number): Promise<boolean>;
  /** Gives a claim back after a failed publish (PENDING again), if it is still this token's. */
  releaseSend(id: string, token: string): Promise<void>;
  /** Marks the entry SENT, if the claim is still this token's; false when it was taken over. */
  markSent(id: string, token: string, nowMs: number): Promise<boolean>;
  /** Entries not yet SENT, oldest deadline first, at most `limit`. */
  pending(limit: number): Promise<PendingOutboxEntry[]>;
}

/** Publishes a rendered message on the entry's topic (SNS: MessageStructure json plus the message attributes). */
export interface OutboxPublisher {
  publish(message: RenderedMessage): Promise<void>;
}

export type DeliveryOutcome =
  /** Published now, and marked SENT. */
  | 'SENT'
  /** Published now, but the claim was taken over before it was marked (a duplicate may follow). */
  | 'SENT_UNMARKED'
  /** Not published: already SENT, or another live delivery holds it. */
  | 'NOT_CLAIMED';

/**
 * Delivers one entry: claim, publish, mark SENT. A failed publish gives the claim back (so the next
 * try need not wait for it to go stale) and throws.
 */
export async function deliverEntry(outbox: Outbox, publisher: OutboxPublisher, entry: Pick<OutboxEntry, 'id' | 'message'>, token: string, nowMs: number): Promise<DeliveryOutcome> {
  if (!(await outbox.claimSend(entry.id, token, nowMs))) return 'NOT_CLAIMED';
  try {
    await publisher.publish(entry.message);
  } catch (error) {
    await outbox.releaseSend(entry.id, token).catch(() => undefined);
    throw error;
  }
  return (await outbox.markSent(entry.id, token, nowMs)) ? 'SENT' : 'SENT_UNMARKED';
}

/**
 * Withdraws an entry nobody published yet (a MEDIUM notification held for the digest whose incident
 * was since folded into another): claimed and marked SENT without a publish, so no delivery
 * publishes it afterwards. False when it is absent, published already, or held by another live
 * delivery (then it goes out).
 */
export async function withdrawEntry(outbox: Pick<Outbox, 'claimSend' | 'markSent'>, id: string, token: string, nowMs: number): Promise<boolean> {
  if (!(await outbox.claimSend(id, token, nowMs))) return false;
  return outbox.markSent(id, token, nowMs);
}

// ---------------------------------------------------------------------------------------------
// The MEDIUM digest: held entries go out together

/** A digest to send now: the held entries it carries (each claimed and marked SENT) and its message. */
export interface DigestPlan {
  readonly entries: readonly PendingOutboxEntry[];
  readonly message: RenderedMessage<DigestEnvelope>;
}

/** The alert a held entry carries, or null when its message is not a single alert. */
function heldAlert(entry: PendingOutboxEntry): Alert | null {
  const json = entry.message.json as Partial<{ type: string; alert: Alert }>;
  return json.type === 'aurastream.alert' && json.alert !== undefined ? json.alert : null;
}

/**
 * One flush of the held digest entries (`digest: true`, not claimed by a live delivery): when any of
 * their alerts would miss its deadline by waiting for the next sweep (buildDigest), all of them go out
 * now as one digest message; otherwise null (held). So MEDIUM notifications raised within the same
 * 15 minutes reach people as one message, each within its deadline.
 */
export function planDigest(pending: readonly PendingOutboxEntry[], nowMs: number): DigestPlan | null {
  const byAlert = new Map<string, { readonly entry: PendingOutboxEntry; readonly alert: Alert }>();
  for (const entry of pending) {
    const live = entry.state === 'SENDING' && (entry.sendClaimedAtMs ?? 0) >= nowMs - OUTBOX_SEND_STALE_MS;
    const alert = entry.digest === true && !live ? heldAlert(entry) : null;
    if (alert !== null) byAlert.set(alert.id, { entry, alert });
  }
  const { digest } = buildDigest([...byAlert.values()].map((v) => v.alert), nowMs);
  if (digest === null) return null;
  return { entries: digest.alerts.flatMap((a) => byAlert.get(a.id)?.entry ?? []), message: renderDigest(digest) };
}
