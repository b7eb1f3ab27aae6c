import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { acknowledgeIndexGrant } from '../nag-acknowledgements.js';

/**
 * The DynamoDB actions each kind of function may call on the orchestrator table: exactly the
 * commands its adapters send (no Scan anywhere, no table-wide BatchWrite/Delete but for the worker
 * kit's own data). A template test lists them per role.
 *
 * | adapter | commands |
 * |---|---|
 * | DynamoStateStore (gate, record, state) | GetItem, BatchGetItem, PutItem, UpdateItem |
 * | DynamoAlertStore (alerts; byTime index) | GetItem, PutItem, UpdateItem, Query |
 * | DynamoDataStore (the worker kit's own data) | GetItem, BatchGetItem, PutItem, DeleteItem, BatchWriteItem, Query |
 * | DynamoRecoveryStore | GetItem, PutItem, UpdateItem |
 * | DynamoIncidentStore (incidents; byTime index for the unresolved) | GetItem, PutItem, Query |
 * | sweep readers (reports, executions) | Query |
 */
export const TABLE_ACTIONS = {
  /** The protocol Lambda: the state store. */
  protocol: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  /** An on-demand consumer: the protocol's steps in-process. */
  consumer: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  /** A worker: the kit's data store (its own items). */
  worker: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
  /** The recovery Lambda: the state store and the recovery store. */
  recovery: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  /**
   * The anomaly Lambda: the two WINDOW buckets (BatchGetItem), the INCIDENT items (GetItem, a Query of
   * the worker's partition, conditional PutItem), the ALERT claim (PutItem) and its mark (UpdateItem).
   */
  anomaly: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
  /**
   * The health sweep: the state store, the incident store (unresolved incidents on the index), the
   * outbox (pending entries on the index), health findings and report queries.
   */
  sweep: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
} as const satisfies Record<string, readonly `dynamodb:${string}`[]>;

export type TableAccess = keyof typeof TABLE_ACTIONS;

/** The parts of an ITable a grant needs. */
export type GrantableTable = Pick<dynamodb.ITable, 'tableArn' | 'node'>;

export interface TableAccessOptions {
  /** Whether the function queries the table's indexes (`<table>/index/*`). @default false */
  readonly indexes?: boolean;
}

/** Grants `grantee` the `access` kind's actions on the table (and on its indexes when asked). */
export function grantTableAccess(table: GrantableTable, grantee: iam.IGrantable, access: TableAccess, options: TableAccessOptions = {}): iam.Grant {
  const resources = options.indexes ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn];
  const grant = iam.Grant.addToPrincipal({ grantee, actions: [...TABLE_ACTIONS[access]], resourceArns: resources });
  if (options.indexes) acknowledgeIndexGrant(grantee, table);
  return grant;
}
