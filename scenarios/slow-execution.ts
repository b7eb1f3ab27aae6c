import type { SymphonyContext } from '../local/symphony.js';
import { type Scenario } from './types.js';

const MINUTE_MS = 60_000;
/** Simulated time each `/helix/streams` answer takes while the fault lasts. */
export const SLOW_STREAMS_ANSWER_MS = 25_000;
/** The longest real time a slow answer waits for the slot's other runs before it counts anyway. */
const OTHERS_WAIT_CAP_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts `ms` on the symphony's clock once every other execution of the slot has ended. The
 * simulated clock is shared: a jump while clip radar or youtube are still running would make their
 * runs look slow too. Deferring it keeps their durations true (after them, the slow run is alone).
 */
function advanceWhenAlone({ runtime, clock }: SymphonyContext, pipeline: string): (ms: number) => Promise<void> {
  const machines = Object.entries(runtime.template.Resources as Record<string, { Type: string }>)
    .filter(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id !== pipeline)
    .map(([id]) => id);
  const othersRunning = (): boolean => machines.some((id) => runtime.runner.listExecutions(id).some((e) => e.status === 'RUNNING'));
  return async (ms) => {
    const giveUpAt = performance.now() + OTHERS_WAIT_CAP_MS;
    while (othersRunning() && performance.now() < giveUpAt) await sleep(10);
    clock.advance(ms);
  };
}

/**
 * Twitch's streams endpoint turns slow for an hour: every `/helix/streams` answer takes 25 s of
 * simulated time (the sandbox counts it on the symphony's clock; real-time latency could not make
 * a run take minutes). twitch_streams_worker.poll (expected 90 s, timeout 300 s) pages through the
 * top games' streams, so its runs take past 180 s (SLOW_EXECUTION, high) and past 240 s
 * (TIMEOUT_WARNING, medium). SLOW_EXECUTION's recovery cannot raise the step timeout (it already is
 * the job's whole budget) and records its recommendation instead. Clip radar shares the Twitch API
 * but not that endpoint; the simulated time is counted once the slot's other runs have ended, so
 * that the shared clock does not make them look slow.
 */
export const slowExecution: Scenario = {
  name: 'slow-execution',
  description:
    'Twitch /helix/streams answers take 25 s (simulated) from 00:30 to 01:30: twitch_streams_worker runs > 2x expected (SLOW_EXECUTION) and > 80% of the timeout (TIMEOUT_WARNING); the recovery raises the poll work-step timeout within its bound (1.5x the registry value).',
  hours: 2,
  prepare: (ctx) => {
    ctx.sandbox.faults.slowdown(
      'twitch',
      { pathPrefix: '/helix/streams', simulatedMs: SLOW_STREAMS_ANSWER_MS, advance: advanceWhenAlone(ctx, ctx.runtime.pipelineOf('twitch_streams_worker', 'poll')) },
      { fromMs: ctx.startMs + 30 * MINUTE_MS, untilMs: ctx.startMs + 90 * MINUTE_MS },
    );
  },
};
