/**
 * The orchestrator's persistent state as the domain sees it: the keys of the single table, the
 * orchestrator-wide mode, and the per-worker STATE item (lock, slot claims, circuit, freshness mark,
 * last run). docs/data-model.md describes the table; this module parses items into typed views and
 * describes writes as data (`StateWrite`), so the gate and record logic stays pure. Pure.
 */
import { CLOSED_CIRCUIT, type CircuitState, type CircuitStateName } from './circuit.js';
import { applyWrite, evaluateCondition, lockAttrsFor, slotAttr, type AttrValue, type Condition, type Item } from './lock.js';
import { RUN_STATUSES, type RunStatus } from './score-report.js';
import { parseStoredConfig, type WorkerConfig } from './worker-config.js';

// ---------------------------------------------------------------------------------------------
// Keys

export const ORCH_PK = 'ORCH';
export const STATE_SK = 'STATE';
export const workerPk = (workerId: string): string => `WORKER#${workerId}`;
/**
 * A report's sort key: one report per (scheduled time, job), and per run id for on-demand jobs
 * (two requests enqueued in the same millisecond). `scheduledTime` is a normalized ISO string.
 */
export const reportSk = (scheduledTime: string, jobId: string, runId?: string): string => `REPORT#${scheduledTime}#${jobId}${runId === undefined ? '' : `#${runId}`}`;
/** A rolling-window bucket's sort key; `bucket` is `YYYY-MM-DDTHH` (see window-stats.bucketKey). */
export const windowSk = (bucket: string): string => `WINDOW#${bucket}`;

/** The manual-trigger claim of a request key: `TRIGGER#<workerId>` / `<requestKey>` (POST /workers/{id}/trigger). */
export const triggerPk = (workerId: string): string => `TRIGGER#${workerId}`;

/**
 * The sparse GSI `byTime` (partition `gsi1pk`, sort `gsi1sk`, projection ALL): only items that set
 * both attributes are in it. Alerts set `gsi1pk = ALERTS`, `gsi1sk = <raisedAt ISO>#<alertId>`, so
 * one Query lists them newest first.
 */
export const BY_TIME_INDEX = 'byTime';
export const GSI1_PK = 'gsi1pk';
export const GSI1_SK = 'gsi1sk';
export const ALERTS_GSI_PK = 'ALERTS';
export const alertGsiSk = (raisedAt: string, alertId: string): string => `${normalizeIso(raisedAt)}#${alertId}`;
/**
 * Incidents: `gsi1pk = INCIDENTS_OPEN` (`gsi1sk = <firstSeen ISO>#<id>`) while unresolved, then
 * `INCIDENTS_RESOLVED` (`gsi1sk = <resolvedAt ISO>#<id>`): GET /incidents?state=open|resolved.
 */
export const INCIDENTS_GSI_PK = { open: 'INCIDENTS_OPEN', resolved: 'INCIDENTS_RESOLVED' } as const;

/**
 * Seconds a WINDOW bucket lives: 35 days, so daily report aggregates (report-aggregation.ts) exist for
 * the last month with slack (the coverage gate reads the previous UTC day, anomalies the last two hours).
 */
export const WINDOW_TTL_SECONDS = 35 * 24 * 3600;
/** Default report retention, when REPORT_RETENTION_DAYS is unset. */
export const DEFAULT_REPORT_RETENTION_DAYS = 30;

/** `new Date(x).toISOString()`: millisecond ISO-8601 UTC, so lexicographic order is time order. */
export const normalizeIso = (time: string | number): string => new Date(time).toISOString();

// ---------------------------------------------------------------------------------------------
// Orchestrator mode

export const ORCHESTRATOR_MODES = ['RUNNING', 'PAUSED', 'DRAINING'] as const;
export type OrchestratorMode = (typeof ORCHESTRATOR_MODES)[number];

export interface OrchestratorState {
  readonly mode: OrchestratorMode;
  readonly updatedAt: string | null;
  readonly reason: string | null;
}

/** An absent ORCH/STATE item means RUNNING. */
export const ORCHESTRATOR_RUNNING: OrchestratorState = Object.freeze({ mode: 'RUNNING', updatedAt: null, reason: null });

// ---------------------------------------------------------------------------------------------
// Worker STATE item

