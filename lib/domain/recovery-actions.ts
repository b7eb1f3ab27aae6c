/**
 * The decisions behind each recovery action (lib/domain/recovery.ts says which actions run; this
 * module says exactly what each one changes): the slowed schedule expression, when the YouTube
 * quota resets, the restart budget as a conditional write, the bounded timeout and lease raises,
 * the consumer concurrency, the upstream pipelines to refresh, and the recovery's record item.
 * Pure: no clock, no I/O.
 */
import { workStepTimeoutSeconds } from '../registry/index.js';
import type { DependencySpec, JobSpec, WorkerSpec } from '../registry/types.js';
import { parseScheduleExpression } from '../registry/schedule-expression.js';
import { and, or, type Condition } from './lock.js';
import { boundedIncrease, RECOVERY_BOUNDS, type RecoveryAction } from './recovery.js';
import { occurrences } from './schedule-math.js';
import { STATE_ATTRS, type StateWrite, type WorkerStateItem } from './worker-state.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

// ---------------------------------------------------------------------------------------------
// API_QUOTA_LOW / REDUCE_RATE: slowing a schedule

/** How far ahead a cron is enumerated to find its shortest interval. */
export const INTERVAL_PROBE_DAYS = 8;

export interface SlowedSchedule {
  readonly expression: string;
  /** The shortest interval between two firings before and after, in minutes. */
  readonly intervalMinutes: number;
  readonly slowedIntervalMinutes: number;
}

/** `rate(n unit)` with AWS's singular unit for 1. */
export function rateExpression(minutes: number): string {
  const [value, unit] = minutes % (24 * 60) === 0 ? [minutes / (24 * 60), 'day'] : minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  return `rate(${value} ${unit}${value === 1 ? '' : 's'})`;
}

/** The shortest gap between consecutive firings over the probe window, in minutes; null when it fires at most once. */
export function shortestIntervalMinutes(expression: string, timezone: string, fromMs: number): number | null {
  const times = occurrences(expression, timezone, fromMs, fromMs + INTERVAL_PROBE_DAYS * DAY_MS);
  let best: number | null = null;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (best === null || gap < best) best = gap;
  }
  return best === null ? null : Math.round(best / MINUTE_MS);
}

const isWild = (field: string): boolean => field === '*' || field === '?';

/**
 * The schedule with its interval multiplied by `factor` (RECOVERY_BOUNDS.scheduleSlowdownFactor).
 * - `rate(n unit)` -> `rate(n*factor unit)`;
 * - a cron that fires every k minutes of every day (minutes `a/k` or `*`, or a fixed minute every
 *   hour or every `/h` hours) keeps its anchor minute and becomes a stepped cron when the new
 *   interval divides an hour or a day: `cron(0/30 * * * ? *)` x4 -> `cron(0 0/2 * * ? *)`;
 * - any other cron becomes `rate(shortest interval x factor)`.
 * Null for `at(...)` (a one-off cannot be slowed) and for a malformed expression.
 */
export function slowedScheduleExpression(expression: string, timezone: string, factor: number, nowMs: number): SlowedSchedule | null {
  if (!(factor > 1) || !Number.isInteger(factor)) throw new RangeError(`slowdown factor must be an integer above 1, got ${factor}`);
  const parsed = parseScheduleExpression(expression);
  if (!parsed.ok || parsed.schedule.kind === 'at') return null;
  const schedule = parsed.schedule;
  if (schedule.kind === 'rate') {
    const minutes = schedule.value * { minute: 1, hour: 60, day: 24 * 60 }[schedule.unit];
    return { expression: `rate(${schedule.value * factor} ${schedule.unit}s)`, intervalMinutes: minutes, slowedIntervalMinutes: minutes * factor };
  }
  const interval = shortestIntervalMinutes(expression, timezone, nowMs);
  if (interval === null) return null;
  const slowed = interval * factor;
  const [minutes, hours, dom, month, dow, year] = schedule.fields;
  const everyDay = isWild(dom) && month === '*' && isWild(dow) && year === '*';
  const anchor = /^(\d+)(\/\d+)?$/.exec(minutes)?.[1] ?? (minutes.startsWith('*') ? '0' : null);
  const hourly = hours === '*' || /^(\d+)\/\d+$/.test(hours);
  if (everyDay && anchor !== null && hourly) {
    const hourAnchor = /^(\d+)\//.exec(hours)?.[1] ?? '0';
    if (slowed < 60 && 60 % slowed === 0) return { expression: `cron(${anchor}/${slowed} ${hours} * * ? *)`, intervalMinutes: interval, slowedIntervalMinutes: slowed };
    if (slowed % 60 === 0 && 24 % (slowed / 60) === 0) {
      const everyHours = slowed / 60;
      return { expression: `cron(${anchor} ${everyHours === 1 ? '*' : `${hourAnchor}/${everyHours}`} * * ? *)`, intervalMinutes: interval, slowedIntervalMinutes: slowed };
    }
  }
  return { expression: rateExpression(slowed), intervalMinutes: interval, slowedIntervalMinutes: slowed };
}

