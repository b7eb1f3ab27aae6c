/**
 * Template assertions, derived from the registry: they fail when the synthesized stack drifts from
 * the design (schedules, budgets, Lambda limits, JSONPath only, delivery settings, IAM).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_TRANSIENT_ERROR_NAMES, NON_RETRYABLE_ERROR_NAMES, RETRYABLE_ERROR_NAMES } from '../../lib/domain/errors.js';
import { RECORD_STEP_RETRY } from '../../lib/domain/retry-policy.js';
import {
  ALL_WORKERS,
  functionTimeoutSeconds,
  jobOf,
  lambdaWorkers,
  maxWorkStepTimeoutSeconds,
  pascalCase,
  pipelineTimeoutSeconds,
  planStepTimeoutSeconds,
  scheduledTriggers,
  stageRefreshes,
  SYNC_TASK_SLACK_SECONDS,
  syncTaskTimeoutSeconds,
  workerById,
  workStepTimeoutSeconds,
} from '../../lib/registry/index.js';
import { synthesizeForTests, synthFindings, type SynthesizedForTests } from '../support/synth.js';

let synth: SynthesizedForTests;
let template: Template;

beforeAll(() => {
  synth = synthesizeForTests();
  template = synth.template;
});

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const resourcesOf = (type: string): [string, Resource][] => Object.entries(template.findResources(type)) as [string, Resource][];
/** The schedules of the registry's jobs (their input says trigger "schedule"); the health sweep has its own. */
const symphonySchedules = (): [string, Resource][] =>
  resourcesOf('AWS::Scheduler::Schedule').filter(([, r]) => String((r.Properties['Target'] as { Input?: unknown }).Input ?? '').includes('"trigger":"schedule"'));

describe('schedules', () => {
  it('has one schedule per registry trigger, with the exact expression and timezone', () => {
    const triggers = scheduledTriggers();
    const schedules = symphonySchedules();
    expect(schedules).toHaveLength(triggers.length);
    for (const trigger of triggers) {
      const matches = schedules.filter(([, r]) => {
        const input = JSON.parse(String((r.Properties['Target'] as { Input: string }).Input)) as { worker: string; job: string };
        return input.worker === trigger.worker.id && input.job === trigger.job.id && r.Properties['ScheduleExpression'] === trigger.schedule.expression;
      });
      expect(matches, trigger.key).toHaveLength(1);
      expect(matches[0]?.[1].Properties['ScheduleExpressionTimezone'], trigger.key).toBe(trigger.schedule.timezone);
    }
  });

  it('sets the flexible window off, explicit retries, event age and a DLQ, and passes the scheduled time', () => {
    for (const [id, schedule] of symphonySchedules()) {
      const target = schedule.Properties['Target'] as { RetryPolicy: unknown; DeadLetterConfig?: { Arn?: unknown }; Input: string };
      expect(schedule.Properties['FlexibleTimeWindow'], id).toEqual({ Mode: 'OFF' });
      expect(target.RetryPolicy, id).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 });
      expect(target.DeadLetterConfig?.Arn, id).toBeDefined();
      expect(target.Input, id).toMatch(/<aws\.scheduler\.scheduled-time>/);
    }
    expect(resourcesOf('AWS::Scheduler::ScheduleGroup')).toHaveLength(1);
  });

  it('sweeps health every 5 minutes with explicit retries and a DLQ', () => {
    const sweep = resourcesOf('AWS::Scheduler::Schedule').filter(([, r]) => r.Properties['ScheduleExpression'] === 'rate(5 minutes)');
    expect(sweep).toHaveLength(1);
    expect(sweep[0]?.[1].Properties).toMatchObject({ FlexibleTimeWindow: { Mode: 'OFF' }, Target: { RetryPolicy: { MaximumRetryAttempts: 3 }, DeadLetterConfig: { Arn: expect.anything() } } });
  });
});

