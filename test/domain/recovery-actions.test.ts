import { describe, expect, it } from 'vitest';
import {
  extendedLease,
  markSlowed,
  quotaResetAtMs,
  raisedStepTimeout,
  recoveryExecutionName,
  restartPlan,
  RESTART_ATTRS,
  scaledConcurrency,
  slowedBy,
  slowedScheduleExpression,
  unmarkSlowed,
  dependencyRecoveryPlan,
  nextRunAtMs,
  recordedStatus,
  runNotRecovered,
  staleDataTargets,
  staleUpstreams,
  upstreamRetryBoundSeconds,
  upstreamRetryDelaySeconds,
} from '../../lib/domain/recovery-actions.js';
import { RECOVERY_BOUNDS } from '../../lib/domain/recovery.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { evaluateStateCondition, parseWorkerState } from '../../lib/domain/worker-state.js';
import { jobOf, workerById, type JobSpec, type WorkerSpec } from '../../lib/registry/index.js';

const NOW = Date.parse('2026-03-02T04:00:00.000Z');

describe('slowedScheduleExpression (x4)', () => {
  it.each([
    ['cron(0/30 * * * ? *)', 'cron(0 0/2 * * ? *)', 30],
    ['cron(0/15 * * * ? *)', 'cron(0 * * * ? *)', 15],
    ['cron(5/5 * * * ? *)', 'cron(5/20 * * * ? *)', 5],
    ['cron(0 * * * ? *)', 'cron(0 0/4 * * ? *)', 60],
    ['cron(0 0/4 * * ? *)', 'rate(16 hours)', 240],
    ['cron(0 5 * * ? *)', 'rate(4 days)', 1440],
    ['cron(0 6 ? * MON *)', 'rate(28 days)', 10080],
    ['rate(5 minutes)', 'rate(20 minutes)', 5],
    ['rate(1 hour)', 'rate(4 hours)', 60],
  ])('%s -> %s', (from, to, interval) => {
    expect(slowedScheduleExpression(from, 'UTC', 4, NOW)).toEqual({ expression: to, intervalMinutes: interval, slowedIntervalMinutes: interval * 4 });
  });

  it('cannot slow a one-off', () => {
    expect(slowedScheduleExpression('at(2026-03-03T00:00:00)', 'UTC', 4, NOW)).toBeNull();
  });

  it('rejects a factor that does not slow', () => {
    expect(() => slowedScheduleExpression('rate(5 minutes)', 'UTC', 1, NOW)).toThrow(/factor/);
  });
});

describe('the slowed marker in a schedule description', () => {
  it('round-trips the original and is removed on restore', () => {
    const marked = markSlowed('youtube_worker.trending: trending', 'a-1', 'cron(0/30 * * * ? *)', '2026-03-02T08:00:00.000Z');
    expect(slowedBy(marked)).toEqual({ alertId: 'a-1', originalExpression: 'cron(0/30 * * * ? *)', until: '2026-03-02T08:00:00.000Z' });
    expect(unmarkSlowed(marked)).toBe('youtube_worker.trending: trending');
    expect(slowedBy('plain')).toBeNull();
    expect(markSlowed('x'.repeat(600), 'a', 'rate(1 hour)', 'z').length).toBeLessThanOrEqual(512);
  });
});

describe('quotaResetAtMs (midnight America/Los_Angeles)', () => {
  it.each([
    ['2026-03-02T04:00:00.000Z', '2026-03-02T08:00:00.000Z'], // PST
    ['2026-03-02T08:00:00.000Z', '2026-03-03T08:00:00.000Z'], // exactly at the reset: the next one
    ['2026-07-01T12:00:00.000Z', '2026-07-02T07:00:00.000Z'], // PDT
    ['2026-03-08T09:00:00.000Z', '2026-03-09T07:00:00.000Z'], // the DST switch day
  ])('after %s -> %s', (now, reset) => {
    expect(new Date(quotaResetAtMs(Date.parse(now))).toISOString()).toBe(reset);
  });
});