/** The marker a slowed schedule carries in its description: the original survives in the schedule itself. */
export const SLOWED_MARKER = '[slowed by recovery';
const MARKER_RE = /\s*\[slowed by recovery (\S+); original (.+?) until (\S+)\]$/;
/** EventBridge Scheduler's limit on a description. */
export const SCHEDULE_DESCRIPTION_MAX_CHARS = 512;

export function markSlowed(description: string, alertId: string, originalExpression: string, untilIso: string): string {
  const marker = ` ${SLOWED_MARKER} ${alertId}; original ${originalExpression} until ${untilIso}]`;
  return `${unmarkSlowed(description).slice(0, SCHEDULE_DESCRIPTION_MAX_CHARS - marker.length)}${marker}`;
}

export function unmarkSlowed(description: string): string {
  return description.replace(MARKER_RE, '');
}

/** The recovery that slowed a schedule and its original expression, read back from the description. */
export function slowedBy(description: string): { alertId: string; originalExpression: string; until: string } | null {
  const m = MARKER_RE.exec(description);
  return m ? { alertId: m[1] as string, originalExpression: m[2] as string, until: m[3] as string } : null;
}

// ---------------------------------------------------------------------------------------------
// API_QUOTA_LOW: when the quota resets

/** The YouTube Data API quota resets at midnight Pacific Time. */
export const YOUTUBE_QUOTA_RESET_TIMEZONE = 'America/Los_Angeles';

/** The next midnight in `timezone` strictly after `nowMs` (DST-aware), epoch ms. */
export function quotaResetAtMs(nowMs: number, timezone: string = YOUTUBE_QUOTA_RESET_TIMEZONE): number {
  const [next] = occurrences('cron(0 0 * * ? *)', timezone, nowMs + 1, nowMs + 2 * DAY_MS);
  if (next === undefined) throw new Error(`no midnight in ${timezone} within two days of ${new Date(nowMs).toISOString()}`);
  return next;
}

// ---------------------------------------------------------------------------------------------
// WORKER_CRASH: the restart budget

export const RESTART_ATTRS = { windowStartMs: 'recoveryRestartWindowStartMs', count: 'recoveryRestarts' } as const;
export const RESTART_WINDOW_MS = HOUR_MS;

export type RestartPlan = { readonly allowed: true; readonly write: StateWrite } | { readonly allowed: false; readonly reason: string };

/**
 * At most `max` restarts in an hour that starts at the first restart. A conditional counter on the
 * worker's STATE item: a new window when the last one began over an hour ago, else +1 while under
 * the budget. The condition repeats the decision, so two concurrent recoveries cannot both restart.
 */
export function restartPlan(raw: Readonly<Record<string, unknown>> | undefined, nowMs: number, max: number = RECOVERY_BOUNDS.restartsPerHourMax): RestartPlan {
  const start = typeof raw?.[RESTART_ATTRS.windowStartMs] === 'number' ? (raw[RESTART_ATTRS.windowStartMs] as number) : null;
  const count = typeof raw?.[RESTART_ATTRS.count] === 'number' ? (raw[RESTART_ATTRS.count] as number) : 0;
  const expiredBefore = nowMs - RESTART_WINDOW_MS;
  if (start === null || start <= expiredBefore) {
    const condition: Condition = or({ op: 'notExists', attr: RESTART_ATTRS.windowStartMs }, { op: 'le', attr: RESTART_ATTRS.windowStartMs, value: expiredBefore });
    return { allowed: true, write: { condition, set: { [RESTART_ATTRS.windowStartMs]: nowMs, [RESTART_ATTRS.count]: 1 }, add: {}, remove: [] } };
  }
  if (count >= max) {
    return { allowed: false, reason: `restart budget spent: ${count} of ${max} restart(s) since ${new Date(start).toISOString()}` };
  }
  const condition = and({ op: 'eq', attr: RESTART_ATTRS.windowStartMs, value: start }, { op: 'lt', attr: RESTART_ATTRS.count, value: max });
  return { allowed: true, write: { condition, set: {}, add: { [RESTART_ATTRS.count]: 1 }, remove: [] } };
}