describe('pipelines', () => {
  it('has one Standard state machine per scheduled or fan-out job plus the intel cycle, each with the design budget (plus the room for a raised work step) as its timeout', () => {
    const expected = ALL_WORKERS.flatMap((w) => w.jobs.filter((j) => w.executionModel !== 'on-demand' || j.fanOut).map((j) => ({ w, j })));
    const pipelineNames = [...synth.definitions.keys()].filter((name) => !name.endsWith('-recovery') && !name.endsWith('-backfill'));
    expect(pipelineNames).toHaveLength(expected.length);
    for (const { w, j } of expected) {
      const asl = synth.definitionOf(w.id, j.id);
      // The design budget, plus what a SLOW_EXECUTION recovery may add to the work step (0 for fan-out
      // jobs), and for the cycle to its nested executions' work steps (the test below).
      expect(asl.TimeoutSeconds, `${w.id}.${j.id}`).toBe(pipelineTimeoutSeconds(w, j));
      if (j.mode !== 'cycle') expect(asl.TimeoutSeconds, `${w.id}.${j.id}`).toBe(j.timeoutSeconds + maxWorkStepTimeoutSeconds(w, j) - workStepTimeoutSeconds(w, j));
      expect(maxWorkStepTimeoutSeconds(w, j)).toBeLessThanOrEqual(Math.max(900, workStepTimeoutSeconds(w, j)));
    }
    template.allResourcesProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
  });

  it('writes every definition in JSONPath only: no JSONata, no Assign, no ItemReader', () => {
    for (const [name, asl] of synth.definitions) {
      const text = JSON.stringify(asl);
      expect(text, name).not.toMatch(/"QueryLanguage":"JSONata"|"Assign":|"ItemReader":|"Arguments":|"Output":\{/);
    }
  });

  it('retries exactly the named transient errors on worker steps, with backoff and full jitter, and catches everything into Record', () => {
    for (const worker of lambdaWorkers()) {
      for (const job of worker.jobs) {
        if (worker.executionModel === 'on-demand' && !job.fanOut) continue;
        const asl = synth.definitionOf(worker.id, job.id);
        const step = (job.fanOut ? asl.States['Plan'] : asl.States['Work']) as { Retry: { ErrorEquals: string[]; JitterStrategy: string; BackoffRate: number; MaxAttempts: number }[]; Catch: { ErrorEquals: string[]; Next: string }[]; TimeoutSeconds?: number; TimeoutSecondsPath?: string };
        expect(step.Retry).toHaveLength(1);
        expect(step.Retry[0]?.ErrorEquals.sort()).toEqual([...RETRYABLE_ERROR_NAMES, ...LAMBDA_TRANSIENT_ERROR_NAMES].sort());
        expect(step.Retry[0]).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2, MaxAttempts: 3 });
        expect(step.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Record' })]);
        // A single Work step takes the timeout the gate hands it (the registry's, or one a SLOW_EXECUTION recovery raised); a Plan step keeps its own.
        if (job.fanOut) expect(step.TimeoutSeconds, `${worker.id}.${job.id}`).toBe(planStepTimeoutSeconds(job));
        else expect(step.TimeoutSecondsPath, `${worker.id}.${job.id}`).toBe('$.gate.stepTimeoutSeconds');
      }
    }
  });

  it('retries the Record step on every error but the non-retryable ones, with backoff and a bound, in every pipeline', () => {
    for (const [name, asl] of synth.definitions) {
      const record = asl.States['Record'] as { Retry?: { ErrorEquals: string[]; MaxAttempts: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: string }[]; Catch?: { ErrorEquals: string[]; Next: string }[] } | undefined;
      if (record === undefined) continue;
      const retry = record.Retry ?? [];
      expect(retry.map((r) => r.ErrorEquals), name).toEqual([[...LAMBDA_TRANSIENT_ERROR_NAMES], [...NON_RETRYABLE_ERROR_NAMES], ['States.ALL']]);
      expect(retry[1]?.MaxAttempts, name).toBe(0);
      expect(retry[2], name).toMatchObject({ MaxAttempts: RECORD_STEP_RETRY.maxRetries, BackoffRate: RECORD_STEP_RETRY.backoffRate, MaxDelaySeconds: RECORD_STEP_RETRY.maxDelaySeconds, JitterStrategy: 'FULL' });
      expect(record.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'RecordFailed' })]);
    }
    expect([...synth.definitions.values()].filter((asl) => asl.States['Record'] !== undefined).length).toBeGreaterThan(lambdaWorkers().length);
  });

  it('lets the health sweep deliver the outbox: ALERT_TOPIC_ARN is the alert topic the anomaly Lambda publishes to, and the sweep may publish to it', () => {
    const fns = Object.entries(template.findResources('AWS::Lambda::Function')) as [string, { Properties: { Environment?: { Variables?: Record<string, unknown> }; Role?: unknown } }][];
    const envOf = (service: string) => fns.find(([, f]) => f.Properties.Environment?.Variables?.['POWERTOOLS_SERVICE_NAME'] === service)?.[1].Properties.Environment?.Variables ?? {};
    const sweepTopic = envOf('health-sweep')['ALERT_TOPIC_ARN'];
    expect(sweepTopic).toEqual({ Ref: expect.any(String) });
    expect(sweepTopic).toEqual(envOf('anomaly')['ALERT_TOPIC_ARN']);
    const topicId = (sweepTopic as { Ref: string }).Ref;
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Resource: { Ref: topicId } })]) },
      Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('HealthSweep') }]),
    });
  });

  it('lets each on-demand consumer send held jobs back to its own queue (sqs:SendMessage on that queue only)', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as { Properties: { FunctionName: { Ref: string }; EventSourceArn: { 'Fn::GetAtt': [string, string] } } }[];
    const sqsMappings = mappings.filter((m) => m.Properties.EventSourceArn?.['Fn::GetAtt']?.[1] === 'Arn' && template.toJSON().Resources[m.Properties.EventSourceArn['Fn::GetAtt'][0]]?.Type === 'AWS::SQS::Queue');
    expect(sqsMappings.length).toBe(ALL_WORKERS.filter((w) => w.executionModel === 'on-demand').length);
    for (const m of sqsMappings) {
      const queueId = m.Properties.EventSourceArn['Fn::GetAtt'][0];
      const fn = template.toJSON().Resources[m.Properties.FunctionName.Ref] as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } };
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } })]) },
        Roles: [{ Ref: fn.Properties.Role['Fn::GetAtt'][0] }],
      });
    }
  });

  it('fans out long jobs with a Map whose concurrency comes from the registry', () => {
    for (const worker of lambdaWorkers()) {
      for (const job of worker.jobs.filter((j) => j.fanOut)) {
        const map = synth.definitionOf(worker.id, job.id).States['FanOut'] as { Type: string; MaxConcurrency: number; ItemsPath: string };
        expect(map).toMatchObject({ Type: 'Map', MaxConcurrency: job.fanOut?.maxConcurrency, ItemsPath: '$.plan.items' });
      }
    }
  });

  it('bounds every Map: a plan over maxItems is recorded as FAILED before the Map', () => {
    for (const worker of lambdaWorkers()) {
      for (const job of worker.jobs.filter((j) => j.fanOut)) {
        const states = synth.definitionOf(worker.id, job.id).States as Record<string, Record<string, unknown>>;
        expect(states['Plan']?.['Next']).toBe('CountItems');
        expect(states['CountItems']?.['Next']).toBe('WithinBound');
        expect(states['WithinBound']).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.planSize.count', NumericGreaterThan: job.fanOut?.maxItems, Next: 'TooManyItems' }], Default: 'FanOut' });
        expect(states['TooManyItems']).toMatchObject({ ResultPath: '$.failure', Next: 'Record' });
        // Only the guard leads into the Map.
        expect(Object.entries(states).filter(([, st]) => JSON.stringify(st).includes('"FanOut"')).map(([name]) => name)).toEqual(['WithinBound']);
      }
    }
  });

  it('bounds every nested .sync:2 execution with a task timeout (child timeout plus slack)', () => {
    const asl = synth.definitionOf('intel_orchestrator', 'cycle');
    const syncTasks = Object.values(asl.States as Record<string, { Resource?: string; TimeoutSeconds?: number }>).filter((st) => String(st.Resource ?? '').includes('startExecution.sync'));
    expect(syncTasks.length).toBeGreaterThanOrEqual((workerById('intel_orchestrator').stages ?? []).length);
    for (const st of syncTasks) expect(st.TimeoutSeconds).toBeGreaterThan(SYNC_TASK_SLACK_SECONDS);
    const stage2 = (asl.States as Record<string, { TimeoutSeconds?: number }>)['Stage2CreatorIntelWorker'];
    expect(stage2?.TimeoutSeconds).toBe(syncTaskTimeoutSeconds(workerById('creator_intel_worker'), jobOf('creator_intel_worker', 'analyze')));
  });

  it("bounds each nested execution by its child pipeline's own timeout (a raised work step included) plus slack, and the cycle by its budget plus every nested raise", () => {
    const cycle = workerById('intel_orchestrator');
    const cycleJob = jobOf('intel_orchestrator', 'cycle');
    const states = synth.definitionOf('intel_orchestrator', 'cycle').States as Record<string, { Resource?: string; TimeoutSeconds?: number }>;
    // The task state of each nested execution: the stages, and the refreshes before a stage.
    const nested = (cycle.stages ?? []).flatMap((stage, i) => [
      ...stageRefreshes(cycle, i, ALL_WORKERS).map((r) => ({ state: `Refresh${pascalCase(r.worker.id)}`, worker: r.worker.id, job: r.job.id })),
      { state: `Stage${i + 1}${pascalCase(stage.worker)}`, worker: stage.worker, job: stage.job },
    ]);
    expect(nested.map((n) => n.state)).toEqual(['Stage1YoutubeWorker', 'Stage2CreatorIntelWorker', 'RefreshTwitchStreamsWorker', 'Stage3PlaybookWorker']);
    let raised = 0;
    for (const n of nested) {
      const child = synth.definitionOf(n.worker, n.job);
      expect(String(states[n.state]?.Resource), n.state).toMatch(/startExecution\.sync:2$/);
      // The parent never gives up on a child still within its own bound, raised step included.
      expect(states[n.state]?.TimeoutSeconds, n.state).toBe(Number(child.TimeoutSeconds) + SYNC_TASK_SLACK_SECONDS);
      raised += Number(child.TimeoutSeconds) - jobOf(n.worker, n.job).timeoutSeconds;
    }
    // youtube games 270 -> 405 s, twitch poll 270 -> 405 s, playbook 570 -> 855 s; creator intel fans out (0).
    expect(raised).toBe(135 + 135 + 285);
    const cycleTimeout = Number(synth.definitionOf('intel_orchestrator', 'cycle').TimeoutSeconds);
    expect(cycleTimeout).toBe(cycleJob.timeoutSeconds + raised);
    expect(cycleTimeout).toBe(4455);
  });

  it('runs the intel cycle stages as nested .sync:2 executions in registry order', () => {
    const asl = synth.definitionOf('intel_orchestrator', 'cycle');
    const stages = Object.entries(asl.States)
      .filter(([name]) => /^Stage\d/.test(name))
      .map(([name, s]) => [name, (s as { Resource: string }).Resource] as const)
      .sort();
    expect(stages.map(([n]) => n)).toEqual(['Stage1YoutubeWorker', 'Stage2CreatorIntelWorker', 'Stage3PlaybookWorker']);
    for (const [, resource] of stages) expect(resource).toMatch(/states:startExecution\.sync:2$/);
    expect(Object.keys(asl.States)).toContain('RefreshTwitchStreamsWorker');
  });
});

