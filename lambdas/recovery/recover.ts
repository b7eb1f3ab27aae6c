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
  dependencyRecoveryPlan,
  nextRunAtMs,
  upstreamRetryDelaySeconds,
  RECOVERY_OUTCOMES,
  runNotRecovered,
  staleDataTargets,
  type BoundedChange,
  type RecoveryOutcome,
  type RecoveryResult,
  type RecoveryVerdict,
  type StatesById,
} from '../../lib/domain/recovery-actions.js';
import { stepTimeoutFor } from '../../lib/domain/gate.js';
import { circuitAttr, circuitAttrOf, circuitOf, lockExpiryText, lockOf, lockViewIsLive, versionCondition, withVersionBump, type StateWrite, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { ALL_WORKERS, circuitFor, workerById, type JobSpec, type WorkerSpec } from '../../lib/registry/index.js';

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
  'verify-refresh',
  'slow-schedule',
  'restore-schedule',
  'extend-lease',
  'verify-lease',
  'plan-upstream',
  'record-upstream',
  'verify-dependents',
  'verify-restart',
  'verify-intake',
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
  'verify-dependents': 'RETRY_UPSTREAM',
  'verify-refresh': 'FORCE_REFRESH_UPSTREAM',
  'verify-lease': 'EXTEND_LEASE',
  'verify-restart': 'RESTART_WORKER',
  'verify-intake': 'PAUSE_NEW_JOBS',
  'restore-rate': 'OPEN_CIRCUIT',
  'restore-schedule': 'SLOW_SCHEDULE',
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
/** One Map iteration's result: a run's output (`.sync:2`), or its failure, or an optional dependency skipped. */
const RunOutcome = z.object({ result: z.enum(['RAN', 'SKIPPED', 'FAILED']), output: z.unknown().optional(), error: z.string().optional() }).loose();
const StepError = z.object({ Error: z.string(), Cause: z.string().optional() });
/** A `.sync:2` run as the state machine keeps it (ResultSelector): its status and output. */
const SyncRun = z.object({ status: z.string(), output: z.unknown().optional() }).loose();

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
  /** The pipeline ARN of a worker's job (PIPELINE_ARN_PREFIX and the naming convention); undefined when it has none (an on-demand job). */
  readonly pipelineArnOf: (worker: string, job: string) => string | undefined;
  /** The EventBridge schedules of a worker (named by trigger key). */
  readonly scheduleNamesOf: (worker: string) => readonly string[];
  readonly logger: RecoveryLogger;
  /** @default workerById (the registry) */
  readonly lookup?: (id: string) => WorkerSpec | undefined;
  /** The workers DEPENDENCY_FAILURE and LOCK_CONTENTION plan over. @default ALL_WORKERS */
  readonly registry?: readonly WorkerSpec[];
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

const jobName = (ctx: Ctx): string => `${ctx.worker.id}.${ctx.job.id}`;

/** The recovery's verdict: SUCCEEDED only when `verified`. */
const verdict = (ctx: Ctx, outcome: RecoveryOutcome, reason: string, job: string = jobName(ctx)): RecoveryVerdict => ({
  outcome,
  verified: outcome === 'SUCCEEDED',
  reason,
  action: STEP_ACTION[ctx.step] ?? RECOVERY_TABLE[ctx.input.anomaly]?.actions[0] ?? null,
  job,
});

/**
 * Records a branch's verdict and returns it (the state machine keeps it at `$.verdict`). A FAILED
 * verdict fails the recovery (RecoveryIncompleteError): the whole-recovery Catch records it,
 * counts the streak and escalates.
 */
async function conclude(ctx: Ctx, v: RecoveryVerdict, changes: Readonly<Record<string, unknown>> = {}): Promise<RecoveryVerdict> {
  await record(ctx, v.outcome === 'SUCCEEDED' ? 'APPLIED' : v.outcome === 'FAILED' ? 'FAILED' : 'SKIPPED', v.reason, { ...changes, verdict: v });
  if (v.outcome === 'FAILED') throw new RecoveryIncompleteError(v.reason);
  return v;
}

const stepError = (ctx: Ctx, path: string): z.infer<typeof StepError> | null => (ctx.state[path] === undefined ? null : parse(StepError, ctx.state[path], `$.${path}`));

/** An on-demand job's pipeline needs the request the queue delivered; a recovery has none to replay. */
const onDemandReason = (ctx: Ctx, what: string): string | null =>
  ctx.worker.executionModel === 'on-demand' ? `${jobName(ctx)} is on demand: a ${what} would need a request to replay, and the queue retries its own jobs` : null;

const pipelineInput = (ctx: Ctx, worker: string, job: string, trigger: 'recovery' | 'refresh', atMs: number = ctx.nowMs): Record<string, unknown> => ({
  worker,
  job,
  scheduledTime: new Date(atMs).toISOString(),
  trigger,
});

/** Claims the restart budget and names the run; the state machine runs it (`.sync:2`) and verify-restart checks it. */
async function restart(ctx: Ctx) {
  const arn = ctx.deps.pipelineArnOf(ctx.worker.id, ctx.job.id);
  const notApplicable = onDemandReason(ctx, 'restart') ?? (arn === undefined ? `${jobName(ctx)} has no pipeline to restart` : null);
  const skip = async (reason: string) => {
    await record(ctx, 'SKIPPED', reason);
    return { start: false, reason };
  };
  if (notApplicable !== null || arn === undefined) return skip(notApplicable ?? '');
  const claimedBy = 'recoveryRestartBy';
  const raw = await ctx.deps.recoveries.readRawWorkerState(ctx.worker.id);
  // A retried step whose budget claim already went through: start (idempotent by name) again.
  const ownClaim = raw?.[claimedBy] === ctx.input.alertId && typeof raw[RESTART_ATTRS.windowStartMs] === 'number';
  if (!ownClaim) {
    const plan = restartPlan(raw, ctx.nowMs);
    if (!plan.allowed) return skip(plan.reason);
    const written = await ctx.deps.store.updateWorkerState(ctx.worker.id, { ...plan.write, set: { ...plan.write.set, [claimedBy]: ctx.input.alertId } });
    if (written === null) return skip('a concurrent recovery spent the restart budget');
  }
  const name = recoveryExecutionName(ctx.input.alertId, 'restart', ctx.worker.id, ctx.job.id);
  await record(ctx, 'APPLIED', `restarting ${jobName(ctx)} as ${name}`, { name, restartsPerHourMax: RECOVERY_BOUNDS.restartsPerHourMax });
  return { start: true, stateMachineArn: arn, name, input: pipelineInput(ctx, ctx.worker.id, ctx.job.id, 'recovery') };
}

/** WORKER_CRASH's goal: the restarted run SUCCEEDED (not SKIPPED, not FAILED). */
async function verifyRestart(ctx: Ctx) {
  const plan = z.object({ start: z.boolean(), reason: z.string().optional() }).loose().parse(ctx.state['restart'] ?? { start: false, reason: 'no restart planned' });
  if (!plan.start) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', plan.reason ?? 'no restart'));
  const run = ctx.state['restartRun'] === undefined ? null : parse(SyncRun, ctx.state['restartRun'], '$.restartRun');
  const why = runNotRecovered(`the restarted run of ${jobName(ctx)}`, run?.output, stepError(ctx, 'restartFailure'));
  return conclude(ctx, why === null ? verdict(ctx, 'SUCCEEDED', `the restarted run of ${jobName(ctx)} SUCCEEDED`) : verdict(ctx, 'FAILED', why));
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
  const written = await writeState(ctx, (s) => withVersionBump({ condition: versionCondition(s), set: { [circuitAttrOf(ctx.job.id)]: circuitAttr(tripped) }, add: {}, remove: [] }));
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

/** QUEUE_OVERFLOW's goal: the consumers scaled (or already unbounded) and new jobs held back, read back. */
async function verifyIntake(ctx: Ctx) {
  const state = await ctx.deps.recoveries.readRawWorkerState(ctx.worker.id);
  const until = typeof state?.[INTAKE_PAUSED_UNTIL_ATTR] === 'number' ? (state[INTAKE_PAUSED_UNTIL_ATTR] as number) : null;
  if (until === null || until <= ctx.nowMs) return conclude(ctx, verdict(ctx, 'FAILED', `${ctx.worker.id} intake is not paused (read back)`));
  const concurrency = await ctx.deps.queues.maxConcurrency(ctx.worker.id);
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `${ctx.worker.id} consumers at ${concurrency === null ? 'no maximum' : `maximum concurrency ${concurrency}`}; new jobs paused until ${new Date(until).toISOString()} (read back)`));
}

