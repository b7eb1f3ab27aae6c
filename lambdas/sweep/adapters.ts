/**
 * The health sweep's AWS adapters: ExecutionLister on Step Functions (ListExecutions RUNNING,
 * TIMED_OUT and ABORTED, DescribeExecution, StopExecution), QueueDepthReader on SQS GetQueueAttributes, ReportReader and
 * HealthFindingStore on the single table (Query of the latest REPORT, conditional PutItem),
 * OnCallPager on SNS (the on-call topic). The escalation store is DynamoIncidentStore
 * (lambdas/adapters/dynamo-incident-store.ts).
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ANOMALY_CODES, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import type { EscalationMessage, OnCallPager } from '../../lib/domain/escalation.js';
import { healthSk, type EndedWindow } from '../../lib/domain/health-sweep.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { workerPk } from '../../lib/domain/worker-state.js';
import { publishRendered } from '../adapters/sns-alert-publisher.js';
import { ReportItemSchema } from '../anomaly/stream-record.js';
import { RECOVERY_SUMMARY_SK, recoveryPk } from '../../lib/domain/recovery-actions.js';
import type { EndedExecution, EndedStatus, ExecutionLister, HealthFindingStore, ListedExecution, QueueDepthReader, RecoveryOutcomeReader, ReportReader, StoredFinding } from './ports.js';
import { putIfAbsent } from '../adapters/dynamo-state-store.js';

/** ListExecutions' page size limit. */
export const LIST_EXECUTIONS_PAGE = 1000;

const KNOWN_CODES: ReadonlySet<string> = new Set(ANOMALY_CODES);

export class SfnExecutionLister implements ExecutionLister {
  constructor(private readonly client: SFNClient) {}

  async listRunning(stateMachineArn: string): Promise<readonly ListedExecution[]> {
    const out: ListedExecution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: LIST_EXECUTIONS_PAGE, ...(nextToken !== undefined ? { nextToken } : {}) }));
      for (const e of page.executions ?? []) {
        if (e.executionArn !== undefined && e.startDate !== undefined) out.push({ executionArn: e.executionArn, startMs: e.startDate.getTime() });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return out;
  }

  async listEnded(stateMachineArn: string, status: EndedStatus, window: EndedWindow): Promise<readonly EndedExecution[]> {
    const out: EndedExecution[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: status, maxResults: LIST_EXECUTIONS_PAGE, ...(nextToken !== undefined ? { nextToken } : {}) }));
      for (const e of page.executions ?? []) {
        if (e.executionArn === undefined || e.startDate === undefined) continue;
        const startMs = e.startDate.getTime();
        // Newest first: everything after this started too early to have stopped inside the window.
        if (startMs < window.startedSinceMs) return out;
        const stopMs = e.stopDate?.getTime();
        if (stopMs !== undefined && stopMs >= window.stoppedSinceMs) out.push({ executionArn: e.executionArn, startMs, stopMs, status });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return out;
  }

  async input(executionArn: string): Promise<unknown> {
    const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
    if (out.input === undefined) return undefined;
    try {
      return JSON.parse(out.input) as unknown;
    } catch {
      return undefined;
    }
  }

  async stop(executionArn: string, error: string, cause: string): Promise<void> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, error, cause }));
    } catch (e) {
      // Gone already (expired history): nothing to stop.
      if (e instanceof ExecutionDoesNotExist) return;
      throw e;
    }
  }
}

export class SqsQueueDepthReader implements QueueDepthReader {
  constructor(private readonly client: SQSClient) {}

  async depth(queueUrl: string): Promise<number> {
    const out = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    const raw = out.Attributes?.ApproximateNumberOfMessages;
    const depth = Number(raw);
    if (raw === undefined || !Number.isFinite(depth)) throw new Error(`GetQueueAttributes gave no ApproximateNumberOfMessages for ${queueUrl}`);
    return depth;
  }
}

/** The latest report of a worker: the last `REPORT#<scheduled time>#...` sort key (one Query, 1 item). */
export class DynamoReportReader implements ReportReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly onUnreadable: (workerId: string, issues: string) => void = () => undefined,
  ) {}

  async latestReport(workerId: string): Promise<WorkerScoreReport | undefined> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': workerPk(workerId), ':prefix': 'REPORT#' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = out.Items?.[0];
    if (item === undefined) return undefined;
    const parsed = ReportItemSchema.safeParse(item);
    if (!parsed.success) {
      // An unreadable report only hides its worker's report-based findings.
      this.onUnreadable(workerId, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      return undefined;
    }
    const { pk: _pk, sk: _sk, entity: _entity, anomalies, ...fields } = parsed.data;
    return { ...fields, anomalies: anomalies.filter((a): a is AnomalyCode => KNOWN_CODES.has(a)) };
  }
}

/** `WORKER#<worker>` / `HEALTH#<kind>#<job|->#<window>`, put unless it exists. */
export class DynamoHealthFindingStore implements HealthFindingStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putOnce(stored: StoredFinding): Promise<boolean> {
    const { finding, raisedAt, expiresAt } = stored;
    return putIfAbsent(this.client, this.tableName, { pk: workerPk(finding.worker), sk: healthSk(finding), entity: 'HEALTH', ...finding, raisedAt, expiresAt });
  }
}

/** BatchGetItem's key limit per request. */
export const BATCH_GET_MAX_KEYS = 100;

/**
 * The FAILED verdicts among recoveries' `RECOVERY#<name>` / `SUMMARY` items (BatchGetItem, projected to
 * the verdict). Keys DynamoDB leaves unprocessed are read by the next sweep: they are left out, as is
 * a summary without a string outcome.
 */
export class DynamoRecoveryOutcomeReader implements RecoveryOutcomeReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async failed(names: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const out = new Map<string, string>();
    const unique = [...new Set(names)];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX_KEYS) {
      const keys = unique.slice(i, i + BATCH_GET_MAX_KEYS).map((name) => ({ pk: recoveryPk(name), sk: RECOVERY_SUMMARY_SK }));
      const res = await this.client.send(
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: '#pk, #o, #r', ExpressionAttributeNames: { '#pk': 'pk', '#o': 'outcome', '#r': 'reason' } } },
        }),
      );
      for (const item of res.Responses?.[this.tableName] ?? []) {
        const pk = item['pk'];
        if (typeof pk !== 'string' || item['outcome'] !== 'FAILED') continue;
        out.set(pk.slice(recoveryPk('').length), typeof item['reason'] === 'string' ? item['reason'] : 'no reason recorded');
      }
    }
    return out;
  }
}

/**
 * Pages the on-call topic: `MessageStructure: 'json'` (email gets the text, other protocols the JSON
 * envelope) and the `type`, `severity`, `worker`, `anomaly` message attributes: the topic's
 * subscriptions filter on `severity`, so a message without it would reach nobody.
 */
export class SnsOnCallPager implements OnCallPager {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async page(message: EscalationMessage): Promise<void> {
    await publishRendered(this.client, this.topicArn, message);
  }
}
