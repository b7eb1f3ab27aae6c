/**
 * The local symphony's speed and memory: `runs` runs of `hours` simulated hours, each in a fresh
 * process (bench/symphony-run.ts), so each peak RSS is its own run's. Reports medians.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

export interface SymphonyRun {
  readonly hours: number;
  readonly synthMs: number;
  readonly symphonyMs: number;
  readonly totalMs: number;
  readonly maxRssMb: number;
  readonly firings: number;
  readonly reports: number;
  readonly alerts: number;
  /** Requests the handlers sent to the embedded DynamoDB (the stream emulation's own reads excluded). */
  readonly dynamodbRequests: number;
}

export interface SymphonyBench {
  readonly hours: number;
  readonly runs: readonly SymphonyRun[];
  readonly medianTotalMs: number;
  readonly medianSymphonyMs: number;
  readonly medianMaxRssMb: number;
}

const RUNNER = fileURLToPath(new URL('./symphony-run.ts', import.meta.url));

export function benchSymphony(hours: number, runs: number): SymphonyBench {
  const out: SymphonyRun[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, String(hours), '1'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (child.status !== 0) throw new Error(`symphony run of ${hours} h failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
    const line = child.stdout.trim().split('\n').pop() ?? '';
    out.push(JSON.parse(line) as SymphonyRun);
  }
  return {
    hours,
    runs: out,
    medianTotalMs: median(out.map((r) => r.totalMs)),
    medianSymphonyMs: median(out.map((r) => r.symphonyMs)),
    medianMaxRssMb: median(out.map((r) => r.maxRssMb)),
  };
}
