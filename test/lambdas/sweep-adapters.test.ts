/** The health sweep's AWS adapters over fake clients: the commands they send and how they read answers. */
import { ExecutionDoesNotExist, ListExecutionsCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { BatchGetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { BATCH_GET_MAX_KEYS, DynamoHealthFindingStore, DynamoRecoveryOutcomeReader, DynamoReportReader, SfnExecutionLister, SqsQueueDepthReader } from '../../lambdas/sweep/adapters.js';
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

  it('lists ended executions with the status filter, newest first, keeping those stopped inside the window and paging no further than its edge', async () => {
    const window = { stoppedSinceMs: 10_000, startedSinceMs: 5_000 };
    const pages: Record<string, unknown> = {
      first: {
        executions: [
          { executionArn: 'new', startDate: new Date(11_000), stopDate: new Date(12_000) },
          // Started inside the bound but stopped before the window: skipped, paging goes on.
          { executionArn: 'stopped-early', startDate: new Date(8_000), stopDate: new Date(9_000) },
        ],
        nextToken: 't2',
      },
      t2: {
        executions: [
          { executionArn: 'long', startDate: new Date(6_000), stopDate: new Date(10_500) },
          // Started before the edge: the listing stops here.
          { executionArn: 'too-old', startDate: new Date(4_000), stopDate: new Date(10_200) },
        ],
        nextToken: 't3',
      },
      t3: { executions: [{ executionArn: 'never-read', startDate: new Date(1_000), stopDate: new Date(2_000) }] },
    };
    const c = client((cmd) => pages[(cmd.input['nextToken'] as string | undefined) ?? 'first']);
    const ended = await new SfnExecutionLister(c as never).listEnded('arn:sm', 'TIMED_OUT', window);
    expect(ended).toEqual([
      { executionArn: 'new', startMs: 11_000, stopMs: 12_000, status: 'TIMED_OUT' },
      { executionArn: 'long', startMs: 6_000, stopMs: 10_500, status: 'TIMED_OUT' },
    ]);
    expect(c.sent).toHaveLength(2);
    expect(c.sent.every((s) => s instanceof ListExecutionsCommand && s.input['statusFilter'] === 'TIMED_OUT' && s.input['stateMachineArn'] === 'arn:sm')).toBe(true);
    expect(c.sent[1]?.input['nextToken']).toBe('t2');
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

describe('DynamoRecoveryOutcomeReader', () => {
  it('reads the recoveries\' summaries with consistent BatchGetItem and keeps only the FAILED verdicts', async () => {
    const c = client((command) => {
      const keys = ((command.input['RequestItems'] as Record<string, { Keys: { pk: string }[] }>)['T']?.Keys ?? []).map((k) => k.pk);
      const items: Record<string, Record<string, unknown>> = {
        'RECOVERY#r1': { pk: 'RECOVERY#r1', outcome: 'FAILED', reason: 'probe failed' },
        'RECOVERY#r2': { pk: 'RECOVERY#r2', outcome: 'SUCCEEDED', reason: 'closed' },
        'RECOVERY#r3': { pk: 'RECOVERY#r3', outcome: 'FAILED' },
      };
      return { Responses: { T: keys.flatMap((k) => (items[k] ? [items[k]] : [])) } };
    });
    const reader = new DynamoRecoveryOutcomeReader(c as never, 'T');
    expect(await reader.failed(['r1', 'r2', 'r3', 'r4', 'r1'])).toEqual(new Map([['r1', 'probe failed'], ['r3', 'no reason recorded']]));
    expect(c.sent).toHaveLength(1);
    expect(c.sent[0]).toBeInstanceOf(BatchGetCommand);
    expect(c.sent[0]?.input).toMatchObject({ RequestItems: { T: { ConsistentRead: true, Keys: [{ pk: 'RECOVERY#r1', sk: 'SUMMARY' }, { pk: 'RECOVERY#r2', sk: 'SUMMARY' }, { pk: 'RECOVERY#r3', sk: 'SUMMARY' }, { pk: 'RECOVERY#r4', sk: 'SUMMARY' }] } } });
  });

  it('splits the keys into requests of at most the BatchGetItem limit', async () => {
    const c = client(() => ({ Responses: {} }));
    await new DynamoRecoveryOutcomeReader(c as never, 'T').failed(Array.from({ length: BATCH_GET_MAX_KEYS + 1 }, (_, i) => `r${i}`));
    expect(c.sent).toHaveLength(2);
  });
});
