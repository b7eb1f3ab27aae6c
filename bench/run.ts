/**
 * `npm run bench`: every benchmark, printed as the markdown recorded in docs/benchmarks.md.
 * Options: --synth-runs N (default 3), --pipeline-runs N (default 50), --skip-synth.
 */
import { parseArgs } from 'node:util';
import { benchPipelineCost } from './pipeline-cost.js';
import { benchSynth, BUNDLE_BUDGET_BYTES } from './synth.js';

const { values } = parseArgs({ options: { 'synth-runs': { type: 'string', default: '3' }, 'pipeline-runs': { type: 'string', default: '50' }, 'skip-synth': { type: 'boolean', default: false } } });
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

console.log(`# Benchmark run ${new Date().toISOString()} (node ${process.version})\n`);

const cost = await benchPipelineCost(Number(values['pipeline-runs']));
console.log(`## One simple scheduled run (coach_cleanup_worker.cleanup, ${cost.runs} runs)\n`);
console.log('| measure | value | budget |\n|---|---|---|');
console.log(`| state transitions | ${cost.transitions} | ≤ 8 |`);
console.log(`| DynamoDB writes | ${cost.dynamodbWrites} | ≤ 4 |`);
console.log(`| DynamoDB reads | ${cost.dynamodbReads} | |`);
console.log(`| local wall time per run (median) | ${cost.medianRunMs.toFixed(1)} ms | |\n`);

if (!values['skip-synth']) {
  const synth = benchSynth(Number(values['synth-runs']));
  console.log(`## cdk synth (${synth.runs} runs: bundling, cdk-nag, CloudFormation validation)\n`);
  console.log(`median ${(synth.medianMs / 1000).toFixed(1)} s; runs ${synth.wallMs.map((m) => (m / 1000).toFixed(1)).join(', ')} s\n`);
  console.log(`## Bundle sizes (minified ESM, budget ${kb(BUNDLE_BUDGET_BYTES)} each)\n`);
  console.log('| function | size | within budget |\n|---|---|---|');
  for (const b of synth.bundles) console.log(`| ${b.fn} | ${kb(b.bytes)} | ${b.bytes <= BUNDLE_BUDGET_BYTES ? 'yes' : '**no**'} |`);
  const over = synth.bundles.filter((b) => b.bytes > BUNDLE_BUDGET_BYTES);
  if (over.length > 0) process.exitCode = 1;
}
