import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPlainObject } from '../../local/json.js';
import type { JsonObject } from '../../local/json.js';
import { createLocalStateMachineRunner } from '../../local/step-functions-runner.js';
import type { CfnTemplate, ExtractedStateMachine } from '../../local/template-asl.js';
import {
  extractStateMachines,
  IntrinsicResolutionError,
  logicalIdFromArn,
  resolveIntrinsics,
  UnsupportedDefinitionError,
} from '../../local/template-asl.js';

const FN_ARN_PREFIX = 'arn:aws:lambda:local-1:000000000000:function:';

function logicalIdOfType(template: CfnTemplate, type: string, startsWith: string): string {
  const id = Object.entries(template.Resources ?? {}).find(([k, r]) => r.Type === type && k.startsWith(startsWith))?.[0];
  if (id === undefined) throw new Error(`no ${type} ${startsWith}*`);
  return id;
}

/** Navigates an ASL object by keys, failing loudly. */
function at(obj: unknown, ...keys: Array<string | number>): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (typeof k === 'number') {
      if (!Array.isArray(cur)) throw new Error(`not an array at ${k}`);
      cur = cur[k];
    } else {
      if (!isPlainObject(cur)) throw new Error(`not an object at ${k}`);
      cur = cur[k];
    }
  }
  return cur;
}

