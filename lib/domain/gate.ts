/**
 * The Gate step of every pipeline, as a pure decision: may this execution run now, and which single
 * conditional write makes that decision stick? The caller performs the write; when its condition
 * fails (a race) it re-reads once and decides again, then gives up (`gaveUp`).
 *
 * Checks, in order:
 *  1. orchestrator PAUSED or DRAINING                 -> SKIP PAUSED
 *     worker disabled by its config (STATE.config.enabled = false) -> SKIP DISABLED
 *  2. (schedule trigger) the job's slot already claimed: the same slot -> DUPLICATE (no report),
 *     a later slot -> SKIP FRESH_DATA
 *     (backfill trigger) a missed slot: it claims the slot like a schedule when no later slot is
 *     claimed, so a late scheduled delivery of it is a DUPLICATE; a claim of exactly this slot made
 *     after the API found it missed (`seenSlotClaim`) is a late delivery that ran it -> DUPLICATE
 *  3. circuit (circuit.admit, with the settings of worker-config.effectiveCircuit: the registry's,
 *     overridden by the config's thresholds): SKIP -> SKIP CIRCUIT_OPEN; PROBE -> run as a probe, persisting the
 *     admitted circuit state in the same write as the lock
 *  4. dependencies gating the job (`job.gatedBy`, else all the worker's dependencies):
 *     `data` (hard): last success older than freshnessSeconds -> SKIP DEPENDENCY_FAILED;
 *     `not-running`: dependency's lock live -> WAIT (bounded by maxWaitSeconds), then SKIP LOCK_HELD;
 *     `coverage` (hard): successful runs over the previous UTC day below minCoveragePercent of the
 *     slots its schedules fired -> SKIP DEPENDENCY_FAILED
 *  5. lock (lockLeaseSeconds > 0): live lock -> SKIP LOCK_HELD; else acquire (with the slot claim).
 *     Lease-0 (on-demand) workers run unlocked with fence 0.
 * A SKIP on a schedule trigger still claims the slot, so a repeated delivery cannot run it later.
 * Pure.
 */
import { maxWorkStepTimeoutSeconds, workerById, workStepTimeoutSeconds } from '../registry/index.js';
import type { DependencySpec, JobSpec, WorkerSpec } from '../registry/types.js';
import { admit, type CircuitState } from './circuit.js';
import { acquireSpec, and, lockAttrsFor, or, slotAttr, type Condition } from './lock.js';
import type { GateView, GateViewRequest } from './ports.js';
import { countOccurrences } from './schedule-math.js';
import { effectiveCircuit, workerEnabled } from './worker-config.js';
import type { SkipReason } from './score-report.js';
import { bucketKey, HOUR_MS, type WindowBucket } from './window-stats.js';
import {
  circuitAttr,
  circuitAttrOf,
  circuitOf,
  freshAtOf,
  lockExpiryText,
  liveLock,
  lockOf,
  lockViewIsLive,
  slotOwnerAttr,
  versionCondition,
  withVersionBump,
  type StateValue,
  type StateWrite,
  type WorkerStateItem,
} from './worker-state.js';

/** The longest single WAIT the gate asks for, in seconds. */
export const WAIT_MAX_SECONDS = 30;
/** Coverage required by a `gatedBy` entry the worker does not declare as a dependency (e.g. a job gated on its own worker's other job). */
export const IMPLICIT_COVERAGE_MIN_PERCENT = 80;
const DAY_MS = 24 * HOUR_MS;

export interface GateCall {
  /** The lock owner. */
  readonly executionId: string;
  /** `$$.Execution.StartTime`, epoch ms: bounds `not-running` waits. */
  readonly startedAtMs: number;
  readonly trigger: string;
  /**
   * Backfill triggers only: the job's slot claim the API saw when it found this slot missed (null:
   * none). A claim of exactly this slot made since then is a late scheduled delivery: DUPLICATE.
   */
  readonly seenSlotClaim?: string | null;
  /** Normalized (`normalizeIso`). */
  readonly scheduledTime: string;
}

