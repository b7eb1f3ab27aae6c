import { HOUR_MS, type Scenario } from './types.js';

/**
 * The analytics flush worker dies on every run for three hours (its Lambda times out). Each run is
 * CRASHED (WORKER_CRASH, critical): the recovery restarts it once and pages on-call. The failure
 * rate the crashes make is a symptom of that incident, counted on it (one incident, one page); the
 * gate's breaker opens the circuit after the consecutive failures, so later slots are skipped until
 * a probe succeeds.
 */
export const crashLoop: Scenario = {
  name: 'crash-loop',
  description: 'analytics_flush_worker crashes (Lambda timeout) on every run from 01:00 to 04:00: WORKER_CRASH, restart, page, circuit.',
  hours: 6,
  prepare: ({ workerFaults, startMs }) => {
    workerFaults.set('analytics_flush_worker', { fromMs: startMs + HOUR_MS, untilMs: startMs + 4 * HOUR_MS, errorName: 'Sandbox.Timedout', message: 'Task timed out after 570.00 seconds' });
  },
};
