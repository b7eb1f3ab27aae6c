/**
 * The design's 17 anomaly rules, as data plus pure evaluators over a score report, rolling-window
 * statistics, the worker's configuration and health facts. Pure.
 */
import type { WorkerScoreReport } from './score-report.js';
import type { WindowStats } from './window-stats.js';

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The design's alert timing per severity: how long an alert may wait, in seconds; null means log only. */
export const ALERT_DEADLINE_SECONDS: Readonly<Record<Severity, number | null>> = {
  CRITICAL: 0,
  HIGH: 300,
  MEDIUM: 900,
  LOW: null,
};

/** The design's thresholds. */
export const THRESHOLDS = {
  queueDepthMax: 1000,
  memoryPercentMax: 90,
  failureRatePercentMax: 10,
  /**
   * HIGH_FAILURE_RATE's minimum sample: failures in the rolling hour (the previous hour weighted).
   * One failure is a single event, not a rate (1 failed run in 3 is "33 %"): it is the circuit
   * breaker's and WORKER_CRASH's business. A minimum number of runs instead (10, the smallest sample
   * in which one failure is not already above 10 %) would silence the rule for every worker that runs
   * fewer than 10 times an hour (Twitch polls run 4 times), so the sample is counted in failures.
   */
  failureRateMinFailures: 2,
  slowFactor: 2,
  quotaRemainingPercentMin: 20,
  lockFailuresMax: 3,
  retriedPercentMax: 5,
  timeoutWarningPercent: 80,
} as const;

export const ANOMALY_CODES = [
  'WORKER_CRASH',
  'QUEUE_OVERFLOW',
  'DATA_CORRUPTION',
  'DEPENDENCY_FAILURE',
  'RESOURCE_EXHAUSTION',
  'HIGH_FAILURE_RATE',
  'SLOW_EXECUTION',
  'STALE_DATA',
  'API_QUOTA_LOW',
  'LOCK_CONTENTION',
  'ELEVATED_RETRIES',
  'PARTIAL_SUCCESS',
  'CACHE_MISS',
  'TIMEOUT_WARNING',
  'SKIP_DUE_TO_LOCK',
  'SKIP_DUE_TO_FRESHNESS',
  'MINOR_VALIDATION_ISSUE',
] as const;
export type AnomalyCode = (typeof ANOMALY_CODES)[number];

/** Facts no report carries, gathered by the health sweep or read from a report's metrics. */
export interface HealthFacts {
  readonly queueDepth?: number;
  readonly memoryPercent?: number;
  readonly diskFull?: boolean;
  readonly quotaRemainingPercent?: number;
  readonly dataAgeSeconds?: number;
  readonly freshnessThresholdSeconds?: number;
  readonly cacheMiss?: boolean;
  /** Output records that failed validation (corrupt data). */
  readonly corruptRecords?: number;
  /** Facts that were NaN, negative or missing, or non-critical validation warnings. */
  readonly validationIssues?: readonly string[];
}

export interface WorkerBudget {
  readonly expectedDurationMs: number;
  readonly timeoutMs: number;
}

export interface RuleContext {
  readonly worker: string;
  readonly report?: WorkerScoreReport;
  readonly budget?: WorkerBudget;
  readonly window?: WindowStats;
  readonly health?: HealthFacts;
}

export interface AnomalyFinding {
  readonly code: AnomalyCode;
  readonly severity: Severity;
  readonly worker: string;
  readonly detail: string;
  readonly observed: number | string | boolean;
  readonly threshold: number | string | boolean;
}

export interface AnomalyRule {
  readonly code: AnomalyCode;
  readonly severity: Severity;
  readonly description: string;
  readonly evaluate: (ctx: RuleContext) => Omit<AnomalyFinding, 'code' | 'severity' | 'worker'> | null;
}

const pct = (n: number): string => `${Math.round(n * 10) / 10}%`;

