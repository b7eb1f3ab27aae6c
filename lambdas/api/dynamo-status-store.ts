/**
 * The API's StatusStore port on the orchestrator table (docs/data-model.md). Reads are GetItem,
 * BatchGetItem (consistent) and Query; writes are single-item UpdateItem/PutItem, conditional where
 * a race matters (config version, TRIGGER claim). Alerts are read and acknowledged through
 * DynamoAlertStore. A failed condition is an answer, not an error.
 */
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configAttr, type WorkerConfig } from '../../lib/domain/worker-config.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import {
  ORCH_PK,
  parseOrchestratorState,
  parseWorkerState,
  STATE_ATTRS,
  STATE_SK,
  triggerPk,
  workerPk,
  type OrchestratorMode,
  type OrchestratorState,
  type WorkerStateItem,
} from '../../lib/domain/worker-state.js';
import { DynamoAlertStore } from '../adapters/dynamo-alert-store.js';
import { DynamoIncidentStore, INCIDENTS_OPEN_GSI_PK, INCIDENTS_RESOLVED_GSI_PK } from '../adapters/dynamo-incident-store.js';
import type { Incident } from '../../lib/domain/incident.js';
import type { IncidentListing } from '../../lib/domain/incident-view.js';
import { ALERT_SK, alertPk } from '../../lib/domain/anomaly-evaluation.js';
import { recordAcknowledgement } from '../../lib/domain/incident.js';
import { DynamoStateStore, isConditionFailure, putIfAbsent } from '../adapters/dynamo-state-store.js';
import type { AcknowledgeBy, AcknowledgeOutcome, AlertListing, BackfillClaim, Page, PageKey, PageRequest, StatusStore, TriggerClaimResult, TriggerRecord } from './ports.js';

/** The partition of a worker's backfill claims. */
export const backfillPk = (workerId: string): string => `BACKFILL#${workerId}`;
const backfillSk = (jobId: string, slot: string): string => `${jobId}#${slot}`;

/** More reports in a range than a caller allowed. */
export class TooManyReportsError extends Error {
  override readonly name = 'TooManyReportsError';
}

const REPORT_PREFIX = 'REPORT#';
/** Attributes of a REPORT item that are not report fields. */
const REPORT_ITEM_ONLY = new Set(['pk', 'sk', 'entity', 'expiresAt']);

const stringKey = (key: Record<string, unknown> | undefined): PageKey | undefined =>
  key === undefined ? undefined : Object.fromEntries(Object.entries(key).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** A REPORT item without its table attributes. */
export function reportOf(item: Record<string, unknown>): WorkerScoreReport {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !REPORT_ITEM_ONLY.has(k))) as unknown as WorkerScoreReport;
}

const TRIGGER_ENTITY = 'TRIGGER';

export function triggerItem(record: TriggerRecord): Record<string, unknown> {
  return {
    pk: triggerPk(record.workerId),
    sk: record.requestKey,
    entity: TRIGGER_ENTITY,
    workerId: record.workerId,
    jobId: record.jobId,
    executionName: record.executionName,
    pipelineKey: record.pipelineKey,
    input: record.input,
    createdAt: record.createdAt,
    ...(record.startedAt !== null ? { startedAt: record.startedAt } : {}),
    ...(record.executionArn !== null ? { executionArn: record.executionArn } : {}),
    expiresAt: record.expiresAt,
  };
}

/** A TRIGGER item as a record; null when unreadable. */
export function triggerRecordOf(item: Record<string, unknown>): TriggerRecord | null {
  const s = (k: string): string | null => (typeof item[k] === 'string' ? (item[k] as string) : null);
  const workerId = s('workerId');
  const jobId = s('jobId');
  const requestKey = s('sk');
  const executionName = s('executionName');
  const pipelineKey = s('pipelineKey');
  const createdAt = s('createdAt');
  const input = item['input'];
  if (!workerId || !jobId || !requestKey || !executionName || !pipelineKey || !createdAt || typeof input !== 'object' || input === null) return null;
  return {
    workerId,
    jobId,
    requestKey,
    executionName,
    pipelineKey,
    input: input as Record<string, unknown>,
    createdAt,
    startedAt: s('startedAt'),
    executionArn: s('executionArn'),
    expiresAt: typeof item['expiresAt'] === 'number' ? item['expiresAt'] : 0,
  };
}

