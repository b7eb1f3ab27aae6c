/**
 * DynamoAlertStore's acknowledgement and escalation operations against embedded DynamoDB (dynalite),
 * on the table exactly as the construct declares it: the conditional updates decide, so two sweeps
 * never page twice and an acknowledged alert never pages; the sweep's escalation end to end on it.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_ATTRS, DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.js';
import { escalate } from '../../lambdas/sweep/sweep.js';
import { DynamoIncidentStore } from '../../lambdas/adapters/dynamo-incident-store.js';
import { applyAcknowledgement, applyDetection, applyResolution, type Detection, type Incident } from '../../lib/domain/incident.js';
import { buildAlert, type Alert } from '../../lib/domain/alerting.js';
import { ALERT_SK, alertPk } from '../../lib/domain/anomaly-evaluation.js';
import { RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { ESCALATION_CLAIM_STALE_MS, type EscalationMessage } from '../../lib/domain/escalation.js';
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

  it('an acknowledged alert can no longer be claimed for escalation', async () => {
    const alert = await delivered(alertOf('WORKER_CRASH'));
    await store.acknowledgeAlert(alert.id, RAISED + MIN);
    expect(await store.claimEscalation(alert.id, { token: 'a', nowMs: DUE })).toBe(false);
  });
});

describe('escalation claims on the ALERT item', () => {
  it('reads existing alerts only, in batches of 100, with their acknowledgement and escalation state', async () => {
    const crash = await delivered(alertOf('WORKER_CRASH'));
    const overflow = await delivered(alertOf('QUEUE_OVERFLOW'));
    await store.acknowledgeAlert(overflow.id, RAISED + MIN);
    const ids = [crash.id, overflow.id, ...Array.from({ length: 148 }, (_, i) => `alert_missing${i}`)];
    requests.length = 0;
    const views = await store.readAlerts(ids);
    expect(requests).toEqual(['BatchGetItem', 'BatchGetItem']);
    expect(views.map((v) => [v.alert.id, v.acknowledgedAt, v.escalation]).sort()).toEqual(
      [
        [crash.id, null, null],
        [overflow.id, '2026-03-02T04:03:10.000Z', null],
      ].sort(),
    );
    expect(views.find((v) => v.alert.id === crash.id)?.alert).toEqual(crash);
  });

  it('one claim wins; the loser, a non-critical alert and a missing alert lose; the mark and release need the token', async () => {
    const crash = await delivered(alertOf('WORKER_CRASH'));
    const slow = await delivered(alertOf('SLOW_EXECUTION'));
    const [a, b] = await Promise.all([store.claimEscalation(crash.id, { token: 'a', nowMs: DUE }), store.claimEscalation(crash.id, { token: 'b', nowMs: DUE })]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const winner = a ? 'a' : 'b';
    const loser = a ? 'b' : 'a';
    expect(await store.claimEscalation(slow.id, { token: 'a', nowMs: DUE })).toBe(false);
    expect(await store.claimEscalation('alert_missing', { token: 'a', nowMs: DUE })).toBe(false);
    expect(await itemOf('alert_missing')).toBeUndefined();

    expect(await store.markEscalated(crash.id, { token: loser, nowMs: DUE + 1 })).toBe(false);
    await store.releaseEscalation(crash.id, loser); // not the claim's: no effect
    expect(await itemOf(crash.id)).toMatchObject({ [ALERT_ATTRS.escalationState]: 'PAGING', [ALERT_ATTRS.escalationToken]: winner });
    expect(await store.markEscalated(crash.id, { token: winner, nowMs: DUE + 1 })).toBe(true);
    expect(await itemOf(crash.id)).toMatchObject({ [ALERT_ATTRS.escalationState]: 'ESCALATED', [ALERT_ATTRS.escalatedAtMs]: DUE + 1, [ALERT_ATTRS.state]: 'DELIVERED' });
    // ESCALATED is final: even a much later claim loses.
    expect(await store.claimEscalation(crash.id, { token: 'c', nowMs: DUE + 10 * ESCALATION_CLAIM_STALE_MS })).toBe(false);
  });

  it('a released claim can be claimed again; a stale PAGING claim is taken over, a live one is not', async () => {
    const crash = await delivered(alertOf('DATA_CORRUPTION'));
    expect(await store.claimEscalation(crash.id, { token: 'a', nowMs: DUE })).toBe(true);
    await store.releaseEscalation(crash.id, 'a');
    const released = await itemOf(crash.id);
    expect(released?.[ALERT_ATTRS.escalationState]).toBeUndefined();
    expect(released?.[ALERT_ATTRS.escalationToken]).toBeUndefined();

    expect(await store.claimEscalation(crash.id, { token: 'b', nowMs: DUE })).toBe(true);
    expect(await store.claimEscalation(crash.id, { token: 'c', nowMs: DUE + ESCALATION_CLAIM_STALE_MS })).toBe(false);
    expect(await store.claimEscalation(crash.id, { token: 'c', nowMs: DUE + ESCALATION_CLAIM_STALE_MS + 1 })).toBe(true);
    expect(await store.markEscalated(crash.id, { token: 'b', nowMs: DUE + ESCALATION_CLAIM_STALE_MS + 2 })).toBe(false);
  });

  it('an unreadable ALERT item is reported and left out', async () => {
    const unreadable: string[] = [];
    store = new DynamoAlertStore(doc, tableName, (id) => unreadable.push(id));
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: alertPk('alert_broken'), sk: ALERT_SK, entity: 'ALERT', severity: 'CRITICAL' } }));
    expect(await store.readAlerts(['alert_broken'])).toEqual([]);
    expect(unreadable).toEqual(['alert_broken']);
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
