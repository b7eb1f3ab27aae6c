/**
 * DynamoStatusStore (and the API over it) against embedded DynamoDB (dynalite), on the table exactly
 * as the construct declares it, GSI `byTime` included: the conditional TRIGGER claim, the alert
 * listing through the GSI, the config write next to the protocol attributes, pages of reports.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/api/app.js';
import { encodeCursor } from '../../lambdas/api/cursor.js';
import { DynamoStatusStore } from '../../lambdas/api/dynamo-status-store.js';
import { newTriggerRecord } from '../../lambdas/api/trigger.js';
import { ALERT_ATTRS, DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.js';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.js';
import { DynamoIncidentStore } from '../../lambdas/adapters/dynamo-incident-store.js';
import { applyDetection, applyResolution, buildIncidentAlert, decideIncidentEscalation, type Detection, type Incident } from '../../lib/domain/incident.js';
import { buildAlert, type Alert } from '../../lib/domain/alerting.js';
import { ALERT_SK, alertPk } from '../../lib/domain/anomaly-evaluation.js';
import { RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { decideGate, gateReads } from '../../lib/domain/gate.js';
import { lockAttrsFor } from '../../lib/domain/lock.js';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { applyConfigPatch } from '../../lib/domain/worker-config.js';
import { reportSk, STATE_SK, triggerPk, workerPk } from '../../lib/domain/worker-state.js';
import { jobOf, workerById } from '../../lib/registry/index.js';
import { orchestratorTableProperties } from '../../local/runtime.js';
import { startTableFixture, type TableFixture } from '../support/table-fixture.js';
import { apiEvent, PIPELINE_KEYS, RecordingLogger, RecordingStarter } from './fakes.js';

const NOW = Date.parse('2026-03-02T06:10:00.000Z');
const MIN = 60_000;

let fixture: TableFixture;
let tableName: string;
let doc: DynamoDBDocumentClient;
let requests: string[];
let store: DynamoStatusStore;
const tableProps = orchestratorTableProperties();

beforeAll(async () => {
  fixture = await startTableFixture(() => NOW);
  ({ doc, requests } = fixture);
});

afterAll(async () => {
  await fixture.close();
});

beforeEach(async () => {
  tableName = await fixture.newTable('Api');
  store = new DynamoStatusStore(doc, tableName);
});

const handler = (starter = new RecordingStarter(PIPELINE_KEYS)) => ({ starter, handle: makeHandler({ store, pipelines: starter, clock: () => NOW, logger: new RecordingLogger() }) });
const bodyOf = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;

const alertOf = (code: AnomalyCode, raisedAtMs: number): Alert =>
  buildAlert({ finding: { code, severity: RULE_BY_CODE[code].severity, worker: 'youtube_worker', detail: `${code} detail`, observed: 1, threshold: 0 }, region: 'eu-west-1', raisedAtMs });

describe('the table construct', () => {
  it('declares the sparse GSI byTime (gsi1pk/gsi1sk, projection ALL)', () => {
    expect(tableProps['GlobalSecondaryIndexes']).toEqual([
      { IndexName: 'byTime', KeySchema: [{ AttributeName: 'gsi1pk', KeyType: 'HASH' }, { AttributeName: 'gsi1sk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } },
    ]);
  });
});

describe('TRIGGER claim', () => {
  it('one conditional put wins; the loser reads the winner; marking started sets startedAt once', async () => {
    const record = newTriggerRecord('youtube_worker', 'trending', 'key-1', NOW);
    expect(await store.readTrigger('youtube_worker', 'key-1')).toBeNull();
    expect(await store.claimTrigger(record)).toEqual({ claimed: true });
    const second = newTriggerRecord('youtube_worker', 'trending', 'key-1', NOW + MIN);
    expect(await store.claimTrigger(second)).toEqual({ claimed: false, existing: record });
    await store.markTriggerStarted('youtube_worker', 'key-1', '2026-03-02T06:10:01.000Z', 'arn:1');
    await store.markTriggerStarted('youtube_worker', 'key-1', '2026-03-02T06:20:00.000Z', 'arn:2');
    expect(await store.readTrigger('youtube_worker', 'key-1')).toEqual({ ...record, startedAt: '2026-03-02T06:10:01.000Z', executionArn: 'arn:1' });
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: triggerPk('youtube_worker'), sk: 'key-1' } }))).Item;
    expect(item).toMatchObject({ entity: 'TRIGGER', expiresAt: NOW / 1000 + 24 * 3600, input: { trigger: 'manual', requestKey: 'key-1' } });
  });

  it('marking an expired (deleted) claim is a no-op, not an error, and creates nothing', async () => {
    await store.markTriggerStarted('youtube_worker', 'gone', '2026-03-02T06:10:01.000Z', null);
    expect(await store.readTrigger('youtube_worker', 'gone')).toBeNull();
  });

  it('a double-clicked trigger through the API starts exactly one execution', async () => {
    const { starter, handle } = handler();
    const click = () => handle(apiEvent('POST', '/workers/youtube_worker/trigger', { headers: { 'idempotency-key': 'double-click' } }));
    const responses = await Promise.all([click(), click(), click()]);
    expect(starter.started).toHaveLength(1);
    expect(new Set(responses.map((r) => bodyOf(r)['executionName'])).size).toBe(1);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 200, 202]);
  });
});

describe('alerts through the GSI', () => {
  it('claimed alerts carry gsi1pk/gsi1sk and list newest first, page by page; items outside the GSI are not listed', async () => {
    const alerts = new DynamoAlertStore(doc, tableName);
    const codes: AnomalyCode[] = ['WORKER_CRASH', 'HIGH_FAILURE_RATE', 'SLOW_EXECUTION'];
    const raised = codes.map((code, i) => alertOf(code, NOW - (3 - i) * 20 * MIN));
    for (const a of raised) expect(await alerts.claim(a, { token: `ev-${a.id}`, nowMs: NOW })).toBe(true);
    // An alert item written before the GSI existed: no gsi1pk.
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: alertPk('alert_legacy'), sk: ALERT_SK, alert: { id: 'alert_legacy' } } }));
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: alertPk(raised[0]?.id ?? ''), sk: ALERT_SK } }))).Item;
    expect(item).toMatchObject({ gsi1pk: 'ALERTS', gsi1sk: `${raised[0]?.raisedAt}#${raised[0]?.id}` });

    requests.length = 0;
    const first = await store.listAlerts({ limit: 2 });
    expect(requests).toEqual(['Query']);
    expect(first.items.map((a) => a.alert.anomaly)).toEqual(['SLOW_EXECUTION', 'HIGH_FAILURE_RATE']);
    expect(first.items[0]).toMatchObject({ deliveryState: 'CLAIMED', acknowledgedAt: null });
    const second = await store.listAlerts({ limit: 2, ...(first.lastKey ? { startKey: first.lastKey } : {}) });
    expect(second.items.map((a) => a.alert.anomaly)).toEqual(['WORKER_CRASH']);
  });

  it('an ALERT item in the GSI whose alert is unreadable is reported and left out', async () => {
    const unreadable: string[] = [];
    const alerts = new DynamoAlertStore(doc, tableName, (id) => unreadable.push(id));
    const readable = alertOf('WORKER_CRASH', NOW - 20 * MIN);
    await alerts.claim(readable, { token: 't', nowMs: NOW });
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: alertPk('alert_broken'), sk: ALERT_SK, entity: 'ALERT', gsi1pk: 'ALERTS', gsi1sk: `${new Date(NOW).toISOString()}#alert_broken` } }));
    const page = await alerts.listAlerts({ limit: 10 });
    expect(page.items.map((a) => a.alert.id)).toEqual([readable.id]);
    expect(unreadable).toEqual(['alert_broken']);
  });

  it('GET /alerts with the cursor it handed out, and ack with who and why', async () => {
    const alerts = new DynamoAlertStore(doc, tableName);
    const raised = (['WORKER_CRASH', 'HIGH_FAILURE_RATE'] as AnomalyCode[]).map((code, i) => alertOf(code, NOW - (2 - i) * 20 * MIN));
    for (const a of raised) await alerts.claim(a, { token: 't', nowMs: NOW });
    const { handle } = handler();
    const first = bodyOf(await handle(apiEvent('GET', '/alerts', { query: { limit: '1' } })));
    expect(first['items']).toEqual([expect.objectContaining({ anomaly: 'HIGH_FAILURE_RATE' })]);
    const second = bodyOf(await handle(apiEvent('GET', '/alerts', { query: { limit: '1', cursor: String(first['nextCursor']) } })));
    expect(second['items']).toEqual([expect.objectContaining({ anomaly: 'WORKER_CRASH' })]);

    const id = raised[0]?.id ?? '';
    const ack = await handle(apiEvent('POST', `/alerts/${id}/ack`, { body: { by: 'alice', note: 'on it' } }));
    expect(ack.statusCode).toBe(200);
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: alertPk(id), sk: ALERT_SK } }))).Item;
    expect(item).toMatchObject({ [ALERT_ATTRS.acknowledgedAt]: new Date(NOW).toISOString(), [ALERT_ATTRS.acknowledgedBy]: 'alice', [ALERT_ATTRS.ackNote]: 'on it' });
    expect((await handle(apiEvent('POST', '/alerts/alert_missing/ack', { body: { by: 'alice' } }))).statusCode).toBe(404);
  });

  it('acking the alert that announced an incident acknowledges the incident (its escalation stops); POST /incidents/{id}/ack does too', async () => {
    const incidents = new DynamoIncidentStore(doc, tableName);
    const detection = (anomaly: AnomalyCode): Detection => ({
      key: { worker: 'youtube_worker', job: 'games', anomaly },
      severity: 'CRITICAL',
      detail: 'games failed',
      observedAtMs: NOW - 20 * MIN,
      observationId: `obs-${anomaly}`,
      source: 'report',
      impactedJob: 'creator_intel_worker.analyze',
      seenOn: { worker: 'creator_intel_worker', job: 'analyze', scheduledTime: null, executionId: null },
    });
    const incident = applyDetection(undefined, detection('DEPENDENCY_FAILURE')).incident;
    await incidents.write(incident);
    const opened = buildIncidentAlert({ incident, transition: 'OPENED', region: 'eu-west-1' });
    await new DynamoAlertStore(doc, tableName).claim(opened, { token: 't', nowMs: NOW });
    const { handle } = handler();
    expect((await handle(apiEvent('POST', `/alerts/${opened.id}/ack`, { body: { by: 'alice' } }))).statusCode).toBe(200);
    expect(await incidents.read(incident.key)).toMatchObject({ acknowledgedAt: new Date(NOW).toISOString(), acknowledgedBy: 'alice' });
    expect(decideIncidentEscalation((await incidents.read(incident.key)) as Incident, NOW + 60 * MIN)).toEqual({ kind: 'skip', why: 'acknowledged' });

    const other = applyDetection(undefined, detection('WORKER_CRASH')).incident;
    await incidents.write(other);
    const ack = await handle(apiEvent('POST', `/incidents/${other.id}/ack`, { body: { by: 'bob' } }));
    expect(bodyOf(ack)).toMatchObject({ incidentId: other.id, status: 'ACKNOWLEDGED', by: 'bob' });
    expect((await handle(apiEvent('POST', `/incidents/${other.id}/ack`, { body: { by: 'carol' } }))).statusCode).toBe(200);
    expect(await incidents.read(other.key)).toMatchObject({ acknowledgedBy: 'bob' });
    expect((await handle(apiEvent('POST', '/incidents/youtube_worker~games~WORKER_CRASH~2/ack', { body: { by: 'bob' } }))).statusCode).toBe(404);
  });

  it('GET /incidents: open ones newest first, a page at a time with its cursor; a resolved one moves to ?state=resolved', async () => {
    const incidents = new DynamoIncidentStore(doc, tableName);
    const opened = (worker: string, minutesAgo: number): Incident =>
      applyDetection(undefined, {
        key: { worker, job: null, anomaly: 'RESOURCE_EXHAUSTION' },
        severity: 'HIGH',
        detail: `${worker} memory at 95%`,
        observedAtMs: NOW - minutesAgo * MIN,
        observationId: `obs-${worker}`,
        source: 'report',
        impactedJob: null,
        seenOn: { worker, job: '-', scheduledTime: null, executionId: null },
      }).incident;
    const [a, b, c] = [opened('clip_radar_worker', 30), opened('youtube_worker', 20), opened('twitch_streams_worker', 10)] as const;
    for (const i of [a, b, c]) expect(await incidents.write(i)).toBe(true);
    const { handle } = handler();

    const first = bodyOf(await handle(apiEvent('GET', '/incidents', { query: { limit: '2' } })));
    expect(first).toMatchObject({ state: 'open', items: [{ id: c.id, status: 'OPEN', ackable: true, symptoms: { detail: 'twitch_streams_worker memory at 95%' } }, { id: b.id }] });
    const second = bodyOf(await handle(apiEvent('GET', '/incidents', { query: { limit: '2', cursor: String(first['nextCursor']) } })));
    expect((second['items'] as { id: string }[]).map((i) => i.id)).toEqual([a.id]);
    expect(second['nextCursor']).toBeNull();

    // Resolved: out of the open listing, into the resolved one (acknowledged or not).
    const resolved = applyResolution(b, { atMs: NOW - 5 * MIN, observationId: 'ok', what: 'memory back at 40%' });
    expect(await incidents.write(resolved.incident)).toBe(true);
    const open = bodyOf(await handle(apiEvent('GET', '/incidents', { query: { state: 'open' } })));
    expect((open['items'] as { id: string }[]).map((i) => i.id)).toEqual([c.id, a.id]);
    const done = bodyOf(await handle(apiEvent('GET', '/incidents', { query: { state: 'resolved' } })));
    expect(done['items']).toMatchObject([{ id: b.id, status: 'RESOLVED', resolvedAt: new Date(NOW - 5 * MIN).toISOString(), ackable: false }]);

    // A cursor of one listing is not one of the other.
    expect((await handle(apiEvent('GET', '/incidents', { query: { state: 'resolved', cursor: String(first['nextCursor']) } }))).statusCode).toBe(400);
  });
});

describe('worker config', () => {
  it('written next to the protocol attributes under its own version; a stale version loses; the gate view reads it', async () => {
    const trending = lockAttrsFor('trending');
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: workerPk('youtube_worker'), sk: STATE_SK, [trending.fence]: 4, version: 9 } }));
    const v1 = applyConfigPatch(null, { enabled: false, thresholds: { circuitOpenSeconds: 60 } }, NOW);
    expect(await store.writeWorkerConfig('youtube_worker', v1, 0)).toBe(true);
    expect(await store.writeWorkerConfig('youtube_worker', applyConfigPatch(null, { enabled: true }, NOW), 0)).toBe(false);
    const states = await store.readWorkerStates(['youtube_worker', 'clip_radar_worker']);
    expect(states['youtube_worker']).toMatchObject({ version: 9, locks: { trending: { fence: 4 } }, config: v1 });
    expect(states['clip_radar_worker']).toBeUndefined();

    const worker = workerById('youtube_worker');
    const job = jobOf('youtube_worker', 'trending');
    const view = await new DynamoStateStore(doc, tableName).readGateView(gateReads(worker, job, NOW));
    const plan = decideGate({ worker, job, call: { executionId: 'e', startedAtMs: NOW, trigger: 'schedule', scheduledTime: '2026-03-02T06:30:00.000Z' }, nowMs: NOW, view });
    expect(plan.verdict).toMatchObject({ decision: 'SKIP', skipReason: 'DISABLED' });
  });

  it('PUT through the API creates the STATE item when absent and bumps the version', async () => {
    const { handle } = handler();
    expect(bodyOf(await handle(apiEvent('PUT', '/workers/clip_radar_worker/config', { body: { thresholds: { circuitFailureThreshold: 6 } } })))).toMatchObject({ config: { version: 1 } });
    expect(bodyOf(await handle(apiEvent('PUT', '/workers/clip_radar_worker/config', { body: { enabled: false } })))).toMatchObject({ config: { enabled: false, thresholds: { circuitFailureThreshold: 6 }, version: 2 } });
  });
});

describe('reports and the orchestrator mode', () => {
  const report = (scheduledTime: string): WorkerScoreReport => ({
    workerName: 'clip_radar_worker', jobId: 'poll', executionId: `e-${scheduledTime}`, scheduledTime, startedAt: scheduledTime, completedAt: scheduledTime, status: 'SUCCEEDED', skipReason: null,
    success: true, durationMs: 1, attempts: 1, lockFence: 1, scores: null, anomalies: [], recommendations: [], metrics: {}, error: null,
  });

  it('lists reports newest first by pages (no STATE or WINDOW items), and the latest one', async () => {
    const states = new DynamoStateStore(doc, tableName);
    const times = Array.from({ length: 5 }, (_, i) => new Date(NOW - i * 5 * MIN).toISOString());
    for (const t of times) await states.putReportOnce({ report: report(t), reportSk: reportSk(t, 'poll'), expiresAt: 1 });
    await states.addWindowCounters('clip_radar_worker', '2026-03-02T06', { runs: 1 }, 1);
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: workerPk('clip_radar_worker'), sk: STATE_SK } }));
    const first = await store.listReports('clip_radar_worker', { limit: 3 });
    expect(first.items.map((r) => r.scheduledTime)).toEqual(times.slice(0, 3));
    expect(first.items[0]).not.toHaveProperty('pk');
    const rest = await store.listReports('clip_radar_worker', { limit: 3, ...(first.lastKey ? { startKey: first.lastKey } : {}) });
    expect(rest.items.map((r) => r.scheduledTime)).toEqual(times.slice(3));
    expect((await store.latestReport('clip_radar_worker'))?.scheduledTime).toBe(times[0]);
    expect(await store.latestReport('youtube_worker')).toBeNull();
  });

  it('sets and reads ORCH/STATE; resume without a reason removes the old one', async () => {
    expect(await store.readOrchestrator()).toMatchObject({ mode: 'RUNNING' });
    expect(await store.setOrchestratorMode('DRAINING', 'deploy', NOW)).toEqual({ mode: 'DRAINING', reason: 'deploy', updatedAt: new Date(NOW).toISOString() });
    expect(await store.setOrchestratorMode('RUNNING', null, NOW + MIN)).toEqual({ mode: 'RUNNING', reason: null, updatedAt: new Date(NOW + MIN).toISOString() });
    expect(await store.readOrchestrator()).toMatchObject({ mode: 'RUNNING', reason: null });
  });
});

describe('cursors DynamoDB would reject', () => {
  it('a well-formed cursor whose sort key is over 1024 bytes is a 400, not a DynamoDB error', async () => {
    const { handle } = handler();
    const cursor = encodeCursor({ pk: workerPk('clip_radar_worker'), sk: `REPORT#${'é'.repeat(600)}` });
    const response = await handle(apiEvent('GET', '/workers/clip_radar_worker/reports', { query: { cursor } }));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)['error']).toMatchObject({ code: 'INVALID_CURSOR' });
  });

  it('a cursor of a key that no longer exists still pages from there', async () => {
    const { handle } = handler();
    const cursor = encodeCursor({ pk: workerPk('clip_radar_worker'), sk: 'REPORT#2026-03-02T06:00:00.000Z#poll' });
    const response = await handle(apiEvent('GET', '/workers/clip_radar_worker/reports', { query: { cursor } }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ worker: 'clip_radar_worker', items: [], nextCursor: null });
  });
});

describe('fuzzed requests over the real adapter', () => {
  it('never answer 5xx (no DynamoDB validation error leaks): bad ids, keys, cursors', async () => {
    const { starter, handle } = handler();
    let accepted = 0;
    const segment = fc.oneof(fc.constantFrom('youtube_worker', 'generation_worker', 'alert_x'), fc.string({ maxLength: 60 }));
    const request = fc.record({
      route: fc.constantFrom('reports', 'trigger', 'config', 'ack', 'alerts'),
      id: segment,
      key: fc.oneof(fc.string({ maxLength: 200 }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/)),
      cursor: fc.oneof(fc.string({ maxLength: 100 }), fc.base64String({ maxLength: 200 }).map((s) => s.replace(/=/g, '')), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url'))),
      limit: fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.string({ maxLength: 4 })),
      body: fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 80 })),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const id = encodeURIComponent(r.id);
        const [method, path] =
          r.route === 'reports' ? ['GET', `/workers/${id}/reports`] : r.route === 'trigger' ? ['POST', `/workers/${id}/trigger`] : r.route === 'config' ? ['PUT', `/workers/${id}/config`] : r.route === 'ack' ? ['POST', `/alerts/${id}/ack`] : ['GET', '/alerts'];
        const response = await handle(apiEvent(method, path, { headers: { 'idempotency-key': r.key }, query: { cursor: r.cursor, limit: r.limit }, rawBody: r.body }));
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode === 202) accepted++;
        expect(starter.started).toHaveLength(accepted);
      }),
      { numRuns: 150 },
    );
  });
});
