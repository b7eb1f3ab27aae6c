/**
 * One measured symphony run, in its own process (bench/symphony.ts spawns it): prints one JSON
 * line with the wall time of each phase, the peak resident memory of the process and what ran.
 * Usage: tsx bench/symphony-run.ts <hours> [seed] [heap]
 * With `heap` (and node's `--expose-gc`), a full GC runs at each simulated hour and the heap in use
 * after it is recorded (`heapAfterGcMb`, one value per hour): whether memory stays flat.
 */
import { synthesizeTemplate } from '../local/runtime.js';
import { runSymphony } from '../local/symphony.js';

const hours = Number(process.argv[2] ?? '24');
const seed = Number(process.argv[3] ?? '1');
const sampleHeap = process.argv[4] === 'heap';
const gc = (globalThis as { gc?: () => void }).gc;
if (sampleHeap && gc === undefined) throw new Error('heap sampling needs node --expose-gc');
const startMs = Date.parse('2026-03-02T00:00:00Z'); // bin/local.ts's default start

const t0 = performance.now();
const template = synthesizeTemplate();
const synthMs = performance.now() - t0;
let counts: { dynamodb: Record<string, number> } | undefined;
const heapAfterGcMb: number[] = [];
const onProgress = (_done: number, _total: number, atMs: number): void => {
  const hour = Math.floor((atMs - startMs) / 3_600_000);
  if (!sampleHeap || gc === undefined || hour <= heapAfterGcMb.length) return;
  gc();
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  while (heapAfterGcMb.length < hour) heapAfterGcMb.push(heapMb);
  // Progress on stderr (stdout is the one result line): a long run can be watched, or cut short.
  process.stderr.write(`hour ${hour}: heap after GC ${heapMb.toFixed(1)} MB, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, CPU ${((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1)} s\n`);
};
const result = await runSymphony({ startMs, hours, seed, template, onProgress, prepare: ({ runtime }) => void (counts = runtime.counts) });
const dynamodbRequests = Object.values(counts?.dynamodb ?? {}).reduce((a, b) => a + b, 0);
const totalMs = performance.now() - t0;
console.log(
  JSON.stringify({
    hours,
    seed,
    synthMs,
    symphonyMs: result.wallMs,
    totalMs,
    // CPU time (user + system) of the whole process: less sensitive than wall time to a shared machine.
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    firings: result.firings,
    reports: result.reports.length,
    alerts: result.alerts.length,
    dynamodbRequests,
    dynamodbByOperation: counts?.dynamodb ?? {},
    heapAfterGcMb: heapAfterGcMb.map((m) => Math.round(m * 10) / 10),
  }),
);
