/**
 * cdk-nag findings accepted for the stack as a whole design decision, each on the narrowest
 * construct with its reason. Constructs acknowledge their own findings where they are created
 * (orchestrator-function.ts, pipeline.ts, ...); this file holds the rest.
 */
import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { OrchestratorStack } from './stacks/orchestrator-stack.js';

export function acknowledgeNagFindings(stack: OrchestratorStack): void {
  Validations.of(stack.workerSecrets).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: 'Third-party API credentials (YouTube, Twitch, the generation provider): they are rotated in those providers\' consoles, which no rotation Lambda can do.',
  });
}

/**
 * ITable.grant* names the table's indexes as `<table>/index/*` as soon as it has one. It has one
 * (byTime: alerts by time, for GET /alerts). A function granted the table with the L2 grants gets
 * the index too; the index only projects items the function may already read on the table itself.
 * Acknowledged on the grantee's role, by the exact finding id.
 */
export function acknowledgeIndexGrant(grantee: iam.IGrantable, table: Pick<dynamodb.ITable, 'node'>): void {
  const role = grantee.grantPrincipal;
  const cfn = table.node.defaultChild;
  if (!(role instanceof Construct) || !(cfn instanceof CfnElement)) return;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfn).getLogicalId(cfn)}.Arn>/index/*]`,
    reason: "The table's one index (byTime, alerts by raisedAt): the L2 table grant covers the table's indexes as index/*, and the index only projects items this function may read on the table itself.",
  });
}
