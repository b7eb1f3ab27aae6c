/**
 * One measured symphony run, in its own process (bench/symphony.ts spawns it): prints one JSON
 * line with the wall time of each phase, the peak resident memory of the process and what ran.
 * Usage: tsx bench/symphony-run.ts <hours> [seed]
 */
import { synthesizeTemplate } from '../local/runtime.js';
import { runSymphony } from '../local/symphony.js';

const hours = Number(process.argv[2] ?? '24');
const seed = Number(process.argv[3] ?? '1');
const startMs = Date.parse('2026-03-02T00:00:00Z'); // bin/local.ts's default start

const t0 = performance.now();
const template = synthesizeTemplate();
const synthMs = performance.now() - t0;
let counts: { dynamodb: Record<string, number> } | undefined;
const result = await runSymphony({ startMs, hours, seed, template, prepare: ({ runtime }) => void (counts = runtime.counts) });
const dynamodbRequests = Object.values(counts?.dynamodb ?? {}).reduce((a, b) => a + b, 0);
const totalMs = performance.now() - t0;
console.log(
  JSON.stringify({
    hours,
    seed,
    synthMs,
    symphonyMs: result.wallMs,
    totalMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    firings: result.firings,
    reports: result.reports.length,
    alerts: result.alerts.length,
    dynamodbRequests,
  }),
);
