import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOSED_CIRCUIT, type CircuitState } from '../../lib/domain/circuit.js';
import { coverageDay, decideGate, gateReads, gatingDependencies, IMPLICIT_COVERAGE_MIN_PERCENT, WAIT_MAX_SECONDS, type GateInput, type GatePlan } from '../../lib/domain/gate.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import type { GateView } from '../../lib/domain/ports.js';
import { EMPTY_BUCKET, HOUR_MS, type WindowBucket } from '../../lib/domain/window-stats.js';
import {
  applyStateWrite,
  circuitAttr,
  circuitAttrOf,
  circuitOf,
  freshAtAttrOf,
  evaluateStateCondition,
  lockOf,
  parseWorkerState,
  ORCHESTRATOR_RUNNING,
  type OrchestratorState,
  type RawItem,
  type WorkerStateItem,
} from '../../lib/domain/worker-state.js';
import { jobOf, workerById } from '../../lib/registry/index.js';
import type { WorkerSpec } from '../../lib/registry/types.js';

const NOW = Date.parse('2026-01-02T06:00:00.000Z');
const SLOT = '2026-01-02T06:00:00.000Z';
const EXEC = 'exec-1';

const state = (raw: RawItem): WorkerStateItem => parseWorkerState(raw);
const view = (over: Partial<GateView> = {}): GateView => ({ orchestrator: ORCHESTRATOR_RUNNING, worker: undefined, dependencies: {}, windows: {}, ...over });

function input(workerId: string, jobId: string, over: Partial<Omit<GateInput, 'worker' | 'job'>> = {}): GateInput {
  return {
    worker: workerById(workerId),
    job: jobOf(workerId, jobId),
    call: { executionId: EXEC, startedAtMs: NOW, trigger: 'schedule', scheduledTime: SLOT },
    nowMs: NOW,
    view: view(),
    ...over,
  };
}

/** A RUN verdict; `stepTimeoutSeconds` the job's registry step timeout (youtube's jobs: 300 s budget - 30 s reserve), no SLOW_EXECUTION raise. */
const run = (probe: boolean, fence: number | null, stepTimeoutSeconds = 270) => ({ decision: 'RUN' as const, probe, fence, stepTimeoutSeconds });

const decide = (workerId: string, jobId: string, over: Partial<Omit<GateInput, 'worker' | 'job'>> = {}): GatePlan => decideGate(input(workerId, jobId, over));
/** The circuit of `jobId` (each job has its own circuit). */
const circuit = (c: Partial<CircuitState>, jobId = 'trending'): RawItem => ({ [circuitAttrOf(jobId)]: circuitAttr({ ...CLOSED_CIRCUIT, ...c }) });
/** The lock of `jobId` held by `holder` (each job has its own lock). */
const lockedBy = (jobId: string, holder: string, expiresAtMs: number, fence = 7): RawItem => {
  const a = lockAttrsFor(jobId);
  return { [a.holder]: holder, [a.fence]: fence, [a.expiresAt]: expiresAtMs };
};
const TRENDING = lockAttrsFor('trending');
const ANALYZE = lockAttrsFor('analyze');
/** Applies the plan's write to the raw item it was decided from; null when its condition fails. */
const apply = (plan: GatePlan, raw: RawItem | undefined): RawItem | null => {
  if (plan.write === null) return null;
  return evaluateStateCondition(plan.write.condition, raw) ? applyStateWrite(plan.write, raw) : null;
};

describe('decideGate: 1. orchestrator mode', () => {
  it.each<[OrchestratorState['mode']]>([['PAUSED'], ['DRAINING']])('%s -> SKIP PAUSED, and the slot is claimed', (mode) => {
    // Prepare
    const orchestrator: OrchestratorState = { mode, updatedAt: null, reason: 'deploy' };
    // Act
    const plan = decide('youtube_worker', 'trending', { view: view({ orchestrator }) });
    // Assess
    expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'PAUSED', detail: `orchestrator is ${mode}: deploy` });
    expect(apply(plan, undefined)).toMatchObject({ slot_trending: SLOT, slotOwner_trending: EXEC, version: 1 });
  });

  it('does not claim a slot for a non-schedule trigger', () => {
    const plan = decide('youtube_worker', 'games', { view: view({ orchestrator: { mode: 'PAUSED', updatedAt: null, reason: null } }), call: { executionId: EXEC, startedAtMs: NOW, trigger: 'intel_cycle', scheduledTime: SLOT } });
    expect(plan).toEqual({ verdict: { decision: 'SKIP', skipReason: 'PAUSED', detail: 'orchestrator is PAUSED' }, write: null });
  });

  it('checks the mode before the slot', () => {
    const plan = decide('youtube_worker', 'trending', { view: view({ orchestrator: { mode: 'PAUSED', updatedAt: null, reason: null }, worker: state({ slot_trending: SLOT }) }) });
    // The slot is already claimed at this time: nothing left to claim.
    expect(plan).toMatchObject({ verdict: { decision: 'SKIP', skipReason: 'PAUSED' }, write: null });
  });
});

