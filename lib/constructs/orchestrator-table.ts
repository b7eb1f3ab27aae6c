import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface OrchestratorTableProps {
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN - run history and circuit states outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one DynamoDB table: score reports, circuit states, locks with fences, window counters,
 * freshness marks, orchestrator state, quota usage and alert dedup keys. See docs/data-model.md.
 */
export class OrchestratorTable extends Construct {
  /** Partition key, sort key and TTL attribute names: the data model's contract. */
  static readonly PARTITION_KEY = 'pk';
  static readonly SORT_KEY = 'sk';
  static readonly TTL_ATTRIBUTE = 'expiresAt';

  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: OrchestratorTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: OrchestratorTable.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: OrchestratorTable.SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: OrchestratorTable.TTL_ATTRIBUTE,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
