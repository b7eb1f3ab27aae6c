import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BACKFILL_TIMEOUT, buildBackfill } from '../../statemachines/backfill.js';
import { stateMachineLogGroupName } from './pipeline.js';
import type { PipelineArns } from './pipeline-arns.js';
import { SYNC_EVENTS_RULE } from './recovery-pipeline.js';

/** Log retention of the backfill's execution logs. */
export const BACKFILL_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface BackfillRunnerProps {
  /** The pipelines a backfill may run: by name (the API hands it the job's ARN). */
  readonly pipelines: PipelineArns;
}

/**
 * The backfill state machine (statemachines/backfill.ts): the missed slots of one job, in order,
 * each as a nested execution of the job's pipeline. It may start, describe and stop executions of
 * the given pipelines only, plus the `.sync` integration's own events rule.
 */
export class BackfillRunner extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BackfillRunnerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stateMachineName = `${stack.stackName}-backfill`;
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', { logGroupName: stateMachineLogGroupName(stateMachineName), retention: BACKFILL_LOG_RETENTION, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(buildBackfill(this)),
      timeout: BACKFILL_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: 'Backfill: the missed slots of one job, in order, each through the job\'s own pipeline (POST /workers/{id}/jobs/{job}/backfill).',
    });
    props.pipelines.grantPipelines(this.stateMachine, 'states:StartExecution');
    props.pipelines.grantPipelineExecutions(this.stateMachine, 'states:DescribeExecution', 'states:StopExecution');
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE })] }),
    );

    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support only the * resource (AWS requires it).',
    });
  }

  /** Lets the API start backfills. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}