describe('functions', () => {
  it('has one function per Lambda worker with memory and timeout from the registry, arm64, the newest runtime, tracing', () => {
    for (const worker of lambdaWorkers()) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ WORKER_ID: worker.id, POWERTOOLS_SERVICE_NAME: worker.id }) },
        MemorySize: worker.memoryMb,
        Timeout: functionTimeoutSeconds(worker),
        Architectures: ['arm64'],
        Runtime: 'nodejs24.x',
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('keeps every Lambda timeout within 900 s', () => {
    for (const [id, fn] of resourcesOf('AWS::Lambda::Function')) {
      expect(fn.Properties['Timeout'] as number, id).toBeLessThanOrEqual(900);
    }
  });

  it('keeps secrets out of environment variables', () => {
    for (const [id, fn] of resourcesOf('AWS::Lambda::Function')) {
      const vars = Object.keys(((fn.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables) ?? {});
      expect(vars.filter((v) => /SECRET(?!S_ARN)|PASSWORD|API_KEY|TOKEN/.test(v)), id).toEqual([]);
    }
  });
});

describe('state table', () => {
  it('is retained, on demand, point-in-time recoverable, encrypted, with TTL and a NEW_AND_OLD_IMAGES stream', () => {
    const tables = resourcesOf('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const [, table] = tables[0] as [string, Resource];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });
});

describe('on-demand queues', () => {
  it('gives each on-demand worker a queue with a DLQ, a visibility timeout of 6x its consumer, and partial batch responses', () => {
    const onDemand = ALL_WORKERS.filter((w) => w.executionModel === 'on-demand');
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties['EventSourceArn']).includes('Queue'));
    expect(mappings).toHaveLength(onDemand.length);
    for (const [, m] of mappings) {
      expect(m.Properties['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
      // A bound the QUEUE_OVERFLOW recovery can scale (the recovery Lambda gets the mapping ids).
      expect(m.Properties['ScalingConfig']).toEqual({ MaximumConcurrency: 10 });
    }
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recovery', CONSUMER_MAPPINGS: Match.anyValue() }) } });
    for (const worker of onDemand) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        VisibilityTimeout: (functionTimeoutSeconds(worker) + 30) * 6,
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 3 },
        KmsMasterKeyId: Match.anyValue(),
      });
    }
  });
});