export const STATE_ATTRS = {
  lastStatus: 'lastStatus',
  lastRunAtMs: 'lastRunAtMs',
  lastScheduledTime: 'lastScheduledTime',
  /** The execution whose Record last applied its effects: makes a retried Record idempotent. */
  lastExecutionId: 'lastExecutionId',
  leaseSecondsOverride: 'leaseSecondsOverride',
  /** Optimistic-concurrency counter: every write through this module adds 1. */
  version: 'version',
  /** Operator configuration (lib/domain/worker-config.ts), written by the API only. */
  config: 'config',
} as const;

/** Which execution claimed a job's slot, so a retried gate recognises its own claim. */
export const slotOwnerAttr = (jobId: string): string => `slotOwner_${jobId}`;
/** A job's circuit (a map): jobs of one worker open and close separately (youtube's games failing does not stop trending). */
export const circuitAttrOf = (jobId: string): string => `circuit_${jobId}`;
/** Completion time (epoch ms) of a job's last SUCCEEDED/PARTIAL run: the freshness of the data that job produces. */
export const freshAtAttrOf = (jobId: string): string => `freshAtMs_${jobId}`;
/** A job's work-step timeout as raised by the SLOW_EXECUTION recovery (seconds); the gate hands it to the Work task. */
export const stepTimeoutAttrOf = (jobId: string): string => `stepTimeoutOverrideSeconds_${jobId}`;
const STEP_TIMEOUT_PREFIX = stepTimeoutAttrOf('');
const CIRCUIT_PREFIX = circuitAttrOf('');
const FRESH_AT_PREFIX = freshAtAttrOf('');

const SLOT_PREFIX = slotAttr('');
const SLOT_OWNER_PREFIX = slotOwnerAttr('');

export interface LockView {
  readonly holder: string | null;
  /** 0 when the worker never locked. */
  readonly fence: number;
  /** Null when absent: a holder without an expiry never lapses (acquireSpec's condition cannot pass). */
  readonly expiresAtMs: number | null;
}

export interface WorkerStateItem {
  /** Per job id: its lock (jobs of one worker lock separately). */
  readonly locks: Readonly<Record<string, LockView>>;
  /** Claimed slot per job id (normalized ISO scheduled time). */
  readonly slots: Readonly<Record<string, string>>;
  /** The execution that claimed each job's slot. */
  readonly slotOwners: Readonly<Record<string, string>>;
  /** Per job id: its circuit (absent: CLOSED). Read it with `circuitOf`. */
  readonly circuits: Readonly<Record<string, CircuitState>>;
  /** Per job id: completion time of its last SUCCEEDED/PARTIAL run. Read it with `freshAtOf`. */
  readonly freshAt: Readonly<Record<string, number>>;
  /** For views only: the worker's least healthy job circuit (OPEN, then HALF_OPEN, then CLOSED). Decisions use `circuitOf`. */
  readonly circuit: CircuitState;
  /** For views only: the latest of the jobs' freshness marks, or null. Decisions use `freshAtOf`. */
  readonly freshAtMs: number | null;
  readonly lastStatus: RunStatus | null;
  readonly lastRunAtMs: number | null;
  readonly lastScheduledTime: string | null;
  readonly lastExecutionId: string | null;
  readonly leaseSecondsOverride: number | null;
  /** Per job id: its raised work-step timeout in seconds (SLOW_EXECUTION). */
  readonly stepTimeoutOverrides: Readonly<Record<string, number>>;
  /** Set by the QUEUE_OVERFLOW recovery: no new jobs start before this time (epoch ms). */
  readonly intakePausedUntilMs: number | null;
  /** Set when a recovery slows the schedules (API_QUOTA_LOW, HIGH_FAILURE_RATE): registry slots before this time (epoch ms) may not fire. */
  readonly scheduleSlowedUntilMs: number | null;
  /** 0 when absent. */
  readonly version: number;
  /** Operator configuration (PUT /workers/{id}/config); absent when never configured. */
  readonly config?: WorkerConfig;
}

/** A value as stored on a STATE item: a scalar, or a flat map (the circuit). */
export type StateMapValue = string | number | null;
export type StateValue = AttrValue | Readonly<Record<string, StateMapValue>>;
/** An item as read from the table (after unmarshalling). */
export type RawItem = Readonly<Record<string, unknown>>;

/**
 * A single-item conditional write on a STATE item, in the Condition AST of lock.ts. A
 * `ConditionalWrite` from lock.ts is a `StateWrite`; this one may also SET a map (the circuit).
 */
