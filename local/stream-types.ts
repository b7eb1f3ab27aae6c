/**
 * DynamoDB Streams record shapes, exactly as a Lambda event source mapping delivers them
 * (`AttributeValue` in wire format: binary as base64 strings, numbers as strings).
 */
import type { AttributeValue, DynamoDBBatchResponse } from 'aws-lambda';

export type WireAttributeValue = AttributeValue;
export type WireItem = Record<string, WireAttributeValue>;
export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: StreamEventName;
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  /** The table's *stream* ARN (`.../table/<name>/stream/<label>`), as in Lambda events. */
  readonly eventSourceARN: string;
  readonly dynamodb: {
    /** Epoch seconds. */
    readonly ApproximateCreationDateTime: number;
    readonly Keys: WireItem;
    readonly NewImage?: WireItem;
    readonly OldImage?: WireItem;
    /** Decimal string, strictly increasing across the whole emulated stream. */
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: StreamViewType;
  };
  /** Present only on TTL deletions, exactly like DynamoDB (`Service` / `dynamodb.amazonaws.com`). */
  readonly userIdentity?: { readonly type: 'Service'; readonly principalId: 'dynamodb.amazonaws.com' };
}

export interface StreamEvent {
  Records: StreamRecord[];
}

/** A Lambda-shaped stream handler; `void` means "whole batch succeeded". */
// `void` is deliberate: it is how a Lambda handler that returns nothing is typed (as in aws-lambda).
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type StreamHandler = (event: StreamEvent) => Promise<DynamoDBBatchResponse | undefined | void>;

/** The table name a record belongs to, parsed from its `eventSourceARN`. */
export function tableNameOfRecord(record: StreamRecord): string {
  const m = /:table\/([^/]+)\//.exec(record.eventSourceARN);
  return m?.[1] ?? '';
}