// ---------------------------------------------------------------------------------------------
// SLOW_EXECUTION / LOCK_CONTENTION: bounded raises

export type BoundedChange =
  | { readonly kind: 'raise'; readonly fromSeconds: number; readonly toSeconds: number; readonly write: StateWrite }
  | { readonly kind: 'at-bound'; readonly currentSeconds: number; readonly recommendation: string };

/**
 * SLOW_EXECUTION: "increase timeout, check resources". A work step already has its job's whole
 * design budget less the protocol reserve and its bounded waits (registry workStepTimeoutSeconds),
 * and the pipeline's own timeout is that budget: a longer step would outlive the pipeline and lose
 * its report. So the bounded raise is zero and the recovery makes the recommendation instead.
 */
export function raisedStepTimeout(worker: WorkerSpec, job: JobSpec, state: WorkerStateItem | undefined): BoundedChange {
  const original = workStepTimeoutSeconds(worker, job);
  const current = state?.stepTimeoutOverrideSeconds ?? original;
  return {
    kind: 'at-bound',
    currentSeconds: current,
    recommendation: `${worker.id}.${job.id} step timeout is at its bound: ${original} s is the job's ${job.timeoutSeconds} s design budget less the protocol reserve; check its resources (memory, upstream latency), raise the budget in the registry, or fan the job out`,
  };
}

/** The lock lease lengthened within RECOVERY_BOUNDS.leaseExtendFactorMax. */
export function extendedLease(worker: WorkerSpec, state: WorkerStateItem | undefined): BoundedChange {
  const original = worker.lockLeaseSeconds;
  const current = state?.leaseSecondsOverride ?? original;
  const next = original > 0 ? boundedIncrease(current, original, RECOVERY_BOUNDS.leaseExtendFactorMax, Number.POSITIVE_INFINITY) : null;
  if (next === null) {
    return {
      kind: 'at-bound',
      currentSeconds: current,
      recommendation:
        original > 0
          ? `${worker.id} lock lease is at its bound (${current} s of ${original} s x ${RECOVERY_BOUNDS.leaseExtendFactorMax}): look for overlapping schedules or a run that outlives its lease`
          : `${worker.id} takes no lock: lock contention cannot come from its lease`,
    };
  }
  return { kind: 'raise', fromSeconds: current, toSeconds: next, write: overrideWrite(STATE_ATTRS.leaseSecondsOverride, state?.leaseSecondsOverride ?? null, next) };
}

/** Sets an override only if it is still the value read: a concurrent raise is not compounded. */
function overrideWrite(attr: string, read: number | null, next: number): StateWrite {
  const condition: Condition = read === null ? { op: 'notExists', attr } : { op: 'eq', attr, value: read };
  return { condition, set: { [attr]: next }, add: { [STATE_ATTRS.version]: 1 }, remove: [] };
}

// ---------------------------------------------------------------------------------------------
// QUEUE_OVERFLOW: consumer concurrency and intake pause

/** SQS event source mapping ScalingConfig.MaximumConcurrency bounds (AWS: 2-1000). */
export const CONSUMER_CONCURRENCY_MIN = 2;
export const CONSUMER_CONCURRENCY_MAX = 1000;
/** The recovery raises the consumers' concurrency to at most this. */
export const CONSUMER_CONCURRENCY_RECOVERY_MAX = 50;
/** How long new jobs are held back after an overflow, in seconds. */
export const INTAKE_PAUSE_SECONDS = 15 * 60;
/** STATE attribute the producer (AuraStream API) and consumer honour: no new jobs before this time. */
export const INTAKE_PAUSED_UNTIL_ATTR = 'intakePausedUntilMs';
/**
 * STATE attribute set when a recovery slows the worker's schedules: until this time (epoch ms) the
 * health sweep does not count a registry slot as missed, since the slowed schedule skips some.
 */
export const SCHEDULE_SLOWED_UNTIL_ATTR = 'scheduleSlowedUntilMs';