export const ANOMALY_RULES: readonly AnomalyRule[] = [
  // Critical: immediate alert.
  {
    code: 'WORKER_CRASH',
    severity: 'CRITICAL',
    description: 'Worker process died unexpectedly',
    evaluate: ({ report }) =>
      report?.status === 'CRASHED' ? { detail: `run crashed: ${report.error?.name ?? 'unknown'}`, observed: report.error?.name ?? 'CRASHED', threshold: 'no crash' } : null,
  },
  {
    code: 'QUEUE_OVERFLOW',
    severity: 'CRITICAL',
    description: 'Queue depth > 1000 jobs',
    evaluate: ({ health }) =>
      health?.queueDepth !== undefined && health.queueDepth > THRESHOLDS.queueDepthMax
        ? { detail: `queue depth ${health.queueDepth} > ${THRESHOLDS.queueDepthMax}`, observed: health.queueDepth, threshold: THRESHOLDS.queueDepthMax }
        : null,
  },
  {
    code: 'DATA_CORRUPTION',
    severity: 'CRITICAL',
    description: 'Invalid data detected in output',
    evaluate: ({ health }) =>
      (health?.corruptRecords ?? 0) > 0 ? { detail: `${health?.corruptRecords} output record(s) failed validation`, observed: health?.corruptRecords ?? 0, threshold: 0 } : null,
  },
  {
    code: 'DEPENDENCY_FAILURE',
    severity: 'CRITICAL',
    description: 'Required upstream worker failed',
    evaluate: ({ report }) =>
      report?.skipReason === 'DEPENDENCY_FAILED' ? { detail: `skipped: ${report.recommendations[0] ?? 'a required upstream worker failed'}`, observed: 'DEPENDENCY_FAILED', threshold: 'upstream succeeded' } : null,
  },
  {
    code: 'RESOURCE_EXHAUSTION',
    severity: 'CRITICAL',
    description: 'Memory > 90% or disk full',
    evaluate: ({ health }) => {
      if (health?.diskFull === true) return { detail: 'disk full', observed: true, threshold: false };
      if (health?.memoryPercent !== undefined && health.memoryPercent > THRESHOLDS.memoryPercentMax) {
        return { detail: `memory ${pct(health.memoryPercent)} > ${THRESHOLDS.memoryPercentMax}%`, observed: health.memoryPercent, threshold: THRESHOLDS.memoryPercentMax };
      }
      return null;
    },
  },
  // High: alert within 5 minutes.
  {
    code: 'HIGH_FAILURE_RATE',
    severity: 'HIGH',
    description: '>10% failures in last hour (at least 2 failures)',
    evaluate: ({ window }) =>
      window && window.failures >= THRESHOLDS.failureRateMinFailures && window.failureRatePercent > THRESHOLDS.failureRatePercentMax
        ? { detail: `${pct(window.failureRatePercent)} of runs failed in the last hour`, observed: window.failureRatePercent, threshold: THRESHOLDS.failureRatePercentMax }
        : null,
  },
  {
    code: 'SLOW_EXECUTION',
    severity: 'HIGH',
    description: 'Duration > 2x expected',
    evaluate: ({ report, budget }) =>
      // A crash is WORKER_CRASH's business: counting it slow too would start two recoveries for one fault.
      report && budget && report.status !== 'SKIPPED' && report.status !== 'CRASHED' && report.durationMs > THRESHOLDS.slowFactor * budget.expectedDurationMs
        ? { detail: `took ${report.durationMs} ms, expected ${budget.expectedDurationMs} ms`, observed: report.durationMs, threshold: THRESHOLDS.slowFactor * budget.expectedDurationMs }
        : null,
  },
  {
    code: 'STALE_DATA',
    severity: 'HIGH',
    description: 'Data older than threshold',
    evaluate: ({ health }) =>
      health?.dataAgeSeconds !== undefined && health.freshnessThresholdSeconds !== undefined && health.dataAgeSeconds > health.freshnessThresholdSeconds
        ? { detail: `data is ${health.dataAgeSeconds} s old, threshold ${health.freshnessThresholdSeconds} s`, observed: health.dataAgeSeconds, threshold: health.freshnessThresholdSeconds }
        : null,
  },
  {
    code: 'API_QUOTA_LOW',
    severity: 'HIGH',
    description: 'YouTube/Twitch quota < 20%',
    evaluate: ({ health }) =>
      health?.quotaRemainingPercent !== undefined && health.quotaRemainingPercent < THRESHOLDS.quotaRemainingPercentMin
        ? { detail: `${pct(health.quotaRemainingPercent)} of the API quota left`, observed: health.quotaRemainingPercent, threshold: THRESHOLDS.quotaRemainingPercentMin }
        : null,
  },
  {
    code: 'LOCK_CONTENTION',
    severity: 'HIGH',
    description: 'Failed to acquire lock > 3 times',
    evaluate: ({ window }) =>
      window && window.lockFailures > THRESHOLDS.lockFailuresMax
        ? { detail: `lock acquisition failed ${Math.round(window.lockFailures)} times in the last hour`, observed: window.lockFailures, threshold: THRESHOLDS.lockFailuresMax }
        : null,
  },
  // Medium: alert within 15 minutes.
  {
    code: 'ELEVATED_RETRIES',
    severity: 'MEDIUM',
    description: '>5% jobs retried',
    evaluate: ({ window }) =>
      window && window.runs > 0 && window.retriedRatePercent > THRESHOLDS.retriedPercentMax
        ? { detail: `${pct(window.retriedRatePercent)} of runs needed a retry in the last hour`, observed: window.retriedRatePercent, threshold: THRESHOLDS.retriedPercentMax }
        : null,
  },
  {
    code: 'PARTIAL_SUCCESS',
    severity: 'MEDIUM',
    description: 'Some items failed in batch',
    evaluate: ({ report }) =>
      report?.status === 'PARTIAL'
        ? { detail: `${String(report.metrics['items_failed'] ?? 'some')} item(s) failed`, observed: Number(report.metrics['items_failed'] ?? 1), threshold: 0 }
        : null,
  },
  {
    code: 'CACHE_MISS',
    severity: 'MEDIUM',
    description: 'Expected cache data missing',
    evaluate: ({ health }) => (health?.cacheMiss === true ? { detail: 'expected cache data was missing', observed: true, threshold: false } : null),
  },
  {
    code: 'TIMEOUT_WARNING',
    severity: 'MEDIUM',
    description: 'Duration > 80% of timeout',
    evaluate: ({ report, budget }) => {
      if (!report || !budget || report.status === 'SKIPPED' || report.status === 'CRASHED') return null;
      const limit = (THRESHOLDS.timeoutWarningPercent / 100) * budget.timeoutMs;
      return report.durationMs > limit ? { detail: `took ${report.durationMs} ms of a ${budget.timeoutMs} ms timeout`, observed: report.durationMs, threshold: limit } : null;
    },
  },
  // Low: log only.
  {
    code: 'SKIP_DUE_TO_LOCK',
    severity: 'LOW',
    description: 'Another instance running',
    evaluate: ({ report }) => (report?.skipReason === 'LOCK_HELD' ? { detail: 'another instance holds the lock', observed: 'LOCK_HELD', threshold: 'lock free' } : null),
  },
  {
    code: 'SKIP_DUE_TO_FRESHNESS',
    severity: 'LOW',
    description: 'Data already fresh',
    evaluate: ({ report }) => (report?.skipReason === 'FRESH_DATA' ? { detail: 'data already fresh', observed: 'FRESH_DATA', threshold: 'stale data' } : null),
  },
  {
    code: 'MINOR_VALIDATION_ISSUE',
    severity: 'LOW',
    description: 'Non-critical validation warning',
    evaluate: ({ health }) =>
      (health?.validationIssues?.length ?? 0) > 0
        ? { detail: `validation: ${health?.validationIssues?.join('; ')}`, observed: health?.validationIssues?.length ?? 0, threshold: 0 }
        : null,
  },
];

export const RULE_BY_CODE: Readonly<Record<AnomalyCode, AnomalyRule>> = Object.fromEntries(ANOMALY_RULES.map((r) => [r.code, r])) as Record<AnomalyCode, AnomalyRule>;

/** Runs every rule and returns the findings, most severe first. */
export function evaluateAnomalies(ctx: RuleContext, rules: readonly AnomalyRule[] = ANOMALY_RULES): AnomalyFinding[] {
  const findings: AnomalyFinding[] = [];
  for (const rule of rules) {
    const hit = rule.evaluate(ctx);
    if (hit) findings.push({ code: rule.code, severity: rule.severity, worker: ctx.worker, ...hit });
  }
  return findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}
