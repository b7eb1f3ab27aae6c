/**
 * The newer fault scenarios end to end on the local symphony: what each injects is detected, and
 * the recovery does what the design says.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { runSymphony, type SymphonyContext } from '../../local/symphony.js';
import { slowExecution } from '../../scenarios/slow-execution.js';
import { youtubeQuotaExhaustion } from '../../scenarios/youtube-quota-exhaustion.js';

const MINUTE_MS = 60_000;

/** Every recovery action record in the table (read before the runtime closes). */
async function recoveryActions({ runtime }: SymphonyContext): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient(runtime.dynamo.client).send(
      new ScanCommand({ TableName: runtime.tableName, FilterExpression: 'entity = :e', ExpressionAttributeValues: { ':e': 'RECOVERY_ACTION' }, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

describe('scenario youtube-quota-exhaustion', () => {
  it('reports API_QUOTA_LOW until the midnight-Pacific reset, slows the YouTube schedules 4x until then and restores them at the reset', async () => {
    // Midnight America/Los_Angeles is 08:00 UTC on this day (PST): the reset falls inside the run.
    const startMs = Date.parse('2026-03-02T07:00:00Z');
    const resetMs = Date.parse('2026-03-02T08:00:00Z');
    const result = await runSymphony({ startMs, hours: 1.5, seed: 5, prepare: (ctx) => youtubeQuotaExhaustion.prepare(ctx) });

    const trending = result.reports.filter((r) => r.workerName === 'youtube_worker' && r.jobId === 'trending');
    const before = trending.filter((r) => Date.parse(r.scheduledTime) < resetMs);
    const after = trending.filter((r) => Date.parse(r.scheduledTime) >= resetMs);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    for (const r of before) {
      expect(r.anomalies, r.scheduledTime).toContain('API_QUOTA_LOW');
      expect(Number(r.metrics['quota_used'])).toBeGreaterThan(0);
    }
    // A new Pacific day: the quota is whole again.
    for (const r of after) expect(r.anomalies, r.scheduledTime).not.toContain('API_QUOTA_LOW');

    // One incident: opened before the reset, resolved by the first run after it.
    const alerts = result.alerts.filter((a) => a.anomaly === 'API_QUOTA_LOW');
    const opened = alerts.filter((a) => a.transition === 'OPENED');
    expect(opened).toHaveLength(1);
    expect(alerts.every((a) => a.worker === 'youtube_worker' && a.severity === 'HIGH')).toBe(true);
    expect(opened.every((a) => a.atMs < resetMs)).toBe(true);
    expect(alerts.filter((a) => a.transition === 'RESOLVED').every((a) => a.atMs >= resetMs)).toBe(true);
    const recoveries = result.recoveries.filter((r) => r.anomaly === 'API_QUOTA_LOW');
    expect(recoveries.length).toBe(opened.length);
    expect(recoveries.every((r) => r.worker === 'youtube_worker' && r.status === 'SUCCEEDED')).toBe(true);

    // Slowed 4x (every 30 minutes -> every 2 hours) until the reset, then restored: the recovery
    // waits for the reset on its own time, so the 07:30 slot does not fire and 08:00 does.
    const trendingChanges = result.scheduleChanges.filter((c) => c.name === 'youtube_worker.trending').map((c) => c.expression);
    expect(trendingChanges.slice(0, 2)).toEqual(['cron(0 0/2 * * ? *)', 'cron(0/30 * * * ? *)']);
    expect(trendingChanges.at(-1)).toBe('cron(0/30 * * * ? *)');
    const trendingSlots = result.firedSlots.filter((f) => f.worker === 'youtube_worker' && f.job === 'trending').map((f) => new Date(f.atMs).toISOString());
    expect(trendingSlots).toEqual(['2026-03-02T07:00:00.000Z', '2026-03-02T08:00:00.000Z']);
    // The slot the slowed schedule skipped is not a missed run: no WORKER_CRASH from the health sweep.
    expect(result.alerts.filter((a) => a.anomaly === 'WORKER_CRASH')).toEqual([]);
    const gamesChanges = result.scheduleChanges.filter((c) => c.name === 'youtube_worker.games').map((c) => c.expression);
    expect(gamesChanges.at(-1)).toBe('cron(0 5 * * ? *)');
    expect(gamesChanges.some((e) => e !== 'cron(0 5 * * ? *)')).toBe(true);
  }, 120_000);
});

describe('scenario slow-execution', () => {
  it('flags twitch_streams_worker runs SLOW_EXECUTION and TIMEOUT_WARNING, and the recovery raises the poll step timeout within its bound', async () => {
    const startMs = Date.parse('2026-03-02T00:00:00Z');
    const slowFrom = startMs + 30 * MINUTE_MS;
    const slowUntil = startMs + 90 * MINUTE_MS;
    let actions: Record<string, unknown>[] = [];
    const result = await runSymphony({
      startMs,
      hours: 1.75,
      seed: 3,
      prepare: (ctx) => slowExecution.prepare(ctx),
      // The last slot: the recoveries of the slow window have run; read their records before the runtime closes.
      beforeSlot: async (ctx, atMs) => {
        if (atMs >= startMs + 100 * MINUTE_MS) actions = await recoveryActions(ctx);
      },
    });

    const polls = result.reports.filter((r) => r.workerName === 'twitch_streams_worker');
    const slow = polls.filter((r) => Date.parse(r.scheduledTime) >= slowFrom && Date.parse(r.scheduledTime) < slowUntil);
    expect(slow).toHaveLength(4);
    for (const r of slow) {
      // Expected 90 s, timeout 300 s: past 2x expected and past 80% of the timeout.
      expect(r.durationMs, r.scheduledTime).toBeGreaterThan(240_000);
      expect(r.anomalies, r.scheduledTime).toEqual(expect.arrayContaining(['SLOW_EXECUTION', 'TIMEOUT_WARNING']));
    }
    for (const r of polls.filter((p) => !slow.includes(p))) expect(r.anomalies, r.scheduledTime).not.toContain('SLOW_EXECUTION');

    // One slow run raises both SLOW_EXECUTION and TIMEOUT_WARNING: one condition, one incident. The
    // timeout warnings are its symptoms (counted on it, no incident or message of their own).
    const alerts = result.alerts.filter((a) => a.worker === 'twitch_streams_worker');
    expect(alerts.map((a) => [a.transition, a.anomaly, a.severity, a.digestId])).toEqual([
      ['OPENED', 'SLOW_EXECUTION', 'HIGH', null],
      ['RESOLVED', 'SLOW_EXECUTION', 'HIGH', null],
    ]);
    const slowIncidents = result.incidents.filter((i) => i.key.worker === 'twitch_streams_worker' && i.mergedInto === undefined);
    expect(slowIncidents.map((i) => i.key.anomaly)).toEqual(['SLOW_EXECUTION']);
    // Each slow run's two anomalies are counted on it.
    expect(slowIncidents[0]?.count).toBeGreaterThanOrEqual(2 * slow.length);
    expect(result.incidents.filter((i) => i.key.anomaly === 'TIMEOUT_WARNING' && i.mergedInto === undefined)).toEqual([]);
    // Only the slow worker: the shared simulated clock did not make the slot's other runs look slow.
    expect(result.alerts.filter((a) => a.anomaly === 'SLOW_EXECUTION' || a.anomaly === 'TIMEOUT_WARNING').every((a) => a.worker === 'twitch_streams_worker')).toBe(true);

    const recoveries = result.recoveries.filter((r) => r.anomaly === 'SLOW_EXECUTION');
    expect(recoveries.length).toBeGreaterThan(0);
    expect(recoveries.every((r) => r.worker === 'twitch_streams_worker' && r.status === 'SUCCEEDED')).toBe(true);
    // RAISE_TIMEOUT raised the poll's work step within its bound (the registry's x 1.5), read back as the
    // gate hands it to the Work task.
    const raised = actions.filter((a) => a['worker'] === 'twitch_streams_worker' && a['anomaly'] === 'SLOW_EXECUTION' && a['result'] === 'APPLIED' && /step timeout \d+ s -> \d+ s/.test(String(a['detail'])));
    expect(raised.length).toBeGreaterThan(0);
  }, 120_000);
});