describe('decideGate: operator config (STATE.config)', () => {
  const config = (c: Record<string, unknown>): RawItem => ({ config: { version: 1, updatedAt: '2026-01-02T05:00:00.000Z', ...c } });

  it('enabled: false -> SKIP DISABLED naming the worker and when, and the slot is still claimed', () => {
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(config({ enabled: false })) }) });
    expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'DISABLED', detail: 'youtube_worker is disabled by its configuration (since 2026-01-02T05:00:00.000Z)' });
    expect(apply(plan, config({ enabled: false }))).toMatchObject({ slot_trending: SLOT, slotOwner_trending: EXEC });
  });

  it('enabled: false skips before the slot, the circuit and the lock (a live lock by another execution)', () => {
    const raw = { ...config({ enabled: false }), ...circuit({ state: 'OPEN', changedAtMs: NOW }), ...lockedBy('trending', 'exec-0', NOW + 60_000) };
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'DISABLED' });
  });

  it('the orchestrator mode comes first: PAUSED wins over DISABLED', () => {
    const plan = decide('youtube_worker', 'trending', { view: view({ orchestrator: { mode: 'PAUSED', updatedAt: null, reason: null }, worker: state(config({ enabled: false })) }) });
    expect(plan.verdict).toMatchObject({ decision: 'SKIP', skipReason: 'PAUSED' });
  });

  it('an unlocked (on-demand) worker is skipped too, for any trigger', () => {
    const plan = decide('generation_worker', 'generate', { view: view({ worker: state(config({ enabled: false })) }), call: { executionId: EXEC, startedAtMs: NOW, trigger: 'manual', scheduledTime: SLOT } });
    expect(plan).toEqual({ verdict: { decision: 'SKIP', skipReason: 'DISABLED', detail: expect.stringContaining('generation_worker is disabled') }, write: null });
  });

  it('enabled: true, or no config at all -> RUN as before', () => {
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(config({ enabled: true })) }) }).verdict).toMatchObject({ decision: 'RUN' });
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state({}) }) }).verdict).toMatchObject({ decision: 'RUN' });
  });

  it('an unreadable enabled (not a boolean) reads as disabled, and says why', () => {
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(config({ enabled: 'no' })) }) });
    expect(plan.verdict).toMatchObject({ decision: 'SKIP', skipReason: 'DISABLED', detail: expect.stringContaining('enabled must be a boolean, got "no"') });
  });

  it('circuitOpenSeconds overrides the registry open timeout (900 s): OPEN 120 s ago probes with a 60 s override, skips without', () => {
    const opened = circuit({ state: 'OPEN', changedAtMs: NOW - 120_000 });
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(opened) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN' });
    const overridden = { ...opened, ...config({ enabled: true, thresholds: { circuitOpenSeconds: 60 } }) };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(overridden) }) });
    expect(plan.verdict).toEqual(run(true, null));
    expect(apply(plan, overridden)).toMatchObject({ circuit_trending: { state: 'HALF_OPEN', probesAdmitted: 1 } });
  });

  it('a longer circuitOpenSeconds keeps the circuit open past the registry timeout, and the detail names the overridden next probe', () => {
    const raw = { ...circuit({ state: 'OPEN', changedAtMs: NOW - 1_000_000 }), ...config({ thresholds: { circuitOpenSeconds: 3600 } }) };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual({
      decision: 'SKIP',
      skipReason: 'CIRCUIT_OPEN',
      detail: `circuit OPEN since ${new Date(NOW - 1_000_000).toISOString()}; next probe from ${new Date(NOW - 1_000_000 + 3_600_000).toISOString()}`,
    });
  });

  it('circuitHalfOpenSuccesses raises the probes admitted: HALF_OPEN with 1 probe out admits a second when 2 successes are needed', () => {
    const halfOpen = circuit({ state: 'HALF_OPEN', changedAtMs: NOW - 1_000, probesAdmitted: 1 });
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(halfOpen) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN' });
    const raw = { ...halfOpen, ...config({ thresholds: { circuitHalfOpenSuccesses: 2 } }) };
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toEqual(run(true, null));
  });
});

