import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataFreshness } from '../../lib/domain/freshness.js';
import { decideGate } from '../../lib/domain/gate.js';
import { ORCHESTRATOR_RUNNING, parseWorkerState, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { jobOf, workerById } from '../../lib/registry/index.js';
import type { JobSpec, WorkerSpec } from '../../lib/registry/types.js';

const NOW = Date.parse('2026-01-02T08:00:00.000Z');
const SECOND = 1_000;

const playbook = workerById('playbook_worker');
const synthesize = jobOf('playbook_worker', 'synthesize');
/** A STATE item whose last success was `ageMs` before NOW (none when null). */
/** A dependency whose consumed job (youtube games, twitch streams poll) last succeeded `ageMs` ago. */
const succeededAgo = (ageMs: number | null): WorkerStateItem => parseWorkerState(ageMs === null ? { lastStatus: 'FAILED' } : { freshAtMs_games: NOW - ageMs, freshAtMs_poll: NOW - ageMs, lastStatus: 'SUCCEEDED' });

describe('dataFreshness: the playbook worker (youtube 3600 s, twitch streams 1800 s)', () => {
  it.each<[string, number | null, boolean, number | null]>([
    // name, age of the youtube data in ms (null: never succeeded), stale, ageSeconds
    ['never succeeded', null, true, null],
    ['a minute old', 60 * SECOND, false, 60],
    ['one second below the threshold', 3_599 * SECOND, false, 3_599],
    ['exactly at the threshold', 3_600 * SECOND, false, 3_600],
    ['1 ms past the threshold (the reported age rounds down to 3600)', 3_600 * SECOND + 1, true, 3_600],
    ['one second past the threshold', 3_601 * SECOND, true, 3_601],
    ['a day old', 86_400 * SECOND, true, 86_400],
  ])('youtube data %s', (_name, ageMs, stale, ageSeconds) => {
    // Prepare
    const dependencies = { youtube_worker: succeededAgo(ageMs), twitch_streams_worker: succeededAgo(60 * SECOND) };

    // Act
    const report = dataFreshness(playbook, synthesize, dependencies, NOW);

    // Assess
    expect(report).toEqual({ stale: { youtube_worker: stale, twitch_streams_worker: false }, ageSeconds: { youtube_worker: ageSeconds, twitch_streams_worker: 60 } });
  });

  it('each dependency is held to its own threshold: 1801 s is fresh for youtube, stale for twitch streams', () => {
    const age = 1_801 * SECOND;
    const report = dataFreshness(playbook, synthesize, { youtube_worker: succeededAgo(age), twitch_streams_worker: succeededAgo(age) }, NOW);
    expect(report.stale).toEqual({ youtube_worker: false, twitch_streams_worker: true });
    expect(report.ageSeconds).toEqual({ youtube_worker: 1_801, twitch_streams_worker: 1_801 });
  });

  it('a dependency with no STATE item at all is stale, age null', () => {
    const report = dataFreshness(playbook, synthesize, {}, NOW);
    expect(report).toEqual({ stale: { youtube_worker: true, twitch_streams_worker: true }, ageSeconds: { youtube_worker: null, twitch_streams_worker: null } });
  });

  it('a failed last run does not make the last success stale: the age is that of the last success', () => {
    const state = parseWorkerState({ freshAtMs_games: NOW - 600 * SECOND, freshAtMs_poll: NOW - 600 * SECOND, lastStatus: 'FAILED' });
    const report = dataFreshness(playbook, synthesize, { youtube_worker: state, twitch_streams_worker: state }, NOW);
    expect(report.stale).toEqual({ youtube_worker: false, twitch_streams_worker: false });
    expect(report.ageSeconds).toEqual({ youtube_worker: 600, twitch_streams_worker: 600 });
  });

  it('data stamped after now (clock skew) is fresh, age 0', () => {
    const state = parseWorkerState({ freshAtMs_games: NOW + 5 * SECOND, freshAtMs_poll: NOW + 5 * SECOND });
    expect(dataFreshness(playbook, synthesize, { youtube_worker: state, twitch_streams_worker: state }, NOW).ageSeconds).toEqual({ youtube_worker: 0, twitch_streams_worker: 0 });
  });

  it('agrees with the gate at every instant: stale exactly when the gate would skip the dependency', () => {
    // Twitch streams is always fresh; the youtube data's age varies at millisecond precision around its 3600 s limit.
    const twitch = succeededAgo(60 * SECOND);
    fc.assert(
      fc.property(fc.integer({ min: 3_595 * SECOND, max: 3_605 * SECOND }), (ageMs) => {
        const dependencies = { youtube_worker: succeededAgo(ageMs), twitch_streams_worker: twitch };
        const freshness = dataFreshness(playbook, synthesize, dependencies, NOW);
        const gate = decideGate({
          worker: playbook,
          job: synthesize,
          call: { executionId: 'exec-1', startedAtMs: NOW, trigger: 'intel_cycle', scheduledTime: '2026-01-02T08:00:00.000Z' },
          nowMs: NOW,
          view: { orchestrator: ORCHESTRATOR_RUNNING, worker: undefined, dependencies, windows: {} },
        });
        const gateSkips = gate.verdict.decision === 'SKIP' && gate.verdict.skipReason === 'DEPENDENCY_FAILED';
        expect(freshness.stale['youtube_worker']).toBe(gateSkips);
      }),
      { examples: [[3_600 * SECOND], [3_600 * SECOND + 1], [3_600 * SECOND + 499], [3_600 * SECOND + 500]] },
    );
  });
});

describe('dataFreshness: which dependencies are listed', () => {
  const base = workerById('playbook_worker');
  const mixed: WorkerSpec = {
    ...base,
    id: 'mixed_worker',
    dependencies: [
      { on: 'youtube_worker', kind: 'hard', relation: 'data', freshnessSeconds: 3_600 },
      { on: 'creator_intel_worker', kind: 'optional', relation: 'not-running', maxWaitSeconds: 120 },
      { on: 'clip_radar_worker', kind: 'hard', relation: 'coverage', minCoveragePercent: 80 },
      { on: 'twitch_streams_worker', kind: 'hard', relation: 'data', freshnessSeconds: 1_800 },
    ],
  };
  const job = (gatedBy?: readonly string[]): JobSpec => ({ id: 'run', mode: 'run', timeoutSeconds: 60, expectedDurationSeconds: 30, schedules: [], ...(gatedBy ? { gatedBy } : {}) });
  const everyone = Object.fromEntries(['youtube_worker', 'creator_intel_worker', 'clip_radar_worker', 'twitch_streams_worker'].map((id) => [id, succeededAgo(10 * SECOND)]));

  it('only `data` relations: not-running and coverage dependencies are left out', () => {
    const report = dataFreshness(mixed, job(), everyone, NOW);
    expect(Object.keys(report.stale)).toEqual(['youtube_worker', 'twitch_streams_worker']);
    expect(Object.keys(report.ageSeconds)).toEqual(['youtube_worker', 'twitch_streams_worker']);
  });

  it('`gatedBy` filters: only the data dependencies the job is gated by', () => {
    const report = dataFreshness(mixed, job(['twitch_streams_worker', 'clip_radar_worker']), everyone, NOW);
    expect(report).toEqual({ stale: { twitch_streams_worker: false }, ageSeconds: { twitch_streams_worker: 10 } });
  });

  it('`gatedBy` naming no data dependency -> nothing listed', () => {
    expect(dataFreshness(mixed, job(['creator_intel_worker']), everyone, NOW)).toEqual({ stale: {}, ageSeconds: {} });
  });

  it.each([['intel_aggregation_worker', 'hourly'], ['clip_radar_recap_worker', 'recap'], ['youtube_worker', 'trending']])('%s.%s has no data dependency -> nothing listed', (workerId, jobId) => {
    expect(dataFreshness(workerById(workerId), jobOf(workerId, jobId), everyone, NOW)).toEqual({ stale: {}, ageSeconds: {} });
  });
});
