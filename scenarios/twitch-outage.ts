import { HOUR_MS, type Scenario } from './types.js';

/**
 * The Twitch API is down for two hours (503 from Helix). Twitch streams polls fail and are retried,
 * then recorded FAILED; HIGH_FAILURE_RATE opens the circuit (the recovery's HALF_OPEN probe closes
 * it once Twitch is back); playbook's Twitch data goes stale, so the intel cycle forces a refresh.
 */
export const twitchOutage: Scenario = {
  name: 'twitch-outage',
  description: 'Twitch Helix answers 503 from 01:00 to 03:00: failures, HIGH_FAILURE_RATE, circuit open, probe, recovery.',
  hours: 5,
  prepare: ({ sandbox, startMs }) => {
    sandbox.faults.outage('twitch', { fromMs: startMs + HOUR_MS, untilMs: startMs + 3 * HOUR_MS });
  },
};
