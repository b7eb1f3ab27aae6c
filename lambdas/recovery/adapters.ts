/**
 * The recovery Lambda's AWS adapters: the RecoveryStore on the single table, the PipelineStarter on
 * SFN StartExecution, the QueueAdapter on the consumers' SQS event source mappings
 * (ScalingConfig.MaximumConcurrency, AWS Lambda's documented per-mapping concurrency control), and
 * the AlertPublisher on the on-call SNS topic.
 */
import { GetEventSourceMappingCommand, UpdateEventSourceMappingCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PAGE_SUBJECT_PREFIX, snsSafeSubject } from '../../lib/domain/alerting.js';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { RECOVERY_SUMMARY_SK, recoveryActionSk, recoveryPk, recoveryStreakSk, type RecoveryActionRecord } from '../../lib/domain/recovery-actions.js';
import { STATE_SK, workerPk, type RawItem } from '../../lib/domain/worker-state.js';
import type { AlertPublisher, PipelineStarter, QueueAdapter, RecoveryStore, RecoverySummary, StartedExecution } from './ports.js';
import { isConditionFailure } from '../adapters/dynamo-state-store.js';


export class DynamoRecoveryStore implements RecoveryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordAction(entry: RecoveryActionRecord, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: recoveryPk(entry.alertId), sk: recoveryActionSk(entry.step), entity: 'RECOVERY_ACTION', ...entry, expiresAt } }),
    );
  }

  async finish(summary: RecoverySummary, expiresAt: number): Promise<number> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: recoveryPk(summary.alertId), sk: RECOVERY_SUMMARY_SK, entity: 'RECOVERY', ...summary, expiresAt } }));
    const key = { pk: workerPk(summary.worker), sk: recoveryStreakSk(summary.anomaly) };
    if (summary.outcome === 'NOT_APPLICABLE') {
      // Nothing was tried: the streak neither grows nor resets.
      const current = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return Number(current.Item?.['consecutiveFailures'] ?? 0);
    }
    if (summary.outcome === 'SUCCEEDED') {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #e = :e, #n = :zero, #a = :a, #o = :o, #t = :t',
          ExpressionAttributeNames: { '#e': 'entity', '#n': 'consecutiveFailures', '#a': 'lastAlertId', '#o': 'lastOutcome', '#t': 'updatedAt' },
          ExpressionAttributeValues: { ':e': 'RECOVERY_STREAK', ':zero': 0, ':a': summary.alertId, ':o': summary.outcome, ':t': summary.at },
        }),
      );
      return 0;
    }
    try {
      // Counted once per alert: a retried `fail` step finds its own alert id and does not add again.
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #e = :e, #n = if_not_exists(#n, :zero) + :one, #a = :a, #o = :o, #t = :t',
          ConditionExpression: 'attribute_not_exists(#a) OR #a <> :a OR #o <> :o',
          ExpressionAttributeNames: { '#e': 'entity', '#n': 'consecutiveFailures', '#a': 'lastAlertId', '#o': 'lastOutcome', '#t': 'updatedAt' },
          ExpressionAttributeValues: { ':e': 'RECOVERY_STREAK', ':zero': 0, ':one': 1, ':a': summary.alertId, ':o': summary.outcome, ':t': summary.at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(out.Attributes?.['consecutiveFailures'] ?? 1);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const again = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return Number(again.Item?.['consecutiveFailures'] ?? 1);
    }
  }

  async readRawWorkerState(workerId: string): Promise<RawItem | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: workerPk(workerId), sk: STATE_SK }, ConsistentRead: true }));
    return out.Item;
  }
}

/** StartExecution with a deterministic name; an existing execution of that name is the answer, not an error. */
export class SfnPipelineStarter implements PipelineStarter {
  constructor(private readonly client: SFNClient) {}

  async start(stateMachineArn: string, name: string, input: Readonly<Record<string, unknown>>): Promise<StartedExecution> {
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { executionArn: out.executionArn ?? '', alreadyStarted: false };
    } catch (e) {
      if (e instanceof ExecutionAlreadyExists || (e instanceof Error && e.name === 'ExecutionAlreadyExists')) {
        return { executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, alreadyStarted: true };
      }
      throw e;
    }
  }
}

/** The consumers' event source mappings by worker id (CONSUMER_MAPPINGS: worker → mapping UUID). */
export class EventSourceMappingQueueAdapter implements QueueAdapter {
  constructor(
    private readonly client: LambdaClient,
    private readonly mappings: Readonly<Record<string, string>>,
  ) {}

  private uuid(workerId: string): string | undefined {
    return this.mappings[workerId];
  }

  async maxConcurrency(workerId: string): Promise<number | null> {
    const uuid = this.uuid(workerId);
    if (uuid === undefined) return null;
    const out = await this.client.send(new GetEventSourceMappingCommand({ UUID: uuid }));
    return out.ScalingConfig?.MaximumConcurrency ?? null;
  }

  async setMaxConcurrency(workerId: string, maximumConcurrency: number): Promise<void> {
    const uuid = this.uuid(workerId);
    if (uuid === undefined) throw new ConfigurationError(`worker "${workerId}" has no consumer mapping in CONSUMER_MAPPINGS`);
    await this.client.send(new UpdateEventSourceMappingCommand({ UUID: uuid, ScalingConfig: { MaximumConcurrency: maximumConcurrency } }));
  }
}

export { PAGE_SUBJECT_PREFIX };

export class SnsAlertPublisher implements AlertPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async page(subject: string, message: Readonly<Record<string, unknown>>): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        // pageSubject() already starts with the prefix; anything else gets it here.
        Subject: snsSafeSubject(subject.startsWith(PAGE_SUBJECT_PREFIX) ? subject : `${PAGE_SUBJECT_PREFIX} ${subject}`),
        Message: JSON.stringify(message, null, 2),
        // `severity` too: the on-call subscriptions filter on it, and a page without it is dropped.
        MessageAttributes: {
          type: { DataType: 'String', StringValue: String(message['type'] ?? 'aurastream.recovery') },
          severity: { DataType: 'String', StringValue: typeof message['severity'] === 'string' ? message['severity'] : 'CRITICAL' },
        },
      }),
    );
  }
}