describe('extractStateMachines on a real CDK synth', () => {
  let template: CfnTemplate;
  let machines: Map<string, ExtractedStateMachine>;
  let fnId: string;
  let tableId: string;
  let mainId: string;
  let childId: string;
  let substId: string;

  beforeAll(() => {
    const app = new App();
    const stack = new Stack(app, 'AslTest');
    const fn = new lambda.Function(stack, 'Worker', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    });
    const table = new dynamodb.Table(stack, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    const child = new sfn.StateMachine(stack, 'Child', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'ChildPass', { parameters: { 'got.$': '$.value' } })),
    });
    const invoke = new tasks.LambdaInvoke(stack, 'Invoke', { lambdaFunction: fn, outputPath: '$.Payload' });
    const put = new tasks.DynamoPutItem(stack, 'Put', {
      table,
      item: { pk: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.id')) },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const each = new sfn.Map(stack, 'Each', { itemsPath: '$.items', resultPath: '$.mapped' }).itemProcessor(
      new tasks.LambdaInvoke(stack, 'InvokeItem', { lambdaFunction: fn, payloadResponseOnly: true }),
    );
    const par = new sfn.Parallel(stack, 'Par', { resultPath: '$.par' })
      .branch(new sfn.Pass(stack, 'BranchPass'))
      .branch(new tasks.LambdaInvoke(stack, 'InvokeBranch', { lambdaFunction: fn, payloadResponseOnly: true }));
    const nested = new tasks.StepFunctionsStartExecution(stack, 'Nested', {
      stateMachine: child,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      input: sfn.TaskInput.fromObject({ value: sfn.JsonPath.stringAt('$.id') }),
      resultSelector: { 'childOutput.$': '$.Output' },
      resultPath: '$.child',
    });
    new sfn.StateMachine(stack, 'Main', {
      definitionBody: sfn.DefinitionBody.fromChainable(invoke.next(put).next(each).next(par).next(nested)),
    });
    new sfn.StateMachine(stack, 'Subst', {
      definitionBody: sfn.DefinitionBody.fromString(
        JSON.stringify({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: '${FnArn}', Parameters: { 'table': '${TableName}' }, End: true } } }),
      ),
      definitionSubstitutions: { FnArn: fn.functionArn, TableName: table.tableName },
    });

    template = Template.fromStack(stack).toJSON() as CfnTemplate;
    machines = extractStateMachines(template);
    fnId = logicalIdOfType(template, 'AWS::Lambda::Function', 'Worker');
    tableId = logicalIdOfType(template, 'AWS::DynamoDB::Table', 'Ledger');
    mainId = logicalIdOfType(template, 'AWS::StepFunctions::StateMachine', 'Main');
    childId = logicalIdOfType(template, 'AWS::StepFunctions::StateMachine', 'Child');
    substId = logicalIdOfType(template, 'AWS::StepFunctions::StateMachine', 'Subst');
  });

  it('extracts every state machine with resolved ARNs, table names and role', () => {
    expect([...machines.keys()].sort()).toEqual([childId, mainId, substId].sort());
    const main = machines.get(mainId);
    expect(main).toBeDefined();
    const def = main?.definition;
    const fnArn = `${FN_ARN_PREFIX}${fnId}`;

    expect(at(def, 'States', 'Invoke', 'Resource')).toBe('arn:aws:states:::lambda:invoke');
    expect(at(def, 'States', 'Invoke', 'Parameters', 'FunctionName')).toBe(fnArn);
    expect(at(def, 'States', 'Put', 'Resource')).toBe('arn:aws:states:::dynamodb:putItem');
    expect(at(def, 'States', 'Put', 'Parameters', 'TableName')).toBe(tableId);
    expect(at(def, 'States', 'Each', 'ItemProcessor', 'States', 'InvokeItem', 'Resource')).toBe(fnArn);
    expect(at(def, 'States', 'Par', 'Branches', 1, 'States', 'InvokeBranch', 'Resource')).toBe(fnArn);
    expect(at(def, 'States', 'Nested', 'Resource')).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(at(def, 'States', 'Nested', 'Parameters', 'StateMachineArn')).toBe(`arn:aws:states:local-1:000000000000:stateMachine:${childId}`);

    const text = JSON.stringify(def);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{/);
    expect(main?.arn).toBe(`arn:aws:states:local-1:000000000000:stateMachine:${mainId}`);
    expect(main?.stateMachineType).toBe('STANDARD');
    expect(template.Resources?.[main?.roleLogicalId ?? '']?.Type).toBe('AWS::IAM::Role');
  });

  it('applies DefinitionSubstitutions', () => {
    const def = machines.get(substId)?.definition;
    expect(at(def, 'States', 'Call', 'Resource')).toBe(`${FN_ARN_PREFIX}${fnId}`);
    expect(at(def, 'States', 'Call', 'Parameters', 'table')).toBe(tableId);
  });

  it('maps resolved ARNs back to logical IDs', () => {
    const def = machines.get(mainId)?.definition;
    const fnArn = at(def, 'States', 'Invoke', 'Parameters', 'FunctionName');
    expect(typeof fnArn === 'string' ? logicalIdFromArn(fnArn) : undefined).toBe(fnId);
    const child = at(def, 'States', 'Nested', 'Parameters', 'StateMachineArn');
    expect(typeof child === 'string' ? logicalIdFromArn(child) : undefined).toBe(childId);
  });

  it('produces ASL the local interpreter accepts and runs end to end', async () => {
    const calls: string[] = [];
    const runner = createLocalStateMachineRunner({
      definitions: machines,
      resolveTask: async (resource, parameters) => {
        calls.push(resource);
        if (resource === 'arn:aws:states:::dynamodb:putItem') return {};
        // Lambda: echo the payload (lambda:invoke passes { FunctionName, Payload }).
        return isPlainObject(parameters) && 'Payload' in parameters ? parameters['Payload'] : parameters;
      },
    });
    runner.prepare(); // validates all three definitions with asl-validator
    const outcome = await runner.startExecution(mainId, { id: 'abc', items: [1, 2] }).result;
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'SUCCEEDED' });
    const output = outcome.output as JsonObject;
    expect(output['mapped']).toEqual([1, 2]);
    const parInput = { id: 'abc', items: [1, 2], mapped: [1, 2] };
    expect(output['par']).toEqual([parInput, parInput]); // Pass branch + echoing Lambda branch
    // .sync:2 returns the child's Output as JSON (not a string).
    expect(output['child']).toEqual({ childOutput: { got: 'abc' } });
    expect(calls.filter((c) => c === `${FN_ARN_PREFIX}${fnId}`)).toHaveLength(3); // 2 map items + 1 branch
    expect(calls).toContain('arn:aws:states:::dynamodb:putItem');
  });
});

