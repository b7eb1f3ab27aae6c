import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { buildRecovery, RECOVERY_STEP_TIMEOUT_SECONDS } from '../../statemachines/recovery.js';
import { OrchestratorFunction } from './orchestrator-function.js';
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
  /** Every pipeline the recovery may restart, probe or refresh, by `<worker>.<job>`. */
  readonly pipelines: ReadonlyMap<string, sfn.IStateMachine>;
  /** The on-call topic: WORKER_CRASH pages and escalations. */
  readonly oncallTopic: sns.ITopic;
  /** The symphony's schedule group (API_QUOTA_LOW and REDUCE_RATE slow its schedules). */
  readonly scheduleGroup: scheduler.IScheduleGroup;
  /**
   * The schedules by registry trigger key (`<worker>.<job>[.<n>]`), as SymphonySchedules.schedules.
   * @default - no schedule is slowed
   */
  readonly schedules?: ReadonlyMap<string, scheduler.ISchedule>;
  /**
   * The roles the schedules' targets run as. UpdateSchedule sends the target (its RoleArn included)
   * again, and Scheduler checks that the caller may pass that role: iam:PassRole on these roles only.
   * @default - none: UpdateSchedule is then denied for schedules with a target role
   */
  readonly scheduleTargetRoles?: readonly iam.IRole[];
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
    const pipelines = [...props.pipelines.entries()];
    for (const [key] of pipelines) {
      if (!/^[^.]+\.[^.]+$/.test(key)) throw new Error(`recovery pipelines are keyed "<worker>.<job>", got "${key}"`);
    }

    const schedules = [...(props.schedules ?? new Map<string, scheduler.ISchedule>()).entries()];
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
        PIPELINE_ARNS: stack.toJsonString(Object.fromEntries(pipelines.map(([key, sm]) => [key, sm.stateMachineArn]))),
        SCHEDULE_NAMES: stack.toJsonString(Object.fromEntries(schedules.map(([key, s]) => [key, s.scheduleName]))),
        CONSUMER_MAPPINGS: stack.toJsonString(Object.fromEntries(mappings)),
      },
    });
    const fn = this.recoveryFunction.fn;
    grantTableAccess(props.table, fn, 'recovery');
    props.oncallTopic.grantPublish(fn);
    for (const [, sm] of pipelines) sm.grantStartExecution(fn);
    const schedulesArn = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${props.scheduleGroup.scheduleGroupName}/*` });
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'], resourceArns: [schedulesArn] });
    for (const role of props.scheduleTargetRoles ?? []) role.grantPassRole(fn.grantPrincipal);
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
    const executionsOf = (sm: sfn.IStateMachine): string =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        resourceName: `${stack.splitArn(sm.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}*`,
      });
    if (pipelines.length > 0) {
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: pipelines.map(([, sm]) => sm.stateMachineArn) }));
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: pipelines.map(([, sm]) => executionsOf(sm)) }));
    }
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE })],
      }),
    );
    this.acknowledgeRequiredWildcards(pipelines.map(([, sm]) => sm));
  }

  /**
   * The roles aws-scheduler-targets creates for schedule targets given no role: one
   * `SchedulerRoleForTarget-<hash>` per target in the stack (SymphonySchedules does not expose them).
   */
  static scheduleTargetRolesOf(stack: Stack): iam.IRole[] {
    return stack.node.children.filter((c): c is iam.Role => c instanceof iam.Role && c.node.id.startsWith('SchedulerRoleForTarget-'));
  }

  /** Lets the anomaly path start recoveries. */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** The wildcards the integrations need, each acknowledged by its exact finding. */
  private acknowledgeRequiredWildcards(pipelines: readonly sfn.IStateMachine[]): void {
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
    for (const sm of pipelines) {
      const id = Token.isUnresolved(sm.stateMachineArn) ? logicalId(sm) : null;
      if (id === null) continue;
      onMachine(
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${id}"}]}]}*]`,
        'startExecution.sync:2 (the probe, the upstream retries) must describe and stop the nested executions, whose names are not known in advance; scoped to the executions of this one pipeline.',
      );
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
