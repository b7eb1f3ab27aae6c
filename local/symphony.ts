/**
 * The local symphony: every EventBridge schedule found in the synthesized template, driven on a
 * simulated clock, starting the template's own state machines in the local runtime, with the real
 * workers calling the sandbox APIs on loopback. Everything that is written to the table streams
 * out; the symphony collects the score reports into a timeline and the report card.
 *
 * Time model (documented in the README): the clock advances slot by slot in simulated time. Within
 * a slot, every due execution runs to completion concurrently; a dependency wait advances the
 * clock by what the gate asked; workers take the real time they take, which the simulated clock
 * does not count.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { occurrences } from '../lib/domain/schedule-math.js';
import type { WorkerScoreReport } from '../lib/domain/score-report.js';
import { documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { DynamoDataStore } from '../lambdas/kit/data-store.js';
import type { KitLogger } from '../lambdas/kit/define-worker.js';
import { InMemorySecretSource } from '../lambdas/kit/secrets.js';
import { clearTwitchTokenCache } from '../lambdas/workers/logic/common.js';
import { WORKER_HANDLERS } from '../lambdas/workers/index.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from './runtime.js';
import { startSandbox, type Sandbox } from './sandbox/server.js';
import { LocalAlertSink } from './self-healing.js';
import { resolveIntrinsics, logicalIdFromArn, type CfnTemplate } from './template-asl.js';

/** One EventBridge schedule as the template declares it. */
export interface TemplateSchedule {
  readonly logicalId: string;
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
      expression: String(r.Properties['ScheduleExpression']),
      timezone: String(r.Properties['ScheduleExpressionTimezone'] ?? 'UTC'),
      stateMachine,
      inputTemplate: String(resolveIntrinsics(target.Input ?? '{}', template)),
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
  readonly hours: number;
  readonly seed: number;
  readonly onProgress?: (done: number, total: number, atMs: number) => void;
  /** Called with the runtime and sandbox before the first slot (scenarios inject faults here). */
  readonly prepare?: (ctx: SymphonyContext) => Promise<void> | void;
  /** Called before each slot runs. */
  readonly beforeSlot?: (ctx: SymphonyContext, atMs: number) => Promise<void> | void;
  readonly template?: CfnTemplate;
}

/** A worker that fails with `errorName` during a window of simulated time (a crash loop, say). */
export interface WorkerFault {
  readonly fromMs: number;
  readonly untilMs: number;
  readonly errorName: string;
  readonly message: string;
}

export interface SymphonyContext {
  readonly runtime: LocalRuntime;
  readonly sandbox: Sandbox;
  readonly clock: SimulatedClock;
  readonly startMs: number;
  /** Worker id → an injected fault (scenarios). */
  readonly workerFaults: Map<string, WorkerFault>;
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
}

export interface SymphonyResult {
  readonly startMs: number;
  readonly endMs: number;
  readonly firings: number;
  /** Every schedule firing: the job it started and its slot. */
  readonly firedSlots: readonly { readonly worker: string; readonly job: string; readonly atMs: number }[];
  readonly executions: { readonly succeeded: number; readonly failed: number; readonly other: number };
  readonly timeline: readonly TimelineEntry[];
  readonly reports: readonly WorkerScoreReport[];
  readonly circuits: Readonly<Record<string, string>>;
  readonly alerts: readonly AlertLine[];
  readonly pages: readonly { readonly subject: string; readonly atMs: number }[];
  readonly recoveries: readonly RecoveryOutcome[];
  /** Schedules a recovery changed (slowed or restored). */
  readonly scheduleChanges: readonly { readonly name: string; readonly expression: string }[];
  readonly wallMs: number;
}

const silentLogger: KitLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, appendKeys: () => undefined, resetKeys: () => undefined };

