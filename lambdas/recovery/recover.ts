/**
 * The recovery Lambda's logic: one action per call, over the ports in ./ports.ts. The recovery
 * state machine (statemachines/recovery.ts) calls it once per step with the whole execution state;
 * the domain (lib/domain/recovery-actions.ts, circuit.ts) decides and this module carries out and
 * records. Every action writes a `RECOVERY#<alertId>` / `ACTION#<step>` item: what, why, when, result.
 */
import * as z from 'zod';
import { ANOMALY_CODES, SEVERITIES } from '../../lib/domain/anomaly-rules.js';
import { halfOpen, trip } from '../../lib/domain/circuit.js';
import { pageSubject } from '../../lib/domain/alerting.js';
import { ConfigurationError, InvalidPayloadError, NonRetryableError } from '../../lib/domain/errors.js';
import type { StateStore } from '../../lib/domain/ports.js';
import { escalationFor, RECOVERY_ACTIONS, RECOVERY_BOUNDS, RECOVERY_TABLE, type RecoveryAction } from '../../lib/domain/recovery.js';
import {
  extendedLease,
  INTAKE_PAUSE_SECONDS,
  INTAKE_PAUSED_UNTIL_ATTR,
  SCHEDULE_SLOWED_UNTIL_ATTR,
  markSlowed,
  quotaResetAtMs,
  raisedStepTimeout,
  RECOVERY_RETENTION_DAYS,
  recoveryExecutionName,
  recoveryExpiresAt,
  RESTART_ATTRS,
  restartPlan,
  scaledConcurrency,
  slowedBy,
  slowedScheduleExpression,
  unmarkSlowed,
  upstreamTargets,
  type BoundedChange,
  type RecoveryResult,
} from '../../lib/domain/recovery-actions.js';
import { circuitAttr, versionCondition, withVersionBump, type StateWrite, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { circuitFor, workerById, type JobSpec, type WorkerSpec } from '../../lib/registry/index.js';
import type { AlertPublisher, PipelineStarter, QueueAdapter, RecoveryStore, ScheduleAdapter } from './ports.js';

export const RECOVERY_STEPS = [
  'restart',
  'page',
  'scale-consumers',
  'pause-intake',
  'open-circuit',
  'reduce-rate',
  'half-open',
  'record-circuit',
  'restore-rate',
  'raise-timeout',
  'refresh-upstream',
  'slow-schedule',
  'restore-schedule',
  'extend-lease',
  'plan-upstream',
  'record-upstream',
  'no-recovery',
  'finish',
  'fail',
] as const;
export type RecoveryStep = (typeof RECOVERY_STEPS)[number];

/** The design action each step carries out. */
const STEP_ACTION: Readonly<Partial<Record<RecoveryStep, RecoveryAction>>> = {
  restart: 'RESTART_WORKER',
  page: 'PAGE_ONCALL',
  'scale-consumers': 'SCALE_CONSUMERS',
  'pause-intake': 'PAUSE_NEW_JOBS',
  'open-circuit': 'OPEN_CIRCUIT',
  'reduce-rate': 'REDUCE_RATE',
  'raise-timeout': 'RAISE_TIMEOUT',
  'refresh-upstream': 'FORCE_REFRESH_UPSTREAM',
  'slow-schedule': 'SLOW_SCHEDULE',
  'extend-lease': 'EXTEND_LEASE',
  'plan-upstream': 'RETRY_UPSTREAM',
  'record-upstream': 'SKIP_IF_OPTIONAL',
};

/** The recovery's input: what the anomaly path starts the state machine with. */
export const RecoveryInput = z.object({
  alertId: z.string().min(1),
  worker: z.string().min(1),
  job: z.string().min(1),
  anomaly: z.enum(ANOMALY_CODES),
  severity: z.enum(SEVERITIES),
  actions: z.array(z.enum(RECOVERY_ACTIONS)).default([]),
  scheduledTime: z.string().nullable().optional(),
});
export type RecoveryInput = z.infer<typeof RecoveryInput>;

export const RecoveryCall = z.object({
  step: z.enum(RECOVERY_STEPS),
  executionId: z.string().min(1),
  /** The whole execution state (`$`): the input plus earlier steps' results. */
  state: z.record(z.string(), z.unknown()),
});

const SlowedList = z.object({
  schedules: z.array(z.object({ name: z.string(), original: z.string(), slowed: z.string(), slowedHere: z.boolean() })),
});
const UpstreamItem = z.object({ worker: z.string(), job: z.string(), optional: z.boolean(), stateMachineArn: z.string(), name: z.string() });
const UpstreamOutcome = z.object({ result: z.enum(['APPLIED', 'SKIPPED', 'FAILED']) }).loose();
const StepError = z.object({ Error: z.string(), Cause: z.string().optional() });

/** The recovery could not do what the anomaly needs (probe failed, upstream still failing): the whole-recovery Catch escalates. */
export class RecoveryIncompleteError extends NonRetryableError {
  override readonly name = 'RecoveryIncompleteError';
}

export interface RecoveryLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface RecoveryDeps {
  readonly store: StateStore;
  readonly recoveries: RecoveryStore;
  readonly schedules: ScheduleAdapter;
  readonly pipelines: PipelineStarter;
  readonly queues: QueueAdapter;
  readonly alerts: AlertPublisher;
  /** Epoch ms. */
  readonly clock: () => number;
  /** The pipeline ARN of a worker's job (PIPELINE_ARNS); undefined when it has none (an on-demand job). */
  readonly pipelineArnOf: (worker: string, job: string) => string | undefined;
  /** The EventBridge schedules of a worker (SCHEDULE_NAMES). */
  readonly scheduleNamesOf: (worker: string) => readonly string[];
  readonly logger: RecoveryLogger;
  /** @default workerById (the registry) */
  readonly lookup?: (id: string) => WorkerSpec | undefined;
  /** @default RECOVERY_RETENTION_DAYS */
  readonly retentionDays?: number;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new InvalidPayloadError(`malformed ${what}: ${issues}`);
}

interface Ctx {
  readonly deps: RecoveryDeps;
  readonly input: RecoveryInput;
  readonly state: Readonly<Record<string, unknown>>;
  readonly step: RecoveryStep;
  readonly executionId: string;
  readonly nowMs: number;
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
}

/** Writes the step's record and returns the step's result. */
async function record(ctx: Ctx, result: RecoveryResult, detail: string, changes: Readonly<Record<string, unknown>> = {}): Promise<{ result: RecoveryResult; detail: string }> {
  const { input } = ctx;
  await ctx.deps.recoveries.recordAction(
    {
      alertId: input.alertId,
      worker: input.worker,
      job: input.job,
      anomaly: input.anomaly,
      step: ctx.step,
      action: STEP_ACTION[ctx.step] ?? null,
      why: `${input.anomaly} (${input.severity}) on ${input.worker}.${input.job}: ${RECOVERY_TABLE[input.anomaly]?.summary ?? 'no recovery action'}`,
      at: new Date(ctx.nowMs).toISOString(),
      result,
      detail,
      changes,
    },
    recoveryExpiresAt(ctx.nowMs, ctx.deps.retentionDays ?? RECOVERY_RETENTION_DAYS),
  );
  ctx.deps.logger.info('recovery step', { step: ctx.step, result, detail });
  return { result, detail };
}

/** Applies a conditional STATE write, re-planning once on a lost race. Null when both attempts lost. */
async function writeState(ctx: Ctx, plan: (state: WorkerStateItem | undefined) => StateWrite | null): Promise<WorkerStateItem | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const write = plan(await ctx.deps.store.readWorkerState(ctx.worker.id));
    if (write === null) return null;
    const written = await ctx.deps.store.updateWorkerState(ctx.worker.id, write);
    if (written !== null) return written;
  }
  return null;
}

