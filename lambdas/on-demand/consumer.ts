/**
 * The on-demand consumer Lambda (one per on-demand worker): SQS batch in, partial batch failures
 * out. Environment: TABLE_NAME, WORKER_ID, WORKER_FUNCTION_NAME, PACK_PIPELINES (JSON job → ARN),
 * REPORT_RETENTION_DAYS. A job held by the gate (pause, open circuit) is sent again on the queue it
 * came from (the record's eventSourceARN; the queue construct grants sqs:SendMessage on it).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { DEFAULT_REPORT_RETENTION_DAYS } from '../../lib/domain/worker-state.js';
import { documentClient, DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { lambdaWorkerInvoker } from '../adapters/lambda-worker-invoker.js';
import { sfnExecutionStarter } from '../adapters/sfn-execution-starter.js';
import { positiveNumberEnv, requiredEnv } from '../shared/env.js';
import { PowertoolsRunMetrics } from '../protocol/powertools-run-metrics.js';
import { consumeBatch, type ConsumerDeps } from './consume.js';

/** Deliveries before SQS dead-letters a job; matches ON_DEMAND_MAX_RECEIVE_COUNT in the queue construct. */
const MAX_RECEIVE_COUNT = 3;

export const makeHandler = (deps: ConsumerDeps) => async (event: SQSEvent): Promise<SQSBatchResponse> =>
  consumeBatch(
    deps,
    event.Records.map((r) => ({ messageId: r.messageId, body: r.body, receiveCount: Number(r.attributes.ApproximateReceiveCount) || 1, sourceArn: r.eventSourceARN })),
  );

/** `arn:aws:sqs:<region>:<account>:<name>` → its queue URL. */
export function queueUrlFromArn(arn: string): string {
  const [prefix, partition, service, region, account, name] = arn.split(':');
  if (prefix !== 'arn' || service !== 'sqs' || !region || !account || !name) throw new ConfigurationError(`not an SQS queue ARN, got "${arn}"`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** Holds a job: its body sent again on its own queue, delayed (a new message: its receive count starts at 0). */
export const sqsHold =
  (client: SQSClient): ConsumerDeps['hold'] =>
  async (message, delaySeconds) => {
    if (message.sourceArn === undefined) throw new ConfigurationError(`message ${message.messageId} has no eventSourceARN: cannot hold it`);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrlFromArn(message.sourceArn), MessageBody: message.body, DelaySeconds: delaySeconds }));
  };

const workerId = requiredEnv('WORKER_ID');
const packPipelines = JSON.parse(process.env['PACK_PIPELINES'] ?? '{}') as Record<string, string>;
const logger = new Logger({ serviceName: `${workerId}-consumer` });

export const handler = makeHandler({
  workerId,
  protocol: {
    store: new DynamoStateStore(documentClient(new DynamoDBClient({})), requiredEnv('TABLE_NAME')),
    clock: Date.now,
    reportRetentionDays: positiveNumberEnv('REPORT_RETENTION_DAYS', DEFAULT_REPORT_RETENTION_DAYS),
    metrics: new PowertoolsRunMetrics(),
  },
  invokeWorker: lambdaWorkerInvoker(new LambdaClient({}), requiredEnv('WORKER_FUNCTION_NAME')),
  startPipeline: sfnExecutionStarter(new SFNClient({}), (jobId) => {
    const arn = packPipelines[jobId];
    if (!arn) throw new ConfigurationError(`worker "${workerId}": no pipeline for job "${jobId}" in PACK_PIPELINES`);
    return arn;
  }),
  maxReceiveCount: MAX_RECEIVE_COUNT,
  hold: sqsHold(new SQSClient({})),
  log: (level, message, fields) => logger[level](message, fields),
});
