import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUN_METRIC, RUN_METRICS_NAMESPACE, WORKER_DIMENSION } from '../../lambdas/protocol/run-metrics.js';
import { circuitFor, pascalCase, type WorkerSpec } from '../registry/index.js';

/** The dashboard's periods and alarm thresholds: data, one place (units in the names). */
export const DASHBOARD_DEFAULTS = {
  /** Period of the score, failure and duration graphs: most workers run hourly or less often. */
  runPeriodMinutes: 60,
  /** Period of the queue, state machine and DLQ graphs and alarms. */
  infraPeriodMinutes: 5,
  /** A pipeline alarms on this many failed (or timed-out) executions in one infra period. */
  executionFailuresToAlarm: 1,
  /** A DLQ alarms when it holds this many messages: each one is a lost run, alert or push. */
  deadLetterMessagesToAlarm: 1,
} as const;

export interface OrchestratorDashboardProps {
  /** The registry: one score, failure and duration view (and a failure alarm) per worker that runs. */
  readonly workers: readonly WorkerSpec[];
  /** Every state machine (the pipelines by `<workerId>.<jobId>`, the recovery): failed and timed-out executions, graphed and alarmed. */
  readonly stateMachines: ReadonlyMap<string, sfn.IStateMachine>;
  /** The on-demand work queues, by worker: their depth and age. */
  readonly queues: ReadonlyMap<string, sqs.IQueue>;
  /** Every dead-letter and on-failure queue of the stack, by a stable name: depth graphed and alarmed. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.IQueue>;
  /** Where the alarms notify (the alert topic). */
  readonly alarmTopic: sns.ITopic;
  /**
   * The key the topic is encrypted with: CloudWatch is allowed to use it for this account's alarms,
   * or it could not publish to the topic.
   * @default - the topic is not encrypted with a customer managed key
   */
  readonly alarmTopicKey?: kms.IKey;
}

/** The workers that run and record reports (the protocol pseudo-worker has no jobs). */
const runningWorkers = (workers: readonly WorkerSpec[]): WorkerSpec[] => workers.filter((w) => w.jobs.length > 0);

/** A run metric of one worker, as the protocol Lambda emits it (lambdas/protocol/run-metrics.ts), labelled with the worker. */
export function runMetric(metricName: string, workerId: string, statistic: string, period: Duration = Duration.minutes(DASHBOARD_DEFAULTS.runPeriodMinutes)): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: RUN_METRICS_NAMESPACE, metricName, dimensionsMap: { [WORKER_DIMENSION]: workerId }, statistic, period, label: workerId });
}

/** The same metric without a label: an alarm on it is a plain metric alarm, not a metric-math one. */
const alarmMetric = (metricName: string, workerId: string, statistic: string): cloudwatch.Metric =>
  new cloudwatch.Metric({ namespace: RUN_METRICS_NAMESPACE, metricName, dimensionsMap: { [WORKER_DIMENSION]: workerId }, statistic, period: Duration.minutes(DASHBOARD_DEFAULTS.runPeriodMinutes) });

/**
 * The orchestrator's CloudWatch dashboard and alarms, derived from the registry and the stack:
 * - a score graph per worker (EMF `Score`, 0-100), failures per worker, and per worker its run
 *   durations against each job's timeout (a horizontal annotation per job);
 * - the on-demand queues' depth and age;
 * - failed and timed-out executions of every state machine;
 * - the depth of every dead-letter queue.
 * Alarms (to the alert topic): per state machine on failed and on timed-out executions, per worker on
 * failures reaching its circuit's failure threshold within an hour, per DLQ on any message.
 */