const pipelineInput = (ctx: Ctx, worker: string, job: string, trigger: 'recovery' | 'refresh'): Record<string, unknown> => ({
  worker,
  job,
  scheduledTime: new Date(ctx.nowMs).toISOString(),
  trigger,
});

async function restart(ctx: Ctx) {
  const arn = ctx.deps.pipelineArnOf(ctx.worker.id, ctx.job.id);
  if (arn === undefined) return record(ctx, 'SKIPPED', `${ctx.worker.id}.${ctx.job.id} has no pipeline: an on-demand job is retried by its queue`);
  const claimedBy = 'recoveryRestartBy';
  const raw = await ctx.deps.recoveries.readRawWorkerState(ctx.worker.id);
  // A retried step whose budget claim already went through: start (idempotent by name) again.
  const ownClaim = raw?.[claimedBy] === ctx.input.alertId && typeof raw[RESTART_ATTRS.windowStartMs] === 'number';
  if (!ownClaim) {
    const plan = restartPlan(raw, ctx.nowMs);
    if (!plan.allowed) return record(ctx, 'SKIPPED', plan.reason);
    const written = await ctx.deps.store.updateWorkerState(ctx.worker.id, { ...plan.write, set: { ...plan.write.set, [claimedBy]: ctx.input.alertId } });
    if (written === null) return record(ctx, 'SKIPPED', 'a concurrent recovery spent the restart budget');
  }
  const name = recoveryExecutionName(ctx.input.alertId, 'restart', ctx.worker.id, ctx.job.id);
  const started = await ctx.deps.pipelines.start(arn, name, pipelineInput(ctx, ctx.worker.id, ctx.job.id, 'recovery'));
  return record(ctx, 'APPLIED', `restarted ${ctx.worker.id}.${ctx.job.id} as ${name}${started.alreadyStarted ? ' (already started)' : ''}`, {
    executionArn: started.executionArn,
    restartsPerHourMax: RECOVERY_BOUNDS.restartsPerHourMax,
  });
}

