import { CfnOutput, Duration, Stack, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
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
import { ALL_WORKERS, functionTimeoutSeconds, pascalCase, lambdaWorkers, scheduledTriggers, type WorkerSpec } from '../registry/index.js';
import { buildIntelCycle, intelCycleChildren } from '../../statemachines/intel-cycle.js';
import { buildWorkerPipeline } from '../../statemachines/worker-pipeline.js';
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
/** Extra time an on-demand consumer has beyond its worker's step, in seconds. */
export const CONSUMER_OVERHEAD_SECONDS = 30;

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
  readonly schedules: SymphonySchedules;
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

    const endpointEnv: Record<string, string> = {
      YOUTUBE_API_BASE_URL: config.endpoints.youtubeApiBaseUrl,
      YOUTUBE_THUMBNAIL_BASE_URL: config.endpoints.youtubeThumbnailBaseUrl,
      TWITCH_API_BASE_URL: config.endpoints.twitchApiBaseUrl,
      TWITCH_AUTH_URL: config.endpoints.twitchAuthUrl,
      ...(config.endpoints.generationApiUrl !== undefined ? { GENERATION_API_URL: config.endpoints.generationApiUrl } : {}),
    };
    const workerFunctions = new Map<string, OrchestratorFunction>();
    for (const worker of lambdaWorkers(workers)) {
      const fn = new OrchestratorFunction(this, `Worker${pascalCase(worker.id)}`, {
        entry: props.workerEntry?.(worker) ?? `lambdas/workers/${worker.id}.ts`,
        memorySizeMb: worker.memoryMb,
        timeout: Duration.seconds(functionTimeoutSeconds(worker)),
        environment: { ...tableEnv, ...endpointEnv, WORKER_ID: worker.id, WORKER_SECRETS_ARN: this.workerSecrets.secretArn },
        serviceName: worker.id,
        description: `${worker.id}: ${worker.description}`.slice(0, 256),
      });
      grantTableAccess(this.table.table, fn.fn, 'worker');
      this.workerSecrets.grantRead(fn.fn);
      workerFunctions.set(worker.id, fn);
    }
    this.workerFunctions = workerFunctions;

    const pipelines = new Map<string, Pipeline>();
    for (const worker of lambdaWorkers(workers)) {
      const workerFunction = workerFunctions.get(worker.id)?.fn;
      if (!workerFunction) throw new Error(`worker "${worker.id}": no function`);
      for (const job of worker.jobs) {
        // On-demand jobs that fan out get a pipeline (started by the consumer); the rest run in the consumer.
        if (worker.executionModel === 'on-demand' && !job.fanOut) continue;
        pipelines.set(
          pipelineKey(worker.id, job.id),
          new Pipeline(this, `Pipeline${pascalCase(worker.id)}${pascalCase(job.id)}`, {
            worker,
            job,
            definition: (scope) => buildWorkerPipeline(scope, { worker, job, protocolFunction: this.protocolFunction.fn, workerFunction }),
            invokes: [this.protocolFunction.fn, workerFunction],
          }),
        );
      }
    }
    const pipelineOf = (workerId: string, jobId: string) => {
      const pipeline = pipelines.get(pipelineKey(workerId, jobId));
      if (!pipeline) throw new Error(`worker "${workerId}": no pipeline for job "${jobId}"`);
      return pipeline.stateMachine;
    };
    const refreshJobOf = (workerId: string): string => {
      const job = workers.find((w) => w.id === workerId)?.jobs.find((j) => j.schedules.length > 0);
      if (!job) throw new Error(`worker "${workerId}": no scheduled job can refresh its data`);
      return job.id;
    };
    for (const cycle of workers.filter((w) => w.executionModel === 'sub-pipeline')) {
      for (const job of cycle.jobs) {
        pipelines.set(
          pipelineKey(cycle.id, job.id),
          new Pipeline(this, `Pipeline${pascalCase(cycle.id)}${pascalCase(job.id)}`, {
            worker: cycle,
            job,
            definition: (scope) => buildIntelCycle(scope, { cycle, protocolFunction: this.protocolFunction.fn, pipelineOf, refreshJobOf }),
            invokes: [this.protocolFunction.fn],
            starts: intelCycleChildren(cycle, workers).map(({ worker, job }) => pipelineOf(worker, job)),
          }),
        );
      }
    }
    this.pipelines = pipelines;

    this.schedules = new SymphonySchedules(this, 'Schedules', {
      triggers: scheduledTriggers(workers),
      pipelineOf: (trigger) => pipelineOf(trigger.worker.id, trigger.job.id),
      key: this.key,
    });

    const queues = new Map<string, OnDemandQueue>();
    const consumerFunctions = new Map<string, OrchestratorFunction>();
    for (const worker of workers.filter((w) => w.executionModel === 'on-demand')) {
      const workerFunction = workerFunctions.get(worker.id)?.fn;
      if (!workerFunction) throw new Error(`worker "${worker.id}": no function`);
      const consumerTimeout = Duration.seconds(functionTimeoutSeconds(worker) + CONSUMER_OVERHEAD_SECONDS);
      const packPipelines = worker.jobs.filter((j) => j.fanOut).map((j) => pipelineOf(worker.id, j.id));
      const consumer = new OrchestratorFunction(this, `Consumer${pascalCase(worker.id)}`, {
        entry: 'lambdas/on-demand/consumer.ts',
        memorySizeMb: 256,
        timeout: consumerTimeout,
        environment: {
          ...tableEnv,
          WORKER_ID: worker.id,
          WORKER_FUNCTION_NAME: workerFunction.functionName,
          PACK_PIPELINES: JSON.stringify(Object.fromEntries(worker.jobs.filter((j) => j.fanOut).map((j) => [j.id, pipelineOf(worker.id, j.id).stateMachineArn]))),
        },
        serviceName: `${worker.id}-consumer`,
        description: `Consumes ${worker.id} jobs: runs each one and records its score report.`,
      });
      grantTableAccess(this.table.table, consumer.fn, 'consumer');
      consumerFunctions.set(worker.id, consumer);
      workerFunction.grantInvoke(consumer.fn);
      if (consumer.fn.role) {
        Validations.of(consumer.fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(workerFunction.node.defaultChild as CfnElement)}.Arn>:*]`,
          reason: 'lambda:InvokeFunction on the worker function and its versions/aliases (`:*`), as grantInvoke grants it; scoped to this one function.',
        });
      }
      for (const pipeline of packPipelines) pipeline.grantStartExecution(consumer.fn);
      queues.set(worker.id, new OnDemandQueue(this, `Queue${pascalCase(worker.id)}`, { workerId: worker.id, consumer: consumer.fn, consumerTimeout, key: this.key }));
    }
    this.queues = queues;
    this.consumerFunctions = consumerFunctions;
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
      pipelines: new Map([...pipelines].map(([key, p]) => [key, p.stateMachine])),
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
      pipelines: new Map([...pipelines].map(([key, p]) => [key, p.stateMachine])),
      oncallTopic: this.oncall.topic,
      scheduleGroup: this.schedules.group,
      schedules: this.schedules.schedules,
      scheduleTargetRoles: RecoveryPipeline.scheduleTargetRolesOf(this),
      consumerMappings: new Map([...queues].map(([worker, q]) => [worker, q.eventSourceMappingId])),
    });
    this.anomalyDetector = new AnomalyDetector(this, 'Anomaly', {
      table: this.table.table,
      alertTopic: this.alerts.topic,
      recoveryStateMachine: this.recovery.stateMachine,
      key: this.key,
    });

    // Phase 5: the status API, live updates, and the dashboard (last: it watches every queue above).
    const manualKeys = new Set(workers.filter((w) => w.executionModel === 'scheduled' || w.executionModel === 'sub-pipeline').flatMap((w) => w.jobs.map((j) => pipelineKey(w.id, j.id))));
    this.statusApi = new StatusApi(this, 'StatusApi', {
      table: this.table.table,
      pipelines: new Map([...pipelines].filter(([key]) => manualKeys.has(key)).map(([key, p]) => [key, p.stateMachine])),
    });
    this.apiGatewayAccount = new ApiGatewayAccount(this, 'ApiGatewayAccount');
    this.liveUpdates = new LiveUpdates(this, 'LiveUpdates', { table: this.table.table, key: this.key, apiGatewayAccount: this.apiGatewayAccount });
    const workQueues = new Set<sqs.IQueue>([...queues.values()].map((q) => q.queue));
    this.dashboard = new OrchestratorDashboard(this, 'Dashboard', {
      workers,
      stateMachines: new Map<string, sfn.IStateMachine>([...[...pipelines].map(([key, p]) => [key, p.stateMachine] as const), ['recovery', this.recovery.stateMachine], ['backfill', this.statusApi.backfill.stateMachine]]),
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