/** API_QUOTA_LOW's goal: the schedules ran slowed until the quota reset and are back to their originals (read back). */
async function restoreSchedule(ctx: Ctx) {
  await restore(ctx, 'slow');
  const { schedules } = parse(SlowedList, ctx.state['slow'], '$.slow');
  const ours = schedules.filter((s) => s.slowedHere);
  if (ours.length === 0) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', `no schedule of ${ctx.worker.id} was slowed by this recovery`));
  const wrong: string[] = [];
  for (const item of ours) {
    const now = await ctx.deps.schedules.get(item.name);
    if (now.expression !== item.original) wrong.push(`${item.name} reads ${now.expression}, not ${item.original}`);
  }
  if (wrong.length > 0) return conclude(ctx, verdict(ctx, 'FAILED', `schedules not restored: ${wrong.join('; ')}`));
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `${ours.map((s) => s.name).join(', ')} ran slowed (x${RECOVERY_BOUNDS.scheduleSlowdownFactor}) until the quota reset and read back as their originals`));
}

async function halfOpenStep(ctx: Ctx) {
  const written = await writeState(ctx, (s) => {
    const circuit = circuitOf(s, ctx.job.id);
    if (s === undefined || circuit.state !== 'OPEN') return null;
    return withVersionBump({ condition: versionCondition(s), set: { [circuitAttrOf(ctx.job.id)]: circuitAttr(halfOpen(circuit, ctx.nowMs)) }, add: {}, remove: [] });
  });
  const arn = ctx.deps.pipelineArnOf(ctx.worker.id, ctx.job.id);
  const circuit = circuitOf(written ?? (await ctx.deps.store.readWorkerState(ctx.worker.id)), ctx.job.id).state;
  const noProbe = onDemandReason(ctx, 'probe') ?? (arn === undefined ? `${jobName(ctx)} has no pipeline to probe with` : null);
  if (noProbe !== null || arn === undefined) {
    const reason = `circuit ${circuit}; ${noProbe ?? ''}: its next job is the probe`;
    await record(ctx, 'APPLIED', reason);
    return { probe: false, circuit, reason };
  }
  const name = recoveryExecutionName(ctx.input.alertId, 'probe', ctx.worker.id, ctx.job.id);
  await record(ctx, 'APPLIED', `circuit ${circuit}; probing with ${name}`, { circuit });
  return { probe: true, circuit, stateMachineArn: arn, name, input: pipelineInput(ctx, ctx.worker.id, ctx.job.id, 'recovery') };
}

