/**
 * Benchmark: what one simple scheduled run costs in AWS billing units, measured by running the
 * synthesized pipeline locally — state transitions (Standard workflows bill per transition) and
 * DynamoDB requests — plus the local wall time per run.
 */
import { SimulatedClock, startLocalRuntime, synthesizeTemplate } from '../local/runtime.js';
import { workerResult } from '../test/support/worker-result.js';
import { median } from './stats.js';

export interface PipelineCost {
  readonly runs: number;
  readonly transitions: number;
  readonly dynamodbWrites: number;
  readonly dynamodbReads: number;
  readonly medianRunMs: number;
}

const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

export async function benchPipelineCost(runs: number): Promise<PipelineCost> {
  const clock = new SimulatedClock(Date.parse('2026-03-02T00:00:00Z'));
  const rt = await startLocalRuntime({ clock, template: synthesizeTemplate(), workerHandlers: { coach_cleanup_worker: async (e) => workerResult(e, { sessions_cleaned: 1, sessions_skipped: 0, duration_ms: 1 }) } });
  const wall: number[] = [];
  let transitions = 0;
  let writes = 0;
  let reads = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const slot = new Date(Date.parse('2026-03-02T00:00:00Z') + i * 3_600_000).toISOString();
      clock.set(Date.parse(slot));
      rt.resetCounts();
      const t0 = performance.now();
      const exec = rt.start('coach_cleanup_worker', 'cleanup', { scheduledTime: slot, trigger: 'schedule' });
      const outcome = await exec.result;
      wall.push(performance.now() - t0);
      if (outcome.status !== 'SUCCEEDED') throw new Error(`run ${i} ended ${outcome.status}`);
      transitions = rt.runner.history(exec.executionArn).filter((e) => (e as { type: string }).type === 'StateEntered').length;
      writes = WRITES.reduce((n, c) => n + (rt.counts.dynamodb[c] ?? 0), 0);
      reads = Object.entries(rt.counts.dynamodb).filter(([c]) => !WRITES.includes(c)).reduce((n, [, v]) => n + v, 0);
    }
  } finally {
    await rt.close();
  }
  return { runs, transitions, dynamodbWrites: writes, dynamodbReads: reads, medianRunMs: median(wall) };
}