async function page(ctx: Ctx) {
  const { input } = ctx;
  await ctx.deps.alerts.page(pageSubject(input.severity, input.anomaly, input.worker, 'recovery under way'), {
    type: 'aurastream.recovery',
    alertId: input.alertId,
    worker: input.worker,
    job: input.job,
    anomaly: input.anomaly,
    severity: input.severity,
    recoveryExecution: ctx.executionId,
    summary: RECOVERY_TABLE[input.anomaly]?.summary ?? null,
  });
  return record(ctx, 'APPLIED', 'paged on-call');
}

async function scaleConsumers(ctx: Ctx) {
  const current = await ctx.deps.queues.maxConcurrency(ctx.worker.id);
  const next = scaledConcurrency(current);
  if (next === null) {
    return record(ctx, 'SKIPPED', current === null ? `${ctx.worker.id} consumers have no maximum concurrency: they already scale with the queue` : `${ctx.worker.id} consumers are at the recovery cap (${current})`);
  }
  await ctx.deps.queues.setMaxConcurrency(ctx.worker.id, next);
  return record(ctx, 'APPLIED', `${ctx.worker.id} consumers' maximum concurrency ${current} -> ${next}`, { from: current, to: next });
}

async function pauseIntake(ctx: Ctx) {
  const until = ctx.nowMs + INTAKE_PAUSE_SECONDS * 1000;
  const written = await ctx.deps.store.updateWorkerState(ctx.worker.id, {
    condition: { op: 'or', of: [{ op: 'notExists', attr: INTAKE_PAUSED_UNTIL_ATTR }, { op: 'lt', attr: INTAKE_PAUSED_UNTIL_ATTR, value: until }] },
    set: { [INTAKE_PAUSED_UNTIL_ATTR]: until },
    add: {},
    remove: [],
  });
  if (written === null) return record(ctx, 'SKIPPED', `${ctx.worker.id} intake is already paused past ${new Date(until).toISOString()}`);
  return record(ctx, 'APPLIED', `new ${ctx.worker.id} jobs paused until ${new Date(until).toISOString()}`, { [INTAKE_PAUSED_UNTIL_ATTR]: until });
}

async function openCircuit(ctx: Ctx) {
  const tripped = trip(ctx.nowMs);
  const written = await writeState(ctx, (s) => withVersionBump({ condition: versionCondition(s), set: { circuit: circuitAttr(tripped) }, add: {}, remove: [] }));
  if (written === null) throw new RecoveryIncompleteError(`${ctx.worker.id}: could not open the circuit (STATE contended)`);
  const waitSeconds = circuitFor(ctx.worker).openTimeoutSeconds;
  await record(ctx, 'APPLIED', `circuit OPEN for ${waitSeconds} s`, { circuit: circuitAttr(tripped) });
  return { circuit: 'OPEN', waitSeconds };
}

type SlowedItem = z.infer<typeof SlowedList>['schedules'][number];

async function slowSchedules(ctx: Ctx, untilMs: number): Promise<SlowedItem[]> {
  const out: SlowedItem[] = [];
  for (const name of ctx.deps.scheduleNamesOf(ctx.worker.id)) {
    const current = await ctx.deps.schedules.get(name);
    const marker = slowedBy(current.description);
    if (marker !== null) {
      // Already slowed: by this recovery (a retried step) it is ours to restore; by another, it is not.
      out.push({ name, original: marker.originalExpression, slowed: current.expression, slowedHere: marker.alertId === ctx.input.alertId });
      continue;
    }
    const slowed = slowedScheduleExpression(current.expression, current.timezone, RECOVERY_BOUNDS.scheduleSlowdownFactor, ctx.nowMs);
    if (slowed === null) continue;
    await ctx.deps.schedules.update(name, { expression: slowed.expression, description: markSlowed(current.description, ctx.input.alertId, current.expression, new Date(untilMs).toISOString()) });
    out.push({ name, original: current.expression, slowed: slowed.expression, slowedHere: true });
  }
  return out;
}

