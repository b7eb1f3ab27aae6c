import { describe, expect, it } from 'vitest';
import { ENDED_LOOKBACK_MINUTES, ENDED_START_SLACK_SECONDS, endedWindow, healthSk, lastDueSlotMs, levelFindings, MEMORY_METRIC, missedRuns, QUOTA_METRIC, readsLatestReport, stuckExecutions, sweep, type SweepFacts } from '../../lib/domain/health-sweep.js';
import { CRASH_ERROR_NAMES, isCrashError } from '../../lib/domain/errors.js';
import { slotAttr } from '../../lib/domain/lock.js';
import { parseWorkerState, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import { jobOf, workerById, WORKERS } from '../../lib/registry/index.js';

const youtube = workerById('youtube_worker');
const at = (iso: string) => Date.parse(iso);
const state = (raw: Record<string, unknown>): WorkerStateItem => parseWorkerState(raw);
const facts = (over: Partial<SweepFacts>): SweepFacts => ({ nowMs: at('2026-03-02T04:20:00.000Z'), workers: [youtube], states: {}, latestReports: {}, queueDepths: {}, running: [], ...over });

describe('missed runs (dead man\'s switch), youtube trending every 30 min, 10 min grace', () => {
  it.each([
    ['slot 04:00 claimed', '2026-03-02T04:20:00.000Z', '2026-03-02T04:00:00.000Z', false],
    ['slot 04:00 not claimed (last 03:30), 20 min later', '2026-03-02T04:20:00.000Z', '2026-03-02T03:30:00.000Z', true],
    ['slot 04:00 not claimed, still within grace (04:05)', '2026-03-02T04:05:00.000Z', '2026-03-02T03:30:00.000Z', false],
    ['slot 04:00 not claimed, exactly at grace end (04:10)', '2026-03-02T04:10:00.000Z', '2026-03-02T03:30:00.000Z', true],
    ['never claimed', '2026-03-02T04:20:00.000Z', null, true],
  ] as const)('%s -> missed %s', (_n, now, claimed, missed) => {
    const raw = claimed === null ? {} : { [slotAttr('trending')]: claimed, [slotAttr('games')]: '2026-03-02T05:00:00.000Z' };
    const found = missedRuns(facts({ nowMs: at(now), states: { youtube_worker: state(raw) } })).filter((f) => f.job === 'trending');
    expect(found.length > 0).toBe(missed);
    if (missed) expect(found[0]).toMatchObject({ kind: 'MISSED_RUN', anomaly: 'WORKER_CRASH', scheduledTime: '2026-03-02T04:00:00.000Z', window: '2026-03-02T04:00:00.000Z' });
  });

  it('a slot before the time a recovery slowed the schedules until is not missed; one after it is', () => {
    // The 04:00 slot went unclaimed (last 03:30) while the schedule ran slowed until 05:00.
    const slowed = (untilIso: string) => state({ [slotAttr('trending')]: '2026-03-02T03:30:00.000Z', [slotAttr('games')]: '2026-03-02T05:00:00.000Z', scheduleSlowedUntilMs: at(untilIso) });
    const trending = (s: WorkerStateItem) => missedRuns(facts({ states: { youtube_worker: s } })).filter((f) => f.job === 'trending');
    expect(trending(slowed('2026-03-02T05:00:00.000Z'))).toEqual([]);
    // Restored at 04:00: the 04:00 slot should have run.
    expect(trending(slowed('2026-03-02T04:00:00.000Z'))).toHaveLength(1);
  });

  it('the due slot accounts for bounded dependency waits', () => {
    const playbook = workerById('playbook_worker');
    for (const job of playbook.jobs) if (job.schedules.length > 0) expect(lastDueSlotMs(playbook, job, at('2026-03-02T04:20:00.000Z'))).not.toBeNull();
    expect(lastDueSlotMs(youtube, jobOf('youtube_worker', 'trending'), at('2026-03-02T04:09:00.000Z'))).toBe(at('2026-03-02T03:30:00.000Z'));
  });
});

describe('stuck executions', () => {
  const run = (startIso: string) => ({ worker: 'youtube_worker', job: 'trending', executionArn: 'arn:aws:states:r:1:execution:p:e1', startMs: at(startIso), scheduledTime: '2026-03-02T03:30:00.000Z' });
  it.each([
    ['4 min old (300 s timeout)', '2026-03-02T04:16:00.000Z', false],
    ['11 min old (past timeout + 5 min grace)', '2026-03-02T04:09:00.000Z', true],
  ])('%s -> stuck %s', (_n, start, stuck) => {
    const found = stuckExecutions(facts({ running: [run(start)] }));
    expect(found.length > 0).toBe(stuck);
    if (stuck) expect(found[0]).toMatchObject({ kind: 'STUCK_EXECUTION', executionArn: 'arn:aws:states:r:1:execution:p:e1' });
  });
});

describe('level findings', () => {
  const creator = workerById('creator_intel_worker');
  it.each([
    ['queue 1001 > 1000', { workers: [workerById('generation_worker')], queueDepths: { generation_worker: 1001 } }, 'QUEUE_OVERFLOW'],
    ['queue 1000 is fine', { workers: [workerById('generation_worker')], queueDepths: { generation_worker: 1000 } }, null],
    // games refreshes every 4 h (the intel cycle) in 300 s: stale for the sweep past 14 700 s, though creator intel needs it 1 h old at its run.
    ['youtube games data 2 h old: within its 4 h refresh cadence', { workers: [creator], states: { youtube_worker: state({ freshAtMs_games: at('2026-03-02T02:20:00.000Z') }) } }, null],
    ['youtube games data 5 h old for creator intel: a refresh is overdue', { workers: [creator], states: { youtube_worker: state({ freshAtMs_games: at('2026-03-01T23:20:00.000Z') }) } }, 'STALE_DATA'],
    ['youtube games data 10 min old', { workers: [creator], states: { youtube_worker: state({ freshAtMs_games: at('2026-03-02T04:10:00.000Z') }) } }, null],
    ['youtube games data 5 h old, trending 10 min old: still stale for creator intel', { workers: [creator], states: { youtube_worker: state({ freshAtMs_games: at('2026-03-01T23:20:00.000Z'), freshAtMs_trending: at('2026-03-02T04:10:00.000Z') }) } }, 'STALE_DATA'],
    ['quota 15% < 20%', { quotaRemainingPercent: { youtube_worker: 15 } }, 'API_QUOTA_LOW'],
    ['quota 25%', { quotaRemainingPercent: { youtube_worker: 25 } }, null],
    ['memory 95% > 90%', { memoryPercent: { youtube_worker: 95 } }, 'RESOURCE_EXHAUSTION'],
  ])('%s', (_n: string, over: unknown, kind: string | null) => {
    const found = levelFindings(facts(over as Partial<SweepFacts>));
    expect(found.map((f) => f.kind)).toEqual(kind === null ? [] : [kind]);
  });

  it('a failed intel cycle is a finding', () => {
    const intel = workerById('intel_orchestrator');
    const report = { workerName: 'intel_orchestrator', jobId: intel.jobs[0]?.id ?? 'cycle', status: 'FAILED', metrics: {} } as unknown as NonNullable<SweepFacts['latestReports'][string]>;
    expect(levelFindings(facts({ workers: [intel], latestReports: { intel_orchestrator: report } })).map((f) => f.kind)).toEqual(['INTEL_CYCLE_FAILED']);
  });
});

describe('dedup key', () => {
  it('one item per worker, kind, job and window', () => {
    const [f] = sweep(facts({ states: {} })).filter((x) => x.job === 'trending');
    expect(f && healthSk(f)).toBe('HEALTH#MISSED_RUN#trending#2026-03-02T04:00:00.000Z');
  });
});

describe('the look-back window of ended (TIMED_OUT, ABORTED) executions', () => {
  it('covers the last ENDED_LOOKBACK_MINUTES of stops, and starts as early as a run could have stopped inside it', () => {
    const now = at('2026-03-02T04:20:00.000Z');
    const trending = jobOf('youtube_worker', 'trending');
    const w = endedWindow(trending, now);
    expect(w.stoppedSinceMs).toBe(now - ENDED_LOOKBACK_MINUTES * 60_000);
    expect(w.stoppedSinceMs - w.startedSinceMs).toBe((trending.timeoutSeconds + 300 + ENDED_START_SLACK_SECONDS) * 1000);
    expect(endedWindow(undefined, now, 10).stoppedSinceMs).toBe(now - 600_000);
  });

  it('records them with crash errors: States.Timeout and States.Aborted make CRASHED reports', () => {
    expect(CRASH_ERROR_NAMES).toContain('States.Aborted');
    expect(isCrashError('States.Timeout')).toBe(true);
    expect(isCrashError('States.Aborted')).toBe(true);
    expect(isCrashError('States.TaskFailed')).toBe(false);
  });
});

describe('readsLatestReport', () => {
  it('reads the sub-pipeline and any worker declaring a quota or memory metric; in the registry today, only the intel cycle', () => {
    expect(WORKERS.filter(readsLatestReport).map((w) => w.id)).toEqual(['intel_orchestrator']);
    const cleanup = workerById('coach_cleanup_worker');
    expect(readsLatestReport(cleanup)).toBe(false);
    expect(readsLatestReport({ ...cleanup, scoreMetrics: [...cleanup.scoreMetrics, QUOTA_METRIC] })).toBe(true);
    expect(readsLatestReport({ ...cleanup, scoreMetrics: [...cleanup.scoreMetrics, MEMORY_METRIC] })).toBe(true);
  });
});
