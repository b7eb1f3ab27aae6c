/**
 * The anomaly path and the recovery Lambda of the local runtime: the real anomaly Lambda consumes
 * the emulated table stream with the deployed filter, publishes into a local SNS sink (printed by
 * the symphony), and starts the synthesized recovery state machine, whose real recovery Lambda acts
 * on the embedded table and on local stand-ins for EventBridge Scheduler, SQS mappings and the
 * on-call topic. Fakes stand only at the AWS boundary.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Alert, AlertMessage, RenderedMessage } from '../lib/domain/alerting.js';
import type { StateStore } from '../lib/domain/ports.js';
import { DynamoAlertStore } from '../lambdas/adapters/dynamo-alert-store.js';
import { DynamoIncidentStore } from '../lambdas/adapters/dynamo-incident-store.js';
import { DynamoOutbox } from '../lambdas/adapters/dynamo-outbox.js';
import { makeHandler as makeAnomalyHandler } from '../lambdas/anomaly/detector.js';
import { pipelineArnOf, registryScheduleNamesOf } from '../lambdas/recovery/config.js';
import { DynamoRecoveryStore } from '../lambdas/recovery/adapters.js';
import { InMemoryQueueAdapter, InMemoryScheduleAdapter } from '../lambdas/recovery/in-memory.js';
import { makeHandler as makeRecoveryHandler } from '../lambdas/recovery/recover.js';
import { REPORT_INSERT_PATTERN } from '../lib/stream-patterns.js';
import type { EmbeddedDynamo } from './embedded-dynamodb.js';
import type { ExecutionTime, SimulatedClock } from './execution-clock.js';
import type { LocalStateMachineRunner } from './step-functions-runner.js';
import { ExecutionAlreadyExists } from './step-functions-runner.js';
import type { StreamEvent, StreamHandler } from './stream-types.js';
import { logicalIdFromArn, resolveIntrinsics, type CfnTemplate } from './template-asl.js';

type LambdaHandler = (event: unknown) => Promise<unknown>;

export interface Page {
  readonly subject: string;
  readonly message: Readonly<Record<string, unknown>>;
  readonly atMs: number;
}

/** What the local SNS topics received. */
export class LocalAlertSink {
  /** Every message on the alert topic: single alerts (incident transitions) and MEDIUM digests. */
  readonly alerts: RenderedMessage<AlertMessage>[] = [];
  /** When each of `alerts` was published, epoch ms (the clock given; NaN without one). */
  readonly sentAtMs: number[] = [];
  readonly pages: Page[] = [];
  constructor(
    private readonly onAlert?: (message: RenderedMessage<AlertMessage>) => Promise<void> | void,
    private readonly now?: () => number,
  ) {}

  /** The alerts the messages carried, in order: a single alert's, each alert of a digest. */
  carried(): Alert[] {
    return this.alerts.flatMap((m) => (m.json.type === 'aurastream.alert-digest' ? [...m.json.digest.alerts] : [m.json.alert]));
  }

  async publish(message: RenderedMessage<AlertMessage>): Promise<void> {
    this.alerts.push(message);
    this.sentAtMs.push(this.now?.() ?? Number.NaN);
    await this.onAlert?.(message);
  }
}

/** A logger that drops everything: the local runtime prints its own summary. */
export const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, appendKeys: () => undefined, resetKeys: () => undefined };

type TemplateResource = { Type: string; Properties?: Record<string, unknown> };

/** A function's environment variables, intrinsics resolved the way the local runtime names things. */
function environmentOf(template: CfnTemplate, serviceName: string): Record<string, string> {
  for (const r of Object.values(template.Resources as Record<string, TemplateResource>)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    if (vars['POWERTOOLS_SERVICE_NAME'] !== serviceName) continue;
    return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(resolveIntrinsics(v, template))]));
  }
  return {};
}

