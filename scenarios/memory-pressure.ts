import type { Scenario } from './types.js';

const MINUTE_MS = 60_000;

/**
 * Clip radar's polls peak at 95 % of their memory for one hour (00:10 to 01:10): every poll in
 * that hour is RESOURCE_EXHAUSTION (critical, alert only: the design has no recovery for it). One
 * condition lasting an hour across four 15-minute dedup windows: one incident and at most one page,
 * resolved once the polls are back under the threshold.
 */
export const memoryPressure: Scenario = {
  name: 'memory-pressure',
  description: 'clip_radar_worker peaks at 95% of its memory from 00:10 to 01:10: RESOURCE_EXHAUSTION for an hour, one incident.',
  hours: 1.5,
  prepare: ({ workerMemory, startMs }) => {
    workerMemory.set('clip_radar_worker', { fromMs: startMs + 10 * MINUTE_MS, untilMs: startMs + 70 * MINUTE_MS, percent: 95 });
  },
};