async function slow(ctx: Ctx, untilMs: number) {
  const schedules = await slowSchedules(ctx, untilMs);
  const changed = schedules.filter((s) => s.slowedHere);
  if (changed.length > 0) {
    // The health sweep reads this: a registry slot the slowed schedule skips is not a missed run.
    await ctx.deps.store.updateWorkerState(ctx.worker.id, {
      condition: { op: 'or', of: [{ op: 'notExists', attr: SCHEDULE_SLOWED_UNTIL_ATTR }, { op: 'lt', attr: SCHEDULE_SLOWED_UNTIL_ATTR, value: untilMs }] },
      set: { [SCHEDULE_SLOWED_UNTIL_ATTR]: untilMs },
      add: {},
      remove: [],
    });
  }
  const detail = changed.length === 0 ? `no schedule of ${ctx.worker.id} to slow` : changed.map((s) => `${s.name}: ${s.original} -> ${s.slowed}`).join('; ');
  await record(ctx, changed.length === 0 ? 'SKIPPED' : 'APPLIED', `${detail} until ${new Date(untilMs).toISOString()}`, { schedules, factor: RECOVERY_BOUNDS.scheduleSlowdownFactor });
  return { schedules, resumeAt: new Date(untilMs).toISOString() };
}

async function restore(ctx: Ctx, path: 'slow' | 'rate') {
  const { schedules } = parse(SlowedList, ctx.state[path], `$.${path}`);
  const restored: string[] = [];
  for (const item of schedules.filter((s) => s.slowedHere)) {
    const current = await ctx.deps.schedules.get(item.name);
    const marker = slowedBy(current.description);
    if (marker === null || marker.alertId !== ctx.input.alertId) continue; // restored already, or by hand
    await ctx.deps.schedules.update(item.name, { expression: marker.originalExpression, description: unmarkSlowed(current.description) });
    restored.push(`${item.name}: ${current.expression} -> ${marker.originalExpression}`);
  }
  return record(ctx, restored.length === 0 ? 'SKIPPED' : 'APPLIED', restored.length === 0 ? 'nothing to restore' : `restored ${restored.join('; ')}`, { restored });
}

async function halfOpenStep(ctx: Ctx) {
  const written = await writeState(ctx, (s) => {
    if (s === undefined || s.circuit.state !== 'OPEN') return null;
    return withVersionBump({ condition: versionCondition(s), set: { circuit: circuitAttr(halfOpen(s.circuit, ctx.nowMs)) }, add: {}, remove: [] });
  });
  const arn = ctx.deps.pipelineArnOf(ctx.worker.id, ctx.job.id);
  const circuit = written?.circuit.state ?? (await ctx.deps.store.readWorkerState(ctx.worker.id))?.circuit.state ?? 'CLOSED';
  if (arn === undefined) {
    await record(ctx, 'APPLIED', `circuit ${circuit}; ${ctx.worker.id}.${ctx.job.id} has no pipeline: its next job is the probe`);
    return { probe: false, circuit };
  }
  const name = recoveryExecutionName(ctx.input.alertId, 'probe', ctx.worker.id, ctx.job.id);
  await record(ctx, 'APPLIED', `circuit ${circuit}; probing with ${name}`, { circuit });
  return { probe: true, circuit, stateMachineArn: arn, name, input: pipelineInput(ctx, ctx.worker.id, ctx.job.id, 'recovery') };
}

async function recordCircuit(ctx: Ctx) {
  const circuit = (await ctx.deps.store.readWorkerState(ctx.worker.id))?.circuit;
  const state = circuit?.state ?? 'CLOSED';
  const failure = ctx.state['probeFailure'] === undefined ? null : parse(StepError, ctx.state['probeFailure'], '$.probeFailure');
  const detail = `circuit ${state} after the probe${failure ? ` (probe failed: ${failure.Error})` : ''}`;
  await record(ctx, state === 'CLOSED' ? 'APPLIED' : 'FAILED', detail, { circuit: circuit ? circuitAttr(circuit) : null });
  return { state, closed: state === 'CLOSED' };
}

