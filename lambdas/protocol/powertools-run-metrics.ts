/**
 * The RunMetrics port on Powertools Metrics: one EMF document per sample (the `Worker` dimension
 * and the sample's values), written to stdout, where CloudWatch Logs turns it into metrics.
 * No default dimensions: Powertools' `service` dimension would double the dimension set the
 * dashboard has to name.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { runMetricValues, RUN_METRICS_NAMESPACE, WORKER_DIMENSION, type RunMetrics, type RunMetricUnit, type RunSample } from './run-metrics.js';

const UNITS: Record<RunMetricUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, None: MetricUnit.NoUnit };

/** Powertools Metrics without the `service` default dimension, in the orchestrator's namespace. */
export function orchestratorMetrics(): Metrics {
  const metrics = new Metrics({ namespace: RUN_METRICS_NAMESPACE });
  metrics.clearDefaultDimensions();
  return metrics;
}

export class PowertoolsRunMetrics implements RunMetrics {
  constructor(private readonly metrics: Metrics = orchestratorMetrics()) {}

  record(sample: RunSample): void {
    const values = runMetricValues(sample);
    if (values.length === 0) return;
    this.metrics.addDimension(WORKER_DIMENSION, sample.worker);
    for (const v of values) this.metrics.addMetric(v.name, UNITS[v.unit], v.value);
    this.metrics.publishStoredMetrics();
  }
}
