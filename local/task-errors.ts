/**
 * How task failures become Step Functions errors locally.
 *
 * aws-local-stepfunctions matches `Retry`/`Catch` `ErrorEquals` against the thrown error's `name`
 * and reports its `message` as the `Cause`. These classes let a task dispatcher state exactly the
 * Error/Cause pair AWS would produce; {@link toStatesError} maps anything else by resource type.
 */
import { isPlainObject } from './json.js';

/** A task failure with an explicit Step Functions `Error` name and `Cause` string; passed through unchanged. */
export class TaskFailure extends Error {
  constructor(error: string, cause = '') {
    super(cause);
    this.name = error;
  }
}

/**
 * A Lambda invocation that returned `FunctionError` (the handler threw). Step Functions uses the
 * payload's `errorType` as the error name and the payload JSON text as the cause, for both
 * `arn:aws:states:::lambda:invoke` and direct function-ARN resources.
 */
export class LambdaFunctionError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];

  constructor(errorType: string, errorMessage: string, trace: readonly string[] = []) {
    super(JSON.stringify({ errorType, errorMessage, trace }));
    this.name = errorType;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
    this.trace = trace;
  }

  /** What the Node.js Lambda runtime reports for an error thrown by a handler. */
  static fromThrown(thrown: unknown): LambdaFunctionError {
    if (thrown instanceof LambdaFunctionError) return thrown;
    if (thrown instanceof Error) {
      return new LambdaFunctionError(thrown.name || 'Error', thrown.message, (thrown.stack ?? '').split('\n'));
    }
    return new LambdaFunctionError('Error', typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown));
  }

  /** From a Lambda error payload `{ errorType, errorMessage, trace? }` (the body of a FunctionError response). */
  static fromPayload(payload: unknown): LambdaFunctionError {
    if (!isPlainObject(payload)) return new LambdaFunctionError('Unhandled', JSON.stringify(payload) ?? '');
    const type = typeof payload['errorType'] === 'string' ? payload['errorType'] : 'Unhandled';
    const message = typeof payload['errorMessage'] === 'string' ? payload['errorMessage'] : '';
    const trace = Array.isArray(payload['trace']) ? payload['trace'].map(String) : [];
    return new LambdaFunctionError(type, message, trace);
  }
}

/** Service label used by the optimized integrations' error names (e.g. `DynamoDB.ConditionalCheckFailedException`). */
const OPTIMIZED_PREFIX: Readonly<Record<string, string>> = { dynamodb: 'DynamoDB', sns: 'SNS', sqs: 'SQS' };

/** PascalCase service names used by AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`). */
const SDK_SERVICE_NAMES: Readonly<Record<string, string>> = {
  dynamodb: 'DynamoDb',
  sfn: 'Sfn',
  sns: 'Sns',
  sqs: 'Sqs',
  s3: 'S3',
  lambda: 'Lambda',
  scheduler: 'Scheduler',
  eventbridge: 'EventBridge',
  cloudwatch: 'CloudWatch',
  cloudwatchlogs: 'CloudWatchLogs',
  ssm: 'Ssm',
  secretsmanager: 'SecretsManager',
};

export function isLambdaResource(resource: string): boolean {
  return resource.startsWith('arn:aws:states:::lambda:invoke') || /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(resource);
}

/**
 * Converts whatever a task dispatcher threw into the Error (name) / Cause (message) pair AWS
 * would report for `resource`:
 *   - {@link TaskFailure} / {@link LambdaFunctionError}: as given;
 *   - Lambda resources: the thrown error is the handler's → `errorType` = its name, cause = payload JSON;
 *   - optimized DynamoDB/SNS/SQS integrations: `DynamoDB.<ExceptionName>` etc.;
 *   - AWS SDK integrations: `<Service>.<Name>` with the `Exception` suffix always present;
 *   - anything else: the error's own name and message.
 */
export function toStatesError(resource: string, thrown: unknown): Error {
  if (thrown instanceof TaskFailure || thrown instanceof LambdaFunctionError) return thrown;
  if (isLambdaResource(resource)) return LambdaFunctionError.fromThrown(thrown);
  const name = thrown instanceof Error && thrown.name ? thrown.name : 'Error';
  const message = thrown instanceof Error ? thrown.message : typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? '';
  if (name.includes('.')) return new TaskFailure(name, message);
  const optimized = /^arn:[^:]+:states:::([a-z]+):/.exec(resource);
  const sdk = /^arn:[^:]+:states:::aws-sdk:([a-z0-9]+):/.exec(resource);
  if (sdk?.[1] !== undefined) {
    const service = SDK_SERVICE_NAMES[sdk[1]] ?? sdk[1].charAt(0).toUpperCase() + sdk[1].slice(1);
    return new TaskFailure(`${service}.${name.endsWith('Exception') ? name : `${name}Exception`}`, message);
  }
  const prefix = optimized?.[1] !== undefined ? OPTIMIZED_PREFIX[optimized[1]] : undefined;
  return new TaskFailure(prefix !== undefined ? `${prefix}.${name}` : name, message);
}
