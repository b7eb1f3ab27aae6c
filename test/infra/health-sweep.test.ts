/**
 * The health sweep construct on a small test stack: the Lambda, its 5-minute schedule (flexible
 * window off, explicit retries and event age, encrypted DLQ), least-privilege grants and zero
 * unacknowledged cdk-nag findings (AwsSolutions and Serverless packs).
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_SWEEP_DEFAULTS, HealthSweep } from '../../lib/constructs/health-sweep.js';
import { OrchestratorFunction } from '../../lib/constructs/orchestrator-function.js';
import { OrchestratorTable } from '../../lib/constructs/orchestrator-table.js';
import { Pipeline } from '../../lib/constructs/pipeline.js';
import { workerById } from '../../lib/registry/index.js';
import { buildWorkerPipeline } from '../../statemachines/worker-pipeline.js';
import { synthFindings } from '../support/synth.js';
import { PipelineArns } from '../../lib/constructs/pipeline-arns.js';


/** A small stack: the table, the youtube worker's real pipelines (found by name), a queue, a schedule group. */
function build(nag: boolean): { app: App; stack: Stack; sweep: HealthSweep } {
  process.env['CDK_VALIDATION'] = 'false';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'SweepTest');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const table = new OrchestratorTable(stack, 'State');
  const protocol = new OrchestratorFunction(stack, 'Protocol', { entry: 'lambdas/protocol/handler.ts', memorySizeMb: 256, timeout: Duration.seconds(20), serviceName: 'protocol', description: 'protocol' });
  const worker = workerById('youtube_worker');
  const workerFn = new OrchestratorFunction(stack, 'Worker', { entry: 'lambdas/workers/youtube_worker.ts', memorySizeMb: 256, timeout: Duration.seconds(270), serviceName: worker.id, description: worker.id });
  const pipelines = new Map<string, sfn.IStateMachine>();
  for (const job of worker.jobs) {
    const p = new Pipeline(stack, `Pipeline-${job.id}`, { worker, job, definition: (scope) => buildWorkerPipeline(scope, { worker, job, protocolFunction: protocol.fn, workerFunction: workerFn.fn }), invokes: [protocol.fn, workerFn.fn] });
    pipelines.set(`${worker.id}.${job.id}`, p.stateMachine);
  }
  const queue = new sqs.Queue(stack, 'GenerationQueue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'test queue' });
  Validations.of(queue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: 'test queue' });
  const group = new scheduler.ScheduleGroup(stack, 'Group');
  const sweep = new HealthSweep(stack, 'Sweep', {
    table: table.table,
    pipelines: new PipelineArns(stack, 'PipelineArns', stack.stackName),
    queues: new Map([['generation_worker', queue]]),
    key,
    scheduleGroup: group,
    workers: [worker, workerById('generation_worker')],
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, sweep };
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
let template: Template;
let findings: string[];
let statements: Statement[];
const actions = (s: Statement): string[] => ([] as string[]).concat(s.Action);
const policyOf = (roleLogicalIdPrefix: string): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .map((r) => (r as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }).Properties)
    .filter((p) => p.Roles.some((r) => r.Ref.startsWith(roleLogicalIdPrefix)))
    .flatMap((p) => p.PolicyDocument.Statement);

beforeAll(() => {
  // Two identical apps: a failed validation leaves an app that cannot be synthesized again.
  findings = synthFindings(build(true).app);
  template = Template.fromStack(build(false).stack);
  statements = policyOf('SweepFunctionRole');
});

describe('HealthSweep', () => {
  it('has zero unacknowledged cdk-nag findings', () => {
    expect(findings).toEqual([]);
  });

  it('runs every 5 minutes, flexible window off, explicit retries and event age, a DLQ, in the group', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      GroupName: Match.stringLikeRegexp('Group'),
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepFunction'), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepScheduleRole'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: HEALTH_SWEEP_DEFAULTS.retryAttempts, MaximumEventAgeInSeconds: HEALTH_SWEEP_DEFAULTS.maxEventAgeSeconds },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepDeadLetterQueue'), 'Arn'] } },
        Input: Match.stringLikeRegexp('<aws.scheduler.scheduled-time>'),
      },
    });
  });

  it('encrypts the DLQ with the key and sends failed asynchronous sweeps to it', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] }, MessageRetentionPeriod: 14 * 86_400 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: HEALTH_SWEEP_DEFAULTS.maxEventAgeSeconds,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepDeadLetterQueue'), 'Arn'] } } },
    });
  });

  it('gives the function its configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'health-sweep', TABLE_NAME: Match.anyValue(), PIPELINE_ARN_PREFIX: Match.anyValue(), QUEUE_URLS: Match.anyValue(), WORKER_IDS: 'youtube_worker,generation_worker' }) },
      MemorySize: HEALTH_SWEEP_DEFAULTS.memorySizeMb,
      Timeout: HEALTH_SWEEP_DEFAULTS.timeoutSeconds,
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('grants least privilege: ListExecutions on the pipelines, Describe/Stop on their executions, GetQueueAttributes, no wildcard action', () => {
    const list = statements.filter((s) => actions(s).includes('states:ListExecutions'));
    expect(list.flatMap(actions).every((a) => a === 'states:ListExecutions')).toBe(true);
    // Every pipeline by the naming convention: the stack's `<stack>-*` state machines, one statement.
    expect(list.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringContaining(':stateMachine:SweepTest-*')]);
    const stop = statements.filter((s) => actions(s).includes('states:StopExecution'));
    expect(stop.length).toBeGreaterThan(0);
    for (const s of stop) {
      expect(actions(s).sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
      expect(JSON.stringify(s.Resource)).toContain(':execution:SweepTest-*');
    }
    const sqsActions = statements.flatMap(actions).filter((a) => a.startsWith('sqs:'));
    expect([...new Set(sqsActions)].sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:SendMessage']);
    for (const s of statements) for (const a of actions(s)) if (!a.startsWith('dynamodb:')) expect(a).not.toContain('*');
    for (const s of statements.filter((x) => x.Resource === '*')) for (const a of actions(s)) expect(a).toMatch(/^xray:/);
  });

  it('lets Scheduler only invoke the function and reach the DLQ', () => {
    const scheduleStatements = policyOf('SweepScheduleRole');
    expect([...new Set(scheduleStatements.flatMap(actions))].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'lambda:InvokeFunction', 'sqs:SendMessage']);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: Match.objectLike({ 'aws:SourceAccount': Match.anyValue() }) } })] },
    });
  });

  it('validates its props, naming the bad value', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Bad');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const table = new OrchestratorTable(stack, 'State').table;
    expect(() => new HealthSweep(stack, 'B', { table, key, pipelines: new PipelineArns(stack, 'PipelineArns', stack.stackName), workers: [] })).toThrow(/at least one worker/);
  });
});
