/**
 * The port the protocol logic declares and a storage adapter implements (DynamoDB in
 * lambdas/adapters/dynamo-state-store.ts, an in-memory map in the tests). Every write is a
 * single-item conditional write: no transactions (the embedded DynamoDB has none either), so the
 * Record step orders its writes instead (docs/reliability.md). Pure (types only).
 */
import type { WorkerScoreReport } from './score-report.js';
import type { WindowBucket, WindowCounter } from './window-stats.js';
import type { OrchestratorState, StateWrite, WorkerStateItem } from './worker-state.js';

export interface WindowRead {
  readonly workerId: string;
  /** `YYYY-MM-DDTHH` bucket keys (window-stats.bucketKey). */
  readonly bucketKeys: readonly string[];
}

export interface GateViewRequest {
  readonly workerId: string;
  readonly dependencyIds: readonly string[];
  /** Window buckets the coverage gate needs; read in the same batch. */
  readonly windows: readonly WindowRead[];
}

/** Everything the gate decides on, read in one batch (consistent reads). */
export interface GateView {
  readonly orchestrator: OrchestratorState;
  /** Undefined when the worker has no STATE item yet. */
  readonly worker: WorkerStateItem | undefined;
  readonly dependencies: Readonly<Record<string, WorkerStateItem | undefined>>;
  /** Per worker id, the requested buckets in request order (EMPTY_BUCKET where absent). */
  readonly windows: Readonly<Record<string, readonly WindowBucket[]>>;
}

export interface StoredReport {
  readonly report: WorkerScoreReport;
  /** Its sort key (worker-state.reportSk); the partition is the report's worker. */
  readonly reportSk: string;
  /** TTL, epoch seconds. */
  readonly expiresAt: number;
}

/** A report's key: its worker's partition and its `REPORT#...` sort key. */
export interface ReportKey {
  readonly workerId: string;
  readonly reportSk: string;
}

export interface StateStore {
  /** ORCH/STATE, the worker's and its dependencies' STATE items and the requested WINDOW buckets. */
  readGateView(request: GateViewRequest): Promise<GateView>;
  /** The worker's STATE item (consistent read), or undefined. */
  readWorkerState(workerId: string): Promise<WorkerStateItem | undefined>;
  /** Applies a conditional write to the worker's STATE item; the item after the write, or null when the condition failed. */
  updateWorkerState(workerId: string, write: StateWrite): Promise<WorkerStateItem | null>;
  /**
   * Adds counters to a WINDOW bucket (one atomic ADD) and sets its TTL (epoch seconds). With
   * `countKey` (the report's sort key) the ADD is applied once per key and bucket: the key joins the
   * bucket's `counted` set in the same conditional write, and a second call with it changes nothing
   * and answers false. Without it, every call adds (true).
   */
  addWindowCounters(workerId: string, bucketKey: string, delta: Partial<Record<WindowCounter, number>>, expiresAt: number, countKey?: string): Promise<boolean>;
  /** Stores a report unless its slot already has one; false when it existed. */
  putReportOnce(stored: StoredReport): Promise<boolean>;
  /** Whether the worker's partition holds the report `reportSk` (consistent read). */
  hasReport(workerId: string, reportSk: string): Promise<boolean>;
  /** `hasReport` for several reports at once (consistent reads, batched), answers in request order. */
  hasReports(keys: readonly ReportKey[]): Promise<boolean[]>;
  /** WINDOW buckets of one worker, in request order (EMPTY_BUCKET where absent). */
  readWindowBuckets(workerId: string, bucketKeys: readonly string[]): Promise<WindowBucket[]>;
}
