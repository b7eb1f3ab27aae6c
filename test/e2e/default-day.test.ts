/**
 * The default day end to end: what `npm start` runs (24 simulated hours from the default start,
 * seed 1) with no fault injected. Every schedule of the registry fires as often as its expression
 * says, every slot ends in exactly one report, every run succeeds, and nothing is alerted.
 * The day is simulated once; each test asserts a different thing about it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { occurrences } from '../../lib/domain/schedule-math.js';
import { scheduledTriggers } from '../../lib/registry/index.js';
import { runSymphony, type SymphonyResult } from '../../local/symphony.js';

const START_MS = Date.parse('2026-03-02T00:00:00Z'); // bin/local.ts's default start
const HOURS = 24;

describe('the default day', () => {
  let result: SymphonyResult;
  beforeAll(async () => {
    result = await runSymphony({ startMs: START_MS, hours: HOURS, seed: 1 });
  }, 900_000);

  it('runs its first three hours with every slot reported once and every run succeeded (no skip either)', () => {
    const threeHoursMs = START_MS + 3 * 3_600_000;
    const early = result.firedSlots.filter((s) => s.atMs < threeHoursMs);
    expect(early.length).toBeGreaterThan(0);
    for (const slot of early) {
      const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
      expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
      expect(reports[0]?.status, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toBe('SUCCEEDED');
    }
  });

  it('fires every registry schedule on time, reports every slot once, succeeds every run and alerts nothing', () => {
    const endMs = START_MS + HOURS * 3_600_000;

    // Fired as the registry says: per job, the occurrences of its schedules in the day.
    const expected = new Map<string, number>();
    for (const t of scheduledTriggers()) {
      const key = `${t.worker.id}.${t.job.id}`;
      expected.set(key, (expected.get(key) ?? 0) + occurrences(t.schedule.expression, t.schedule.timezone, START_MS, endMs).length);
    }
    const fired = new Map<string, number>();
    for (const s of result.firedSlots) fired.set(`${s.worker}.${s.job}`, (fired.get(`${s.worker}.${s.job}`) ?? 0) + 1);
    expect(Object.fromEntries(fired)).toEqual(Object.fromEntries(expected));
    expect(result.firings).toBe(result.firedSlots.length);

    // Nothing lost: every slot that fired ended in exactly one report for that job and slot.
    for (const slot of result.firedSlots) {
      const reports = result.reports.filter((r) => r.workerName === slot.worker && r.jobId === slot.job && Date.parse(r.scheduledTime) === slot.atMs);
      expect(reports, `${slot.worker}.${slot.job} @ ${new Date(slot.atMs).toISOString()}`).toHaveLength(1);
    }
    // Every run succeeded (dependency and freshness skips are the design at work, not failures).
    expect(result.reports.filter((r) => r.status !== 'SUCCEEDED' && r.status !== 'SKIPPED').map((r) => `${r.workerName}.${r.jobId} ${r.scheduledTime} ${r.status}`)).toEqual([]);
    expect(result.executions.failed).toBe(0);

    // A healthy day raises nothing and heals nothing; the sweep ran every 5 minutes.
    expect(result.alerts).toEqual([]);
    expect(result.incidents).toEqual([]);
    expect(result.recoveries).toEqual([]);
    expect(result.pages).toEqual([]);
    expect(result.sweeps).toHaveLength((HOURS * 60) / 5);
    expect(result.sweeps.every((s) => s.errors.length === 0 && s.findings === 0)).toBe(true);
    expect(Object.values(result.circuits).every((c) => c === 'CLOSED')).toBe(true);
  });
});
