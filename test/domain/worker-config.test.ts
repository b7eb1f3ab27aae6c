import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GateResult, PipelineState } from '../../lambdas/shared/contracts.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import { planRecord } from '../../lib/domain/record.js';
import {
  applyConfigPatch,
  configAttr,
  DEFAULT_WORKER_CONFIG,
  effectiveCircuit,
  parseStoredConfig,
  THRESHOLD_LIMITS,
  WorkerConfigPatch,
  type WorkerConfig,
} from '../../lib/domain/worker-config.js';
import { applyStateWrite, circuitAttr, circuitOf, parseWorkerState, type RawItem } from '../../lib/domain/worker-state.js';
import { DEFAULT_CIRCUIT, jobOf, workerById } from '../../lib/registry/index.js';

const NOW = Date.parse('2026-01-02T06:00:45.000Z');

describe('WorkerConfigPatch', () => {
  it.each<[string, unknown]>([
    ['empty', {}],
    ['enabled only', { enabled: false }],
    ['thresholds only', { thresholds: { circuitFailureThreshold: 5 } }],
    ['every threshold at its bounds', { enabled: true, thresholds: { circuitFailureThreshold: 100, circuitOpenSeconds: 10, circuitHalfOpenSuccesses: 1 } }],
  ])('accepts %s', (_name, body) => {
    expect(WorkerConfigPatch.safeParse(body).success).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['an unknown top-level key', { enabled: true, paused: true }, 'paused'],
    ['an unknown threshold', { thresholds: { circuitFailureThresh: 3 } }, 'circuitFailureThresh'],
    ['enabled as a string', { enabled: 'false' }, 'enabled'],
    ['a fractional threshold', { thresholds: { circuitFailureThreshold: 2.5 } }, 'thresholds.circuitFailureThreshold'],
    ['a threshold of 0', { thresholds: { circuitFailureThreshold: 0 } }, 'thresholds.circuitFailureThreshold'],
    ['an open time over 7 days', { thresholds: { circuitOpenSeconds: THRESHOLD_LIMITS.circuitOpenSeconds.max + 1 } }, 'thresholds.circuitOpenSeconds'],
    ['null thresholds', { thresholds: null }, 'thresholds'],
    ['an array', [], ''],
  ])('rejects %s', (_name, body, path) => {
    const result = WorkerConfigPatch.safeParse(body);
    expect(result.success).toBe(false);
    const described = result.error?.issues.map((i) => [...i.path, ...('keys' in i ? i.keys : [])].join('.')).join(' ') ?? '';
    expect(described).toContain(path);
  });
});

describe('applyConfigPatch', () => {
  it('from nothing: defaults, version 1, stamped now', () => {
    expect(applyConfigPatch(null, { enabled: false }, NOW)).toEqual({ enabled: false, thresholds: {}, updatedAt: '2026-01-02T06:00:45.000Z', version: 1 });
  });

  it('an absent field keeps its value; present thresholds replace all of them; {} clears them', () => {
    const current: WorkerConfig = { enabled: false, thresholds: { circuitFailureThreshold: 5, circuitOpenSeconds: 60 }, updatedAt: 'x', version: 4 };
    expect(applyConfigPatch(current, {}, NOW)).toMatchObject({ enabled: false, thresholds: { circuitFailureThreshold: 5, circuitOpenSeconds: 60 }, version: 5 });
    expect(applyConfigPatch(current, { enabled: true }, NOW)).toMatchObject({ enabled: true, thresholds: { circuitFailureThreshold: 5, circuitOpenSeconds: 60 } });
    expect(applyConfigPatch(current, { thresholds: { circuitHalfOpenSuccesses: 2 } }, NOW).thresholds).toEqual({ circuitHalfOpenSuccesses: 2 });
    expect(applyConfigPatch(current, { thresholds: {} }, NOW).thresholds).toEqual({});
  });

  it('round-trips through the stored map (configAttr -> parseStoredConfig) for any valid patch', () => {
    const threshold = (name: keyof typeof THRESHOLD_LIMITS) => fc.option(fc.integer(THRESHOLD_LIMITS[name]), { nil: undefined });
    fc.assert(
      fc.property(fc.option(fc.boolean(), { nil: undefined }), threshold('circuitFailureThreshold'), threshold('circuitOpenSeconds'), threshold('circuitHalfOpenSuccesses'), (enabled, f, o, h) => {
        const thresholds = Object.fromEntries(Object.entries({ circuitFailureThreshold: f, circuitOpenSeconds: o, circuitHalfOpenSuccesses: h }).filter(([, v]) => v !== undefined));
        const patch = WorkerConfigPatch.parse({ ...(enabled === undefined ? {} : { enabled }), thresholds });
        const config = applyConfigPatch(null, patch, NOW);
        expect(parseStoredConfig(configAttr(config))).toEqual(config);
      }),
    );
  });
});

