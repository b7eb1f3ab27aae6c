/**
 * The dashboard and alarms, derived from the registry and the stack: counts come from the registry
 * and from the template itself (every state machine, every queue used as a dead-letter queue), not
 * from hard-coded numbers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DEFAULTS } from '../../lib/constructs/orchestrator-dashboard.js';
import { ALL_WORKERS, circuitFor } from '../../lib/registry/index.js';
import { joinedText, synthPhase5, type Phase5Synth, type Resource, type Statement } from './phase5-synth.js';

let s: Phase5Synth;
type Widget = { type: string; width: number; properties: { title?: string; metrics?: unknown[][]; annotations?: { horizontal?: { value: number; label: string }[] } } };
let widgets: Widget[];
let alarms: [string, Resource][];

beforeAll(() => {
  s = synthPhase5();
  const dashboards = s.resourcesOf('AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  widgets = (JSON.parse(joinedText(dashboards[0]?.[1].Properties['DashboardBody'])) as { widgets: Widget[] }).widgets;
  alarms = s.resourcesOf('AWS::CloudWatch::Alarm');
});

const running = ALL_WORKERS.filter((w) => w.jobs.length > 0);
const metricsOf = (w: Widget): unknown[][] => w.properties.metrics ?? [];
/** A widget's metric lines of `AuraStream/Orchestrator` `name`, by worker. */
const runMetricWorkers = (w: Widget, name: string): string[] =>
  metricsOf(w)
    .filter((m) => m[0] === 'AuraStream/Orchestrator' && m[1] === name && m[2] === 'Worker')
    .map((m) => String(m[3]));
/** The Ref (or GetAtt target) a value names. */
const refOf = (v: unknown): string | undefined => (typeof v === 'object' && v !== null ? ((v as { Ref?: string }).Ref ?? (v as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0]) : undefined);
const dimension = (alarm: Resource, name: string): unknown => ((alarm.Properties['Dimensions'] as { Name: string; Value: unknown }[] | undefined) ?? []).find((d) => d.Name === name)?.Value;

describe('dashboard', () => {
  it('has one score widget per worker of the registry that runs, each on its own worker', () => {
    const scoreWidgets = widgets.filter((w) => runMetricWorkers(w, 'Score').length > 0);
    expect(scoreWidgets).toHaveLength(running.length);
    expect(scoreWidgets.flatMap((w) => runMetricWorkers(w, 'Score')).sort()).toEqual(running.map((w) => w.id).sort());
    for (const w of scoreWidgets) expect(runMetricWorkers(w, 'Score')).toHaveLength(1);
  });

  it('graphs failures of every worker', () => {
    const failures = widgets.filter((w) => runMetricWorkers(w, 'Failures').length > 0);
    expect(failures.flatMap((w) => runMetricWorkers(w, 'Failures')).sort()).toEqual(running.map((w) => w.id).sort());
  });

  it('graphs each worker\'s durations against the timeout of each of its jobs', () => {
    for (const worker of running) {
      const durations = widgets.filter((w) => runMetricWorkers(w, 'DurationMs').includes(worker.id));
      expect(durations, worker.id).toHaveLength(1);
      const lines = durations[0]?.properties.annotations?.horizontal ?? [];
      expect(lines.map((l) => l.value).sort(), worker.id).toEqual(worker.jobs.map((j) => j.timeoutSeconds * 1000).sort());
    }
  });

  it('graphs the depth of every on-demand queue, failed and timed-out executions of every state machine, and every DLQ', () => {
    const text = JSON.stringify(widgets);
    for (const worker of ALL_WORKERS.filter((w) => w.executionModel === 'on-demand')) expect(text).toContain(`"label":"${worker.id}"`);
    const machines = s.resourcesOf('AWS::StepFunctions::StateMachine').length;
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title);
    expect(metricsOf(byTitle('Executions failed') as Widget).filter((m) => m[1] === 'ExecutionsFailed')).toHaveLength(machines);
    expect(metricsOf(byTitle('Executions timed out') as Widget).filter((m) => m[1] === 'ExecutionsTimedOut')).toHaveLength(machines);
    expect(metricsOf(byTitle('On-demand queue depth') as Widget)).toHaveLength(ALL_WORKERS.filter((w) => w.executionModel === 'on-demand').length);
    expect(metricsOf(byTitle('Dead-letter queue depth') as Widget)).toHaveLength(deadLetterQueueIds(s).size);
  });
});

