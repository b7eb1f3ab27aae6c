import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventsources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamTable } from './anomaly-detector.js';
import type { ApiGatewayAccount } from './api-gateway-account.js';
import { FUNCTION_LOG_RETENTION, OrchestratorFunction } from './orchestrator-function.js';

/**
 * The broadcaster's filter: what a live page shows. Plain data, so the local stream emulation
 * (local/live-updates.ts reads them from the template) runs the exact same patterns.
 * - report inserts (`WORKER#<id>` / `REPORT#...`);
 * - alert inserts and modifications (`ALERT#<id>` / `ALERT`: raised, delivered, acknowledged);
 * - worker STATE writes (the handler keeps those whose circuit or a job's lock changed);
 * - the orchestrator's mode (`ORCH` / `STATE`: pause, resume, drain);
 * - incident writes (`WORKER#<id>` / `INCIDENT#...`: opened, seen again, acknowledged, resolved).
 */
export const BROADCAST_PATTERNS = {
  reportInserts: { eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [{ prefix: 'REPORT#' }] } } } },
  alertWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: ['ALERT'] } } } },
  stateWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'WORKER#' }] }, sk: { S: ['STATE'] } } } },
  modeWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: ['ORCH'] }, sk: { S: ['STATE'] } } } },
  incidentWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'WORKER#' }] }, sk: { S: [{ prefix: 'INCIDENT#' }] } } } },
} as const;

/**
 * The heartbeat route: a client sends `{"action":"ping"}` and the connections function answers
 * `{"type":"pong","at":...}` on the same connection, so a page knows within seconds that its
 * connection is gone (API Gateway keeps an idle connection for 10 minutes).
 */
export const PING_ROUTE = 'ping';

/** The live updates' delivery and sizing defaults (units in the names). */
export const LIVE_UPDATES_DEFAULTS = {
  batchSize: 50,
  /** Retries of a failing batch before it goes to the on-failure queue. */
  retryAttempts: 2,
  /** An update older than this is stale on a live page: dropped to the on-failure queue. */
  maxRecordAgeSeconds: 300,
  memorySizeMb: 256,
  timeoutSeconds: 30,
  failureQueueRetentionDays: 14,
  /** Messages per second over all connections (clients only listen; $connect is the traffic). */
  throttleRateLimitPerSecond: 5,
  throttleBurstLimit: 10,
} as const;

/** One JSON object per WebSocket event in the access log. */
export const LIVE_UPDATES_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  status: '$context.status',
  ip: '$context.identity.sourceIp',
  userArn: '$context.identity.userArn',
  integrationError: '$context.integration.error',
  authorizerError: '$context.authorizer.error',
} as const;

/**
 * The `$context` variables API Gateway documents for WebSocket access logs (the subset this
 * project may use). `$context.integrationErrorMessage` is an HTTP API variable and not one of them.
 */
export const WEBSOCKET_ACCESS_LOG_VARIABLES: ReadonlySet<string> = new Set([
  '$context.apiId',
  '$context.authorize.error',
  '$context.authorizer.error',
  '$context.connectionId',
  '$context.domainName',
  '$context.error.message',
  '$context.eventType',
  '$context.identity.sourceIp',
  '$context.identity.userArn',
  '$context.integration.error',
  '$context.integration.status',
  '$context.integrationLatency',
  '$context.messageId',
  '$context.requestId',
  '$context.requestTime',
  '$context.routeKey',
  '$context.stage',
  '$context.status',
]);

export interface LiveUpdatesProps {
  /** The orchestrator table: connections (`WSCONN`), and its NEW_AND_OLD_IMAGES stream. */
  readonly table: StreamTable;
  /** Encrypts the on-failure queue. */
  readonly key: kms.IKey;
  /** @default 'live' */
  readonly stageName?: string;
  /** @default LIVE_UPDATES_DEFAULTS.batchSize */
  readonly batchSize?: number;
  /** @default FUNCTION_LOG_RETENTION - one month */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * The account's API Gateway CloudWatch Logs setting: the stage's access logs need it, so the
   * stage depends on it.
   */
  readonly apiGatewayAccount: ApiGatewayAccount;
}

/**
 * Real-time updates: an API Gateway WebSocket API whose $connect is IAM-authorized, connections
 * kept in the table (lambdas/realtime/connections.ts), and a broadcaster on the table stream
 * (lambdas/realtime/broadcaster.ts) that pushes report, alert, circuit, lock, mode and incident events to every
 * connection. Delivery on the stream is explicit, as for the anomaly detector: filters, partial
 * batch responses, bisect on error, bounded retries and record age, an encrypted on-failure queue.
 */
