/**
 * `npm run bench`: every benchmark, printed as the markdown recorded in docs/benchmarks.md.
 * Options: --synth-runs N (default 3), --pipeline-runs N (default 50), --skip-synth,
 * --anomaly-runs N (default 5), --anomaly-records N (default 1000),
 * --symphony-hours H[,H...] (default 24,168; 0 skips), --symphony-runs N (default 1),
 * --scale N[,N...] (registry sizes to synthesize, default 14,60; '' skips),
 * --heap (a full GC each simulated hour, recording the heap left: is it flat?),
 * --baseline DIR (a checkout of older code: its symphony runs paired with the current ones,
 * medians and ratios reported), --only-symphony (skips the pipeline and anomaly benchmarks).
 */
import { parseArgs } from 'node:util';
import { benchAnomaly } from './anomaly.js';
import { benchDynamoFloor } from './dynamodb-floor.js';
import { benchPipelineCost } from './pipeline-cost.js';
import { benchSymphony, benchSymphonyPaired, type SymphonyRun } from './symphony.js';
import { measureScale, LIMITS } from './scale.js';
import { benchSynth, BUNDLE_BUDGET_BYTES } from './synth.js';

const { values } = parseArgs({
  options: {
    'synth-runs': { type: 'string', default: '3' },
    'pipeline-runs': { type: 'string', default: '50' },
    'skip-synth': { type: 'boolean', default: false },
    'anomaly-runs': { type: 'string', default: '5' },
    'anomaly-records': { type: 'string', default: '1000' },
    'symphony-hours': { type: 'string', default: '24,168' },
    'symphony-runs': { type: 'string', default: '1' },
    scale: { type: 'string', default: '14,60' },
    heap: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'only-symphony': { type: 'boolean', default: false },
  },
});
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

if (values['scale'] !== '') {
  console.log(`## Scale: in-process synth of generated registries (no bundling, no cdk-nag; limits ${LIMITS.resourcesPerStack} resources and ${kb(LIMITS.templateBytesPerStack)} per stack, ${kb(LIMITS.environmentBytes)} environment)\n`);
  console.log('| workers | synth time | parent stack (resources, template) | nested worker stacks (count, largest) | largest Lambda environment (template JSON) |\n|---|---|---|---|---|');
  for (const size of String(values['scale']).split(',').map(Number)) {
    const m = measureScale(size);
    // measureScale lists the nested stacks first and their parent last.
    const parent = m.stacks[m.stacks.length - 1];
    const nested = m.stacks.slice(0, -1);
    const largest = (key: 'resources' | 'templateBytes') => Math.max(0, ...nested.map((s) => s[key]));
    const parentText = m.failure ?? (parent ? `${parent.resources}, ${kb(parent.templateBytes)}` : 'n/a');
    console.log(`| ${m.workers} | ${(m.synthMs / 1000).toFixed(1)} s | ${parentText} | ${m.failure ? 'n/a' : `${nested.length}, ${largest('resources')} resources / ${kb(largest('templateBytes'))}`} | ${m.failure ? 'n/a' : `${m.largestEnvironment.fn} ${kb(m.largestEnvironment.bytes)}`} |`);
  }
  console.log('');
}

console.log(`# Benchmark run ${new Date().toISOString()} (node ${process.version})\n`);

if (!values['only-symphony']) {
  const cost = await benchPipelineCost(Number(values['pipeline-runs']));
  console.log(`## One simple scheduled run (coach_cleanup_worker.cleanup, ${cost.runs} runs)\n`);
  console.log('| measure | value | budget |\n|---|---|---|');
  console.log(`| state transitions | ${cost.transitions} | ≤ 8 |`);
  console.log(`| DynamoDB writes | ${cost.dynamodbWrites} | ≤ 4 |`);
  console.log(`| DynamoDB reads | ${cost.dynamodbReads} | |`);
  console.log(`| local wall time per run (median) | ${cost.medianRunMs.toFixed(1)} ms | |\n`);

  const anomaly = await benchAnomaly({ records: Number(values['anomaly-records']), runs: Number(values['anomaly-runs']) });
  const commands = Object.entries(anomaly.requestsByCommand).map(([c, n]) => `${c} ${n}`).join(', ');
  console.log(`## Anomaly Lambda over ${anomaly.records} stream records (embedded DynamoDB, batches of ${anomaly.batchSize}, ${anomaly.runs} runs)\n`);
  console.log('| measure | value | budget |\n|---|---|---|');
  console.log(`| records per second (median) | ${anomaly.recordsPerSecond.toFixed(0)} (runs ${anomaly.recordsPerSecondRuns.map((r) => r.toFixed(0)).join(', ')}) | |`);
  console.log(`| DynamoDB requests per steady-state report (${anomaly.steadyRecords} reports) | ${anomaly.steadyRequestsPerReport.toFixed(2)} | ≤ 2 |`);
  console.log(`| DynamoDB requests per report, all ${anomaly.records} | ${anomaly.requestsPerReport.toFixed(2)} (${commands}) | |`);
  console.log(`| alerts published / recoveries started | ${anomaly.published} / ${anomaly.recoveries} | |\n`);
  if (anomaly.steadyRequestsPerReport > 2) process.exitCode = 1;
}

