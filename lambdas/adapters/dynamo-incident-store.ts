/**
 * The IncidentStore port (lib/domain/incident.ts) on the orchestrator table. One item per incident
 * key, holding the key's latest incident (a reopened condition replaces its resolved predecessor):
 *
 * | attribute    | type | meaning                                                              |
 * |--------------|------|----------------------------------------------------------------------|
 * | `pk`         | S    | `WORKER#<root worker>`                                               |
 * | `sk`         | S    | `INCIDENT#<job or ->#<anomaly>`                                      |
 * | `entity`     | S    | `INCIDENT`                                                           |
 * | `incidentId` | S    | `<worker>~<job or ->~<anomaly>~<generation>`                          |
 * | `state`, `severity` | S | for reading the table by eye                                  |
 * | `version`    | N    | optimistic concurrency: every write is conditional on the previous   |
 * | `incident`   | M    | the whole Incident                                                   |
 * | `gsi1pk`     | S    | `INCIDENTS_OPEN` while not RESOLVED, then `INCIDENTS_RESOLVED`: the  |
 * |              |      | GSI `byTime` lists each kind (GET /incidents?state=open or resolved)  |
 * | `gsi1sk`     | S    | `<first seen ISO>#<incident id>`; resolved: `<resolved ISO>#<id>`     |
 * | `expiresAt`  | N    | TTL, RESOLVED only: resolved + INCIDENT_RETENTION_DAYS               |
 *
 * Requests: `read` one consistent GetItem; `readWorker` one consistent Query of the worker's
 * partition (`begins_with(sk, INCIDENT#)`); `listUnresolved` Queries of the GSI; `listPage` one
 * page of one GSI partition, newest first (the API's listing); `write` one
 * conditional PutItem (`attribute_not_exists(pk)` for version 1, else `version = next - 1`). A
 * failed condition is an answer (`false`); anything else is thrown for the caller to retry.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { keyJob, type Incident, type IncidentKey, type IncidentStore } from '../../lib/domain/incident.js';
import { BY_TIME_INDEX, GSI1_PK, GSI1_SK, INCIDENTS_GSI_PK, normalizeIso, workerPk } from '../../lib/domain/worker-state.js';
import { isConditionFailure } from './dynamo-state-store.js';

export const INCIDENT_SK_PREFIX = 'INCIDENT#';
export const incidentSk = (key: Pick<IncidentKey, 'job' | 'anomaly'>): string => `${INCIDENT_SK_PREFIX}${keyJob(key.job)}#${key.anomaly}`;
/** The GSI partition of unresolved incidents. */
export const INCIDENTS_OPEN_GSI_PK = INCIDENTS_GSI_PK.open;
/** The GSI partition of resolved incidents (until their TTL). */
export const INCIDENTS_RESOLVED_GSI_PK = INCIDENTS_GSI_PK.resolved;

/** One page of a GSI listing, newest first; `lastKey` when there may be more. */
export interface IncidentPage {
  readonly items: readonly Incident[];
  readonly lastKey?: Readonly<Record<string, string>>;
}
/** How long a resolved incident stays in the table, in days. */
export const INCIDENT_RETENTION_DAYS = 30;

/** The incident an item holds; null when it is not readable. */
export function incidentOfItem(item: Record<string, unknown> | undefined): Incident | null {
  const incident = item?.['incident'];
  if (typeof incident !== 'object' || incident === null) return null;
  const i = incident as Partial<Incident>;
  if (typeof i.id !== 'string' || typeof i.version !== 'number' || typeof i.key !== 'object' || typeof i.state !== 'string' || !Array.isArray(i.observations)) return null;
  return incident as Incident;
}

export class DynamoIncidentStore implements IncidentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about INCIDENT items that cannot be read (they are left out). */
    private readonly onUnreadable: (pk: string, sk: string) => void = () => undefined,
  ) {}

  async read(key: IncidentKey): Promise<Incident | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: workerPk(key.worker), sk: incidentSk(key) }, ConsistentRead: true }));
    if (out.Item === undefined) return undefined;
    const incident = incidentOfItem(out.Item);
    if (incident === null) {
      this.onUnreadable(String(out.Item['pk']), String(out.Item['sk']));
      return undefined;
    }
    return incident;
  }

  async readWorker(worker: string): Promise<Incident[]> {
    return this.query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': workerPk(worker), ':prefix': INCIDENT_SK_PREFIX },
      ConsistentRead: true,
    });
  }

  async listUnresolved(): Promise<Incident[]> {
    return this.query({
      TableName: this.tableName,
      IndexName: BY_TIME_INDEX,
      KeyConditionExpression: '#gpk = :open',
      ExpressionAttributeNames: { '#gpk': GSI1_PK },
      ExpressionAttributeValues: { ':open': INCIDENTS_OPEN_GSI_PK },
    });
  }

  /** One page of the open (`INCIDENTS_OPEN`) or resolved (`INCIDENTS_RESOLVED`) incidents, newest first. */
  async listPage(partition: typeof INCIDENTS_OPEN_GSI_PK | typeof INCIDENTS_RESOLVED_GSI_PK, limit: number, startKey?: Readonly<Record<string, string>>): Promise<IncidentPage> {
    const page: QueryCommandOutput = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_TIME_INDEX,
        KeyConditionExpression: '#gpk = :partition',
        ExpressionAttributeNames: { '#gpk': GSI1_PK },
        ExpressionAttributeValues: { ':partition': partition },
        ScanIndexForward: false,
        Limit: limit,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    const items: Incident[] = [];
    for (const item of page.Items ?? []) {
      const incident = incidentOfItem(item);
      if (incident === null) this.onUnreadable(String(item['pk']), String(item['sk']));
      else items.push(incident);
    }
    return page.LastEvaluatedKey ? { items, lastKey: page.LastEvaluatedKey as Record<string, string> } : { items };
  }

  async write(next: Incident): Promise<boolean> {
    const resolved = next.state === 'RESOLVED';
    const item: Record<string, unknown> = {
      pk: workerPk(next.key.worker),
      sk: incidentSk(next.key),
      entity: 'INCIDENT',
      incidentId: next.id,
      state: next.state,
      severity: next.severity,
      version: next.version,
      incident: next,
      ...(resolved
        ? {
            expiresAt: Math.floor(Date.parse(next.resolvedAt ?? next.lastSeen) / 1000) + INCIDENT_RETENTION_DAYS * 24 * 3600,
            [GSI1_PK]: INCIDENTS_RESOLVED_GSI_PK,
            [GSI1_SK]: `${normalizeIso(next.resolvedAt ?? next.lastSeen)}#${next.id}`,
          }
        : { [GSI1_PK]: INCIDENTS_OPEN_GSI_PK, [GSI1_SK]: `${normalizeIso(next.firstSeen)}#${next.id}` }),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(next.version <= 1
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: '#version = :previous', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':previous': next.version - 1 } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async query(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Incident[]> {
    const out: Incident[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
      for (const item of page.Items ?? []) {
        const incident = incidentOfItem(item);
        if (incident === null) this.onUnreadable(String(item['pk']), String(item['sk']));
        else out.push(incident);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }
}
