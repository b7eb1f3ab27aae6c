import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { pipelineName } from '../registry/naming.js';

/**
 * The pipelines as seen from the parent stack: by the naming convention (lib/registry/naming.ts),
 * not by reference. A function gets `PIPELINE_ARN_PREFIX` instead of a map of ARNs, and IAM is
 * scoped to `stateMachine:<stack>-*` (and its executions) instead of one statement per pipeline,
 * which keeps policies and environments the same size at 14 or 60 workers and avoids an output of
 * every nested worker stack per pipeline.
 */
export class PipelineArns extends Construct {
  /** `arn:<partition>:states:<region>:<account>:stateMachine:<stack>-` */
  readonly prefix: string;
  private readonly stackName: string;

  constructor(scope: Construct, id: string, stackName: string) {
    super(scope, id);
    this.stackName = stackName;
    this.prefix = Stack.of(this).formatArn({ service: 'states', resource: 'stateMachine', resourceName: `${stackName}-`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  /** A pipeline by name (an imported state machine: its metrics, its ARN). */
  stateMachine(scope: Construct, workerId: string, jobId: string): sfn.IStateMachine {
    const name = pipelineName(this.stackName, workerId, jobId);
    const id = `Pipeline-${workerId}-${jobId}`;
    const existing = scope.node.tryFindChild(id);
    return (existing as sfn.IStateMachine | undefined) ?? sfn.StateMachine.fromStateMachineName(scope, id, name);
  }

  /** `states:<actions>` on every pipeline, acknowledged on the grantee's role. */
  grantPipelines(grantee: iam.IGrantable, ...actions: string[]): void {
    const resource = `${this.prefix}*`;
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [resource] });
    this.acknowledge(grantee, `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${this.stackName}-*`, `${actions.join(', ')} on the stack's pipelines, named ${this.stackName}-<worker>-<job> (lib/registry/naming.ts): the name prefix instead of one ARN per pipeline keeps the policy one statement at 14 or 60 workers (IAM's 10 KB per role). The prefix also covers this stack's recovery and backfill machines (${this.stackName}-recovery, -backfill), and no state machine of another stack.`);
  }

  /** `states:<actions>` on the executions of every pipeline, acknowledged on the grantee's role. */
  grantPipelineExecutions(grantee: iam.IGrantable, ...actions: string[]): void {
    const resource = Stack.of(this).formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stackName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [resource] });
    this.acknowledge(grantee, `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.stackName}-*`, `${actions.join(', ')} on the executions of the stack's pipelines (${this.stackName}-<worker>-<job>:<execution>), whose names are not known in advance.`);
  }

  private acknowledge(grantee: iam.IGrantable, finding: string, reason: string): void {
    const principal = grantee.grantPrincipal;
    if (principal instanceof Construct) Validations.of(principal).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}