describe('restartPlan (RECOVERY_BOUNDS.restartsPerHourMax = 1)', () => {
  const at = (startMs: number, count: number) => ({ [RESTART_ATTRS.windowStartMs]: startMs, [RESTART_ATTRS.count]: count });
  it.each([
    ['no restart yet', undefined, true],
    ['one restart 10 minutes ago', at(NOW - 10 * 60_000, 1), false],
    ['one restart 61 minutes ago', at(NOW - 61 * 60_000, 1), true],
    ['exactly an hour ago', at(NOW - 60 * 60_000, 1), true],
  ] as const)('%s -> allowed %s', (_name, raw, allowed) => {
    const plan = restartPlan(raw, NOW);
    expect(plan.allowed).toBe(allowed);
    // The write's condition holds on the item it was planned from: the budget is enforced by the store.
    if (plan.allowed) expect(evaluateStateCondition(plan.write.condition, raw)).toBe(true);
  });

  it('under a larger budget, counts within the window, conditioned on the window and count', () => {
    const raw = at(NOW - 5 * 60_000, 1);
    const plan = restartPlan(raw, NOW, 2);
    expect(plan.allowed).toBe(true);
    if (!plan.allowed) return;
    expect(plan.write.add).toEqual({ [RESTART_ATTRS.count]: 1 });
    expect(evaluateStateCondition(plan.write.condition, at(NOW - 5 * 60_000, 2))).toBe(false);
  });
});

describe('bounded raises', () => {
  const youtube = workerById('youtube_worker');
  const trending = jobOf('youtube_worker', 'trending');
  const state = (raw: Record<string, unknown>) => parseWorkerState(raw);

  it.each<[string, Record<string, unknown>, object]>([
    // trending: 300 s budget - 30 s reserve = 270 s; bound 270 x 1.5 = 405 s.
    ['from the registry step', {}, { kind: 'raise', fromSeconds: 270, toSeconds: 338 }],
    ['from an earlier raise', { stepTimeoutOverrideSeconds_trending: 338 }, { kind: 'raise', fromSeconds: 338, toSeconds: 405 }],
    ['at the bound', { stepTimeoutOverrideSeconds_trending: 405 }, { kind: 'at-bound', currentSeconds: 405 }],
    ['another job\'s raise does not count', { stepTimeoutOverrideSeconds_games: 405 }, { kind: 'raise', fromSeconds: 270, toSeconds: 338 }],
  ])('SLOW_EXECUTION raises the job\'s step timeout by a quarter within its bound: %s', (_name, raw, expected) => {
    const change = raisedStepTimeout(youtube, trending, state(raw));
    expect(change).toMatchObject(expected);
    if (change.kind === 'raise') {
      // The write holds only on the value read (no compounding), and sets the job's own attribute.
      expect(change.write.set).toEqual({ stepTimeoutOverrideSeconds_trending: change.toSeconds });
      expect(evaluateStateCondition(change.write.condition, raw)).toBe(true);
      expect(evaluateStateCondition(change.write.condition, { ...raw, stepTimeoutOverrideSeconds_trending: 300 })).toBe(false);
    }
  });

  it('a fan-out job keeps its item timeout: the recovery recommends', () => {
    const recap = workerById('clip_radar_recap_worker');
    const change = raisedStepTimeout(recap, jobOf('clip_radar_recap_worker', 'recap'), state({}));
    expect(change).toMatchObject({ kind: 'at-bound', currentSeconds: 600 });
    expect(change.kind === 'at-bound' ? change.recommendation : '').toMatch(/fans out/);
  });

  it.each([
    ['no override: 360 -> 450', {}, { kind: 'raise', toSeconds: 450 }],
    ['at 2x (720)', { leaseSecondsOverride: 720 }, { kind: 'at-bound' }],
  ])('lease: %s', (_n, raw, expected) => {
    expect(extendedLease(youtube, state(raw))).toMatchObject(expected);
  });

  it('the override write is conditioned on the value read (no compounding race)', () => {
    const change = extendedLease(youtube, state({ leaseSecondsOverride: 450 }));
    if (change.kind !== 'raise') throw new Error('expected a raise');
    expect(evaluateStateCondition(change.write.condition, { leaseSecondsOverride: 450 })).toBe(true);
    expect(evaluateStateCondition(change.write.condition, { leaseSecondsOverride: 563 })).toBe(false);
  });
});

