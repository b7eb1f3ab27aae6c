/**
 * The names of the fault scenarios, with no import: the CLI checks `--scenario` against this list
 * before it loads anything heavy. `scenarios/index.ts` holds the scenarios themselves; a test keeps
 * the two lists equal.
 */
export const SCENARIO_NAMES = ['twitch-outage', 'crash-loop', 'corrupt-output', 'stuck-lock', 'generation-flood', 'youtube-quota-exhaustion', 'slow-execution', 'upstream-failure', 'memory-pressure'] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];