async function bounded(ctx: Ctx, what: string, decide: (s: WorkerStateItem | undefined) => BoundedChange) {
  const first = decide(await ctx.deps.store.readWorkerState(ctx.worker.id));
  if (first.kind === 'at-bound') return record(ctx, 'RECOMMENDED', first.recommendation, { currentSeconds: first.currentSeconds });
  let change: BoundedChange = first;
  const written = await writeState(ctx, (s) => {
    change = decide(s);
    return change.kind === 'raise' ? change.write : null;
  });
  const final = change as BoundedChange;
  if (final.kind === 'at-bound') return record(ctx, 'RECOMMENDED', final.recommendation, { currentSeconds: final.currentSeconds });
  if (written === null) throw new RecoveryIncompleteError(`${ctx.worker.id}: could not raise the ${what} (STATE contended)`);
  return record(ctx, 'APPLIED', `${what} ${final.fromSeconds} s -> ${final.toSeconds} s`, { fromSeconds: final.fromSeconds, toSeconds: final.toSeconds });
}

const lookupOf = (ctx: Ctx) => (id: string): WorkerSpec | undefined => {
  try {
    return (ctx.deps.lookup ?? workerById)(id);
  } catch {
    return undefined;
  }
};

async function refreshUpstream(ctx: Ctx) {
  const started: string[] = [];
  const skipped: string[] = [];
  for (const t of upstreamTargets(ctx.worker, ctx.job, lookupOf(ctx), true)) {
    const arn = ctx.deps.pipelineArnOf(t.worker, t.job);
    if (arn === undefined) {
      skipped.push(`${t.worker}.${t.job}`);
      continue;
    }
    const name = recoveryExecutionName(ctx.input.alertId, 'refresh', t.worker, t.job);
    await ctx.deps.pipelines.start(arn, name, pipelineInput(ctx, t.worker, t.job, 'refresh'));
    started.push(name);
  }
  return record(ctx, started.length > 0 ? 'APPLIED' : 'SKIPPED', started.length > 0 ? `refresh started: ${started.join(', ')}` : 'no upstream pipeline to refresh', { started, skipped });
}

/** Room for `-<retry count>` after the base name. */
const RETRY_SUFFIX_CHARS = 3;

async function planUpstream(ctx: Ctx) {
  const items = upstreamTargets(ctx.worker, ctx.job, lookupOf(ctx), false).flatMap((t) => {
    const arn = ctx.deps.pipelineArnOf(t.worker, t.job);
    if (arn === undefined) return [];
    return [{ worker: t.worker, job: t.job, optional: t.optional, stateMachineArn: arn, name: recoveryExecutionName(ctx.input.alertId, 'retry', t.worker, t.job, 80 - RETRY_SUFFIX_CHARS), input: pipelineInput(ctx, t.worker, t.job, 'recovery') }];
  });
  await record(ctx, items.length > 0 ? 'APPLIED' : 'SKIPPED', items.length > 0 ? `retrying ${items.map((i) => `${i.worker}.${i.job}${i.optional ? ' (optional: skipped)' : ''}`).join(', ')}` : 'no upstream pipeline', {
    upstream: items.map(({ worker, job, optional }) => ({ worker, job, optional })),
  });
  return { items };
}

async function recordUpstream(ctx: Ctx) {
  const items = parse(z.object({ items: z.array(UpstreamItem.loose()) }), ctx.state['upstream'], '$.upstream').items;
  const outcomes = parse(z.array(UpstreamOutcome), ctx.state['upstreamResults'] ?? [], '$.upstreamResults');
  const lines = items.map((item, i) => ({ upstream: `${item.worker}.${item.job}`, optional: item.optional, result: outcomes[i]?.result ?? 'FAILED' }));
  const failedHard = lines.filter((l) => !l.optional && l.result === 'FAILED');
  const detail = lines.map((l) => `${l.upstream}: ${l.result}`).join('; ') || 'no upstream';
  await record(ctx, failedHard.length > 0 ? 'FAILED' : 'APPLIED', detail, { upstream: lines });
  if (failedHard.length > 0) throw new RecoveryIncompleteError(`hard dependencies still failing after retries: ${failedHard.map((l) => l.upstream).join(', ')}`);
  return { result: 'APPLIED', detail };
}

