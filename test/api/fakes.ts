/**
 * Fakes for the API's ports: an in-memory StatusStore with the table's semantics (conditional
 * TRIGGER claim, config version check, pages newest first with a LastEvaluatedKey), a recording
 * PipelineStarter and a recording logger, plus an API Gateway v2 event builder.
 */
import type { AcknowledgeBy, AcknowledgeOutcome, AlertListing, BackfillClaim, Page, PageKey, PageRequest, PipelineStarter, StartExecutionRequest, StatusStore, TriggerClaimResult, TriggerRecord } from '../../lambdas/api/ports.js';
import { alertPk, ALERT_SK } from '../../lib/domain/anomaly-evaluation.js';
import type { Alert } from '../../lib/domain/alerting.js';
import type { Incident } from '../../lib/domain/incident.js';
import type { IncidentListing } from '../../lib/domain/incident-view.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { configAttr, type WorkerConfig } from '../../lib/domain/worker-config.js';
import {
  ALERTS_GSI_PK,
  alertGsiSk,
  INCIDENTS_GSI_PK,
  ORCHESTRATOR_RUNNING,
  parseWorkerState,
  reportSk,
  workerPk,
  type OrchestratorMode,
  type OrchestratorState,
  type RawItem,
  type WorkerStateItem,
} from '../../lib/domain/worker-state.js';