export class OrchestratorDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by a stable name. */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: OrchestratorDashboardProps) {
    super(scope, id);
    const workers = runningWorkers(props.workers);
    if (workers.length === 0) throw new Error('workers must include at least one worker with jobs, got none');
    const infraPeriod = Duration.minutes(DASHBOARD_DEFAULTS.infraPeriodMinutes);
    const alarmAction = new actions.SnsAction(props.alarmTopic);
    const alarms = new Map<string, cloudwatch.Alarm>();
    const addAlarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string): void => {
      const alarm = new cloudwatch.Alarm(this, `Alarm${name}`, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(alarmAction);
      alarms.set(name, alarm);
    };

    // Alarms first: the dashboard ends with their status.
    for (const [key, machine] of props.stateMachines) {
      const name = pascalCase(key);
      addAlarm(`${name}ExecutionsFailed`, machine.metricFailed({ period: infraPeriod, statistic: 'Sum' }), DASHBOARD_DEFAULTS.executionFailuresToAlarm, `State machine ${key}: an execution failed.`);
      addAlarm(`${name}ExecutionsTimedOut`, machine.metricTimedOut({ period: infraPeriod, statistic: 'Sum' }), DASHBOARD_DEFAULTS.executionFailuresToAlarm, `State machine ${key}: an execution timed out.`);
    }
    for (const worker of workers) {
      const threshold = circuitFor(worker).failuresToOpen;
      addAlarm(`${pascalCase(worker.id)}Failures`, alarmMetric(RUN_METRIC.failures, worker.id, 'Sum'), threshold, `Worker ${worker.id}: ${threshold} or more failed runs in an hour (its circuit opens at ${threshold} in a row).`);
    }
    for (const [name, queue] of props.deadLetterQueues) {
      addAlarm(
        `${name}Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: infraPeriod, statistic: 'Maximum' }),
        DASHBOARD_DEFAULTS.deadLetterMessagesToAlarm,
        `Dead-letter queue ${name} holds messages: something was not delivered.`,
      );
    }
    this.alarms = alarms;
    this.allowAlarmsToPublish(props.alarmTopic, props.alarmTopicKey);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: '# AuraStream orchestrator\nScores, failures and durations per worker (EMF, namespace `AuraStream/Orchestrator`), queues, pipelines and dead-letter queues.', width: 24, height: 2 }));

    // Score per worker, 4 to a row.
    this.dashboard.addWidgets(
      ...workers.map(
        (w) =>
          new cloudwatch.GraphWidget({
            title: `${w.id} score`,
            left: [runMetric(RUN_METRIC.score, w.id, 'Average')],
            leftYAxis: { min: 0, max: 100, showUnits: false },
            width: 6,
            height: 5,
          }),
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Failures per worker', left: workers.map((w) => runMetric(RUN_METRIC.failures, w.id, 'Sum')), stacked: true, width: 12, height: 6 }),
      new cloudwatch.GraphWidget({ title: 'Runs per worker', left: workers.map((w) => runMetric(RUN_METRIC.runs, w.id, 'Sum')), stacked: true, width: 12, height: 6 }),
    );
    // Durations against the timeout of each job.
    this.dashboard.addWidgets(
      ...workers.map(
        (w) =>
          new cloudwatch.GraphWidget({
            title: `${w.id} duration (ms) vs timeout`,
            left: [runMetric(RUN_METRIC.durationMs, w.id, 'Maximum').with({ label: 'max' }), runMetric(RUN_METRIC.durationMs, w.id, 'Average').with({ label: 'avg' })],
            leftAnnotations: w.jobs.map((j) => ({ value: j.timeoutSeconds * 1000, label: `${j.id} timeout`, color: cloudwatch.Color.RED })),
            leftYAxis: { min: 0, showUnits: false },
            width: 6,
            height: 5,
          }),
      ),
    );

    const queues = [...props.queues];
    if (queues.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'On-demand queue depth',
          left: queues.map(([worker, q]) => q.metricApproximateNumberOfMessagesVisible({ period: infraPeriod, statistic: 'Maximum', label: worker })),
          width: 12,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: 'On-demand oldest message age (s)',
          left: queues.map(([worker, q]) => q.metricApproximateAgeOfOldestMessage({ period: infraPeriod, statistic: 'Maximum', label: worker })),
          width: 12,
          height: 6,
        }),
      );
    }
    const machines = [...props.stateMachines];
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Executions failed', left: machines.map(([key, m]) => m.metricFailed({ period: infraPeriod, statistic: 'Sum', label: key })), width: 12, height: 6 }),
      new cloudwatch.GraphWidget({ title: 'Executions timed out', left: machines.map(([key, m]) => m.metricTimedOut({ period: infraPeriod, statistic: 'Sum', label: key })), width: 12, height: 6 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        left: [...props.deadLetterQueues].map(([name, q]) => q.metricApproximateNumberOfMessagesVisible({ period: infraPeriod, statistic: 'Maximum', label: name })),
        width: 24,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms.values()], width: 24, height: Math.min(20, 2 + Math.ceil(alarms.size / 4)) }));
  }

  /**
   * CloudWatch publishes alarm notifications as its service principal: the topic's policy must let
   * it (this account's alarms only), and so must the key of an encrypted topic.
   */
  private allowAlarmsToPublish(topic: sns.ITopic, key: kms.IKey | undefined): void {
    const stack = Stack.of(this);
    const conditions = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    const principal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    topic.addToResourcePolicy(new iam.PolicyStatement({ principals: [principal], actions: ['sns:Publish'], resources: [topic.topicArn], conditions }));
    key?.addToResourcePolicy(new iam.PolicyStatement({ principals: [principal], actions: ['kms:GenerateDataKey*', 'kms:Decrypt'], resources: ['*'], conditions }));
  }
}
