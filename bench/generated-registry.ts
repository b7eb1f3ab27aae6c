/**
 * A registry of `size` entries for scale measurements: the real registry plus scheduled clones of
 * three real workers (a simple one, a longer one and a fan-out), each with its own id, no
 * dependencies, and the original's handler module (`entryOf`).
 */
import { ALL_WORKERS, type WorkerSpec } from '../lib/registry/index.js';

const TEMPLATES = ['coach_cleanup_worker', 'analytics_flush_worker', 'thumbnail_intel_worker'] as const;

export interface GeneratedRegistry {
  readonly workers: readonly WorkerSpec[];
  /** The handler module of each worker (clones use their original's). */
  readonly entryOf: (worker: WorkerSpec) => string;
}

export function generatedRegistry(size: number): GeneratedRegistry {
  if (!Number.isInteger(size) || size < ALL_WORKERS.length) throw new Error(`size must be an integer of at least ${ALL_WORKERS.length}, got ${size}`);
  const origin = new Map<string, string>();
  const clones: WorkerSpec[] = [];
  for (let i = 0; clones.length < size - ALL_WORKERS.length; i++) {
    const base = ALL_WORKERS.find((w) => w.id === TEMPLATES[i % TEMPLATES.length]);
    if (!base) throw new Error('template worker missing');
    const id = `${base.id.replace(/_worker$/, '')}_clone_${i + 1}`;
    origin.set(id, base.id);
    clones.push({ ...base, id, description: `Clone ${i + 1} of ${base.id} (scale measurement).`, dependencies: [], blocks: [] });
  }
  return { workers: [...ALL_WORKERS, ...clones], entryOf: (w) => `lambdas/workers/${origin.get(w.id) ?? w.id}.ts` };
}
