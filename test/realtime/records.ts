/** Stream records in the wire format an event source mapping delivers, for the real-time tests. */
import { marshall } from '@aws-sdk/util-dynamodb';
import { circuitAttr, circuitAttrOf } from '../../lib/domain/worker-state.js';
import type { CircuitState } from '../../lib/domain/circuit.js';

let seq = 100;
const wire = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true, convertEmptyValues: false });

export function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', keys: { pk: string; sk: string }, newImage?: Record<string, unknown>, oldImage?: Record<string, unknown>) {
  seq++;
  return {
    eventID: `event-${seq}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orchestrator/stream/2026',
    dynamodb: {
      ApproximateCreationDateTime: 1_767_334_000,
      Keys: wire(keys),
      ...(newImage !== undefined ? { NewImage: wire({ ...keys, ...newImage }) } : {}),
      ...(oldImage !== undefined ? { OldImage: wire({ ...keys, ...oldImage }) } : {}),
      SequenceNumber: String(seq).padStart(21, '0'),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

export const reportInsert = (worker: string, over: Record<string, unknown> = {}) =>
  streamRecord(
    'INSERT',
    { pk: `WORKER#${worker}`, sk: `REPORT#2026-01-02T06:00:00.000Z#trending` },
    {
      entity: 'REPORT',
      workerName: worker,
      jobId: 'trending',
      executionId: 'arn:aws:states:eu-west-1:123456789012:execution:p:exec-1',
      scheduledTime: '2026-01-02T06:00:00.000Z',
      startedAt: '2026-01-02T06:00:00.000Z',
      completedAt: '2026-01-02T06:00:25.000Z',
      status: 'SUCCEEDED',
      skipReason: null,
      success: true,
      durationMs: 20_000,
      attempts: 1,
      lockFence: 3,
      scores: { reliabilityScore: 100, performanceScore: 90, dataQualityScore: 100, resourceScore: 95, overallScore: 96.5 },
      anomalies: [],
      recommendations: [],
      metrics: {},
      error: null,
      ...over,
    },
  );

export const alertWrite = (eventName: 'INSERT' | 'MODIFY', over: Record<string, unknown> = {}) =>
  streamRecord(
    eventName,
    { pk: 'ALERT#a1b2', sk: 'ALERT' },
    {
      entity: 'ALERT',
      alertState: 'DELIVERED',
      worker: 'youtube_worker',
      alert: { id: 'a1b2', worker: 'youtube_worker', anomaly: 'HIGH_FAILURE_RATE', severity: 'HIGH', detail: '3 of 4 runs failed', raisedAt: '2026-01-02T06:01:00.000Z' },
      ...over,
    },
  );

/** A STATE modification of `job`'s circuit (circuits are per job). */
export const stateModify = (worker: string, before: CircuitState | undefined, after: CircuitState | undefined, extra: Record<string, unknown> = {}, job = 'asset') =>
  streamRecord(
    'MODIFY',
    { pk: `WORKER#${worker}`, sk: 'STATE' },
    { version: 2, ...(after !== undefined ? { [circuitAttrOf(job)]: circuitAttr(after) } : {}), ...extra },
    { version: 1, ...(before !== undefined ? { [circuitAttrOf(job)]: circuitAttr(before) } : {}) },
  );
