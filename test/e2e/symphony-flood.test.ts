/**
 * The local symphony with a flood of generation jobs: the health sweep (run every 5 simulated
 * minutes) sees the queue overflow, the anomaly Lambda alerts, the recovery scales the consumers
 * and pauses intake, and the queue drains. The design's 1,500 jobs land at 00:05 (not the
 * scenario's 01:00) and the run lasts 75 simulated minutes (not two hours): the first hour of
 * schedules adds nothing to the flood, and the shorter run keeps the test near a minute of wall time.
 */
import { describe, expect, it } from 'vitest';
import { runSymphony } from '../../local/symphony.js';
import { FLOOD_WORKER, floodRequestId, generationFloodScenario } from '../../scenarios/generation-flood.js';

const JOBS = 1500;

describe('the symphony with a flood of generation jobs', () => {
  it('detects QUEUE_OVERFLOW once, scales the consumers, pauses intake, loses nothing and drains', async () => {
    const startMs = Date.parse('2026-03-02T00:00:00Z');
    const floodAtMs = startMs + 5 * 60_000;
    const scenario = generationFloodScenario({ jobs: JOBS, afterMs: floodAtMs - startMs, hours: 1.25 });
    const result = await runSymphony({ startMs, hours: scenario.hours, seed: 5, prepare: (ctx) => scenario.prepare(ctx) });

    // Detected: the sweep's finding, one CRITICAL incident (OPENED, then RESOLVED once the sweep no
    // longer finds the overflow), and its recovery succeeded.
    const overflows = result.alerts.filter((a) => a.anomaly === 'QUEUE_OVERFLOW');
    expect(overflows.map((a) => [a.transition, a.worker, a.severity])).toEqual([
      ['OPENED', FLOOD_WORKER, 'CRITICAL'],
      ['RESOLVED', FLOOD_WORKER, 'CRITICAL'],
    ]);
    expect(result.sweeps.some((s) => s.atMs === floodAtMs && s.written > 0)).toBe(true);
    expect(result.recoveries.filter((r) => r.anomaly === 'QUEUE_OVERFLOW').map((r) => [r.worker, r.status])).toEqual([[FLOOD_WORKER, 'SUCCEEDED']]);

    // Healed: the consumers' maximum concurrency doubled from the template's 10.
    const polls = result.queues.polls.filter((p) => p.worker === FLOOD_WORKER);
    expect(polls[0]?.concurrency).toBe(10);
    expect(result.queues.concurrency[FLOOD_WORKER]).toBe(20);
    expect(polls.some((p) => p.concurrency === 20 && p.done > 0)).toBe(true);
    // Intake paused: for 15 minutes the gate held every job it received (SKIP PAUSED, no report): sent
    // again delayed, never returned, so no receive counted towards the dead-letter queue.
    const pauseEndMs = floodAtMs + 15 * 60_000;
    const duringPause = polls.filter((p) => p.atMs > floodAtMs && p.atMs < pauseEndMs && p.received > 0);
    expect(duringPause.length).toBeGreaterThan(5);
    expect(duringPause.every((p) => p.done === 0 && p.retried === 0 && p.held === p.received)).toBe(true);
    expect(polls.reduce((n, p) => n + p.deadLettered, 0)).toBe(0);

    // Nothing lost: each job has exactly one report (its sk ends with the run id), or is still queued or dead-lettered.
    const reportsByRun = new Map<string, number>();
    for (const r of result.reports) {
      if (r.workerName !== FLOOD_WORKER) continue;
      const runId = String((r as unknown as { sk: string }).sk).split('#').pop() ?? '';
      reportsByRun.set(runId, (reportsByRun.get(runId) ?? 0) + 1);
    }
    const waiting = new Set(result.queues.waiting[FLOOD_WORKER] ?? []);
    const dead = new Set(result.queues.deadLettered[FLOOD_WORKER] ?? []);
    let reported = 0;
    for (let n = 1; n <= JOBS; n++) {
      const id = floodRequestId(n);
      const reports = reportsByRun.get(id) ?? 0;
      expect(reports, id).toBeLessThanOrEqual(1);
      expect(reports === 1 || waiting.has(id) || dead.has(id), `${id} lost`).toBe(true);
      if (reports === 1) reported++;
    }
    expect(reportsByRun.size).toBe(reported);
    expect(reported + waiting.size + dead.size).toBe(JOBS);
    expect(result.timeline.filter((t) => t.worker === FLOOD_WORKER).every((t) => t.status === 'SUCCEEDED')).toBe(true);

    // Drained (or at least well below the threshold) after the pause.
    expect(result.queues.depths[FLOOD_WORKER] ?? 0).toBeLessThan(JOBS / 4);
    console.info(`flood: ${reported} reported, ${waiting.size} queued, ${dead.size} dead-lettered, ${Math.round(result.wallMs)} ms wall`);
  }, 300_000);
});