export class DynamoStatusStore implements StatusStore {
  private readonly states: DynamoStateStore;
  private readonly alerts: DynamoAlertStore;
  private readonly incidents: DynamoIncidentStore;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.states = new DynamoStateStore(client, tableName);
    this.alerts = new DynamoAlertStore(client, tableName);
    this.incidents = new DynamoIncidentStore(client, tableName);
  }

  async readOrchestrator(): Promise<OrchestratorState> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: ORCH_PK, sk: STATE_SK }, ConsistentRead: true }));
    return parseOrchestratorState(out.Item);
  }

  async setOrchestratorMode(mode: OrchestratorMode, reason: string | null, nowMs: number): Promise<OrchestratorState> {
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: ORCH_PK, sk: STATE_SK },
        UpdateExpression: reason === null ? 'SET #mode = :mode, #at = :at REMOVE #reason' : 'SET #mode = :mode, #at = :at, #reason = :reason',
        ExpressionAttributeNames: { '#mode': 'mode', '#at': 'updatedAt', '#reason': 'reason' },
        ExpressionAttributeValues: { ':mode': mode, ':at': new Date(nowMs).toISOString(), ...(reason === null ? {} : { ':reason': reason }) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parseOrchestratorState(out.Attributes ?? {});
  }

  async readWorkerStates(workerIds: readonly string[]): Promise<Readonly<Record<string, WorkerStateItem | undefined>>> {
    const items = await this.states.batchGet(workerIds.map((id) => ({ pk: workerPk(id), sk: STATE_SK })));
    return Object.fromEntries(
      workerIds.map((id) => {
        const raw = items.get(`${workerPk(id)}\u0000${STATE_SK}`);
        return [id, raw === undefined ? undefined : parseWorkerState(raw)];
      }),
    );
  }

  async latestReport(workerId: string): Promise<WorkerScoreReport | null> {
    const page = await this.listReports(workerId, { limit: 1 });
    return page.items[0] ?? null;
  }

  async listReports(workerId: string, page: PageRequest): Promise<Page<WorkerScoreReport>> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': workerPk(workerId), ':prefix': REPORT_PREFIX },
        ScanIndexForward: false,
        Limit: page.limit,
        ...(page.startKey ? { ExclusiveStartKey: { ...page.startKey } } : {}),
      }),
    );
    const lastKey = stringKey(out.LastEvaluatedKey);
    const items = (out.Items ?? []).map(reportOf);
    return lastKey ? { items, lastKey } : { items };
  }

  async listAlerts(page: PageRequest): Promise<Page<AlertListing>> {
    return this.alerts.listAlerts(page);
  }

  /** The alert's acknowledgement, then (one GetItem) the incident it announced, if any, acknowledged too. */
  async acknowledgeAlert(alertId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome> {
    const out = await this.alerts.acknowledgeAlert(alertId, nowMs, ack);
    if (out.status === 'NOT_FOUND') return out;
    const item = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: alertPk(alertId), sk: ALERT_SK }, ConsistentRead: true, ProjectionExpression: '#alert.#incident.#id', ExpressionAttributeNames: { '#alert': 'alert', '#incident': 'incident', '#id': 'id' } }),
    );
    const incidentId = (item.Item?.['alert'] as { incident?: { id?: unknown } } | undefined)?.incident?.id;
    if (typeof incidentId === 'string') await recordAcknowledgement(this.incidents, incidentId, ack.by, nowMs);
    return out;
  }

  async listIncidents(listing: IncidentListing, page: PageRequest): Promise<Page<Incident>> {
    return this.incidents.listPage(listing === 'open' ? INCIDENTS_OPEN_GSI_PK : INCIDENTS_RESOLVED_GSI_PK, page.limit, page.startKey);
  }

  async acknowledgeIncident(incidentId: string, nowMs: number, ack: AcknowledgeBy): Promise<AcknowledgeOutcome> {
    return recordAcknowledgement(this.incidents, incidentId, ack.by, nowMs);
  }

  async writeWorkerConfig(workerId: string, config: WorkerConfig, expectedVersion: number): Promise<boolean> {
    const names = { '#config': STATE_ATTRS.config, '#version': 'version' };
    const condition = expectedVersion === 0 ? 'attribute_not_exists(#config) OR attribute_not_exists(#config.#version) OR #config.#version = :expected' : '#config.#version = :expected';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: workerPk(workerId), sk: STATE_SK },
          UpdateExpression: 'SET #config = :config',
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':config': configAttr(config), ':expected': expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async readTrigger(workerId: string, requestKey: string): Promise<TriggerRecord | null> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: triggerPk(workerId), sk: requestKey }, ConsistentRead: true }));
    return out.Item === undefined ? null : triggerRecordOf(out.Item);
  }

  async claimTrigger(record: TriggerRecord): Promise<TriggerClaimResult> {
    if (await putIfAbsent(this.client, this.tableName, triggerItem(record))) return { claimed: true };
    const existing = await this.readTrigger(record.workerId, record.requestKey);
    if (existing === null) throw new Error(`TRIGGER claim of ${record.workerId}/${record.requestKey} lost its race, but the item is unreadable or gone`);
    return { claimed: false, existing };
  }

  async markTriggerStarted(workerId: string, requestKey: string, startedAt: string, executionArn: string | null): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: triggerPk(workerId), sk: requestKey },
          UpdateExpression: executionArn === null ? 'SET #started = if_not_exists(#started, :at)' : 'SET #started = if_not_exists(#started, :at), #arn = if_not_exists(#arn, :arn)',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk', '#started': 'startedAt', ...(executionArn === null ? {} : { '#arn': 'executionArn' }) },
          ExpressionAttributeValues: { ':at': startedAt, ...(executionArn === null ? {} : { ':arn': executionArn }) },
        }),
      );
    } catch (error) {
      // The claim expired (TTL) meanwhile: nothing to mark.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** A Query of one job's reports whose sort key lies between `fromSk` and `toSk` (one page, from `startKey`). */
  private jobReportsQuery(
    workerId: string,
    jobId: string,
    fromSk: string,
    toSk: string,
    startKey: Record<string, unknown> | undefined,
    order: { readonly ScanIndexForward?: boolean; readonly Limit?: number } = {},
  ): QueryCommand {
    return new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      FilterExpression: '#job = :job',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#job': 'jobId' },
      ExpressionAttributeValues: { ':pk': workerPk(workerId), ':from': fromSk, ':to': toSk, ':job': jobId },
      ...order,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    });
  }

  async reportsBetween(workerId: string, jobId: string, fromIso: string, toIso: string, maxItems: number): Promise<readonly WorkerScoreReport[]> {
    const out: WorkerScoreReport[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(this.jobReportsQuery(workerId, jobId, `${REPORT_PREFIX}${fromIso}`, `${REPORT_PREFIX}${toIso}`, startKey));
      for (const item of page.Items ?? []) out.push(reportOf(item));
      if (out.length > maxItems) throw new TooManyReportsError(`more than ${maxItems} reports of ${workerId}.${jobId} between ${fromIso} and ${toIso}`);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }

  async reportsBefore(workerId: string, jobId: string, beforeIso: string, limit: number): Promise<readonly WorkerScoreReport[]> {
    const out: WorkerScoreReport[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(this.jobReportsQuery(workerId, jobId, REPORT_PREFIX, `${REPORT_PREFIX}${beforeIso}`, startKey, { ScanIndexForward: false, Limit: Math.max(limit, 25) }));
      for (const item of page.Items ?? []) if (out.length < limit) out.push(reportOf(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && out.length < limit);
    return out;
  }

  async backfillClaims(workerId: string, jobId: string, fromIso: string, toIso: string): Promise<ReadonlySet<string>> {
    const slots = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': backfillPk(workerId), ':from': backfillSk(jobId, fromIso), ':to': backfillSk(jobId, toIso) },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) if (typeof item['slot'] === 'string') slots.add(item['slot']);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return slots;
  }

  async claimBackfillSlot(claim: BackfillClaim): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, {
      pk: backfillPk(claim.workerId),
      sk: backfillSk(claim.jobId, claim.slot),
      entity: 'BACKFILL',
      workerId: claim.workerId,
      jobId: claim.jobId,
      slot: claim.slot,
      backfillName: claim.backfillName,
      claimedAt: claim.claimedAt,
      expiresAt: claim.expiresAt,
    });
  }

  async releaseBackfillSlot(workerId: string, jobId: string, slot: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: backfillPk(workerId), sk: backfillSk(jobId, slot) } }));
  }
}