function scheduleDetailsOf(template: CfnTemplate): { name: string; expression: string; timezone: string; description: string }[] {
  const out: { name: string; expression: string; timezone: string; description: string }[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources as Record<string, TemplateResource>)) {
    if (r.Type !== 'AWS::Scheduler::Schedule' || !r.Properties) continue;
    out.push({
      name: String(r.Properties['Name'] !== undefined ? resolveIntrinsics(r.Properties['Name'], template) : logicalId),
      expression: String(r.Properties['ScheduleExpression']),
      timezone: String(r.Properties['ScheduleExpressionTimezone'] ?? 'UTC'),
      description: String(r.Properties['Description'] ?? ''),
    });
  }
  return out;
}

/** Worker id → the MaximumConcurrency of its consumer's SQS event source mapping (absent when unbounded). */
export function consumerConcurrencyOf(template: CfnTemplate): Map<string, number> {
  const resources = template.Resources as Record<string, TemplateResource>;
  const out = new Map<string, number>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping' || !r.Properties) continue;
    const max = (r.Properties['ScalingConfig'] as { MaximumConcurrency?: unknown } | undefined)?.MaximumConcurrency;
    const fn = logicalIdFromArn(String(resolveIntrinsics(r.Properties['FunctionName'], template)));
    const vars = (resources[fn ?? '']?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const workerId = vars['WORKER_ID'];
    if (typeof max === 'number' && typeof workerId === 'string') out.set(workerId, max);
  }
  return out;
}

export interface SelfHealingOptions {
  readonly template: CfnTemplate;
  readonly dynamo: EmbeddedDynamo;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly store: StateStore;
  readonly runner: () => LocalStateMachineRunner;
  readonly clock: () => number;
  /**
   * The simulated clock, when executions run on their own time (execution-clock.ts): the anomaly
   * Lambda then runs each batch on the time of the execution that wrote its latest record, as the
   * real one runs just after the writes it reads (a recovery it starts starts at that time too).
   */
  readonly simulatedClock?: SimulatedClock;
  readonly sink: LocalAlertSink;
}

export interface SelfHealing {
  /** The recovery Lambda, for the runtime to serve. */
  readonly recoveryHandler: LambdaHandler;
  /** EventBridge Scheduler as the recoveries left it (slowed or restored expressions). */
  readonly schedules: InMemoryScheduleAdapter;
  /** The SQS event source mappings' ScalingConfig.MaximumConcurrency per worker, as the template sets it and recoveries raise it. */
  readonly queues: InMemoryQueueAdapter;
  /** Recovery executions started by the anomaly Lambda. */
  readonly recoveries: { name: string; executionArn: string; input: Record<string, unknown>; result: Promise<{ status: string }> }[];
  /** Stream records the anomaly Lambda could not read (its on-failure queue in AWS). */
  readonly invalidRecords: readonly unknown[];
  /** Delivers what the stream holds now to the anomaly Lambda. */
  flush(): Promise<void>;
  stop(): void;
  /** Resolves once the anomaly Lambda has no batch in flight (after `stop`, nothing new starts). */
  idle(): Promise<void>;
}

/** The logical ID of the recovery state machine: the one the anomaly Lambda starts. */
export function recoveryMachineOf(template: CfnTemplate): string | undefined {
  return logicalIdFromArn(environmentOf(template, 'anomaly')['RECOVERY_STATE_MACHINE_ARN'] ?? '');
}

