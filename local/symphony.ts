/**
 * The local symphony: every EventBridge schedule found in the synthesized template, driven on a
 * simulated clock, starting the template's own state machines in the local runtime, with the real
 * workers calling the sandbox APIs on loopback. Everything that is written to the table streams
 * out; the symphony collects the score reports into a timeline and the report card.
 *
 * Time model (documented in the README): the clock advances slot by slot in simulated time. Within
 * a slot, every due execution runs to completion concurrently; workers take the real time they
 * take, which the simulated clock counts at real speed. Each execution runs on its own simulated
 * time (execution-clock.ts): a dependency wait advances the waiting execution's time by what the
 * gate asked, and neither a wait nor the jump to the next slot moves the other executions in flight.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { join } from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { slotAttr } from '../lib/domain/lock.js';
import { normalizeIso, STATE_SK } from '../lib/domain/worker-state.js';
import { DIGEST_MESSAGE_TYPE, renderAlert, type Alert, type AlertMessage, type DigestEnvelope, type RenderedMessage } from '../lib/domain/alerting.js';
import { DynamoOutbox } from '../lambdas/adapters/dynamo-outbox.js';
import type { Incident } from '../lib/domain/incident.js';
import { occurrences } from '../lib/domain/schedule-math.js';
import type { WorkerScoreReport } from '../lib/domain/score-report.js';
import { documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { DynamoDataStore } from '../lambdas/kit/data-store.js';
import type { KitLogger } from '../lambdas/kit/define-worker.js';
import { InMemorySecretSource } from '../lambdas/kit/secrets.js';
import { clearTwitchTokenCache } from '../lambdas/workers/logic/common.js';
import { WORKER_HANDLERS } from '../lambdas/workers/index.js';
import { DynamoIncidentStore } from '../lambdas/adapters/dynamo-incident-store.js';
import { DynamoHealthFindingStore, DynamoRecoveryOutcomeReader, DynamoReportReader } from '../lambdas/sweep/adapters.js';
import { ENDED_STATUSES, type EndedExecution, type ExecutionLister, type ListedExecution, type QueueDepthReader } from '../lambdas/sweep/ports.js';
import { runSweep, type SweepDeps, type SweepSummary } from '../lambdas/sweep/sweep.js';
import { pipelineArnsOf } from '../lib/registry/naming.js';
import { ALL_WORKERS, isWorkerId, workerById, type WorkerSpec } from '../lib/registry/index.js';
import { LocalQueues, LOCAL_BATCH_SIZE } from './local-queues.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from './runtime.js';
import { startSandbox, type Sandbox } from './sandbox/server.js';
import { LocalAlertSink, silent } from './self-healing.js';
import { resolveIntrinsics, logicalIdFromArn, type CfnTemplate } from './template-asl.js';
import { SharedMemoryMeter } from './memory-meter.js';
import { RecordList } from './record-list.js';
import { createTempDir } from './temp-dir.js';

/** One EventBridge schedule as the template declares it. */
export interface TemplateSchedule {
  readonly logicalId: string;
  /** Its name in Scheduler (the recovery slows it by name): `Name` (the trigger key), else the logical ID. */
  readonly name: string;
  readonly expression: string;
  readonly timezone: string;
  /** Logical ID of the target state machine. */
  readonly stateMachine: string;
  /** The target input, with `<aws.scheduler.scheduled-time>` still in it. */
  readonly inputTemplate: string;
}

export function schedulesOf(template: CfnTemplate): TemplateSchedule[] {
  const out: TemplateSchedule[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
    if (r.Type !== 'AWS::Scheduler::Schedule' || !r.Properties) continue;
    if (r.Properties['State'] === 'DISABLED') continue;
    const target = r.Properties['Target'] as { Arn: unknown; Input?: unknown };
    const arn = String(resolveIntrinsics(target.Arn, template));
    // The symphony drives the state-machine targets; the health sweep's Lambda target is not run locally yet.
    if (!arn.includes(':states:')) continue;
    const stateMachine = logicalIdFromArn(arn);
    if (!stateMachine) throw new Error(`schedule ${logicalId}: cannot resolve its target ${arn}`);
    out.push({
      logicalId,
      name: r.Properties['Name'] !== undefined ? String(resolveIntrinsics(r.Properties['Name'], template)) : logicalId,
      expression: String(r.Properties['ScheduleExpression']),
      timezone: String(r.Properties['ScheduleExpressionTimezone'] ?? 'UTC'),
      stateMachine,
      inputTemplate: String(resolveIntrinsics(target.Input ?? '{}', template)),
    });
  }
  return out.sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

/** A schedule whose target is a Lambda function (the health sweep's). */
export interface LambdaSchedule {
  readonly logicalId: string;
  readonly expression: string;
  readonly timezone: string;
  /** Logical ID of the target function. */
  readonly functionId: string;
  /** The function's environment variables, intrinsics resolved. */
  readonly environment: Readonly<Record<string, string>>;
}

export function lambdaSchedulesOf(template: CfnTemplate): LambdaSchedule[] {
  const resources = template.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const out: LambdaSchedule[] = [];
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Scheduler::Schedule' || !r.Properties) continue;
    if (r.Properties['State'] === 'DISABLED') continue;
    const target = r.Properties['Target'] as { Arn: unknown };
    const arn = String(resolveIntrinsics(target.Arn, template));
    if (!arn.includes(':lambda:')) continue;
    const functionId = logicalIdFromArn(arn);
    if (!functionId) throw new Error(`schedule ${logicalId}: cannot resolve its target ${arn}`);
    const vars = ((resources[functionId]?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    out.push({
      logicalId,
      expression: String(r.Properties['ScheduleExpression']),
      timezone: String(r.Properties['ScheduleExpressionTimezone'] ?? 'UTC'),
      functionId,
      environment: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(resolveIntrinsics(v, template))])),
    });
  }
  return out.sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

