import { Validations, type Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Log retention of every function: long enough to investigate a week-old incident. */
export const FUNCTION_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/** The newest Node.js runtime this aws-cdk-lib offers. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface OrchestratorFunctionProps {
  /** The handler module, relative to the repository root (e.g. `lambdas/protocol/handler.ts`). */
  readonly entry: string;
  /** @default 'handler' */
  readonly handler?: string;
  readonly memorySizeMb: number;
  readonly timeout: Duration;
  /** Non-secret configuration only; secrets come from Secrets Manager. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Shown in the console and on every log line as the Powertools service name. */
  readonly serviceName: string;
  readonly description: string;
  /**
   * Invoked asynchronously (SNS, EventBridge Scheduler): the caller sets up the on-failure
   * destination and acknowledges Serverless-LambdaDLQ with its own reason.
   * @default false - invoked synchronously (Step Functions, event-source mappings)
   */
  readonly asyncInvocation?: boolean;
}

/**
 * A Node.js Lambda with the orchestrator's defaults: esbuild bundle (minified, source maps), arm64,
 * the newest runtime, X-Ray tracing, and its own log group with a retention.
 */
export class OrchestratorFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: FUNCTION_LOG_RETENTION });
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write only to its own log group.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `Runs ${props.serviceName}` });
    logGroup.grantWrite(role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySizeMb,
      timeout: props.timeout,
      description: props.description,
      role,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: nodejs.OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // ESM bundles need `require` for the few CommonJS dependencies that call it.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support only the * resource (AWS requires it). test/infra/template.test.ts allows * for these actions only.',
    });
    if (props.asyncInvocation === true) return;
    Validations.of(this.fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Never invoked asynchronously: Step Functions invokes it synchronously and catches every failure into a report; event-source mappings have their own on-failure handling.',
    });
  }
}
