/**
 * The remaining fault scenarios of scenarios/ end to end on the local symphony, each over its own
 * span: what it injects is detected once per dedup window, alerted, and healed as the design says,
 * and nothing is lost (every slot that fired ends in exactly one report).
 */
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DIGEST_FLUSH_LATENESS_MS } from '../../lib/domain/alerting.js';
import { ALERT_DEADLINE_SECONDS } from '../../lib/domain/anomaly-rules.js';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { STATE_SK, workerPk } from '../../lib/domain/worker-state.js';
import { WORKERS } from '../../lib/registry/index.js';
import { runSymphony, type SymphonyResult } from '../../local/symphony.js';
import { corruptOutput } from '../../scenarios/corrupt-output.js';
import { stuckLock } from '../../scenarios/stuck-lock.js';
import { twitchOutage } from '../../scenarios/twitch-outage.js';

const HOUR_MS = 3_600_000;
const START_MS = Date.parse('2026-03-02T00:00:00Z');
const at = (hours: number): number => START_MS + hours * HOUR_MS;

function expectNothingLost(result: SymphonyResult): void {
  expect(result.firedSlots.length).toBe(result.firings);
  for (const slot of result.firedSlots) {
    const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
    expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
  }
}

/**
 * Alerts per incident: every message is an incident transition, each incident is opened once and
 * resolved at most once, and a resolution follows its opening. An incident folded into the root
 * incident that explains it has no RESOLVED message (its OPENED went out if it was sent before the fold).
 */
function expectPerIncident(result: SymphonyResult): void {
  expect(result.alerts.length).toBeGreaterThan(0);
  for (const incident of result.incidents) {
    const messages = result.alerts.filter((a) => a.incidentId === incident.id).map((a) => a.transition);
    if (incident.mergedInto !== undefined) {
      expect(messages, incident.id).not.toContain('RESOLVED');
      expect(messages.filter((m) => m === 'OPENED').length, incident.id).toBeLessThanOrEqual(1);
      expect(result.incidents.find((i) => i.id === incident.mergedInto)?.covers, incident.id).toContain(incident.id);
      continue;
    }
    expect(messages, incident.id).toEqual(incident.state === 'RESOLVED' ? ['OPENED', 'RESOLVED'] : ['OPENED']);
  }
  expect(result.alerts.every((a) => a.incidentId !== null && result.incidents.some((i) => i.id === a.incidentId))).toBe(true);
}

