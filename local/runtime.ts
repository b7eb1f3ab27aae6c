/**
 * The local runtime: the synthesized template run in-process. It is the embedded default behind
 * `npm start` and the end-to-end harness behind the tests.
 *
 * - The state machines are the template's own definitions (template-asl.ts), run by
 *   aws-local-stepfunctions (step-functions-runner.ts).
 * - Every Lambda task calls the real handler code in-process: the protocol Lambda, the workers
 *   (or test doubles given in `workerHandlers`) and the on-demand consumers.
 * - DynamoDB is dynalite with an emulated stream (embedded-dynamodb.ts), with the table created
 *   from the template's own properties.
 * Fakes stand only at the AWS boundary: the clock is simulated, and Wait states skip ahead on it.
 * Each execution runs on its own simulated time (execution-clock.ts): a Wait skips ahead only the
 * waiting execution's time, so the runs in flight next to it still measure their own duration.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STACK_NAME } from '../lib/stack-name.js';
import { DynamoStateStore, documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from './embedded-dynamodb.js';
import { ExecutionTimes, SimulatedClock } from './execution-clock.js';
import { recoveryMachineOf, startSelfHealing, type LocalAlertSink, type SelfHealing } from './self-healing.js';
import { createLocalStateMachineRunner, type LocalExecution, type LocalStateMachineRunner, type ResolveTask } from './step-functions-runner.js';
import { extractStateMachines, logicalIdFromArn, type CfnTemplate } from './template-asl.js';
import { cachedBySources, type SourceCacheOptions } from './template-cache.js';

export { SimulatedClock };

// The AWS SDK warns that releases after January 2027 need Node 22; the deployed Lambdas run Node 24.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export type LambdaHandler = (event: unknown) => Promise<unknown>;

/**
 * What the template is synthesized from: the app, its constructs, registry and handlers, the synth
 * options (synthesize.ts) and the library versions (template-cache.ts).
 */
export const TEMPLATE_SOURCES: SourceCacheOptions = {
  root: fileURLToPath(new URL('..', import.meta.url)),
  sources: ['lib', 'lambdas', 'statemachines', 'local/runtime.ts', 'local/synthesize.ts', 'local/nested-templates.ts', 'package-lock.json', 'cdk.json'],
  dir: fileURLToPath(new URL('../node_modules/.cache/aurastream-template/', import.meta.url)),
};

/**
 * synthesize.ts's value, computed in a child process: aws-cdk-lib loads there, never in this
 * process (a run from the cache does not need it).
 */
function synthesizedInChild<T>(name: 'template' | 'table-properties'): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./synthesize.ts', import.meta.url)), name], {
    cwd: TEMPLATE_SOURCES.root,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as T;
}

/**
 * The app synthesized as `cdk synth` would but without bundling or cdk-nag (synthesize.ts); read
 * from the cache when the sources have not changed since the last synth (template-cache.ts).
 */
export function synthesizeTemplate(): CfnTemplate {
  return cachedBySources('template', () => synthesizedInChild<CfnTemplate>('template'), TEMPLATE_SOURCES);
}

/** The `Properties` of the orchestrator table alone, as its construct synthesizes them (adapter tests, benchmarks). */
export function orchestratorTableProperties(): Record<string, unknown> {
  return cachedBySources('table-properties', () => synthesizedInChild<Record<string, unknown>>('table-properties'), TEMPLATE_SOURCES);
}

