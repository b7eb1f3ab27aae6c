/**
 * Pure: table stream records (DynamoDB Streams wire format) into real-time events.
 *
 * | record                                              | event                                  |
 * |-----------------------------------------------------|----------------------------------------|
 * | INSERT of `WORKER#<id>` / `REPORT#...`              | `report`: job, status, score, duration |
 * | INSERT or MODIFY of `ALERT#<id>` / `ALERT`          | `alert`: anomaly, severity, its state  |
 * | INSERT or MODIFY of `WORKER#<id>` / `STATE` whose   | `circuit`: state, previous state,      |
 * | circuit changed (absent reads as CLOSED)            | consecutive failures                   |
 * | INSERT or MODIFY of `WORKER#<id>` / `STATE` whose   | `lock`, one per job whose lock changed:|
 * | lock of a job changed (holder, fence or expiry)     | holder (null = released), fence, expiry|
 * | INSERT or MODIFY of `ORCH` / `STATE`                | `mode`: RUNNING, PAUSED or DRAINING,   |
 * |                                                     | reason, since when                     |
 * | INSERT or MODIFY of `WORKER#<id>` / `INCIDENT#...`  | `incident`: id, status (OPEN,          |
 * |                                                     | ACKNOWLEDGED, RESOLVED), state, detail |
 * | anything else (the event source filters most out)   | none (`ignored`)                       |
 *
 * A record of one of these kinds that cannot be read is `invalid`, with the reason.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import type { CircuitState } from '../../lib/domain/circuit.js';
import { circuitOf, ORCH_PK, parseOrchestratorState, parseWorkerState, STATE_SK, workerPk, type LockView, type WorkerStateItem } from '../../lib/domain/worker-state.js';
import type { RealtimeEvent } from './ports.js';

const WireItem = z.record(z.string(), z.unknown());

const StreamRecordSchema = z.object({
  eventID: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    Keys: WireItem,
    NewImage: WireItem.optional(),
    OldImage: WireItem.optional(),
    /** Epoch seconds. */
    ApproximateCreationDateTime: z.number().optional(),
  }),
});
type ParsedRecord = z.infer<typeof StreamRecordSchema>;

const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });

const ReportItem = z.object({
  pk: z.string().startsWith('WORKER#'),
  workerName: z.string().min(1),
  jobId: z.string().min(1),
  executionId: z.string().min(1),
  scheduledTime: IsoTime,
  completedAt: IsoTime,
  status: z.string().min(1),
  skipReason: z.string().nullable().optional(),
  durationMs: z.number(),
  scores: z.object({ overallScore: z.number() }).nullable().optional(),
  anomalies: z.array(z.string()).optional(),
});

const AlertItem = z.object({
  pk: z.string().startsWith('ALERT#'),
  alertState: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  alert: z.object({
    id: z.string().min(1),
    worker: z.string().min(1),
    anomaly: z.string().min(1),
    severity: z.string().min(1),
    detail: z.string(),
    raisedAt: IsoTime,
  }),
});

const IncidentItem = z.object({
  pk: z.string().startsWith('WORKER#'),
  incident: z.object({
    id: z.string().min(1),
    key: z.object({ worker: z.string().min(1), job: z.string().nullable(), anomaly: z.string().min(1) }),
    state: z.string().min(1),
    severity: z.string().min(1),
    detail: z.string(),
    lastDetail: z.string(),
    firstSeen: IsoTime,
    lastSeen: IsoTime,
    count: z.number(),
    impactedJobs: z.array(z.string()),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    resolution: z.string().nullable(),
  }),
});

export type RecordReading =
  | { readonly kind: 'events'; readonly events: readonly RealtimeEvent[] }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A record's identity (for logs and batchItemFailures) and what it means. */
export interface ReadRecord {
  readonly eventID: string | null;
  readonly sequenceNumber: string | null;
  readonly reading: RecordReading;
}

const issuesText = (error: z.ZodError): string => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

const keyText = (keys: Record<string, unknown>, name: string): string => {
  const v = keys[name];
  return typeof v === 'object' && v !== null && typeof (v as { S?: unknown }).S === 'string' ? (v as { S: string }).S : '';
};

function image(raw: Record<string, unknown> | undefined, which: string): Record<string, unknown> {
  if (raw === undefined) throw new Error(`${which} missing (the stream must be NEW_AND_OLD_IMAGES)`);
  return unmarshall(raw as Record<string, AttributeValue>);
}