const symphonyHours = String(values['symphony-hours'])
  .split(',')
  .map(Number)
  .filter((h) => h > 0);
if (symphonyHours.length > 0) {
  const runs = Number(values['symphony-runs']);
  const heap = values.heap;
  const baseline = values.baseline;
  const mb = (m: number): string => `${m.toFixed(0)} MB`;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const heapLine = (r: SymphonyRun | undefined): string => (r === undefined || r.heapAfterGcMb.length === 0 ? '' : ` heap after GC by hour (MB): ${r.heapAfterGcMb.join(', ')}`);
  if (baseline !== undefined) {
    console.log(`## Local symphony, paired with the baseline ${baseline} (${runs} pair(s) per span, baseline first, one process per run)\n`);
    console.log('| simulated span | side | wall (median) | CPU (median) | peak RSS (median) | runs: wall / CPU / RSS |\n|---|---|---|---|---|---|');
    const notes: string[] = [];
    for (const hours of symphonyHours) {
      const p = benchSymphonyPaired(baseline, hours, runs, heap);
      for (const [side, b] of [['baseline', p.baseline], ['current', p.current]] as const) {
        console.log(`| ${hours} h | ${side} | ${s(b.medianTotalMs)} | ${s(b.medianCpuMs)} | ${mb(b.medianMaxRssMb)} | ${b.runs.map((r) => `${s(r.totalMs)} / ${s(r.cpuMs)} / ${mb(r.maxRssMb)}`).join('; ')} |`);
        notes.push(`${hours} h ${side}:${heapLine(b.runs[0]) || ' (heap not sampled)'}`);
      }
      console.log(`| ${hours} h | current / baseline (median of pairs) | ${p.wallRatio.toFixed(2)} | ${p.cpuRatio.toFixed(2)} | ${p.rssRatio.toFixed(2)} | |`);
    }
    console.log('');
    if (heap) console.log(`${notes.join('\n\n')}\n`);
  }
}
if (symphonyHours.length > 0 && values.baseline === undefined) {
  const runs = Number(values['symphony-runs']);
  const floor = await benchDynamoFloor();
  console.log(`## One DynamoDB request in the local runtime (SDK v3 + dynalite in-process + stream emulation; ${floor.rounds} rounds of ${floor.requestsPerRound})\n`);
  console.log(`median ${floor.medianMsPerRequest.toFixed(3)} ms per request (rounds ${floor.msPerRequestRuns.map((m) => m.toFixed(3)).join(', ')})\n`);
  console.log(`## Local symphony (npm start's default start and seed, ${runs} run(s) each, one process per run)\n`);
  console.log('| simulated span | wall time (median) | of which synth | peak RSS (median) | firings | reports | alerts | DynamoDB requests | their floor (requests x median ms) |\n|---|---|---|---|---|---|---|---|---|');
  for (const hours of symphonyHours) {
    const b = benchSymphony(hours, runs, values.heap);
    const first = b.runs[0];
    const requests = first?.dynamodbRequests ?? 0;
    console.log(
      `| ${hours} h | ${(b.medianTotalMs / 1000).toFixed(1)} s (runs ${b.runs.map((r) => (r.totalMs / 1000).toFixed(1)).join(', ')}) | ${((first?.synthMs ?? 0) / 1000).toFixed(1)} s | ${b.medianMaxRssMb.toFixed(0)} MB | ${first?.firings ?? 0} | ${first?.reports ?? 0} | ${first?.alerts ?? 0} | ${requests} | ${((requests * floor.medianMsPerRequest) / 1000).toFixed(1)} s |`,
    );
  }
  console.log('');
}

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
