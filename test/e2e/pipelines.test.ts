/**
 * The synthesized pipelines, run locally: the template's own state machines in
 * aws-local-stepfunctions, the real protocol Lambda against embedded DynamoDB. Workers are test
 * doubles at the Lambda boundary, scripted per test.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from '../../local/runtime.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
let template: CfnTemplate;
let rt: LocalRuntime;
let clock: SimulatedClock;
/** Per test: what each worker does. */
let script: Record<string, LambdaHandler> = {};
let calls: Record<string, unknown[]> = {};

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const workers = new Proxy(
  {},
  {
    get: (_t, workerId: string) => async (event: unknown) => {
      (calls[workerId] ??= []).push(event);
      const fn = script[workerId];
      if (!fn) throw new NamedError('ConfigurationError', `test did not script ${workerId}`);
      return fn(event);
    },
  },
) as Record<string, LambdaHandler>;

beforeAll(async () => {
  template = synthesizeTemplate();
});

beforeEach(async () => {
  clock = new SimulatedClock(T0);
  script = {};
  calls = {};
  rt = await startLocalRuntime({ clock, template, workerHandlers: workers });
});

afterAll(async () => {
  await rt?.close();
});

const doc = () => documentClient(rt.dynamo.client);

async function reports(workerId: string): Promise<Record<string, unknown>[]> {
  const out = await doc().send(new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': `WORKER#${workerId}`, ':r': 'REPORT#' } }));
  return (out.Items ?? []) as Record<string, unknown>[];
}

async function stateOf(workerId: string): Promise<Record<string, unknown> | undefined> {
  const out = await doc().send(new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND sk = :s', ExpressionAttributeValues: { ':pk': `WORKER#${workerId}`, ':s': 'STATE' } }));
  return out.Items?.[0] as Record<string, unknown> | undefined;
}

const scheduled = (time = '2026-03-02T04:00:00Z') => ({ scheduledTime: time, trigger: 'schedule' });
const ok = (metrics: Record<string, number> = {}) => async (event: unknown) => workerResult(event, metrics);

function transitions(executionArn: string): number {
  return rt.runner.history(executionArn).filter((e) => (e as { type: string }).type === 'StateEntered').length;
}

describe('a simple scheduled run', () => {
  it('succeeds: one SUCCEEDED report, lock released, circuit closed, freshness marked, within the transition and write budgets', async () => {
    script['coach_cleanup_worker'] = ok({ sessions_cleaned: 3, sessions_skipped: 1, duration_ms: 40 });
    const exec = rt.start('coach_cleanup_worker', 'cleanup', scheduled('2026-03-02T04:00:00Z'));
    const outcome = await exec.result;
    expect(outcome.status).toBe('SUCCEEDED');
    const [report, ...more] = await reports('coach_cleanup_worker');
    expect(more).toHaveLength(0);
    expect(report).toMatchObject({ status: 'SUCCEEDED', scheduledTime: '2026-03-02T04:00:00.000Z', attempts: 1, lockFence: 1 });
    const state = await stateOf('coach_cleanup_worker');
    // The cleanup job's lock was taken (fence 1) and released.
    expect(state).toMatchObject({ lockFence_cleanup: 1, lockExpiresAtMs_cleanup: 0 });
    expect(state?.['lockHolder_cleanup']).toBeUndefined();
    expect(state?.['circuit_cleanup']).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0 });
    // The simulated clock flows at real speed within a slot: fresh as of this run.
    expect(state?.['freshAtMs_cleanup']).toBeGreaterThanOrEqual(T0);
    expect(state?.['freshAtMs_cleanup']).toBeLessThan(T0 + 60_000);
    // The AWS bill: at most 8 transitions and 4 DynamoDB writes per simple run.
    expect(transitions(exec.executionArn)).toBeLessThanOrEqual(8);
    const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].reduce((n, c) => n + (rt.counts.dynamodb[c] ?? 0), 0);
    expect(writes).toBeLessThanOrEqual(4);
  });

  it('retries a transient failure and then succeeds, counting the attempts', async () => {
    let n = 0;
    script['coach_cleanup_worker'] = async (event) => {
      n += 1;
      if (n === 1) throw new NamedError('TransientUpstreamError', 'upstream 503');
      return workerResult(event, { sessions_cleaned: 1, sessions_skipped: 0, duration_ms: 5 });
    };
    const outcome = await rt.start('coach_cleanup_worker', 'cleanup', scheduled()).result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect(n).toBe(2);
    const [report] = await reports('coach_cleanup_worker');
    expect(report).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  it('records a permanent failure as FAILED without retrying: lock released, circuit counts it, the execution fails', async () => {
    script['coach_cleanup_worker'] = async () => {
      throw new NamedError('UpstreamRejectedError', 'HTTP 401');
    };
    const outcome = await rt.start('coach_cleanup_worker', 'cleanup', scheduled()).result;
    expect(outcome.status).toBe('FAILED');
    expect(calls['coach_cleanup_worker']).toHaveLength(1);
    const [report] = await reports('coach_cleanup_worker');
    expect(report).toMatchObject({ status: 'FAILED', error: { name: 'UpstreamRejectedError' } });
    const state = await stateOf('coach_cleanup_worker');
    expect(state).toMatchObject({ lockFence_cleanup: 1, lockExpiresAtMs_cleanup: 0 });
    expect(state?.['lockHolder_cleanup']).toBeUndefined();
    expect(state?.['circuit_cleanup']).toMatchObject({ state: 'CLOSED', consecutiveFailures: 1 });
  });

  it('records a crash (the Lambda timed out) as CRASHED with WORKER_CRASH, and releases the lock', async () => {
    script['coach_cleanup_worker'] = async () => {
      throw new NamedError('Sandbox.Timedout', 'Task timed out after 270.00 seconds');
    };
    const outcome = await rt.start('coach_cleanup_worker', 'cleanup', scheduled()).result;
    expect(outcome.status).toBe('FAILED');
    const [report] = await reports('coach_cleanup_worker');
    expect(report).toMatchObject({ status: 'CRASHED' });
    expect(report?.['anomalies']).toContain('WORKER_CRASH');
    const state = await stateOf('coach_cleanup_worker');
    expect(state).toMatchObject({ lockFence_cleanup: 1, lockExpiresAtMs_cleanup: 0 });
    expect(state?.['lockHolder_cleanup']).toBeUndefined();
  });

  it('skips with a report while the circuit is OPEN', async () => {
    await doc().send(new PutCommand({ TableName: rt.tableName, Item: { pk: 'WORKER#coach_cleanup_worker', sk: 'STATE', circuit_cleanup: { state: 'OPEN', consecutiveFailures: 0, changedAtMs: T0 - 60_000, probesAdmitted: 0, halfOpenSuccesses: 0 } } }));
    script['coach_cleanup_worker'] = ok();
    const outcome = await rt.start('coach_cleanup_worker', 'cleanup', scheduled()).result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect(calls['coach_cleanup_worker']).toBeUndefined();
    const [report] = await reports('coach_cleanup_worker');
    expect(report).toMatchObject({ status: 'SKIPPED', skipReason: 'CIRCUIT_OPEN', scores: null });
  });

  it('skips with SKIP_DUE_TO_LOCK when another run holds the lock, and counts the contention', async () => {
    await doc().send(new PutCommand({ TableName: rt.tableName, Item: { pk: 'WORKER#coach_cleanup_worker', sk: 'STATE', lockHolder_cleanup: 'someone-else', lockFence_cleanup: 7, lockExpiresAtMs_cleanup: T0 + 600_000 } }));
    script['coach_cleanup_worker'] = ok();
    await rt.start('coach_cleanup_worker', 'cleanup', scheduled()).result;
    expect(calls['coach_cleanup_worker']).toBeUndefined();
    const [report] = await reports('coach_cleanup_worker');
    expect(report).toMatchObject({ status: 'SKIPPED', skipReason: 'LOCK_HELD' });
    expect(report?.['anomalies']).toContain('SKIP_DUE_TO_LOCK');
    const window = await doc().send(new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :w)', ExpressionAttributeValues: { ':pk': 'WORKER#coach_cleanup_worker', ':w': 'WINDOW#' } }));
    expect(window.Items?.[0]).toMatchObject({ lockFailures: 1, skips: 1 });
    expect((await stateOf('coach_cleanup_worker'))?.['lockHolder_cleanup']).toBe('someone-else');
  });

  it('runs a slot once when the Scheduler delivers it twice', async () => {
    script['coach_cleanup_worker'] = ok();
    const first = await rt.start('coach_cleanup_worker', 'cleanup', scheduled('2026-03-02T04:00:00Z')).result;
    const second = await rt.start('coach_cleanup_worker', 'cleanup', scheduled('2026-03-02T04:00:00Z')).result;
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(calls['coach_cleanup_worker']).toHaveLength(1);
    expect(await reports('coach_cleanup_worker')).toHaveLength(1);
  });
});

describe('fan-out', () => {
  it('runs one Lambda per item and reduces a failing item into a PARTIAL report', async () => {
    script['thumbnail_intel_worker'] = async (event) => {
      const e = event as { phase: string; item?: string };
      if (e.phase === 'plan') return { items: ['gaming', 'music', 'sports'] };
      if (e.item === 'music') throw new NamedError('UpstreamRejectedError', 'thumbnail 404');
      return workerResult(event, { categories_analyzed: 1, thumbnails_processed: 10, duration_ms: 100, peak_memory_mb: 300 });
    };
    const outcome = await rt.start('thumbnail_intel_worker', 'analyze', scheduled('2026-03-02T11:00:00Z')).result;
    expect(outcome.status).toBe('SUCCEEDED');
    const items = (calls['thumbnail_intel_worker'] ?? []).filter((c) => (c as { phase: string }).phase === 'item');
    expect(items).toHaveLength(3);
    const [report] = await reports('thumbnail_intel_worker');
    expect(report).toMatchObject({ status: 'PARTIAL' });
    expect(report?.['anomalies']).toContain('PARTIAL_SUCCESS');
    expect(report?.['metrics']).toMatchObject({ thumbnails_processed: 20 });
  });
});

describe('the intel cycle (nested .sync:2 pipelines)', () => {
  const CYCLE_SLOT = '2026-03-02T04:00:00Z';
  const intel = (event: unknown) => {
    const e = event as { phase: string };
    if (e.phase === 'plan') return { items: ['g1', 'g2'] };
    return workerResult(event, { games_processed: 1, analyzers_succeeded: 3, duration_ms: 50 });
  };

  /** Freshness is kept per job: `freshAtMs_<job>` of the job a dependent consumes. */
  async function markFresh(workerId: string, job: string, freshAtMs: number): Promise<void> {
    await doc().send(new PutCommand({ TableName: rt.tableName, Item: { pk: `WORKER#${workerId}`, sk: 'STATE', [`freshAtMs_${job}`]: freshAtMs, lastStatus: 'SUCCEEDED' } }));
  }

  it('runs YouTube games, then creator intel, then playbook, and records the cycle', async () => {
    await markFresh('twitch_streams_worker', 'poll', T0 - 60_000);
    script['youtube_worker'] = ok({ categories_fetched: 5, quota_used: 5, cache_freshness_seconds: 0 });
    script['creator_intel_worker'] = async (e) => intel(e);
    script['playbook_worker'] = ok({ report_generated: 1, data_freshness_seconds: 60, duration_ms: 30 });
    const outcome = await rt.start('intel_orchestrator', 'cycle', scheduled(CYCLE_SLOT)).result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect((await reports('youtube_worker'))[0]).toMatchObject({ status: 'SUCCEEDED', jobId: 'games' });
    expect((await reports('creator_intel_worker'))[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect((await reports('playbook_worker'))[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect((await reports('intel_orchestrator'))[0]).toMatchObject({ status: 'SUCCEEDED', metrics: { stages_succeeded: 3, stages_skipped: 0 } });
    // Twitch data was fresh: no refresh.
    expect(calls['twitch_streams_worker']).toBeUndefined();
  });

  it('does not run creator intel or playbook when YouTube fails, and records DEPENDENCY_FAILURE for them', async () => {
    script['youtube_worker'] = async () => {
      throw new NamedError('QuotaExhaustedError', 'quotaExceeded');
    };
    const outcome = await rt.start('intel_orchestrator', 'cycle', scheduled(CYCLE_SLOT)).result;
    expect(outcome.status).toBe('FAILED');
    expect(calls['creator_intel_worker']).toBeUndefined();
    expect(calls['playbook_worker']).toBeUndefined();
    for (const skipped of ['creator_intel_worker', 'playbook_worker']) {
      const [report] = await reports(skipped);
      expect(report, skipped).toMatchObject({ status: 'SKIPPED', skipReason: 'DEPENDENCY_FAILED' });
      expect(report?.['anomalies']).toContain('DEPENDENCY_FAILURE');
    }
    expect((await reports('intel_orchestrator'))[0]).toMatchObject({ status: 'FAILED', error: { name: 'StageFailed' } });
  });

  it('refreshes stale Twitch data before playbook, then runs playbook', async () => {
    await markFresh('twitch_streams_worker', 'poll', T0 - 3 * 3_600_000);
    script['youtube_worker'] = ok({ categories_fetched: 5, quota_used: 5, cache_freshness_seconds: 0 });
    script['creator_intel_worker'] = async (e) => intel(e);
    script['twitch_streams_worker'] = ok({ games_fetched: 10, total_streams: 200, total_viewers: 9000 });
    let twitchCallsBeforePlaybook = -1;
    script['playbook_worker'] = async (e) => {
      twitchCallsBeforePlaybook = calls['twitch_streams_worker']?.length ?? 0;
      return workerResult(e, { report_generated: 1, data_freshness_seconds: 1, duration_ms: 30 });
    };
    const outcome = await rt.start('intel_orchestrator', 'cycle', scheduled(CYCLE_SLOT)).result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect(twitchCallsBeforePlaybook).toBe(1);
    expect((await reports('twitch_streams_worker'))[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect((await reports('playbook_worker'))[0]).toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('hourly aggregation waits for creator intel', () => {
  it('waits, bounded, while creator intel holds its lock, then skips with SKIP_DUE_TO_LOCK', async () => {
    await doc().send(new PutCommand({ TableName: rt.tableName, Item: { pk: 'WORKER#creator_intel_worker', sk: 'STATE', lockHolder_analyze: 'intel-run', lockFence_analyze: 3, lockExpiresAtMs_analyze: T0 + 3_600_000 } }));
    script['intel_aggregation_worker'] = ok({ categories_aggregated: 4, duration_ms: 10 });
    const exec = rt.start('intel_aggregation_worker', 'hourly', scheduled('2026-03-02T04:05:00Z'));
    const outcome = await exec.result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect(calls['intel_aggregation_worker']).toBeUndefined();
    const waits = rt.runner.history(exec.executionArn).filter((e) => (e as { type: string; state?: { name?: string } }).type === 'StateEntered' && (e as { state?: { name?: string } }).state?.name === 'WaitForDependency');
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect((await reports('intel_aggregation_worker'))[0]).toMatchObject({ status: 'SKIPPED', skipReason: 'LOCK_HELD' });
  });

  it('runs once creator intel is done', async () => {
    script['intel_aggregation_worker'] = ok({ categories_aggregated: 4, duration_ms: 10 });
    const outcome = await rt.start('intel_aggregation_worker', 'hourly', scheduled('2026-03-02T04:05:00Z')).result;
    expect(outcome.status).toBe('SUCCEEDED');
    expect((await reports('intel_aggregation_worker'))[0]).toMatchObject({ status: 'SUCCEEDED' });
  });
});
