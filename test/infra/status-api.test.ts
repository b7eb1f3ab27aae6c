/**
 * The status API in the synthesized stack: IAM authorization on every route, a throttled,
 * access-logged stage, the handler's configuration, and least-privilege grants.
 */
import { App, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lambdas/api/routes.js';
import { OrchestratorTable } from '../../lib/constructs/orchestrator-table.js';
import { HTTP_API_ACCESS_LOG_VARIABLES, STATUS_API_ACCESS_LOG_FIELDS, STATUS_API_DEFAULTS, STATUS_API_ROUTES, StatusApi } from '../../lib/constructs/status-api.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { actionsOf, joinedText, resourcesOfStatement, synthPhase5, type Phase5Synth } from './phase5-synth.js';
import { PipelineArns } from '../../lib/constructs/pipeline-arns.js';
import { manualPipelines } from '../../lambdas/api/sfn-pipeline-starter.js';

let s: Phase5Synth;
beforeAll(() => {
  s = synthPhase5();
});

/** The pipelines a manual trigger may start: every job of a scheduled worker, and the intel cycle. */
const manualKeys = (): string[] =>
  ALL_WORKERS.filter((w) => w.executionModel === 'scheduled' || w.executionModel === 'sub-pipeline')
    .flatMap((w) => w.jobs.map((j) => `${w.id}.${j.id}`))
    .sort();

const httpRoutes = () => {
  const apiId = s.idOf(s.stack.statusApi.api);
  return s.resourcesOf('AWS::ApiGatewayV2::Route').filter(([, r]) => JSON.stringify(r.Properties['ApiId']) === JSON.stringify({ Ref: apiId }));
};

describe('status API routes', () => {
  it('has exactly the handler\'s routes, each IAM-authorized', () => {
    const routes = httpRoutes();
    const expected = ROUTES.map((r) => `${r.method} /${r.pattern.map((p) => (p.startsWith(':') ? `{${p.slice(1)}}` : p)).join('/')}`);
    expect(routes.map(([, r]) => r.Properties['RouteKey']).sort()).toEqual(expected.sort());
    expect(STATUS_API_ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(expected.sort());
    expect(routes).toHaveLength(ROUTES.length);
    for (const [id, route] of routes) expect(route.Properties['AuthorizationType'], id).toBe('AWS_IAM');
  });

  it('spells the route keys API Gateway expects', () => {
    const keys = httpRoutes().map(([, r]) => r.Properties['RouteKey']);
    for (const key of ['GET /workers', 'GET /workers/{id}/reports', 'GET /alerts', 'POST /workers/{id}/trigger', 'PUT /workers/{id}/config', 'POST /orchestrator/pause', 'POST /orchestrator/resume', 'POST /orchestrator/drain', 'POST /alerts/{id}/ack']) {
      expect(keys).toContain(key);
    }
  });

  it('is an HTTP API without a catch-all route (no $default route: an unknown path is 404 at API Gateway)', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    expect(httpRoutes().map(([, r]) => r.Properties['RouteKey'])).not.toContain('$default');
  });
});

describe('status API stage', () => {
  it('throttles the $default stage and writes a JSON access log line per request to a retained log group', () => {
    const stages = s.resourcesOf('AWS::ApiGatewayV2::Stage').filter(([, st]) => JSON.stringify(st.Properties['ApiId']) === JSON.stringify({ Ref: s.idOf(s.stack.statusApi.api) }));
    expect(stages).toHaveLength(1);
    const [, stage] = stages[0] ?? [];
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: STATUS_API_DEFAULTS.throttleRateLimitPerSecond, ThrottlingBurstLimit: STATUS_API_DEFAULTS.throttleBurstLimit },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [s.idOf(s.stack.statusApi.accessLogs), 'Arn'] } },
    });
    const format = JSON.parse(String((stage?.Properties['AccessLogSettings'] as { Format: string }).Format)) as Record<string, string>;
    expect(format).toEqual(STATUS_API_ACCESS_LOG_FIELDS);
    expect(format['requestId']).toBe('$context.requestId');
    expect(Object.values(format).filter((v) => !HTTP_API_ACCESS_LOG_VARIABLES.has(v))).toEqual([]);
    // HTTP API access logs need no account-level API Gateway CloudWatch role: no dependency on it.
    const stageId = stages[0]?.[0] ?? '';
    const accountId = s.idOf(s.stack.apiGatewayAccount.account);
    expect((s.template.toJSON()['Resources'][stageId] as { DependsOn?: string[] }).DependsOn ?? []).not.toContain(accountId);
    s.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(s.template.findResources('AWS::Logs::LogGroup')[s.idOf(s.stack.statusApi.accessLogs)]).toMatchObject({ Properties: { RetentionInDays: 30 } });
  });
});