async function recordCircuit(ctx: Ctx) {
  const circuit = circuitOf(await ctx.deps.store.readWorkerState(ctx.worker.id), ctx.job.id);
  const state = circuit.state;
  const probed = (ctx.state['halfOpen'] as { probe?: unknown } | undefined)?.probe === true;
  const run = ctx.state['probe'] === undefined ? null : parse(SyncRun, ctx.state['probe'], '$.probe');
  const notRecovered = probed ? runNotRecovered(`the probe of ${jobName(ctx)}`, run?.output, stepError(ctx, 'probeFailure')) : null;
  const detail = `circuit ${state} after the probe${notRecovered ? ` (${notRecovered})` : ''}`;
  await record(ctx, state === 'CLOSED' && notRecovered === null ? 'APPLIED' : 'FAILED', detail, { circuit: circuitAttr(circuit) });
  return { state, closed: state === 'CLOSED', probed, notRecovered };
}

/** HIGH_FAILURE_RATE's goal: the circuit CLOSED after a probe run that SUCCEEDED. The schedules are restored either way. */
async function restoreRate(ctx: Ctx) {
  await restore(ctx, 'rate');
  const c = z.object({ state: z.string(), closed: z.boolean(), probed: z.boolean(), notRecovered: z.string().nullable() }).parse(ctx.state['circuit']);
  if (!c.probed) {
    const reason = (ctx.state['halfOpen'] as { reason?: unknown } | undefined)?.reason;
    return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', typeof reason === 'string' ? reason : `${jobName(ctx)} was not probed`));
  }
  if (c.notRecovered !== null) return conclude(ctx, verdict(ctx, 'FAILED', `${c.notRecovered}; circuit ${c.state}`));
  if (!c.closed) return conclude(ctx, verdict(ctx, 'FAILED', `the probe of ${jobName(ctx)} SUCCEEDED but the circuit is ${c.state}`));
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `the probe of ${jobName(ctx)} SUCCEEDED and closed the circuit`));
}

