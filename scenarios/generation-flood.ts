import { HOUR_MS, type Scenario } from './types.js';

/** Jobs in the design's flood: more than its queue-depth threshold (1,000). */
export const FLOOD_JOBS = 1500;
export const FLOOD_WORKER = 'generation_worker';

export interface FloodOptions {
  /** @default FLOOD_JOBS; more than 1,000 (plus the first poll's 50) for the sweep to see an overflow. */
  readonly jobs?: number;
  /** When the flood lands, after the start. @default one hour */
  readonly afterMs?: number;
  /** @default 2 */
  readonly hours?: number;
}

/** The request id of the flood's n-th job (1-based). */
export const floodRequestId = (n: number): string => `flood-${String(n).padStart(4, '0')}`;

/**
 * A flood of generation jobs lands on the generation worker's queue at once. The health sweep
 * (every 5 minutes) sees the depth above 1,000: a HEALTH QUEUE_OVERFLOW finding, which the anomaly
 * Lambda alerts on (CRITICAL). The recovery doubles the consumers' maximum concurrency (10 -> 20)
 * and pauses the worker's intake for 15 minutes: the gate holds the jobs it receives back (SKIP
 * PAUSED), which stay queued (in flight until the queue's visibility timeout, then visible again),
 * and the raised consumers drain the queue after the pause. Every job ends with one report.
 */
export function generationFloodScenario(options: FloodOptions = {}): Scenario {
  const jobs = options.jobs ?? FLOOD_JOBS;
  const afterMs = options.afterMs ?? HOUR_MS;
  return {
    name: 'generation-flood',
    description: `${jobs} generation jobs are queued at once: QUEUE_OVERFLOW, consumers scaled, intake paused, queue drained.`,
    hours: options.hours ?? 2,
    prepare: (ctx) => {
      const atMs = ctx.startMs + afterMs;
      ctx.at(atMs, ({ queues }) => {
        const enqueuedAt = new Date(atMs).toISOString();
        for (let n = 1; n <= jobs; n++) {
          const requestId = floodRequestId(n);
          queues.send(FLOOD_WORKER, { requestId, job: 'generate', enqueuedAt, request: { jobId: requestId, prompt: `flood asset ${n}`, width: 64, height: 64, enqueuedAt } });
        }
      });
    },
  };
}

/** The design's flood: 1,500 generation jobs at 01:00, over two hours. */
export const generationFlood: Scenario = generationFloodScenario();
