/**
 * `npm run cost`: the monthly AWS cost estimate of the deployed registry (bench/cost-model.ts),
 * printed as the markdown table the README quotes. Runs per month come from the registry's
 * schedules over 30 days; alarms, KMS keys and secrets are counted in the synthesized template.
 * Options: --on-demand-per-day N (jobs per day per on-demand job, default 20).
 */
import { parseArgs } from 'node:util';
import { SWEEP_INTERVAL_MINUTES } from '../lib/domain/health-sweep.js';
import { countOccurrences } from '../lib/domain/schedule-math.js';
import { HEALTH_SWEEP_DEFAULTS } from '../lib/constructs/health-sweep.js';
import { ALL_WORKERS, type WorkerSpec } from '../lib/registry/index.js';
import { synthesizeTemplate } from '../local/runtime.js';
import { estimateMonthlyCost, PRICES_USD, type CostFixed, type CostJob } from './cost-model.js';

const DAYS = 30;
const DAY_MS = 86_400_000;

/** Runs per month of every job: its schedules, its place in sub-pipelines, or an on-demand volume. */
export function costJobs(workers: readonly WorkerSpec[], onDemandPerDay: number, fromMs = Date.UTC(2026, 0, 1)): CostJob[] {
  const toMs = fromMs + DAYS * DAY_MS;
  const stageRuns = new Map<string, number>();
  for (const w of workers) {
    for (const job of w.jobs) {
      const runs = countOccurrences(job.schedules, fromMs, toMs);
      for (const stage of w.stages ?? []) stageRuns.set(`${stage.worker}.${stage.job}`, (stageRuns.get(`${stage.worker}.${stage.job}`) ?? 0) + runs);
    }
  }
  return workers.flatMap((w) =>
    w.jobs.map((job) => {
      const key = `${w.id}.${job.id}`;
      const scheduled = countOccurrences(job.schedules, fromMs, toMs) + (stageRuns.get(key) ?? 0);
      return {
        key,
        runsPerMonth: w.executionModel === 'on-demand' ? onDemandPerDay * DAYS : scheduled,
        memoryMb: w.memoryMb,
        expectedDurationSeconds: job.expectedDurationSeconds,
        fanOutItems: job.fanOut?.maxItems ?? 0,
        cycle: w.executionModel === 'sub-pipeline',
      };
    }),
  );
}

function main(): void {
  const { values } = parseArgs({ options: { 'on-demand-per-day': { type: 'string', default: '20' } } });
  const onDemandPerDay = Number(values['on-demand-per-day']);
  const template = synthesizeTemplate() as { Resources: Record<string, { Type: string }> };
  const count = (type: string): number => Object.values(template.Resources).filter((r) => r.Type === type).length;
  const fixed: CostFixed = {
    sweepRunsPerMonth: (DAYS * DAY_MS) / (SWEEP_INTERVAL_MINUTES * 60_000),
    sweepMemoryMb: HEALTH_SWEEP_DEFAULTS.memorySizeMb,
    sweepSeconds: 1,
    alarms: count('AWS::CloudWatch::Alarm'),
    kmsKeys: count('AWS::KMS::Key'),
    secrets: count('AWS::SecretsManager::Secret'),
  };
  const estimate = estimateMonthlyCost(costJobs(ALL_WORKERS, onDemandPerDay), fixed);
  const usd = (n: number): string => `$${n.toFixed(2)}`;
  const qty = (n: number): string => (n >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  console.log(`Monthly cost estimate (${DAYS} days, us-east-1 list prices of ${PRICES_USD.asOf}, no free tier; ${estimate.runsPerMonth.toLocaleString('en-US')} pipeline runs, ${onDemandPerDay} on-demand jobs per day per on-demand job):\n`);
  console.log('| item | quantity | monthly |\n|---|---|---|');
  for (const line of estimate.lines) console.log(`| ${line.item} | ${qty(line.quantity)} ${line.unit} | ${usd(line.usd)} |`);
  console.log(`| **total** | | **${usd(estimate.totalUsd)}** |`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
