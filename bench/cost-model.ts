/**
 * The monthly AWS cost of the orchestrator, from the registry's schedules: pure arithmetic, so a
 * test checks it and `npm run cost` (bench/cost.ts) prints it for the deployed registry.
 *
 * Prices are on-demand list prices of us-east-1 (arm64 Lambda, Standard workflows, DynamoDB
 * on-demand), without the free tier; they are data here ({@link PRICES_USD}), dated.
 *
 * Per run of a job:
 * - state transitions: a simple run takes {@link SIMPLE_RUN_TRANSITIONS} (measured by `npm run bench`);
 *   a fan-out adds its guard and Map states and one transition per item (maxItems, the bound);
 *   a sub-pipeline counts its own states, and its stages count as runs of their jobs;
 * - Lambda: the worker's memory x the job's expected duration (one invocation, or plan + items),
 *   plus the protocol Lambda's gate and record;
 * - DynamoDB: the measured writes and reads of a run, plus the anomaly Lambda's requests per report.
 * Fixed per month: the health sweep, CloudWatch alarms, KMS keys, secrets.
 */

export const PRICES_USD = {
  /** As of 2026-01 (us-east-1). */
  asOf: '2026-01',
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerGbSecondArm: 0.0000133334,
  lambdaPerRequest: 0.2 / 1_000_000,
  dynamoPerWriteRequest: 0.625 / 1_000_000,
  dynamoPerReadRequest: 0.125 / 1_000_000,
  alarmPerMonth: 0.1,
  kmsKeyPerMonth: 1,
  kmsPerRequest: 0.03 / 10_000,
  secretPerMonth: 0.4,
  secretsPerApiCall: 0.05 / 10_000,
  logsPerGbIngested: 0.5,
} as const;

/** Measured by `npm run bench` (docs/benchmarks.md): Gate, Decide, Work, Record, Outcome, Recorded. */
export const SIMPLE_RUN_TRANSITIONS = 6;
/** A fan-out run: Gate, Decide, Plan, CountItems, WithinBound, FanOut, Record, Outcome, end; plus one per item. */
export const FAN_OUT_BASE_TRANSITIONS = 9;
/** The intel cycle's own states: gate, decide, 3 stages, freshness query/check/choice, record, outcome, end. */
export const CYCLE_TRANSITIONS = 11;
/** Measured per simple run (docs/benchmarks.md): 4 writes, 2 reads; the anomaly Lambda adds ≤ 2 per report. */
export const DYNAMO_WRITES_PER_RUN = 4;
export const DYNAMO_READS_PER_RUN = 2;
export const ANOMALY_REQUESTS_PER_REPORT = 2;
/** The protocol Lambda's memory (lib/stacks) and a gate or record call's billed duration. */
export const PROTOCOL_MEMORY_MB = 256;
export const PROTOCOL_CALL_SECONDS = 0.1;
/** Execution-log bytes per state transition (logging ALL with execution data). */
export const LOG_BYTES_PER_TRANSITION = 1500;
/** Secrets Manager reads per worker run (cached per container; one per cold start at worst). */
export const SECRET_CALLS_PER_RUN = 0.1;
/** KMS requests per run (SQS/SNS data keys are cached: a small fraction per message). */
export const KMS_REQUESTS_PER_RUN = 0.2;

/** One job as the cost model sees it. */
export interface CostJob {
  readonly key: string;
  readonly runsPerMonth: number;
  readonly memoryMb: number;
  readonly expectedDurationSeconds: number;
  /** Items of a fan-out at most (its maxItems); 0 when it does not fan out. */
  readonly fanOutItems: number;
  /** A sub-pipeline (its stages are billed as their own jobs' runs). */
  readonly cycle: boolean;
}

export interface CostFixed {
  readonly sweepRunsPerMonth: number;
  readonly sweepMemoryMb: number;
  readonly sweepSeconds: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly secrets: number;
}

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly runsPerMonth: number;
}

/** State transitions of one run of `job`. */
export function transitionsPerRun(job: CostJob): number {
  if (job.cycle) return CYCLE_TRANSITIONS;
  return job.fanOutItems > 0 ? FAN_OUT_BASE_TRANSITIONS + job.fanOutItems : SIMPLE_RUN_TRANSITIONS;
}

/** The monthly estimate. */
export function estimateMonthlyCost(jobs: readonly CostJob[], fixed: CostFixed): CostEstimate {
  const p = PRICES_USD;
  let transitions = 0;
  let gbSeconds = 0;
  let invocations = 0;
  let writes = 0;
  let reads = 0;
  let runs = 0;
  for (const job of jobs) {
    const n = job.runsPerMonth;
    runs += n;
    transitions += n * transitionsPerRun(job);
    // Gate and record on the protocol Lambda, for every run.
    gbSeconds += n * 2 * (PROTOCOL_MEMORY_MB / 1024) * PROTOCOL_CALL_SECONDS;
    invocations += n * 2;
    if (!job.cycle) {
      gbSeconds += n * (job.memoryMb / 1024) * job.expectedDurationSeconds;
      invocations += n * (job.fanOutItems > 0 ? 1 + job.fanOutItems : 1);
    }
    writes += n * DYNAMO_WRITES_PER_RUN;
    reads += n * (DYNAMO_READS_PER_RUN + ANOMALY_REQUESTS_PER_REPORT);
  }
  gbSeconds += fixed.sweepRunsPerMonth * (fixed.sweepMemoryMb / 1024) * fixed.sweepSeconds;
  invocations += fixed.sweepRunsPerMonth;
  const logGb = (transitions * LOG_BYTES_PER_TRANSITION) / 1024 ** 3;
  const lines: CostLine[] = [
    { item: 'Step Functions state transitions', quantity: transitions, unit: 'transitions', usd: transitions * p.stepFunctionsPerTransition },
    { item: 'Lambda compute', quantity: gbSeconds, unit: 'GB-s (arm64)', usd: gbSeconds * p.lambdaPerGbSecondArm },
    { item: 'Lambda requests', quantity: invocations, unit: 'invocations', usd: invocations * p.lambdaPerRequest },
    { item: 'DynamoDB writes', quantity: writes, unit: 'write requests', usd: writes * p.dynamoPerWriteRequest },
    { item: 'DynamoDB reads', quantity: reads, unit: 'read requests', usd: reads * p.dynamoPerReadRequest },
    { item: 'CloudWatch alarms', quantity: fixed.alarms, unit: 'alarms', usd: fixed.alarms * p.alarmPerMonth },
    { item: 'KMS keys and requests', quantity: fixed.kmsKeys, unit: 'keys', usd: fixed.kmsKeys * p.kmsKeyPerMonth + runs * KMS_REQUESTS_PER_RUN * p.kmsPerRequest },
    { item: 'Secrets Manager', quantity: fixed.secrets, unit: 'secrets', usd: fixed.secrets * p.secretPerMonth + runs * SECRET_CALLS_PER_RUN * p.secretsPerApiCall },
    { item: 'CloudWatch Logs (execution logs)', quantity: logGb, unit: 'GB ingested', usd: logGb * p.logsPerGbIngested },
  ];
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0), runsPerMonth: runs };
}
