import { ArnFormat, RemovalPolicy, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { BACKFILL_TIMEOUT, buildBackfill } from '../../statemachines/backfill.js';
import { stateMachineLogGroupName } from './pipeline.js';
import { SYNC_EVENTS_RULE } from './recovery-pipeline.js';

/** Log retention of the backfill's execution logs. */
export const BACKFILL_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface BackfillRunnerProps {
  /** The pipelines a backfill may run, by `<workerId>.<jobId>`. */
  readonly pipelines: ReadonlyMap<string, sfn.IStateMachine>;
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
    const pipelines = [...props.pipelines.values()];
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
    const executionsOf = (sm: sfn.IStateMachine): string =>
      stack.formatArn({ service: 'states', resource: 'execution', arnFormat: ArnFormat.COLON_RESOURCE_NAME, resourceName: `${stack.splitArn(sm.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}*` });
    if (pipelines.length > 0) {
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: pipelines.map((sm) => sm.stateMachineArn) }));
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: pipelines.map(executionsOf) }));
    }
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE })] }),
    );

    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support only the * resource (AWS requires it).',
    });
    const logicalId = (c: IConstruct): string | null => {
      const child = c.node.defaultChild;
      return child === undefined ? null : stack.getLogicalId(child as CfnElement);
    };
    for (const sm of pipelines) {
      const smId = Token.isUnresolved(sm.stateMachineArn) ? logicalId(sm) : null;
      if (smId === null) continue;
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${smId}"}]}]}*]`,
        reason: 'startExecution.sync:2 must describe and stop the nested executions of each backfilled slot, whose names are made per slot; scoped to the executions of this one pipeline.',
      });
    }
  }

  /** Lets the API start backfills. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}
