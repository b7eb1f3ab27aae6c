import { PAGE_SUBJECT_PATTERN } from '../../lib/domain/alerting.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemoryQueueAdapter, InMemoryRecoveryStore, InMemoryScheduleAdapter, RecordingAlertPublisher, RecordingPipelineStarter } from '../../lambdas/recovery/in-memory.js';
import { makeHandler, RecoveryIncompleteError } from '../../lambdas/recovery/recover.js';
import { jsonMapEnv, pipelineArnOf, registryScheduleNamesOf } from '../../lambdas/recovery/config.js';
import { InvalidPayloadError } from '../../lib/domain/errors.js';
import { workerById } from '../../lib/registry/index.js';
import { STATE_SK, workerPk } from '../../lib/domain/worker-state.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const ARN = (w: string, j: string) => `arn:aws:states:us-east-1:111122223333:stateMachine:S-${w}-${j}`;

let now: number;
let store: InMemoryStateStore;
let recoveries: InMemoryRecoveryStore;
let starter: RecordingPipelineStarter;
let queues: InMemoryQueueAdapter;
let alerts: RecordingAlertPublisher;
let handler: (event: unknown) => Promise<unknown>;

beforeEach(() => {
  now = T0;
  store = new InMemoryStateStore();
  recoveries = new InMemoryRecoveryStore((w) => store.workerItem(w));
  starter = new RecordingPipelineStarter();
  queues = new InMemoryQueueAdapter(new Map([['generation_worker', 10]]));
  alerts = new RecordingAlertPublisher();
  handler = makeHandler({
    store,
    recoveries,
    schedules: new InMemoryScheduleAdapter(),
    pipelines: starter,
    queues,
    alerts,
    clock: () => now,
    pipelineArnOf: (w, j) => (w === 'generation_worker' ? undefined : ARN(w, j)),
    scheduleNamesOf: () => [],
    logger: { info: () => undefined, warn: () => undefined },
  });
});

