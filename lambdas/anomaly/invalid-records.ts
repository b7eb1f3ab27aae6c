/**
 * Poison stream records: records that no retry can turn into a report (malformed image, unknown
 * shape, a value the domain rejects). They are handed to an `InvalidRecordSink` in full (keys and
 * image) and the batch moves on: retrying them would block the shard for every retry and then
 * hand the on-failure destination only the shard and sequence numbers, by which time the stream
 * may have trimmed the record. The SQS sink writes them to the event source's on-failure queue,
 * so there is one dead-letter queue to watch; its messages are told apart by `type`.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export const INVALID_RECORD_MESSAGE_TYPE = 'aurastream.invalid-stream-record';
export const INVALID_RECORD_MESSAGE_VERSION = 1;

/** What is kept of a poison record. */
export interface InvalidStreamRecord {
  readonly version: typeof INVALID_RECORD_MESSAGE_VERSION;
  readonly type: typeof INVALID_RECORD_MESSAGE_TYPE;
  /** Why it could not be processed (the error message). */
  readonly reason: string;
  readonly errorName: string;
  /** When this Lambda gave up on it (ISO-8601). */
  readonly detectedAt: string;
  readonly eventID: string | null;
  readonly sequenceNumber: string | null;
  readonly eventName: string | null;
  readonly eventSourceARN: string | null;
  /** The item's keys (wire format): the item itself is still in the table until its TTL. */
  readonly keys: unknown;
  /** The whole record as delivered, unless it did not fit in one message (then `recordOmitted`). */
  readonly record?: unknown;
  readonly recordOmitted?: true;
}

export interface InvalidRecordSink {
  /** Keeps a poison record; throws when it could not (the record is then retried). */
  put(record: InvalidStreamRecord): Promise<void>;
}

const field = (value: unknown, ...path: string[]): unknown => {
  let v = value;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
};
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Describes a raw (possibly malformed) stream record and the error that made it poison. */
export function invalidStreamRecord(raw: unknown, error: Error, nowMs: number): InvalidStreamRecord {
  return {
    version: INVALID_RECORD_MESSAGE_VERSION,
    type: INVALID_RECORD_MESSAGE_TYPE,
    reason: error.message,
    errorName: error.name,
    detectedAt: new Date(nowMs).toISOString(),
    eventID: str(field(raw, 'eventID')),
    sequenceNumber: str(field(raw, 'dynamodb', 'SequenceNumber')),
    eventName: str(field(raw, 'eventName')),
    eventSourceARN: str(field(raw, 'eventSourceARN')),
    keys: field(raw, 'dynamodb', 'Keys') ?? null,
    record: raw,
  };
}

/** SQS's message size limit, in bytes (the classic 256 KiB, which every queue accepts). */
export const SQS_MESSAGE_MAX_BYTES = 256 * 1024;

/** The message body: the whole record when it fits, else everything but the record. */
export function invalidRecordBody(record: InvalidStreamRecord, maxBytes = SQS_MESSAGE_MAX_BYTES): string {
  const full = JSON.stringify(record);
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const { record: _dropped, ...rest } = record;
  const slim = JSON.stringify({ ...rest, recordOmitted: true, reason: rest.reason.slice(0, 2_000) });
  return slim;
}

export class SqsInvalidRecordSink implements InvalidRecordSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async put(record: InvalidStreamRecord): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: invalidRecordBody(record),
        MessageAttributes: { type: { DataType: 'String', StringValue: INVALID_RECORD_MESSAGE_TYPE } },
      }),
    );
  }
}