export interface GateInput {
  readonly worker: WorkerSpec;
  readonly job: JobSpec;
  readonly call: GateCall;
  readonly nowMs: number;
  readonly view: GateView;
  /** Resolves dependency worker ids (default: the registry). */
  readonly lookup?: (workerId: string) => WorkerSpec;
}

export type GateVerdict =
  /** `fence` null: the fence is the one the acquire write produces. 0 for unlocked workers. */
  /** `stepTimeoutSeconds`: the Work task's timeout (TimeoutSecondsPath), raised by a SLOW_EXECUTION recovery within its bound. */
  | { readonly decision: 'RUN'; readonly probe: boolean; readonly fence: number | null; readonly stepTimeoutSeconds: number }
  | { readonly decision: 'WAIT'; readonly waitSeconds: number }
  | { readonly decision: 'SKIP'; readonly skipReason: SkipReason; readonly detail: string }
  | { readonly decision: 'DUPLICATE' };

export interface GatePlan {
  readonly verdict: GateVerdict;
  /** The one conditional write on the worker's STATE item that makes the verdict stick, or null. */
  readonly write: StateWrite | null;
}

export interface GatingDependency {
  readonly spec: DependencySpec;
  readonly worker: WorkerSpec;
}

/**
 * The dependencies that gate a job: `job.gatedBy` when present, else all the worker's
 * dependencies. A `gatedBy` entry with no declared dependency is a hard `coverage` gate at
 * IMPLICIT_COVERAGE_MIN_PERCENT (the daily rollup checks its own hourly runs this way).
 */
export function gatingDependencies(worker: WorkerSpec, job: JobSpec, lookup: (id: string) => WorkerSpec = workerById): GatingDependency[] {
  const specs: DependencySpec[] = job.gatedBy
    ? job.gatedBy.map((on) => worker.dependencies.find((d) => d.on === on) ?? { on, kind: 'hard', relation: 'coverage', minCoveragePercent: IMPLICIT_COVERAGE_MIN_PERCENT })
    : [...worker.dependencies];
  return specs.map((spec) => ({ spec, worker: spec.on === worker.id ? worker : lookup(spec.on) }));
}

/**
 * The Work task's timeout for this run: the job's raised timeout (SLOW_EXECUTION recovery) when
 * there is one, clamped to [registry step timeout, registry bound]; else the registry's.
 */
export function stepTimeoutFor(worker: WorkerSpec, job: JobSpec, state: WorkerStateItem | undefined): number {
  const base = workStepTimeoutSeconds(worker, job);
  const raised = state?.stepTimeoutOverrides[job.id];
  if (raised === undefined) return base;
  return Math.min(maxWorkStepTimeoutSeconds(worker, job), Math.max(base, Math.floor(raised)));
}

/** The previous UTC day, `[fromMs, toMs)`: the period a coverage gate checks. */
export function coverageDay(nowMs: number): { readonly fromMs: number; readonly toMs: number } {
  const toMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { fromMs: toMs - DAY_MS, toMs };
}

const coverageBucketKeys = (nowMs: number): string[] => {
  const { fromMs } = coverageDay(nowMs);
  return Array.from({ length: 24 }, (_, h) => bucketKey(fromMs + h * HOUR_MS));
};

/** What the gate needs read: one batch. */
export function gateReads(worker: WorkerSpec, job: JobSpec, nowMs: number, lookup?: (id: string) => WorkerSpec): GateViewRequest {
  const gating = gatingDependencies(worker, job, lookup);
  const dependencyIds = [...new Set(gating.map((g) => g.spec.on).filter((id) => id !== worker.id))];
  const coverage = [...new Set(gating.filter((g) => g.spec.relation === 'coverage' && g.spec.kind === 'hard').map((g) => g.spec.on))];
  return { workerId: worker.id, dependencyIds, windows: coverage.map((workerId) => ({ workerId, bucketKeys: coverageBucketKeys(nowMs) })) };
}

