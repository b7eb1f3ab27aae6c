import { Duration, Names, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { pipelineTimeoutSeconds, type JobSpec, type WorkerSpec } from '../registry/index.js';
import { pipelineName } from '../registry/naming.js';

/**
 * The log group of a state machine's execution logs. The `/aws/vendedlogs/states/` prefix lets
 * Step Functions deliver logs without adding a statement per log group to the account's CloudWatch
 * Logs resource policy (5,120 characters at most, which a few dozen state machines would exceed).
 */
export const stateMachineLogGroupName = (stateMachineName: string): string => `/aws/vendedlogs/states/${stateMachineName}`;

/** Log retention of the pipelines' execution logs. */
export const PIPELINE_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface PipelineProps {
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
  /** Builds the states inside this construct's scope. */
  readonly definition: (scope: Construct) => sfn.IChainable;
  /** The functions its tasks invoke (for the acknowledged `<function>:*` grant). */
  readonly invokes: readonly lambda.IFunction[];
  /** The state machines it starts as nested executions. */
  readonly starts?: readonly sfn.IStateMachine[];
  /**
   * The orchestrator stack's name, the first part of the state machine's name (lib/registry/naming.ts).
   * @default - the name of the stack this construct is in
   */
  readonly stackName?: string;
}

/**
 * One Standard state machine for one job of one worker: logging ALL with execution data, X-Ray
 * tracing, and an overall timeout of the design's budget for the job plus the room a raised work
 * step may take (registry pipelineTimeoutSeconds). Its name reads
 * `<stack>-<worker>-<job>` so the console's run history says what ran.
 */
export class Pipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly worker: WorkerSpec;
  readonly job: JobSpec;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.worker = props.worker;
    this.job = props.job;
    const name = pipelineName(props.stackName ?? Stack.of(this).stackName, props.worker.id, props.job.id);
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', { logGroupName: stateMachineLogGroupName(name), retention: PIPELINE_LOG_RETENTION, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: name,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition(this)),
      // The design's budget, plus the room a SLOW_EXECUTION recovery may give the work step.
      timeout: Duration.seconds(pipelineTimeoutSeconds(props.worker, props.job)),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: `${props.worker.id}.${props.job.id}: ${props.worker.description}`.slice(0, 250),
    });
    this.acknowledgeRequiredWildcards(props);
  }

  /** The wildcards the service integrations need, each acknowledged by its exact finding. */
  private acknowledgeRequiredWildcards(props: PipelineProps): void {
    const stack = Stack.of(this);
    const logicalId = (c: Construct): string => stack.getLogicalId(c.node.defaultChild as CfnElement);
    const acknowledge = (id: string, reason: string): void => Validations.of(this.stateMachine.role).acknowledge({ id, reason });
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support only the * resource (AWS requires it). test/infra/template.test.ts allows * for these actions only.',
    );
    // A function of the parent stack reaches a nested stack as a parameter named after its path.
    const arnText = (fn: lambda.IFunction): string => (Stack.of(fn) === stack ? `<${logicalId(fn)}.Arn>` : `<referenceto${Names.uniqueId(fn.node.defaultChild as CfnElement)}Arn>`);
    for (const fn of new Set(props.invokes)) {
      acknowledge(`AwsSolutions-IAM5[Resource::${arnText(fn)}:*]`, 'lambda:InvokeFunction on the function and its versions/aliases (`:*`), as the Step Functions Lambda integration grants it; scoped to this one function.');
    }
    for (const child of new Set(props.starts ?? [])) {
      // A child in this stack is a Ref; one found by name (another worker's stack) is its name.
      const byName = child.node.defaultChild === undefined ? child.stateMachineArn.split(':stateMachine:')[1] : undefined;
      const childName = byName ?? `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(child)}"}]}]}`;
      acknowledge(
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${childName}*]`,
        'startExecution.sync:2 must describe and stop the nested executions, whose names are not known in advance; scoped to the executions of this one child state machine.',
      );
    }
  }
}
