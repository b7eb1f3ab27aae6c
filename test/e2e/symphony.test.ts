/**
 * The local symphony end to end: the template's schedules on a simulated clock, the real workers
 * against the sandbox, the anomaly Lambda on the stream and the recovery state machine — here with
 * the crash-loop scenario over three simulated hours.
 */
import { describe, expect, it } from 'vitest';
import { runSymphony } from '../../local/symphony.js';
import { crashLoop } from '../../scenarios/crash-loop.js';
import { expectReadmeSample } from './readme-sample.js';

describe('the symphony with a crash loop', () => {
  it('runs every slot once, opens one incident for the crash loop (the failure rate it makes counted on it), restarts, pages once, and opens the circuit', async () => {
    const startMs = Date.parse('2026-03-02T00:00:00Z');
    const result = await runSymphony({ startMs, hours: 3, seed: 3, prepare: (ctx) => crashLoop.prepare(ctx) });

    // Nothing lost: every slot that fired ended in exactly one report for that job and slot.
    expect(result.firedSlots.length).toBe(result.firings);
    expect(result.executions.succeeded + result.executions.failed + result.executions.other).toBe(result.firings);
    for (const slot of result.firedSlots) {
      const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
      expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
    }

    const crashes = result.alerts.filter((a) => a.anomaly === 'WORKER_CRASH' && a.worker === 'analytics_flush_worker');
    expect(crashes.map((a) => [a.transition, a.incidentId, a.severity])).toEqual([['OPENED', 'analytics_flush_worker~flush~WORKER_CRASH~1', 'CRITICAL']]);
    // Every later crash (the restart's, 02:00's) is counted on the open incident: nobody is told again.
    const crashed = result.reports.filter((r) => r.workerName === 'analytics_flush_worker' && r.status === 'CRASHED').length;
    expect(crashed).toBeGreaterThanOrEqual(2);
    const incident = result.incidents.find((i) => i.id === 'analytics_flush_worker~flush~WORKER_CRASH~1');
    // Its recovery paged on-call (PAGE_ONCALL), so the sweep does not escalate it again: still RECOVERING.
    expect(incident).toMatchObject({ state: 'RECOVERING', pages: [] });
    // One incident per root cause: the failure rate the crashes make is counted on the crash's incident
    // (inhibition), so it counts every crash and every sighting of the rate, and is the only incident.
    expect(incident?.count).toBeGreaterThan(crashed);
    expect(result.incidents.filter((i) => i.mergedInto === undefined).map((i) => i.id)).toEqual([incident?.id]);
    expect(result.alerts.filter((a) => a.anomaly === 'HIGH_FAILURE_RATE')).toEqual([]);
    // One recovery for the incident. Its restart crashed too (the loop was still on), so its goal was not
    // met: FAILED, not called healed.
    expect(result.recoveries.filter((r) => r.anomaly === 'WORKER_CRASH' && r.worker === 'analytics_flush_worker').map((r) => r.status)).toEqual(['FAILED']);
    // One page per incident: the crash's is its recovery's PAGE_ONCALL step (so the sweep does not page it
    // again, unacknowledged or FAILED); any other page is another incident's escalation, once each.
    const crashPages = result.pages.filter((p) => /WORKER_CRASH on analytics_flush_worker/.test(p.subject));
    expect(crashPages.map((p) => p.subject)).toEqual([expect.stringMatching(/recovery under way/)]);
    expect(result.pages.filter((p) => !crashPages.includes(p))).toEqual([]);
    // The circuit opens on the gate's own breaker (consecutive failures), not by a failure-rate recovery.
    expect(result.circuits['analytics_flush_worker']).toBe('OPEN');
    // Healthy workers stay healthy.
    expect(result.circuits['clip_radar_worker']).toBe('CLOSED');
    expect(result.timeline.filter((t) => t.worker === 'clip_radar_worker').every((t) => t.status === 'SUCCEEDED')).toBe(true);
    // The circuit's story: it opened during the crash loop, with its time.
    expect(result.circuitTransitions.some((t) => t.worker === 'analytics_flush_worker' && t.job === 'flush' && t.from === 'CLOSED' && t.to === 'OPEN' && t.atMs >= startMs + 3_600_000)).toBe(true);
    expect(result.recoveries.filter((r) => r.anomaly === 'HIGH_FAILURE_RATE')).toEqual([]);

    // The README's crash-loop sample is this run, as the CLI prints it.
    expectReadmeSample('--scenario crash-loop --hours 3 --seed 3', { startMs, hours: 3, seed: 3, scenario: 'crash-loop' }, result);
  }, 300_000);
});

describe('a healthy symphony', () => {
  it('runs three fault-free hours with every slot reported once, every run succeeded, and no alert', async () => {
    const startMs = Date.parse('2026-03-02T00:00:00Z');
    const result = await runSymphony({ startMs, hours: 3, seed: 1 });
    for (const slot of result.firedSlots) {
      const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
      expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
    }
    expect(result.reports.filter((r) => r.status !== 'SUCCEEDED').map((r) => `${r.workerName}.${r.jobId} ${r.status}`)).toEqual([]);
    expect(result.alerts).toEqual([]);
    expect(result.incidents).toEqual([]);
    expect(result.recoveries).toEqual([]);
    expect(Object.values(result.circuits).every((c) => c === 'CLOSED')).toBe(true);
    expect(result.circuitTransitions).toEqual([]);

    // The README's timeline sample is this run, as the CLI prints it.
    expectReadmeSample('--hours 3 --seed 1', { startMs, hours: 3, seed: 1 }, result);
  }, 300_000);
});