/** A schedule firing: what EventBridge Scheduler would send at `atMs`. */
export interface Firing {
  readonly atMs: number;
  readonly schedule: TemplateSchedule;
  readonly input: Record<string, unknown>;
}

export function firings(schedules: readonly TemplateSchedule[], fromMs: number, toMs: number): Firing[] {
  const all: Firing[] = [];
  for (const schedule of schedules) {
    for (const atMs of occurrences(schedule.expression, schedule.timezone, fromMs, toMs)) {
      // Scheduler renders the scheduled time without milliseconds.
      const time = new Date(atMs).toISOString().replace('.000Z', 'Z');
      all.push({ atMs, schedule, input: JSON.parse(schedule.inputTemplate.replaceAll('<aws.scheduler.scheduled-time>', time)) as Record<string, unknown> });
    }
  }
  return all.sort((a, b) => a.atMs - b.atMs || a.schedule.logicalId.localeCompare(b.schedule.logicalId));
}

export interface TimelineEntry {
  readonly atMs: number;
  readonly worker: string;
  readonly job: string;
  readonly status: string;
  readonly skipReason: string | null;
  readonly overallScore: number | null;
  readonly anomalies: readonly string[];
}

export interface SymphonyOptions {
  readonly startMs: number;
  /** Simulated hours to run; `Infinity` runs until the process stops (`--serve`), planning a day ahead at a time. */
  readonly hours: number;
  readonly seed: number;
  readonly onProgress?: (done: number, total: number, atMs: number) => void;
  /** Called with the runtime and sandbox before the first slot (scenarios inject faults here). */
  readonly prepare?: (ctx: SymphonyContext) => Promise<void> | void;
  /** Called before each slot runs. */
  readonly beforeSlot?: (ctx: SymphonyContext, atMs: number) => Promise<void> | void;
  readonly template?: CfnTemplate;
  /** Called with every alert the local SNS topic receives (e.g. signed webhook delivery). */
  readonly onAlert?: (message: RenderedMessage<AlertMessage>) => Promise<void>;
  /** Waits in real time until each slot's time instead of jumping (`--realtime`). */
  readonly realtime?: boolean;
  /**
   * Every this many simulated hours, items whose TTL attribute has passed are deleted, as DynamoDB's
   * TTL would (with its REMOVE stream records). A long run would otherwise keep every expired lock,
   * window and alert. @default 6
   */
  readonly ttlSweepEveryHours?: number;
  /**
   * Keeps the table (LevelDB, local/runtime.ts `tableOnDisk`) and the run's record of score
   * reports, health sweeps and queue polls (JSON lines, local/record-list.ts, read back at the end)
   * in temporary directories, removed at the end, instead of in memory: the heap then does not
   * grow with the length of the run. @default on for runs longer than a day (and open-ended
   * ones), off for a day or less
   */
  readonly onDisk?: boolean;
  /**
   * How far ahead firings are planned, in simulated hours: the plan moves on by this much at a
   * time, and the firings already run leave it as their slots (`firedSlots`, on disk with the rest
   * of the record when `onDisk`). A run that never ends (`--serve`) then does not keep every firing
   * it ran. @default 24 (a run of a day or less is planned whole)
   */
  readonly planAheadHours?: number;
}

/** A worker that fails with `errorName` during a window of simulated time (a crash loop, say). */
export interface WorkerFault {
  /** Only this job of the worker fails (the invocation's `job`); @default every job of the worker */
  readonly job?: string;
  readonly fromMs: number;
  readonly untilMs: number;
  readonly errorName: string;
  readonly message: string;
}

export interface SymphonyContext {
  readonly runtime: LocalRuntime;
  /** The on-demand queues (SQS stand-ins), polled every simulated minute while they hold messages. */
  readonly queues: LocalQueues;
  /** Runs `action` at `atMs` of simulated time, before that minute's slot (scenarios: a flood of jobs). */
  at(atMs: number, action: (ctx: SymphonyContext) => Promise<void> | void): void;
  readonly sandbox: Sandbox;
  readonly clock: SimulatedClock;
  readonly startMs: number;
  /** Worker id → an injected fault (scenarios). */
  readonly workerFaults: Map<string, WorkerFault>;
  /** Worker id → memory pressure: its runs in the window peak at `percent` of their memory limit (scenarios). */
  readonly workerMemory: Map<string, MemoryPressure>;
}

/** A worker whose runs peak at `percent` of their memory limit during a window of simulated time. */
export interface MemoryPressure {
  readonly fromMs: number;
  readonly untilMs: number;
  readonly percent: number;
}

export interface RecoveryOutcome {
  readonly name: string;
  readonly worker: string;
  readonly anomaly: string;
  readonly status: string;
  readonly atMs: number;
}