function reportEvent(record: ParsedRecord): RealtimeEvent {
  const parsed = ReportItem.safeParse(image(record.dynamodb.NewImage, 'NewImage'));
  if (!parsed.success) throw new Error(`malformed REPORT item: ${issuesText(parsed.error)}`);
  const r = parsed.data;
  if (r.pk !== workerPk(r.workerName)) throw new Error(`malformed REPORT item: pk ${r.pk} is not WORKER#${r.workerName}`);
  return {
    type: 'report',
    worker: r.workerName,
    at: new Date(r.completedAt).toISOString(),
    data: {
      job: r.jobId,
      executionId: r.executionId,
      scheduledTime: r.scheduledTime,
      status: r.status,
      skipReason: r.skipReason ?? null,
      overallScore: r.scores?.overallScore ?? null,
      durationMs: r.durationMs,
      anomalies: r.anomalies ?? [],
    },
  };
}

function alertEvent(record: ParsedRecord): RealtimeEvent {
  const parsed = AlertItem.safeParse(image(record.dynamodb.NewImage, 'NewImage'));
  if (!parsed.success) throw new Error(`malformed ALERT item: ${issuesText(parsed.error)}`);
  const { alert, alertState, acknowledgedAt } = parsed.data;
  return {
    type: 'alert',
    worker: alert.worker,
    at: new Date(alert.raisedAt).toISOString(),
    data: {
      alertId: alert.id,
      change: record.eventName,
      anomaly: alert.anomaly,
      severity: alert.severity,
      detail: alert.detail,
      state: alertState ?? null,
      acknowledgedAt: acknowledgedAt ?? null,
    },
  };
}

const sameCircuit = (a: CircuitState, b: CircuitState): boolean =>
  a.state === b.state && a.consecutiveFailures === b.consecutiveFailures && a.changedAtMs === b.changedAtMs && a.probesAdmitted === b.probesAdmitted && a.halfOpenSuccesses === b.halfOpenSuccesses;

const sameLock = (a: LockView | undefined, b: LockView | undefined): boolean => a?.holder === b?.holder && a?.fence === b?.fence && a?.expiresAtMs === b?.expiresAtMs;

const eventTimeMs = (record: ParsedRecord): number | null => (record.dynamodb.ApproximateCreationDateTime !== undefined ? record.dynamodb.ApproximateCreationDateTime * 1000 : null);

/** A worker STATE write: its circuit change, if any, and one event per job whose lock changed. */
function stateEvents(record: ParsedRecord, pk: string): RealtimeEvent[] {
  const worker = pk.slice('WORKER#'.length);
  if (worker === '') throw new Error('STATE item with an empty worker id');
  // An INSERT has no old image: everything reads as never locked and CLOSED.
  const oldState = parseWorkerState(record.eventName === 'INSERT' ? {} : image(record.dynamodb.OldImage, 'OldImage'));
  const newState = parseWorkerState(image(record.dynamodb.NewImage, 'NewImage'));
  const locks: RealtimeEvent[] = [];
  for (const job of new Set([...Object.keys(oldState.locks), ...Object.keys(newState.locks)])) {
    const lock = newState.locks[job];
    if (sameLock(oldState.locks[job], lock)) continue;
    const atMs = eventTimeMs(record) ?? Date.now();
    locks.push({
      type: 'lock',
      worker,
      at: new Date(atMs).toISOString(),
      data: { job, holder: lock?.holder ?? null, fence: lock?.fence ?? 0, expiresAt: lock?.expiresAtMs == null ? null : new Date(lock.expiresAtMs).toISOString() },
    });
  }
  return [...circuitEvents(oldState, newState, worker, record), ...locks];
}

function modeEvent(record: ParsedRecord): RealtimeEvent {
  const state = parseOrchestratorState(image(record.dynamodb.NewImage, 'NewImage'));
  const atMs = state.updatedAt !== null ? Date.parse(state.updatedAt) : eventTimeMs(record);
  return { type: 'mode', worker: null, at: new Date(atMs ?? Date.now()).toISOString(), data: { mode: state.mode, reason: state.reason, updatedAt: state.updatedAt } };
}