/** Applies a bounded raise; the change made, or the recommendation at the bound. */
async function bounded(ctx: Ctx, what: string, decide: (s: WorkerStateItem | undefined) => BoundedChange): Promise<{ raised: false; recommendation: string } | { raised: true; fromSeconds: number; toSeconds: number; state: WorkerStateItem }> {
  const first = decide(await ctx.deps.store.readWorkerState(ctx.worker.id));
  if (first.kind === 'at-bound') {
    await record(ctx, 'RECOMMENDED', first.recommendation, { currentSeconds: first.currentSeconds });
    return { raised: false, recommendation: first.recommendation };
  }
  let change: BoundedChange = first;
  const written = await writeState(ctx, (s) => {
    change = decide(s);
    return change.kind === 'raise' ? change.write : null;
  });
  const final = change as BoundedChange;
  if (final.kind === 'at-bound') {
    await record(ctx, 'RECOMMENDED', final.recommendation, { currentSeconds: final.currentSeconds });
    return { raised: false, recommendation: final.recommendation };
  }
  if (written === null) throw new RecoveryIncompleteError(`${ctx.worker.id}: could not raise the ${what} (STATE contended)`);
  await record(ctx, 'APPLIED', `${what} ${final.fromSeconds} s -> ${final.toSeconds} s`, { fromSeconds: final.fromSeconds, toSeconds: final.toSeconds });
  return { raised: true, fromSeconds: final.fromSeconds, toSeconds: final.toSeconds, state: written };
}

/** SLOW_EXECUTION's goal: the job's work step has a longer timeout, read back as the gate will hand it to the Work task. */
async function raiseTimeout(ctx: Ctx) {
  const change = await bounded(ctx, 'step timeout', (s) => raisedStepTimeout(ctx.worker, ctx.job, s));
  if (!change.raised) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', change.recommendation));
  const inEffect = stepTimeoutFor(ctx.worker, ctx.job, await ctx.deps.store.readWorkerState(ctx.worker.id));
  if (inEffect < change.toSeconds) return conclude(ctx, verdict(ctx, 'FAILED', `${jobName(ctx)} step timeout reads back as ${inEffect} s, not ${change.toSeconds} s`));
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `${jobName(ctx)} work step timeout ${change.fromSeconds} s -> ${inEffect} s, handed to the Work task from the next run`));
}

/** Margin after a job's next run is expected to have taken its lock. */
const LEASE_CHECK_MARGIN_SECONDS = 60;