export interface LocalRuntimeOptions {
  readonly clock: SimulatedClock;
  /**
   * The recovery state machine's waits pass in the world's time: each is held (execution-clock.ts
   * `hold`) until the global time reaches its end, so only a driver that moves the global time on
   * and releases them (the symphony) may turn this on. Off, they skip ahead on the recovery's own
   * time. @default false
   */
  readonly holdRecoveryWaits?: boolean;
  /** Worker handlers by worker id; a worker without one fails its task with `ConfigurationError`. */
  readonly workerHandlers?: Readonly<Record<string, LambdaHandler>>;
  /** @default the app synthesized in-process */
  readonly template?: CfnTemplate;
  /**
   * Runs the anomaly Lambda on the stream and serves the recovery Lambda, publishing into this
   * sink. @default off - the pipelines alone
   */
  readonly alertSink?: LocalAlertSink;
  /**
   * Keeps the table in LevelDB in a temporary directory instead of in memory (embedded-dynamodb.ts
   * `onDisk`): for runs of days, whose table would otherwise grow the heap. @default false
   */
  readonly tableOnDisk?: boolean;
}

export interface RequestCounts {
  /** DynamoDB requests by command name (PutItem, UpdateItem, BatchGetItem, ...). */
  readonly dynamodb: Record<string, number>;
  /** Lambda invocations by function logical ID. */
  readonly lambda: Record<string, number>;
}

export interface LocalRuntime {
  readonly template: CfnTemplate;
  readonly runner: LocalStateMachineRunner;
  readonly dynamo: EmbeddedDynamo;
  readonly tableName: string;
  readonly store: DynamoStateStore;
  readonly counts: RequestCounts;
  /** The anomaly path and recoveries, when an alert sink was given. */
  readonly selfHealing: SelfHealing | undefined;
  /** The logical ID of a job's pipeline. */
  pipelineOf(workerId: string, jobId: string): string;
  /** Starts a job's pipeline, as its schedule would. */
  start(workerId: string, jobId: string, input: Record<string, unknown>, name?: string): LocalExecution;
  resetCounts(): void;
  /**
   * Stops the stream consumers, aborts every running execution (no task starts from then on), waits
   * for the Lambda handlers in flight and the anomaly batch in flight, then closes the table.
   */
  close(): Promise<void>;
}

type ProtocolEvent = { executionId?: unknown; startedAt?: unknown } | null;

type FunctionRole = { kind: 'protocol' } | { kind: 'recovery' } | { kind: 'worker'; workerId: string } | { kind: 'consumer'; workerId: string };

type TemplateResource = { Type: string; Properties?: Record<string, unknown> };