describe('decideGate: 2. slot', () => {
  it('the same slot already claimed -> DUPLICATE, no write', () => {
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state({ slot_trending: SLOT, slotOwner_trending: 'exec-0' }) }) })).toEqual({ verdict: { decision: 'DUPLICATE' }, write: null });
  });

  it('a later slot already claimed -> SKIP FRESH_DATA naming it, no write (an older slot cannot be claimed)', () => {
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state({ slot_trending: '2026-01-02T06:30:00.000Z' }) }) });
    expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'FRESH_DATA', detail: `a later slot already ran: trending claimed 2026-01-02T06:30:00.000Z, this slot is ${SLOT}` });
    expect(plan.write).toBeNull();
  });

  it('an earlier slot claimed -> RUN, claiming this one with the lock', () => {
    const raw = { slot_trending: '2026-01-02T05:30:00.000Z', [TRENDING.fence]: 3 };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual(run(false, null));
    expect(apply(plan, raw)).toMatchObject({ slot_trending: SLOT, lockHolder_trending: EXEC, lockFence_trending: 4, lockExpiresAtMs_trending: NOW + 360_000 });
  });

  it('another job\'s slot does not matter', () => {
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state({ slot_games: '2026-01-03T05:00:00.000Z' }) }) }).verdict.decision).toBe('RUN');
  });

  it('ignores slots for non-schedule triggers', () => {
    const plan = decide('youtube_worker', 'games', { view: view({ worker: state({ slot_games: SLOT }) }), call: { executionId: EXEC, startedAtMs: NOW, trigger: 'intel_cycle', scheduledTime: SLOT } });
    expect(plan.verdict.decision).toBe('RUN');
    expect(apply(plan, { slot_games: SLOT })).toMatchObject({ slot_games: SLOT, lockHolder_games: EXEC, lockFence_games: 1 });
    expect(plan.write?.set).not.toHaveProperty('slot_games');
  });

  it('its own claim (a retried gate) is not a duplicate', () => {
    const raw = { slot_trending: SLOT, slotOwner_trending: EXEC };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict.decision).toBe('RUN');
    // Acquired without re-claiming (the slot is already this execution's).
    expect(apply(plan, raw)).toMatchObject({ lockHolder_trending: EXEC, slot_trending: SLOT });
  });
});

describe('decideGate: the Work task\'s timeout', () => {
  it.each<[string, Record<string, unknown>, number]>([
    ['the registry\'s step timeout', {}, 270],
    ['a SLOW_EXECUTION raise of this job', { stepTimeoutOverrideSeconds_trending: 338 }, 338],
    ['a raise past the bound is held to it (270 x 1.5)', { stepTimeoutOverrideSeconds_trending: 9999 }, 405],
    ['another job\'s raise does not apply', { stepTimeoutOverrideSeconds_games: 405 }, 270],
  ])('hands %s', (_name, raw, seconds) => {
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toEqual(run(false, null, seconds));
  });
});

describe('decideGate: 2b. backfill slots', () => {
  const backfill = (seenSlotClaim: string | null) => ({ executionId: EXEC, startedAtMs: NOW, trigger: 'backfill', scheduledTime: SLOT, seenSlotClaim });

  it('a missed slot older than the latest claim -> RUN without touching the claim', () => {
    const raw = { slot_trending: '2026-01-02T07:00:00.000Z' };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }), call: backfill('2026-01-02T07:00:00.000Z') });
    expect(plan.verdict.decision).toBe('RUN');
    expect(apply(plan, raw)).toMatchObject({ slot_trending: '2026-01-02T07:00:00.000Z', lockHolder_trending: EXEC });
  });

  it('a missed slot newer than the latest claim -> RUN, claiming it, so a late scheduled delivery of it is a DUPLICATE', () => {
    const raw = { slot_trending: '2026-01-02T05:00:00.000Z' };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }), call: backfill('2026-01-02T05:00:00.000Z') });
    const after = apply(plan, raw);
    expect(after).toMatchObject({ slot_trending: SLOT, slotOwner_trending: EXEC });
    const late = decide('youtube_worker', 'trending', { view: view({ worker: state(after ?? {}) }), call: { executionId: 'scheduler-late', startedAtMs: NOW, trigger: 'schedule', scheduledTime: SLOT } });
    expect(late).toEqual({ verdict: { decision: 'DUPLICATE' }, write: null });
  });

  it('a claim of this very slot made after the API found it missed (a late delivery that ran it) -> DUPLICATE', () => {
    const raw = { slot_trending: SLOT, slotOwner_trending: 'scheduler-late' };
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }), call: backfill('2026-01-02T05:00:00.000Z') })).toEqual({ verdict: { decision: 'DUPLICATE' }, write: null });
  });

  it('a claim of this slot the API already saw (its scheduled run was skipped) -> RUN', () => {
    const raw = { slot_trending: SLOT, slotOwner_trending: 'scheduler-paused' };
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }), call: backfill(SLOT) }).verdict.decision).toBe('RUN');
  });
});