export interface AlertLine {
  readonly atMs: number;
  readonly severity: string;
  readonly worker: string;
  readonly anomaly: string;
  readonly subject: string;
  /** The incident transition the message announces (OPENED, RESOLVED); null for a plain alert. */
  readonly transition: string | null;
  readonly incidentId: string | null;
  /** When the message carrying it was published (a MEDIUM one in a digest, up to 15 min after it was raised). */
  readonly sentAtMs: number;
  /** The digest message that carried it; null when it went out alone. */
  readonly digestId: string | null;
}

/** A circuit changing state, as the worker's STATE item records it. */
export interface CircuitTransition {
  readonly atMs: number;
  readonly worker: string;
  /** Circuits are per job (`circuit_<job>` on the worker's STATE item). */
  readonly job: string;
  readonly from: string;
  readonly to: string;
  readonly consecutiveFailures: number;
}

/** An anomaly the health sweep found (a HEALTH# finding item): missed or stuck runs, queue depth, stale data. */
export interface SweepAnomaly {
  readonly atMs: number;
  readonly worker: string;
  readonly job: string | null;
  readonly anomaly: string;
  readonly severity: string;
  readonly detail: string;
}

/** A schedule a recovery changed: when, which job (worker.job), and its new expression. */
export interface ScheduleChange {
  readonly atMs: number;
  /** The schedule's logical id in the template. */
  readonly name: string;
  /** `worker.job` of the pipeline it starts. */
  readonly job: string;
  readonly expression: string;
}

export interface SweepLine {
  readonly atMs: number;
  readonly findings: number;
  readonly written: number;
  /** Stuck executions stopped, and ended (TIMED_OUT, ABORTED) executions recorded with a new report. */
  readonly stopped: readonly string[];
  readonly recorded: readonly string[];
  readonly errors: readonly string[];
}

export interface QueuePoll {
  readonly atMs: number;
  readonly worker: string;
  /** The depth before the poll. */
  readonly depth: number;
  /** Concurrent batches allowed (the mapping's MaximumConcurrency). */
  readonly concurrency: number;
  readonly received: number;
  readonly done: number;
  readonly retried: number;
  /** Held by the gate: sent again, delayed (no receive counted). */
  readonly held: number;
  readonly deadLettered: number;
}

export interface QueueSummary {
  readonly polls: readonly QueuePoll[];
  /** Worker → messages still waiting at the end. */
  readonly depths: Readonly<Record<string, number>>;
  /** Worker → the request ids still waiting at the end. */
  readonly waiting: Readonly<Record<string, readonly string[]>>;
  /** Worker → the request ids in the dead-letter queue. */
  readonly deadLettered: Readonly<Record<string, readonly string[]>>;
  /** Worker → the consumers' maximum concurrency at the end. */
  readonly concurrency: Readonly<Record<string, number>>;
}

/** A schedule firing that ran: the job it started and its slot. */
export interface FiredSlot {
  readonly worker: string;
  readonly job: string;
  readonly atMs: number;
}

export interface SymphonyResult {
  readonly startMs: number;
  readonly endMs: number;
  readonly firings: number;
  /** Every schedule firing: the job it started and its slot. */
  readonly firedSlots: readonly FiredSlot[];
  readonly executions: { readonly succeeded: number; readonly failed: number; readonly other: number };
  readonly timeline: readonly TimelineEntry[];
  readonly reports: readonly WorkerScoreReport[];
  readonly circuits: Readonly<Record<string, string>>;
  /** Every circuit state change in the run, in order (OPEN, HALF_OPEN for a probe, CLOSED). */
  readonly circuitTransitions: readonly CircuitTransition[];
  /** The anomalies the health sweep found (those from score reports are on the reports). */
  readonly sweepAnomalies: readonly SweepAnomaly[];
  readonly alerts: readonly AlertLine[];
  readonly pages: readonly { readonly subject: string; readonly atMs: number }[];
  /** Every incident key's latest incident at the end (lib/domain/incident.ts). */
  readonly incidents: readonly Incident[];
  readonly recoveries: readonly RecoveryOutcome[];
  /** Schedules a recovery changed (slowed or restored). */
  readonly scheduleChanges: readonly ScheduleChange[];
  /** Health sweeps run (every 5 simulated minutes): when, findings and new finding items. */
  readonly sweeps: readonly SweepLine[];
  /** The on-demand queues: every poll, and what they hold at the end. */
  readonly queues: QueueSummary;
  /** TTL sweeps run (every `ttlSweepEveryHours`): when, and how many expired items they deleted. */
  readonly ttlSweeps: readonly { readonly atMs: number; readonly deleted: number }[];
  readonly wallMs: number;
}

const silentLogger: KitLogger = silent;