/** One event per job whose circuit changed. Circuits are per job; circuitOf reads an absent or unreadable circuit as CLOSED, as the gate does. */
function circuitEvents(oldState: WorkerStateItem, newState: WorkerStateItem, worker: string, record: ParsedRecord): RealtimeEvent[] {
  const jobs = [...new Set([...Object.keys(oldState.circuits), ...Object.keys(newState.circuits)])].sort();
  return jobs.flatMap((job): RealtimeEvent[] => {
    const before = circuitOf(oldState, job);
    const after = circuitOf(newState, job);
    if (sameCircuit(before, after)) return [];
    const atMs = after.changedAtMs ?? eventTimeMs(record);
    if (atMs === null || !Number.isFinite(atMs)) throw new Error('circuit change without a time (no changedAtMs, no ApproximateCreationDateTime)');
    return [
      {
        type: 'circuit',
        worker,
        at: new Date(atMs).toISOString(),
        data: {
          job,
          state: after.state,
          previousState: before.state,
          consecutiveFailures: after.consecutiveFailures,
          changedAt: after.changedAtMs === null ? null : new Date(after.changedAtMs).toISOString(),
        },
      },
    ];
  });
}

/** An incident's write: where it stands now (the page reads GET /incidents for the rest). */
function incidentEvent(record: ParsedRecord): RealtimeEvent {
  const parsed = IncidentItem.safeParse(image(record.dynamodb.NewImage, 'NewImage'));
  if (!parsed.success) throw new Error(`malformed INCIDENT item: ${issuesText(parsed.error)}`);
  const i = parsed.data.incident;
  const status = i.state === 'RESOLVED' ? 'RESOLVED' : i.acknowledgedAt !== null ? 'ACKNOWLEDGED' : 'OPEN';
  const at = i.resolvedAt ?? i.acknowledgedAt ?? i.lastSeen;
  return {
    type: 'incident',
    worker: i.key.worker,
    at: new Date(Number.isNaN(Date.parse(at)) ? i.lastSeen : at).toISOString(),
    data: {
      incidentId: i.id,
      change: record.eventName,
      status,
      state: i.state,
      job: i.key.job,
      anomaly: i.key.anomaly,
      severity: i.severity,
      detail: i.lastDetail,
      count: i.count,
      impactedJobs: i.impactedJobs,
      firstSeen: i.firstSeen,
      acknowledgedAt: i.acknowledgedAt,
      acknowledgedBy: i.acknowledgedBy,
      resolvedAt: i.resolvedAt,
      resolution: i.resolution,
    },
  };
}

function eventsOf(record: ParsedRecord): RealtimeEvent[] | null {
  const pk = keyText(record.dynamodb.Keys, 'pk');
  const sk = keyText(record.dynamodb.Keys, 'sk');
  if (record.eventName === 'INSERT' && pk.startsWith('WORKER#') && sk.startsWith('REPORT#')) return [reportEvent(record)];
  if (record.eventName !== 'REMOVE' && pk.startsWith('ALERT#') && sk === 'ALERT') return [alertEvent(record)];
  if (record.eventName !== 'REMOVE' && pk.startsWith('WORKER#') && sk === STATE_SK) return stateEvents(record, pk);
  if (record.eventName !== 'REMOVE' && pk === ORCH_PK && sk === STATE_SK) return [modeEvent(record)];
  if (record.eventName !== 'REMOVE' && pk.startsWith('WORKER#') && sk.startsWith('INCIDENT#')) return [incidentEvent(record)];
  return null;
}

/** Reads one raw stream record; never throws. */
export function readRecord(raw: unknown): ReadRecord {
  const identity = (typeof raw === 'object' && raw !== null ? raw : {}) as { eventID?: unknown; dynamodb?: { SequenceNumber?: unknown } };
  const eventID = typeof identity.eventID === 'string' ? identity.eventID : null;
  const sequenceNumber = typeof identity.dynamodb?.SequenceNumber === 'string' ? identity.dynamodb.SequenceNumber : null;
  const parsed = StreamRecordSchema.safeParse(raw);
  if (!parsed.success) return { eventID, sequenceNumber, reading: { kind: 'invalid', reason: `malformed stream record: ${issuesText(parsed.error)}` } };
  try {
    const events = eventsOf(parsed.data);
    return { eventID, sequenceNumber, reading: events === null ? { kind: 'ignored' } : { kind: 'events', events } };
  } catch (error) {
    return { eventID, sequenceNumber, reading: { kind: 'invalid', reason: error instanceof Error ? error.message : String(error) } };
  }
}

/** The events of a batch of stream records, in order; unreadable records give none. */
export function eventsFromRecords(records: readonly unknown[]): RealtimeEvent[] {
  return records.flatMap((r) => {
    const { reading } = readRecord(r);
    return reading.kind === 'events' ? [...reading.events] : [];
  });
}