export class LiveUpdates extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly connectionsHandler: OrchestratorFunction;
  readonly broadcaster: OrchestratorFunction;
  readonly failureQueue: sqs.Queue;
  readonly accessLogs: logs.LogGroup;
  readonly eventSource: eventsources.DynamoEventSource;

  constructor(scope: Construct, id: string, props: LiveUpdatesProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? LIVE_UPDATES_DEFAULTS.batchSize;
    const stageName = props.stageName ?? 'live';
    if (props.table.tableStreamArn === undefined) throw new Error(`table must have a stream with new and old images, got ${props.table.node.path} without one`);
    if (!Token.isUnresolved(batchSize) && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000)) throw new Error(`batchSize must be an integer in 1..1000, got ${batchSize}`);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) throw new Error(`stageName must be 1-128 letters, digits, "-" or "_", got "${stageName}"`);
    for (const variable of Object.values(LIVE_UPDATES_ACCESS_LOG_FIELDS)) {
      if (!WEBSOCKET_ACCESS_LOG_VARIABLES.has(variable)) throw new Error(`the WebSocket access log format may use only documented WebSocket $context variables, got "${variable}"`);
    }

    this.connectionsHandler = new OrchestratorFunction(this, 'Connections', {
      entry: 'lambdas/realtime/connections-handler.ts',
      memorySizeMb: 128,
      timeout: Duration.seconds(10),
      serviceName: 'connections',
      description: 'WebSocket $connect/$disconnect: keeps the live connections in the table; answers the heartbeat ping.',
      environment: { TABLE_NAME: props.table.tableName },
    });
    // The table itself only (no index): put and delete the WSCONN item.
    this.connectionsHandler.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [props.table.tableArn] }));

    const integration = new WebSocketLambdaIntegration('Connections', this.connectionsHandler.fn);
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'AuraStream live updates: report, alert, circuit, lock, mode and incident events (IAM-authorized $connect).',
      connectRouteOptions: { integration, authorizer: new WebSocketIamAuthorizer() },
      disconnectRouteOptions: { integration },
    });
    this.api.addRoute(PING_ROUTE, { integration, returnResponse: true });
    Validations.of(this.api.node.findChild(`${PING_ROUTE}-Route`)).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'API Gateway WebSocket APIs authorize on $connect only; the ping route runs on a connection that was IAM-authorized there, and API Gateway accepts no authorizer on it.',
    });
    Validations.of(this.api.node.findChild('$disconnect-Route')).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'API Gateway WebSocket APIs authorize on $connect only; $disconnect belongs to a connection that was authorized there, and API Gateway accepts no authorizer on it.',
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? FUNCTION_LOG_RETENTION });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: { rateLimit: LIVE_UPDATES_DEFAULTS.throttleRateLimitPerSecond, burstLimit: LIVE_UPDATES_DEFAULTS.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(LIVE_UPDATES_ACCESS_LOG_FIELDS)),
      },
    });
    // A fresh account has no API Gateway CloudWatch role: the stage would fail to create without it.
    props.apiGatewayAccount.logsThrough(this.stage);

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(LIVE_UPDATES_DEFAULTS.failureQueueRetentionDays),
    });
    this.broadcaster = new OrchestratorFunction(this, 'Broadcaster', {
      entry: 'lambdas/realtime/broadcaster-handler.ts',
      memorySizeMb: LIVE_UPDATES_DEFAULTS.memorySizeMb,
      timeout: Duration.seconds(LIVE_UPDATES_DEFAULTS.timeoutSeconds),
      serviceName: 'broadcaster',
      description: 'Pushes report, alert, circuit, lock, mode and incident events from the table stream to the live WebSocket connections.',
      environment: { TABLE_NAME: props.table.tableName, WEBSOCKET_CALLBACK_URL: this.stage.callbackUrl },
    });
    const fn = this.broadcaster.fn;
    this.eventSource = new eventsources.DynamoEventSource(props.table as dynamodb.ITable, {
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: LIVE_UPDATES_DEFAULTS.retryAttempts,
      maxRecordAge: Duration.seconds(LIVE_UPDATES_DEFAULTS.maxRecordAgeSeconds),
      onFailure: new eventsources.SqsDlq(this.failureQueue),
      filters: Object.values(BROADCAST_PATTERNS).map((p) => lambda.FilterCriteria.filter(p)),
    });
    fn.addEventSource(this.eventSource);

    // Least privilege: list the connections (Query on WSCONN), remove the gone ones, and post to
    // connections of this stage only (PostToConnection is POST @connections/{id}).
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:DeleteItem'], resources: [props.table.tableArn] }));
    const connectionsArn = Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${stageName}/POST/@connections/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connectionsArn] }));

    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Besides X-Ray: dynamodb:ListStreams, which the stream event source needs and which supports only the * resource; the stream reads themselves are on the table\'s stream ARN.',
      });
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.api.node.defaultChild as apigwv2.CfnApi)}>/${stageName}/POST/@connections/*]`,
        reason: 'PostToConnection to any connection of this one stage: connection ids are only known at run time.',
      });
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'sqs:SendMessage to the encrypted on-failure queue (the event source\'s destination) needs the encrypt actions IQueue.grantSendMessages grants, on this one key.' });
      Validations.of(fn.role).acknowledge({ id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'sqs:SendMessage to the encrypted on-failure queue (the event source\'s destination) needs the encrypt actions IQueue.grantSendMessages grants, on this one key.' });
    }
    Validations.of(this.failureQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the broadcaster stream event source\'s on-failure destination (a dead-letter queue); it needs none of its own.' });
    Validations.of(this.failureQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is the broadcaster stream event source\'s on-failure destination; it has no redrive of its own.' });
  }

  /** The URL clients connect to (wss://...). */
  get url(): string {
    return this.stage.url;
  }
}