describe('scenario stuck-lock', () => {
  it('skips every clip radar poll while the stuck run holds the lock, raises LOCK_CONTENTION, lengthens the lease, does not call that healed while the lock stays held, and polls again after', async () => {
    let state: Record<string, unknown> | undefined;
    let summaries: Record<string, unknown>[] = [];
    const result = await runSymphony({
      startMs: START_MS,
      hours: stuckLock.hours,
      seed: 2,
      prepare: (ctx) => stuckLock.prepare(ctx),
      beforeSlot: async ({ runtime }, atMs) => {
        if (atMs < at(stuckLock.hours) - 5 * 60_000) return;
        const doc = documentClient(runtime.dynamo.client);
        const out = await doc.send(new GetCommand({ TableName: runtime.tableName, Key: { pk: workerPk('clip_radar_worker'), sk: STATE_SK } }));
        state = out.Item;
        // The recoveries' summary records (RECOVERY#<alertId> / SUMMARY): their verified outcome.
        const scan = await doc.send(new ScanCommand({ TableName: runtime.tableName, FilterExpression: 'sk = :s AND begins_with(pk, :p)', ExpressionAttributeValues: { ':s': 'SUMMARY', ':p': 'RECOVERY#' } }));
        summaries = scan.Items ?? [];
      },
    });
    expectNothingLost(result);

    const polls = result.reports.filter((r) => r.workerName === 'clip_radar_worker' && r.jobId === 'poll');
    const held = polls.filter((r) => Date.parse(r.scheduledTime) < at(2));
    const freed = polls.filter((r) => Date.parse(r.scheduledTime) >= at(2));
    expect(held.length).toBe(24); // every 5 minutes for the 2-hour lease
    expect(held.every((r) => r.status === 'SKIPPED' && r.skipReason === 'LOCK_HELD')).toBe(true);
    expect(freed.length).toBeGreaterThan(0);
    expect(freed.every((r) => r.status === 'SUCCEEDED')).toBe(true);

    // Detected: more than 3 failed acquisitions in an hour; one incident for the two hours; only this worker.
    const contention = result.alerts.filter((a) => a.anomaly === 'LOCK_CONTENTION');
    expect(contention.map((a) => [a.transition, a.incidentId, a.severity])).toEqual([
      ['OPENED', 'clip_radar_worker~-~LOCK_CONTENTION~1', 'HIGH'],
      ['RESOLVED', 'clip_radar_worker~-~LOCK_CONTENTION~1', 'HIGH'],
    ]);
    expect(contention[0]?.atMs).toBeLessThan(at(1));
    // Resolved by the first poll that acquired the lock again.
    expect(contention[1]?.atMs).toBeGreaterThanOrEqual(at(2));
    expect(result.incidents.find((i) => i.id === 'clip_radar_worker~-~LOCK_CONTENTION~1')?.resolution).toMatch(/clip_radar_worker\.poll run of .* SUCCEEDED; recovery tried: EXTEND_LEASE/);
    expect(result.alerts.filter((a) => a.anomaly !== 'LOCK_CONTENTION')).toEqual([]);
    expectPerIncident(result);

    // One recovery for the incident (not one per dedup window). It lengthened the lease beyond the
    // registry's, but the stuck run still held the lock at the next poll, so its goal (the next run
    // acquires the lock) was not met: FAILED, verified false, and its reason names the holder.
    const recoveries = result.recoveries.filter((r) => r.anomaly === 'LOCK_CONTENTION');
    expect(recoveries.map((r) => r.worker)).toEqual(['clip_radar_worker']);
    const verdicts = summaries.filter((s) => s['anomaly'] === 'LOCK_CONTENTION');
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ outcome: 'FAILED', verified: false, action: 'EXTEND_LEASE', target: 'clip_radar_worker.poll' });
    expect(String(verdicts[0]?.['reason'])).toMatch(/held by stuck-execution/);
    expect(recoveries[0]?.status).toBe('FAILED');
    const registryLease = WORKERS.find((w) => w.id === 'clip_radar_worker')?.lockLeaseSeconds ?? Infinity;
    expect(Number(state?.['leaseSecondsOverride'])).toBeGreaterThan(registryLease);
    expect(result.circuits['clip_radar_worker']).toBe('CLOSED');
  }, 300_000);
});

