/**
 * The fault scenarios of `npm start -- --scenario <name>`. Each file documents what it injects and
 * what the design says should be detected and healed.
 */
import { corruptOutput } from './corrupt-output.js';
import { crashLoop } from './crash-loop.js';
import { generationFlood } from './generation-flood.js';
import { memoryPressure } from './memory-pressure.js';
import { slowExecution } from './slow-execution.js';
import { stuckLock } from './stuck-lock.js';
import { twitchOutage } from './twitch-outage.js';
import { upstreamFailure } from './upstream-failure.js';
import type { Scenario } from './types.js';
import { youtubeQuotaExhaustion } from './youtube-quota-exhaustion.js';

export type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [twitchOutage, crashLoop, corruptOutput, stuckLock, generationFlood, youtubeQuotaExhaustion, slowExecution, upstreamFailure, memoryPressure];

export function scenarioByName(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) throw new Error(`unknown scenario "${name}"; the scenarios are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return scenario;
}
