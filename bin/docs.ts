#!/usr/bin/env node
/**
 * `npm run docs`: rewrites the README's generated blocks from the real CLI (local/readme-samples.ts):
 * each `<!-- sample: npm start -- ARGS | SECTIONS -->` block with what `npm start -- ARGS` prints,
 * and the scenario table with each scenario's description and what its default run shows
 * (`npm start -- --scenario NAME --json`). Runs one CLI at a time; a full refresh takes minutes.
 * `npm run docs -- --samples` skips the scenario table (the slow part).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runSummary, sampleBody, withSamples, withScenarioTable, type RunSummaryInput } from '../local/readme-samples.js';
import { SCENARIOS } from '../scenarios/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = `${ROOT}README.md`;

function npmStart(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    console.error(`npm start -- ${args.join(' ')}`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`npm start -- ${args.join(' ')} exited ${code}`))));
  });
}

let readme = await readFile(README, 'utf8');
// One at a time: the machine has two cores, and each run is a whole local runtime.
let queue: Promise<unknown> = Promise.resolve();
const oneAtATime = <T>(task: () => Promise<T>): Promise<T> => {
  const next = queue.then(task);
  queue = next.catch(() => undefined);
  return next;
};
readme = await withSamples(readme, (block) => oneAtATime(async () => sampleBody(await npmStart(block.args), block.sections)));

if (!process.argv.includes('--samples')) {
  const rows = ['| scenario | injects | its default run (`npm start -- --scenario NAME`) shows |', '|---|---|---|'];
  for (const scenario of SCENARIOS) {
    const result = JSON.parse(await npmStart(['--scenario', scenario.name, '--json'])) as RunSummaryInput;
    rows.push(`| \`${scenario.name}\` | ${scenario.description.replaceAll('|', '\\|')} | ${runSummary(result).replaceAll('|', '\\|')} |`);
  }
  readme = withScenarioTable(readme, `${rows.join('\n')}\n`);
}
await writeFile(README, readme);
console.error('README.md updated.');
