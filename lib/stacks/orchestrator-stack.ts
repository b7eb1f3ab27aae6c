import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { OrchestratorConfig } from '../config.js';
import { AlertTopics } from '../constructs/alert-topics.js';
import { AnomalyDetector } from '../constructs/anomaly-detector.js';
import { ApiGatewayAccount } from '../constructs/api-gateway-account.js';
import { OnDemandQueue } from '../constructs/on-demand-queue.js';
import { HealthSweep } from '../constructs/health-sweep.js';
import { LiveUpdates } from '../constructs/live-updates.js';
import { OrchestratorDashboard } from '../constructs/orchestrator-dashboard.js';
import { StatusApi } from '../constructs/status-api.js';
import { RecoveryPipeline } from '../constructs/recovery-pipeline.js';
import { WebhookDelivery } from '../constructs/webhook-delivery.js';
import { OrchestratorFunction } from '../constructs/orchestrator-function.js';
import { OrchestratorTable } from '../constructs/orchestrator-table.js';
import { Pipeline } from '../constructs/pipeline.js';
import { SymphonySchedules } from '../constructs/symphony-schedules.js';
import { grantTableAccess } from '../constructs/table-access.js';
import { ALL_WORKERS, pascalCase, type WorkerSpec } from '../registry/index.js';
import { pipelineKeys, scheduleTargetRolePath } from '../registry/naming.js';
import { PipelineArns } from '../constructs/pipeline-arns.js';
import { WorkerStack } from './worker-stack.js';
import { PROTOCOL_STEP_TIMEOUT_SECONDS } from '../domain/retry-policy.js';

export interface OrchestratorStackProps extends StackProps {
  readonly config: OrchestratorConfig;
  /**
   * The worker registry to deploy.
   * @default ALL_WORKERS - the registry in lib/registry/workers.ts
   */
  readonly workers?: readonly WorkerSpec[];
  /**
   * The handler module of a worker's function.
   * @default - `lambdas/workers/<worker id>.ts`
   */
  readonly workerEntry?: (worker: WorkerSpec) => string;
}

/** Memory of the protocol Lambda (gate and record steps), in MB. */
export const PROTOCOL_MEMORY_MB = 256;
/** The topics' display names: the sender people see on their emails and confirmation requests. */
export const ALERTS_TOPIC_DISPLAY_NAME = 'AuraStream alerts';
export const ONCALL_TOPIC_DISPLAY_NAME = 'AuraStream on-call pages';
export { CONSUMER_OVERHEAD_SECONDS } from './worker-stack.js';

export const pipelineKey = (workerId: string, jobId: string): string => `${workerId}.${jobId}`;

/**
 * Every dead-letter and on-failure queue under `scope`: every SQS queue but the work queues, by a
 * stable name made of its construct path (e.g. `QueueGenerationWorkerDeadLetterQueue`).
 */
export function deadLetterQueuesOf(scope: Construct, workQueues: ReadonlySet<sqs.IQueue>): Map<string, sqs.Queue> {
  const found = new Map<string, sqs.Queue>();
  const prefix = `${scope.node.path}/`;
  for (const c of scope.node.findAll()) {
    if (!(c instanceof sqs.Queue) || workQueues.has(c)) continue;
    found.set(c.node.path.slice(prefix.length).replace(/[^A-Za-z0-9]/g, ''), c);
  }
  return found;
}

/**
 * The head orchestrator: every resource is derived from the worker registry.
 * - the table (its own construct, retained);
 * - one Lambda per worker and the protocol Lambda;
 * - one pipeline per job, and one per sub-pipeline (the intel cycle);
 * - one schedule per trigger;
 * - one queue and consumer per on-demand worker.
 */
export class OrchestratorStack extends Stack {
  readonly table: OrchestratorTable;
  readonly key: kms.Key;
  readonly protocolFunction: OrchestratorFunction;
  readonly workerFunctions: ReadonlyMap<string, OrchestratorFunction>;
  /** The on-demand consumers, by worker. */
  readonly consumerFunctions: ReadonlyMap<string, OrchestratorFunction>;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /** The shared schedule group and its dead-letter queue (the schedules are in the worker stacks). */
  readonly schedules: SymphonySchedules;
  /** One nested stack per worker, by worker id. */
  readonly workerStacks: ReadonlyMap<string, WorkerStack>;
  /** The pipelines by name: the prefix and the grants the shared functions use. */
  readonly pipelineArns: PipelineArns;
  readonly queues: ReadonlyMap<string, OnDemandQueue>;
  /** Attach to a producer's role to send on-demand jobs (every queue, and their key). */
  readonly producerPolicy: iam.ManagedPolicy;
  readonly workerSecrets: secretsmanager.Secret;
  readonly alerts: AlertTopics;
  readonly oncall: AlertTopics;
  readonly recovery: RecoveryPipeline;
  readonly anomalyDetector: AnomalyDetector;
  readonly healthSweep: HealthSweep;
  /** Signed webhooks, when the `alertWebhookUrl` context value is set. */
  readonly webhook: WebhookDelivery | undefined;
  /** Phase 5: the IAM-authorized HTTP status API. */
  readonly statusApi: StatusApi;
  /** The account-level API Gateway CloudWatch Logs role the WebSocket stage's access logs need. */
  readonly apiGatewayAccount: ApiGatewayAccount;
  /** Phase 5: the WebSocket API and the stream broadcaster. */
  readonly liveUpdates: LiveUpdates;
  /** Phase 5: the CloudWatch dashboard and alarms, derived from the registry. */
  readonly dashboard: OrchestratorDashboard;

