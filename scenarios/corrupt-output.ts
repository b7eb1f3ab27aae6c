import { HOUR_MS, type Scenario } from './types.js';

/**
 * YouTube returns garbled records (nonsense in numeric fields) for two hours. The YouTube worker's
 * output validation counts them invalid: DATA_CORRUPTION (critical) and low data-quality scores.
 */
export const corruptOutput: Scenario = {
  name: 'corrupt-output',
  description: 'YouTube answers garbled records from 01:00 to 03:00: invalid records, DATA_CORRUPTION, low data quality.',
  hours: 4,
  prepare: ({ sandbox, startMs }) => {
    sandbox.faults.corrupt('youtube', 'garble', { fromMs: startMs + HOUR_MS, untilMs: startMs + 3 * HOUR_MS });
  },
};