describe('scenario corrupt-output', () => {
  it('flags garbled YouTube output DATA_CORRUPTION with low data quality, opens one CRITICAL incident, pages once, and resolves on the first clean run', async () => {
    const result = await runSymphony({ startMs: START_MS, hours: corruptOutput.hours, seed: 4, prepare: (ctx) => corruptOutput.prepare(ctx) });
    expectNothingLost(result);

    const trending = result.reports.filter((r) => r.workerName === 'youtube_worker' && r.jobId === 'trending');
    const garbled = trending.filter((r) => Date.parse(r.scheduledTime) >= at(1) && Date.parse(r.scheduledTime) < at(3));
    const clean = trending.filter((r) => !garbled.includes(r));
    expect(garbled.length).toBe(4); // every 30 minutes for 2 hours
    for (const r of garbled) {
      expect(r.anomalies, r.scheduledTime).toContain('DATA_CORRUPTION');
      expect(r.scores?.dataQualityScore ?? 100, r.scheduledTime).toBeLessThan(50);
    }
    expect(clean.length).toBeGreaterThan(0);
    for (const r of clean) expect(r.anomalies, r.scheduledTime).not.toContain('DATA_CORRUPTION');

    const corruption = result.alerts.filter((a) => a.anomaly === 'DATA_CORRUPTION');
    expect(corruption.map((a) => [a.transition, a.incidentId])).toEqual([
      ['OPENED', 'youtube_worker~trending~DATA_CORRUPTION~1'],
      ['RESOLVED', 'youtube_worker~trending~DATA_CORRUPTION~1'],
    ]);
    expect(corruption.every((a) => a.worker === 'youtube_worker' && a.severity === 'CRITICAL' && a.atMs >= at(1) && a.atMs < at(3) + HOUR_MS / 2)).toBe(true);
    expect(result.incidents).toEqual([expect.objectContaining({ id: 'youtube_worker~trending~DATA_CORRUPTION~1', count: 4, state: 'RESOLVED' })]);
    expectPerIncident(result);
    // The design has no automatic recovery for corrupt data: a person must look, so it escalates, once.
    expect(result.recoveries.filter((r) => r.anomaly === 'DATA_CORRUPTION')).toEqual([]);
    expect(result.pages.map((p) => p.subject)).toEqual([expect.stringMatching(/ESCALATION.*DATA_CORRUPTION on youtube_worker:? unacknowledged/)]);
    expect(Object.values(result.circuits).every((c) => c === 'CLOSED')).toBe(true);
  }, 300_000);
});

