/**
 * The run metrics of the Record step, as CloudWatch embedded-metric-format (EMF) values: one sample
 * per newly stored report of an executed run. Pure: the names, units and values live here so the
 * dashboard construct (lib/constructs/orchestrator-dashboard.ts) reads the same names the Lambda
 * writes; the Powertools adapter is powertools-run-metrics.ts.
 *
 * | metric       | unit         | value                                   |
 * |--------------|--------------|-----------------------------------------|
 * | `Runs`       | Count        | 1                                       |
 * | `Failures`   | Count        | 1 on FAILED or CRASHED, else 0          |
 * | `DurationMs` | Milliseconds | the report's `durationMs`               |
 * | `Score`      | None         | the overall score (0-100), when scored  |
 *
 * One dimension, `Worker` (14 values): no execution, job or slot dimensions, so the metric count
 * stays fixed whatever the traffic.
 */
import type { RecordResult } from '../shared/contracts.js';

export const RUN_METRICS_NAMESPACE = 'AuraStream/Orchestrator';
export const WORKER_DIMENSION = 'Worker';
export const RUN_METRIC = { score: 'Score', failures: 'Failures', runs: 'Runs', durationMs: 'DurationMs' } as const;

export type RunMetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface RunMetricValue {
  readonly name: (typeof RUN_METRIC)[keyof typeof RUN_METRIC];
  readonly unit: RunMetricUnit;
  readonly value: number;
}

export interface RunSample {
  readonly worker: string;
  readonly status: RecordResult['status'];
  readonly overallScore: number | null;
  readonly durationMs: number;
}

/** Where the Record step's samples go. */
export interface RunMetrics {
  record(sample: RunSample): void;
}

/** The default: the local runtime and the tests stay silent. */
export const NO_RUN_METRICS: RunMetrics = { record: () => undefined };

const FAILED_STATUSES: ReadonlySet<RecordResult['status']> = new Set(['FAILED', 'CRASHED']);

/** The values of one sample; SKIPPED runs have none (they did not run). */
export function runMetricValues(sample: RunSample): RunMetricValue[] {
  if (sample.status === 'SKIPPED') return [];
  const values: RunMetricValue[] = [
    { name: RUN_METRIC.runs, unit: 'Count', value: 1 },
    { name: RUN_METRIC.failures, unit: 'Count', value: FAILED_STATUSES.has(sample.status) ? 1 : 0 },
  ];
  if (Number.isFinite(sample.durationMs) && sample.durationMs >= 0) values.push({ name: RUN_METRIC.durationMs, unit: 'Milliseconds', value: sample.durationMs });
  if (sample.overallScore !== null && Number.isFinite(sample.overallScore)) values.push({ name: RUN_METRIC.score, unit: 'None', value: sample.overallScore });
  return values;
}
