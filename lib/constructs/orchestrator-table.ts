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
 * freshness marks, orchestrator state, quota usage, alert dedup keys and manual-trigger claims, with
 * one sparse GSI (`byTime`) that lists alerts by time. See docs/data-model.md.
 */
export class OrchestratorTable extends Construct {
  /** Partition key, sort key and TTL attribute names: the data model's contract. */
  static readonly PARTITION_KEY = 'pk';
  static readonly SORT_KEY = 'sk';
  static readonly TTL_ATTRIBUTE = 'expiresAt';
  /**
   * The sparse GSI over time (worker-state.ts BY_TIME_INDEX, GSI1_PK, GSI1_SK): only items that set
   * both attributes are in it; alerts are (`gsi1pk = ALERTS`), for GET /alerts newest first.
   */
  static readonly BY_TIME_INDEX = 'byTime';
  static readonly GSI1_PARTITION_KEY = 'gsi1pk';
  static readonly GSI1_SORT_KEY = 'gsi1sk';

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
    this.table.addGlobalSecondaryIndex({
      indexName: OrchestratorTable.BY_TIME_INDEX,
      partitionKey: { name: OrchestratorTable.GSI1_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: OrchestratorTable.GSI1_SORT_KEY, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}