/** Claims a job's slot: only when unclaimed or claimed for an earlier time. */
export function claimSlotWrite(jobId: string, scheduledTime: string, owner: string): StateWrite {
  return withVersionBump({
    condition: slotClaimable(jobId, scheduledTime),
    set: { [slotAttr(jobId)]: scheduledTime, [slotOwnerAttr(jobId)]: owner },
    add: {},
    remove: [],
  });
}

const slotClaimable = (jobId: string, scheduledTime: string): Condition => {
  const attr = slotAttr(jobId);
  return or({ op: 'notExists', attr }, { op: 'lt', attr, value: scheduledTime });
};

/** The verdict after a second lost race: the gate stops trying. */
export function gaveUp(): GatePlan {
  return { verdict: { decision: 'SKIP', skipReason: 'LOCK_HELD', detail: 'lost the race for the worker state twice; another execution is acting on it' }, write: null };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number): number => Math.round(ms / 1000);

function circuitDetail(circuit: CircuitState, openTimeoutSeconds: number): string {
  if (circuit.changedAtMs === null) return `circuit ${circuit.state}`;
  return `circuit ${circuit.state} since ${iso(circuit.changedAtMs)}; next probe from ${iso(circuit.changedAtMs + openTimeoutSeconds * 1000)}`;
}

type DependencyCheck = { readonly kind: 'pass' } | { readonly kind: 'skip'; readonly reason: SkipReason; readonly detail: string } | { readonly kind: 'wait'; readonly waitSeconds: number };
const PASS: DependencyCheck = { kind: 'pass' };

/** A dependency as messages name it: `youtube_worker.games`, or the worker when no job is named. */
const dependencyName = (spec: DependencySpec): string => (spec.job === undefined ? spec.on : `${spec.on}.${spec.job}`);

