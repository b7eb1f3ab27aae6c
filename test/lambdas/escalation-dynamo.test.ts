/**
 * Against embedded DynamoDB (dynalite), on the table exactly as the construct declares it:
 * DynamoAlertStore's acknowledgement (a conditional update, set once), and the sweep's escalation of
 * incidents end to end (two sweeps never page twice; an acknowledged incident never pages).
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_ATTRS, DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.js';
import { escalate } from '../../lambdas/sweep/sweep.js';
import { DynamoIncidentStore } from '../../lambdas/adapters/dynamo-incident-store.js';
import { applyAcknowledgement, applyDetection, applyResolution, type Detection, type Incident } from '../../lib/domain/incident.js';
import { buildAlert, type Alert } from '../../lib/domain/alerting.js';
import { ALERT_SK, alertPk } from '../../lib/domain/anomaly-evaluation.js';
import { RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import type { EscalationMessage } from '../../lib/domain/escalation.js';
import { ESCALATION } from '../../lib/domain/recovery.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const RAISED = Date.parse('2026-03-02T04:02:10.000Z');
const DUE = RAISED + ESCALATION.unacknowledgedCriticalMinutes * MIN;
const WORKER = 'youtube_worker';

let fixture: TableFixture;
let tableName: string;
let doc: DynamoDBDocumentClient;
let requests: string[];
let store: DynamoAlertStore;

beforeAll(async () => {
  fixture = await startTableFixture(() => RAISED);
  ({ doc, requests } = fixture);
});

afterAll(async () => {
  await fixture.close();
});

beforeEach(async () => {
  tableName = await fixture.newTable('Escalation');
  store = new DynamoAlertStore(doc, tableName);
});

const alertOf = (code: AnomalyCode, raisedAtMs = RAISED): Alert =>
  buildAlert({ finding: { code, severity: RULE_BY_CODE[code].severity, worker: WORKER, detail: `${code} detail`, observed: 1, threshold: 0 }, region: 'eu-west-1', raisedAtMs });

/** An alert as the anomaly Lambda leaves it: claimed (one conditional put) and marked delivered. */
async function delivered(alert: Alert): Promise<Alert> {
  const claim = { token: `ev-${alert.id}`, nowMs: Date.parse(alert.raisedAt) + 1_000 };
  expect(await store.claim(alert, claim)).toBe(true);
  expect(await store.markDelivered(alert, claim)).toBe(true);
  return alert;
}

const itemOf = async (id: string): Promise<Record<string, unknown> | undefined> =>
  (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: alertPk(id), sk: ALERT_SK }, ConsistentRead: true }))).Item;

describe('acknowledgeAlert', () => {
  it('sets acknowledgedAt once; a second acknowledgement keeps the first time; an unknown alert is NOT_FOUND', async () => {
    const alert = await delivered(alertOf('WORKER_CRASH'));
    requests.length = 0;
    expect(await store.acknowledgeAlert(alert.id, RAISED + 4 * MIN)).toEqual({ status: 'ACKNOWLEDGED', acknowledgedAt: '2026-03-02T04:06:10.000Z' });
    expect(requests).toEqual(['UpdateItem']);
    expect(await store.acknowledgeAlert(alert.id, RAISED + 9 * MIN)).toEqual({ status: 'ALREADY_ACKNOWLEDGED', acknowledgedAt: '2026-03-02T04:06:10.000Z' });
    expect(await store.acknowledgeAlert('alert_doesnotexist', RAISED)).toEqual({ status: 'NOT_FOUND' });
    // No item was created for the unknown id, and the alert's delivery state is untouched.
    expect(await itemOf('alert_doesnotexist')).toBeUndefined();
    expect(await itemOf(alert.id)).toMatchObject({ [ALERT_ATTRS.state]: 'DELIVERED', [ALERT_ATTRS.acknowledgedAt]: '2026-03-02T04:06:10.000Z' });
  });

});

describe('the sweep escalation of incidents on DynamoDB', () => {
  it('pages once across sweeps, running two at once too; acknowledged incidents are never paged; resolved ones leave the index', async () => {
    const incidents = new DynamoIncidentStore(doc, tableName);
    const detection = (anomaly: AnomalyCode): Detection => ({
      key: { worker: WORKER, job: 'trending', anomaly },
      severity: RULE_BY_CODE[anomaly].severity,
      detail: `${anomaly} detail`,
      observedAtMs: RAISED,
      observationId: `${anomaly}@${RAISED}`,
      source: 'report',
      impactedJob: null,
      seenOn: { worker: WORKER, job: 'trending', scheduledTime: null, executionId: null },
    });
    const crash = applyDetection(undefined, detection('WORKER_CRASH')).incident;
    expect(await incidents.write(crash)).toBe(true);
    expect(await incidents.write(crash)).toBe(false); // version 1 exists already
    const acked = applyAcknowledgement(applyDetection(undefined, detection('RESOURCE_EXHAUSTION')).incident, 'alice', RAISED + MIN).incident;
    expect(await incidents.write({ ...acked, version: 1 })).toBe(true);
    const pages: EscalationMessage[] = [];
    const pager = { page: async (m: EscalationMessage) => void pages.push(m) };
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    let n = 0;
    const sweep = async (nowMs: number) => {
      const errors: string[] = [];
      const summary = await escalate({ logger }, incidents, { pager, newToken: () => `sweep-${++n}` }, await incidents.listUnresolved(), nowMs, errors);
      expect(errors).toEqual([]);
      return summary;
    };

    const [first, second] = await Promise.all([sweep(DUE + MIN), sweep(DUE + MIN)]);
    expect([...(first?.paged ?? []), ...(second?.paged ?? [])]).toEqual([crash.id]);
    expect(pages.map((p) => p.json.alert.incident?.id)).toEqual([crash.id]);
    expect(pages[0]?.attributes.severity).toBe('CRITICAL');
    for (let k = 1; k <= 3; k++) expect((await sweep(DUE + MIN + k * 5 * MIN)).paged).toEqual([]);
    expect(pages).toHaveLength(1);

    const escalated = await incidents.read(crash.key);
    expect(escalated).toMatchObject({ state: 'ESCALATED' });
    const resolved = applyResolution(escalated as Incident, { atMs: DUE + HOUR, observationId: 'ok', what: 'ok' });
    expect(await incidents.write(resolved.incident)).toBe(true);
    expect((await incidents.listUnresolved()).map((i) => i.id)).toEqual([acked.id]);
    expect((await incidents.readWorker(WORKER)).map((i) => i.state).sort()).toEqual(['OPEN', 'RESOLVED']);
  });
});