describe('refusing definitions the local interpreter would silently mis-run', () => {
  const templateWith = (definition: object): CfnTemplate => ({
    Resources: {
      Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify(definition) } },
    },
  });
  const pass = { Type: 'Pass', End: true };

  it('refuses CDK-built JSONata and Assign', () => {
    const app = new App();
    const stack = new Stack(app, 'Refuse');
    new sfn.StateMachine(stack, 'Jsonata', {
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(sfn.Pass.jsonata(stack, 'J', { outputs: { a: 1 } })),
    });
    const t1 = Template.fromStack(stack).toJSON() as CfnTemplate;
    expect(() => extractStateMachines(t1)).toThrow(/JSONata/);

    const stack2 = new Stack(new App(), 'Refuse2');
    new sfn.StateMachine(stack2, 'Vars', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack2, 'SetVar', { assign: { x: 1 } })),
    });
    const t2 = Template.fromStack(stack2).toJSON() as CfnTemplate;
    expect(() => extractStateMachines(t2)).toThrow(/state "SetVar".*Assign/);
  });

  it.each([
    ['top-level JSONata', { QueryLanguage: 'JSONata', StartAt: 'A', States: { A: pass } }, /JSONata/],
    [
      'per-state JSONata inside a Parallel branch',
      { StartAt: 'P', States: { P: { Type: 'Parallel', End: true, Branches: [{ StartAt: 'B', States: { B: { ...pass, QueryLanguage: 'JSONata' } } }] } } },
      /state "B".*JSONata/,
    ],
    [
      'Assign inside a Map ItemProcessor',
      { StartAt: 'M', States: { M: { Type: 'Map', End: true, ItemProcessor: { StartAt: 'I', States: { I: { ...pass, Assign: { v: 1 } } } } } } },
      /state "I".*Assign/,
    ],
    [
      'ItemReader on a Map nested in a Parallel branch',
      {
        StartAt: 'P',
        States: {
          P: {
            Type: 'Parallel',
            End: true,
            Branches: [{ StartAt: 'M', States: { M: { Type: 'Map', End: true, ItemReader: { Resource: 'arn:aws:states:::s3:getObject' }, ItemProcessor: { StartAt: 'I', States: { I: pass } } } } }],
          },
        },
      },
      /state "M".*ItemReader/,
    ],
    ['ItemBatcher', { StartAt: 'M', States: { M: { Type: 'Map', End: true, ItemBatcher: { MaxItemsPerBatch: 2 }, Iterator: { StartAt: 'I', States: { I: pass } } } } }, /ItemBatcher/],
    ['ResultWriter', { StartAt: 'M', States: { M: { Type: 'Map', End: true, ResultWriter: {}, Iterator: { StartAt: 'I', States: { I: pass } } } } }, /ResultWriter/],
    ['Assign in the legacy Iterator', { StartAt: 'M', States: { M: { Type: 'Map', End: true, Iterator: { StartAt: 'I', States: { I: { ...pass, Assign: {} } } } } } }, /Iterator.*Assign|Assign/],
  ])('refuses %s, naming machine and state', (_label, definition, message) => {
    const run = (): unknown => extractStateMachines(templateWith(definition));
    expect(run).toThrow(UnsupportedDefinitionError);
    expect(run).toThrow(/State machine Machine/);
    expect(run).toThrow(message);
  });

  it('accepts the equivalent JSONPath definition', () => {
    const m = extractStateMachines(templateWith({ StartAt: 'A', States: { A: pass } }));
    expect(m.get('Machine')?.definition).toEqual({ StartAt: 'A', States: { A: pass } });
  });
});

