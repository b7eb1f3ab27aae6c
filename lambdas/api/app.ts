/**
 * The HTTP status/control API (API Gateway HTTP API, payload v2) as `makeHandler(deps)`: parse the
 * request, route it (routes.ts), validate with zod, call the ports, map the result. Every bad input
 * is a 4xx `{ error: { code, message, requestId } }` and never reaches a write; an adapter failure is
 * a logged 500 carrying the request id. docs/api.md describes every route.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { applyConfigPatch, effectiveCircuit, WorkerConfigPatch } from '../../lib/domain/worker-config.js';
import { ALERTS_GSI_PK, circuitOf, GSI1_PK, GSI1_SK, INCIDENTS_GSI_PK, workerPk, type OrchestratorMode } from '../../lib/domain/worker-state.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import type { JobSpec, WorkerSpec } from '../../lib/registry/types.js';
import { hasExactly, pageParams, encodeCursor } from './cursor.js';
import { ApiError, badRequest, conflict, errorResponse, json, notFound, parseJsonBody, parseWith, quote, type JsonResponse } from './http.js';
import type { ApiDeps, PageKey, TriggerRecord } from './ports.js';
import { matchRoute, type RouteName } from './routes.js';
import { IdempotencyKey, newTriggerRecord, pipelineKeyOf, TRIGGER_STALE_MS, TriggerBody } from './trigger.js';
import { configView, iso, lockedJobs, modeView, workerView } from './views.js';
import { admit } from '../../lib/domain/circuit.js';
import {
  BACKFILL_MAX_RANGE_DAYS,
  BACKFILL_MAX_SLOTS,
  backfillRange,
  backfillTooLarge,
  BackfillRangeError,
  latestSlots,
  missedWhilePaused,
  planBackfill,
  slotsBetween,
  type SlotRecord,
} from '../../lib/domain/backfill.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { INCIDENT_LISTINGS, incidentView } from '../../lib/domain/incident-view.js';
import { BACKFILL_CLAIM_TTL_SECONDS, BackfillBody, backfillBatchName, backfillRun } from './backfill.js';

export type { ApiDeps } from './ports.js';

/** The parts of an API Gateway HTTP API (payload v2) event the API reads. */
export interface ApiEvent {
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly requestId?: string; readonly stage?: string; readonly http?: { readonly method?: string; readonly path?: string } };
}

export type ApiResult = JsonResponse;

/** Attempts of a config write against a concurrent PUT before 409. */
export const CONFIG_WRITE_ATTEMPTS = 3;

const ReasonBody = z.strictObject({ reason: z.string().min(1).max(500).optional() });
const AckBody = z.strictObject({ by: z.string().trim().min(1).max(128), note: z.string().max(1000).optional() });
/** `<worker>~<job|->~<ANOMALY>~<generation>` (lib/domain/incident.ts incidentId). */
const IncidentIdParam = z.string().regex(/^[a-z0-9_]+~([a-z0-9_]+|-)~[A-Z_]+~[1-9][0-9]{0,8}$/, { message: 'must look like <worker>~<job or ->~<ANOMALY>~<generation>' });
/** `?state=open|resolved` of GET /incidents (default open); limit and cursor are read by pageParams. */
const IncidentsQuery = z.looseObject({ state: z.enum(INCIDENT_LISTINGS).optional() });
const AlertIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { message: 'must be 1 to 128 characters of A-Z a-z 0-9 _ -' });

const MODE_OF: Readonly<Record<'pause' | 'resume' | 'drain', OrchestratorMode>> = { pause: 'PAUSED', resume: 'RUNNING', drain: 'DRAINING' };

interface Request {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, value] of Object.entries(v)) if (typeof value === 'string') out[k.toLowerCase()] = value;
  return out;
}

function queryOf(event: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  const q = event['queryStringParameters'];
  if (isRecord(q)) for (const [k, value] of Object.entries(q)) if (typeof value === 'string') out[k] = value;
  return out;
}

/** The path without a named stage's prefix (a `$default` stage has none). */
function pathOf(event: Record<string, unknown>, ctx: Record<string, unknown>): string {
  const http = isRecord(ctx['http']) ? ctx['http'] : {};
  const raw = str(event['rawPath']) ?? str(http['path']) ?? '/';
  const stage = str(ctx['stage']);
  if (stage && stage !== '$default' && (raw === `/${stage}` || raw.startsWith(`/${stage}/`))) return raw.slice(stage.length + 1) || '/';
  return raw;
}

