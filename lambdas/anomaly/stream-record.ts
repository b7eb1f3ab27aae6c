/**
 * Parsing of the table's stream records (DynamoDB Streams wire format, as an event source mapping
 * delivers them) into stored score reports, with zod. A record that is not a REPORT insert is
 * ignored (the event source's filter should not have let it through); a REPORT insert that cannot
 * be read is invalid: `InvalidStreamRecordError`, which retrying cannot fix.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { ANOMALY_CODES, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
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

const KNOWN_CODES: ReadonlySet<string> = new Set(ANOMALY_CODES);

export type StreamRecordReading =
  | { readonly kind: 'report'; readonly record: ParsedStreamRecord; readonly report: WorkerScoreReport; readonly unknownAnomalies: readonly string[] }
  | { readonly kind: 'ignored'; readonly record: ParsedStreamRecord; readonly reason: string };

const issuesText = (error: z.ZodError): string => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

/** The stream record's envelope, or InvalidStreamRecordError. */
export function parseStreamRecord(raw: unknown): ParsedStreamRecord {
  const parsed = StreamRecordSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidStreamRecordError(`malformed stream record: ${issuesText(parsed.error)}`);
  return parsed.data;
}

/** Reads a REPORT insert; other records are `ignored`. Throws InvalidStreamRecordError for an unreadable report. */
export function readReportRecord(record: ParsedStreamRecord): StreamRecordReading {
  const sk = record.dynamodb.Keys['sk'];
  const isReportKey = typeof sk === 'object' && sk !== null && typeof (sk as { S?: unknown }).S === 'string' && (sk as { S: string }).S.startsWith('REPORT#');
  if (record.eventName !== 'INSERT' || !isReportKey) return { kind: 'ignored', record, reason: `${record.eventName} of a non-report or existing item` };
  const image = record.dynamodb.NewImage;
  if (image === undefined) throw new InvalidStreamRecordError('REPORT insert without a NewImage (the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES)');
  let item: Record<string, unknown>;
  try {
    item = unmarshall(image as Record<string, AttributeValue>);
  } catch (error) {
    throw new InvalidStreamRecordError(`NewImage cannot be unmarshalled: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const parsed = ReportItemSchema.safeParse(item);
  if (!parsed.success) throw new InvalidStreamRecordError(`malformed REPORT item: ${issuesText(parsed.error)}`);
  const { pk: _pk, sk: _sk, entity: _entity, anomalies, ...fields } = parsed.data;
  const known = anomalies.filter((a): a is AnomalyCode => KNOWN_CODES.has(a));
  const report: WorkerScoreReport = { ...fields, anomalies: known };
  return { kind: 'report', record, report, unknownAnomalies: anomalies.filter((a) => !KNOWN_CODES.has(a)) };
}