function functionRoles(template: CfnTemplate): Map<string, FunctionRole> {
  const roles = new Map<string, FunctionRole>();
  for (const [id, r] of Object.entries(template.Resources as Record<string, TemplateResource>)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = ((r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const service = String(vars['POWERTOOLS_SERVICE_NAME'] ?? '');
    const workerId = typeof vars['WORKER_ID'] === 'string' ? vars['WORKER_ID'] : undefined;
    if (service === 'protocol') roles.set(id, { kind: 'protocol' });
    else if (service === 'recovery') roles.set(id, { kind: 'recovery' });
    else if (workerId && service === `${workerId}-consumer`) roles.set(id, { kind: 'consumer', workerId });
    else if (workerId) roles.set(id, { kind: 'worker', workerId });
  }
  return roles;
}

function tableOf(template: CfnTemplate): { logicalId: string; properties: Record<string, unknown> } {
  const tables = Object.entries(template.Resources as Record<string, TemplateResource>).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
  const [entry] = tables;
  if (tables.length !== 1 || !entry) throw new Error(`expected one DynamoDB table in the template, found ${tables.length}`);
  return { logicalId: entry[0], properties: entry[1].Properties ?? {} };
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const template = options.template ?? synthesizeTemplate();
  const { clock } = options;
  // Every stream consumer here is attached live; none reads past records, so none are kept (a
  // 24-hour run would otherwise hold every image it wrote, ~0.5 GB).
  const dynamo = await startEmbeddedDynamo({ clock: () => clock.now(), streamRetentionSeconds: 0, onDisk: options.tableOnDisk === true });
  const table = tableOf(template);
  // The template's Ref to the table resolves to its logical ID: that is the local table name.
  const tableName = table.logicalId;
  await dynamo.createTableFromTemplate(table.properties, tableName);

  const counts: { dynamodb: Record<string, number>; lambda: Record<string, number> } = { dynamodb: {}, lambda: {} };
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.dynamodb[name] = (counts.dynamodb[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const store = new DynamoStateStore(documentClient(dynamo.client as DynamoDBClient), tableName);

  // The handlers read their configuration at module scope, as in Lambda: set it before loading them.
  process.env['TABLE_NAME'] = tableName;
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
  const protocolModule = await import('../lambdas/protocol/handler.js');
  const protocol = protocolModule.makeHandler({
    store,
    clock: () => clock.now(),
    logger: { appendKeys: () => undefined, resetKeys: () => undefined, info: () => undefined, warn: () => undefined },
  }) as LambdaHandler;

  // The self-healing path starts executions on the runner, which is created below.
  const runnerRef: { current?: LocalStateMachineRunner } = {};
  const selfHealing = options.alertSink
    ? startSelfHealing({
        template,
        dynamo,
        doc: documentClient(dynamo.client as DynamoDBClient),
        tableName,
        store,
        runner: () => {
          if (!runnerRef.current) throw new Error('the runner is not started yet');
          return runnerRef.current;
        },
        clock: () => clock.now(),
        simulatedClock: clock,
        sink: options.alertSink,
      })
    : undefined;

  const roles = functionRoles(template);
  const handlerFor = (logicalId: string): LambdaHandler => {
    const role = roles.get(logicalId);
    if (!role) throw new NamedError('Lambda.ResourceNotFoundException', `no function ${logicalId} in the template`);
    if (role.kind === 'protocol') return protocol;
    if (role.kind === 'recovery') {
      if (!selfHealing) throw new NamedError('ConfigurationError', 'the local runtime was started without self-healing');
      return selfHealing.recoveryHandler;
    }
    const worker = options.workerHandlers?.[role.workerId];
    if (role.kind === 'worker' && worker) return worker;
    throw new NamedError('ConfigurationError', `no local handler for ${role.kind} of ${role.workerId}`);
  };

  // Each running execution's simulated time (see execution-clock.ts).
  const executionTimes = new ExecutionTimes(clock);
  // `$$.Execution.StartTime` is the library's real time; the protocol measures bounded waits from
  // it, so the runtime gives it the execution's start on the simulated clock instead.
  const simulatedStart = new Map<string, string>();
  const onSimulatedClock = (event: ProtocolEvent): void => {
    if (typeof event?.executionId !== 'string') return;
    let start = simulatedStart.get(event.executionId);
    if (start === undefined) {
      start = new Date(executionTimes.of(event.executionId)?.startMs ?? clock.now()).toISOString();
      simulatedStart.set(event.executionId, start);
    }
    event.startedAt = start;
  };
  // close(): no task starts once closing; the handlers in flight are awaited before the table closes.
  let closing = false;
  const inFlight = new Set<Promise<unknown>>();
  const resolveTask: ResolveTask = async (resource, parameters, ctx) => {
    // Lambda tasks use the function ARN as Resource (payloadResponseOnly) or lambda:invoke.
    const isInvoke = resource.endsWith(':states:::lambda:invoke');
    const target = isInvoke ? String((parameters as { FunctionName?: unknown }).FunctionName ?? '') : resource;
    const logicalId = logicalIdFromArn(target);
    if (!logicalId || !target.includes(':lambda:')) throw new NamedError('States.Runtime', `the local runtime does not serve ${resource}`);
    counts.lambda[logicalId] = (counts.lambda[logicalId] ?? 0) + 1;
    const payload = isInvoke ? (parameters as { Payload?: unknown }).Payload : parameters;
    // A JSON round trip, as Lambda serializes the event and the result.
    const event = JSON.parse(JSON.stringify(payload ?? null)) as unknown;
    const isProtocol = roles.get(logicalId)?.kind === 'protocol';
    if (isProtocol) onSimulatedClock(event as ProtocolEvent);
    if (closing) throw new NamedError('Lambda.ServiceException', 'the local runtime is closing');
    const handler = handlerFor(logicalId);
    // The execution's context flows into its tasks from its start already; entering it again here
    // keeps the handler (and whatever it triggers) on the execution's time whatever the library does.
    const call = clock.runIn(executionTimes.of(ctx.executionArn) ?? clock.current(), () => handler(event));
    inFlight.add(call);
    try {
      const result = await call;
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } finally {
      inFlight.delete(call);
    }
  };

  const machines = extractStateMachines(template);
  const heldMachine = options.holdRecoveryWaits === true ? recoveryMachineOf(template) : undefined;
  const runner = createLocalStateMachineRunner({
    definitions: [...machines.values()],
    resolveTask,
    timing: {
      // Waits skip ahead on the waiting execution's time only; retries back off instantly (their count still shows).
      // A `SecondsPath`/`TimestampPath` wait arrives resolved against its input (step-functions-runner.ts).
      waitOverride: (info) => {
        const time = executionTimes.of(info.executionArn);
        const now = time ? time.now() : clock.now();
        const until = info.timestamp !== undefined ? Date.parse(info.timestamp) : undefined;
        const ms = until !== undefined && Number.isFinite(until) ? Math.max(0, until - now) : (info.seconds ?? 0) * 1000;
        if (time) time.advance(ms);
        else clock.advance(ms);
        return 0;
      },
      retryIntervalMs: 0,
      // With holdRecoveryWaits, a recovery's wait is held until the global time reaches its end.
      holdWait: (info) => {
        if (heldMachine === undefined || info.stateMachineLogicalId !== heldMachine) return undefined;
        const time = executionTimes.of(info.executionArn);
        const now = time ? time.now() : clock.now();
        const until = info.timestamp !== undefined ? Date.parse(info.timestamp) : now + (info.seconds ?? 0) * 1000;
        if (!(until > now)) return undefined;
        return clock.hold(info.executionArn, until).then(() => time?.catchUp(until));
      },
    },
    // Every execution runs on its own time (ExecutionTimes: a `.sync` child starts at its parent's,
    // anything else at its starter's).
    scopeExecution: (execution, syncParent) => {
      const scope = executionTimes.scopeExecution(execution, syncParent);
      return {
        run: scope.run,
        ended: () => {
          scope.ended();
          simulatedStart.delete(execution.executionArn);
        },
      };
    },
  });

  runnerRef.current = runner;
  const byName = new Map<string, string>();
  for (const m of machines.values()) if (m.stateMachineName) byName.set(m.stateMachineName, m.logicalId);
  const pipelineOf = (workerId: string, jobId: string): string => {
    const logicalId = byName.get(`${STACK_NAME}-${workerId}-${jobId}`);
    if (!logicalId) throw new Error(`no pipeline for ${workerId}.${jobId}`);
    return logicalId;
  };

  return {
    template,
    runner,
    dynamo,
    tableName,
    store,
    counts,
    selfHealing,
    pipelineOf,
    start: (workerId, jobId, input, name) => runner.startExecution(pipelineOf(workerId, jobId), { worker: workerId, job: jobId, ...input }, name !== undefined ? { name } : {}),
    resetCounts: () => {
      counts.dynamodb = {};
      counts.lambda = {};
    },
    close: async () => {
      // Stop what could still write, then let what is writing finish, then close the table: an
      // execution or handler left running would otherwise fail on a closed database.
      closing = true;
      selfHealing?.stop();
      await selfHealing?.idle();
      await runner.stopAll();
      // A recovery held in a wait gave it up when it was aborted above: drop the waits it left on the clock.
      clock.releaseAll();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await dynamo.close();
    },
  };
}