describe('decideGate: 3. circuit', () => {
  it('OPEN within its timeout -> SKIP CIRCUIT_OPEN with the next probe time, slot claimed', () => {
    const raw = circuit({ state: 'OPEN', changedAtMs: NOW - 60_000 });
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN', detail: 'circuit OPEN since 2026-01-02T05:59:00.000Z; next probe from 2026-01-02T06:14:00.000Z' });
    expect(apply(plan, raw)).toMatchObject({ slot_trending: SLOT });
  });

  it('OPEN past its timeout -> RUN as a probe, persisting HALF_OPEN in the acquire write', () => {
    const raw = circuit({ state: 'OPEN', changedAtMs: NOW - 900_000 });
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual(run(true, null));
    const after = apply(plan, raw);
    expect(after).toMatchObject({ lockHolder_trending: EXEC, lockFence_trending: 1 });
    expect(circuitOf(state(after ?? {}), 'trending')).toEqual({ state: 'HALF_OPEN', consecutiveFailures: 0, changedAtMs: NOW, probesAdmitted: 1, halfOpenSuccesses: 0 });
  });

  it('circuits are per job: youtube games OPEN skips games and lets trending run', () => {
    const raw = circuit({ state: 'OPEN', changedAtMs: NOW - 60_000 }, 'games');
    expect(decide('youtube_worker', 'games', { view: view({ worker: state(raw) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN' });
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toEqual(run(false, null));
  });

  it('admits one probe per job: two executions of the job (the schedule and a recovery) deciding on the same OPEN state cannot both probe', () => {
    const raw = { ...circuit({ state: 'OPEN', changedAtMs: NOW - 900_000 }, 'games'), version: 5 };
    const scheduled = decide('youtube_worker', 'games', { view: view({ worker: state(raw) }) });
    const recovery = decide('youtube_worker', 'games', { view: view({ worker: state(raw) }), call: { executionId: 'exec-2', startedAtMs: NOW, trigger: 'recovery', scheduledTime: SLOT } });
    expect([scheduled.verdict, recovery.verdict]).toEqual([
      run(true, null),
      run(true, null),
    ]);
    // The scheduled probe lands first; the recovery's write, decided from the same OPEN state, must then fail ...
    const afterScheduled = apply(scheduled, raw);
    expect(afterScheduled).not.toBeNull();
    expect(apply(recovery, afterScheduled ?? {})).toBeNull();
    // ... and, re-decided on the fresh state, the recovery is refused (the lock and the probe are taken).
    const again = decide('youtube_worker', 'games', { view: view({ worker: state(afterScheduled ?? {}) }), call: { executionId: 'exec-2', startedAtMs: NOW, trigger: 'recovery', scheduledTime: SLOT } });
    expect(again.verdict).toMatchObject({ decision: 'SKIP' });
  });

  it('HALF_OPEN with its probe admitted and not timed out -> SKIP CIRCUIT_OPEN', () => {
    const raw = circuit({ state: 'HALF_OPEN', changedAtMs: NOW - 1_000, probesAdmitted: 1 });
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'CIRCUIT_OPEN' });
  });

  it('CLOSED with failures -> RUN, circuit untouched', () => {
    const raw = circuit({ consecutiveFailures: 2 });
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual(run(false, null));
    expect(plan.write?.set).not.toHaveProperty('circuit_trending');
  });

  it('checks the circuit before dependencies', () => {
    const plan = decide('playbook_worker', 'synthesize', { view: view({ worker: state(circuit({ state: 'OPEN', changedAtMs: NOW }, 'synthesize')) }), call: { executionId: EXEC, startedAtMs: NOW, trigger: 'intel_cycle', scheduledTime: SLOT } });
    expect(plan.verdict).toMatchObject({ skipReason: 'CIRCUIT_OPEN' });
  });
});

describe('decideGate: 4. dependencies', () => {
  const cycle = { executionId: EXEC, startedAtMs: NOW, trigger: 'intel_cycle', scheduledTime: SLOT };
  /** The dependency's state with its `job` last succeeding `ageSeconds` ago (playbook consumes youtube games and twitch streams poll). */
  const fresh = (job: string, ageSeconds: number, lastStatus = 'SUCCEEDED'): WorkerStateItem => state({ [freshAtAttrOf(job)]: NOW - ageSeconds * 1000, lastStatus });

  describe('data (hard)', () => {
    it.each<[string, Record<string, WorkerStateItem | undefined>, string | null]>([
      ['both fresh', { youtube_worker: fresh('games', 600), twitch_streams_worker: fresh('poll', 60) }, null],
      ['exactly at the limit', { youtube_worker: fresh('games', 3600), twitch_streams_worker: fresh('poll', 1800) }, null],
      ['youtube games stale', { youtube_worker: fresh('games', 4000, 'FAILED'), twitch_streams_worker: fresh('poll', 60) }, 'dependency youtube_worker.games data is 4000 s old, limit 3600 s (last status of youtube_worker FAILED)'],
      ['youtube games stale while trending is fresh', { youtube_worker: state({ [freshAtAttrOf('games')]: NOW - 4000_000, [freshAtAttrOf('trending')]: NOW - 60_000, lastStatus: 'SUCCEEDED' }), twitch_streams_worker: fresh('poll', 60) }, 'dependency youtube_worker.games data is 4000 s old, limit 3600 s (last status of youtube_worker SUCCEEDED)'],
      ['twitch stale', { youtube_worker: fresh('games', 60), twitch_streams_worker: fresh('poll', 1801, 'CRASHED') }, 'dependency twitch_streams_worker.poll data is 1801 s old, limit 1800 s (last status of twitch_streams_worker CRASHED)'],
      ['youtube never succeeded', { youtube_worker: state({ lastStatus: 'FAILED' }), twitch_streams_worker: fresh('poll', 60) }, 'dependency youtube_worker.games has no successful run on record (last status of youtube_worker FAILED); need data younger than 3600 s'],
      ['youtube has no state at all', { youtube_worker: undefined, twitch_streams_worker: fresh('poll', 60) }, 'dependency youtube_worker.games has no successful run on record (last status of youtube_worker none); need data younger than 3600 s'],
    ])('playbook: %s', (_name, dependencies, detail) => {
      const plan = decide('playbook_worker', 'synthesize', { view: view({ dependencies }), call: cycle });
      if (detail === null) expect(plan.verdict).toEqual(run(false, null, 570)); // playbook: 600 s - 30 s
      else expect(plan).toEqual({ verdict: { decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail }, write: null });
    });

    it('an optional data dependency never skips', () => {
      const base = workerById('playbook_worker');
      const soft: WorkerSpec = { ...base, dependencies: base.dependencies.map((d) => ({ ...d, kind: 'optional' as const })) };
      const plan = decideGate({ ...input('playbook_worker', 'synthesize', { call: cycle }), worker: soft, view: view({ dependencies: {} }) });
      expect(plan.verdict.decision).toBe('RUN');
    });
  });

  describe('not-running (intel_aggregation hourly waits on creator intel)', () => {
    const running = (remainingMs: number): Record<string, WorkerStateItem> => ({ creator_intel_worker: state(lockedBy('analyze', 'intel-exec', NOW + remainingMs)) });

    it.each<[string, number, number, number]>([
      // [case, lock remaining ms, waited so far ms, expected waitSeconds]
      ['first wait is capped at WAIT_MAX_SECONDS', 600_000, 0, WAIT_MAX_SECONDS],
      ['bounded by the lock\'s remaining lease', 10_000, 0, 10],
      ['bounded by the remaining wait budget', 600_000, 110_000, 10],
      ['rounds up to whole seconds, at least 1', 200, 0, 1],
    ])('%s', (_name, remainingMs, waitedMs, waitSeconds) => {
      const plan = decide('intel_aggregation_worker', 'hourly', { view: view({ dependencies: running(remainingMs) }), call: { ...input('intel_aggregation_worker', 'hourly').call, startedAtMs: NOW - waitedMs } });
      expect(plan).toEqual({ verdict: { decision: 'WAIT', waitSeconds }, write: null });
    });

    it.each<[string, RawItem]>([
      ['only analyze is locked', lockedBy('analyze', 'intel-exec', NOW + 10_000)],
      ['another job\'s lock released, analyze live', { [lockAttrsFor('backfill').fence]: 3, [lockAttrsFor('backfill').expiresAt]: 0, ...lockedBy('analyze', 'intel-exec', NOW + 10_000) }],
      ['another job\'s lease expired, analyze live', { ...lockedBy('backfill', 'crashed-exec', NOW - 1), ...lockedBy('analyze', 'intel-exec', NOW + 10_000) }],
    ])('in progress when ANY of its jobs holds a live lock (%s) -> WAIT, bounded by that lock\'s lease', (_name, raw) => {
      const plan = decide('intel_aggregation_worker', 'hourly', { view: view({ dependencies: { creator_intel_worker: state(raw) } }) });
      expect(plan).toEqual({ verdict: { decision: 'WAIT', waitSeconds: 10 }, write: null });
    });

    it('past maxWaitSeconds -> SKIP LOCK_HELD (SKIP_DUE_TO_LOCK), slot claimed', () => {
      const plan = decide('intel_aggregation_worker', 'hourly', { view: view({ dependencies: running(600_000) }), call: { ...input('intel_aggregation_worker', 'hourly').call, startedAtMs: NOW - 120_000 } });
      expect(plan.verdict).toEqual({
        decision: 'SKIP',
        skipReason: 'LOCK_HELD',
        detail: 'dependency creator_intel_worker.analyze still running (lock held until 2026-01-02T06:10:00.000Z) after waiting 120 s, max 120 s',
      });
      expect(apply(plan, undefined)).toMatchObject({ slot_hourly: SLOT });
    });

    it.each<[string, RawItem | undefined]>([
      ['no state', undefined],
      ['lock released', { [ANALYZE.fence]: 4, [ANALYZE.expiresAt]: 0 }],
      ['lease expired (a crashed holder)', lockedBy('analyze', 'intel-exec', NOW - 1)],
      ['every job\'s lock released or expired', { ...lockedBy('backfill', 'intel-exec-0', NOW - 1), [ANALYZE.fence]: 4, [ANALYZE.expiresAt]: 0 }],
    ])('%s -> RUN', (_name, raw) => {
      const plan = decide('intel_aggregation_worker', 'hourly', { view: view({ dependencies: { creator_intel_worker: raw ? state(raw) : undefined } }) });
      expect(plan.verdict.decision).toBe('RUN');
    });

    it('only gates the job that names it (gatedBy): the daily rollup does not wait', () => {
      const deps = gatingDependencies(workerById('intel_aggregation_worker'), jobOf('intel_aggregation_worker', 'daily')).map((d) => d.spec);
      expect(deps).toEqual([{ on: 'intel_aggregation_worker', kind: 'hard', relation: 'coverage', minCoveragePercent: IMPLICIT_COVERAGE_MIN_PERCENT }]);
    });
  });

  describe('coverage (clip radar recap needs 80% of yesterday\'s 288 polls)', () => {
    it('passes on a cold start: the dependency has no history for the covered day and first ran after it', () => {
      const plan = decide('clip_radar_recap_worker', 'recap', {
        view: view({ dependencies: { clip_radar_worker: state({ lastStatus: 'SUCCEEDED', lastRunAtMs: Date.parse('2026-01-02T05:55:00Z') }) }, windows: {} }),
      });
      expect(plan.verdict.decision).toBe('RUN');
    });

    // Yesterday: 288 five-minute slots, 12 per hour.
    const hours = (perHour: Partial<WindowBucket>): WindowBucket[] => Array.from({ length: 24 }, () => ({ ...EMPTY_BUCKET, ...perHour }));
    /** `total` successful runs, 12 an hour from midnight. */
    const spread = (total: number): WindowBucket[] => Array.from({ length: 24 }, (_, h) => ({ ...EMPTY_BUCKET, runs: Math.max(0, Math.min(12, total - 12 * h)) }));

    it.each<[string, WindowBucket[] | undefined, string | null]>([
      ['all 288 ran', hours({ runs: 12 }), null],
      ['231 of 288 (80.2%)', spread(231), null],
      ['230 of 288 (79.9%)', spread(230), 'dependency clip_radar_worker covered 230 of 288 slots (79.9%) on 2026-01-01, need 80% (last status SUCCEEDED)'],
      ['200 of 288', spread(200), 'dependency clip_radar_worker covered 200 of 288 slots (69.4%) on 2026-01-01, need 80% (last status SUCCEEDED)'],
      ['failures do not count', hours({ runs: 12, failures: 4 }), 'dependency clip_radar_worker covered 192 of 288 slots (66.7%) on 2026-01-01, need 80% (last status SUCCEEDED)'],
      ['no data at all', undefined, 'dependency clip_radar_worker covered 0 of 288 slots (0%) on 2026-01-01, need 80% (last status SUCCEEDED)'],
    ])('%s', (_name, buckets, detail) => {
      // The dependency has history from before the covered day (2026-01-01).
      const plan = decide('clip_radar_recap_worker', 'recap', {
        view: view({ dependencies: { clip_radar_worker: state({ lastStatus: 'SUCCEEDED', lastRunAtMs: Date.parse('2025-12-31T23:55:00Z') }) }, windows: buckets ? { clip_radar_worker: buckets } : {} }),
      });
      if (detail === null) expect(plan.verdict.decision).toBe('RUN');
      else expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail });
    });

    it('reads the 24 hour buckets of the previous UTC day', () => {
      const reads = gateReads(workerById('clip_radar_recap_worker'), jobOf('clip_radar_recap_worker', 'recap'), NOW);
      expect(reads.dependencyIds).toEqual(['clip_radar_worker']);
      expect(reads.windows).toHaveLength(1);
      expect(reads.windows[0]?.bucketKeys).toHaveLength(24);
      expect(reads.windows[0]?.bucketKeys[0]).toBe('2026-01-01T00');
      expect(reads.windows[0]?.bucketKeys[23]).toBe('2026-01-01T23');
      expect(coverageDay(NOW)).toEqual({ fromMs: Date.parse('2026-01-01T00:00:00Z'), toMs: Date.parse('2026-01-02T00:00:00Z') });
      expect(coverageDay(Date.parse('2026-01-02T00:00:00Z') - 1).toMs - coverageDay(Date.parse('2026-01-02T00:00:00Z')).toMs).toBe(-24 * HOUR_MS);
    });

    it('the daily rollup checks its own worker\'s runs (24 hourly + 1 daily) in its own buckets', () => {
      const reads = gateReads(workerById('intel_aggregation_worker'), jobOf('intel_aggregation_worker', 'daily'), NOW);
      expect(reads.dependencyIds).toEqual([]);
      expect(reads.windows.map((w) => w.workerId)).toEqual(['intel_aggregation_worker']);
      const call = { executionId: EXEC, startedAtMs: NOW, trigger: 'schedule', scheduledTime: SLOT };
      const ok = decide('intel_aggregation_worker', 'daily', { call, view: view({ windows: { intel_aggregation_worker: hours({ runs: 1 }).map((b, i) => (i === 0 ? { ...b, runs: 2 } : b)) } }) });
      expect(ok.verdict.decision).toBe('RUN');
      const thin = decide('intel_aggregation_worker', 'daily', { call, view: view({ windows: { intel_aggregation_worker: hours({ runs: 1 }).slice(0, 10).concat(hours({}).slice(10)) } }) });
      expect(thin.verdict).toMatchObject({ decision: 'SKIP', skipReason: 'DEPENDENCY_FAILED', detail: expect.stringContaining('covered 10 of 25 slots (40%)') });
    });
  });
});

describe('decideGate: 5. lock', () => {
  it('free -> RUN; the write acquires (fence + 1), claims the slot and bumps the version', () => {
    const raw = { [TRENDING.fence]: 41, version: 9 };
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual(run(false, null));
    expect(apply(plan, raw)).toMatchObject({ lockHolder_trending: EXEC, lockFence_trending: 42, lockExpiresAtMs_trending: NOW + 360_000, slot_trending: SLOT, slotOwner_trending: EXEC, version: 10 });
  });

  it('held and live by another execution -> SKIP LOCK_HELD naming the holder; the slot is still claimed', () => {
    const raw = lockedBy('trending', 'other-exec', NOW + 5_000);
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual({ decision: 'SKIP', skipReason: 'LOCK_HELD', detail: 'lock of trending held by other-exec (fence 7) until 2026-01-02T06:00:05.000Z' });
    expect(apply(plan, raw)).toMatchObject({ lockHolder_trending: 'other-exec', slot_trending: SLOT });
  });

  it('a live lock on another job of the worker does not block this one: trending held by another execution, games RUNs', () => {
    const raw = lockedBy('trending', 'other-exec', NOW + 5_000, 7);
    const plan = decide('youtube_worker', 'games', { view: view({ worker: state(raw) }) });
    expect(plan.verdict).toEqual(run(false, null));
    const after = apply(plan, raw);
    // games takes its own lock (its own fence, from 1); trending's lock is left as it was.
    expect(after).toMatchObject({ lockHolder_games: EXEC, lockFence_games: 1, lockExpiresAtMs_games: NOW + 360_000, slot_games: SLOT, ...raw });
    const locks = state(after ?? {}).locks;
    expect(locks['trending']).toEqual({ holder: 'other-exec', fence: 7, expiresAtMs: NOW + 5_000 });
    expect(locks['games']).toEqual({ holder: EXEC, fence: 1, expiresAtMs: NOW + 360_000 });
    // The same job, though, is still blocked.
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }).verdict).toMatchObject({ decision: 'SKIP', skipReason: 'LOCK_HELD' });
  });

  it('held under an expired lease -> RUN, taking it over with a higher fence', () => {
    const raw = lockedBy('trending', 'crashed-exec', NOW - 1, 7);
    const plan = decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) });
    expect(apply(plan, raw)).toMatchObject({ lockHolder_trending: EXEC, lockFence_trending: 8 });
  });

  it('honours leaseSecondsOverride', () => {
    const raw = { leaseSecondsOverride: 720 };
    expect(apply(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) }), raw)).toMatchObject({ lockExpiresAtMs_trending: NOW + 720_000 });
  });

  it('already held by this execution (a retried gate) -> RUN with that fence, no write', () => {
    const raw = { ...lockedBy('trending', EXEC, NOW + 100_000, 12), slot_trending: SLOT, slotOwner_trending: EXEC };
    expect(decide('youtube_worker', 'trending', { view: view({ worker: state(raw) }) })).toEqual({ verdict: run(false, 12), write: null });
  });

  describe('unlocked (on-demand, lease 0)', () => {
    const manual = { executionId: EXEC, startedAtMs: NOW, trigger: 'manual', scheduledTime: SLOT };

    it('CLOSED -> RUN with fence 0 and no write', () => {
      expect(decide('generation_worker', 'generate', { call: manual })).toEqual({ verdict: run(false, 0), write: null });
    });

    it('a probe persists HALF_OPEN under the version condition', () => {
      const raw = { ...circuit({ state: 'OPEN', changedAtMs: NOW - 900_000 }, 'generate'), version: 3 };
      const plan = decide('generation_worker', 'generate', { call: manual, view: view({ worker: state(raw) }) });
      expect(plan.verdict).toEqual(run(true, 0));
      expect(state(apply(plan, raw) ?? {})).toMatchObject({ version: 4, circuits: { generate: { state: 'HALF_OPEN', probesAdmitted: 1 } } });
      expect(apply(plan, { ...raw, version: 4 })).toBeNull();
    });

    it('a schedule trigger claims the slot (no lock)', () => {
      const plan = decide('generation_worker', 'generate');
      expect(apply(plan, undefined)).toMatchObject({ slot_generate: SLOT, slotOwner_generate: EXEC });
      expect(apply(plan, { slot_generate: SLOT })).toBeNull();
    });
  });
});