export async function runSymphony(options: SymphonyOptions): Promise<SymphonyResult> {
  const wallStart = performance.now();
  const clock = new SimulatedClock(options.startMs);
  const template = options.template ?? synthesizeTemplate();
  clearTwitchTokenCache();
  const sandbox = await startSandbox({ seed: options.seed, clock: () => clock.now() });

  // The workers, in-process, against the sandbox and the embedded table. Created after the runtime
  // so they share its DynamoDB client; the runtime asks for them lazily.
  const handlers: Record<string, LambdaHandler> = {};
  const sink = new LocalAlertSink(options.onAlert, () => clock.now());
  // A recovery's waits pass in the world's time: the loop below releases them as it reaches them.
  const onDisk = options.onDisk ?? options.hours > 24;
  const runtime = await startLocalRuntime({ clock, template, workerHandlers: handlers, alertSink: sink, holdRecoveryWaits: true, tableOnDisk: onDisk });
  // The run's record: in memory, or on disk until the run ends (a directory removed then, or at exit).
  const recordDir = onDisk ? createTempDir('aurastream-run-') : undefined;
  const recordList = <T>(name: string): RecordList<T> => new RecordList<T>(recordDir === undefined ? undefined : join(recordDir.path, `${name}.jsonl`));
  const healing = runtime.selfHealing;
  const recoveryOutcomes: RecoveryOutcome[] = [];
  let seenRecoveries = 0;
  /** The recoveries started and not ended: running, or holding a wait until a later time. */
  const openRecoveries = new Map<string, NonNullable<typeof healing>['recoveries'][number]>();
  let ended = false;
  const workerFaults = new Map<string, WorkerFault>();
  const workerMemory = new Map<string, MemoryPressure>();
  /**
   * Delivers the stream to the anomaly Lambda and lets the recoveries it starts (and those a released
   * wait resumed) run until each has ended or holds its next wait; they report too, so again.
   */
  const settle = async (resumed = false): Promise<void> => {
    for (let round = 0; round < 5 && healing; round++) {
      // A wait held until a time already reached (its recovery's time lagged the world's) goes on now.
      const released = clock.releaseDue();
      await healing.flush();
      const fresh = healing.recoveries.slice(seenRecoveries);
      seenRecoveries = healing.recoveries.length;
      for (const r of fresh) {
        openRecoveries.set(r.executionArn, r);
        void r.result.then((o) => {
          openRecoveries.delete(r.executionArn);
          if (!ended) recoveryOutcomes.push({ name: r.name, worker: String(r.input['worker']), anomaly: String(r.input['anomaly']), status: o.status, atMs: clock.now() });
        });
      }
      await Promise.all([...openRecoveries.values()].map((r) => Promise.race([r.result, clock.nextHold(r.executionArn)])));
      // Nothing started or resumed: the stream holds nothing new from recoveries, no second delivery.
      if (fresh.length === 0 && released === 0 && (round > 0 || !resumed)) return;
    }
  };
  const secrets = new InMemorySecretSource({ ...sandbox.credentials });
  const store = new DynamoDataStore({ client: documentClient(runtime.dynamo.client), tableName: runtime.tableName, clock: () => clock.now() });
  const memory = new SharedMemoryMeter();
  for (const [id, factory] of Object.entries(WORKER_HANDLERS)) {
    handlers[id] = async (event) => {
      const fault = workerFaults.get(id);
      const job = typeof event === 'object' && event !== null ? (event as { job?: unknown }).job : undefined;
      if (fault && clock.now() >= fault.fromMs && clock.now() < fault.untilMs && (fault.job === undefined || fault.job === job)) {
        const error = new Error(fault.message);
        error.name = fault.errorName;
        throw error;
      }
      // In-process workers share one heap: a worker's memory is its share of the process's growth
      // while it ran (local/memory-meter.ts), an approximation of what a Lambda of its own would use.
      const metered = memory.begin();
      const pressure = workerMemory.get(id);
      const limitBytes = (isWorkerId(id) ? workerById(id).memoryMb : 0) * 1024 * 1024;
      const pressed = pressure !== undefined && clock.now() >= pressure.fromMs && clock.now() < pressure.untilMs;
      const rss = pressed ? (): number => Math.max(metered.read(), Math.round((limitBytes * pressure.percent) / 100)) : (): number => metered.read();
      try {
        // `fetch: sandbox.fetch`: the workers' HTTP client reaches the sandbox in-process (no loopback socket).
        return await factory({ store, secrets, env: sandbox.env, fetch: sandbox.fetch, clock: () => clock.now(), logger: silentLogger, memorySampleMs: 0, memoryRss: rss })(event);
      } finally {
        metered.end();
      }
    };
  }

  const reports = recordList<WorkerScoreReport>('reports');
  /** The workers that sent a score report (their circuits are read at the end). */
  const reportingWorkers = new Set<string>();
  const circuitTransitions: CircuitTransition[] = [];
  const sweepAnomalies: SweepAnomaly[] = [];
  const unsubscribe = runtime.dynamo.stream.subscribe(
    (record) => {
    const image = record.dynamodb.NewImage;
    if (!image) return;
    const sk = image['sk']?.S;
    if (sk === STATE_SK) {
      // Each job's circuit (`circuit_<job>`) before and after this write: a transition when they differ.
      const oldImage = record.dynamodb.OldImage as Record<string, AttributeValue> | undefined;
      const newImage = image as Record<string, AttributeValue>;
      const attrs = [...new Set([...Object.keys(oldImage ?? {}), ...Object.keys(newImage)])].filter((a) => a.startsWith('circuit_')).sort();
      for (const attr of attrs) {
        const before = oldImage?.[attr]?.M?.['state']?.S ?? 'CLOSED';
        const circuit = newImage[attr]?.M;
        const after = circuit?.['state']?.S;
        if (after === undefined || after === before) continue;
        const changedAt = Number(circuit?.['changedAtMs']?.N);
        circuitTransitions.push({
          atMs: Number.isFinite(changedAt) ? changedAt : clock.now(),
          worker: String(newImage['pk']?.S).replace(/^WORKER#/, ''),
          job: attr.slice('circuit_'.length),
          from: before,
          to: after,
          consecutiveFailures: Number(circuit?.['consecutiveFailures']?.N ?? 0),
        });
      }
      return;
    }
    if (record.eventName !== 'INSERT' || sk === undefined) return;
    if (sk.startsWith('REPORT#')) {
      const report = unmarshall(image as Record<string, AttributeValue>) as unknown as WorkerScoreReport;
      reports.push(report);
      reportingWorkers.add(report.workerName);
    }
    else if (sk.startsWith('HEALTH#')) {
      const f = unmarshall(image as Record<string, AttributeValue>) as Record<string, unknown>;
      sweepAnomalies.push({ atMs: Date.parse(String(f['raisedAt'])) || clock.now(), worker: String(f['worker']), job: typeof f['job'] === 'string' ? f['job'] : null, anomaly: String(f['anomaly']), severity: String(f['severity']), detail: String(f['detail'] ?? '') });
    }
    },
    // A filter, so the stream emulation skips the items nobody listens to (stream.wantsKey).
    { tableName: runtime.tableName, filters: [{ dynamodb: { Keys: { sk: { S: [STATE_SK, { prefix: 'REPORT#' }, { prefix: 'HEALTH#' }] } } } }] },
  );

  const visibility = queueVisibilityOf(template);
  const queues = new LocalQueues({ runtime, clock: () => clock.now(), workerHandlers: handlers, visibilityTimeoutMs: (workerId) => visibility.get(workerId) ?? 0 });
  const timed: { atMs: number; action: (ctx: SymphonyContext) => Promise<void> | void }[] = [];
  const ctx: SymphonyContext = {
    runtime,
    queues,
    at: (atMs, action) => {
      timed.push({ atMs, action });
      timed.sort((a, b) => a.atMs - b.atMs);
    },
    sandbox,
    clock,
    startMs: options.startMs,
    workerFaults,
    workerMemory,
  };
  const endMs = options.startMs + options.hours * 3_600_000;
  const schedules = schedulesOf(template);
  /** Schedule name → `worker.job` of its target input, for the report. */
  const jobOfSchedule = new Map(schedules.map((sc) => {
    const input = JSON.parse(sc.inputTemplate) as Record<string, unknown>;
    return [sc.name, `${String(input['worker'])}.${String(input['job'])}`] as const;
  }));
  // Firings are computed up front, and again from "now" for a schedule a recovery changes. A change
  // takes effect at the time the recovery made it, on the recovery's own simulated time: a
  // recovery that waits for the quota reset before restoring a schedule restores it at the reset,
  // so the slowed expression fires in between.
  // Firings are planned up to a horizon: the end, or for an open-ended run a day ahead, moved on
  // a day at a time (extend()).
  const planAheadMs = (options.planAheadHours ?? 24) * 3_600_000;
  if (!(planAheadMs > 0)) throw new Error(`planAheadHours must be a positive number of hours, got ${String(options.planAheadHours)}`);
  let horizonMs = Math.min(endMs, options.startMs + planAheadMs);
  let due = firings(schedules, options.startMs, horizonMs);
  /** The next firing to run is due[next]; the ones before it have run, and leave `due` as slots (`fired`) when the plan moves on. */
  let next = 0;
  const slotOf = (f: Firing): FiredSlot => ({ worker: String(f.input['worker']), job: String(f.input['job']), atMs: f.atMs });
  const fired = recordList<FiredSlot>('fired');
  let seenScheduleChanges = 0;
  const replan = (fromMs: number): void => {
    const changes = healing?.schedules.updates ?? [];
    if (changes.length === seenScheduleChanges) return;
    seenScheduleChanges = changes.length;
    const changed = new Set(changes.map((c) => c.name));
    const replanned: Firing[] = [];
    for (const sc of schedules.filter((s) => changed.has(s.name))) {
      // The schedule's expression over time: the template's, then each change from its time on.
      const segments = [{ fromMs: options.startMs, expression: sc.expression }];
      for (const c of changes.filter((u) => u.name === sc.name).sort((a, b) => a.atMs - b.atMs)) segments.push({ fromMs: c.atMs, expression: c.expression });
      segments.forEach((segment, i) => {
        const from = Math.max(fromMs, segment.fromMs);
        const to = Math.min(horizonMs, segments[i + 1]?.fromMs ?? horizonMs);
        if (to > from) replanned.push(...firings([{ ...sc, expression: segment.expression }], from, to));
      });
    }
    due = [...due.filter((f) => f.atMs < fromMs || !changed.has(f.schedule.name)), ...replanned].sort(
      (a, b) => a.atMs - b.atMs || a.schedule.logicalId.localeCompare(b.schedule.logicalId),
    );
  };

  // The health sweep, its Lambda target run in-process every time its schedule fires.
  const sweepSchedule = lambdaSchedulesOf(template).find((sc) => sc.environment['POWERTOOLS_SERVICE_NAME'] === 'health-sweep');
  const sweepTimes = sweepSchedule ? occurrences(sweepSchedule.expression, sweepSchedule.timezone, options.startMs, horizonMs) : [];
  let sweepIndex = 0;
  /**
   * Moves the horizon on (`planAheadHours`): each schedule with its latest expression, and the
   * sweeps. The firings and sweep times already run leave the plan first.
   */
  const extend = (): void => {
    for (const f of due.slice(0, next)) fired.push(slotOf(f));
    due = due.slice(next);
    next = 0;
    sweepTimes.splice(0, sweepIndex);
    sweepIndex = 0;
    const until = Math.min(endMs, horizonMs + planAheadMs);
    const latest = new Map((healing?.schedules.updates ?? []).map((u) => [u.name, u.expression]));
    const more = firings(schedules.map((sc) => ({ ...sc, expression: latest.get(sc.name) ?? sc.expression })), horizonMs, until);
    due = [...due, ...more];
    if (sweepSchedule) sweepTimes.push(...occurrences(sweepSchedule.expression, sweepSchedule.timezone, horizonMs, until));
    horizonMs = until;
  };
  const sweepDeps = sweepSchedule ? localSweepDeps(sweepSchedule, runtime, queues, sink, clock) : undefined;
  const sweeps = recordList<SweepLine>('sweeps');
  const ttlAttribute = runtime.dynamo.tableInfo(runtime.tableName)?.ttlAttributeName;
  const ttlEveryMs = (options.ttlSweepEveryHours ?? 6) * 3_600_000;
  let nextTtlMs = options.startMs + ttlEveryMs;
  const ttlSweeps: { atMs: number; deleted: number }[] = [];
  const polls = recordList<QueuePoll>('polls');
  const concurrencyOf = (workerId: string): number => healing?.queues.concurrency.get(workerId) ?? DEFAULT_CONSUMER_CONCURRENCY;

  const executions = { succeeded: 0, failed: 0, other: 0 };
  const circuits: Record<string, string> = {};
  const incidents: Incident[] = [];
  let recorded: { reports: WorkerScoreReport[]; sweeps: SweepLine[]; polls: QueuePoll[]; firedSlots: FiredSlot[] };
  try {
    await seedPastSlots(runtime, options.startMs);
    await options.prepare?.(ctx);
    let lastTick = Number.NEGATIVE_INFINITY;
    for (;;) {
      while (horizonMs < endMs && (next >= due.length || (due[next] as Firing).atMs >= horizonMs - planAheadMs / 2)) extend();
      // The next tick: a schedule firing, a sweep, a scenario action, or the next minute's poll.
      const candidates: number[] = [];
      if (next < due.length) candidates.push((due[next] as Firing).atMs);
      const sweepAt = sweepTimes[sweepIndex];
      if (sweepAt !== undefined) candidates.push(sweepAt);
      const action = timed[0];
      if (action !== undefined && action.atMs < endMs) candidates.push(Math.max(action.atMs, lastTick));
      if (queues.nonEmpty().length > 0 && Number.isFinite(lastTick) && lastTick + MINUTE_MS < endMs) candidates.push(Math.floor(lastTick / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
      // A recovery's wait that ends within the run (its circuit's open timeout, an upstream retry's
      // backoff): a tick of its own when nothing else is due then; it only resumes the recovery.
      const heldUntil = clock.nextHeldMs();
      const wake = heldUntil !== undefined && heldUntil < endMs ? Math.max(heldUntil, lastTick + 1) : undefined;
      if (candidates.length === 0 && wake === undefined) break;
      const atMs = Math.min(...candidates, wake ?? Number.POSITIVE_INFINITY);
      if (options.realtime && atMs > clock.now()) await new Promise((resolve) => setTimeout(resolve, atMs - clock.now()));
      clock.set(Math.max(clock.now(), atMs));
      // The recoveries whose waits have ended go on first, until each ends or holds its next wait.
      if (clock.releaseDue() > 0) await settle(true);
      if (!candidates.includes(atMs)) continue;
      lastTick = atMs;
      while (timed[0] !== undefined && timed[0].atMs <= atMs) await (timed.shift() as (typeof timed)[number]).action(ctx);

      const slot: Firing[] = [];
      while (next < due.length && (due[next] as Firing).atMs === atMs) slot.push(due[next++] as Firing);
      if (slot.length > 0) {
        await options.beforeSlot?.(ctx, atMs);
        const outcomes = await Promise.all(slot.map((f) => runtime.runner.startExecution(f.schedule.stateMachine, f.input).result));
        for (const o of outcomes) {
          if (o.status === 'SUCCEEDED') executions.succeeded++;
          else if (o.status === 'FAILED') executions.failed++;
          else executions.other++;
        }
      }
      // The event source mappings: one poll a minute, MaximumConcurrency batches at a time.
      for (const workerId of queues.nonEmpty()) {
        const depth = queues.depth(workerId);
        const concurrency = concurrencyOf(workerId);
        const outcome = await queues.poll(workerId, LOCAL_BATCH_SIZE, concurrency);
        polls.push({ atMs, worker: workerId, depth, concurrency, ...outcome });
      }
      await queues.settled();
      if (sweepDeps && sweepAt === atMs) {
        sweepIndex++;
        const summary: SweepSummary = await runSweep({ ...sweepDeps, clock: () => clock.now() });
        sweeps.push({
          atMs,
          findings: summary.findings,
          written: summary.written,
          stopped: summary.stuck.filter((o) => o.stopped).map((o) => o.executionArn),
          recorded: summary.ended.filter((o) => o.reportStored).map((o) => `${o.executionArn} ${o.ended}`),
          errors: summary.errors,
        });
      }
      if (ttlAttribute !== undefined && atMs >= nextTtlMs) {
        while (nextTtlMs <= atMs) nextTtlMs += ttlEveryMs;
        const deleted = await runtime.dynamo.expireTtl(runtime.tableName, ttlAttribute, Math.floor(clock.now() / 1000));
        ttlSweeps.push({ atMs, deleted });
      }
      await settle();
      replan(atMs + 1);
      options.onProgress?.(fired.length + next, fired.length + due.length, atMs);
    }
    // Recoveries still holding a wait at the end (a quota reset at midnight) are RUNNING, as the console would show them.
    ended = true;
    for (const r of openRecoveries.values()) recoveryOutcomes.push({ name: r.name, worker: String(r.input['worker']), anomaly: String(r.input['anomaly']), status: 'RUNNING', atMs: endMs });
    for (const id of reportingWorkers) {
      const state = await runtime.store.readWorkerState(id);
      if (state) circuits[id] = state.circuit.state;
    }
    const incidentStore = new DynamoIncidentStore(documentClient(runtime.dynamo.client), runtime.tableName);
    for (const worker of ALL_WORKERS) incidents.push(...(await incidentStore.readWorker(worker.id)));
    recorded = { reports: reports.all(), sweeps: sweeps.all(), polls: polls.all(), firedSlots: [...fired.all(), ...due.map(slotOf)] };
  } finally {
    unsubscribe();
    recordDir?.remove();
    await runtime.close();
    await sandbox.close();
  }

  const requestIds = (messages: readonly { body: string }[]): string[] =>
    messages.map((m) => {
      try {
        return String((JSON.parse(m.body) as { requestId?: unknown }).requestId);
      } catch {
        return '(unreadable)';
      }
    });
  const queueWorkers = [...new Set([...recorded.polls.map((p) => p.worker), ...queues.nonEmpty()])];
  const queueSummary: QueueSummary = {
    polls: recorded.polls,
    depths: Object.fromEntries(queueWorkers.map((w) => [w, queues.depth(w)])),
    waiting: Object.fromEntries(queueWorkers.map((w) => [w, requestIds(queues.messages(w))])),
    deadLettered: Object.fromEntries(queueWorkers.map((w) => [w, requestIds(queues.deadLetters(w))])),
    concurrency: Object.fromEntries(queueWorkers.map((w) => [w, concurrencyOf(w)])),
  };

  return {
    startMs: options.startMs,
    endMs,
    firings: recorded.firedSlots.length,
    firedSlots: recorded.firedSlots,
    executions,
    timeline: recorded.reports.map((r) => ({
      atMs: Date.parse(r.scheduledTime),
      worker: r.workerName,
      job: r.jobId,
      status: r.status,
      skipReason: r.skipReason,
      overallScore: r.scores?.overallScore ?? null,
      anomalies: r.anomalies,
    })),
    reports: recorded.reports,
    circuits,
    // One line per alert: a digest message contributes each alert it carries.
    alerts: sink.alerts.flatMap((m, i) => {
      const sentAtMs = sink.sentAtMs[i] ?? Number.NaN;
      const line = (alert: Alert, subject: string, digestId: string | null): AlertLine => ({
        atMs: Date.parse(alert.raisedAt),
        severity: alert.severity,
        worker: alert.worker,
        anomaly: alert.anomaly,
        subject,
        transition: alert.incident?.transition ?? null,
        incidentId: alert.incident?.id ?? null,
        sentAtMs,
        digestId,
      });
      return m.json.type === DIGEST_MESSAGE_TYPE ? m.json.digest.alerts.map((a) => line(a, renderAlert(a).subject, (m.json as DigestEnvelope).digest.id)) : [line(m.json.alert, m.subject, null)];
    }),
    pages: sink.pages.map((p) => ({ subject: p.subject, atMs: p.atMs })),
    incidents: incidents.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id)),
    recoveries: recoveryOutcomes,
    circuitTransitions,
    sweepAnomalies,
    scheduleChanges: healing ? healing.schedules.updates.map((u) => ({ atMs: u.atMs, name: u.name, job: jobOfSchedule.get(u.name) ?? u.name, expression: u.expression })) : [],
    sweeps: recorded.sweeps,
    queues: queueSummary,
    ttlSweeps,
    wallMs: performance.now() - wallStart,
  };
}

const MINUTE_MS = 60_000;
/** The template's ScalingConfig.MaximumConcurrency of the on-demand consumers (ON_DEMAND_MAX_CONCURRENCY). */
const DEFAULT_CONSUMER_CONCURRENCY = 10;

const silentSweepLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The health sweep's ports over the local runtime: Step Functions is the local runner, SQS the
 * local queues, the table the embedded DynamoDB (the sweep's own adapters), the on-call topic the
 * alert sink's pages. The runner stamps executions with real dates; the lister puts them on the
 * simulated clock the first time it sees them (the real time elapsed since, counted as simulated).
 */
function localSweepDeps(schedule: LambdaSchedule, runtime: LocalRuntime, queues: LocalQueues, sink: LocalAlertSink, clock: SimulatedClock): SweepDeps {
  const env = schedule.environment;
  const doc = documentClient(runtime.dynamo.client);
  const queueUrls = JSON.parse(env['QUEUE_URLS'] ?? '{}') as Record<string, string>;
  const workerOfQueue = new Map(Object.entries(queueUrls).map(([worker, url]) => [url, worker]));
  const ids = (env['WORKER_IDS'] ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const workers: readonly WorkerSpec[] = ids.length === 0 ? ALL_WORKERS : ids.map((id) => {
    if (!isWorkerId(id)) throw new Error(`health sweep WORKER_IDS names an unknown worker "${id}"`);
    return workerById(id);
  });
  const seenStart = new Map<string, number>();
  const seenStop = new Map<string, number>();
  const simulated = (seen: Map<string, number>, arn: string, date: Date): number => {
    let ms = seen.get(arn);
    if (ms === undefined) {
      ms = clock.now() - Math.max(0, Date.now() - date.getTime());
      seen.set(arn, ms);
    }
    return ms;
  };
  const executions: ExecutionLister = {
    listRunning: async (arn): Promise<readonly ListedExecution[]> =>
      runtime.runner.listExecutions(arn).filter((e) => e.status === 'RUNNING').map((e) => ({ executionArn: e.executionArn, startMs: simulated(seenStart, e.executionArn, e.startDate) })),
    listEnded: async (arn, status, window): Promise<readonly EndedExecution[]> => {
      const out: EndedExecution[] = [];
      for (const e of runtime.runner.listExecutions(arn)) {
        if (e.status !== status || !(ENDED_STATUSES as readonly string[]).includes(e.status)) continue;
        const startMs = simulated(seenStart, e.executionArn, e.startDate);
        const stopMs = simulated(seenStop, e.executionArn, e.stopDate ?? new Date());
        if (startMs >= window.startedSinceMs && stopMs >= window.stoppedSinceMs) out.push({ executionArn: e.executionArn, startMs, stopMs, status });
      }
      return out;
    },
    input: async (arn) => {
      try {
        return JSON.parse(runtime.runner.describeExecution(arn).input) as unknown;
      } catch {
        return undefined;
      }
    },
    stop: async (arn) => {
      try {
        runtime.runner.stopExecution(arn);
      } catch {
        // Gone: nothing to stop.
      }
    },
  };
  const depths: QueueDepthReader = {
    depth: async (url) => {
      const worker = workerOfQueue.get(url);
      if (worker === undefined) throw new Error(`no local queue ${url}`);
      return queues.depth(worker);
    },
  };
  const oncall = env['ONCALL_TOPIC_ARN'];
  return {
    store: runtime.store,
    reports: new DynamoReportReader(doc, runtime.tableName),
    executions,
    queues: depths,
    findings: new DynamoHealthFindingStore(doc, runtime.tableName),
    clock: () => clock.now(),
    logger: silentSweepLogger,
    workers,
    pipelineArns: pipelineArnsOf(env['PIPELINE_ARN_PREFIX'] ?? '', workers),
    queueUrls,
    reportRetentionDays: Number(env['REPORT_RETENTION_DAYS'] ?? 30) || 30,
    incidents: new DynamoIncidentStore(doc, runtime.tableName),
    // As deployed: the sweep delivers what the outbox holds, the MEDIUM digest included.
    outbox: { store: new DynamoOutbox(doc, runtime.tableName), publisher: sink },
    ...(oncall !== undefined && oncall !== ''
      ? {
          escalation: {
            recoveries: new DynamoRecoveryOutcomeReader(doc, runtime.tableName),
            pager: {
              page: async (message) => {
                sink.pages.push({ subject: message.subject, message: message.json as unknown as Record<string, unknown>, atMs: clock.now() });
              },
            },
          },
        }
      : {}),
  };
}

/** Worker id → the VisibilityTimeout (ms) of its on-demand queue, from the template (the queues named in the consumers' event source mappings). */
export function queueVisibilityOf(template: CfnTemplate): Map<string, number> {
  const resources = template.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const out = new Map<string, number>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping' || !r.Properties) continue;
    const fn = logicalIdFromArn(String(resolveIntrinsics(r.Properties['FunctionName'], template)));
    const vars = (resources[fn ?? '']?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const workerId = vars['WORKER_ID'];
    const source = r.Properties['EventSourceArn'] as { 'Fn::GetAtt'?: unknown[] } | undefined;
    const queueId = source?.['Fn::GetAtt']?.[0];
    const queue = typeof queueId === 'string' ? resources[queueId] : undefined;
    const seconds = queue?.Type === 'AWS::SQS::Queue' ? queue.Properties?.['VisibilityTimeout'] : undefined;
    if (typeof workerId === 'string' && typeof seconds === 'number') out.set(workerId, seconds * 1000);
  }
  return out;
}

/**
 * The symphony starts a deployment that has been running: each scheduled job's latest slot before
 * the start is claimed, as its run would have, so the health sweep does not count the slots before
 * the run as missed (an empty table would make every job look missed at the first sweep).
 */
async function seedPastSlots(runtime: LocalRuntime, startMs: number): Promise<void> {
  for (const worker of ALL_WORKERS) {
    if (worker.executionModel !== 'scheduled' && worker.executionModel !== 'sub-pipeline') continue;
    const set: Record<string, string> = {};
    for (const job of worker.jobs) {
      let latest: number | undefined;
      for (const s of job.schedules) {
        const last = occurrences(s.expression, s.timezone, startMs - 8 * 86_400_000, startMs - 1).pop();
        if (last !== undefined && (latest === undefined || last > latest)) latest = last;
      }
      if (latest !== undefined) set[slotAttr(job.id)] = normalizeIso(new Date(latest).toISOString());
    }
    if (Object.keys(set).length === 0) continue;
    await runtime.store.updateWorkerState(worker.id, { condition: { op: 'notExists', attr: 'pk' }, set, add: {}, remove: [] });
  }
}
