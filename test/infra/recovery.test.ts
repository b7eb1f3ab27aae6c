/**
 * The recovery construct on a small test stack: the generic recovery state machine, its Lambda, the
 * grants (scoped, no wildcard resource but the acknowledged ones) and zero unacknowledged cdk-nag
 * findings (AwsSolutions and Serverless packs).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorFunction } from '../../lib/constructs/orchestrator-function.js';
import { OrchestratorTable } from '../../lib/constructs/orchestrator-table.js';
import { Pipeline } from '../../lib/constructs/pipeline.js';
import { RECOVERY_TIMEOUT, RecoveryPipeline } from '../../lib/constructs/recovery-pipeline.js';
import { SymphonySchedules } from '../../lib/constructs/symphony-schedules.js';
import { scheduledTriggers, workerById } from '../../lib/registry/index.js';
import { buildWorkerPipeline } from '../../statemachines/worker-pipeline.js';
import { extractStateMachines, type CfnTemplate } from '../../local/template-asl.js';
import { synthFindings } from '../support/synth.js';
import { PipelineArns } from '../../lib/constructs/pipeline-arns.js';
import { scheduleTargetRolePath } from '../../lib/registry/naming.js';

const WORKERS = ['youtube_worker', 'coach_cleanup_worker'] as const;

/** A small stack: the table, two workers' pipelines and schedules, an on-call topic and the recovery. */
export function buildRecoveryTestStack(nag: boolean): { app: App; stack: Stack; recovery: RecoveryPipeline } {
  process.env['CDK_VALIDATION'] = 'false';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'RecoveryTest');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const table = new OrchestratorTable(stack, 'State');
  const protocol = new OrchestratorFunction(stack, 'Protocol', { entry: 'lambdas/protocol/handler.ts', memorySizeMb: 256, timeout: { toSeconds: () => 20 } as never, serviceName: 'protocol', description: 'protocol' });
  const pipelines = new Map<string, Pipeline['stateMachine']>();
  const workers = WORKERS.map((id) => workerById(id));
  for (const worker of workers) {
    const fn = new OrchestratorFunction(stack, `Worker-${worker.id}`, { entry: `lambdas/workers/${worker.id}.ts`, memorySizeMb: 256, timeout: { toSeconds: () => 270 } as never, serviceName: worker.id, description: worker.id, environment: { WORKER_ID: worker.id } });
    for (const job of worker.jobs) {
      const p = new Pipeline(stack, `Pipeline-${worker.id}-${job.id}`, { worker, job, definition: (scope) => buildWorkerPipeline(scope, { worker, job, protocolFunction: protocol.fn, workerFunction: fn.fn }), invokes: [protocol.fn, fn.fn] });
      pipelines.set(`${worker.id}.${job.id}`, p.stateMachine);
    }
  }
  const schedules = new SymphonySchedules(stack, 'Schedules', { triggers: scheduledTriggers(workers), pipelineOf: (t) => {
      const sm = pipelines.get(`${t.worker.id}.${t.job.id}`);
      if (!sm) throw new Error(`no pipeline for ${t.key}`);
      return sm;
    }, key });
  const topic = new sns.Topic(stack, 'OnCall', { masterKey: key, enforceSSL: true });
  const recovery = new RecoveryPipeline(stack, 'Recovery', {
    table: table.table,
    pipelines: new PipelineArns(stack, 'PipelineArns', stack.stackName),
    oncallTopic: topic,
    scheduleGroup: schedules.group,
    scheduleTargetRolePath: scheduleTargetRolePath(stack.stackName),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, recovery };
}

describe('RecoveryPipeline', () => {
  let template: Template;
  let findings: string[];
  beforeAll(() => {
    findings = synthFindings(buildRecoveryTestStack(true).app);
    template = Template.fromStack(buildRecoveryTestStack(false).stack);
  });

  it('has zero unacknowledged cdk-nag findings', () => {
    expect(findings).toEqual([]);
  });

  it('is a Standard state machine with logging ALL, tracing and the overall timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'RecoveryTest-recovery',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    const json = template.toJSON() as CfnTemplate;
    const recovery = [...extractStateMachines(json).values()].find((m) => m.stateMachineName === 'RecoveryTest-recovery');
    expect(recovery?.definition['TimeoutSeconds']).toBe(RECOVERY_TIMEOUT.toSeconds());
    const states = JSON.stringify(recovery?.definition);
    expect(states).toContain('states:startExecution.sync:2');
    expect(states).not.toContain('JSONata');
  });

  it('gives the recovery Lambda its configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recovery', TABLE_NAME: Match.anyValue(), ONCALL_TOPIC_ARN: Match.anyValue(), SCHEDULE_GROUP_NAME: Match.anyValue(), PIPELINE_ARN_PREFIX: Match.anyValue() }) },
    });
    // Pipelines and schedules are found by name (lib/registry/naming.ts), not by maps in the environment.
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r) => (r as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables?.['POWERTOOLS_SERVICE_NAME'] === 'recovery') as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('PIPELINE_ARNS');
    expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('SCHEDULE_NAMES');
    expect(JSON.stringify(fn.Properties.Environment.Variables['PIPELINE_ARN_PREFIX'])).toContain(':stateMachine:RecoveryTest-');
  });

  it('scopes Scheduler access to the group\'s schedules and iam:PassRole to the schedules\' target roles', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const scheduler = statements.find((s) => ([] as string[]).concat(s.Action).includes('scheduler:UpdateSchedule'));
    expect(([] as string[]).concat(scheduler?.Action ?? []).sort()).toEqual(['scheduler:GetSchedule', 'scheduler:UpdateSchedule']);
    expect(JSON.stringify(scheduler?.Resource)).toMatch(/schedule\/.*\/\*/);
    const passRole = statements.filter((s) => ([] as string[]).concat(s.Action).includes('iam:PassRole'));
    expect(passRole.length).toBeGreaterThan(0);
    // Only the roles under the schedule targets' IAM path, and only to pass to Scheduler.
    for (const s of passRole) {
      expect(JSON.stringify(s.Resource)).toContain(`:role${scheduleTargetRolePath('RecoveryTest')}*`);
      expect(s).toMatchObject({ Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } });
    }
    // '*' only where AWS requires it (X-Ray, CloudWatch Logs delivery).
    for (const s of statements.filter((x) => x.Resource === '*')) {
      for (const action of ([] as string[]).concat(s.Action)) expect(action).toMatch(/^(xray|logs):/);
    }
  });
});
