/**
 * Incidents end to end on the local symphony: an upstream job failing with dependents is one
 * incident on the upstream job and one page; a condition lasting an hour is one incident, at most
 * one page, and one RESOLVED message when it is gone. Every fired slot still has exactly one report.
 */
import { describe, expect, it } from 'vitest';
import { runSymphony, type SymphonyResult } from '../../local/symphony.js';
import { memoryPressure } from '../../scenarios/memory-pressure.js';
import { upstreamFailure } from '../../scenarios/upstream-failure.js';

const MINUTE_MS = 60_000;
const START_MS = Date.parse('2026-03-02T00:00:00Z');

function expectNothingLost(result: SymphonyResult): void {
  expect(result.firedSlots.length).toBe(result.firings);
  for (const slot of result.firedSlots) {
    const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
    expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
  }
}

describe('scenario upstream-failure', () => {
  it('youtube games failing with the intel cycle and its dependents is one incident on the games job (its worker\'s failure rate and retries counted on it), retried to success, the dependents run right after, at most one page', async () => {
    // One simulated hour: the failure, the blocked stages, the sweep re-finding the failed cycle, the escalation.
    const result = await runSymphony({ startMs: START_MS, hours: 1, seed: 7, prepare: (ctx) => upstreamFailure.prepare(ctx) });
    expectNothingLost(result);

    const games = result.reports.find((r) => r.workerName === 'youtube_worker' && r.jobId === 'games');
    expect(games?.status).toBe('FAILED');
    const blocked = result.reports.filter((r) => r.skipReason === 'DEPENDENCY_FAILED').map((r) => `${r.workerName}.${r.jobId}`);
    expect(blocked.sort()).toEqual(['creator_intel_worker.analyze', 'playbook_worker.synthesize']);

    // Inhibition: the blocked dependents are one incident on the upstream job, listing them.
    const root = result.incidents.find((i) => i.id === 'youtube_worker~games~DEPENDENCY_FAILURE~1');
    expect(root).toMatchObject({ severity: 'CRITICAL', impactedJobs: expect.arrayContaining(['creator_intel_worker.analyze', 'playbook_worker.synthesize']) });
    expect(result.incidents.filter((i) => i.key.anomaly === 'DEPENDENCY_FAILURE').map((i) => i.id)).toEqual([root?.id]);
    // The dependents' games data went stale while games failed: symptoms counted on the same incident
    // (inhibition), not STALE_DATA incidents, messages or refresh recoveries of their own.
    expect(result.incidents.filter((i) => i.key.anomaly === 'STALE_DATA')).toEqual([]);
    expect(result.alerts.filter((a) => a.anomaly === 'STALE_DATA')).toEqual([]);
    expect(result.recoveries.filter((r) => r.anomaly === 'STALE_DATA')).toEqual([]);
    expect(root?.sources).toContain('health');
    const critical = result.alerts.filter((a) => a.severity === 'CRITICAL');
    expect(critical.map((a) => [a.transition, a.incidentId])).toEqual([
      ['OPENED', root?.id],
      ['RESOLVED', root?.id],
    ]);
    expect(critical[0]?.subject).toMatch(/DEPENDENCY_FAILURE on youtube_worker\.games \(impacts/);
    // One root cause, one incident: youtube's rolling-hour failure rate and retries are made of the
    // games failures, so they are symptoms counted on the games incident (inhibition), or, when a rate
    // incident opened before it, folded into it (resolved as merged, no message of its own, covered).
    const seen = result.incidents.filter((i) => i.mergedInto === undefined);
    expect(seen.map((i) => i.id)).toEqual([root?.id]);
    for (const merged of result.incidents.filter((i) => i.mergedInto !== undefined)) {
      expect(merged).toMatchObject({ mergedInto: root?.id, state: 'RESOLVED', key: { worker: 'youtube_worker', job: null } });
      expect(root?.covers).toContain(merged.id);
    }
    expect(result.alerts.map((a) => a.incidentId)).toEqual([root?.id, root?.id]);
    expect(result.recoveries.map((r) => r.anomaly)).toEqual(['DEPENDENCY_FAILURE']);

    // One recovery for the dependency failure, started where it was first seen (a dependent), not one per dependent.
    expect(result.recoveries.filter((r) => r.anomaly === 'DEPENDENCY_FAILURE').map((r) => r.status)).toEqual(['SUCCEEDED']);
    // It retried games with backoff until a run SUCCEEDED, after the fault (00:20) and within the bound.
    const gamesRuns = result.reports.filter((r) => r.workerName === 'youtube_worker' && r.jobId === 'games').sort((a, b) => a.scheduledTime.localeCompare(b.scheduledTime));
    const healed = gamesRuns.find((r) => r.status === 'SUCCEEDED');
    expect(healed).toBeDefined();
    const healedAtMs = Date.parse(healed?.scheduledTime ?? '');
    expect(healedAtMs).toBeGreaterThanOrEqual(START_MS + 20 * MINUTE_MS);
    expect(healedAtMs).toBeLessThanOrEqual(START_MS + 20 * MINUTE_MS + 10 * MINUTE_MS);
    // Each attempt had its own scheduled time: no two games runs share a slot.
    expect(new Set(gamesRuns.map((r) => r.scheduledTime)).size).toBe(gamesRuns.length);
    // The blocked dependents then ran once each, soon after (not at the cycle's next slot, 04:00).
    for (const dependent of ['creator_intel_worker.analyze', 'playbook_worker.synthesize']) {
      const after = result.reports.filter((r) => `${r.workerName}.${r.jobId}` === dependent && Date.parse(r.scheduledTime) >= healedAtMs);
      expect(after.map((r) => r.status), dependent).toEqual(['SUCCEEDED']);
      expect(Date.parse(after[0]?.scheduledTime ?? '') - healedAtMs, dependent).toBeLessThan(5 * MINUTE_MS);
    }
    // The incident resolved on the retried run: its RESOLVED message names it.
    expect(root).toMatchObject({ state: 'RESOLVED', resolution: expect.stringMatching(/youtube_worker\.games run .* SUCCEEDED/) });

    // One page for the root cause (not one per dependent, nor one per re-found cycle): the first sweep
    // at which the CRITICAL incident has been open and unacknowledged for 15 minutes, while the
    // recovery's backoff waits pass in the world's time (held, execution-clock.ts) and games still fails.
    const openedAtMs = Date.parse(root?.firstSeen ?? '');
    expect(result.pages).toHaveLength(1);
    expect(result.pages[0]?.subject).toMatch(/ESCALATION.*DEPENDENCY_FAILURE on youtube_worker/);
    expect(result.pages[0]?.atMs).toBeGreaterThanOrEqual(openedAtMs + 15 * MINUTE_MS);
    expect(result.pages[0]?.atMs).toBeLessThan(openedAtMs + 20 * MINUTE_MS + 1000);
    expect(result.pages[0]?.atMs).toBeLessThan(healedAtMs);
    // The sweeps saw the retries as they happened: the recovery ended after the games run it verified.
    expect(result.recoveries[0]?.atMs).toBeGreaterThanOrEqual(healedAtMs);
    // Every message is an incident's transition: at most one opening and one resolution per incident.
    for (const transition of ['OPENED', 'RESOLVED']) {
      const ids = result.alerts.filter((a) => a.transition === transition).map((a) => a.incidentId);
      expect(new Set(ids).size, transition).toBe(ids.length);
    }
    expect(result.alerts.every((a) => a.transition === 'OPENED' || a.transition === 'RESOLVED')).toBe(true);
  }, 300_000);
});

describe('scenario memory-pressure', () => {
  it('a condition lasting an hour is one incident, one page at most, and one RESOLVED message with its duration when it is gone', async () => {
    const result = await runSymphony({ startMs: START_MS, hours: 1.25, seed: 8, prepare: (ctx) => memoryPressure.prepare(ctx) });
    expectNothingLost(result);

    const pressed = result.reports.filter((r) => r.workerName === 'clip_radar_worker' && r.anomalies.includes('RESOURCE_EXHAUSTION'));
    expect(pressed.length).toBe(12); // every 5 minutes for the hour

    expect(result.incidents.map((i) => [i.id, i.state, i.count])).toEqual([['clip_radar_worker~-~RESOURCE_EXHAUSTION~1', 'RESOLVED', 12]]);
    expect(result.alerts.map((a) => a.transition)).toEqual(['OPENED', 'RESOLVED']);
    const [opened, resolved] = result.alerts;
    // Opened by the first pressed poll (00:10), resolved by the first poll back under the threshold (01:10).
    expect(opened?.atMs).toBeGreaterThanOrEqual(START_MS + 10 * MINUTE_MS);
    expect(opened?.atMs).toBeLessThan(START_MS + 15 * MINUTE_MS);
    expect(resolved?.atMs).toBeGreaterThanOrEqual(START_MS + 70 * MINUTE_MS);
    expect(resolved?.subject).toMatch(/^\[AuraStream RESOLVED\] RESOURCE_EXHAUSTION on clip_radar_worker\.- after 60 min/);
    expect(result.incidents[0]?.resolution).toMatch(/clip_radar_worker\.poll run of 2026-03-02T01:10:00\.000Z SUCCEEDED; no recovery was run/);
    expect(result.pages.length).toBeLessThanOrEqual(1);
    expect(result.pages.map((p) => p.subject)).toEqual([expect.stringMatching(/ESCALATION.*RESOURCE_EXHAUSTION on clip_radar_worker/)]);
  }, 300_000);
});
