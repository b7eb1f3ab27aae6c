/**
 * Operator configuration of a worker (PUT /workers/{id}/config), stored as the `config` map of its
 * `WORKER#<id>` / `STATE` item: `{ enabled, thresholds, updatedAt, version }`.
 *
 * - `enabled: false` makes the gate SKIP every run of the worker with skip reason `DISABLED`.
 * - `thresholds` override the registry's circuit settings (circuitFor) in the gate and the record
 *   step: `circuitFailureThreshold` -> failuresToOpen, `circuitOpenSeconds` -> openTimeoutSeconds,
 *   `circuitHalfOpenSuccesses` -> successesToClose (halfOpenMaxProbes is raised to match).
 *
 * The patch schema is strict (unknown keys are rejected); a stored config is read leniently: an
 * unreadable threshold is ignored (the registry's value applies), and an `enabled` that is present
 * but not a boolean reads as disabled (when in doubt, do not start work, as for the orchestrator
 * mode). Pure.
 */
import * as z from 'zod';
import type { CircuitSpec, WorkerSpec } from '../registry/types.js';
import { circuitFor } from '../registry/index.js';
import type { CircuitSettings } from './circuit.js';

/** Bounds of the thresholds an operator may set. */
export const THRESHOLD_LIMITS = {
  circuitFailureThreshold: { min: 1, max: 100 },
  /** Seconds: 10 s .. 7 days. */
  circuitOpenSeconds: { min: 10, max: 7 * 24 * 3600 },
  circuitHalfOpenSuccesses: { min: 1, max: 20 },
} as const;

export type ThresholdName = keyof typeof THRESHOLD_LIMITS;
export const THRESHOLD_NAMES = Object.keys(THRESHOLD_LIMITS) as ThresholdName[];

export type CircuitThresholds = Readonly<Partial<Record<ThresholdName, number>>>;

export interface WorkerConfig {
  readonly enabled: boolean;
  readonly thresholds: CircuitThresholds;
  /** ISO-8601, when it was last written. */
  readonly updatedAt: string;
  /** 1 on the first write; every write adds 1 (optimistic concurrency between two PUTs). */
  readonly version: number;
  /** Set when the stored config was partly unreadable (for messages); absent otherwise. */
  readonly unreadable?: string;
}

/** A worker that was never configured. */
export const DEFAULT_WORKER_CONFIG: WorkerConfig = Object.freeze({ enabled: true, thresholds: Object.freeze({}), updatedAt: '', version: 0 });

const threshold = (name: ThresholdName) => z.number().int().min(THRESHOLD_LIMITS[name].min).max(THRESHOLD_LIMITS[name].max);

export const ThresholdsPatch = z.strictObject({
  circuitFailureThreshold: threshold('circuitFailureThreshold').optional(),
  circuitOpenSeconds: threshold('circuitOpenSeconds').optional(),
  circuitHalfOpenSuccesses: threshold('circuitHalfOpenSuccesses').optional(),
});

/**
 * The body of PUT /workers/{id}/config. `enabled` absent keeps the current value; `thresholds`
 * absent keeps the current thresholds, present replaces them all (`{}` clears every override).
 */
export const WorkerConfigPatch = z.strictObject({
  enabled: z.boolean().optional(),
  thresholds: ThresholdsPatch.optional(),
});
export type WorkerConfigPatch = z.infer<typeof WorkerConfigPatch>;

/** The config after a patch: a new version, stamped `nowMs`. */
export function applyConfigPatch(current: WorkerConfig | null, patch: WorkerConfigPatch, nowMs: number): WorkerConfig {
  const base = current ?? DEFAULT_WORKER_CONFIG;
  const thresholds: Partial<Record<ThresholdName, number>> = {};
  const source = patch.thresholds ?? base.thresholds;
  for (const name of THRESHOLD_NAMES) {
    const value = source[name];
    if (value !== undefined) thresholds[name] = value;
  }
  return { enabled: patch.enabled ?? base.enabled, thresholds, updatedAt: new Date(nowMs).toISOString(), version: base.version + 1 };
}

const validThreshold = (name: ThresholdName, value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= THRESHOLD_LIMITS[name].min && value <= THRESHOLD_LIMITS[name].max;

/** Reads the stored `config` map; null when absent (the defaults apply). Never throws. */
export function parseStoredConfig(raw: unknown): WorkerConfig | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ...DEFAULT_WORKER_CONFIG, enabled: false, unreadable: `config is not a map, got ${JSON.stringify(raw)}` };
  const m = raw as Record<string, unknown>;
  const problems: string[] = [];
  let enabled = true;
  if (m['enabled'] !== undefined) {
    if (typeof m['enabled'] === 'boolean') enabled = m['enabled'];
    else {
      enabled = false;
      problems.push(`enabled must be a boolean, got ${JSON.stringify(m['enabled'])}`);
    }
  }
  const thresholds: Partial<Record<ThresholdName, number>> = {};
  const rawThresholds = m['thresholds'];
  if (typeof rawThresholds === 'object' && rawThresholds !== null && !Array.isArray(rawThresholds)) {
    const t = rawThresholds as Record<string, unknown>;
    for (const name of THRESHOLD_NAMES) {
      const value = t[name];
      if (value === undefined || value === null) continue;
      if (validThreshold(name, value)) thresholds[name] = value;
      else problems.push(`thresholds.${name} ignored, got ${JSON.stringify(value)}`);
    }
  }
  const version = typeof m['version'] === 'number' && Number.isInteger(m['version']) && m['version'] >= 0 ? m['version'] : 0;
  const updatedAt = typeof m['updatedAt'] === 'string' ? m['updatedAt'] : '';
  return { enabled, thresholds, updatedAt, version, ...(problems.length > 0 ? { unreadable: problems.join('; ') } : {}) };
}

/** The config as the map attribute it is stored in. */
export function configAttr(config: WorkerConfig): Record<string, unknown> {
  return { enabled: config.enabled, thresholds: { ...config.thresholds }, updatedAt: config.updatedAt, version: config.version };
}

/** The circuit settings in effect: the registry's (or DEFAULT_CIRCUIT), overridden by the config's thresholds. */
export function effectiveCircuit(worker: WorkerSpec, config: WorkerConfig | null | undefined): CircuitSettings {
  const base: CircuitSpec = circuitFor(worker);
  const t = config?.thresholds ?? {};
  const successesToClose = t.circuitHalfOpenSuccesses ?? base.successesToClose;
  return {
    failuresToOpen: t.circuitFailureThreshold ?? base.failuresToOpen,
    openTimeoutSeconds: t.circuitOpenSeconds ?? base.openTimeoutSeconds,
    successesToClose,
    halfOpenMaxProbes: Math.max(base.halfOpenMaxProbes, successesToClose),
  };
}

/** Whether the worker may start runs (absent config = enabled). */
export const workerEnabled = (config: WorkerConfig | null | undefined): boolean => config?.enabled ?? true;