describe('scenario twitch-outage', () => {
  it('fails and retries Twitch polls, opens the circuit on HIGH_FAILURE_RATE, slows the schedule, counts the stale playbook data on the Twitch incident, and heals after the outage: one message per incident transition, one page per incident whose recovery FAILED', async () => {
    const result = await runSymphony({ startMs: START_MS, hours: twitchOutage.hours, seed: 6, prepare: (ctx) => twitchOutage.prepare(ctx) });
    expectNothingLost(result);

    const polls = result.reports.filter((r) => r.workerName === 'twitch_streams_worker' && r.jobId === 'poll');
    const during = polls.filter((r) => Date.parse(r.scheduledTime) >= at(1) && Date.parse(r.scheduledTime) < at(3));
    expect(during.length).toBeGreaterThan(0);
    // Failed after retries, or skipped by the open circuit: never a success while Twitch is down.
    expect(during.every((r) => r.status === 'FAILED' || (r.status === 'SKIPPED' && r.skipReason === 'CIRCUIT_OPEN'))).toBe(true);
    expect(during.some((r) => r.status === 'FAILED' && r.attempts > 1)).toBe(true);
    expect(during.some((r) => r.skipReason === 'CIRCUIT_OPEN')).toBe(true);

    const failureRate = result.alerts.filter((a) => a.anomaly === 'HIGH_FAILURE_RATE' && a.worker === 'twitch_streams_worker');
    expect(failureRate.map((a) => [a.transition, a.incidentId, a.severity])).toEqual([
      ['OPENED', 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1', 'HIGH'],
      ['RESOLVED', 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1', 'HIGH'],
    ]);
    expect(failureRate[0]?.atMs).toBeGreaterThanOrEqual(at(1));
    // The RESOLVED message comes once the polls succeed again, at the end of the outage.
    expect(failureRate[1]?.atMs).toBeGreaterThanOrEqual(at(3));
    expect(result.incidents.find((i) => i.id === 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1')?.resolution).toMatch(/twitch_streams_worker\.poll run of .* SUCCEEDED; recovery tried: OPEN_CIRCUIT\+REDUCE_RATE/);
    // Every incident of the outage is resolved at the end, each announced once and resolved once.
    expect(result.incidents.every((i) => i.state === 'RESOLVED')).toBe(true);
    expectPerIncident(result);
    // Twitch being down is not YouTube's problem.
    expect(result.alerts.filter((a) => a.worker === 'youtube_worker')).toEqual([]);

    // Healing: one recovery per incident (not one per dedup window); it fails while the probe cannot succeed.
    const recoveries = result.recoveries.filter((r) => r.anomaly === 'HIGH_FAILURE_RATE' && r.worker === 'twitch_streams_worker');
    expect(recoveries.map((r) => r.status)).toEqual(['FAILED']);
    // "Reduce rate": the poll schedule was slowed, and is back to its registry expression at the end.
    const pollSchedule = result.scheduleChanges.filter((c) => c.name === 'twitch_streams_worker.poll').map((c) => c.expression);
    expect(pollSchedule.some((e) => e !== 'cron(0/15 * * * ? *)')).toBe(true);
    expect(pollSchedule.at(-1)).toBe('cron(0/15 * * * ? *)');
    // Playbook's Twitch data went stale while Twitch's incident was open: a symptom of it (inhibition),
    // counted there with playbook among its impacted jobs; no incident, message, recovery or page of its own.
    expect(result.alerts.filter((a) => a.anomaly === 'STALE_DATA')).toEqual([]);
    expect(result.recoveries.filter((r) => r.anomaly === 'STALE_DATA')).toEqual([]);
    expect(result.incidents.filter((i) => i.key.anomaly === 'STALE_DATA')).toEqual([]);
    expect(result.incidents.find((i) => i.id === 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1')?.impactedJobs).toContain('playbook_worker.synthesize');

    // One incident per worker's root cause: each worker's retries are a symptom of its failure rate
    // (counted on it, or, opened first, folded into it: merged, with no RESOLVED message).
    expect(result.incidents.filter((i) => i.mergedInto === undefined).map((i) => i.id).sort()).toEqual(['clip_radar_worker~-~HIGH_FAILURE_RATE~1', 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1']);
    for (const merged of result.incidents.filter((i) => i.mergedInto !== undefined)) {
      expect(merged.key.anomaly).toBe('ELEVATED_RETRIES');
      expect(merged.mergedInto).toBe(`${merged.key.worker}~-~HIGH_FAILURE_RATE~1`);
    }

    // Escalation: each HIGH incident whose recovery FAILED pages on-call once (RECOVERY_FAILED), and only those.
    const failedIncidents = result.incidents.filter((i) => i.pages.some((p) => p.step === 'RECOVERY_FAILED')).map((i) => i.id);
    expect(failedIncidents).toContain('twitch_streams_worker~-~HIGH_FAILURE_RATE~1');
    expect(result.pages).toHaveLength(failedIncidents.length);
    for (const incident of result.incidents.filter((i) => failedIncidents.includes(i.id))) {
      expect(result.pages.filter((p) => p.subject.includes(`ESCALATION ${incident.key.anomaly} on ${incident.key.worker}: recovery FAILED`)), incident.id).toHaveLength(1);
    }
    // The messages end with the resolutions.
    expect(result.alerts.at(-1)?.transition).toBe('RESOLVED');
    // MEDIUM (twitch's retries, opened before its failure rate) goes out in the digest the health sweep
    // sends, within its 15-minute deadline (the sweep may start up to DIGEST_FLUSH_LATENESS_MS late);
    // HIGH goes out alone, at once.
    const medium = result.alerts.filter((a) => a.severity === 'MEDIUM');
    expect(medium.length).toBeGreaterThan(0);
    for (const a of medium) {
      expect(a.digestId, a.subject).toMatch(/^digest_/);
      expect(a.sentAtMs - a.atMs, a.subject).toBeLessThanOrEqual((ALERT_DEADLINE_SECONDS.MEDIUM ?? 0) * 1000 + DIGEST_FLUSH_LATENESS_MS);
    }
    expect(result.alerts.filter((a) => a.severity === 'HIGH').every((a) => a.digestId === null)).toBe(true);

    // After the outage: polls succeed again and the circuit is closed.
    const after = polls.filter((r) => Date.parse(r.scheduledTime) >= at(4));
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.status === 'SUCCEEDED')).toBe(true);
    expect(result.circuits['twitch_streams_worker']).toBe('CLOSED');
  }, 300_000);
});
