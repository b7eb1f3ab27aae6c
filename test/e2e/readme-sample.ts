/**
 * Holds a README sample (local/readme-samples.ts) to what the CLI prints today. The e2e tests that
 * already run the sample's simulation call this with their result, so the check costs no extra run:
 * it first proves that the sample's `npm start` arguments mean exactly the options of that run
 * (the CLI's own parser), then renders the result as the CLI does and compares the sections.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { DEFAULT_START, parseLocalArgs } from '../../local/cli-options.js';
import { sampleBlocks, sampleBody } from '../../local/readme-samples.js';
import { renderSymphony } from '../../local/report.js';
import type { SymphonyResult } from '../../local/symphony.js';

export interface SampleRun {
  readonly startMs: number;
  readonly hours: number;
  readonly seed: number;
  readonly scenario?: string;
}

export function expectReadmeSample(args: string, run: SampleRun, result: SymphonyResult): void {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = sampleBlocks(readme).find((b) => b.args.join(' ') === args);
  expect(block, `the README has a sample of npm start -- ${args}`).toBeDefined();
  const parsed = parseLocalArgs(args.split(' '));
  if (parsed.kind !== 'run') throw new Error(`npm start -- ${args}: ${JSON.stringify(parsed)}`);
  expect({ startMs: parsed.options.startMs ?? Date.parse(DEFAULT_START), hours: parsed.options.hours, seed: parsed.options.seed, scenario: parsed.options.scenario }).toEqual({ scenario: undefined, ...run });
  expect(block?.body, `README sample of npm start -- ${args} is out of date: run npm run docs`).toBe(sampleBody(renderSymphony(result), block?.sections ?? []));
}