const call = (step: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  handler({ step, executionId: 'arn:aws:states:us-east-1:111122223333:execution:R:x', state: { severity: 'HIGH', scheduledTime: null, actions: [], ...input, ...extra } });

describe('WORKER_CRASH restart', () => {
  const crash = (alertId: string) => ({ alertId, worker: 'youtube_worker', job: 'trending', anomaly: 'WORKER_CRASH' });

  it('claims the restart once per hour with a deterministic name; a retried step claims nothing twice', async () => {
    const first = await call('restart', crash('a1'));
    expect(first).toMatchObject({ start: true, input: { worker: 'youtube_worker', job: 'trending', trigger: 'recovery' } });
    expect(await call('restart', crash('a1'))).toEqual(first);

    now = T0 + 30 * 60_000;
    expect(await call('restart', crash('a2'))).toMatchObject({ start: false, reason: expect.stringMatching(/restart budget spent/) });
    now = T0 + 61 * 60_000;
    expect(await call('restart', crash('a3'))).toMatchObject({ start: true });
    expect(recoveries.actions('a2')['restart']).toMatchObject({ result: 'SKIPPED', action: 'RESTART_WORKER', why: expect.stringContaining('Restart worker, alert on-call') });
  });

  it('is SUCCEEDED only when the restarted run recorded SUCCEEDED; a SKIPPED run fails it; an on-demand job is not applicable', async () => {
    const plan = await call('restart', crash('v1'));
    expect(await call('verify-restart', crash('v1'), { restart: plan, restartRun: { status: 'SUCCEEDED', output: { record: { status: 'SUCCEEDED' } } } })).toMatchObject({ outcome: 'SUCCEEDED', verified: true, action: 'RESTART_WORKER', job: 'youtube_worker.trending' });
    await expect(call('verify-restart', crash('v1'), { restart: plan, restartRun: { status: 'SUCCEEDED', output: { record: { status: 'SKIPPED', skipReason: 'LOCK_HELD' } } } })).rejects.toThrow(/ended SKIPPED \(LOCK_HELD\), not SUCCEEDED/);
    const onDemand = { alertId: 'v2', worker: 'twitch_worker', job: 'pack', anomaly: 'WORKER_CRASH' };
    const none = await call('restart', onDemand);
    expect(none).toMatchObject({ start: false, reason: expect.stringMatching(/on demand/) });
    expect(await call('verify-restart', onDemand, { restart: none })).toMatchObject({ outcome: 'NOT_APPLICABLE', verified: false });
  });

  it('pages on-call', async () => {
    await call('page', crash('a1'));
    expect(alerts.pages[0]?.message).toMatchObject({ type: 'aurastream.recovery', worker: 'youtube_worker', anomaly: 'WORKER_CRASH' });
    expect(alerts.pages[0]?.subject).toBe('[AuraStream PAGE] HIGH WORKER_CRASH on youtube_worker: recovery under way');
    expect(alerts.pages[0]?.subject).toMatch(PAGE_SUBJECT_PATTERN);
  });
});

describe('QUEUE_OVERFLOW', () => {
  const overflow = { alertId: 'q1', worker: 'generation_worker', job: 'generate', anomaly: 'QUEUE_OVERFLOW' };
  it('doubles the consumers\' maximum concurrency and pauses intake', async () => {
    expect(await call('scale-consumers', overflow)).toMatchObject({ result: 'APPLIED' });
    expect(queues.concurrency.get('generation_worker')).toBe(20);
    expect(await call('pause-intake', overflow)).toMatchObject({ result: 'APPLIED' });
    expect(store.workerItem('generation_worker')?.['intakePausedUntilMs']).toBe(T0 + 15 * 60_000);
    expect(await call('pause-intake', overflow)).toMatchObject({ result: 'SKIPPED' });
  });
});

describe('SLOW_EXECUTION and LOCK_CONTENTION', () => {
  it('raises the job\'s step timeout within its bound, verified by reading it back; at the bound it is not applicable', async () => {
    const slow = (alertId: string) => ({ alertId, worker: 'youtube_worker', job: 'trending', anomaly: 'SLOW_EXECUTION' });
    expect(await call('raise-timeout', slow('s1'))).toMatchObject({ outcome: 'SUCCEEDED', verified: true, action: 'RAISE_TIMEOUT', reason: expect.stringContaining('270 s -> 338 s') });
    expect(store.workerItem('youtube_worker')?.['stepTimeoutOverrideSeconds_trending']).toBe(338);
    expect(await call('raise-timeout', slow('s2'))).toMatchObject({ outcome: 'SUCCEEDED', reason: expect.stringContaining('338 s -> 405 s') });
    expect(await call('raise-timeout', slow('s3'))).toMatchObject({ outcome: 'NOT_APPLICABLE', verified: false, reason: expect.stringMatching(/at its bound/) });
  });

  it('lengthens the lease, then checks that the next run acquired the lock', async () => {
    const contention = { alertId: 'l1', worker: 'youtube_worker', job: 'trending', anomaly: 'LOCK_CONTENTION' };
    const plan = await call('extend-lease', contention);
    // trending next runs at 04:30; the check is a minute after.
    expect(plan).toMatchObject({ raised: true, check: true, fenceAtRaise: 0, checkAt: '2026-03-02T04:31:00.000Z' });
    expect(store.workerItem('youtube_worker')?.['leaseSecondsOverride']).toBe(450);
    // Still held by a stuck run: not verified.
    store.put(workerPk('youtube_worker'), STATE_SK, { ...store.workerItem('youtube_worker'), lockHolder_trending: 'stuck', lockFence_trending: 0, lockExpiresAtMs_trending: T0 + 3_600_000 });
    await expect(call('verify-lease', contention, { lease: plan })).rejects.toThrow(/held by stuck/);
    // A later run took it (its fence moved on).
    store.put(workerPk('youtube_worker'), STATE_SK, { ...store.workerItem('youtube_worker'), lockHolder_trending: null, lockFence_trending: 1, lockExpiresAtMs_trending: 0 });
    expect(await call('verify-lease', contention, { lease: plan })).toMatchObject({ outcome: 'SUCCEEDED', verified: true, action: 'EXTEND_LEASE' });
  });
});

describe('STALE_DATA and DEPENDENCY_FAILURE', () => {
  it('refreshes the job whose data is stale: youtube games for creator intel, not trending', async () => {
    const job = workerById('creator_intel_worker').jobs[0]?.id ?? '';
    store.put(workerPk('youtube_worker'), STATE_SK, { freshAtMs_trending: T0 - 60_000, freshAtMs_games: T0 - 5 * 3_600_000 });
    const plan = (await call('refresh-upstream', { alertId: 'd1', worker: 'creator_intel_worker', job, anomaly: 'STALE_DATA' })) as { items: { worker: string; job: string }[] };
    expect(plan.items.map((i) => `${i.worker}.${i.job}`)).toEqual(['youtube_worker.games']);
  });

  it('retries a hard upstream until it SUCCEEDED (a SKIPPED run is "not yet"), each attempt with its own name and scheduled time, optional ones skipped', async () => {
    const input = { alertId: 'd2', worker: 'youtube_worker', job: 'trending', anomaly: 'DEPENDENCY_FAILURE' };
    const dependents = [{ worker: 'c', job: 'z', stateMachineArn: ARN('c', 'z'), name: 'dep', input: { worker: 'c', job: 'z', scheduledTime: new Date(T0).toISOString(), trigger: 'recovery' } }];
    const first = { items: [{ worker: 'a', job: 'x', optional: true, stateMachineArn: ARN('a', 'x'), name: 'n1' }, { worker: 'b', job: 'y', optional: false, stateMachineArn: ARN('b', 'y'), name: 'n2' }], targets: ['b.y'], dependents, attempt: 0 };
    const again = (await call('record-upstream', input, { upstream: first, upstreamResults: [{ result: 'SKIPPED' }, { result: 'FAILED', error: 'States.TaskFailed' }] })) as { items: { worker: string; name: string; input: { scheduledTime: string } }[]; retry: boolean; waitSeconds: number; attempt: number };
    expect(again).toMatchObject({ retry: true, waitSeconds: 60, attempt: 1, targets: ['b.y'] });
    // Only the hard one still failing, due after the backoff, under a new name.
    expect(again.items.map((i) => i.worker)).toEqual(['b']);
    expect(again.items[0]?.input.scheduledTime).toBe(new Date(T0 + 60_000).toISOString());
    expect(again.items[0]?.name).not.toBe('n2');
    expect(recoveries.actions('d2')['record-upstream']).toMatchObject({ result: 'APPLIED', detail: 'attempt 1: a.x: optional, skipped; b.y: the run of b.y failed: States.TaskFailed; retry 1 of 8 in 60 s' });

    // A SKIPPED run (a held lock) is not a success: retried again, after a longer wait, with another scheduled time.
    now = T0 + 60_000;
    const third = (await call('record-upstream', input, { upstream: again, upstreamResults: [{ result: 'RAN', output: { record: { status: 'SKIPPED', skipReason: 'LOCK_HELD' } } }] })) as typeof again;
    expect(third).toMatchObject({ retry: true, waitSeconds: 120, attempt: 2 });
    expect(third.items[0]?.input.scheduledTime).toBe(new Date(T0 + 180_000).toISOString());
    expect(new Set([first.items[1]?.name, again.items[0]?.name, third.items[0]?.name]).size).toBe(3);

    // SUCCEEDED: no more retries; the dependents run now.
    now = T0 + 180_000;
    const done = await call('record-upstream', input, { upstream: third, upstreamResults: [{ result: 'RAN', output: { record: { status: 'SUCCEEDED' } } }] });
    expect(done).toMatchObject({ retry: false, items: [], dependents: [{ worker: 'c', input: { scheduledTime: new Date(T0 + 180_000).toISOString() } }] });
    // The step's ACTION item is rewritten each attempt, and keeps every attempt: none is lost.
    expect((recoveries.actions('d2')['record-upstream'] as { changes: { history: { attempt: number; detail: string }[] } }).changes.history.map((h) => [h.attempt, h.detail])).toEqual([
      [1, 'attempt 1: a.x: optional, skipped; b.y: the run of b.y failed: States.TaskFailed'],
      [2, expect.stringMatching(/^attempt 2: b\.y: .*SKIPPED/)],
      [3, 'attempt 3: b.y: SUCCEEDED'],
    ]);
    expect(await call('verify-dependents', input, { upstream: done, dependentRuns: [{ result: 'RAN', output: { record: { status: 'SUCCEEDED' } } }] })).toMatchObject({ outcome: 'SUCCEEDED', verified: true, reason: 'b.y SUCCEEDED; then c.z ran and SUCCEEDED' });
  });

  it('fails the recovery once the bound of retries is spent', async () => {
    const input = { alertId: 'd3', worker: 'youtube_worker', job: 'trending', anomaly: 'DEPENDENCY_FAILURE' };
    const last = { items: [{ worker: 'b', job: 'y', optional: false, stateMachineArn: ARN('b', 'y'), name: 'n8' }], targets: ['b.y'], dependents: [], attempt: 8 };
    await expect(call('record-upstream', input, { upstream: last, upstreamResults: [{ result: 'FAILED', error: 'States.TaskFailed' }] })).rejects.toBeInstanceOf(RecoveryIncompleteError);
    expect(recoveries.actions('d3')['record-upstream']).toMatchObject({ result: 'FAILED', detail: 'attempt 9: b.y: the run of b.y failed: States.TaskFailed' });
  });
});

describe('payloads and configuration', () => {
  it('rejects a malformed call with InvalidPayloadError', async () => {
    await expect(handler({ step: 'restart', executionId: 'x', state: { worker: 'youtube_worker' } })).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(handler({ step: 'nope', executionId: 'x', state: {} })).rejects.toBeInstanceOf(InvalidPayloadError);
  });

  it('reads the JSON maps, and finds pipelines and schedules by the naming convention', () => {
    expect(jsonMapEnv('X', '{"generation_worker":"uuid-1"}')).toEqual({ generation_worker: 'uuid-1' });
    expect(() => jsonMapEnv('X', '[1]')).toThrow(/X must be a JSON object/);
    expect(jsonMapEnv('X', undefined)).toEqual({});
    const prefix = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AuraStreamOrchestrator-';
    const arnOf = pipelineArnOf(prefix);
    expect(arnOf('youtube_worker', 'trending')).toBe(`${prefix}youtube_worker-trending`);
    expect(arnOf('twitch_worker', 'pack')).toBe(`${prefix}twitch_worker-pack`);
    // No pipeline: an on-demand job without fan-out (it runs in the consumer), an unknown job or worker.
    const onDemand = workerById('generation_worker').jobs.find((j) => j.fanOut === undefined);
    expect(onDemand === undefined ? undefined : arnOf('generation_worker', onDemand.id)).toBeUndefined();
    expect(arnOf('youtube_worker', 'nope')).toBeUndefined();
    expect(arnOf('nope_worker', 'trending')).toBeUndefined();
    expect(registryScheduleNamesOf('youtube_worker')).toEqual(['youtube_worker.trending', 'youtube_worker.games']);
    expect(registryScheduleNamesOf('nope_worker')).toEqual([]);
  });
});

describe('API_QUOTA_LOW slows the schedules', () => {
  it('slows them until the quota reset and marks the worker STATE so the sweep does not count skipped slots as missed', async () => {
    const schedules = new InMemoryScheduleAdapter([{ name: 'trending', expression: 'cron(0/30 * * * ? *)', timezone: 'UTC', description: 'youtube_worker.trending' }]);
    const slowing = makeHandler({
      store,
      recoveries,
      schedules,
      pipelines: starter,
      queues,
      alerts,
      clock: () => now,
      pipelineArnOf: (w, j) => ARN(w, j),
      scheduleNamesOf: (w) => (w === 'youtube_worker' ? ['trending'] : []),
      logger: { info: () => undefined, warn: () => undefined },
    });
    const quota = { alertId: 'a1', worker: 'youtube_worker', job: 'trending', anomaly: 'API_QUOTA_LOW' };
    const result = (await slowing({ step: 'slow-schedule', executionId: 'arn:aws:states:us-east-1:111122223333:execution:R:q', state: { severity: 'HIGH', scheduledTime: null, actions: [], ...quota } })) as { resumeAt: string };
    // Midnight America/Los_Angeles after 04:00 UTC on 2026-03-02 (PST) is 08:00 UTC.
    expect(result.resumeAt).toBe('2026-03-02T08:00:00.000Z');
    expect((await schedules.get('trending')).expression).toBe('cron(0 0/2 * * ? *)');
    expect(store.workerItem('youtube_worker')?.['scheduleSlowedUntilMs']).toBe(Date.parse('2026-03-02T08:00:00.000Z'));
  });
});