function checkDependency(dep: GatingDependency, state: WorkerStateItem | undefined, windows: readonly WindowBucket[] | undefined, call: GateCall, nowMs: number): DependencyCheck {
  const { spec } = dep;
  const lastStatus = state?.lastStatus ?? 'none';
  const name = dependencyName(spec);
  switch (spec.relation) {
    case 'data': {
      if (spec.kind !== 'hard') return PASS;
      const maxAgeSeconds = spec.freshnessSeconds ?? Number.POSITIVE_INFINITY;
      // The freshness of the job consumed (validate.ts makes data dependencies name it).
      const freshAtMs = spec.job === undefined ? (state?.freshAtMs ?? null) : freshAtOf(state, spec.job);
      if (freshAtMs === null) {
        return { kind: 'skip', reason: 'DEPENDENCY_FAILED', detail: `dependency ${name} has no successful run on record (last status of ${spec.on} ${lastStatus}); need data younger than ${maxAgeSeconds} s` };
      }
      const ageSeconds = seconds(nowMs - freshAtMs);
      if (nowMs - freshAtMs > maxAgeSeconds * 1000) {
        return { kind: 'skip', reason: 'DEPENDENCY_FAILED', detail: `dependency ${name} data is ${ageSeconds} s old, limit ${maxAgeSeconds} s (last status of ${spec.on} ${lastStatus})` };
      }
      return PASS;
    }
    case 'not-running': {
      // In progress: the named job (or, when none is named, any of the dependency's jobs) holds a live lock.
      const held = spec.job === undefined ? liveLock(state, nowMs) : lockViewIsLive(lockOf(state, spec.job), nowMs) ? lockOf(state, spec.job) : null;
      if (held === null) return PASS;
      const waitedMs = nowMs - call.startedAtMs;
      const maxWaitMs = (spec.maxWaitSeconds ?? 0) * 1000;
      if (waitedMs < maxWaitMs) {
        const remainingMs = Math.min(WAIT_MAX_SECONDS * 1000, (held.expiresAtMs ?? Number.POSITIVE_INFINITY) - nowMs, maxWaitMs - waitedMs);
        return { kind: 'wait', waitSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
      }
      return { kind: 'skip', reason: 'LOCK_HELD', detail: `dependency ${name} still running (lock held until ${lockExpiryText(held)}) after waiting ${seconds(waitedMs)} s, max ${spec.maxWaitSeconds ?? 0} s` };
    }
    case 'coverage': {
      if (spec.kind !== 'hard') return PASS;
      const day = coverageDay(nowMs);
      const expected = countOccurrences(dep.worker.jobs.flatMap((j) => j.schedules), day.fromMs, day.toMs);
      if (expected === 0) return PASS;
      const activity = (windows ?? []).reduce((n, b) => n + b.runs + b.skips, 0);
      // A cold start: the dependency has no history for that day at all (it first ran after it).
      // A whole day with no run and no skip is a missed-run outage instead, which the sweep reports.
      if (activity === 0 && (state?.lastRunAtMs == null || state.lastRunAtMs >= day.toMs)) return PASS;
      const succeeded = (windows ?? []).reduce((n, b) => n + Math.max(0, b.runs - b.failures), 0);
      const percent = Math.min(100, (100 * succeeded) / expected);
      const minPercent = spec.minCoveragePercent ?? 100;
      if (percent >= minPercent) return PASS;
      return {
        kind: 'skip',
        reason: 'DEPENDENCY_FAILED',
        detail: `dependency ${spec.on} covered ${succeeded} of ${expected} slots (${Math.round(percent * 10) / 10}%) on ${iso(day.fromMs).slice(0, 10)}, need ${minPercent}% (last status ${lastStatus})`,
      };
    }
  }
}

/** Decides the gate. See the module comment for the order of checks. */
export function decideGate(input: GateInput): GatePlan {
  const { worker, job, call, nowMs, view } = input;
  const state = view.worker;
  const owner = call.executionId;
  const scheduled = call.trigger === 'schedule';
  const backfill = call.trigger === 'backfill';
  const claimed = state?.slots[job.id];
  const ownClaim = (scheduled || backfill) && claimed === call.scheduledTime && state?.slotOwners[job.id] === owner;
  const claimable = (scheduled || backfill) && (claimed === undefined || claimed < call.scheduledTime);

  // A retried gate whose first answer was lost: this execution already holds the lock.
  const lock = lockOf(state, job.id);
  if (worker.lockLeaseSeconds > 0 && state && lock.holder === owner && lockViewIsLive(lock, nowMs)) {
    return { verdict: { decision: 'RUN', probe: circuitOf(state, job.id).state === 'HALF_OPEN', fence: lock.fence, stepTimeoutSeconds: stepTimeoutFor(worker, job, state) }, write: null };
  }

  const skip = (skipReason: SkipReason, detail: string): GatePlan => ({
    verdict: { decision: 'SKIP', skipReason, detail },
    write: claimable ? claimSlotWrite(job.id, call.scheduledTime, owner) : null,
  });

  // 1. Orchestrator mode, and the worker's intake pause (QUEUE_OVERFLOW recovery).
  if (view.orchestrator.mode !== 'RUNNING') {
    return skip('PAUSED', `orchestrator is ${view.orchestrator.mode}${view.orchestrator.reason ? `: ${view.orchestrator.reason}` : ''}`);
  }
  if (state?.intakePausedUntilMs != null && state.intakePausedUntilMs > nowMs) {
    return skip('PAUSED', `new jobs of ${worker.id} are paused until ${new Date(state.intakePausedUntilMs).toISOString()} (queue overflow recovery)`);
  }

  // 1b. Operator configuration: a disabled worker starts nothing.
  if (!workerEnabled(state?.config)) {
    const config = state?.config;
    return skip('DISABLED', `${worker.id} is disabled by its configuration${config?.updatedAt ? ` (since ${config.updatedAt})` : ''}${config?.unreadable ? `: ${config.unreadable}` : ''}`);
  }

  // 2. Slot (schedule triggers only).
  if (scheduled && !ownClaim && claimed !== undefined) {
    if (claimed === call.scheduledTime) return { verdict: { decision: 'DUPLICATE' }, write: null };
    if (claimed > call.scheduledTime) return skip('FRESH_DATA', `a later slot already ran: ${job.id} claimed ${claimed}, this slot is ${call.scheduledTime}`);
  }
  if (backfill && !ownClaim && claimed === call.scheduledTime && (call.seenSlotClaim ?? null) !== claimed) return { verdict: { decision: 'DUPLICATE' }, write: null };

  // 3. The job's circuit, with the configured threshold overrides.
  const settings = effectiveCircuit(worker, state?.config);
  const circuit = circuitOf(state, job.id);
  const admission = admit(circuit, nowMs, settings);
  if (admission.admission === 'SKIP') return skip('CIRCUIT_OPEN', circuitDetail(circuit, settings.openTimeoutSeconds));
  const probe = admission.admission === 'PROBE';

  // 4. Dependencies.
  for (const dep of gatingDependencies(worker, job, input.lookup)) {
    const depState = dep.spec.on === worker.id ? state : view.dependencies[dep.spec.on];
    const check = checkDependency(dep, depState, view.windows[dep.spec.on], call, nowMs);
    if (check.kind === 'wait') return { verdict: { decision: 'WAIT', waitSeconds: check.waitSeconds }, write: null };
    if (check.kind === 'skip') return skip(check.reason, check.detail);
  }

  const extraSet: Record<string, StateValue> = {};
  if (probe) extraSet[circuitAttrOf(job.id)] = circuitAttr(admission.next);
  if (claimable) extraSet[slotOwnerAttr(job.id)] = owner;

  // 5a. Unlocked (on-demand) workers: persist only a slot claim and/or a probe admission.
  if (worker.lockLeaseSeconds <= 0) {
    const conditions: Condition[] = [];
    if (claimable) {
      conditions.push(slotClaimable(job.id, call.scheduledTime));
      extraSet[slotAttr(job.id)] = call.scheduledTime;
    }
    if (probe) conditions.push(versionCondition(state));
    const write = conditions.length === 0 ? null : withVersionBump({ condition: conditions.length === 1 ? (conditions[0] as Condition) : and(...conditions), set: extraSet, add: {}, remove: [] });
    return { verdict: { decision: 'RUN', probe, fence: 0, stepTimeoutSeconds: stepTimeoutFor(worker, job, state) }, write };
  }

  // 5b. Lock.
  if (lockViewIsLive(lock, nowMs)) {
    return skip('LOCK_HELD', `lock of ${job.id} held by ${lock.holder ?? 'unknown'} (fence ${lock.fence}) until ${lockExpiryText(lock)}`);
  }
  const leaseSeconds = state?.leaseSecondsOverride ?? worker.lockLeaseSeconds;
  const attrs = lockAttrsFor(job.id);
  const acquire = acquireSpec(claimable ? { owner, nowMs, leaseSeconds, attrs, slot: { jobId: job.id, scheduledTime: call.scheduledTime } } : { owner, nowMs, leaseSeconds, attrs });
  // A probe also holds on the version it read, so two executions of the job (a schedule and a
  // recovery) cannot both be admitted as the probe.
  const condition = probe ? and(acquire.condition, versionCondition(state)) : acquire.condition;
  return {
    verdict: { decision: 'RUN', probe, fence: null, stepTimeoutSeconds: stepTimeoutFor(worker, job, state) },
    write: withVersionBump({ ...acquire, condition, set: { ...acquire.set, ...extraSet } }),
  };
}