describe('decideGate: properties', () => {
  const workers: [string, string][] = [
    ['youtube_worker', 'trending'],
    ['intel_aggregation_worker', 'hourly'],
    ['playbook_worker', 'synthesize'],
    ['generation_worker', 'generate'],
  ];
  const lockState = fc.record(
    {
      holder: fc.constantFrom('other', EXEC),
      fence: fc.nat(50),
      expiresAtMs: fc.integer({ min: NOW - 1_000_000, max: NOW + 1_000_000 }),
    },
    { requiredKeys: [] },
  );
  type LockState = { holder?: string; fence?: number; expiresAtMs?: number };
  /** A job's lock as stored: only the attributes that are present. */
  const lockRaw = (jobId: string, l: LockState = {}): RawItem => {
    const a = lockAttrsFor(jobId);
    const entries: [string, string | number | undefined][] = [[a.holder, l.holder], [a.fence, l.fence], [a.expiresAt, l.expiresAtMs]];
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  };
  const rawState = fc.record(
    {
      lock: lockState,
      /** Another job's lock on the same item: must neither block nor be touched. */
      siblingLock: lockState,
      slot_trending: fc.constantFrom('2026-01-02T05:30:00.000Z', SLOT, '2026-01-02T06:30:00.000Z'),
      slot_hourly: fc.constantFrom('2026-01-02T05:00:00.000Z', SLOT),
      slotOwner_trending: fc.constantFrom('other', EXEC),
      freshAtMs_games: fc.integer({ min: NOW - 7_200_000, max: NOW }),
      version: fc.nat(5),
      circuit_trending: fc.record({
        state: fc.constantFrom('CLOSED', 'OPEN', 'HALF_OPEN'),
        consecutiveFailures: fc.nat(3),
        changedAtMs: fc.integer({ min: NOW - 2_000_000, max: NOW }),
        probesAdmitted: fc.nat(2),
        halfOpenSuccesses: fc.constant(0),
      }),
    },
    { requiredKeys: [] },
  );

  it('a decision\'s write always holds on the state it was decided from; DUPLICATE and WAIT never write', () => {
    fc.assert(
      fc.property(fc.constantFrom(...workers), rawState, rawState, fc.constantFrom('schedule', 'manual'), fc.constantFrom<OrchestratorState['mode']>('RUNNING', 'RUNNING', 'PAUSED'), ([w, j], gen, depGen, trigger, mode) => {
        const { lock, siblingLock, ...rest } = gen;
        const raw: RawItem = { ...rest, ...lockRaw(j, lock), ...lockRaw('sibling', siblingLock) };
        // A dependency's state carries the generated lock on each of its jobs, plus a sibling lock.
        const { lock: depLock, siblingLock: depSiblingLock, ...depRest } = depGen;
        const depRaw = (on: string): RawItem => Object.assign({ ...depRest, ...lockRaw('sibling', depSiblingLock) }, ...workerById(on).jobs.map((job) => lockRaw(job.id, depLock))) as RawItem;
        const dependencies = Object.fromEntries(workerById(w).dependencies.map((d) => [d.on, state(depRaw(d.on))]));
        const plan = decide(w, j, { view: view({ worker: state(raw), dependencies, orchestrator: { mode, updatedAt: null, reason: null } }), call: { executionId: EXEC, startedAtMs: NOW - 30_000, trigger, scheduledTime: SLOT } });
        if (plan.verdict.decision === 'DUPLICATE' || plan.verdict.decision === 'WAIT') expect(plan.write).toBeNull();
        if (plan.write !== null) expect(evaluateStateCondition(plan.write.condition, raw)).toBe(true);
        if (plan.verdict.decision === 'RUN' && plan.verdict.fence === null) {
          const after = state(apply(plan, raw) ?? {});
          expect(lockOf(after, j).holder).toBe(EXEC);
          expect(lockOf(after, j).fence).toBe((lock?.fence ?? 0) + 1);
          expect(after.locks['sibling']).toEqual(state(raw).locks['sibling']);
        }
      }),
      { numRuns: 300 },
    );
  });
});