/** LOCK_CONTENTION: lengthens the lease; the state machine then waits for the next run and verify-lease checks it took the lock. */
async function extendLease(ctx: Ctx) {
  const change = await bounded(ctx, 'lock lease', (s) => extendedLease(ctx.worker, s));
  if (!change.raised) return { raised: false, reason: change.recommendation };
  const next = nextRunAtMs(ctx.worker, ctx.job, ctx.nowMs, ctx.deps.registry ?? ALL_WORKERS);
  if (next === null) return { raised: true, check: false, reason: `${jobName(ctx)} has no scheduled next run to check the lock with` };
  const fence = lockOf(change.state, ctx.job.id).fence;
  return { raised: true, check: true, fenceAtRaise: fence, checkAt: new Date(next + LEASE_CHECK_MARGIN_SECONDS * 1000).toISOString(), toSeconds: change.toSeconds };
}

/** LOCK_CONTENTION's goal: the lease is longer and the next run acquired the lock (its fence moved on). */
async function verifyLease(ctx: Ctx) {
  const plan = z.object({ raised: z.boolean(), check: z.boolean().optional(), reason: z.string().optional(), fenceAtRaise: z.number().optional(), checkAt: z.string().optional() }).loose().parse(ctx.state['lease']);
  if (!plan.raised || plan.check !== true || plan.fenceAtRaise === undefined) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', plan.reason ?? 'the lease was not lengthened'));
  const lock = lockOf(await ctx.deps.store.readWorkerState(ctx.worker.id), ctx.job.id);
  if (lock.fence > plan.fenceAtRaise) return conclude(ctx, verdict(ctx, 'SUCCEEDED', `lease lengthened and a later run of ${jobName(ctx)} acquired the lock (fence ${plan.fenceAtRaise} -> ${lock.fence})`));
  const held = lockViewIsLive(lock, ctx.nowMs) ? `: the lock is held by ${lock.holder ?? 'unknown'} until ${lockExpiryText(lock)}` : '';
  return conclude(ctx, verdict(ctx, 'FAILED', `no run of ${jobName(ctx)} acquired the lock by ${new Date(ctx.nowMs).toISOString()}${held}; a longer lease does not free a held lock`));
}

const lookupOf = (ctx: Ctx) => (id: string): WorkerSpec | undefined => {
  try {
    return (ctx.deps.lookup ?? workerById)(id);
  } catch {
    return undefined;
  }
};

/** The STATE items of the workers a recovery's targets are read from. */
async function statesOf(ctx: Ctx, workerIds: readonly string[]): Promise<StatesById> {
  const out: Record<string, WorkerStateItem | undefined> = {};
  for (const id of new Set(workerIds)) out[id] = await ctx.deps.store.readWorkerState(id);
  return out;
}

/** STALE_DATA: the jobs whose data is stale (the consumed job of each stale data dependency), as items the state machine runs (`.sync:2`). */
async function refreshUpstream(ctx: Ctx) {
  const states = await statesOf(ctx, [ctx.worker.id, ...ctx.worker.dependencies.map((d) => d.on)]);
  const targets = staleDataTargets(ctx.worker, ctx.job, states, ctx.nowMs);
  const items = targets.flatMap((t) => {
    const arn = ctx.deps.pipelineArnOf(t.worker, t.job);
    return arn === undefined ? [] : [{ worker: t.worker, job: t.job, optional: t.optional, why: t.why, stateMachineArn: arn, name: recoveryExecutionName(ctx.input.alertId, 'refresh', t.worker, t.job), input: pipelineInput(ctx, t.worker, t.job, 'refresh') }];
  });
  await record(ctx, items.length > 0 ? 'APPLIED' : 'SKIPPED', items.length > 0 ? `refreshing ${items.map((i) => `${i.worker}.${i.job} (${i.why})`).join(', ')}` : 'no stale data left to refresh', { targets: items.map(({ worker, job, why }) => ({ worker, job, why })) });
  return { items };
}

