import type { Scenario } from './types.js';

const MINUTE_MS = 60_000;

/**
 * YouTube's games fetch, the intel cycle's first stage, fails for 20 minutes from 00:00 (the
 * YouTube API answers 503 to it; trending is unaffected). The 00:00 cycle fails because of its
 * stage, so creator intel and playbook do not run: one root cause, the games job, with the cycle
 * and its later stages as the impacted jobs. One incident and at most one page; the recovery
 * retries the games fetch until it succeeds.
 */
export const upstreamFailure: Scenario = {
  name: 'upstream-failure',
  description: 'youtube_worker.games (the intel cycle\'s first stage) fails from 00:00 to 00:20: the cycle and its dependents are impacted, one incident on the upstream job.',
  hours: 2,
  prepare: ({ workerFaults, startMs }) => {
    workerFaults.set('youtube_worker', { job: 'games', fromMs: startMs, untilMs: startMs + 20 * MINUTE_MS, errorName: 'TransientUpstreamError', message: 'YouTube Data API answered 503 to the games fetch' });
  },
};