/** Yields to the event loop, so concurrent requests interleave as they would over a network. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface StoredAlert {
  readonly listing: AlertListing;
  readonly key: { pk: string; sk: string; gsi1pk: string; gsi1sk: string };
  acknowledgedBy: AcknowledgeBy | null;
}

function pageOf<T>(sorted: readonly { key: PageKey; item: T }[], page: PageRequest, sortAttr: string): Page<T> {
  const start = page.startKey ? sorted.findIndex((e) => (e.key[sortAttr] ?? '') < (page.startKey?.[sortAttr] ?? '')) : 0;
  const from = start < 0 ? sorted.length : start;
  const slice = sorted.slice(from, from + page.limit);
  const last = slice[slice.length - 1];
  // Like DynamoDB: a LastEvaluatedKey whenever the page is full.
  return slice.length === page.limit && last ? { items: slice.map((e) => e.item), lastKey: last.key } : { items: slice.map((e) => e.item) };
}

export class InMemoryStatusStore implements StatusStore {
  orchestrator: OrchestratorState = ORCHESTRATOR_RUNNING;
  readonly states = new Map<string, RawItem>();
  readonly reports = new Map<string, { sk: string; report: WorkerScoreReport }[]>();
  readonly alerts: StoredAlert[] = [];
  readonly triggers = new Map<string, TriggerRecord>();
  /** Every call, by method name. */
  readonly calls: string[] = [];
  /** Methods that throw (an adapter failure). */
  readonly failing = new Set<keyof StatusStore>();
  /** Config writes that lose their race before succeeding. */
  configConflicts = 0;

  private async enter(method: keyof StatusStore): Promise<void> {
    this.calls.push(method);
    await tick();
    if (this.failing.has(method)) throw new Error(`${method}: ProvisionedThroughputExceededException (fake)`);
  }

  addReport(report: WorkerScoreReport): void {
    const list = this.reports.get(report.workerName) ?? [];
    list.push({ sk: reportSk(new Date(report.scheduledTime).toISOString(), report.jobId), report });
    list.sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
    this.reports.set(report.workerName, list);
  }

  addAlert(alert: Alert, over: Partial<AlertListing> = {}): void {
    this.alerts.push({
      listing: { alert, deliveryState: 'DELIVERED', acknowledgedAt: null, acknowledgedBy: null, ...over },
      key: { pk: alertPk(alert.id), sk: ALERT_SK, gsi1pk: ALERTS_GSI_PK, gsi1sk: alertGsiSk(alert.raisedAt, alert.id) },
      acknowledgedBy: null,
    });
    this.alerts.sort((a, b) => (a.key.gsi1sk < b.key.gsi1sk ? 1 : -1));
  }

  async readOrchestrator(): Promise<OrchestratorState> {
    await this.enter('readOrchestrator');
    return this.orchestrator;
  }

  async setOrchestratorMode(mode: OrchestratorMode, reason: string | null, nowMs: number): Promise<OrchestratorState> {
    await this.enter('setOrchestratorMode');
    this.orchestrator = { mode, reason, updatedAt: new Date(nowMs).toISOString() };
    return this.orchestrator;
  }

  async readWorkerStates(workerIds: readonly string[]): Promise<Readonly<Record<string, WorkerStateItem | undefined>>> {
    await this.enter('readWorkerStates');
    return Object.fromEntries(workerIds.map((id) => {
      const raw = this.states.get(id);
      return [id, raw === undefined ? undefined : parseWorkerState(raw)];
    }));
  }

  async latestReport(workerId: string): Promise<WorkerScoreReport | null> {
    await this.enter('latestReport');
    return this.reports.get(workerId)?.[0]?.report ?? null;
  }

  async listReports(workerId: string, page: PageRequest): Promise<Page<WorkerScoreReport>> {
    await this.enter('listReports');
    const entries = (this.reports.get(workerId) ?? []).map((e) => ({ key: { pk: workerPk(workerId), sk: e.sk }, item: e.report }));
    return pageOf(entries, page, 'sk');
  }

  async listAlerts(page: PageRequest): Promise<Page<AlertListing>> {
    await this.enter('listAlerts');
    return pageOf(this.alerts.map((a) => ({ key: a.key, item: a.listing })), page, 'gsi1sk');
  }

  async acknowledgeAlert(alertId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome> {
    await this.enter('acknowledgeAlert');
    const index = this.alerts.findIndex((a) => a.listing.alert.id === alertId);
    const stored = this.alerts[index];
    if (!stored) return { status: 'NOT_FOUND' };
    if (stored.listing.acknowledgedAt !== null) return { status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: stored.listing.acknowledgedAt };
    const acknowledgedAt = new Date(nowMs).toISOString();
    this.alerts[index] = { ...stored, listing: { ...stored.listing, acknowledgedAt, acknowledgedBy: ack.by }, acknowledgedBy: ack };
    return { status: 'ACKNOWLEDGED', acknowledgedAt };
  }

  readonly incidentAcks = new Map<string, AcknowledgeBy & { readonly at: string }>();
  /** Incidents GET /incidents lists (as the table holds them). */
  readonly incidents: Incident[] = [];
  async listIncidents(listing: IncidentListing, page: PageRequest): Promise<Page<Incident>> {
    await this.enter('listIncidents');
    const partition = INCIDENTS_GSI_PK[listing];
    const keyed = this.incidents
      .filter((i) => (i.state === 'RESOLVED') === (listing === 'resolved'))
      .map((i) => ({ key: { pk: workerPk(i.key.worker), sk: `INCIDENT#${i.key.job ?? '-'}#${i.key.anomaly}`, gsi1pk: partition, gsi1sk: `${listing === 'resolved' ? (i.resolvedAt ?? '') : i.firstSeen}#${i.id}` }, item: i }))
      .sort((a, b) => (a.key.gsi1sk < b.key.gsi1sk ? 1 : -1));
    return pageOf(keyed, page, 'gsi1sk');
  }

  /** Incident ids that exist (acknowledgeIncident answers NOT_FOUND for others). */
  readonly incidentIds = new Set<string>();
  async acknowledgeIncident(incidentId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome> {
    await this.enter('acknowledgeIncident');
    if (!this.incidentIds.has(incidentId)) return { status: 'NOT_FOUND' };
    const earlier = this.incidentAcks.get(incidentId);
    if (earlier) return { status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: earlier.at };
    const at = new Date(nowMs).toISOString();
    this.incidentAcks.set(incidentId, { ...ack, at });
    return { status: 'ACKNOWLEDGED', acknowledgedAt: at };
  }

  async writeWorkerConfig(workerId: string, config: WorkerConfig, expectedVersion: number): Promise<boolean> {
    await this.enter('writeWorkerConfig');
    if (this.configConflicts > 0) {
      this.configConflicts--;
      return false;
    }
    const raw = this.states.get(workerId) ?? {};
    const stored = parseWorkerState(raw).config?.version ?? 0;
    if (stored !== expectedVersion) return false;
    this.states.set(workerId, { ...raw, config: configAttr(config) });
    return true;
  }

  async readTrigger(workerId: string, requestKey: string): Promise<TriggerRecord | null> {
    await this.enter('readTrigger');
    return this.triggers.get(`${workerId}/${requestKey}`) ?? null;
  }

  async claimTrigger(record: TriggerRecord): Promise<TriggerClaimResult> {
    await this.enter('claimTrigger');
    // The conditional put: check and write in one step.
    const key = `${record.workerId}/${record.requestKey}`;
    const existing = this.triggers.get(key);
    if (existing) return { claimed: false, existing };
    this.triggers.set(key, record);
    return { claimed: true };
  }

  async markTriggerStarted(workerId: string, requestKey: string, startedAt: string, executionArn: string | null): Promise<void> {
    await this.enter('markTriggerStarted');
    const key = `${workerId}/${requestKey}`;
    const existing = this.triggers.get(key);
    if (existing && existing.startedAt === null) this.triggers.set(key, { ...existing, startedAt, executionArn });
  }

  readonly backfillClaimsStored = new Map<string, BackfillClaim>();

  private jobReports(workerId: string, jobId: string): WorkerScoreReport[] {
    return (this.reports.get(workerId) ?? []).filter((e) => e.report.jobId === jobId).map((e) => e.report);
  }

  async reportsBetween(workerId: string, jobId: string, fromIso: string, toIso: string, maxItems: number): Promise<readonly WorkerScoreReport[]> {
    await this.enter('reportsBetween');
    const out = this.jobReports(workerId, jobId).filter((r) => { const t = new Date(r.scheduledTime).toISOString(); return t >= fromIso && t < toIso; }).reverse();
    if (out.length > maxItems) throw new Error(`more than ${maxItems} reports`);
    return out;
  }

  async reportsBefore(workerId: string, jobId: string, beforeIso: string, limit: number): Promise<readonly WorkerScoreReport[]> {
    await this.enter('reportsBefore');
    return this.jobReports(workerId, jobId).filter((r) => new Date(r.scheduledTime).toISOString() < beforeIso).slice(0, limit);
  }

  async backfillClaims(workerId: string, jobId: string, fromIso: string, toIso: string): Promise<ReadonlySet<string>> {
    await this.enter('backfillClaims');
    return new Set([...this.backfillClaimsStored.values()].filter((c) => c.workerId === workerId && c.jobId === jobId && c.slot >= fromIso && c.slot < toIso).map((c) => c.slot));
  }

  async claimBackfillSlot(claim: BackfillClaim): Promise<boolean> {
    await this.enter('claimBackfillSlot');
    const key = `${claim.workerId}/${claim.jobId}/${claim.slot}`;
    if (this.backfillClaimsStored.has(key)) return false;
    this.backfillClaimsStored.set(key, claim);
    return true;
  }

  async releaseBackfillSlot(workerId: string, jobId: string, slot: string): Promise<void> {
    await this.enter('releaseBackfillSlot');
    this.backfillClaimsStored.delete(`${workerId}/${jobId}/${slot}`);
  }
}

export class RecordingStarter implements PipelineStarter {
  readonly started: StartExecutionRequest[] = [];
  fail = false;
  constructor(readonly pipelineKeys: readonly string[]) {}

  async start(request: StartExecutionRequest): Promise<{ executionArn: string | null; alreadyExisted: boolean }> {
    await tick();
    if (this.fail) throw new Error('StartExecution: ServiceUnavailable (fake)');
    const alreadyExisted = this.started.some((s) => s.name === request.name && s.pipelineKey === request.pipelineKey);
    this.started.push(request);
    return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${request.pipelineKey.replace('.', '-')}:${request.name}`, alreadyExisted };
  }
}

export class RecordingLogger {
  readonly entries: { level: 'info' | 'warn' | 'error'; message: string; attributes: Record<string, unknown> }[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.entries.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.entries.push({ level: 'error', message, attributes });
  }
}

export interface EventOptions {
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly query?: Record<string, string>;
  readonly requestId?: string;
  readonly stage?: string;
}

/** An API Gateway HTTP API (payload 2.0) event. */
export function apiEvent(method: string, path: string, options: EventOptions = {}): Record<string, unknown> {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    requestContext: { requestId: options.requestId ?? 'req-1', stage: options.stage ?? '$default', http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' } },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

/** Every `<worker>.<job>` that has a pipeline in the stack: the scheduled jobs and the intel cycle. */
export const PIPELINE_KEYS = [
  'youtube_worker.trending',
  'youtube_worker.games',
  'twitch_streams_worker.poll',
  'clip_radar_worker.poll',
  'intel_aggregation_worker.hourly',
  'intel_aggregation_worker.daily',
  'analytics_flush_worker.flush',
  'coach_cleanup_worker.cleanup',
  'clip_radar_recap_worker.recap',
  'intel_orchestrator.cycle',
] as const;