export function startSelfHealing(options: SelfHealingOptions): SelfHealing {
  const { template } = options;
  const recoveryEnv = environmentOf(template, 'recovery');
  const recoveryMachine = recoveryMachineOf(template);
  const recoveries: SelfHealing['recoveries'] = [];
  const invalid: unknown[] = [];

  const anomaly = makeAnomalyHandler({
    windows: options.store,
    incidents: new DynamoIncidentStore(options.doc, options.tableName),
    alerts: new DynamoAlertStore(options.doc, options.tableName),
    // As deployed: alerts go through the notification outbox.
    outbox: new DynamoOutbox(options.doc, options.tableName),
    publisher: options.sink,
    recovery: {
      start: async ({ name, input }) => {
        if (!recoveryMachine) return;
        try {
          const execution = options.runner().startExecution(recoveryMachine, input, { name });
          recoveries.push({ name, executionArn: execution.executionArn, input: input as unknown as Record<string, unknown>, result: execution.result });
        } catch (e) {
          if (!(e instanceof ExecutionAlreadyExists)) throw e;
        }
      },
    },
    invalidRecords: { put: async (record) => { invalid.push(record); } },
    logger: silent,
    clock: options.clock,
    region: 'local-1',
  });
  const writers = writerTimes(options);
  const consumer = options.dynamo.stream.deliverTo(writers.onWriterTime(anomaly as StreamHandler), {
    tableName: options.tableName,
    filters: [REPORT_INSERT_PATTERN],
    batchSize: 25,
  });

  // The recovery finds pipelines and schedules by name (lib/registry/naming.ts), as deployed.
  const pipelineArnPrefix = recoveryEnv['PIPELINE_ARN_PREFIX'] ?? '';
  // Each update takes effect at the time of the recovery that made it (its own simulated time).
  const schedules = new InMemoryScheduleAdapter(scheduleDetailsOf(template), options.clock);
  const queues = new InMemoryQueueAdapter(consumerConcurrencyOf(template));
  const recoveryHandler = makeRecoveryHandler({
    store: options.store,
    recoveries: new DynamoRecoveryStore(options.doc, options.tableName),
    schedules,
    pipelines: {
      start: async (arn, name, input) => {
        const id = logicalIdFromArn(arn) ?? arn;
        try {
          const execution = options.runner().startExecution(id, input, { name });
          return { executionArn: execution.executionArn, alreadyStarted: false };
        } catch (e) {
          if (e instanceof ExecutionAlreadyExists) return { executionArn: `${arn}:${name}`, alreadyStarted: true };
          throw e;
        }
      },
    },
    queues,
    alerts: {
      page: async (subject, message) => {
        options.sink.pages.push({ subject, message, atMs: options.clock() });
      },
    },
    clock: options.clock,
    pipelineArnOf: pipelineArnOf(pipelineArnPrefix),
    scheduleNamesOf: registryScheduleNamesOf,
    logger: silent,
  }) as LambdaHandler;

  return {
    recoveryHandler,
    schedules,
    queues,
    recoveries,
    invalidRecords: invalid,
    flush: async () => {
      await consumer.flush();
    },
    stop: () => {
      consumer.stop();
      writers.stop();
    },
    idle: () => consumer.idle(),
  };
}

/**
 * Remembers, for each stream record written inside an execution, that execution's time (the
 * stream notifies its listeners synchronously, in the writer's context), and runs a stream
 * handler's batch on the latest of its records' writers' times (the global time for a record
 * written outside executions).
 */
function writerTimes(options: SelfHealingOptions): { onWriterTime(handler: StreamHandler): StreamHandler; stop(): void } {
  const clock = options.simulatedClock;
  if (clock === undefined) return { onWriterTime: (handler) => handler, stop: () => undefined };
  // Sequence number → the time of the execution that wrote it; in stream order.
  const times = new Map<string, ExecutionTime>();
  // Only the records the anomaly Lambda's mapping delivers (its table and filter) need a time.
  const unsubscribe = options.dynamo.stream.subscribe(
    (record) => {
      const time = clock.current();
      if (time !== undefined) times.set(record.dynamodb.SequenceNumber, time);
    },
    { tableName: options.tableName, filters: [REPORT_INSERT_PATTERN] },
  );
  return {
    onWriterTime: (handler) => (event: StreamEvent) => {
      let latest: ExecutionTime | undefined;
      let outside = false;
      let first: bigint | undefined;
      for (const r of event.Records) {
        const seq = BigInt(r.dynamodb.SequenceNumber);
        if (first === undefined || seq < first) first = seq;
        const time = times.get(r.dynamodb.SequenceNumber);
        if (time === undefined) outside = true;
        else if (latest === undefined || time.now() > latest.now()) latest = time;
      }
      // A record written outside executions counts the global time (an execution can be behind it).
      if (outside && latest !== undefined && latest.now() < clock.globalNow()) latest = undefined;
      // Records before the batch are checkpointed: they are never delivered again.
      for (const seq of times.keys()) {
        if (first === undefined || BigInt(seq) >= first) break;
        times.delete(seq);
      }
      return clock.runIn(latest, () => handler(event));
    },
    stop: unsubscribe,
  };
}
