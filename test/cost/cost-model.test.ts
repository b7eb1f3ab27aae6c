/** The monthly cost arithmetic (bench/cost-model.ts) and the runs it derives from the registry (bench/cost.ts). */
import { describe, expect, it } from 'vitest';
import { costJobs } from '../../bench/cost.js';
import { estimateMonthlyCost, FAN_OUT_BASE_TRANSITIONS, PRICES_USD, SIMPLE_RUN_TRANSITIONS, transitionsPerRun, type CostFixed, type CostJob } from '../../bench/cost-model.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';

const NO_FIXED: CostFixed = { sweepRunsPerMonth: 0, sweepMemoryMb: 0, sweepSeconds: 0, alarms: 0, kmsKeys: 0, secrets: 0 };
const line = (e: ReturnType<typeof estimateMonthlyCost>, item: string) => {
  const l = e.lines.find((x) => x.item === item);
  if (!l) throw new Error(item);
  return l;
};

describe('estimateMonthlyCost', () => {
  it('prices one simple job by hand: transitions, GB-seconds, requests and DynamoDB requests', () => {
    // 1,000 runs of a 1,024 MB worker taking 10 s.
    const job: CostJob = { key: 'a.b', runsPerMonth: 1000, memoryMb: 1024, expectedDurationSeconds: 10, fanOutItems: 0, cycle: false };
    const e = estimateMonthlyCost([job], NO_FIXED);
    expect(line(e, 'Step Functions state transitions').quantity).toBe(6000);
    expect(line(e, 'Step Functions state transitions').usd).toBeCloseTo(0.15, 10);
    // 1,000 x (1 GB x 10 s) + 1,000 x 2 protocol calls x 0.25 GB x 0.1 s = 10,000 + 50.
    expect(line(e, 'Lambda compute').quantity).toBeCloseTo(10_050, 6);
    expect(line(e, 'Lambda compute').usd).toBeCloseTo(10_050 * 0.0000133334, 10);
    expect(line(e, 'Lambda requests').quantity).toBe(3000);
    expect(line(e, 'DynamoDB writes').quantity).toBe(4000);
    expect(line(e, 'DynamoDB writes').usd).toBeCloseTo(0.0025, 10);
    expect(line(e, 'DynamoDB reads').quantity).toBe(4000);
    expect(e.totalUsd).toBeCloseTo(e.lines.reduce((s, l) => s + l.usd, 0), 10);
    expect(e.runsPerMonth).toBe(1000);
  });

  it('counts a fan-out per item and a cycle by its own states only', () => {
    expect(transitionsPerRun({ key: 'x', runsPerMonth: 1, memoryMb: 512, expectedDurationSeconds: 1, fanOutItems: 24, cycle: false })).toBe(FAN_OUT_BASE_TRANSITIONS + 24);
    expect(transitionsPerRun({ key: 'x', runsPerMonth: 1, memoryMb: 512, expectedDurationSeconds: 1, fanOutItems: 0, cycle: false })).toBe(SIMPLE_RUN_TRANSITIONS);
    const cycle = estimateMonthlyCost([{ key: 'c', runsPerMonth: 10, memoryMb: 0, expectedDurationSeconds: 1200, fanOutItems: 0, cycle: true }], NO_FIXED);
    // No worker compute of its own: only its gate and record.
    expect(line(cycle, 'Lambda compute').quantity).toBeCloseTo(10 * 2 * 0.25 * 0.1, 10);
    expect(line(cycle, 'Lambda requests').quantity).toBe(20);
  });

  it('adds the fixed items: alarms, keys, secrets and the sweep', () => {
    const e = estimateMonthlyCost([], { sweepRunsPerMonth: 8640, sweepMemoryMb: 256, sweepSeconds: 1, alarms: 49, kmsKeys: 1, secrets: 2 });
    expect(line(e, 'CloudWatch alarms').usd).toBeCloseTo(4.9, 10);
    expect(line(e, 'KMS keys and requests').usd).toBeCloseTo(PRICES_USD.kmsKeyPerMonth, 10);
    expect(line(e, 'Secrets Manager').usd).toBeCloseTo(0.8, 10);
    expect(line(e, 'Lambda compute').quantity).toBeCloseTo(2160, 10);
    expect(line(e, 'Lambda requests').quantity).toBe(8640);
  });
});

describe('costJobs', () => {
  it('derives runs per month from the registry schedules and the intel cycle stages', () => {
    const jobs = new Map(costJobs(ALL_WORKERS, 20).map((j) => [j.key, j]));
    // Every 5 minutes for 30 days.
    expect(jobs.get('clip_radar_worker.poll')?.runsPerMonth).toBe(8640);
    // Daily at 05:00, plus every 4 h as the intel cycle's first stage.
    expect(jobs.get('youtube_worker.games')?.runsPerMonth).toBe(30 + 180);
    expect(jobs.get('playbook_worker.synthesize')?.runsPerMonth).toBe(180);
    expect(jobs.get('intel_orchestrator.cycle')).toMatchObject({ runsPerMonth: 180, cycle: true });
    expect(jobs.get('twitch_worker.pack')).toMatchObject({ runsPerMonth: 600, fanOutItems: 50 });
  });
});