/** An optional body: none is `{}`; anything else (JSON null included) is validated as sent. */
const bodyOrEmpty = (req: Request): unknown => {
  const raw = parseJsonBody(req.body, req.isBase64Encoded);
  return raw === undefined ? {} : raw;
};

export function makeHandler(deps: ApiDeps): (event: ApiEvent | unknown) => Promise<ApiResult> {
  const workers = deps.workers ?? ALL_WORKERS;
  const byId = new Map(workers.map((w) => [w.id, w]));
  const pipelineKeys = new Set(deps.pipelines.pipelineKeys);

  const workerOf = (id: string | undefined): WorkerSpec => {
    const worker = id === undefined ? undefined : byId.get(id);
    if (!worker) throw notFound('UNKNOWN_WORKER', `no worker ${quote(id)}; workers are ${[...byId.keys()].join(', ')}`);
    return worker;
  };
  const triggerableJobs = (worker: WorkerSpec): JobSpec[] => worker.jobs.filter((j) => pipelineKeys.has(pipelineKeyOf(worker.id, j.id)));

  // ----------------------------------------------------------------------------------------------
  // Routes

  async function listWorkers(): Promise<JsonResponse> {
    const nowMs = deps.clock();
    const ids = workers.map((w) => w.id);
    const [orchestrator, states, reports] = await Promise.all([deps.store.readOrchestrator(), deps.store.readWorkerStates(ids), Promise.all(ids.map((id) => deps.store.latestReport(id)))]);
    const items = workers.map((worker, i) => workerView(worker, states[worker.id], reports[i] ?? null, pipelineKeys, nowMs, workers));
    return json(200, { at: iso(nowMs), orchestrator: modeView(orchestrator), workers: items });
  }

  async function listReports(req: Request): Promise<JsonResponse> {
    const worker = workerOf(req.params['id']);
    const pk = workerPk(worker.id);
    const page = pageParams(req.query, (k: PageKey) => hasExactly(k, ['pk', 'sk']) && k['pk'] === pk && (k['sk'] ?? '').startsWith('REPORT#'));
    const out = await deps.store.listReports(worker.id, page);
    return json(200, { worker: worker.id, items: out.items, nextCursor: out.lastKey ? encodeCursor(out.lastKey) : null });
  }

  async function listAlerts(req: Request): Promise<JsonResponse> {
    const page = pageParams(
      req.query,
      (k: PageKey) => hasExactly(k, ['pk', 'sk', GSI1_PK, GSI1_SK]) && k[GSI1_PK] === ALERTS_GSI_PK && (k['pk'] ?? '').startsWith('ALERT#') && k['sk'] === 'ALERT',
    );
    const out = await deps.store.listAlerts(page);
    const items = out.items.map((a) => ({ ...a.alert, acknowledgedAt: a.acknowledgedAt, acknowledgedBy: a.acknowledgedBy, deliveryState: a.deliveryState }));
    return json(200, { items, nextCursor: out.lastKey ? encodeCursor(out.lastKey) : null });
  }

  function triggerResponse(record: TriggerRecord, status: 'STARTED' | 'STARTING', replayed: boolean): JsonResponse {
    return json(replayed ? 200 : 202, {
      worker: record.workerId,
      job: record.jobId,
      requestKey: record.requestKey,
      executionName: record.executionName,
      executionArn: record.executionArn,
      scheduledTime: str(record.input['scheduledTime']) ?? record.createdAt,
      status,
      replayed,
    });
  }

  async function start(record: TriggerRecord, replayed: boolean): Promise<JsonResponse> {
    const started = await deps.pipelines.start({ pipelineKey: record.pipelineKey, name: record.executionName, input: record.input });
    const startedAt = new Date(deps.clock()).toISOString();
    await deps.store.markTriggerStarted(record.workerId, record.requestKey, startedAt, started.executionArn);
    deps.logger.info('manual run started', { worker: record.workerId, job: record.jobId, executionName: record.executionName, alreadyExisted: started.alreadyExisted, replayed });
    return triggerResponse({ ...record, startedAt, executionArn: started.executionArn }, 'STARTED', replayed);
  }

  /** A request key seen before: the same execution, started at most once. */
  async function replay(existing: TriggerRecord, jobId: string | undefined): Promise<JsonResponse> {
    if (jobId !== undefined && existing.jobId !== jobId) {
      throw conflict('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${quote(existing.requestKey)} was used for job ${quote(existing.jobId)} of ${existing.workerId}, not ${quote(jobId)}`);
    }
    if (existing.startedAt !== null) return triggerResponse(existing, 'STARTED', true);
    // Claimed and not (yet) started: another request is starting it, or failed between the claim and
    // StartExecution. A fresh claim is left alone; a stale one is re-driven under the same name.
    if (deps.clock() - Date.parse(existing.createdAt) < TRIGGER_STALE_MS) return triggerResponse(existing, 'STARTING', true);
    return start(existing, true);
  }

  async function triggerWorker(req: Request): Promise<JsonResponse> {
    const worker = workerOf(req.params['id']);
    const keyHeader = req.headers['idempotency-key'];
    if (keyHeader === undefined) throw badRequest('MISSING_IDEMPOTENCY_KEY', 'header Idempotency-Key: required (a retry with the same key returns the same run)');
    const requestKey = parseWith(IdempotencyKey, keyHeader, 'header.Idempotency-Key', 'INVALID_IDEMPOTENCY_KEY');
    const body = parseWith(TriggerBody, bodyOrEmpty(req), 'body');
    let job: JobSpec;
    const triggerable = triggerableJobs(worker);
    if (body.job !== undefined) {
      const named = worker.jobs.find((j) => j.id === body.job);
      if (!named) throw badRequest('UNKNOWN_JOB', `body.job: worker ${worker.id} has no job ${quote(body.job)}; its jobs are ${worker.jobs.map((j) => j.id).join(', ') || 'none'}`);
      if (!triggerable.includes(named)) throw badRequest('NOT_TRIGGERABLE', notTriggerableMessage(worker, named, triggerable));
      job = named;
    } else {
      const first = triggerable[0];
      if (!first) throw badRequest('NOT_TRIGGERABLE', notTriggerableMessage(worker, undefined, triggerable));
      job = first;
    }

    const existing = await deps.store.readTrigger(worker.id, requestKey);
    if (existing) return replay(existing, body.job);

    const [orchestrator, states] = await Promise.all([deps.store.readOrchestrator(), deps.store.readWorkerStates([worker.id])]);
    if (orchestrator.mode !== 'RUNNING') {
      throw conflict('ORCHESTRATOR_NOT_RUNNING', `the orchestrator is ${orchestrator.mode}${orchestrator.reason ? ` (${orchestrator.reason})` : ''}: no new runs start; POST /orchestrator/resume first`);
    }
    const config = states[worker.id]?.config;
    if (config && !config.enabled) throw conflict('WORKER_DISABLED', `worker ${worker.id} is disabled; PUT /workers/${worker.id}/config {"enabled":true} first`);

    const record = newTriggerRecord(worker.id, job.id, requestKey, deps.clock());
    const claim = await deps.store.claimTrigger(record);
    if (!claim.claimed) return replay(claim.existing, body.job);
    return start(record, false);
  }

  function notTriggerableMessage(worker: WorkerSpec, job: JobSpec | undefined, triggerable: readonly JobSpec[]): string {
    const what = job ? `job ${job.id} of ${worker.id}` : `worker ${worker.id}`;
    const why =
      worker.executionModel === 'on-demand'
        ? `is on-demand: its runs come from its queue, and it has no pipeline a manual trigger can start`
        : worker.executionModel === 'protocol'
          ? 'is a protocol, not a runnable worker'
          : 'has no pipeline a manual trigger can start';
    const others = triggerable.length > 0 ? `; triggerable jobs: ${triggerable.map((j) => j.id).join(', ')}` : '';
    return `${what} ${why}${others}`;
  }

  async function putWorkerConfig(req: Request): Promise<JsonResponse> {
    const worker = workerOf(req.params['id']);
    const raw = parseJsonBody(req.body, req.isBase64Encoded);
    if (raw === undefined) throw badRequest('MISSING_BODY', 'body: required, e.g. {"enabled":false} or {"thresholds":{"circuitFailureThreshold":5}}');
    const patch = parseWith(WorkerConfigPatch, raw, 'body');
    for (let attempt = 0; attempt < CONFIG_WRITE_ATTEMPTS; attempt++) {
      const current = (await deps.store.readWorkerStates([worker.id]))[worker.id]?.config ?? null;
      const next = applyConfigPatch(current, patch, deps.clock());
      if (await deps.store.writeWorkerConfig(worker.id, next, current?.version ?? 0)) {
        deps.logger.info('worker config changed', { worker: worker.id, config: next });
        return json(200, { worker: worker.id, config: configView(next), circuit: effectiveCircuit(worker, next) });
      }
    }
    throw conflict('CONFIG_CONFLICT', `the config of ${worker.id} changed ${CONFIG_WRITE_ATTEMPTS} times while this request was writing it; retry`);
  }

  async function setMode(req: Request, action: 'pause' | 'resume' | 'drain'): Promise<JsonResponse> {
    const body = parseWith(ReasonBody, bodyOrEmpty(req), 'body');
    const before = action === 'resume' ? await deps.store.readOrchestrator() : null;
    const state = await deps.store.setOrchestratorMode(MODE_OF[action], body.reason ?? null, deps.clock());
    deps.logger.info('orchestrator mode changed', { mode: state.mode, reason: state.reason });
    if (action === 'resume') {
      // What the pause skipped: every scheduled slot since it began, and the backfill that runs it.
      const pausedAtMs = before && before.mode !== 'RUNNING' && before.updatedAt ? Date.parse(before.updatedAt) : Number.NaN;
      if (Number.isNaN(pausedAtMs)) return json(200, { orchestrator: modeView(state), missedWhilePaused: [] });
      const jobs = workers.flatMap((w) => w.jobs.filter((j) => j.schedules.length > 0 && pipelineKeys.has(pipelineKeyOf(w.id, j.id))).map((j) => ({ worker: w.id, job: j.id, schedules: j.schedules })));
      const missed = missedWhilePaused(jobs, pausedAtMs, deps.clock());
      return json(200, { orchestrator: modeView(state), pausedSince: before?.updatedAt ?? null, previousMode: before?.mode ?? null, missedWhilePaused: missed });
    }
    if (action !== 'drain') return json(200, { orchestrator: modeView(state) });
    const nowMs = deps.clock();
    const running = lockedJobs(workers, await deps.store.readWorkerStates(workers.map((w) => w.id)), nowMs);
    return json(200, { orchestrator: modeView(state), drained: running.length === 0, stillRunning: running });
  }

  async function ackAlert(req: Request): Promise<JsonResponse> {
    const alertId = parseWith(AlertIdParam, req.params['id'], 'path.id', 'INVALID_ALERT_ID');
    const raw = parseJsonBody(req.body, req.isBase64Encoded);
    if (raw === undefined) throw badRequest('MISSING_BODY', 'body: required, e.g. {"by":"alice"}');
    const body = parseWith(AckBody, raw, 'body');
    const out = await deps.store.acknowledgeAlert(alertId, deps.clock(), { by: body.by, note: body.note ?? null });
    if (out.status === 'NOT_FOUND') throw notFound('UNKNOWN_ALERT', `no alert ${quote(alertId)}`);
    deps.logger.info('alert acknowledged', { alertId, status: out.status, by: body.by });
    return json(200, { alertId, status: out.status, acknowledgedAt: out.acknowledgedAt, by: body.by });
  }

  async function listIncidents(req: Request): Promise<JsonResponse> {
    const listing = parseWith(IncidentsQuery, req.query, 'query').state ?? 'open';
    const partition = INCIDENTS_GSI_PK[listing];
    const page = pageParams(
      req.query,
      (k: PageKey) => hasExactly(k, ['pk', 'sk', GSI1_PK, GSI1_SK]) && k[GSI1_PK] === partition && (k['pk'] ?? '').startsWith('WORKER#') && (k['sk'] ?? '').startsWith('INCIDENT#'),
    );
    const out = await deps.store.listIncidents(listing, page);
    const nowMs = deps.clock();
    return json(200, { state: listing, at: iso(nowMs), items: out.items.map((i) => incidentView(i, workers, nowMs)), nextCursor: out.lastKey ? encodeCursor(out.lastKey) : null });
  }

  async function ackIncident(req: Request): Promise<JsonResponse> {
    const incidentId = parseWith(IncidentIdParam, req.params['id'], 'path.id', 'INVALID_INCIDENT_ID');
    const raw = parseJsonBody(req.body, req.isBase64Encoded);
    if (raw === undefined) throw badRequest('MISSING_BODY', 'body: required, e.g. {"by":"alice"}');
    const body = parseWith(AckBody, raw, 'body');
    const out = await deps.store.acknowledgeIncident(incidentId, deps.clock(), { by: body.by, note: body.note ?? null });
    if (out.status === 'NOT_FOUND') throw notFound('UNKNOWN_INCIDENT', `no incident ${quote(incidentId)} (or it was reopened since: acknowledge the current one)`);
    deps.logger.info('incident acknowledged', { incidentId, status: out.status, by: body.by });
    return json(200, { incidentId, status: out.status, acknowledgedAt: out.acknowledgedAt, by: body.by });
  }

  const jobOf = (worker: WorkerSpec, jobId: string | undefined): JobSpec => {
    const job = worker.jobs.find((j) => j.id === jobId);
    if (!job) throw notFound('UNKNOWN_JOB', `worker ${worker.id} has no job ${quote(jobId)}; its jobs are ${worker.jobs.map((j) => j.id).join(', ') || 'none'}`);
    return job;
  };

  /** The reports of each slot, by normalized ISO slot. */
  const bySlot = (reports: readonly WorkerScoreReport[]): Map<string, WorkerScoreReport[]> => {
    const out = new Map<string, WorkerScoreReport[]>();
    for (const r of reports) {
      const slot = new Date(r.scheduledTime).toISOString();
      out.set(slot, [...(out.get(slot) ?? []), r]);
    }
    return out;
  };

  async function backfill(req: Request): Promise<JsonResponse> {
    const worker = workerOf(req.params['id']);
    const job = jobOf(worker, req.params['job']);
    if (job.schedules.length === 0) throw badRequest('NOT_SCHEDULED', `job ${job.id} of ${worker.id} has no schedule of its own: it has no slots to backfill`);
    if (!pipelineKeys.has(pipelineKeyOf(worker.id, job.id))) throw badRequest('NOT_TRIGGERABLE', `job ${job.id} of ${worker.id} has no pipeline a backfill can start`);
    if (!deps.backfills) throw new ApiError(501, 'BACKFILL_UNAVAILABLE', 'this API was built without a backfill runner');
    const raw = parseJsonBody(req.body, req.isBase64Encoded);
    if (raw === undefined) throw badRequest('MISSING_BODY', 'body: required, e.g. {"from":"2026-03-02T00:00:00Z","to":"2026-03-02T06:00:00Z"}');
    const body = parseWith(BackfillBody, raw, 'body');
    const nowMs = deps.clock();
    let range;
    try {
      range = backfillRange(body.from, body.to, nowMs);
    } catch (e) {
      if (e instanceof BackfillRangeError) throw badRequest('INVALID_RANGE', `body: ${e.message}`);
      throw e;
    }

    // Pause, the worker's config and its circuit: refused before anything is claimed.
    const [orchestrator, states] = await Promise.all([deps.store.readOrchestrator(), deps.store.readWorkerStates([worker.id])]);
    if (orchestrator.mode !== 'RUNNING') {
      throw conflict('ORCHESTRATOR_NOT_RUNNING', `the orchestrator is ${orchestrator.mode}${orchestrator.reason ? ` (${orchestrator.reason})` : ''}: no backfill starts; POST /orchestrator/resume first`);
    }
    const state = states[worker.id];
    if (state?.config && !state.config.enabled) throw conflict('WORKER_DISABLED', `worker ${worker.id} is disabled; PUT /workers/${worker.id}/config {"enabled":true} first`);
    // Circuits are per job: the backfilled job's own (another job of the worker may be open).
    const circuit = circuitOf(state, job.id);
    const settings = effectiveCircuit(worker, state?.config);
    if (admit(circuit, nowMs, settings).admission === 'SKIP') {
      const reopens = circuit.changedAtMs === null ? '' : `; it admits a probe from ${iso(circuit.changedAtMs + settings.openTimeoutSeconds * 1000)}`;
      throw conflict('CIRCUIT_OPEN', `the circuit of ${worker.id}.${job.id} is ${circuit.state}${reopens}: a backfill would only record skips`);
    }

    let slots: number[];
    try {
      slots = slotsBetween(job.schedules, range.fromMs, range.toMs);
    } catch (e) {
      if (e instanceof BackfillRangeError) throw badRequest('INVALID_RANGE', `body: ${e.message}`);
      throw e;
    }
    const fromIso = new Date(range.fromMs).toISOString();
    const toIso = new Date(range.toMs).toISOString();
    const [reports, claims] = await Promise.all([
      deps.store.reportsBetween(worker.id, job.id, fromIso, toIso, slots.length * 4 + 100),
      deps.store.backfillClaims(worker.id, job.id, fromIso, toIso),
    ]);
    const reported = bySlot(reports);
    const records = new Map<string, SlotRecord>();
    for (const ms of slots) {
      const slot = new Date(ms).toISOString();
      const rs = reported.get(slot);
      if (rs !== undefined || claims.has(slot)) records.set(slot, { statuses: (rs ?? []).map((r) => r.status), backfillClaimed: claims.has(slot) });
    }
    const claimedSlot = state?.slots[job.id] ?? null;
    const plan = planBackfill(slots, records, claimedSlot);
    const tooLarge = backfillTooLarge(plan.missed.length, worker.id, job.id);
    if (tooLarge !== null) throw new ApiError(422, 'BACKFILL_TOO_LARGE', tooLarge);

    const base = { worker: worker.id, job: job.id, from: fromIso, to: toIso, maxSlots: BACKFILL_MAX_SLOTS, alreadyRan: plan.alreadyRan, inProgress: plan.inProgress };
    if (plan.missed.length === 0) return json(200, { ...base, queued: [], executionName: null, executionArn: null, status: 'NOTHING_MISSED' });

    // Claim each slot once (a concurrent or repeated request claims none of these again).
    const name = backfillBatchName(worker.id, job.id, plan.missed);
    const claimedAt = new Date(nowMs).toISOString();
    const queued: string[] = [];
    const lostRace: string[] = [];
    for (const slot of plan.missed) {
      const won = await deps.store.claimBackfillSlot({ workerId: worker.id, jobId: job.id, slot, backfillName: name, claimedAt, expiresAt: Math.floor(nowMs / 1000) + BACKFILL_CLAIM_TTL_SECONDS });
      (won ? queued : lostRace).push(slot);
    }
    if (queued.length === 0) return json(200, { ...base, alreadyRan: [...plan.alreadyRan, ...lostRace].sort(), queued: [], executionName: null, executionArn: null, status: 'NOTHING_MISSED' });
    const runName = queued.length === plan.missed.length ? name : backfillBatchName(worker.id, job.id, queued);
    let started;
    try {
      started = await deps.backfills.start({ name: runName, worker: worker.id, job: job.id, runs: queued.map((slot) => backfillRun(worker.id, job.id, slot, claimedSlot)) });
    } catch (error) {
      // Nothing runs these slots: give them back, so the next request can.
      await Promise.allSettled(queued.map((slot) => deps.store.releaseBackfillSlot(worker.id, job.id, slot)));
      throw error;
    }
    deps.logger.info('backfill started', { worker: worker.id, job: job.id, slots: queued.length, executionName: runName, alreadyExisted: started.alreadyExisted });
    return json(202, { ...base, alreadyRan: [...plan.alreadyRan, ...lostRace].sort(), queued, executionName: runName, executionArn: started.executionArn, status: 'STARTED' });
  }

  /** The page size of GET .../runs: `limit` slots. */
  const RunsCursorKey = (k: PageKey): boolean => hasExactly(k, ['before']) && !Number.isNaN(Date.parse(k['before'] ?? ''));

  async function listRuns(req: Request): Promise<JsonResponse> {
    const worker = workerOf(req.params['id']);
    const job = jobOf(worker, req.params['job']);
    const page = pageParams(req.query, RunsCursorKey);
    const nowMs = deps.clock();
    const beforeMs = page.startKey ? Date.parse(page.startKey['before'] ?? '') : nowMs + 1;
    const beforeIso = new Date(beforeMs).toISOString();
    const states = await deps.store.readWorkerStates([worker.id]);
    const claimedSlot = states[worker.id]?.slots[job.id] ?? null;
    let slots: number[] = [];
    let reports: readonly WorkerScoreReport[];
    if (job.schedules.length > 0) {
      slots = latestSlots(job.schedules, beforeMs, page.limit, BACKFILL_MAX_RANGE_DAYS * 24 * 3600 * 1000);
      const oldest = slots[slots.length - 1];
      reports = oldest === undefined ? [] : await deps.store.reportsBetween(worker.id, job.id, new Date(oldest).toISOString(), beforeIso, page.limit * 8 + 100);
    } else {
      reports = await deps.store.reportsBefore(worker.id, job.id, beforeIso, page.limit);
    }
    const reported = bySlot(reports);
    const times = new Set<string>([...slots.map((t) => new Date(t).toISOString()), ...reported.keys()]);
    const items = [...times]
      .sort()
      .reverse()
      .map((slot) => {
        const rs = (reported.get(slot) ?? []).slice().sort((a, b) => (a.completedAt < b.completedAt ? -1 : 1));
        const ran = rs.filter((r) => r.status !== 'SKIPPED');
        const shown = ran[ran.length - 1] ?? rs[rs.length - 1];
        const status = shown ? shown.status : slot === claimedSlot ? 'RUNNING' : 'MISSED';
        return { scheduledTime: slot, scheduled: slots.includes(Date.parse(slot)), status, score: shown?.scores?.overallScore ?? null, reports: rs };
      });
    const oldest = items[items.length - 1];
    const more = job.schedules.length > 0 ? slots.length === page.limit : reports.length === page.limit;
    return json(200, { worker: worker.id, job: job.id, at: iso(nowMs), items, nextCursor: more && oldest ? encodeCursor({ before: oldest.scheduledTime }) : null });
  }

  const dispatch: Record<RouteName, (req: Request) => Promise<JsonResponse>> = {
    listWorkers: () => listWorkers(),
    listReports,
    listRuns,
    backfill,
    listAlerts,
    triggerWorker,
    putWorkerConfig,
    ackAlert,
    listIncidents,
    ackIncident,
    pause: (req) => setMode(req, 'pause'),
    resume: (req) => setMode(req, 'resume'),
    drain: (req) => setMode(req, 'drain'),
  };

  return async (input: ApiEvent | unknown): Promise<ApiResult> => {
    const event = isRecord(input) ? input : {};
    const ctx = isRecord(event['requestContext']) ? event['requestContext'] : {};
    const http = isRecord(ctx['http']) ? ctx['http'] : {};
    const requestId = str(ctx['requestId']) ?? randomUUID();
    const method = (str(http['method']) ?? '').toUpperCase();
    const path = pathOf(event, ctx);
    let route: RouteName | null = null;
    try {
      const match = matchRoute(method, path);
      if (match.kind === 'notFound') throw notFound('NO_SUCH_ROUTE', `no route ${method} ${quote(path)}`);
      if (match.kind === 'methodNotAllowed') {
        throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${quote(path)} accepts ${match.allow.join(', ')}, got ${quote(method)}`, { allow: match.allow.join(', ') });
      }
      route = match.route;
      const body = event['body'];
      if (body !== undefined && body !== null && typeof body !== 'string') throw badRequest('MALFORMED_JSON', 'body: not a JSON text');
      const response = await dispatch[route]({
        method,
        path,
        params: match.params,
        headers: stringMap(event['headers']),
        query: queryOf(event),
        body: typeof body === 'string' ? body : undefined,
        isBase64Encoded: event['isBase64Encoded'] === true,
      });
      deps.logger.info('request', { requestId, method, path, route, status: response.statusCode });
      return response;
    } catch (error) {
      if (error instanceof ApiError) {
        deps.logger.info('request rejected', { requestId, method, path, route, status: error.status, code: error.code, message: error.message });
        return errorResponse(error, requestId);
      }
      deps.logger.error('request failed', { requestId, method, path, route, error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
      return errorResponse(new ApiError(500, 'INTERNAL', `the request failed; quote request id ${requestId}`), requestId);
    }
  };
}
