/**
 * The local symphony's speed and memory: `runs` runs of `hours` simulated hours, each in a fresh
 * process (bench/symphony-run.ts), so each peak RSS is its own run's. Reports medians.
 *
 * With a baseline (a checkout of older code, `--baseline DIR`), the runs are paired: baseline,
 * then current, `runs` times, so both sides see the same noise of a shared machine; the report
 * gives each side's medians and the ratios of the pairs. The baseline runs the current
 * bench/symphony-run.ts (copied into it if it has an older one), so both measure the same things.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';

export interface SymphonyRun {
  readonly hours: number;
  readonly synthMs: number;
  readonly symphonyMs: number;
  readonly totalMs: number;
  /** CPU time (user + system) of the whole process. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly firings: number;
  readonly reports: number;
  readonly alerts: number;
  /** Requests the handlers sent to the embedded DynamoDB (the stream emulation's own reads excluded). */
  readonly dynamodbRequests: number;
  /** JavaScript heap in use after a full GC, at the end of each simulated hour (when sampled). */
  readonly heapAfterGcMb: readonly number[];
}

export interface SymphonyBench {
  readonly hours: number;
  readonly runs: readonly SymphonyRun[];
  readonly medianTotalMs: number;
  readonly medianSymphonyMs: number;
  readonly medianCpuMs: number;
  readonly medianMaxRssMb: number;
}

export interface PairedSymphonyBench {
  readonly baseline: SymphonyBench;
  readonly current: SymphonyBench;
  /** Median of current / baseline over the pairs. */
  readonly wallRatio: number;
  readonly cpuRatio: number;
  readonly rssRatio: number;
}

const RUNNER = fileURLToPath(new URL('./symphony-run.ts', import.meta.url));

function runOnce(runner: string, cwd: string, hours: number, heap: boolean): SymphonyRun {
  const args = [...(heap ? ['--expose-gc'] : []), '--import', 'tsx', runner, String(hours), '1', ...(heap ? ['heap'] : [])];
  const child = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`symphony run of ${hours} h in ${cwd} failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return { heapAfterGcMb: [], ...(JSON.parse(line) as Omit<SymphonyRun, 'heapAfterGcMb'>) };
}

function summary(hours: number, runs: readonly SymphonyRun[]): SymphonyBench {
  return {
    hours,
    runs,
    medianTotalMs: median(runs.map((r) => r.totalMs)),
    medianSymphonyMs: median(runs.map((r) => r.symphonyMs)),
    medianCpuMs: median(runs.map((r) => r.cpuMs)),
    medianMaxRssMb: median(runs.map((r) => r.maxRssMb)),
  };
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

export function benchSymphony(hours: number, runs: number, heap = false): SymphonyBench {
  const out: SymphonyRun[] = [];
  for (let i = 0; i < runs; i++) out.push(runOnce(RUNNER, REPO, hours, heap));
  return summary(hours, out);
}

export function benchSymphonyPaired(baselineDir: string, hours: number, runs: number, heap = false): PairedSymphonyBench {
  const baselineRunner = join(baselineDir, 'bench', 'symphony-run.ts');
  if (readFileSync(baselineRunner, 'utf8') !== readFileSync(RUNNER, 'utf8')) copyFileSync(RUNNER, baselineRunner);
  const before: SymphonyRun[] = [];
  const after: SymphonyRun[] = [];
  for (let i = 0; i < runs; i++) {
    before.push(runOnce(baselineRunner, baselineDir, hours, heap));
    after.push(runOnce(RUNNER, REPO, hours, heap));
  }
  const ratio = (pick: (r: SymphonyRun) => number): number => median(after.map((a, i) => pick(a) / pick(before[i] as SymphonyRun)));
  return {
    baseline: summary(hours, before),
    current: summary(hours, after),
    wallRatio: ratio((r) => r.totalMs),
    cpuRatio: ratio((r) => r.cpuMs),
    rssRatio: ratio((r) => r.maxRssMb),
  };
}