/** Every queue the template uses as a dead-letter or on-failure destination, by logical id. */
function deadLetterQueueIds(s: Phase5Synth): Set<string> {
  const ids = new Set<string>();
  const add = (v: unknown) => {
    const id = refOf(v);
    if (id !== undefined && s.template.findResources('AWS::SQS::Queue')[id] !== undefined) ids.add(id);
  };
  for (const [, q] of s.resourcesOf('AWS::SQS::Queue')) add((q.Properties['RedrivePolicy'] as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn);
  for (const [, sub] of s.resourcesOf('AWS::SNS::Subscription')) add((sub.Properties['RedrivePolicy'] as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn);
  for (const [, m] of s.resourcesOf('AWS::Lambda::EventSourceMapping')) add((m.Properties['DestinationConfig'] as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination);
  for (const [, c] of s.resourcesOf('AWS::Lambda::EventInvokeConfig')) add((c.Properties['DestinationConfig'] as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination);
  for (const [, sc] of s.resourcesOf('AWS::Scheduler::Schedule')) add((sc.Properties['Target'] as { DeadLetterConfig?: { Arn?: unknown } }).DeadLetterConfig?.Arn);
  return ids;
}

describe('alarms', () => {
  it('alarm on failed and on timed-out executions of every state machine', () => {
    // A pipeline is watched by its name (the naming convention), the recovery and backfill by reference.
    const names = new Map(s.resourcesOf('AWS::StepFunctions::StateMachine').map(([id, m]) => [m.Properties['StateMachineName'], id]));
    const machineOf = (arn: unknown): string | undefined => refOf(arn) ?? names.get(joinedText(arn).split(':stateMachine:')[1]);
    for (const [id] of s.resourcesOf('AWS::StepFunctions::StateMachine')) {
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
        const matching = alarms.filter(([, a]) => a.Properties['MetricName'] === metric && machineOf(dimension(a, 'StateMachineArn')) === id);
        expect(matching, `${id} ${metric}`).toHaveLength(1);
        expect(matching[0]?.[1].Properties).toMatchObject({ Threshold: DASHBOARD_DEFAULTS.executionFailuresToAlarm, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', Statistic: 'Sum' });
      }
    }
  });

  it('alarm on the depth of every queue the stack uses as a dead-letter or on-failure destination', () => {
    const dlqs = deadLetterQueueIds(s);
    expect(dlqs.size).toBeGreaterThanOrEqual(5);
    for (const id of dlqs) {
      const matching = alarms.filter(([, a]) => a.Properties['Namespace'] === 'AWS/SQS' && a.Properties['MetricName'] === 'ApproximateNumberOfMessagesVisible' && refOf(dimension(a, 'QueueName')) === id);
      expect(matching, id).toHaveLength(1);
      expect(matching[0]?.[1].Properties).toMatchObject({ Threshold: DASHBOARD_DEFAULTS.deadLetterMessagesToAlarm, Statistic: 'Maximum' });
    }
    // ... and on no work queue: those have their own depth graph (and the health sweep's QUEUE_OVERFLOW).
    const work = new Set([...s.stack.queues.values()].map((q) => s.idOf(q.queue)));
    for (const [, a] of alarms) if (a.Properties['Namespace'] === 'AWS/SQS') expect(work.has(refOf(dimension(a, 'QueueName')) ?? '')).toBe(false);
  });

  it('alarm per worker when its failures in an hour reach its circuit\'s failure threshold', () => {
    for (const worker of running) {
      const matching = alarms.filter(([, a]) => a.Properties['Namespace'] === 'AuraStream/Orchestrator' && a.Properties['MetricName'] === 'Failures' && dimension(a, 'Worker') === worker.id);
      expect(matching, worker.id).toHaveLength(1);
      expect(matching[0]?.[1].Properties).toMatchObject({ Threshold: circuitFor(worker).failuresToOpen, Period: 3600, Statistic: 'Sum' });
    }
  });

  it('notify the alert topic, every one of them, and the topic and its key let CloudWatch publish', () => {
    const topicId = s.idOf(s.stack.alerts.topic);
    expect(alarms.length).toBe(s.stack.dashboard.alarms.size);
    for (const [id, a] of alarms) expect(a.Properties['AlarmActions'], id).toEqual([{ Ref: topicId }]);
    const topicStatements = s.resourcesOf('AWS::SNS::TopicPolicy')
      .filter(([, p]) => JSON.stringify(p.Properties['Topics']) === JSON.stringify([{ Ref: topicId }]))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
    expect(topicStatements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }) }));
    const keyStatements = (s.template.findResources('AWS::KMS::Key')[s.idOf(s.stack.key)] as Resource).Properties['KeyPolicy'] as { Statement: Statement[] };
    expect(keyStatements.Statement).toContainEqual(expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:GenerateDataKey*', 'kms:Decrypt'] }));
  });
});

describe('with an alert email and webhook configured', () => {
  it('also alarms on the subscription and webhook dead-letter queues that configuration adds', () => {
    const configured = synthPhase5({ alertEmail: 'oncall@example.com', alertWebhookUrl: 'https://hooks.example.com/aurastream' });
    const dlqs = deadLetterQueueIds(configured);
    expect(dlqs.size).toBeGreaterThan(deadLetterQueueIds(s).size);
    const configuredAlarms = configured.resourcesOf('AWS::CloudWatch::Alarm');
    for (const id of dlqs) {
      expect(configuredAlarms.filter(([, a]) => a.Properties['MetricName'] === 'ApproximateNumberOfMessagesVisible' && refOf(dimension(a, 'QueueName')) === id), id).toHaveLength(1);
    }
  });
});
