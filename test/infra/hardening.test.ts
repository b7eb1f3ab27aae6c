/**
 * Deployability hardening in the synthesized stack: least-privilege DynamoDB actions per function,
 * vended-logs log groups for the state machines, a schedule group that `cdk destroy` removes, a
 * producer path for the on-demand queues, and topics that do not look alike.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_ACTIONS } from '../../lib/constructs/table-access.js';
import { ALERTS_TOPIC_DISPLAY_NAME, ONCALL_TOPIC_DISPLAY_NAME } from '../../lib/stacks/orchestrator-stack.js';
import { actionsOf, resourcesOfStatement, synthPhase5, type Phase5Synth, type Statement } from './phase5-synth.js';

let s: Phase5Synth;
beforeAll(() => {
  s = synthPhase5();
});

/** Stream reads (the event source's, on the stream ARN) are not table actions. */
const STREAM_ACTIONS = new Set(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);
const dynamoActions = (statements: Statement[]): string[] => [...new Set(statements.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:') && !STREAM_ACTIONS.has(a)))].sort();
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('least-privilege DynamoDB actions per function', () => {
  it('gives each function exactly the table actions its adapters call', () => {
    const expected: [string, { fn: { node: unknown } } | undefined, readonly string[]][] = [
      ['protocol', s.stack.protocolFunction, TABLE_ACTIONS.protocol],
      ['recovery', s.stack.recovery.recoveryFunction, TABLE_ACTIONS.recovery],
      ['health sweep', s.stack.healthSweep.handler, TABLE_ACTIONS.sweep],
      ['anomaly', s.stack.anomalyDetector.handler, TABLE_ACTIONS.anomaly],
      ...[...s.stack.workerFunctions].map(([id, f]) => [`worker ${id}`, f, TABLE_ACTIONS.worker] as [string, typeof f, readonly string[]]),
      ...[...s.stack.consumerFunctions].map(([id, f]) => [`consumer ${id}`, f, TABLE_ACTIONS.consumer] as [string, typeof f, readonly string[]]),
    ];
    for (const [name, f, actions] of expected) {
      expect(f, name).toBeDefined();
      if (!f) continue;
      expect(dynamoActions(s.statementsOfFunctionRole(f.fn as never)), name).toEqual(sorted(actions));
    }
    // The table as the adapters list it (lib/constructs/table-access.ts):
    expect(TABLE_ACTIONS).toEqual({
      protocol: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      consumer: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      worker: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
      recovery: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      anomaly: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      sweep: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    });
  });

  it('lets no role Scan the table, call dynamodb:*, or read an index it does not query', () => {
    const tableId = s.idOf(s.stack.table.table);
    const sweepStatements = s.statementsOfFunctionRole(s.stack.healthSweep.handler.fn);
    for (const [id, policy] of s.resourcesOf('AWS::IAM::Policy')) {
      const statements = (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement;
      for (const st of statements) {
        const actions = actionsOf(st);
        expect(actions.filter((a) => a === 'dynamodb:Scan' || a === 'dynamodb:*' || a === 'dynamodb:DeleteTable'), id).toEqual([]);
        if (!actions.some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams')) continue;
        const onIndex = JSON.stringify(resourcesOfStatement(st)).includes('/index/*');
        if (onIndex) expect(sweepStatements.includes(st) || actions.includes('dynamodb:Query'), `${id} reads an index without Query`).toBe(true);
      }
    }
    // The protocol's and the workers' grants are on the table alone.
    for (const f of [s.stack.protocolFunction, ...s.stack.workerFunctions.values()]) {
      const resources = s.statementsOfFunctionRole(f.fn).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:'))).flatMap(resourcesOfStatement);
      expect(resources, f.node.path).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
    }
  });
});

describe('state machine logs', () => {
  it('writes every state machine\'s execution logs to a /aws/vendedlogs/states/ log group that the stack deletes', () => {
    const machines = s.resourcesOf('AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThan(0);
    const groups = s.template.toJSON()['Resources'] as Record<string, { Type: string; DeletionPolicy?: string; Properties: { LogGroupName?: string } }>;
    for (const [id, sm] of machines) {
      const destinations = (sm.Properties['LoggingConfiguration'] as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] }).Destinations;
      expect(destinations, id).toHaveLength(1);
      const groupId = destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0] ?? '';
      const group = groups[groupId];
      expect(group?.Properties.LogGroupName, id).toMatch(/^\/aws\/vendedlogs\/states\/AuraStreamOrchestrator-[A-Za-z0-9_-]+$/);
      expect(group?.DeletionPolicy, id).toBe('Delete');
    }
  });
});

describe('schedule group', () => {
  it('is removed by cdk destroy, so a later deploy can create it again', () => {
    const groups = Object.values(s.template.toJSON()['Resources'] as Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }>).filter((r) => r.Type === 'AWS::Scheduler::ScheduleGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });
});

describe('producers of on-demand jobs', () => {
  it('get one managed policy that may send to every queue and use its key, and the outputs to find them', () => {
    const policyId = s.idOf(s.stack.producerPolicy);
    const policy = s.template.toJSON()['Resources'][policyId] as { Type: string; Properties: { PolicyDocument: { Statement: Statement[] } } };
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
    const statements = policy.Properties.PolicyDocument.Statement;
    const send = statements.filter((st) => actionsOf(st).includes('sqs:SendMessage'));
    expect(send.flatMap(resourcesOfStatement).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [...s.stack.queues.values()].map((q) => ({ 'Fn::GetAtt': [s.idOf(q.queue), 'Arn'] })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const kms = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    expect(kms.flatMap(resourcesOfStatement)).toEqual([{ 'Fn::GetAtt': [s.idOf(s.stack.key), 'Arn'] }]);
    expect(kms.flatMap(actionsOf)).toEqual(expect.arrayContaining(['kms:Decrypt']));
    // Nothing but sending: no receive, no delete, no purge.
    expect(statements.flatMap(actionsOf).filter((a) => /^sqs:(Receive|Delete|Purge|ChangeMessageVisibility)/.test(a))).toEqual([]);

    const outputs = s.template.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
    for (const [workerId, q] of s.stack.queues) {
      const url = Object.entries(outputs).find(([name]) => name.toLowerCase() === `${workerId.replace(/_/g, '')}queueurl`);
      expect(url?.[1].Value, workerId).toEqual({ Ref: s.idOf(q.queue) });
    }
    expect(outputs['OnDemandProducerPolicyArn']?.Value).toEqual({ Ref: policyId });
    expect(outputs['QueueKeyArn']?.Value).toEqual({ 'Fn::GetAtt': [s.idOf(s.stack.key), 'Arn'] });
  });
});

describe('alert and on-call topics', () => {
  it('have distinct display names, so their confirmation mails and messages do not look alike', () => {
    const topics = s.resourcesOf('AWS::SNS::Topic').map(([, t]) => t.Properties['DisplayName']);
    expect(topics.sort()).toEqual([ALERTS_TOPIC_DISPLAY_NAME, ONCALL_TOPIC_DISPLAY_NAME].sort());
    expect(new Set(topics).size).toBe(topics.length);
    expect(s.template.toJSON()['Resources'][s.idOf(s.stack.alerts.topic)].Properties.DisplayName).toBe(ALERTS_TOPIC_DISPLAY_NAME);
    expect(s.template.toJSON()['Resources'][s.idOf(s.stack.oncall.topic)].Properties.DisplayName).toBe(ONCALL_TOPIC_DISPLAY_NAME);
  });
});
