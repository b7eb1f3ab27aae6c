/**
 * The local symphony end to end: the template's schedules on a simulated clock, the real workers
 * against the sandbox, the anomaly Lambda on the stream and the recovery state machine — here with
 * the crash-loop scenario over two simulated hours.
 */
import { describe, expect, it } from 'vitest';
import { runSymphony } from '../../local/symphony.js';
import { crashLoop } from '../../scenarios/crash-loop.js';

describe('the symphony with a crash loop', () => {
  it('runs every slot once, alerts WORKER_CRASH once per window, restarts, pages, and opens the circuit', async () => {
    const startMs = Date.parse('2026-03-02T00:00:00Z');
    const result = await runSymphony({ startMs, hours: 2, seed: 3, prepare: (ctx) => crashLoop.prepare(ctx) });

    // Nothing lost: every slot that fired ended in exactly one report for that job and slot.
    expect(result.firedSlots.length).toBe(result.firings);
    expect(result.executions.succeeded + result.executions.failed + result.executions.other).toBe(result.firings);
    for (const slot of result.firedSlots) {
      const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
      expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
    }

    const crashes = result.alerts.filter((a) => a.anomaly === 'WORKER_CRASH' && a.worker === 'analytics_flush_worker');
    expect(crashes).toHaveLength(1);
    expect(crashes[0]?.severity).toBe('CRITICAL');
    expect(result.recoveries.filter((r) => r.anomaly === 'WORKER_CRASH' && r.worker === 'analytics_flush_worker').map((r) => r.status)).toEqual(['SUCCEEDED']);
    expect(result.pages.some((p) => /WORKER_CRASH on analytics_flush_worker/.test(p.subject))).toBe(true);
    expect(result.circuits['analytics_flush_worker']).toBe('OPEN');
    // Healthy workers stay healthy.
    expect(result.circuits['clip_radar_worker']).toBe('CLOSED');
    expect(result.timeline.filter((t) => t.worker === 'clip_radar_worker').every((t) => t.status === 'SUCCEEDED')).toBe(true);
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
    expect(result.recoveries).toEqual([]);
    expect(Object.values(result.circuits).every((c) => c === 'CLOSED')).toBe(true);
  }, 300_000);
});