describe('parseStoredConfig', () => {
  it('absent -> null (defaults apply)', () => {
    expect(parseStoredConfig(undefined)).toBeNull();
    expect(parseWorkerState({}).config).toBeUndefined();
  });

  it('drops an out-of-range threshold and says so; a missing enabled is true', () => {
    expect(parseStoredConfig({ thresholds: { circuitFailureThreshold: 0, circuitOpenSeconds: 60 }, version: 2 })).toEqual({
      enabled: true,
      thresholds: { circuitOpenSeconds: 60 },
      updatedAt: '',
      version: 2,
      unreadable: 'thresholds.circuitFailureThreshold ignored, got 0',
    });
  });

  it('a config that is not a map reads as disabled', () => {
    expect(parseStoredConfig('on')).toMatchObject({ enabled: false, unreadable: expect.stringContaining('not a map') });
  });
});

describe('effectiveCircuit', () => {
  const worker = workerById('youtube_worker');

  it('no config: the registry settings', () => {
    expect(effectiveCircuit(worker, undefined)).toEqual(DEFAULT_CIRCUIT);
    expect(effectiveCircuit(worker, DEFAULT_WORKER_CONFIG)).toEqual(DEFAULT_CIRCUIT);
  });

  it('maps each threshold and raises halfOpenMaxProbes to the successes needed', () => {
    const config: WorkerConfig = { ...DEFAULT_WORKER_CONFIG, thresholds: { circuitFailureThreshold: 7, circuitOpenSeconds: 30, circuitHalfOpenSuccesses: 3 } };
    expect(effectiveCircuit(worker, config)).toEqual({ failuresToOpen: 7, openTimeoutSeconds: 30, successesToClose: 3, halfOpenMaxProbes: 3 });
  });
});

describe('planRecord uses the configured thresholds', () => {
  const EXEC = 'exec-1';
  const TRENDING = lockAttrsFor('trending');
  const RUN: GateResult = { decision: 'RUN', fence: 5, owner: EXEC, probe: false, scheduledTime: '2026-01-02T06:00:00.000Z' };
  const failedRun = (raw: RawItem) => {
    const state: PipelineState = { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-01-02T06:00:00.000Z', trigger: 'schedule', gate: RUN, failure: { Error: 'UpstreamRejectedError' } };
    const plan = planRecord({ worker: workerById('youtube_worker'), job: jobOf('youtube_worker', 'trending'), state, executionId: EXEC, startedAtMs: NOW - 30_000, nowMs: NOW, current: parseWorkerState(raw) });
    if (plan.kind !== 'report' || plan.stateWrite === null) throw new Error('expected a state write');
    return circuitOf(parseWorkerState(applyStateWrite(plan.stateWrite.write, raw)), 'trending');
  };
  const held = (over: RawItem): RawItem => ({ [TRENDING.holder]: EXEC, [TRENDING.fence]: 5, [TRENDING.expiresAt]: NOW + 100_000, version: 3, ...over });

  it('the third failure opens the circuit by default, not with circuitFailureThreshold 5', () => {
    const twoFailures = { circuit_trending: circuitAttr({ ...CLOSED_CIRCUIT, consecutiveFailures: 2 }) };
    expect(failedRun(held(twoFailures))).toMatchObject({ state: 'OPEN' });
    expect(failedRun(held({ ...twoFailures, config: { enabled: true, thresholds: { circuitFailureThreshold: 5 }, version: 1 } }))).toEqual({ ...CLOSED_CIRCUIT, consecutiveFailures: 3 });
  });

  it('circuitFailureThreshold 1 opens on the first failure', () => {
    expect(failedRun(held({ config: { enabled: true, thresholds: { circuitFailureThreshold: 1 }, version: 1 } }))).toMatchObject({ state: 'OPEN', changedAtMs: NOW });
  });
});
