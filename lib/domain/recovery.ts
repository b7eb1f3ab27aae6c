/**
 * The recovery policy: the design's "Per-Anomaly Recovery Actions" table as data, plus the
 * escalation rules. Which state machine carries out an action is the infrastructure's business;
 * this module only decides what should happen. Pure.
 */
import { STEP_TIMEOUT_RAISE_FACTOR_MAX } from '../registry/defaults.js';
import { ALERT_DEADLINE_SECONDS, RULE_BY_CODE, type AnomalyCode, type Severity } from './anomaly-rules.js';

export const RECOVERY_ACTIONS = [
  'RESTART_WORKER',
  'PAGE_ONCALL',
  'SCALE_CONSUMERS',
  'PAUSE_NEW_JOBS',
  'OPEN_CIRCUIT',
  'REDUCE_RATE',
  'RAISE_TIMEOUT',
  'FORCE_REFRESH_UPSTREAM',
  'SLOW_SCHEDULE',
  'EXTEND_LEASE',
  'RETRY_UPSTREAM',
  'SKIP_IF_OPTIONAL',
] as const;
export type RecoveryAction = (typeof RECOVERY_ACTIONS)[number];

export interface RecoveryPlan {
  readonly anomaly: AnomalyCode;
  /** Actions in the order they run. */
  readonly actions: readonly RecoveryAction[];
  /** What the design's table says, for the record and the alert. */
  readonly summary: string;
}

/** The design's recovery table. Anomalies not listed are alerted (or logged) only. */
export const RECOVERY_TABLE: Partial<Readonly<Record<AnomalyCode, RecoveryPlan>>> = {
  WORKER_CRASH: { anomaly: 'WORKER_CRASH', actions: ['RESTART_WORKER', 'PAGE_ONCALL'], summary: 'Restart worker, alert on-call' },
  QUEUE_OVERFLOW: { anomaly: 'QUEUE_OVERFLOW', actions: ['SCALE_CONSUMERS', 'PAUSE_NEW_JOBS'], summary: 'Scale workers, pause new jobs' },
  HIGH_FAILURE_RATE: { anomaly: 'HIGH_FAILURE_RATE', actions: ['OPEN_CIRCUIT', 'REDUCE_RATE'], summary: 'Enable circuit breaker, reduce rate' },
  SLOW_EXECUTION: { anomaly: 'SLOW_EXECUTION', actions: ['RAISE_TIMEOUT'], summary: 'Increase timeout, check resources' },
  STALE_DATA: { anomaly: 'STALE_DATA', actions: ['FORCE_REFRESH_UPSTREAM'], summary: 'Force refresh upstream worker' },
  API_QUOTA_LOW: { anomaly: 'API_QUOTA_LOW', actions: ['SLOW_SCHEDULE'], summary: 'Reduce fetch frequency' },
  LOCK_CONTENTION: { anomaly: 'LOCK_CONTENTION', actions: ['EXTEND_LEASE'], summary: 'Increase lock timeout' },
  DEPENDENCY_FAILURE: { anomaly: 'DEPENDENCY_FAILURE', actions: ['RETRY_UPSTREAM', 'SKIP_IF_OPTIONAL'], summary: 'Retry with backoff, skip if optional' },
};

export function recoveryFor(code: AnomalyCode): RecoveryPlan | null {
  return RECOVERY_TABLE[code] ?? null;
}

/** Bounds on self-healing changes, so no recovery can grow a setting without limit. */
export const RECOVERY_BOUNDS = {
  /** SLOW_EXECUTION may raise a step timeout by this factor at most, and never past Lambda's 900 s (the registry's, which sizes functions and pipelines for it). */
  timeoutRaiseFactorMax: STEP_TIMEOUT_RAISE_FACTOR_MAX,
  /** LOCK_CONTENTION may lengthen a lease by this factor at most. */
  leaseExtendFactorMax: 2,
  /** API_QUOTA_LOW multiplies a schedule's interval by this, until the quota resets. */
  scheduleSlowdownFactor: 4,
  /** WORKER_CRASH restarts a worker at most this many times per hour. */
  restartsPerHourMax: 1,
  /**
   * DEPENDENCY_FAILURE retries a failed upstream job this many times after the first attempt, until
   * one run SUCCEEDED, waiting UPSTREAM_RETRY_BACKOFF_SECONDS between attempts (60, 120, 240, 480,
   * then 600 s: about 55 min in all).
   */
  upstreamRetriesMax: 8,
} as const;

/** A raised timeout or lease, bounded by the factor and the absolute cap. Null when already at the bound. */
export function boundedIncrease(currentSeconds: number, originalSeconds: number, factorMax: number, capSeconds: number): number | null {
  const limit = Math.min(Math.floor(originalSeconds * factorMax), capSeconds);
  if (currentSeconds >= limit) return null;
  return Math.min(limit, Math.ceil(currentSeconds * 1.25));
}

export const ESCALATION = {
  /** A critical incident unacknowledged this long after it opened escalates to on-call (lib/domain/incident.ts). */
  unacknowledgedCriticalMinutes: 15,
  /** A recovery that failed this many times in a row escalates to on-call. */
  failedRecoveriesMax: 2,
} as const;

export interface EscalationInput {
  readonly severity: Severity;
  readonly raisedAtMs: number;
  readonly acknowledged: boolean;
  readonly consecutiveRecoveryFailures: number;
  readonly nowMs: number;
}

/**
 * Why on-call is paged: a CRITICAL nobody acknowledged in time; the recovery Lambda's streak of failed
 * recoveries; an incident's recovery ended FAILED (verified: it did not reach its goal).
 */
export type EscalationReason = 'UNACKNOWLEDGED_CRITICAL' | 'RECOVERY_FAILED_REPEATEDLY' | 'RECOVERY_FAILED';

export function escalationFor(input: EscalationInput): EscalationReason | null {
  if (input.consecutiveRecoveryFailures >= ESCALATION.failedRecoveriesMax) return 'RECOVERY_FAILED_REPEATEDLY';
  if (input.severity === 'CRITICAL' && !input.acknowledged && input.nowMs - input.raisedAtMs >= ESCALATION.unacknowledgedCriticalMinutes * 60_000) {
    return 'UNACKNOWLEDGED_CRITICAL';
  }
  return null;
}

/** How an anomaly is routed: when its alert must go out, and whether it is only logged. */
export function routingFor(code: AnomalyCode): { severity: Severity; deadlineSeconds: number | null; logOnly: boolean } {
  const severity = RULE_BY_CODE[code].severity;
  const deadlineSeconds = ALERT_DEADLINE_SECONDS[severity];
  return { severity, deadlineSeconds, logOnly: deadlineSeconds === null };
}
