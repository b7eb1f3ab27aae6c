/**
 * The API's response shapes, built from the registry and parsed table items (docs/api.md). Pure:
 * no clock (`nowMs` is passed in), no I/O.
 */
import { DEFAULT_WORKER_CONFIG, effectiveCircuit, type WorkerConfig } from '../../lib/domain/worker-config.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { circuitOf, freshAtOf, lockViewIsLive, type OrchestratorState, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import type { WorkerSpec } from '../../lib/registry/types.js';
import { upcomingRuns } from './next-run.js';

/** How many upcoming firings GET /workers lists per job (the page moves on through them). */
export const UPCOMING_RUNS = 5;
import { pipelineKeyOf } from './trigger.js';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function configView(config: WorkerConfig | undefined) {
  const c = config ?? DEFAULT_WORKER_CONFIG;
  return { enabled: c.enabled, thresholds: c.thresholds, updatedAt: c.updatedAt || null, version: c.version, ...(c.unreadable ? { unreadable: c.unreadable } : {}) };
}

/** The worker's circuit: its least healthy job's (each job's own is under `jobs[].circuit`). */
export function circuitView(worker: WorkerSpec, state: WorkerStateItem | undefined) {
  const c = state?.circuit;
  return {
    state: c?.state ?? 'CLOSED',
    consecutiveFailures: c?.consecutiveFailures ?? 0,
    changedAt: iso(c?.changedAtMs ?? null),
    halfOpenSuccesses: c?.halfOpenSuccesses ?? 0,
    settings: effectiveCircuit(worker, state?.config),
  };
}

/** A job's own circuit (circuits are per job). */
export function jobCircuitView(state: WorkerStateItem | undefined, jobId: string) {
  const c = circuitOf(state, jobId);
  return { state: c.state, consecutiveFailures: c.consecutiveFailures, changedAt: iso(c.changedAtMs) };
}

/** A job's lock: `held` = held and not expired; the holder and expiry only while held. */
export function lockView(state: WorkerStateItem | undefined, jobId: string, nowMs: number) {
  const lock = state?.locks[jobId];
  if (!lock) return { held: false, holder: null, fence: 0, expiresAt: null };
  const held = lockViewIsLive(lock, nowMs);
  return { held, holder: held ? lock.holder : null, fence: lock.fence, expiresAt: held ? iso(lock.expiresAtMs) : null };
}

export const modeView = (o: OrchestratorState) => ({ mode: o.mode, updatedAt: o.updatedAt, reason: o.reason });

/** Every job of these workers that holds a live lock now. */
export function lockedJobs(workers: readonly WorkerSpec[], states: Readonly<Record<string, WorkerStateItem | undefined>>, nowMs: number) {
  return workers.flatMap((w) =>
    Object.entries(states[w.id]?.locks ?? {})
      .filter(([, lock]) => lockViewIsLive(lock, nowMs))
      .map(([job, lock]) => ({ worker: w.id, job, holder: lock.holder, fence: lock.fence, expiresAt: iso(lock.expiresAtMs) })),
  );
}

/** The sub-pipeline job (the intel cycle) that runs this job as one of its stages, if any. */
export function cycleRunning(workerId: string, jobId: string, workers: readonly WorkerSpec[]): { readonly worker: WorkerSpec; readonly job: WorkerSpec['jobs'][number] } | undefined {
  for (const cycle of workers) {
    if (cycle.executionModel !== 'sub-pipeline' || !(cycle.stages ?? []).some((s) => s.worker === workerId && s.job === jobId)) continue;
    const job = cycle.jobs.find((j) => j.schedules.length > 0);
    if (job) return { worker: cycle, job };
  }
  return undefined;
}

/**
 * One entry of GET /workers. A job without schedules of its own that is a stage of a cycle runs
 * when the cycle does: its `runsIn` names the cycle job and its next run is the cycle's.
 */
export function workerView(worker: WorkerSpec, state: WorkerStateItem | undefined, lastReport: WorkerScoreReport | null, pipelineKeys: ReadonlySet<string>, nowMs: number, registry: readonly WorkerSpec[] = []) {
  const slowedUntilMs = state?.scheduleSlowedUntilMs != null && state.scheduleSlowedUntilMs > nowMs ? state.scheduleSlowedUntilMs : null;
  const jobs = worker.jobs.map((job) => {
    const cycle = job.schedules.length === 0 ? cycleRunning(worker.id, job.id, registry) : undefined;
    const upcoming = upcomingRuns(cycle ? cycle.job.schedules : job.schedules, nowMs, UPCOMING_RUNS, cycle ? null : slowedUntilMs);
    return {
      id: job.id,
      schedules: job.schedules.map((s) => ({ expression: s.expression, timezone: s.timezone })),
      runsIn: cycle ? `${cycle.worker.id}.${cycle.job.id}` : null,
      nextRunAt: iso(upcoming[0] ?? null),
      upcoming: upcoming.map((t) => new Date(t).toISOString()),
      lock: lockView(state, job.id, nowMs),
      circuit: jobCircuitView(state, job.id),
      freshAt: iso(freshAtOf(state, job.id)),
      lastSlot: state?.slots[job.id] ?? null,
      triggerable: pipelineKeys.has(pipelineKeyOf(worker.id, job.id)),
    };
  });
  const nextTimes = jobs.map((j) => j.nextRunAt).filter((t): t is string => t !== null).sort();
  return {
    id: worker.id,
    category: worker.category,
    executionModel: worker.executionModel,
    priority: worker.priority,
    description: worker.description,
    config: configView(state?.config),
    circuit: circuitView(worker, state),
    score: lastReport?.scores?.overallScore ?? null,
    lastReport,
    lastStatus: state?.lastStatus ?? null,
    lastRunAt: iso(state?.lastRunAtMs ?? null),
    freshAt: iso(state?.freshAtMs ?? null),
    nextRunAt: nextTimes[0] ?? null,
    /** Until when a recovery slowed this worker's schedules (the next runs above follow the slowed ones), or null. */
    scheduleSlowedUntil: iso(slowedUntilMs),
    jobs,
  };
}