describe('alerting and self-healing', () => {
  it('feeds the anomaly Lambda from the table stream with filters, partial batch responses, bisect, bounded retries and age, and an on-failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      StartingPosition: 'LATEST',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      FilterCriteria: { Filters: [{ Pattern: Match.stringLikeRegexp('REPORT#') }] },
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('has a recovery state machine and encrypted alert and on-call topics', () => {
    expect([...synth.definitions.keys()].filter((name) => name.endsWith('-recovery'))).toHaveLength(1);
    const topics = resourcesOf('AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [id, t] of topics) expect(t.Properties['KmsMasterKeyId'], id).toBeDefined();
  });
});

describe('IAM', () => {
  /** Actions AWS only grants on `*`, each with the reason it is allowed. */
  const WILDCARD_ONLY_ACTIONS: Record<string, string> = {
    'xray:PutTraceSegments': 'X-Ray has no resource-level permissions',
    'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
    'xray:GetSamplingRules': 'X-Ray has no resource-level permissions',
    'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions',
    'logs:CreateLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
    'logs:GetLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
    'logs:UpdateLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
    'logs:DeleteLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
    'logs:ListLogDeliveries': 'CloudWatch Logs vended delivery has no resource-level permissions',
    'logs:PutResourcePolicy': 'CloudWatch Logs resource policies have no resource-level permissions',
    'logs:DescribeResourcePolicies': 'CloudWatch Logs resource policies have no resource-level permissions',
    'logs:DescribeLogGroups': 'DescribeLogGroups has no resource-level permissions',
    'dynamodb:ListStreams': 'DynamoDB ListStreams has no resource-level permissions (the stream event source needs it)',
  };

  it('grants * only for actions AWS allows nowhere else', () => {
    const offending: string[] = [];
    for (const [id, policy] of resourcesOf('AWS::IAM::Policy')) {
      const statements = (policy.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
      for (const st of statements) {
        const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
        if (!resources.includes('*')) continue;
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        for (const action of actions) if (!(action in WILDCARD_ONLY_ACTIONS)) offending.push(`${id}: ${action}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('uses no AWS managed policies, but for the account-level API Gateway CloudWatch role', () => {
    // That role is the account's one API Gateway logging setting: it serves every API of the
    // account, so it carries the policy AWS documents for it rather than a list of our log groups.
    const account = resourcesOf('AWS::ApiGateway::Account')[0]?.[1].Properties['CloudWatchRoleArn'] as { 'Fn::GetAtt': [string, string] } | undefined;
    const accountRoleId = account?.['Fn::GetAtt'][0];
    expect(accountRoleId).toBeDefined();
    for (const [id, role] of resourcesOf('AWS::IAM::Role')) {
      if (id === accountRoleId) expect(JSON.stringify(role.Properties['ManagedPolicyArns'])).toContain(':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs');
      else expect(role.Properties['ManagedPolicyArns'], id).toBeUndefined();
    }
  });
});

describe('with an alert email and webhook configured', () => {
  it('subscribes the email, delivers signed webhooks, and still has zero unacknowledged cdk-nag findings', () => {
    const configured = synthesizeForTests({ alertEmail: 'oncall@example.com', alertWebhookUrl: 'https://hooks.example.com/aurastream' });
    expect(configured.nagFindings).toEqual([]);
    configured.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    configured.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', FilterPolicy: { severity: ['CRITICAL', 'HIGH', 'MEDIUM'] } });
    configured.template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ WEBHOOK_URL: 'https://hooks.example.com/aurastream', WEBHOOK_SECRET_ARN: Match.anyValue() }) } });
    configured.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: Match.anyValue() } } });
  });

  it('fails synth on a webhook URL that is not https, naming the field and the value', () => {
    expect(() => synthesizeForTests({ alertWebhookUrl: 'http://hooks.example.com/x' })).toThrow(/alertWebhookUrl" must be an https URL, got "http:\/\/hooks.example.com\/x"/);
  });
});

describe('cdk-nag', () => {
  it('fails synth on an unacknowledged finding (negative control for the check below)', () => {
    process.env['CDK_VALIDATION'] = 'false';
    const app = new App();
    const stack = new Stack(app, 'Control');
    new sqs.Queue(stack, 'PlainQueue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const findings = synthFindings(app);
    expect(findings.join('\n')).toMatch(/AwsSolutions-SQS/);
  });

  it('reports zero unacknowledged findings (AwsSolutions and Serverless packs), and every acknowledgement has a reason', () => {
    expect(synth.nagFindings).toEqual([]);
    expect(synth.acknowledgements.length).toBeGreaterThan(0);
    for (const ack of synth.acknowledgements) expect(ack.reason.length, ack.id).toBeGreaterThan(20);
  });
});
