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
  it('youtube games failing with the intel cycle and its dependents is one incident on the games job, one page', async () => {
    // One simulated hour: the failure, the blocked stages, the sweep re-finding the failed cycle, the escalation.
    const result = await runSymphony({ startMs: START_MS, hours: 1, seed: 7, prepare: (ctx) => upstreamFailure.prepare(ctx) });
    expectNothingLost(result);

    const games = result.reports.find((r) => r.workerName === 'youtube_worker' && r.jobId === 'games');
    expect(games?.status).toBe('FAILED');
    const blocked = result.reports.filter((r) => r.skipReason === 'DEPENDENCY_FAILED').map((r) => `${r.workerName}.${r.jobId}`);
    expect(blocked.sort()).toEqual(['creator_intel_worker.analyze', 'playbook_worker.synthesize']);

    // Inhibition: the blocked dependents are one incident on the upstream job, listing them.
    const root = result.incidents.find((i) => i.id === 'youtube_worker~games~DEPENDENCY_FAILURE~1');
    expect(root).toMatchObject({ severity: 'CRITICAL', state: 'ESCALATED', impactedJobs: expect.arrayContaining(['creator_intel_worker.analyze', 'playbook_worker.synthesize']) });
    expect(result.incidents.filter((i) => i.key.anomaly === 'DEPENDENCY_FAILURE').map((i) => i.id)).toEqual([root?.id]);
    const critical = result.alerts.filter((a) => a.severity === 'CRITICAL');
    expect(critical.map((a) => [a.transition, a.incidentId])).toEqual([['OPENED', root?.id]]);
    expect(critical[0]?.subject).toMatch(/DEPENDENCY_FAILURE on youtube_worker\.games \(impacts/);

    // One page for the root cause (not one per dependent, nor one per re-found cycle).
    expect(result.pages.map((p) => p.subject)).toEqual([expect.stringMatching(/ESCALATION.*DEPENDENCY_FAILURE on youtube_worker/)]);
    // One recovery for the dependency failure, started where it was first seen (a dependent), not one per dependent.
    expect(result.recoveries.filter((r) => r.anomaly === 'DEPENDENCY_FAILURE')).toHaveLength(1);
    // Every message is an incident's opening: at most one per incident.
    expect(new Set(result.alerts.map((a) => a.incidentId)).size).toBe(result.alerts.length);
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
