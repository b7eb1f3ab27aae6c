/**
 * Parsing of the table's stream records (DynamoDB Streams wire format, as an event source mapping
 * delivers them) into stored score reports and health findings, with zod. A record that is not a
 * REPORT or HEALTH insert is ignored (the event source's filter should not have let it through); an
 * insert of either that cannot be read is invalid: `InvalidStreamRecordError`, which retrying cannot fix.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { ANOMALY_CODES, SEVERITIES, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { NonRetryableError } from '../../lib/domain/errors.js';
import { RUN_STATUSES, SKIP_REASONS, type WorkerScoreReport } from '../../lib/domain/score-report.js';
import { workerPk } from '../../lib/domain/worker-state.js';

/** A stream record that cannot be turned into a report, whatever the number of retries. */
export class InvalidStreamRecordError extends NonRetryableError {
  override readonly name = 'InvalidStreamRecordError';
}

const WireItem = z.record(z.string(), z.unknown());

/** The fields of a stream record this Lambda reads; everything else passes through untouched. */
export const StreamRecordSchema = z.object({
  eventID: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  eventSourceARN: z.string().optional(),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    Keys: WireItem,
    NewImage: WireItem.optional(),
    ApproximateCreationDateTime: z.number().optional(),
  }),
});
export type ParsedStreamRecord = z.infer<typeof StreamRecordSchema>;

export const StreamEventSchema = z.object({ Records: z.array(z.unknown()) });

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });
const Count = z.number().int().nonnegative();
const Score = z.number().min(0).max(100);

/** A REPORT item as docs/data-model.md describes it (after unmarshalling). */
export const ReportItemSchema = z
  .object({
    pk: z.string().startsWith('WORKER#'),
    sk: z.string().startsWith('REPORT#'),
    entity: z.literal('REPORT'),
    workerName: z.string().min(1),
    jobId: z.string().min(1),
    executionId: z.string().min(1),
    scheduledTime: IsoTime,
    startedAt: IsoTime,
    completedAt: IsoTime,
    status: z.enum(RUN_STATUSES),
    skipReason: z.enum(SKIP_REASONS).nullable(),
    success: z.boolean(),
    durationMs: z.number().nonnegative(),
    attempts: Count,
    lockFence: Count.nullable(),
    scores: z.object({ reliabilityScore: Score, performanceScore: Score, dataQualityScore: Score, resourceScore: Score, overallScore: Score }).nullable(),
    // Strings, not the enum: a code this version does not know is dropped with a warning, not a poison record.
    anomalies: z.array(z.string()),
    recommendations: z.array(z.string()),
    metrics: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    error: z.object({ name: z.string(), cause: z.string() }).nullable(),
  })
  .refine((item) => item.pk === workerPk(item.workerName), { message: 'pk must be WORKER#<workerName>', path: ['pk'] });

/**
 * A HEALTH item as the health sweep writes it (lambdas/sweep/adapters.ts DynamoHealthFindingStore):
 * `WORKER#<worker>` / `HEALTH#<kind>#<job|->#<window>`, the finding's fields, `raisedAt`, `expiresAt`.
 * `kind` and `anomaly` are strings, not enums: a code this version does not know is skipped with a
 * warning, not a poison record.
 */
export const HealthItemSchema = z
  .object({
    pk: z.string().startsWith('WORKER#'),
    sk: z.string().startsWith('HEALTH#'),
    entity: z.literal('HEALTH'),
    kind: z.string().min(1),
    anomaly: z.string().min(1),
    severity: z.enum(SEVERITIES),
    worker: z.string().min(1),
    job: z.string().min(1).nullable(),
    detail: z.string(),
    observed: z.union([z.number(), z.string()]),
    threshold: z.union([z.number(), z.string()]),
    window: IsoTime,
    executionArn: z.string().min(1).optional(),
    scheduledTime: IsoTime.optional(),
    raisedAt: IsoTime,
    expiresAt: z.number().int().nonnegative(),
  })
  .refine((item) => item.pk === workerPk(item.worker), { message: 'pk must be WORKER#<worker>', path: ['pk'] })
  .refine((item) => item.sk === `HEALTH#${item.kind}#${item.job ?? '-'}#${item.window}`, { message: 'sk must be HEALTH#<kind>#<job|->#<window>', path: ['sk'] });
