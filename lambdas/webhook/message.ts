/**
 * The alert topic's message contract as zod schemas: the versioned envelopes of
 * lib/domain/alerting.ts (`aurastream.alert` and `aurastream.alert-digest`, version 1), and the
 * part of the SNS event the delivery Lambda reads. `satisfies` ties each schema to its domain type,
 * so the two cannot drift apart.
 */
import * as z from 'zod';
import {
  ALERT_MESSAGE_TYPE,
  ALERT_MESSAGE_VERSION,
  DIGEST_MESSAGE_TYPE,
  type Alert,
  type AlertDigest,
  type AlertMessage,
  type AlertScoreCard,
} from '../../lib/domain/alerting.js';
import { ANOMALY_CODES, SEVERITIES } from '../../lib/domain/anomaly-rules.js';
import { RUN_STATUSES, SKIP_REASONS } from '../../lib/domain/score-report.js';

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });
const Scalar = z.union([z.number(), z.string(), z.boolean()]);
const Score = z.number().min(0).max(100);
/** Ids become the webhook-id header and a key: a conservative character set. */
const HeaderSafeId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

export const AlertScoreCardSchema = z.object({
  status: z.enum(RUN_STATUSES),
  skipReason: z.enum(SKIP_REASONS).nullable(),
  durationMs: z.number().nonnegative(),
  attempts: z.number().int().nonnegative(),
  scores: z
    .object({ reliabilityScore: Score, performanceScore: Score, dataQualityScore: Score, resourceScore: Score, overallScore: Score })
    .nullable(),
}) satisfies z.ZodType<AlertScoreCard>;

export const AlertSchema = z.object({
  id: HeaderSafeId,
  dedupKey: z.string().min(1),
  worker: z.string().min(1),
  anomaly: z.enum(ANOMALY_CODES),
  severity: z.enum(SEVERITIES),
  detail: z.string(),
  observed: Scalar,
  threshold: Scalar,
  scheduledTime: IsoTime.nullable(),
  executionId: z.string().min(1).nullable(),
  scoreCard: AlertScoreCardSchema.nullable(),
  recommendation: z.string().nullable(),
  raisedAt: IsoTime,
  windowStart: IsoTime,
  consoleUrl: z.url({ protocol: /^https$/ }).nullable(),
}) satisfies z.ZodType<Alert>;

export const AlertDigestSchema = z.object({
  id: HeaderSafeId,
  createdAt: IsoTime,
  severity: z.enum(SEVERITIES),
  workers: z.array(z.string().min(1)),
  anomalies: z.array(z.enum(ANOMALY_CODES)),
  alerts: z.array(AlertSchema).min(1),
}) satisfies z.ZodType<AlertDigest>;

export const AlertMessageSchema = z.discriminatedUnion('type', [
  z.object({ version: z.literal(ALERT_MESSAGE_VERSION), type: z.literal(ALERT_MESSAGE_TYPE), alert: AlertSchema }),
  z.object({ version: z.literal(ALERT_MESSAGE_VERSION), type: z.literal(DIGEST_MESSAGE_TYPE), digest: AlertDigestSchema }),
]) satisfies z.ZodType<AlertMessage>;

/** The fields of an SNS-to-Lambda event the delivery Lambda uses. */
export const SnsEventSchema = z.object({
  Records: z.array(
    z.object({
      Sns: z.object({
        MessageId: z.string(),
        Message: z.string(),
      }),
    }),
  ),
});
export type SnsEvent = z.infer<typeof SnsEventSchema>;

export type ParsedMessage = { readonly ok: true; readonly message: AlertMessage } | { readonly ok: false; readonly reason: string };

/** Parses an SNS message body; never throws. */
export function parseAlertMessage(text: string): ParsedMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'message is not JSON' };
  }
  const result = AlertMessageSchema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  return { ok: false, reason: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** The webhook-id of a message: the alert's or the digest's deterministic id. */
export const messageId = (message: AlertMessage): string => (message.type === ALERT_MESSAGE_TYPE ? message.alert.id : message.digest.id);