export interface StateWrite {
  readonly condition: Condition;
  readonly set: Readonly<Record<string, StateValue>>;
  readonly add: Readonly<Record<string, number>>;
  readonly remove: readonly string[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const CIRCUIT_STATES: readonly CircuitStateName[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

function parseCircuit(raw: unknown): CircuitState {
  if (typeof raw !== 'object' || raw === null) return CLOSED_CIRCUIT;
  const m = raw as Record<string, unknown>;
  const state = CIRCUIT_STATES.find((s) => s === m['state']);
  if (state === undefined) return CLOSED_CIRCUIT;
  return {
    state,
    consecutiveFailures: num(m['consecutiveFailures']) ?? 0,
    changedAtMs: num(m['changedAtMs']),
    probesAdmitted: num(m['probesAdmitted']) ?? 0,
    halfOpenSuccesses: num(m['halfOpenSuccesses']) ?? 0,
  };
}

/** The circuit as the map attribute it is stored in. */
export function circuitAttr(circuit: CircuitState): Readonly<Record<string, StateMapValue>> {
  return {
    state: circuit.state,
    consecutiveFailures: circuit.consecutiveFailures,
    changedAtMs: circuit.changedAtMs,
    probesAdmitted: circuit.probesAdmitted,
    halfOpenSuccesses: circuit.halfOpenSuccesses,
  };
}

const HOLDER_PREFIX = lockAttrsFor('').holder;
const FENCE_PREFIX = lockAttrsFor('').fence;
const EXPIRES_PREFIX = lockAttrsFor('').expiresAt;

function parseLocks(raw: RawItem): Record<string, LockView> {
  const jobs = new Set<string>();
  for (const name of Object.keys(raw)) {
    for (const prefix of [HOLDER_PREFIX, FENCE_PREFIX, EXPIRES_PREFIX]) if (name.startsWith(prefix)) jobs.add(name.slice(prefix.length));
  }
  const locks: Record<string, LockView> = {};
  for (const job of jobs) {
    const a = lockAttrsFor(job);
    locks[job] = { holder: str(raw[a.holder]), fence: num(raw[a.fence]) ?? 0, expiresAtMs: num(raw[a.expiresAt]) };
  }
  return locks;
}

export const NO_LOCK: LockView = Object.freeze({ holder: null, fence: 0, expiresAtMs: null });

/** A job's lock (never locked: holder null, fence 0). */
export function lockOf(state: WorkerStateItem | undefined, jobId: string): LockView {
  return state?.locks[jobId] ?? NO_LOCK;
}

const CIRCUIT_SEVERITY: Readonly<Record<CircuitStateName, number>> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

/** A job's circuit (CLOSED when it has none). */
export function circuitOf(state: WorkerStateItem | undefined, jobId: string): CircuitState {
  return state?.circuits[jobId] ?? CLOSED_CIRCUIT;
}

/** When the job last succeeded (its data's freshness), or null. */
export function freshAtOf(state: WorkerStateItem | undefined, jobId: string): number | null {
  return state?.freshAt[jobId] ?? null;
}

export function parseWorkerState(raw: RawItem): WorkerStateItem {
  const slots: Record<string, string> = {};
  const slotOwners: Record<string, string> = {};
  const circuits: Record<string, CircuitState> = {};
  const freshAt: Record<string, number> = {};
  const stepTimeoutOverrides: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith(STEP_TIMEOUT_PREFIX)) {
      const seconds = num(value);
      if (seconds !== null) stepTimeoutOverrides[name.slice(STEP_TIMEOUT_PREFIX.length)] = seconds;
      continue;
    }
    if (name.startsWith(CIRCUIT_PREFIX)) {
      circuits[name.slice(CIRCUIT_PREFIX.length)] = parseCircuit(value);
      continue;
    }
    if (name.startsWith(FRESH_AT_PREFIX)) {
      const at = num(value);
      if (at !== null) freshAt[name.slice(FRESH_AT_PREFIX.length)] = at;
      continue;
    }
    if (typeof value !== 'string') continue;
    if (name.startsWith(SLOT_PREFIX)) slots[name.slice(SLOT_PREFIX.length)] = value;
    else if (name.startsWith(SLOT_OWNER_PREFIX)) slotOwners[name.slice(SLOT_OWNER_PREFIX.length)] = value;
  }
  const circuit = Object.values(circuits).reduce<CircuitState>((worst, c) => (CIRCUIT_SEVERITY[c.state] > CIRCUIT_SEVERITY[worst.state] ? c : worst), CLOSED_CIRCUIT);
  const marks = Object.values(freshAt);
  const lastStatus = RUN_STATUSES.find((s) => s === raw[STATE_ATTRS.lastStatus]) ?? null;
  const config = parseStoredConfig(raw[STATE_ATTRS.config]);
  return {
    ...(config === null ? {} : { config }),
    locks: parseLocks(raw),
    slots,
    slotOwners,
    circuits,
    freshAt,
    circuit,
    freshAtMs: marks.length === 0 ? null : Math.max(...marks),
    lastStatus,
    lastRunAtMs: num(raw[STATE_ATTRS.lastRunAtMs]),
    lastScheduledTime: str(raw[STATE_ATTRS.lastScheduledTime]),
    lastExecutionId: str(raw[STATE_ATTRS.lastExecutionId]),
    leaseSecondsOverride: num(raw[STATE_ATTRS.leaseSecondsOverride]),
    stepTimeoutOverrides,
    intakePausedUntilMs: num(raw['intakePausedUntilMs']),
    scheduleSlowedUntilMs: num(raw['scheduleSlowedUntilMs']),
    version: num(raw[STATE_ATTRS.version]) ?? 0,
  };
}

/** An unknown mode is read as PAUSED: when in doubt, do not start work. */
export function parseOrchestratorState(raw: RawItem | undefined): OrchestratorState {
  if (raw === undefined) return ORCHESTRATOR_RUNNING;
  const mode = ORCHESTRATOR_MODES.find((m) => m === raw['mode']);
  const reason = str(raw['reason']);
  if (mode === undefined) return { mode: 'PAUSED', updatedAt: str(raw['updatedAt']), reason: `unreadable mode ${JSON.stringify(raw['mode'] ?? null)}` };
  return { mode, updatedAt: str(raw['updatedAt']), reason };
}

/** Held and not expired. A lease is free once `now` is past `lockExpiresAtMs` (acquireSpec's `lt`). */
export function lockViewIsLive(lock: LockView, nowMs: number): boolean {
  return lock.holder !== null && (lock.expiresAtMs === null || lock.expiresAtMs >= nowMs);
}

/** The job's lock is held and not expired. */
export function lockIsLive(state: WorkerStateItem | undefined, jobId: string, nowMs: number): boolean {
  return lockViewIsLive(lockOf(state, jobId), nowMs);
}

/** Any of the worker's jobs holds a live lock: the worker is in progress (e.g. creator intel, which aggregation waits on). */
export function liveLock(state: WorkerStateItem | undefined, nowMs: number): LockView | null {
  return Object.values(state?.locks ?? {}).find((l) => lockViewIsLive(l, nowMs)) ?? null;
}

/** When a live lock lapses, for messages. */
export const lockExpiryText = (lock: LockView): string => (lock.expiresAtMs === null ? 'no expiry' : new Date(lock.expiresAtMs).toISOString());

/** Optimistic concurrency: the item's version is still the one we read. */
export function versionCondition(state: WorkerStateItem | undefined): Condition {
  const version = state?.version ?? 0;
  const same: Condition = { op: 'eq', attr: STATE_ATTRS.version, value: version };
  return version === 0 ? { op: 'or', of: [{ op: 'notExists', attr: STATE_ATTRS.version }, same] } : same;
}

/** Adds the version bump every STATE write carries. */
export function withVersionBump(write: StateWrite): StateWrite {
  return { ...write, add: { ...write.add, [STATE_ATTRS.version]: 1 } };
}

// ---------------------------------------------------------------------------------------------
// In-memory semantics (the reference for adapters and the fakes in tests)

const scalarsOf = (item: RawItem | undefined): Item | undefined => {
  if (item === undefined) return undefined;
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(item)) if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  return out;
};

/** Evaluates a condition against a stored item (maps never satisfy a comparison). */
export function evaluateStateCondition(condition: Condition, item: RawItem | undefined): boolean {
  if (item !== undefined) {
    // notExists must see maps too: evaluate it on the full item.
    if (condition.op === 'notExists') return item[condition.attr] === undefined;
    if (condition.op === 'and') return condition.of.every((c) => evaluateStateCondition(c, item));
    if (condition.op === 'or') return condition.of.some((c) => evaluateStateCondition(c, item));
  }
  return evaluateCondition(condition, scalarsOf(item));
}

/** Applies a write as DynamoDB's SET / ADD / REMOVE would. */
export function applyStateWrite(write: StateWrite, item: RawItem | undefined): RawItem {
  const scalarPart = applyWrite({ condition: write.condition, set: {}, add: write.add, remove: [] }, scalarsOf(item));
  const merged: Record<string, unknown> = { ...(item ?? {}), ...scalarPart, ...write.set };
  return Object.fromEntries(Object.entries(merged).filter(([k]) => !write.remove.includes(k)));
}