  constructor(scope: Construct, id: string, props: OrchestratorStackProps) {
    super(scope, id, props);
    const workers = props.workers ?? ALL_WORKERS;
    const { config } = props;

    this.key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'Encrypts the orchestrator queues and topics.' });
    this.table = new OrchestratorTable(this, 'State');
    const tableEnv = { TABLE_NAME: this.table.table.tableName, REPORT_RETENTION_DAYS: String(config.reportRetentionDays) };

    this.workerSecrets = new secretsmanager.Secret(this, 'WorkerSecrets', {
      description: 'API credentials of the AuraStream workers (youtube_api_key, twitch_client_id, twitch_client_secret, generation_api_key). Fill in after the first deploy.',
      encryptionKey: this.key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ youtube_api_key: '', twitch_client_id: '', twitch_client_secret: '', generation_api_key: '' }),
        generateStringKey: 'unused',
      },
    });

    this.protocolFunction = new OrchestratorFunction(this, 'Protocol', {
      entry: 'lambdas/protocol/handler.ts',
      memorySizeMb: PROTOCOL_MEMORY_MB,
      timeout: Duration.seconds(PROTOCOL_STEP_TIMEOUT_SECONDS),
      environment: tableEnv,
      serviceName: 'protocol',
      description: 'Gate and Record steps of every pipeline: pause, circuit, dependencies, lock, score report.',
    });
    grantTableAccess(this.table.table, this.protocolFunction.fn, 'protocol');

    const workerEnvironment: Record<string, string> = {
      REPORT_RETENTION_DAYS: String(config.reportRetentionDays),
      YOUTUBE_API_BASE_URL: config.endpoints.youtubeApiBaseUrl,
      YOUTUBE_THUMBNAIL_BASE_URL: config.endpoints.youtubeThumbnailBaseUrl,
      TWITCH_API_BASE_URL: config.endpoints.twitchApiBaseUrl,
      TWITCH_AUTH_URL: config.endpoints.twitchAuthUrl,
      ...(config.endpoints.generationApiUrl !== undefined ? { GENERATION_API_URL: config.endpoints.generationApiUrl } : {}),
    };
    // The pipelines by name (lib/registry/naming.ts): the shared functions get a prefix, not a map.
    this.pipelineArns = new PipelineArns(this, 'PipelineArns', this.stackName);
    // The group and dead-letter queue every worker stack's schedules use.
    this.schedules = new SymphonySchedules(this, 'Schedules', { triggers: [], pipelineOf: () => { throw new Error('the shared schedules have no trigger'); }, key: this.key });

    const workerStacks = new Map<string, WorkerStack>();
    // A 'protocol' worker (graceful_shutdown) runs inside the protocol steps: it has no resources of its own.
    for (const worker of workers.filter((w) => w.executionModel !== 'protocol')) {
      workerStacks.set(
        worker.id,
        new WorkerStack(this, `Worker${pascalCase(worker.id)}Stack`, {
          worker,
          workers,
          stackName: this.stackName,
          table: this.table.table,
          key: this.key,
          protocolFunction: this.protocolFunction.fn,
          pipelineArns: this.pipelineArns,
          scheduleGroup: this.schedules.group,
          scheduleDeadLetterQueue: this.schedules.deadLetterQueue,
          workerSecrets: this.workerSecrets,
          workerEnvironment,
          ...(props.workerEntry ? { workerEntry: props.workerEntry } : {}),
        }),
      );
    }
    this.workerStacks = workerStacks;
    const collect = <T>(pick: (w: WorkerStack) => T | undefined): Map<string, T> =>
      new Map([...workerStacks].flatMap(([id, w]) => {
        const v = pick(w);
        return v === undefined ? [] : [[id, v] as const];
      }));
    this.workerFunctions = collect((w) => w.workerFunction);
    this.consumerFunctions = collect((w) => w.consumerFunction);
    const queues = collect((w) => w.queue);
    this.queues = queues;
    this.pipelines = new Map([...workerStacks.values()].flatMap((w) => [...w.pipelines]));

    // Producers of on-demand jobs (outside this stack): one managed policy to attach, and outputs.
    this.producerPolicy = new iam.ManagedPolicy(this, 'OnDemandProducerPolicy', {
      description: 'Send jobs to the AuraStream on-demand queues (sqs:SendMessage and the queues\' KMS key). Attach to the producers\' roles.',
    });
    for (const [workerId, q] of queues) {
      q.grantSend(this.producerPolicy);
      new CfnOutput(this, `${pascalCase(workerId)}QueueUrl`, { value: q.queue.queueUrl, description: `Send ${workerId} jobs here (SQS SendMessage).` });
    }
    if (queues.size > 0) {
      new CfnOutput(this, 'OnDemandProducerPolicyArn', { value: this.producerPolicy.managedPolicyArn, description: 'Attach to a producer\'s role to send on-demand jobs.' });
      new CfnOutput(this, 'QueueKeyArn', { value: this.key.keyArn, description: 'The KMS key that encrypts the on-demand queues (a producer needs kms:GenerateDataKey and kms:Decrypt on it).' });
    }

    const oncallEmail = config.oncallEmail ?? config.alertEmail;
    this.oncall = new AlertTopics(this, 'OnCall', {
      key: this.key,
      displayName: ONCALL_TOPIC_DISPLAY_NAME,
      ...(oncallEmail !== undefined ? { alertEmail: oncallEmail } : {}),
      emailSeverities: ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'],
    });

    // The alert topic before the sweep: the sweep delivers alerts left in the outbox.
    this.alerts = new AlertTopics(this, 'Alerts', { key: this.key, displayName: ALERTS_TOPIC_DISPLAY_NAME, ...(config.alertEmail !== undefined ? { alertEmail: config.alertEmail } : {}) });
    // The anomalies no report carries: missed runs, stuck or timed-out executions, slots without a report, queue depth, stale data.
    this.healthSweep = new HealthSweep(this, 'HealthSweep', {
      table: this.table.table,
      pipelines: this.pipelineArns,
      queues: new Map([...queues].map(([worker, q]) => [worker, q.queue])),
      key: this.key,
      scheduleGroup: this.schedules.group,
      workers,
      reportRetentionDays: config.reportRetentionDays,
      oncallTopic: this.oncall.topic,
      alertTopic: this.alerts.topic,
    });

    // Phases 3 and 4: alerts on the stream, and self-healing.
    this.webhook =
      config.alertWebhookUrl !== undefined ? new WebhookDelivery(this, 'AlertWebhook', { topic: this.alerts.topic, url: config.alertWebhookUrl, key: this.key }) : undefined;
    this.recovery = new RecoveryPipeline(this, 'Recovery', {
      table: this.table.table,
      pipelines: this.pipelineArns,
      oncallTopic: this.oncall.topic,
      scheduleGroup: this.schedules.group,
      scheduleTargetRolePath: scheduleTargetRolePath(this.stackName),
      consumerMappings: new Map([...queues].map(([worker, q]) => [worker, q.eventSourceMappingId])),
    });
    this.anomalyDetector = new AnomalyDetector(this, 'Anomaly', {
      table: this.table.table,
      alertTopic: this.alerts.topic,
      recoveryStateMachine: this.recovery.stateMachine,
      key: this.key,
    });

    // Phase 5: the status API, live updates, and the dashboard (last: it watches every queue above).
    this.statusApi = new StatusApi(this, 'StatusApi', { table: this.table.table, pipelines: this.pipelineArns, workers });
    this.apiGatewayAccount = new ApiGatewayAccount(this, 'ApiGatewayAccount');
    this.liveUpdates = new LiveUpdates(this, 'LiveUpdates', { table: this.table.table, key: this.key, apiGatewayAccount: this.apiGatewayAccount });
    const workQueues = new Set<sqs.IQueue>([...queues.values()].map((q) => q.queue));
    this.dashboard = new OrchestratorDashboard(this, 'Dashboard', {
      workers,
      stateMachines: new Map<string, sfn.IStateMachine>([
        ...pipelineKeys(workers).map((key) => {
          const [workerId = '', jobId = ''] = key.split('.');
          return [key, this.pipelineArns.stateMachine(this, workerId, jobId)] as const;
        }),
        ['recovery', this.recovery.stateMachine],
        ['backfill', this.statusApi.backfill.stateMachine],
      ]),
      queues: new Map([...queues].map(([worker, q]) => [worker, q.queue])),
      deadLetterQueues: deadLetterQueuesOf(this, workQueues),
      alarmTopic: this.alerts.topic,
      alarmTopicKey: this.key,
    });
    new CfnOutput(this, 'StatusApiUrl', { value: this.statusApi.url, description: 'The status API (IAM/SigV4: execute-api:Invoke).' });
    new CfnOutput(this, 'LiveUpdatesUrl', { value: this.liveUpdates.url, description: 'The live updates WebSocket (IAM/SigV4 on $connect).' });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
  }
}
