/**
 * Data freshness of a worker's `data` dependencies (of the job each one consumes): which are stale now. The intel cycle asks
 * before a stage whose upstream no earlier stage refreshed, and forces a refresh of each stale
 * one first. Pure.
 */
import type { JobSpec, WorkerSpec } from '../registry/types.js';
import { freshAtOf, type WorkerStateItem } from './worker-state.js';

export interface FreshnessReport {
  /** Per data dependency: true when its data is older than the threshold (or there is none). */
  readonly stale: Readonly<Record<string, boolean>>;
  /** Per data dependency: the data's age in seconds, or null when it never succeeded. */
  readonly ageSeconds: Readonly<Record<string, number | null>>;
}

export function dataFreshness(worker: WorkerSpec, job: JobSpec, dependencies: Readonly<Record<string, WorkerStateItem | undefined>>, nowMs: number): FreshnessReport {
  const gating = job.gatedBy ?? worker.dependencies.map((d) => d.on);
  const stale: Record<string, boolean> = {};
  const ageSeconds: Record<string, number | null> = {};
  for (const dep of worker.dependencies) {
    if (dep.relation !== 'data' || !gating.includes(dep.on)) continue;
    // The freshness of the job consumed (validate.ts makes every data dependency name it).
    const freshAtMs = dep.job === undefined ? (dependencies[dep.on]?.freshAtMs ?? null) : freshAtOf(dependencies[dep.on], dep.job);
    const age = freshAtMs === null ? null : Math.max(0, Math.round((nowMs - freshAtMs) / 1000));
    ageSeconds[dep.on] = age;
    // Compared in ms, as the gate does: a rounded age would call data up to 499 ms past the limit fresh.
    stale[dep.on] = freshAtMs === null || nowMs - freshAtMs > (dep.freshnessSeconds ?? 0) * 1000;
  }
  return { stale, ageSeconds };
}