describe('resolveIntrinsics', () => {
  const template: CfnTemplate = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function' },
      Topic: { Type: 'AWS::SNS::Topic' },
      Queue: { Type: 'AWS::SQS::Queue' },
      Table: { Type: 'AWS::DynamoDB::Table' },
      Machine: { Type: 'AWS::StepFunctions::StateMachine' },
    },
    Parameters: { Stage: { Type: 'String', Default: 'dev' } },
  };

  it('follows CloudFormation Ref semantics per resource type', () => {
    expect(resolveIntrinsics({ Ref: 'Fn' }, template)).toBe('Fn'); // a function Ref is its name
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Fn', 'Arn'] }, template)).toBe(`${FN_ARN_PREFIX}Fn`);
    expect(resolveIntrinsics({ Ref: 'Topic' }, template)).toBe('arn:aws:sns:local-1:000000000000:Topic');
    expect(resolveIntrinsics({ Ref: 'Queue' }, template)).toBe('https://sqs.local-1.amazonaws.com/000000000000/Queue');
    expect(resolveIntrinsics({ 'Fn::GetAtt': 'Queue.Arn' }, template)).toBe('arn:aws:sqs:local-1:000000000000:Queue');
    expect(resolveIntrinsics({ Ref: 'Table' }, template)).toBe('Table');
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Table', 'StreamArn'] }, template)).toMatch(/^arn:aws:dynamodb:local-1:000000000000:table\/Table\/stream\//);
    expect(resolveIntrinsics({ Ref: 'Machine' }, template)).toBe('arn:aws:states:local-1:000000000000:stateMachine:Machine');
    expect(resolveIntrinsics({ Ref: 'Stage' }, template)).toBe('dev');
  });

  it('resolves pseudo parameters, Join, Select, Split and Sub', () => {
    const value = {
      arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, '.', { Ref: 'AWS::URLSuffix' }]] },
      second: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] },
      sub: { 'Fn::Sub': '${Fn.Arn}|${Table}|${AWS::Region}|${!Literal}' },
      subVars: { 'Fn::Sub': ['${X}-${Stage}', { X: { Ref: 'Table' } }] },
      list: ['keep', { Ref: 'AWS::NoValue' }],
    };
    expect(resolveIntrinsics(value, template)).toEqual({
      arn: 'arn:aws:x:local-1:000000000000.amazonaws.com',
      second: 'b',
      sub: `${FN_ARN_PREFIX}Fn|Table|local-1|\${Literal}`,
      subVars: 'Table-dev',
      list: ['keep'],
    });
  });

  it('throws on unknown intrinsics and references, naming them and the path', () => {
    expect(() => resolveIntrinsics({ a: [{ 'Fn::ImportValue': 'x' }] }, template)).toThrow(IntrinsicResolutionError);
    expect(() => resolveIntrinsics({ a: [{ 'Fn::ImportValue': 'x' }] }, template)).toThrow(/Fn::ImportValue.*\$\.a\[0\]/);
    expect(() => resolveIntrinsics({ Ref: 'Nope' }, template)).toThrow(/Nope/);
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['Fn', 'SnapStartResponse'] }, template)).toThrow(/Fn\.SnapStartResponse/);
  });
});

describe('logicalIdFromArn', () => {
  it.each([
    [`${FN_ARN_PREFIX}Worker1234`, 'Worker1234'],
    [`${FN_ARN_PREFIX}Worker1234:live`, 'Worker1234'],
    ['arn:aws:states:local-1:000000000000:stateMachine:Main99', 'Main99'],
    ['arn:aws:dynamodb:local-1:000000000000:table/Ledger1/stream/1970-01-01T00:00:00.000', 'Ledger1'],
    ['arn:aws:sns:local-1:000000000000:Topic1', 'Topic1'],
    ['https://sqs.local-1.amazonaws.com/000000000000/Queue1', 'Queue1'],
    ['PlainName', 'PlainName'],
    ['arn:aws:lambda:local-1:000000000000:layer:L:1', undefined],
  ])('%s → %s', (arn, id) => {
    expect(logicalIdFromArn(arn)).toBe(id);
  });
});