/** Why each Map iteration's run does not count as recovered (null: it SUCCEEDED). */
function runsNotRecovered(items: readonly { worker: string; job: string; optional?: boolean }[], results: readonly z.infer<typeof RunOutcome>[]): { upstream: string; optional: boolean; why: string | null }[] {
  return items.map((item, i) => {
    const r = results[i];
    const what = `the run of ${item.worker}.${item.job}`;
    const why = r === undefined ? `${what} has no result` : r.result === 'SKIPPED' ? null : r.result === 'FAILED' ? `${what} failed: ${r.error ?? 'unknown error'}` : runNotRecovered(what, r.output, null);
    return { upstream: `${item.worker}.${item.job}`, optional: item.optional === true, why };
  });
}

/** STALE_DATA's goal: each stale job ran again and SUCCEEDED. */
async function verifyRefresh(ctx: Ctx) {
  const items = parse(z.object({ items: z.array(UpstreamItem.loose()) }), ctx.state['refresh'], '$.refresh').items;
  if (items.length === 0) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', `no data of ${jobName(ctx)}'s dependencies is stale any more`));
  const lines = runsNotRecovered(items, parse(z.array(RunOutcome), ctx.state['refreshRuns'] ?? [], '$.refreshRuns'));
  const target = items.map((i) => `${i.worker}.${i.job}`).join(', ');
  const failed = lines.filter((l) => l.why !== null);
  if (failed.length > 0) return conclude(ctx, verdict(ctx, 'FAILED', failed.map((l) => l.why).join('; '), target));
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `refreshed ${target}: each run SUCCEEDED`, target));
}

const DependentItem = z.object({ worker: z.string(), job: z.string() });
/** `$.upstream`: the plan, then (after each attempt) what is left to retry. */
const UpstreamPlan = z.object({
  items: z.array(UpstreamItem.loose()),
  /** Every hard upstream job of the plan, `worker.job` (items shrinks to the ones still failing). */
  targets: z.array(z.string()).default([]),
  dependents: z.array(DependentItem.loose()),
  /** Attempts made before this one: 0 for the first. */
  attempt: z.number().int().min(0).default(0),
  /** Every attempt so far (at most RECOVERY_BOUNDS.upstreamRetriesMax + 1): its time and what each upstream run did. */
  history: z.array(z.object({ attempt: z.number().int(), at: z.string(), detail: z.string() })).default([]),
}).loose();

/** A retried upstream job's run: its own name and scheduled time per attempt (`atMs`). */
const upstreamRun = (ctx: Ctx, t: { worker: string; job: string }, attempt: number, atMs: number) => ({
  name: recoveryExecutionName(ctx.input.alertId, `retry${attempt}`, t.worker, t.job),
  input: pipelineInput(ctx, t.worker, t.job, 'recovery', atMs),
});

/**
 * DEPENDENCY_FAILURE: the failed upstream jobs to retry (dependencyRecoveryPlan: only stale ones,
 * the job consumed, optional ones skipped) and the blocked dependents to run once after.
 */
async function planUpstream(ctx: Ctx) {
  const registry = ctx.deps.registry ?? ALL_WORKERS;
  const states = await statesOf(ctx, registry.map((w) => w.id));
  const plan = dependencyRecoveryPlan(ctx.worker, ctx.job, registry, states, ctx.nowMs);
  const runnable = (worker: string, job: string): string | undefined => (lookupOf(ctx)(worker)?.executionModel === 'on-demand' ? undefined : ctx.deps.pipelineArnOf(worker, job));
  const items = plan.upstream.flatMap((t) => {
    const arn = runnable(t.worker, t.job);
    if (arn === undefined) return [];
    return [{ worker: t.worker, job: t.job, optional: t.optional, why: t.why, stateMachineArn: arn, ...upstreamRun(ctx, t, 0, ctx.nowMs) }];
  });
  const dependents = plan.dependents.flatMap((d) => {
    const arn = runnable(d.worker, d.job);
    if (arn === undefined) return [];
    return [{ worker: d.worker, job: d.job, stateMachineArn: arn, name: recoveryExecutionName(ctx.input.alertId, 'dependent', d.worker, d.job), input: pipelineInput(ctx, d.worker, d.job, 'recovery') }];
  });
  await record(ctx, items.length > 0 ? 'APPLIED' : 'SKIPPED', items.length > 0 ? `retrying ${items.map((i) => `${i.worker}.${i.job}${i.optional ? ' (optional: skipped)' : ''} (${i.why})`).join(', ')}; then ${dependents.map((d) => `${d.worker}.${d.job}`).join(', ') || 'no dependent'}` : 'no failed upstream job to retry', {
    upstream: items.map(({ worker, job, optional, why }) => ({ worker, job, optional, why })),
    dependents: dependents.map(({ worker, job }) => ({ worker, job })),
  });
  const targets = items.filter((i) => !i.optional).map((i) => `${i.worker}.${i.job}`);
  return { items, targets, dependents, runDependents: dependents.length > 0, attempt: 0, retry: false, waitSeconds: 0 };
}

/**
 * After each attempt: the upstream jobs still failing (a SKIPPED run is "not yet") are retried after
 * the backoff (`retry`, `waitSeconds`), each with a new name and scheduled time; once every hard one
 * SUCCEEDED the dependents run, now (their scheduled time is now). Past RECOVERY_BOUNDS.upstreamRetriesMax
 * retries the recovery fails.
 */
async function recordUpstream(ctx: Ctx) {
  const plan = parse(UpstreamPlan, ctx.state['upstream'], '$.upstream');
  const lines = runsNotRecovered(plan.items, parse(z.array(RunOutcome), ctx.state['upstreamResults'] ?? [], '$.upstreamResults'));
  const failing = plan.items.filter((item, i) => !item.optional && lines[i]?.why !== null);
  const attempt = plan.attempt + 1;
  const detail = `attempt ${attempt}: ${lines.map((l) => `${l.upstream}: ${l.optional ? 'optional, skipped' : (l.why ?? 'SUCCEEDED')}`).join('; ') || 'no upstream'}`;
  // The step's one ACTION item is rewritten each attempt: it carries every attempt so far.
  const history = [...plan.history, { attempt, at: new Date(ctx.nowMs).toISOString(), detail }];
  if (failing.length === 0) {
    await record(ctx, 'APPLIED', detail, { upstream: lines, attempts: attempt, history });
    const dependents = plan.dependents.map((d) => ({ ...d, input: pipelineInput(ctx, d.worker, d.job, 'recovery') }));
    return { ...plan, items: [], dependents, attempt, history, retry: false, waitSeconds: 0 };
  }
  const waitSeconds = upstreamRetryDelaySeconds(attempt);
  if (waitSeconds === null) {
    const v = verdict(ctx, 'FAILED', `upstream still failing after ${attempt} attempts (${RECOVERY_BOUNDS.upstreamRetriesMax} retries with backoff): ${failing.map((i) => lines[plan.items.indexOf(i)]?.why).join('; ')}`, failing.map((i) => `${i.worker}.${i.job}`).join(', '));
    await record(ctx, 'FAILED', detail, { upstream: lines, attempts: attempt, history, verdict: v });
    throw new RecoveryIncompleteError(v.reason);
  }
  const atMs = ctx.nowMs + waitSeconds * 1000;
  const items = failing.map((item) => ({ ...item, ...upstreamRun(ctx, item, attempt, atMs) }));
  await record(ctx, 'APPLIED', `${detail}; retry ${attempt} of ${RECOVERY_BOUNDS.upstreamRetriesMax} in ${waitSeconds} s`, { upstream: lines, attempts: attempt, history, nextRetryAt: new Date(atMs).toISOString() });
  return { ...plan, items, attempt, history, retry: true, waitSeconds };
}

/** DEPENDENCY_FAILURE's goal: the upstream SUCCEEDED and the blocked dependents then ran and SUCCEEDED. */
async function verifyDependents(ctx: Ctx) {
  const plan = parse(UpstreamPlan, ctx.state['upstream'], '$.upstream');
  const target = plan.targets.join(', ') || jobName(ctx);
  if (plan.targets.length === 0 && plan.dependents.length === 0) return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', `no upstream of ${jobName(ctx)} is failing any more`));
  const lines = runsNotRecovered(plan.dependents, parse(z.array(RunOutcome), ctx.state['dependentRuns'] ?? [], '$.dependentRuns'));
  const failed = lines.filter((l) => l.why !== null);
  if (failed.length > 0) return conclude(ctx, verdict(ctx, 'FAILED', `upstream ${target} recovered, but ${failed.map((l) => l.why).join('; ')}`, target));
  const ran = plan.dependents.map((d) => `${d.worker}.${d.job}`).join(', ');
  return conclude(ctx, verdict(ctx, 'SUCCEEDED', `${target} SUCCEEDED${ran ? `; then ${ran} ran and SUCCEEDED` : ''}`, target));
}

async function finish(ctx: Ctx, v: RecoveryVerdict, detail: string): Promise<number> {
  return ctx.deps.recoveries.finish(
    {
      alertId: ctx.input.alertId,
      worker: ctx.input.worker,
      job: ctx.input.job,
      anomaly: ctx.input.anomaly,
      outcome: v.outcome,
      verified: v.verified,
      reason: v.reason,
      action: v.action,
      target: v.job,
      at: new Date(ctx.nowMs).toISOString(),
      detail,
      executionId: ctx.executionId,
    },
    recoveryExpiresAt(ctx.nowMs, ctx.deps.retentionDays ?? RECOVERY_RETENTION_DAYS),
  );
}

const VerdictSchema = z.object({ outcome: z.enum(RECOVERY_OUTCOMES), verified: z.boolean(), reason: z.string(), action: z.enum(RECOVERY_ACTIONS).nullable(), job: z.string() });

/** The branch's verdict (the Parallel keeps it at `$.outcome.verdict`); SUCCEEDED is kept only when verified. */
async function finishStep(ctx: Ctx) {
  const found = VerdictSchema.safeParse((ctx.state['outcome'] as { verdict?: unknown } | undefined)?.verdict);
  const v: RecoveryVerdict = found.success
    ? found.data.outcome === 'SUCCEEDED' && !found.data.verified
      ? { ...found.data, outcome: 'FAILED', reason: `not verified: ${found.data.reason}` }
      : found.data
    : verdict(ctx, 'NOT_APPLICABLE', `the ${ctx.input.anomaly} recovery gave no verdict`);
  await finish(ctx, v, v.reason);
  return v;
}

async function fail(ctx: Ctx) {
  const error = parse(StepError, ctx.state['error'] ?? { Error: 'Unknown' }, '$.error');
  const detail = `${error.Error}: ${(error.Cause ?? '').slice(0, 500)}`;
  const consecutiveFailures = await finish(ctx, verdict(ctx, 'FAILED', (error.Cause ?? error.Error).slice(0, 500)), detail);
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
    case 'restore-rate':
      return restoreRate(ctx);
    case 'raise-timeout':
      return raiseTimeout(ctx);
    case 'extend-lease':
      return extendLease(ctx);
    case 'verify-lease':
      return verifyLease(ctx);
    case 'refresh-upstream':
      return refreshUpstream(ctx);
    case 'verify-refresh':
      return verifyRefresh(ctx);
    case 'slow-schedule':
      return slow(ctx, quotaResetAtMs(ctx.nowMs));
    case 'restore-schedule':
      return restoreSchedule(ctx);
    case 'plan-upstream':
      return planUpstream(ctx);
    case 'record-upstream':
      return recordUpstream(ctx);
    case 'verify-dependents':
      return verifyDependents(ctx);
    case 'verify-restart':
      return verifyRestart(ctx);
    case 'verify-intake':
      return verifyIntake(ctx);
    case 'no-recovery':
      return conclude(ctx, verdict(ctx, 'NOT_APPLICABLE', `${input.anomaly} has no recovery action: alerted only`));
    case 'finish':
      return finishStep(ctx);
    case 'fail':
      return fail(ctx);
  }
};
