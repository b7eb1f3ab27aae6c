/** The health sweep's AWS adapters over fake clients: the commands they send and how they read answers. */
import { ExecutionDoesNotExist, ListExecutionsCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoHealthFindingStore, DynamoReportReader, SfnExecutionLister, SqsQueueDepthReader } from '../../lambdas/sweep/adapters.js';
import type { HealthFinding } from '../../lib/domain/health-sweep.js';

type Sent = { constructor: { name: string }; input: Record<string, unknown> };
const client = (answer: (command: Sent) => unknown) => {
  const sent: Sent[] = [];
  return { sent, send: async (command: Sent) => (sent.push(command), answer(command)) };
};

describe('SfnExecutionLister', () => {
  it('lists RUNNING executions over every page', async () => {
    const c = client((cmd) => (cmd.input['nextToken'] === undefined ? { executions: [{ executionArn: 'a', startDate: new Date(1000) }], nextToken: 't' } : { executions: [{ executionArn: 'b', startDate: new Date(2000) }] }));
    const lister = new SfnExecutionLister(c as never);
    expect(await lister.listRunning('arn:sm')).toEqual([{ executionArn: 'a', startMs: 1000 }, { executionArn: 'b', startMs: 2000 }]);
    expect(c.sent.every((s) => s instanceof ListExecutionsCommand && s.input['statusFilter'] === 'RUNNING' && s.input['stateMachineArn'] === 'arn:sm')).toBe(true);
  });

  it('stops with error and cause; an execution that no longer exists is no error', async () => {
    const c = client(() => {
      throw new ExecutionDoesNotExist({ message: 'gone', $metadata: {} });
    });
    await new SfnExecutionLister(c as never).stop('arn:e', 'States.Timeout', 'why');
    expect(c.sent[0]).toBeInstanceOf(StopExecutionCommand);
    expect(c.sent[0]?.input).toEqual({ executionArn: 'arn:e', error: 'States.Timeout', cause: 'why' });
  });

  it('reads the execution input as JSON', async () => {
    const c = client(() => ({ input: '{"worker":"w"}' }));
    expect(await new SfnExecutionLister(c as never).input('arn:e')).toEqual({ worker: 'w' });
  });
});

describe('SqsQueueDepthReader', () => {
  it('reads ApproximateNumberOfMessages', async () => {
    const c = client(() => ({ Attributes: { ApproximateNumberOfMessages: '1500' } }));
    expect(await new SqsQueueDepthReader(c as never).depth('https://q')).toBe(1500);
    expect(c.sent[0]).toBeInstanceOf(GetQueueAttributesCommand);
  });
});

describe('DynamoHealthFindingStore and DynamoReportReader', () => {
  const finding: HealthFinding = { kind: 'QUEUE_OVERFLOW', anomaly: 'QUEUE_OVERFLOW', severity: 'HIGH', worker: 'generation_worker', job: null, detail: 'd', observed: 1500, threshold: 1000, window: '2026-03-02T04:00:00.000Z' };

  it('puts the finding under WORKER#/HEALTH# unless it exists', async () => {
    let exists = false;
    const c = client(() => {
      if (exists) throw Object.assign(new Error('exists'), { name: 'ConditionalCheckFailedException' });
      exists = true;
      return {};
    });
    const store = new DynamoHealthFindingStore(c as never, 'T');
    expect(await store.putOnce({ finding, raisedAt: '2026-03-02T04:20:00.000Z', expiresAt: 1 })).toBe(true);
    expect(await store.putOnce({ finding, raisedAt: '2026-03-02T04:25:00.000Z', expiresAt: 2 })).toBe(false);
    const put = c.sent[0];
    expect(put).toBeInstanceOf(PutCommand);
    expect(put?.input).toMatchObject({ TableName: 'T', ConditionExpression: 'attribute_not_exists(#pk)', Item: { pk: 'WORKER#generation_worker', sk: 'HEALTH#QUEUE_OVERFLOW#-#2026-03-02T04:00:00.000Z', entity: 'HEALTH', observed: 1500, expiresAt: 1 } });
  });

  it('reads the latest report with one descending Query; an unreadable one is undefined', async () => {
    const c = client(() => ({ Items: [{ pk: 'WORKER#youtube_worker', sk: 'REPORT#x', entity: 'REPORT', workerName: 'youtube_worker' }] }));
    const unreadable: string[] = [];
    expect(await new DynamoReportReader(c as never, 'T', (w) => unreadable.push(w)).latestReport('youtube_worker')).toBeUndefined();
    expect(unreadable).toEqual(['youtube_worker']);
    expect(c.sent[0]).toBeInstanceOf(QueryCommand);
    expect(c.sent[0]?.input).toMatchObject({ ScanIndexForward: false, Limit: 1, ExpressionAttributeValues: { ':pk': 'WORKER#youtube_worker', ':prefix': 'REPORT#' } });
  });
});
