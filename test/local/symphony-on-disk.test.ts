/**
 * The symphony on disk (SymphonyOptions.onDisk): a run longer than a day keeps the table in
 * LevelDB and its record (reports, sweeps, polls) as JSON lines in temporary directories, removed
 * at the end; a day or less keeps them in memory. Either way the run is the same, and so it is
 * whether its firings are planned whole or a little at a time (SymphonyOptions.planAheadHours).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSymphony } from '../../local/symphony.js';

const START_MS = Date.parse('2026-03-02T00:00:00Z');

describe('symphony on disk', () => {
  it('runs the same on disk, planned a quarter hour at a time, as in memory planned whole, and removes its directory at the end', async () => {
    let dir: string | undefined;
    const progress: Array<[number, number]> = [];
    // Planned 15 minutes ahead: the plan moves on three times, and the firings already run leave
    // it for the record on disk (as a run that never ends does, a day at a time).
    const onDisk = await runSymphony({
      startMs: START_MS,
      hours: 1,
      seed: 3,
      onDisk: true,
      planAheadHours: 0.25,
      prepare: (ctx) => void (dir = ctx.runtime.dynamo.directory),
      onProgress: (done, total) => void progress.push([done, total]),
    });
    const inMemory = await runSymphony({ startMs: START_MS, hours: 1, seed: 3, onDisk: false });
    // Every firing, once and in order, whether planned whole or a quarter hour at a time.
    expect(onDisk.firedSlots).toEqual(inMemory.firedSlots);
    expect(onDisk.firings).toBe(inMemory.firings);
    expect(new Set(onDisk.firedSlots.map((f) => `${f.worker}.${f.job}@${f.atMs}`)).size).toBe(onDisk.firings);
    expect(onDisk.firedSlots.some((f) => f.atMs >= START_MS + 45 * 60_000)).toBe(true);
    // Progress counts the firings that left the plan: it ends at all of them, and never goes back.
    expect(progress.at(-1)).toEqual([onDisk.firings, onDisk.firings]);
    expect(progress.every(([done], k) => k === 0 || done >= (progress[k - 1]?.[0] ?? 0))).toBe(true);
    expect(dir).toBeDefined();
    expect(existsSync(dir ?? '')).toBe(false);
    const story = (r: typeof onDisk) => r.timeline.map((t) => `${t.atMs} ${t.worker}.${t.job} ${t.status} ${t.skipReason ?? ''} ${t.anomalies.join(',')}`).sort();
    expect(onDisk.reports.length).toBeGreaterThan(0);
    expect(story(onDisk)).toEqual(story(inMemory));
    expect(onDisk.executions).toEqual(inMemory.executions);
    expect(onDisk.circuits).toEqual(inMemory.circuits);
    // The record read back from disk: what was recorded, as it was (the reports are plain data).
    expect(onDisk.sweeps).toEqual(inMemory.sweeps);
    expect(onDisk.queues).toEqual(inMemory.queues);
    expect(JSON.parse(JSON.stringify(inMemory.reports))).toEqual(inMemory.reports);
    expect(onDisk.reports.map((r) => Object.keys(r).sort().join())).toEqual(inMemory.reports.map((r) => Object.keys(r).sort().join()));
  });

  it('is on disk by default for a run longer than a day, in memory for a day', async () => {
    const where = async (hours: number): Promise<string | undefined> => {
      let dir: string | undefined;
      // Stops before the first slot: only the table's place is of interest.
      await expect(runSymphony({ startMs: START_MS, hours, seed: 1, prepare: (ctx) => {
        dir = ctx.runtime.dynamo.directory;
        throw new Error('stop here');
      } })).rejects.toThrow('stop here');
      return dir;
    };
    expect(await where(24)).toBeUndefined();
    const dir = await where(25);
    expect(dir).toBeDefined();
    expect(existsSync(dir ?? '')).toBe(false);
  });
});
