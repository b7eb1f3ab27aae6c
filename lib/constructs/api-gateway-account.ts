import { Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/**
 * The account-level API Gateway setting that WebSocket (and REST) stage logging needs: the
 * CloudWatch Logs role API Gateway assumes to write logs. A fresh account has none, and
 * CloudFormation then fails any stage with access logging ("CloudWatch Logs role ARN must be set
 * in account settings to enable logging"). HTTP API stages do not need it (they deliver access
 * logs with the deployer's own logs:CreateLogDelivery permissions).
 *
 * `AWS::ApiGateway::Account` is one setting per account and region: deploying it sets (or
 * overwrites with an equivalent role) that setting, and deleting the stack leaves it in place.
 * A stage that logs must depend on it: {@link ApiGatewayAccount.logsThrough}.
 */
export class ApiGatewayAccount extends Construct {
  /** AWS's managed policy for API Gateway log delivery (logs:CreateLogGroup/Stream, PutLogEvents, Describe*). */
  static readonly PUSH_TO_CLOUDWATCH_POLICY = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs';

  readonly role: iam.Role;
  readonly account: apigw.CfnAccount;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway writes the WebSocket stage access logs to CloudWatch Logs (account setting).',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(ApiGatewayAccount.PUSH_TO_CLOUDWATCH_POLICY)],
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The policy AWS documents for the account-level API Gateway CloudWatch role: API Gateway names the log groups of every stage of the account, so no narrower resource list exists.',
    });
    this.account = new apigw.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
  }

  /** Makes `stage` wait for the account setting: CloudFormation then creates the setting first. */
  logsThrough(stage: IConstruct): void {
    stage.node.addDependency(this.account);
  }
}
