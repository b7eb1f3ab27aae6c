/**
 * The live updates in the synthesized stack: the WebSocket API's IAM-authorized $connect, the
 * throttled, access-logged stage, the broadcaster's stream delivery and filters, least privilege.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiGatewayAccount } from '../../lib/constructs/api-gateway-account.js';
import { BROADCAST_PATTERNS, LIVE_UPDATES_ACCESS_LOG_FIELDS, LIVE_UPDATES_DEFAULTS, LiveUpdates, WEBSOCKET_ACCESS_LOG_VARIABLES } from '../../lib/constructs/live-updates.js';
import { OrchestratorTable } from '../../lib/constructs/orchestrator-table.js';
import { broadcasterMappingOf } from '../../local/live-updates.js';
import { compileFilters } from '../../local/stream-filter.js';
import type { StreamRecord } from '../../local/stream-types.js';
import { actionsOf, joinedText, resourcesOfStatement, synthPhase5, type Phase5Synth } from './phase5-synth.js';

let s: Phase5Synth;
beforeAll(() => {
  s = synthPhase5();
});

const onApi = (apiId: string) => ([, r]: [string, { Properties: Record<string, unknown> }]) => JSON.stringify(r.Properties['ApiId']) === JSON.stringify({ Ref: apiId });

describe('WebSocket API', () => {
  it('authorizes $connect with IAM and has only $connect, $disconnect and the two-way heartbeat ping', () => {
    const apiId = s.idOf(s.stack.liveUpdates.api);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const routes = s.resourcesOf('AWS::ApiGatewayV2::Route').filter(onApi(apiId));
    expect(routes.map(([, r]) => r.Properties['RouteKey']).sort()).toEqual(['$connect', '$disconnect', 'ping']);
    const connect = routes.find(([, r]) => r.Properties['RouteKey'] === '$connect');
    expect(connect?.[1].Properties['AuthorizationType']).toBe('AWS_IAM');
    // The ping's answer goes back to the page: a route response.
    const ping = routes.find(([, r]) => r.Properties['RouteKey'] === 'ping');
    expect(ping?.[1].Properties['RouteResponseSelectionExpression']).toBe('$default');
    expect(s.resourcesOf('AWS::ApiGatewayV2::RouteResponse').filter(onApi(apiId))).toHaveLength(1);
  });

  it('throttles its stage and writes a JSON access log line per event to a retained log group', () => {
    const stages = s.resourcesOf('AWS::ApiGatewayV2::Stage').filter(onApi(s.idOf(s.stack.liveUpdates.api)));
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.[1];
    expect(stage?.Properties).toMatchObject({
      StageName: 'live',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: LIVE_UPDATES_DEFAULTS.throttleRateLimitPerSecond, ThrottlingBurstLimit: LIVE_UPDATES_DEFAULTS.throttleBurstLimit },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [s.idOf(s.stack.liveUpdates.accessLogs), 'Arn'] } },
    });
    expect(JSON.parse(String((stage?.Properties['AccessLogSettings'] as { Format: string }).Format))).toEqual(LIVE_UPDATES_ACCESS_LOG_FIELDS);
    expect(s.template.findResources('AWS::Logs::LogGroup')[s.idOf(s.stack.liveUpdates.accessLogs)]).toMatchObject({ Properties: { RetentionInDays: 30 } });
  });
});

describe('deploys on a fresh account (no API Gateway CloudWatch role yet)', () => {
  it('creates the account-level CloudWatch role setting, and the logging WebSocket stage depends on it', () => {
    const accounts = s.resourcesOf('AWS::ApiGateway::Account');
    expect(accounts).toHaveLength(1);
    const [accountId, account] = accounts[0] ?? ['', { Type: '', Properties: {} }];
    expect(account.Properties['CloudWatchRoleArn']).toEqual({ 'Fn::GetAtt': [s.idOf(s.stack.apiGatewayAccount.role), 'Arn'] });
    const role = s.template.findResources('AWS::IAM::Role')[s.idOf(s.stack.apiGatewayAccount.role)] as { Properties: { AssumeRolePolicyDocument: unknown; ManagedPolicyArns: unknown } };
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('apigateway.amazonaws.com');
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
    const stageId = s.idOf(s.stack.liveUpdates.stage);
    const stage = s.template.toJSON()['Resources'][stageId] as { DependsOn?: string[]; Properties: Record<string, unknown> };
    expect(stage.Properties['AccessLogSettings']).toBeDefined();
    expect(stage.DependsOn ?? []).toContain(accountId);
  });

  it('logs only documented WebSocket $context variables (integration.error, not the HTTP API integrationErrorMessage)', () => {
    const used = Object.values(LIVE_UPDATES_ACCESS_LOG_FIELDS);
    expect(used.filter((v) => !WEBSOCKET_ACCESS_LOG_VARIABLES.has(v))).toEqual([]);
    expect(used).toContain('$context.integration.error');
    expect(used).not.toContain('$context.integrationErrorMessage');
  });

  it('refuses a log format with an undocumented variable', () => {
    const stack = new Stack(new App(), 'Fresh');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const table = new OrchestratorTable(stack, 'State').table;
    const apiGatewayAccount = new ApiGatewayAccount(stack, 'Account');
    const fields = LIVE_UPDATES_ACCESS_LOG_FIELDS as unknown as Record<string, string>;
    const saved = fields['integrationError'];
    fields['integrationError'] = '$context.integrationErrorMessage';
    try {
      expect(() => new LiveUpdates(stack, 'L', { table, key, apiGatewayAccount })).toThrow(/documented WebSocket \$context variables, got "\$context.integrationErrorMessage"/);
    } finally {
      fields['integrationError'] = saved ?? '';
    }
  });
});

describe('broadcaster stream delivery', () => {
  const mappingOfBroadcaster = () => {
    const fnId = s.idOf(s.stack.liveUpdates.broadcaster.fn);
    const mappings = s.resourcesOf('AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties['FunctionName']) === JSON.stringify({ Ref: fnId }));
    expect(mappings).toHaveLength(1);
    return mappings[0]?.[1].Properties ?? {};
  };

  it('filters report inserts, alert writes and STATE modifications, with every delivery setting explicit', () => {
    expect(mappingOfBroadcaster()).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [s.idOf(s.stack.table.table), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: LIVE_UPDATES_DEFAULTS.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: LIVE_UPDATES_DEFAULTS.retryAttempts,
      MaximumRecordAgeInSeconds: LIVE_UPDATES_DEFAULTS.maxRecordAgeSeconds,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [s.idOf(s.stack.liveUpdates.failureQueue), 'Arn'] } } },
      FilterCriteria: { Filters: Object.values(BROADCAST_PATTERNS).map((p) => ({ Pattern: JSON.stringify(p) })) },
    });
    expect(JSON.parse(JSON.stringify(BROADCAST_PATTERNS))).toEqual({
      reportInserts: { eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [{ prefix: 'REPORT#' }] } } } },
      alertWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: ['ALERT'] } } } },
      stateWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'WORKER#' }] }, sk: { S: ['STATE'] } } } },
      modeWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: ['ORCH'] }, sk: { S: ['STATE'] } } } },
      incidentWrites: { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'WORKER#' }] }, sk: { S: [{ prefix: 'INCIDENT#' }] } } } },
    });
  });

  it('the same filters, read from the template by the local runtime, pass exactly what the page shows', () => {
    const mapping = broadcasterMappingOf(s.template.toJSON() as Parameters<typeof broadcasterMappingOf>[0]);
    expect(mapping?.filters).toHaveLength(5);
    const pass = compileFilters(mapping?.filters);
    const rec = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', pk: string, sk: string) => ({ eventName, dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } } } }) as unknown as StreamRecord;
    const cases: [StreamRecord, boolean][] = [
      [rec('INSERT', 'WORKER#youtube_worker', 'REPORT#2026-01-02T06:00:00.000Z#trending'), true],
      [rec('MODIFY', 'WORKER#youtube_worker', 'REPORT#2026-01-02T06:00:00.000Z#trending'), false],
      [rec('REMOVE', 'WORKER#youtube_worker', 'REPORT#2026-01-02T06:00:00.000Z#trending'), false],
      [rec('INSERT', 'ALERT#a1', 'ALERT'), true],
      [rec('MODIFY', 'ALERT#a1', 'ALERT'), true],
      [rec('REMOVE', 'ALERT#a1', 'ALERT'), false],
      [rec('MODIFY', 'WORKER#youtube_worker', 'STATE'), true],
      [rec('INSERT', 'WORKER#youtube_worker', 'STATE'), true],
      [rec('REMOVE', 'WORKER#youtube_worker', 'STATE'), false],
      [rec('MODIFY', 'ORCH', 'STATE'), true],
      [rec('INSERT', 'ORCH', 'STATE'), true],
      [rec('INSERT', 'WSCONN', 'abc='), false],
      [rec('INSERT', 'WORKER#youtube_worker', 'WINDOW#2026-01-02T06'), false],
      [rec('INSERT', 'WORKER#youtube_worker', 'HEALTH#MISSED_RUN#trending#2026-01-02T06:00:00.000Z'), false],
      [rec('INSERT', 'TRIGGER#youtube_worker', 'key-1'), false],
      [rec('INSERT', 'WORKER#youtube_worker', 'INCIDENT#games#DEPENDENCY_FAILURE'), true],
      [rec('MODIFY', 'WORKER#youtube_worker', 'INCIDENT#games#DEPENDENCY_FAILURE'), true],
      [rec('REMOVE', 'WORKER#youtube_worker', 'INCIDENT#games#DEPENDENCY_FAILURE'), false],
      [rec('INSERT', 'WORKER#youtube_worker', 'BACKFILL#games#2026-01-02T06:00:00.000Z'), false],
    ];
    for (const [record, expected] of cases) expect(pass(record), JSON.stringify(record)).toBe(expected);
  });

  it('gives the broadcaster the table and the stage\'s management endpoint', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[s.idOf(s.stack.liveUpdates.broadcaster.fn)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    const vars = fn.Properties.Environment.Variables;
    expect(vars['TABLE_NAME']).toEqual({ Ref: s.idOf(s.stack.table.table) });
    expect(vars['POWERTOOLS_SERVICE_NAME']).toBe('broadcaster');
    expect(joinedText(vars['WEBSOCKET_CALLBACK_URL'])).toMatch(/^https:\/\/TOKEN\.execute-api\.TOKEN\.TOKEN\/live$/);
  });
});

describe('least privilege', () => {
  it('the broadcaster may list and remove connections on the table (no index) and post to this stage\'s connections only', () => {
    const statements = s.statementsOfFunctionRole(s.stack.liveUpdates.broadcaster.fn);
    const tableArn = { 'Fn::GetAtt': [s.idOf(s.stack.table.table), 'Arn'] };
    const dynamo = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams' && !a.startsWith('dynamodb:GetRecords') && a !== 'dynamodb:GetShardIterator' && a !== 'dynamodb:DescribeStream'));
    expect(dynamo).toEqual([expect.objectContaining({ Action: ['dynamodb:Query', 'dynamodb:DeleteItem'], Resource: tableArn })]);
    const manage = statements.filter((st) => actionsOf(st).includes('execute-api:ManageConnections'));
    expect(manage).toHaveLength(1);
    expect(joinedText(manage[0]?.Resource)).toMatch(/^arn:TOKEN:execute-api:TOKEN:TOKEN:TOKEN\/live\/POST\/@connections\/\*$/);
    // `*` only for X-Ray and dynamodb:ListStreams (no resource-level permissions).
    for (const st of statements.filter((x) => resourcesOfStatement(x).includes('*'))) {
      expect(actionsOf(st).every((a) => a.startsWith('xray:') || a === 'dynamodb:ListStreams'), JSON.stringify(st)).toBe(true);
    }
  });

  it('the connections function may put and delete items on the table, nothing else', () => {
    const statements = s.statementsOfFunctionRole(s.stack.liveUpdates.connectionsHandler.fn).filter((st) => !actionsOf(st).some((a) => a.startsWith('xray:') || a.startsWith('logs:')));
    expect(statements).toEqual([expect.objectContaining({ Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: { 'Fn::GetAtt': [s.idOf(s.stack.table.table), 'Arn'] } })]);
  });

  it('encrypts the on-failure queue with the stack key', () => {
    expect(s.template.findResources('AWS::SQS::Queue')[s.idOf(s.stack.liveUpdates.failureQueue)]).toMatchObject({
      Properties: { KmsMasterKeyId: { 'Fn::GetAtt': [s.idOf(s.stack.key), 'Arn'] }, MessageRetentionPeriod: 14 * 24 * 3600 },
    });
  });
});

describe('validation', () => {
  it('rejects a table without a stream, a bad batch size and a bad stage name, naming the value', () => {
    const stack = new Stack(new App(), 'Bad');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const noStream = new dynamodb.Table(stack, 'NoStream', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const table = new OrchestratorTable(stack, 'State').table;
    const apiGatewayAccount = new ApiGatewayAccount(stack, 'Account');
    expect(() => new LiveUpdates(stack, 'A', { table: noStream, key, apiGatewayAccount })).toThrow(/table must have a stream.*got .*NoStream/);
    expect(() => new LiveUpdates(stack, 'B', { table, key, apiGatewayAccount, batchSize: 0 })).toThrow(/batchSize must be an integer in 1..1000, got 0/);
    expect(() => new LiveUpdates(stack, 'C', { table, key, apiGatewayAccount, stageName: 'no spaces' })).toThrow(/stageName must be .*got "no spaces"/);
  });
});