describe('scaledConcurrency', () => {
  it.each([
    [null, null],
    [2, 4],
    [30, 50],
    [50, null],
  ])('%s -> %s', (from, to) => expect(scaledConcurrency(from)).toBe(to));
});

const firstJob = (w: WorkerSpec): JobSpec => {
  const [job] = w.jobs;
  if (!job) throw new Error(`${w.id} has no job`);
  return job;
};

describe('recovery targets: the job consumed, and only when it is stale', () => {
  const NOW = Date.parse('2026-03-02T04:10:00.000Z');
  const MIN = 60_000;
  const st = (raw: Record<string, unknown>) => parseWorkerState(raw);
  const creator = workerById('creator_intel_worker');
  const playbook = workerById('playbook_worker');
  const cycle = workerById('intel_orchestrator');
  const youtube = workerById('youtube_worker');
  // games failed for 20 minutes: its last success is 4 h old; trending succeeded a minute ago; twitch streams is fresh.
  const gamesFailing = {
    youtube_worker: st({ freshAtMs_games: NOW - 250 * MIN, freshAtMs_trending: NOW - MIN, lastStatus: 'SUCCEEDED' }),
    twitch_streams_worker: st({ freshAtMs_poll: NOW - 5 * MIN }),
  };

  it('STALE_DATA on creator intel refreshes youtube games, not trending; a worker with no data dependency refreshes its own job', () => {
    expect(staleDataTargets(creator, firstJob(creator), gamesFailing, NOW)).toMatchObject([{ worker: 'youtube_worker', job: 'games', optional: false }]);
    expect(staleDataTargets(youtube, firstJob(youtube), gamesFailing, NOW)).toMatchObject([{ worker: 'youtube_worker', job: 'trending' }]);
    // Fresh again: nothing to refresh.
    expect(staleUpstreams(creator, firstJob(creator), { youtube_worker: st({ freshAtMs_games: NOW - MIN }) }, NOW)).toEqual([]);
  });

  it('DEPENDENCY_FAILURE on playbook retries games only (twitch streams had not failed), then runs playbook and every other job games blocks', () => {
    expect(dependencyRecoveryPlan(playbook, firstJob(playbook), ALL_WORKERS, gamesFailing, NOW)).toEqual({
      upstream: [expect.objectContaining({ worker: 'youtube_worker', job: 'games' })],
      dependents: [
        { worker: 'playbook_worker', job: 'synthesize' },
        { worker: 'creator_intel_worker', job: 'analyze' },
      ],
    });
  });

  it('DEPENDENCY_FAILURE on creator intel runs it first, then playbook, which the same games failure blocks', () => {
    expect(dependencyRecoveryPlan(creator, firstJob(creator), ALL_WORKERS, gamesFailing, NOW).dependents).toEqual([
      { worker: 'creator_intel_worker', job: 'analyze' },
      { worker: 'playbook_worker', job: 'synthesize' },
    ]);
  });

  it('DEPENDENCY_FAILURE on the intel cycle retries its failed stage, then runs the blocked stages in order', () => {
    expect(dependencyRecoveryPlan(cycle, firstJob(cycle), ALL_WORKERS, gamesFailing, NOW)).toEqual({
      upstream: [expect.objectContaining({ worker: 'youtube_worker', job: 'games' })],
      dependents: [
        { worker: 'creator_intel_worker', job: 'analyze' },
        { worker: 'playbook_worker', job: 'synthesize' },
      ],
    });
  });

  it('DEPENDENCY_FAILURE keyed on the upstream job itself retries it and runs the jobs its failure blocks', () => {
    const plan = dependencyRecoveryPlan(youtube, jobOf('youtube_worker', 'games'), ALL_WORKERS, gamesFailing, NOW);
    expect(plan.upstream).toMatchObject([{ worker: 'youtube_worker', job: 'games' }]);
    expect(plan.dependents).toEqual([
      { worker: 'creator_intel_worker', job: 'analyze' },
      { worker: 'playbook_worker', job: 'synthesize' },
    ]);
  });

  it('an optional dependency is listed as optional (skipped, not retried)', () => {
    const soft: WorkerSpec = { ...playbook, dependencies: playbook.dependencies.map((d) => ({ ...d, kind: 'optional' as const })) };
    expect(dependencyRecoveryPlan(soft, firstJob(soft), ALL_WORKERS, gamesFailing, NOW).upstream).toMatchObject([{ job: 'games', optional: true }]);
  });

  it('a stage runs at its cycle\'s next slot; a scheduled job at its own; an on-demand job never', () => {
    expect(nextRunAtMs(creator, firstJob(creator), NOW, ALL_WORKERS)).toBe(Date.parse('2026-03-02T08:00:00.000Z'));
    expect(nextRunAtMs(youtube, firstJob(youtube), NOW, ALL_WORKERS)).toBe(Date.parse('2026-03-02T04:30:00.000Z'));
    expect(nextRunAtMs(workerById('generation_worker'), jobOf('generation_worker', 'generate'), NOW, ALL_WORKERS)).toBeNull();
  });
});

