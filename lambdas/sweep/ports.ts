/**
 * The ports the health sweep declares; lambdas/sweep/adapters.ts implements them over AWS
 * (DynamoDB, Step Functions, SQS) and the tests over memory. Types only.
 */
import type { EndedWindow, HealthFinding } from '../../lib/domain/health-sweep.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';

/** A RUNNING execution as ListExecutions gives it. */
export interface ListedExecution {
  readonly executionArn: string;
  /** Epoch ms. */
  readonly startMs: number;
}

/** The end states in which an execution never ran its Record step (FAILED ones did: every Catch goes to Record). */
export const ENDED_STATUSES = ['TIMED_OUT', 'ABORTED'] as const;
export type EndedStatus = (typeof ENDED_STATUSES)[number];

/** An execution that ended as TIMED_OUT or ABORTED, as ListExecutions gives it. */
export interface EndedExecution extends ListedExecution {
  readonly status: EndedStatus;
  /** Epoch ms. */
  readonly stopMs: number;
}

/** Step Functions: the RUNNING and ended executions of a pipeline, an execution's input, StopExecution. */
export interface ExecutionLister {
  /** Every RUNNING execution of the state machine (all pages). */
  listRunning(stateMachineArn: string): Promise<readonly ListedExecution[]>;
  /**
   * The executions of the state machine with `status` that stopped at or after `window.stoppedSinceMs`
   * (pages newest first, up to the first execution started before `window.startedSinceMs`).
   */
  listEnded(stateMachineArn: string, status: EndedStatus, window: EndedWindow): Promise<readonly EndedExecution[]>;
  /** The execution's input, parsed from JSON (DescribeExecution). */
  input(executionArn: string): Promise<unknown>;
  /** Stops the execution with the error and cause; an execution that no longer runs is no error. */
  stop(executionArn: string, error: string, cause: string): Promise<void>;
}

/** SQS GetQueueAttributes ApproximateNumberOfMessages. */
export interface QueueDepthReader {
  depth(queueUrl: string): Promise<number>;
}

/** Each worker's latest score report (by scheduled time), or undefined. */
export interface ReportReader {
  latestReport(workerId: string): Promise<WorkerScoreReport | undefined>;
}

/** A finding as stored: `WORKER#<worker>` / `HEALTH#<kind>#<job|->#<window>`. */
export interface StoredFinding {
  readonly finding: HealthFinding;
  /** When the sweep found it, ISO-8601. */
  readonly raisedAt: string;
  /** TTL, epoch seconds. */
  readonly expiresAt: number;
}

/** Health findings, written once per key (conditional put): dedup at the source. */
export interface HealthFindingStore {
  /** False when the item already existed (the finding was written by an earlier sweep). */
  putOnce(stored: StoredFinding): Promise<boolean>;
}

/** The part of the Powertools Logger the sweep uses (tests pass a fake). */
export interface SweepLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** The verdicts of finished recoveries: their `RECOVERY#<name>` / `SUMMARY` items. */
export interface RecoveryOutcomeReader {
  /**
   * The recoveries among `names` whose verdict is FAILED, with the verdict's reason. A recovery still
   * running (no summary yet), SUCCEEDED or NOT_APPLICABLE is left out, and so is an unreadable one.
   */
  failed(names: readonly string[]): Promise<ReadonlyMap<string, string>>;
}