describe('status API function', () => {
  it('gets TABLE_NAME, PIPELINE_ARN_PREFIX and WORKER_IDS, from which it names exactly the manually triggerable pipelines', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[s.idOf(s.stack.statusApi.handler.fn)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    const vars = fn.Properties.Environment.Variables;
    expect(vars['TABLE_NAME']).toEqual({ Ref: s.idOf(s.stack.table.table) });
    expect(vars['POWERTOOLS_SERVICE_NAME']).toBe('api');
    expect(vars['PIPELINES']).toBeUndefined();
    const prefix = joinedText(vars['PIPELINE_ARN_PREFIX'], 'TOKEN');
    expect(prefix).toMatch(/:states:TOKEN:TOKEN:stateMachine:AuraStreamOrchestrator-$/);
    const pipelines = manualPipelines(prefix, String(vars['WORKER_IDS']));
    expect(Object.keys(pipelines).sort()).toEqual(manualKeys());
    expect(Object.keys(pipelines)).not.toContain('twitch_worker.pack');
    // Each ARN names a state machine of the template.
    const names = new Set(s.resourcesOf('AWS::StepFunctions::StateMachine').map(([, m]) => m.Properties['StateMachineName']));
    for (const arn of Object.values(pipelines)) expect(names).toContain(arn.slice(arn.indexOf(':stateMachine:') + ':stateMachine:'.length));
  });

  it('may start exactly those pipelines and the backfill, and use the table with the six actions the handler needs', () => {
    const statements = s.statementsOfFunctionRole(s.stack.statusApi.handler.fn);
    const starts = statements.filter((st) => actionsOf(st).includes('states:StartExecution'));
    // The stack's pipelines by their name prefix, and the backfill.
    const started = starts.flatMap(resourcesOfStatement);
    expect(started).toHaveLength(2);
    expect(started).toContainEqual({ Ref: s.idOf(s.stack.statusApi.backfill.stateMachine) });
    expect(started.map((r) => joinedText(r))).toContain('arn:TOKEN:states:TOKEN:TOKEN:stateMachine:AuraStreamOrchestrator-*');
    const dynamo = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    // `*` only for X-Ray (no resource-level permissions).
    for (const st of statements.filter((x) => resourcesOfStatement(x).includes('*'))) expect(actionsOf(st).every((a) => a.startsWith('xray:')), JSON.stringify(st)).toBe(true);
  });

  it('the backfill state machine runs one slot at a time through startExecution.sync:2 and may start exactly the API\'s pipelines', () => {
    const backfill = s.stack.statusApi.backfill.stateMachine;
    const roleId = s.idOf(backfill.role);
    const statements = s
      .resourcesOf('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties['Roles']) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: Parameters<typeof actionsOf>[0][] }).Statement);
    const starts = statements.filter((st) => actionsOf(st).includes('states:StartExecution')).flatMap(resourcesOfStatement).map((r) => joinedText(r, 'TOKEN'));
    expect(starts).toEqual(['arn:TOKEN:states:TOKEN:TOKEN:stateMachine:AuraStreamOrchestrator-*']);
    const machine = s.resourcesOf('AWS::StepFunctions::StateMachine').find(([id]) => id === s.idOf(backfill))?.[1];
    const definition = joinedText(machine?.Properties['DefinitionString']);
    expect(definition).toContain('"MaxConcurrency":1');
    expect(definition).toContain('states:::states:startExecution.sync:2');
    const fn = s.resourcesOf('AWS::Lambda::Function').find(([id]) => id === s.idOf(s.stack.statusApi.handler.fn))?.[1];
    expect((fn?.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables['BACKFILL_STATE_MACHINE_ARN']).toEqual({ Ref: s.idOf(backfill) });
  });

  it('lets API Gateway invoke the function for its routes only', () => {
    const permissions = s.resourcesOf('AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties['FunctionName']).includes(s.idOf(s.stack.statusApi.handler.fn)));
    expect(permissions).toHaveLength(ROUTES.length);
    for (const [, p] of permissions) expect(p.Properties).toMatchObject({ Principal: 'apigateway.amazonaws.com', SourceArn: expect.anything() });
  });
});

describe('status API validation', () => {
  it('rejects bad throttles at synth, naming the value', () => {
    const stack = new Stack(new App(), 'Bad');
    const table = new OrchestratorTable(stack, 'State').table;
    const pipelines = new PipelineArns(stack, 'PipelineArns', stack.stackName);
    expect(() => new StatusApi(stack, 'A', { table, pipelines, throttle: { rateLimitPerSecond: 0, burstLimit: 5 } })).toThrow(/rateLimitPerSecond must be a positive number, got 0/);
    expect(() => new StatusApi(stack, 'B', { table, pipelines, throttle: { rateLimitPerSecond: 5, burstLimit: 1.5 } })).toThrow(/burstLimit must be a positive integer, got 1.5/);
  });
});