describe('DEPENDENCY_FAILURE backoff: retry until SUCCEEDED, within a bound', () => {
  it('waits 60, 120, 240, 480, then 600 s, up to 8 retries (55 min in all)', () => {
    expect(RECOVERY_BOUNDS.upstreamRetriesMax).toBe(8);
    const ladder = Array.from({ length: RECOVERY_BOUNDS.upstreamRetriesMax }, (_, i) => upstreamRetryDelaySeconds(i + 1));
    expect(ladder).toEqual([60, 120, 240, 480, 600, 600, 600, 600]);
    expect(upstreamRetryBoundSeconds()).toBe(3300);
  });

  it('has no retry 0 nor past the bound (the recovery then fails)', () => {
    expect(upstreamRetryDelaySeconds(0)).toBeNull();
    expect(upstreamRetryDelaySeconds(RECOVERY_BOUNDS.upstreamRetriesMax + 1)).toBeNull();
    expect(upstreamRetryDelaySeconds(1.5)).toBeNull();
    expect(upstreamRetryDelaySeconds(3, 2)).toBeNull();
    expect(upstreamRetryBoundSeconds(2)).toBe(180);
  });
});

describe('a run counts as recovered only when it recorded SUCCEEDED', () => {
  it.each<[string, unknown, string | null]>([
    ['SUCCEEDED', { record: { status: 'SUCCEEDED' } }, null],
    ['SKIPPED for a held lock', { record: { status: 'SKIPPED', skipReason: 'LOCK_HELD' } }, 'the run ended SKIPPED (LOCK_HELD), not SUCCEEDED'],
    ['PARTIAL', { record: { status: 'PARTIAL' } }, 'the run ended PARTIAL, not SUCCEEDED'],
    ['a duplicate delivery (no record)', { gate: { decision: 'DUPLICATE' } }, 'the run recorded no run (a duplicate slot delivery)'],
  ])('%s', (_name, output, why) => {
    expect(runNotRecovered('the run', output, null)).toBe(why);
  });
  it('a failed child fails it, whatever its output', () => {
    expect(runNotRecovered('the run', undefined, { Error: 'States.TaskFailed' })).toBe('the run failed: States.TaskFailed');
    expect(recordedStatus('nonsense')).toBeNull();
  });
});

describe('recoveryExecutionName', () => {
  it('is deterministic, valid and at most 80 characters', () => {
    const a = recoveryExecutionName('alert#1', 'restart', 'intel_aggregation_worker', 'daily_rollup_with_a_long_name');
    expect(a).toBe(recoveryExecutionName('alert#1', 'restart', 'intel_aggregation_worker', 'daily_rollup_with_a_long_name'));
    expect(a).not.toBe(recoveryExecutionName('alert#2', 'restart', 'intel_aggregation_worker', 'daily_rollup_with_a_long_name'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});
