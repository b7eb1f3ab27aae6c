/**
 * The ports of the HTTP status/control API (lambdas/api/app.ts). The handler (handler.ts) builds
 * the DynamoDB and Step Functions adapters from the environment; tests and the local runtime inject
 * their own (in-memory fakes, or the real adapters over dynalite). Types only.
 */
import type { Alert } from '../../lib/domain/alerting.js';
import type { Incident } from '../../lib/domain/incident.js';
import type { IncidentListing } from '../../lib/domain/incident-view.js';
import type { WorkerConfig } from '../../lib/domain/worker-config.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import type { OrchestratorMode, OrchestratorState, WorkerStateItem } from '../../lib/domain/worker-state.js';
import type { WorkerSpec } from '../../lib/registry/types.js';

/** A DynamoDB key as `LastEvaluatedKey` / `ExclusiveStartKey` carry it (string attributes only on this table). */
export type PageKey = Readonly<Record<string, string>>;

export interface PageRequest {
  /** 1..100. */
  readonly limit: number;
  /** Where the previous page stopped (validated by the app before it reaches a store). */
  readonly startKey?: PageKey;
}

export interface Page<T> {
  /** Newest first. */
  readonly items: readonly T[];
  /** Present when there may be more. */
  readonly lastKey?: PageKey;
}

/** An ALERT item as the API lists it. */
export interface AlertListing {
  readonly alert: Alert;
  /** `CLAIMED` or `DELIVERED`, or null when unreadable. */
  readonly deliveryState: string | null;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
}

/** The outcome of `acknowledgeAlert` (the same shape as DynamoAlertStore.acknowledgeAlert). */
export type AcknowledgeOutcome =
  | { readonly status: 'ACKNOWLEDGED' | 'ALREADY_ACKNOWLEDGED'; readonly acknowledgedAt: string }
  | { readonly status: 'NOT_FOUND' };

/** Who acknowledged an alert, and an optional note. */
export interface AcknowledgeBy {
  readonly by: string;
  readonly note: string | null;
}

/** A manual-trigger claim: the `TRIGGER#<workerId>` / `<requestKey>` item. */
export interface TriggerRecord {
  readonly workerId: string;
  readonly jobId: string;
  readonly requestKey: string;
  /** The deterministic execution name (`manual-<jobId>-<hash>`). */
  readonly executionName: string;
  /** The `<workerId>.<jobId>` key of the pipeline (lambdas/api/sfn-pipeline-starter.ts manualPipelines). */
  readonly pipelineKey: string;
  /** The execution input. */
  readonly input: Readonly<Record<string, unknown>>;
  /** ISO-8601. */
  readonly createdAt: string;
  /** ISO-8601; set once StartExecution succeeded (null while it is in flight, or after a crash). */
  readonly startedAt: string | null;
  /** The execution ARN once started, when the starter reported it. */
  readonly executionArn: string | null;
  /** TTL, epoch seconds (createdAt + 24 h). */
  readonly expiresAt: number;
}

export type TriggerClaimResult = { readonly claimed: true } | { readonly claimed: false; readonly existing: TriggerRecord };

