/**
 * The ports the recovery Lambda declares; adapters implement them over AWS (lambdas/adapters/
 * scheduler-schedule-adapter.ts, lambdas/recovery/adapters.ts) and the tests over memory. Types only.
 */
import type { RecoveryActionRecord, RecoveryOutcome } from '../../lib/domain/recovery-actions.js';
import type { RecoveryAction } from '../../lib/domain/recovery.js';
import type { RawItem } from '../../lib/domain/worker-state.js';

/** An EventBridge Scheduler schedule, as much as a recovery reads and changes. */
export interface ScheduleDetails {
  readonly name: string;
  readonly expression: string;
  readonly timezone: string;
  readonly description: string;
}

/** GetSchedule / UpdateSchedule. UpdateSchedule replaces the whole schedule: the adapter copies every other field. */
export interface ScheduleAdapter {
  get(name: string): Promise<ScheduleDetails>;
  update(name: string, change: { readonly expression: string; readonly description: string }): Promise<void>;
}

export interface StartedExecution {
  readonly executionArn: string;
  /** True when an execution with that name already existed (a retried recovery step). */
  readonly alreadyStarted: boolean;
}

/** SFN StartExecution with a deterministic name. */
export interface PipelineStarter {
  start(stateMachineArn: string, name: string, input: Readonly<Record<string, unknown>>): Promise<StartedExecution>;
}

/** The on-demand consumers: their SQS event source mapping's ScalingConfig.MaximumConcurrency. */
export interface QueueAdapter {
  /** Null when the mapping has no maximum (unbounded) or the worker has no mapping. */
  maxConcurrency(workerId: string): Promise<number | null>;
  setMaxConcurrency(workerId: string, maximumConcurrency: number): Promise<void>;
}

/** Pages on-call (the on-call SNS topic). */
export interface AlertPublisher {
  page(subject: string, message: Readonly<Record<string, unknown>>): Promise<void>;
}

/**
 * The recovery's summary record (RECOVERY#<alertId> / SUMMARY), what the incident model reads:
 * `outcome` SUCCEEDED only with `verified` (its goal checked), else FAILED or NOT_APPLICABLE, with
 * the `reason`; `action` the design action checked; `target` the `worker.job` acted on (the upstream
 * job for DEPENDENCY_FAILURE and STALE_DATA); `worker`/`job` the anomaly's.
 */
export interface RecoverySummary {
  readonly alertId: string;
  readonly worker: string;
  readonly job: string;
  readonly anomaly: string;
  readonly outcome: RecoveryOutcome;
  readonly verified: boolean;
  readonly reason: string;
  readonly action: RecoveryAction | null;
  readonly target: string;
  readonly at: string;
  readonly detail: string;
  readonly executionId: string;
}

/** The recovery's own items in the table (RECOVERY#<alertId>, the escalation streak). */
export interface RecoveryStore {
  /** Puts the action item (overwrites: a retried step records its latest result). */
  recordAction(entry: RecoveryActionRecord, expiresAt: number): Promise<void>;
  /**
   * Writes the summary and updates the worker/anomaly streak: +1 on FAILED (once per alert),
   * reset on SUCCEEDED, untouched on NOT_APPLICABLE. Returns the consecutive failures after the update.
   */
  finish(summary: RecoverySummary, expiresAt: number): Promise<number>;
  /** The worker's STATE item as stored, with attributes the domain view drops (the restart counter). */
  readRawWorkerState(workerId: string): Promise<RawItem | undefined>;
}
