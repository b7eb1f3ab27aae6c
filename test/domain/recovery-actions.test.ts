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
  upstreamTargets,
} from '../../lib/domain/recovery-actions.js';
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

  it('recommends instead of raising the step timeout: the step already has the whole budget less the protocol reserve', () => {
    // Prepare / Act
    const change = raisedStepTimeout(youtube, trending, state({}));
    // Assess: 300 s budget - 30 s reserve = 270 s; nothing is written.
    expect(change).toMatchObject({ kind: 'at-bound', currentSeconds: 270 });
    expect(change.kind === 'at-bound' ? change.recommendation : '').toMatch(/300 s design budget/);
    expect(change).not.toHaveProperty('write');
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

describe('upstreamTargets', () => {
  const lookup = (id: string) => workerById(id);
  it('STALE_DATA: data dependencies, or the worker itself without any', () => {
    const creator = workerById('creator_intel_worker');
    expect(upstreamTargets(creator, firstJob(creator), lookup, true)).toEqual([{ worker: 'youtube_worker', job: 'trending', optional: false, relation: 'data' }]);
    const youtube = workerById('youtube_worker');
    expect(upstreamTargets(youtube, firstJob(youtube), lookup, true)).toEqual([{ worker: 'youtube_worker', job: 'trending', optional: false, relation: 'data' }]);
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