/**
 * Doubles the consumers' maximum concurrency, up to CONSUMER_CONCURRENCY_RECOVERY_MAX. Null when
 * there is nothing to raise: unset (the mapping is already unbounded) or already at the cap.
 */
export function scaledConcurrency(current: number | null): number | null {
  if (current === null) return null;
  const from = current;
  const next = Math.min(CONSUMER_CONCURRENCY_RECOVERY_MAX, Math.max(CONSUMER_CONCURRENCY_MIN, from * 2));
  return next > from ? next : null;
}

// ---------------------------------------------------------------------------------------------
// STALE_DATA / DEPENDENCY_FAILURE: the upstream pipelines

export interface UpstreamTarget {
  readonly worker: string;
  /** The job that refreshes its data: its first scheduled job. */
  readonly job: string;
  readonly optional: boolean;
  readonly relation: DependencySpec['relation'];
}

/** A worker's refresh job: the first job with a schedule (as the intel cycle chooses). */
export function refreshJobOf(worker: WorkerSpec): string | null {
  return worker.jobs.find((j) => j.schedules.length > 0)?.id ?? null;
}

/**
 * The upstream pipelines of a worker's job: its gating dependencies that can be refreshed. For
 * STALE_DATA only `data` dependencies, and the worker itself when it has none (its own data is stale).
 */
export function upstreamTargets(worker: WorkerSpec, job: JobSpec, lookup: (id: string) => WorkerSpec | undefined, onlyData: boolean): UpstreamTarget[] {
  const gating = job.gatedBy ?? worker.dependencies.map((d) => d.on);
  const deps = worker.dependencies.filter((d) => gating.includes(d.on) && (!onlyData || d.relation === 'data'));
  const out: UpstreamTarget[] = [];
  for (const d of deps) {
    const upstream = lookup(d.on);
    const refresh = upstream === undefined ? null : refreshJobOf(upstream);
    if (refresh !== null) out.push({ worker: d.on, job: refresh, optional: d.kind === 'optional', relation: d.relation });
  }
  if (out.length === 0 && onlyData) {
    const own = refreshJobOf(worker);
    if (own !== null) out.push({ worker: worker.id, job: own, optional: false, relation: 'data' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names and records

/** Step Functions execution names: 1-80 of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_MAX = 80;

/** FNV-1a, 32 bit, hex: a short stable digest for names. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** A deterministic execution name for a pipeline a recovery starts: the same alert and purpose give the same name. */
export function recoveryExecutionName(alertId: string, purpose: string, worker: string, job: string, maxLength: number = EXECUTION_NAME_MAX): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '-');
  const tail = `-${shortHash(`${alertId}|${purpose}|${worker}|${job}`)}`;
  return `${safe(`rcv-${purpose}-${worker}-${job}`).slice(0, maxLength - tail.length)}${tail}`;
}

export const recoveryPk = (alertId: string): string => `RECOVERY#${alertId}`;
export const recoveryActionSk = (step: string): string => `ACTION#${step}`;
export const RECOVERY_SUMMARY_SK = 'SUMMARY';
/** Per worker and anomaly: consecutive failed recoveries (the escalation streak). */
export const recoveryStreakSk = (anomaly: string): string => `RECOVERY_STREAK#${anomaly}`;
/** How long recovery records live, in days. */
export const RECOVERY_RETENTION_DAYS = 30;

export const RECOVERY_RESULTS = ['APPLIED', 'SKIPPED', 'RECOMMENDED', 'FAILED'] as const;
export type RecoveryResult = (typeof RECOVERY_RESULTS)[number];

/** One recovery step as recorded: what, why, when, result. */
export interface RecoveryActionRecord {
  readonly alertId: string;
  readonly worker: string;
  readonly job: string;
  readonly anomaly: string;
  /** The Lambda action / state name, e.g. `slow-schedule`. */
  readonly step: string;
  /** The design's action it carries out, when it is one. */
  readonly action: RecoveryAction | null;
  readonly why: string;
  /** ISO-8601. */
  readonly at: string;
  readonly result: RecoveryResult;
  readonly detail: string;
  /** Values changed, for the audit trail and a manual undo (e.g. original schedule expressions). */
  readonly changes: Readonly<Record<string, unknown>>;
}

export function recoveryExpiresAt(nowMs: number, retentionDays: number = RECOVERY_RETENTION_DAYS): number {
  return Math.floor(nowMs / 1000) + retentionDays * 24 * 3600;
}
