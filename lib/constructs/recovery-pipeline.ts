import { ArnFormat, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { buildRecovery, RECOVERY_STEP_TIMEOUT_SECONDS } from '../../statemachines/recovery.js';
import { OrchestratorFunction } from './orchestrator-function.js';
import type { PipelineArns } from './pipeline-arns.js';
import { stateMachineLogGroupName } from './pipeline.js';
import { grantTableAccess } from './table-access.js';

/** Log retention of the recovery's execution logs. */
export const RECOVERY_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/** Memory of the recovery Lambda, in MB. */
export const RECOVERY_MEMORY_MB = 256;
/**
 * The recovery's overall budget: the longest branch is API_QUOTA_LOW, which waits for the quota
 * reset (up to 24 h); HIGH_FAILURE_RATE waits the open timeout and runs a probe of up to 2 h.
 */
export const RECOVERY_TIMEOUT = Duration.hours(36);
/** The rule the `.sync` Step Functions integration manages to learn of nested executions' ends. */
export const SYNC_EVENTS_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export interface RecoveryPipelineProps {
  /** The orchestrator table (an ITable; only its name and grant are used). */
  readonly table: Pick<dynamodb.ITable, 'tableName' | 'tableArn' | 'node'>;
  /** The pipelines the recovery may restart, probe or refresh: by name (PIPELINE_ARN_PREFIX). */
  readonly pipelines: PipelineArns;
  /** The on-call topic: WORKER_CRASH pages and escalations. */
  readonly oncallTopic: sns.ITopic;
  /** The symphony's schedule group (API_QUOTA_LOW and REDUCE_RATE slow its schedules, named by trigger key). */
  readonly scheduleGroup: scheduler.IScheduleGroup;
  /**
   * The IAM path of the roles the schedules' targets run as. UpdateSchedule sends the target (its
   * RoleArn included) again, and Scheduler checks that the caller may pass that role: iam:PassRole
   * on the roles under this path only.
   * @default - none: UpdateSchedule is then denied for schedules with a target role
   */
  readonly scheduleTargetRolePath?: string;
  /**
   * The on-demand consumers' SQS event source mapping UUIDs by worker id (QUEUE_OVERFLOW raises
   * their ScalingConfig.MaximumConcurrency).
   * @default - no consumer is scaled
   */
  readonly consumerMappings?: ReadonlyMap<string, string>;
  /** @default RECOVERY_TIMEOUT (36 h) */
  readonly timeout?: Duration;
}

/**
 * The recovery: the generic Standard state machine of statemachines/recovery.ts and the recovery
 * Lambda its steps call, with logging ALL, X-Ray tracing and an overall timeout. Started by the
 * anomaly path (grant it with `grantStartExecution`). Its name reads `<stack>-recovery`.
 */
export class RecoveryPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly recoveryFunction: OrchestratorFunction;
  private readonly scheduleGroupName: string;

  constructor(scope: Construct, id: string, props: RecoveryPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.scheduleGroupName = props.scheduleGroup.scheduleGroupName;
    const mappings = [...(props.consumerMappings ?? new Map<string, string>()).entries()];
    this.recoveryFunction = new OrchestratorFunction(this, 'Function', {
      entry: 'lambdas/recovery/handler.ts',
      memorySizeMb: RECOVERY_MEMORY_MB,
      timeout: Duration.seconds(RECOVERY_STEP_TIMEOUT_SECONDS),
      serviceName: 'recovery',
      description: 'Recovery steps: restart, page, scale, circuit, timeouts, leases, schedules, upstream refresh; records every action.',
      environment: {
        TABLE_NAME: props.table.tableName,
        ONCALL_TOPIC_ARN: props.oncallTopic.topicArn,
        SCHEDULE_GROUP_NAME: props.scheduleGroup.scheduleGroupName,
        PIPELINE_ARN_PREFIX: props.pipelines.prefix,
        CONSUMER_MAPPINGS: stack.toJsonString(Object.fromEntries(mappings)),
      },
    });
    const fn = this.recoveryFunction.fn;
    grantTableAccess(props.table, fn, 'recovery');
    props.oncallTopic.grantPublish(fn);
    props.pipelines.grantPipelines(fn, 'states:StartExecution');
    const schedulesArn = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${props.scheduleGroup.scheduleGroupName}/*` });
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'], resourceArns: [schedulesArn] });
    if (props.scheduleTargetRolePath !== undefined) {
      const rolesArn = stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${props.scheduleTargetRolePath.replace(/^\//, '')}*` });
      iam.Grant.addToPrincipal({ grantee: fn, actions: ['iam:PassRole'], resourceArns: [rolesArn], conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } });
      if (fn.role) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role${props.scheduleTargetRolePath}*]`,
          reason: 'iam:PassRole (to EventBridge Scheduler only) on the schedule target roles, which live under their own IAM path in the worker stacks: UpdateSchedule sends the target role again.',
        });
      }
    }
    if (mappings.length > 0) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping'],
        resourceArns: mappings.map(([, uuid]) => stack.formatArn({ service: 'lambda', resource: 'event-source-mapping', resourceName: uuid, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
      });
    }

    const stateMachineName = `${stack.stackName}-recovery`;
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', { logGroupName: stateMachineLogGroupName(stateMachineName), retention: RECOVERY_LOG_RETENTION, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(buildRecovery(this, { recoveryFunction: fn })),
      timeout: props.timeout ?? RECOVERY_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: 'Self-healing: one branch per row of the design\'s recovery table; every action recorded under RECOVERY#<alertId>.',
    });

    // What `states:startExecution.sync:2` needs (the Probe and StartUpstream tasks pick the pipeline at run time).
    props.pipelines.grantPipelines(this.stateMachine, 'states:StartExecution');
    props.pipelines.grantPipelineExecutions(this.stateMachine, 'states:DescribeExecution', 'states:StopExecution');
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE })],
      }),
    );
    this.acknowledgeRequiredWildcards();
  }

  /** Lets the anomaly path start recoveries. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** The wildcards the integrations need, each acknowledged by its exact finding. */
  private acknowledgeRequiredWildcards(): void {
    const stack = Stack.of(this);
    const logicalId = (c: IConstruct): string | null => {
      const child = c.node.defaultChild;
      return child === undefined ? null : stack.getLogicalId(child as CfnElement);
    };
    const onMachine = (id: string, reason: string): void => Validations.of(this.stateMachine.role).acknowledge({ id, reason });
    onMachine(
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support only the * resource (AWS requires it).',
    );
    const fnId = logicalId(this.recoveryFunction.fn);
    if (fnId !== null) {
      onMachine(`AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`, 'lambda:InvokeFunction on the recovery function and its versions/aliases (`:*`), as the Step Functions Lambda integration grants it; scoped to this one function.');
    }
    const fnRole = this.recoveryFunction.fn.role;
    if (fnRole) {
      const groupName = stack.resolve(this.scheduleGroupName) as unknown;
      const shown = typeof groupName === 'string' ? groupName : typeof (groupName as { Ref?: unknown }).Ref === 'string' ? `<${(groupName as { Ref: string }).Ref}>` : null;
      if (shown !== null) {
        Validations.of(fnRole).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${shown}/*]`,
          reason: 'scheduler:GetSchedule and UpdateSchedule on the schedules of the symphony\'s one schedule group (API_QUOTA_LOW and REDUCE_RATE slow and restore them); schedule names are generated, so the group is the narrowest scope.',
        });
      }
      Validations.of(fnRole).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'sns:Publish to the KMS-encrypted on-call topic needs kms:GenerateDataKey* on that one key, as ITopic.grantPublish grants it.',
      });
    }
  }
}