export type HealthItem = z.infer<typeof HealthItemSchema>;

/** A health finding as read from its item (without the keys and TTL). */
export type HealthReading = Omit<HealthItem, 'pk' | 'sk' | 'entity' | 'expiresAt'>;

const KNOWN_CODES: ReadonlySet<string> = new Set(ANOMALY_CODES);
const isKnownCode = (code: string): code is AnomalyCode => KNOWN_CODES.has(code);

export type StreamRecordReading =
  | { readonly kind: 'report'; readonly record: ParsedStreamRecord; readonly report: WorkerScoreReport; readonly unknownAnomalies: readonly string[] }
  | {
      readonly kind: 'health';
      readonly record: ParsedStreamRecord;
      readonly health: HealthReading;
      /** The finding's anomaly; null when this version does not know the code. */
      readonly anomaly: AnomalyCode | null;
    }
  | { readonly kind: 'ignored'; readonly record: ParsedStreamRecord; readonly reason: string };

const issuesText = (error: z.ZodError): string => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

/** The stream record's envelope, or InvalidStreamRecordError. */
export function parseStreamRecord(raw: unknown): ParsedStreamRecord {
  const parsed = StreamRecordSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidStreamRecordError(`malformed stream record: ${issuesText(parsed.error)}`);
  return parsed.data;
}

function newImageOf(record: ParsedStreamRecord, entity: string): Record<string, unknown> {
  const image = record.dynamodb.NewImage;
  if (image === undefined) throw new InvalidStreamRecordError(`${entity} insert without a NewImage (the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES)`);
  try {
    return unmarshall(image as Record<string, AttributeValue>);
  } catch (error) {
    throw new InvalidStreamRecordError(`NewImage cannot be unmarshalled: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Reads a REPORT or HEALTH insert; other records are `ignored`. Throws InvalidStreamRecordError for
 * an unreadable report or health item.
 */
export function readStreamRecord(record: ParsedStreamRecord): StreamRecordReading {
  const sk = record.dynamodb.Keys['sk'];
  const skText = typeof sk === 'object' && sk !== null && typeof (sk as { S?: unknown }).S === 'string' ? (sk as { S: string }).S : '';
  if (record.eventName === 'INSERT' && skText.startsWith('HEALTH#')) return readHealth(record);
  if (record.eventName !== 'INSERT' || !skText.startsWith('REPORT#')) return { kind: 'ignored', record, reason: `${record.eventName} of a non-report or existing item` };
  const item = newImageOf(record, 'REPORT');
  const parsed = ReportItemSchema.safeParse(item);
  if (!parsed.success) throw new InvalidStreamRecordError(`malformed REPORT item: ${issuesText(parsed.error)}`);
  const { pk: _pk, sk: _sk, entity: _entity, anomalies, ...fields } = parsed.data;
  const known = anomalies.filter(isKnownCode);
  const report: WorkerScoreReport = { ...fields, anomalies: known };
  return { kind: 'report', record, report, unknownAnomalies: anomalies.filter((a) => !KNOWN_CODES.has(a)) };
}

function readHealth(record: ParsedStreamRecord): StreamRecordReading {
  const parsed = HealthItemSchema.safeParse(newImageOf(record, 'HEALTH'));
  if (!parsed.success) throw new InvalidStreamRecordError(`malformed HEALTH item: ${issuesText(parsed.error)}`);
  const { pk: _pk, sk: _sk, entity: _entity, expiresAt: _expiresAt, ...health } = parsed.data;
  const anomaly = isKnownCode(health.anomaly) ? health.anomaly : null;
  return { kind: 'health', record, health, anomaly };
}