async function finish(ctx: Ctx, outcome: 'SUCCEEDED' | 'FAILED', detail: string): Promise<number> {
  return ctx.deps.recoveries.finish(
    { alertId: ctx.input.alertId, worker: ctx.input.worker, job: ctx.input.job, anomaly: ctx.input.anomaly, outcome, at: new Date(ctx.nowMs).toISOString(), detail, executionId: ctx.executionId },
    recoveryExpiresAt(ctx.nowMs, ctx.deps.retentionDays ?? RECOVERY_RETENTION_DAYS),
  );
}

async function fail(ctx: Ctx) {
  const error = parse(StepError, ctx.state['error'] ?? { Error: 'Unknown' }, '$.error');
  const detail = `${error.Error}: ${(error.Cause ?? '').slice(0, 500)}`;
  const consecutiveFailures = await finish(ctx, 'FAILED', detail);
  // Only the repeated-failure rule is this path's to apply; unacknowledged criticals are the alert path's.
  const reason = escalationFor({ severity: ctx.input.severity, raisedAtMs: ctx.nowMs, acknowledged: true, consecutiveRecoveryFailures: consecutiveFailures, nowMs: ctx.nowMs });
  if (reason !== null) {
    await ctx.deps.alerts.page(pageSubject('ESCALATION', ctx.input.anomaly, ctx.input.worker, `recovery failed ${consecutiveFailures} times in a row`), {
      type: 'aurastream.recovery-escalation',
      reason,
      alertId: ctx.input.alertId,
      worker: ctx.input.worker,
      job: ctx.input.job,
      anomaly: ctx.input.anomaly,
      severity: ctx.input.severity,
      consecutiveFailures,
      lastError: detail,
      recoveryExecution: ctx.executionId,
    });
  }
  await record(ctx, 'FAILED', detail, { consecutiveFailures, escalated: reason });
  return { consecutiveFailures, escalated: reason !== null, reason };
}

export const makeHandler = (deps: RecoveryDeps) => async (event: unknown): Promise<unknown> => {
  const call = parse(RecoveryCall, event, 'recovery call');
  const input = parse(RecoveryInput, call.state, 'recovery input');
  const lookup = deps.lookup ?? workerById;
  let worker: WorkerSpec | undefined;
  try {
    worker = lookup(input.worker);
  } catch {
    worker = undefined;
  }
  const job = worker?.jobs.find((j) => j.id === input.job);
  if (!worker || !job) throw new ConfigurationError(`recovery ${input.alertId}: unknown worker/job "${input.worker}.${input.job}"`);
  const ctx: Ctx = { deps, input, state: call.state, step: call.step, executionId: call.executionId, nowMs: deps.clock(), worker, job };
  switch (call.step) {
    case 'restart':
      return restart(ctx);
    case 'page':
      return page(ctx);
    case 'scale-consumers':
      return scaleConsumers(ctx);
    case 'pause-intake':
      return pauseIntake(ctx);
    case 'open-circuit':
      return openCircuit(ctx);
    case 'reduce-rate':
      return slow(ctx, ctx.nowMs + circuitFor(worker).openTimeoutSeconds * 1000);
    case 'half-open':
      return halfOpenStep(ctx);
    case 'record-circuit':
      return recordCircuit(ctx);
    case 'restore-rate': {
      await restore(ctx, 'rate');
      const closed = (ctx.state['circuit'] as { closed?: unknown } | undefined)?.closed === true;
      if (!closed) throw new RecoveryIncompleteError(`${worker.id}: the probe did not close the circuit`);
      return { result: 'APPLIED', closed };
    }
    case 'raise-timeout':
      return bounded(ctx, 'step timeout', (s) => raisedStepTimeout(worker, job, s));
    case 'extend-lease':
      return bounded(ctx, 'lock lease', (s) => extendedLease(worker, s));
    case 'refresh-upstream':
      return refreshUpstream(ctx);
    case 'slow-schedule':
      return slow(ctx, quotaResetAtMs(ctx.nowMs));
    case 'restore-schedule':
      return restore(ctx, 'slow');
    case 'plan-upstream':
      return planUpstream(ctx);
    case 'record-upstream':
      return recordUpstream(ctx);
    case 'no-recovery':
      return record(ctx, 'SKIPPED', `${input.anomaly} has no recovery action: alerted only`);
    case 'finish':
      await finish(ctx, 'SUCCEEDED', `recovery of ${input.anomaly} completed`);
      return { outcome: 'SUCCEEDED' };
    case 'fail':
      return fail(ctx);
  }
};