export async function runSymphony(options: SymphonyOptions): Promise<SymphonyResult> {
  const wallStart = performance.now();
  const clock = new SimulatedClock(options.startMs);
  const template = options.template ?? synthesizeTemplate();
  clearTwitchTokenCache();
  const sandbox = await startSandbox({ seed: options.seed, clock: () => clock.now() });

  // The workers, in-process, against the sandbox and the embedded table. Created after the runtime
  // so they share its DynamoDB client; the runtime asks for them lazily.
  const handlers: Record<string, LambdaHandler> = {};
  const sink = new LocalAlertSink();
  const runtime = await startLocalRuntime({ clock, template, workerHandlers: handlers, alertSink: sink });
  const healing = runtime.selfHealing;
  const recoveryOutcomes: RecoveryOutcome[] = [];
  let awaitedRecoveries = 0;
  const workerFaults = new Map<string, WorkerFault>();
  /** Delivers the stream to the anomaly Lambda and waits for the recoveries it starts, which report too. */
  const settle = async (): Promise<void> => {
    for (let round = 0; round < 5 && healing; round++) {
      await healing.flush();
      const fresh = healing.recoveries.slice(awaitedRecoveries);
      if (fresh.length === 0) return;
      awaitedRecoveries = healing.recoveries.length;
      const results = await Promise.all(fresh.map((r) => r.result));
      fresh.forEach((r, i) => recoveryOutcomes.push({ name: r.name, worker: String(r.input['worker']), anomaly: String(r.input['anomaly']), status: results[i]?.status ?? 'UNKNOWN', atMs: clock.now() }));
    }
  };
  const secrets = new InMemorySecretSource({ ...sandbox.credentials });
  const store = new DynamoDataStore({ client: documentClient(runtime.dynamo.client), tableName: runtime.tableName, clock: () => clock.now() });
  // In-process workers share one heap: a worker's memory is the process's growth over the
  // runtime's baseline, an approximation of what a Lambda of its own would use.
  const baselineRss = process.memoryUsage().rss;
  const memoryRss = (): number => Math.max(0, process.memoryUsage().rss - baselineRss);
  for (const [id, factory] of Object.entries(WORKER_HANDLERS)) {
    const handler = factory({ store, secrets, env: sandbox.env, clock: () => clock.now(), logger: silentLogger, memorySampleMs: 0, memoryRss });
    handlers[id] = async (event) => {
      const fault = workerFaults.get(id);
      if (fault && clock.now() >= fault.fromMs && clock.now() < fault.untilMs) {
        const error = new Error(fault.message);
        error.name = fault.errorName;
        throw error;
      }
      return handler(event);
    };
  }

  const reports: WorkerScoreReport[] = [];
  const unsubscribe = runtime.dynamo.stream.subscribe((record) => {
    const image = record.dynamodb.NewImage;
    if (record.eventName !== 'INSERT' || !image) return;
    const item = unmarshall(image as Record<string, AttributeValue>) as Record<string, unknown>;
    if (typeof item['sk'] === 'string' && item['sk'].startsWith('REPORT#')) reports.push(item as unknown as WorkerScoreReport);
  });

  const ctx: SymphonyContext = { runtime, sandbox, clock, startMs: options.startMs, workerFaults };
  const endMs = options.startMs + options.hours * 3_600_000;
  const schedules = schedulesOf(template);
  // Firings are computed up front, and again from "now" for a schedule a recovery changes.
  let due = firings(schedules, options.startMs, endMs);
  let seenScheduleChanges = 0;
  const replan = (fromMs: number): void => {
    const changes = healing?.schedules.updates ?? [];
    if (changes.length === seenScheduleChanges) return;
    seenScheduleChanges = changes.length;
    const changed = new Set(changes.map((c) => c.name));
    const current = schedules.map((sc) => {
      const live = healing?.schedules.schedules.get(sc.logicalId);
      return live && changed.has(sc.logicalId) ? { ...sc, expression: live.expression } : sc;
    });
    due = [
      ...due.filter((f) => f.atMs < fromMs || !changed.has(f.schedule.logicalId)),
      ...firings(current.filter((sc) => changed.has(sc.logicalId)), fromMs, endMs),
    ].sort((a, b) => a.atMs - b.atMs || a.schedule.logicalId.localeCompare(b.schedule.logicalId));
  };
  const executions = { succeeded: 0, failed: 0, other: 0 };
  const circuits: Record<string, string> = {};
  try {
    await options.prepare?.(ctx);
    let i = 0;
    while (i < due.length) {
      const atMs = (due[i] as Firing).atMs;
      const slot: Firing[] = [];
      while (i < due.length && (due[i] as Firing).atMs === atMs) slot.push(due[i++] as Firing);
      clock.set(Math.max(clock.now(), atMs));
      await options.beforeSlot?.(ctx, atMs);
      const outcomes = await Promise.all(slot.map((f) => runtime.runner.startExecution(f.schedule.stateMachine, f.input).result));
      for (const o of outcomes) {
        if (o.status === 'SUCCEEDED') executions.succeeded++;
        else if (o.status === 'FAILED') executions.failed++;
        else executions.other++;
      }
      await settle();
      replan(atMs + 1);
      options.onProgress?.(i, due.length, atMs);
    }
    for (const id of new Set(reports.map((r) => r.workerName))) {
      const state = await runtime.store.readWorkerState(id);
      if (state) circuits[id] = state.circuit.state;
    }
  } finally {
    unsubscribe();
    await runtime.close();
    await sandbox.close();
  }

  return {
    startMs: options.startMs,
    endMs,
    firings: due.length,
    firedSlots: due.map((f) => ({ worker: String(f.input['worker']), job: String(f.input['job']), atMs: f.atMs })),
    executions,
    timeline: reports.map((r) => ({
      atMs: Date.parse(r.scheduledTime),
      worker: r.workerName,
      job: r.jobId,
      status: r.status,
      skipReason: r.skipReason,
      overallScore: r.scores?.overallScore ?? null,
      anomalies: r.anomalies,
    })),
    reports,
    circuits,
    alerts: sink.alerts.map((m) => ({
      atMs: Date.parse(m.json.alert.raisedAt),
      severity: m.json.alert.severity,
      worker: m.json.alert.worker,
      anomaly: m.json.alert.anomaly,
      subject: m.subject,
    })),
    pages: sink.pages.map((p) => ({ subject: p.subject, atMs: p.atMs })),
    recoveries: recoveryOutcomes,
    scheduleChanges: healing ? healing.schedules.updates.map((u) => ({ name: u.name, expression: u.expression })) : [],
    wallMs: performance.now() - wallStart,
  };
}
