import { Duration, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ALL_WORKERS, type WorkerSpec } from '../registry/index.js';
import { Construct } from 'constructs';
import { ROUTES } from '../../lambdas/api/routes.js';
import type { StreamTable } from './anomaly-detector.js';
import { acknowledgeIndexGrant } from '../nag-acknowledgements.js';
import { BackfillRunner } from './backfill-runner.js';
import type { PipelineArns } from './pipeline-arns.js';
import { FUNCTION_LOG_RETENTION, OrchestratorFunction } from './orchestrator-function.js';

/** The status API's sizing and protection defaults (units in the names). */
export const STATUS_API_DEFAULTS = {
  /** Steady-state requests per second over all routes: an operator console, not a public API. */
  throttleRateLimitPerSecond: 10,
  /** Requests accepted at once above the rate. */
  throttleBurstLimit: 20,
  memorySizeMb: 256,
  /** API Gateway HTTP APIs wait at most 30 s for an integration. */
  timeoutSeconds: 15,
} as const;

/** The HTTP API's routes (`GET /workers/{id}/reports`, ...), from the handler's own route table. */
export const STATUS_API_ROUTES: readonly { readonly method: apigwv2.HttpMethod; readonly path: string }[] = ROUTES.map((r) => ({
  method: r.method as apigwv2.HttpMethod,
  path: `/${r.pattern.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/')}`,
}));

/** One JSON object per request in the access log (HTTP API `$context` variables). */
export const STATUS_API_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
} as const;

/**
 * The `$context` variables API Gateway documents for HTTP API access logs (the subset this project
 * may use). HTTP API stages deliver access logs without the account's API Gateway CloudWatch role.
 */
export const HTTP_API_ACCESS_LOG_VARIABLES: ReadonlySet<string> = new Set([
  '$context.requestId',
  '$context.requestTime',
  '$context.identity.sourceIp',
  '$context.identity.caller',
  '$context.identity.userArn',
  '$context.httpMethod',
  '$context.routeKey',
  '$context.path',
  '$context.status',
  '$context.protocol',
  '$context.responseLength',
  '$context.responseLatency',
  '$context.integrationErrorMessage',
  '$context.integrationStatus',
  '$context.authorizer.error',
  '$context.error.message',
]);

export interface StatusApiThrottle {
  readonly rateLimitPerSecond: number;
  readonly burstLimit: number;
}

export interface StatusApiProps {
  /** The orchestrator table: worker states, reports, alerts, configs, trigger claims. */
  readonly table: StreamTable;
  /**
   * The pipelines, by name (PIPELINE_ARN_PREFIX): a manual trigger may start those of the
   * scheduled and sub-pipeline workers of `workers`.
   */
  readonly pipelines: PipelineArns;
  /**
   * The deployed workers (WORKER_IDS).
   * @default ALL_WORKERS
   */
  readonly workers?: readonly WorkerSpec[];
  /** @default STATUS_API_DEFAULTS - 10 requests per second, bursts of 20 */
  readonly throttle?: StatusApiThrottle;
  /** @default FUNCTION_LOG_RETENTION - one month */
  readonly accessLogRetention?: logs.RetentionDays;
}

function checkThrottle(throttle: StatusApiThrottle): void {
  const { rateLimitPerSecond: rate, burstLimit: burst } = throttle;
  if (!Token.isUnresolved(rate) && (!Number.isFinite(rate) || rate <= 0)) throw new Error(`throttle.rateLimitPerSecond must be a positive number, got ${rate}`);
  if (!Token.isUnresolved(burst) && (!Number.isInteger(burst) || burst < 1)) throw new Error(`throttle.burstLimit must be a positive integer, got ${burst}`);
}

/**
 * The status API: an API Gateway HTTP API (payload 2.0) in front of one Lambda (lambdas/api/handler.ts).
 * Every route is IAM-authorized (SigV4; the default authorizer, so a route added later is too),
 * the `$default` stage is throttled and writes a JSON access log line per request to its own log
 * group. The function may read and write the table and start the given pipelines, nothing else.
 */
export class StatusApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly handler: OrchestratorFunction;
  readonly accessLogs: logs.LogGroup;
  /** Runs the slots POST /workers/{id}/jobs/{job}/backfill found missed, one after the other. */
  readonly backfill: BackfillRunner;

  constructor(scope: Construct, id: string, props: StatusApiProps) {
    super(scope, id);
    const throttle = props.throttle ?? { rateLimitPerSecond: STATUS_API_DEFAULTS.throttleRateLimitPerSecond, burstLimit: STATUS_API_DEFAULTS.throttleBurstLimit };
    checkThrottle(throttle);
    for (const variable of Object.values(STATUS_API_ACCESS_LOG_FIELDS)) {
      if (!HTTP_API_ACCESS_LOG_VARIABLES.has(variable)) throw new Error(`the HTTP API access log format may use only documented HTTP API $context variables, got "${variable}"`);
    }

    // Backfills run scheduled jobs' missed slots: the pipelines of jobs that have schedules.
    this.backfill = new BackfillRunner(this, 'Backfill', { pipelines: props.pipelines });

    this.handler = new OrchestratorFunction(this, 'Function', {
      entry: 'lambdas/api/handler.ts',
      memorySizeMb: STATUS_API_DEFAULTS.memorySizeMb,
      timeout: Duration.seconds(STATUS_API_DEFAULTS.timeoutSeconds),
      serviceName: 'api',
      description: 'Status API: workers, run history, reports, alerts, manual triggers, backfills, worker config, pause/resume/drain.',
      environment: {
        TABLE_NAME: props.table.tableName,
        PIPELINE_ARN_PREFIX: props.pipelines.prefix,
        WORKER_IDS: (props.workers ?? ALL_WORKERS).map((w) => w.id).join(','),
        BACKFILL_STATE_MACHINE_ARN: this.backfill.stateMachine.stateMachineArn,
      },
    });
    const fn = this.handler.fn;
    // What lambdas/api/handler.ts documents: reads (incl. the byTime index), the trigger and backfill
    // claims (a backfill that cannot start deletes its claims), config and mode writes.
    props.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    props.pipelines.grantPipelines(fn, 'states:StartExecution');
    this.backfill.grantStartExecution(fn);

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'AuraStream orchestrator status API (IAM-authorized).',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? FUNCTION_LOG_RETENTION });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimitPerSecond, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(STATUS_API_ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('Handler', fn);
    for (const route of STATUS_API_ROUTES) this.api.addRoutes({ path: route.path, methods: [route.method], integration });

    // GET /alerts queries the byTime index.
    acknowledgeIndexGrant(fn, props.table);
  }

  /** The API's invoke URL. */
  get url(): string {
    return this.stage.url;
  }
}