/** The table, as the API reads and writes it. Every write is a single-item (conditional) write. */
export interface StatusStore {
  /** ORCH/STATE (absent = RUNNING). */
  readOrchestrator(): Promise<OrchestratorState>;
  /** Sets ORCH/STATE `mode`, `updatedAt`, `reason` (an unconditional UpdateItem); the state after. */
  setOrchestratorMode(mode: OrchestratorMode, reason: string | null, nowMs: number): Promise<OrchestratorState>;
  /** The STATE items of these workers (consistent reads); undefined where absent. */
  readWorkerStates(workerIds: readonly string[]): Promise<Readonly<Record<string, WorkerStateItem | undefined>>>;
  /** The worker's newest report (by slot), or null. */
  latestReport(workerId: string): Promise<WorkerScoreReport | null>;
  /** The worker's reports, newest slot first. */
  listReports(workerId: string, page: PageRequest): Promise<Page<WorkerScoreReport>>;
  /** Alerts through the `byTime` GSI, newest first. */
  listAlerts(page: PageRequest): Promise<Page<AlertListing>>;
  /** Sets `acknowledgedAt` (and who, and why) once; when the alert announced an incident, acknowledges the incident too. */
  acknowledgeAlert(alertId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome>;
  /**
   * Incidents through the `byTime` GSI, newest first: `open` ones (not resolved, acknowledged or
   * not) by first sighting, `resolved` ones by resolution.
   */
  listIncidents(listing: IncidentListing, page: PageRequest): Promise<Page<Incident>>;
  /** Acknowledges an incident once (lib/domain/incident.ts): its escalation stops. */
  acknowledgeIncident(incidentId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome>;
  /**
   * Writes STATE.config (UpdateItem SET config; never touches protocol attributes) when the stored
   * config's version is still `expectedVersion` (0 = no config yet). False when it changed meanwhile.
   */
  writeWorkerConfig(workerId: string, config: WorkerConfig, expectedVersion: number): Promise<boolean>;
  /** The TRIGGER item of this worker and request key (consistent read), or null. */
  readTrigger(workerId: string, requestKey: string): Promise<TriggerRecord | null>;
  /** Conditional put of the TRIGGER item (attribute_not_exists); on a lost race, the stored item (consistent read). */
  claimTrigger(record: TriggerRecord): Promise<TriggerClaimResult>;
  /** Marks the TRIGGER item started (sets `startedAt`, `executionArn`). */
  markTriggerStarted(workerId: string, requestKey: string, startedAt: string, executionArn: string | null): Promise<void>;
  /**
   * The job's reports whose slot is in `[fromIso, toIso)` (every report, skipped ones included),
   * oldest first. More than `maxItems` is an error (the caller bounds the range first).
   */
  reportsBetween(workerId: string, jobId: string, fromIso: string, toIso: string, maxItems: number): Promise<readonly WorkerScoreReport[]>;
  /** The job's `limit` newest reports with a slot before `beforeIso`, newest first. */
  reportsBefore(workerId: string, jobId: string, beforeIso: string, limit: number): Promise<readonly WorkerScoreReport[]>;
  /** The slots of the job in `[fromIso, toIso)` that a backfill claimed (normalized ISO). */
  backfillClaims(workerId: string, jobId: string, fromIso: string, toIso: string): Promise<ReadonlySet<string>>;
  /** Claims one slot for a backfill (conditional put of `BACKFILL#<workerId>` / `<jobId>#<slot>`); false when claimed before. */
  claimBackfillSlot(claim: BackfillClaim): Promise<boolean>;
  /** Removes a claim this request made, when its backfill could not start. */
  releaseBackfillSlot(workerId: string, jobId: string, slot: string): Promise<void>;
}

/** One slot claimed by a backfill: the item `BACKFILL#<workerId>` / `<jobId>#<slot>`. */
export interface BackfillClaim {
  readonly workerId: string;
  readonly jobId: string;
  /** Normalized ISO. */
  readonly slot: string;
  /** The backfill execution that runs it. */
  readonly backfillName: string;
  readonly claimedAt: string;
  /** TTL, epoch seconds. */
  readonly expiresAt: number;
}

/** One slot of a backfill: the pipeline of `<workerId>.<jobId>`, the child's name and input. */
export interface BackfillRun {
  readonly pipelineKey: string;
  readonly name: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Starts backfills (Step Functions StartExecution of the backfill state machine; locally, the runner). */
export interface BackfillStarter {
  /** Starts the named backfill of these runs, in order; an existing execution of that name is `alreadyExisted`. */
  start(request: { readonly name: string; readonly worker: string; readonly job: string; readonly runs: readonly BackfillRun[] }): Promise<{ readonly executionArn: string | null; readonly alreadyExisted: boolean }>;
}

export interface StartExecutionRequest {
  /** `<workerId>.<jobId>`. */
  readonly pipelineKey: string;
  readonly name: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Starts pipelines (Step Functions StartExecution; in the local runtime, its own runner). */
export interface PipelineStarter {
  /** The `<workerId>.<jobId>` keys of every pipeline a manual trigger may start. */
  readonly pipelineKeys: readonly string[];
  /**
   * Starts the named execution. An execution of that name that already exists is not an error
   * (`alreadyExisted: true`). `executionArn` is null when the starter cannot tell.
   */
  start(request: StartExecutionRequest): Promise<{ readonly executionArn: string | null; readonly alreadyExisted: boolean }>;
}

/** The part of the Powertools Logger the API uses (tests pass a fake). */
export interface ApiLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface ApiDeps {
  readonly store: StatusStore;
  readonly pipelines: PipelineStarter;
  /** Starts backfills. @default - none: POST .../backfill answers 501 */
  readonly backfills?: BackfillStarter;
  /** Epoch ms. */
  readonly clock: () => number;
  readonly logger: ApiLogger;
  /** The worker registry. @default ALL_WORKERS */
  readonly workers?: readonly WorkerSpec[];
}
