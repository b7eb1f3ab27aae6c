/**
 * The health sweep's incident work, over fake ports: one page per escalation step per incident
 * however many sweeps run (even two at once), acknowledged, resolved and fresh incidents left
 * alone, a failed page released for the next sweep; incidents only the sweep saw are cleared when
 * it no longer finds them; and the SNS page's message attributes.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { SnsOnCallPager } from '../../lambdas/sweep/adapters.js';
import { escalate, makeHandler, runSweep, SweepIncompleteError, type EscalationDeps, type SweepDeps } from '../../lambdas/sweep/sweep.js';
import type { SweepLogger, StoredFinding } from '../../lambdas/sweep/ports.js';
import { ESCALATION_MESSAGE_TYPE, type EscalationMessage, type OnCallPager } from '../../lib/domain/escalation.js';
import { applyAcknowledgement, applyDetection, applyRecovery, applyResolution, type Detection, type Incident, type IncidentKey } from '../../lib/domain/incident.js';
import { ESCALATION } from '../../lib/domain/recovery.js';
import { workerById } from '../../lib/registry/index.js';
import { InMemoryIncidentStore } from '../support/in-memory-incident-store.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const MIN = 60_000;
const OPENED = Date.parse('2026-03-02T04:02:10.000Z');
const DUE = OPENED + ESCALATION.unacknowledgedCriticalMinutes * MIN;
const WORKER = 'generation_worker';

const keyOf = (anomaly: IncidentKey['anomaly'], job: string | null = 'generate'): IncidentKey => ({ worker: WORKER, job, anomaly });
const detection = (key: IncidentKey, severity: Detection['severity'] = 'CRITICAL', source: Detection['source'] = 'report'): Detection => ({
  key,
  severity,
  detail: `${key.anomaly} on ${WORKER}`,
  observedAtMs: OPENED,
  observationId: `${key.anomaly}@${OPENED}`,
  source,
  impactedJob: null,
  seenOn: { worker: WORKER, job: 'generate', scheduledTime: null, executionId: null },
});

class FakePager implements OnCallPager {
  readonly pages: EscalationMessage[] = [];
  failNext = 0;
  async page(message: EscalationMessage): Promise<void> {
    // Let a concurrent sweep interleave here, as a network call would.
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
    }
    this.pages.push(message);
  }
}

const logger: SweepLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function setup() {
  const incidents = new InMemoryIncidentStore();
  const pager = new FakePager();
  let n = 0;
  const esc: EscalationDeps = { pager, newToken: () => `sweep-${++n}`, region: 'eu-west-1' };
  /** Stores an incident as it is (whatever writes made it): as version 1 of its key. */
  const add = async (incident: Incident): Promise<Incident> => {
    const stored = { ...incident, version: 1 };
    if (!(await incidents.write(stored))) throw new Error(`${incident.id} exists`);
    return stored;
  };
  const open = async (anomaly: IncidentKey['anomaly'], severity: Detection['severity'] = 'CRITICAL'): Promise<Incident> => add(applyDetection(undefined, detection(keyOf(anomaly), severity)).incident);
  const sweepAt = async (nowMs: number) => {
    const errors: string[] = [];
    const summary = await escalate({ logger }, incidents, esc, await incidents.listUnresolved(), nowMs, errors);
    return { summary, errors };
  };
  return { incidents, pager, esc, add, open, sweepAt };
}

describe('escalation of incidents in the health sweep', () => {
  it('pages on-call once about a CRITICAL incident unacknowledged for N minutes, however long it lasts, and marks it ESCALATED', async () => {
    const t = setup();
    const incident = await t.open('WORKER_CRASH');
    expect((await t.sweepAt(DUE - 1)).summary.paged).toEqual([]);
    const { summary, errors } = await t.sweepAt(DUE);
    expect(errors).toEqual([]);
    expect(summary.paged).toEqual([incident.id]);
    for (let k = 1; k <= 12; k++) expect((await t.sweepAt(DUE + k * 5 * MIN)).summary.paged).toEqual([]);
    expect(t.pager.pages).toHaveLength(1);
    expect(t.pager.pages[0]?.json).toMatchObject({ reason: 'UNACKNOWLEDGED_CRITICAL', unacknowledgedMinutes: 15, alert: { incident: { id: incident.id } } });
    expect(await t.incidents.read(incident.key)).toMatchObject({ state: 'ESCALATED', pages: [{ step: 'UNACKNOWLEDGED_CRITICAL', state: 'PAGED' }] });
  });

  it('leaves acknowledged, resolved and non-critical incidents alone', async () => {
    const t = setup();
    await t.add(applyAcknowledgement(applyDetection(undefined, detection(keyOf('WORKER_CRASH'))).incident, 'alice', OPENED + MIN).incident);
    await t.add(applyResolution(applyDetection(undefined, detection(keyOf('QUEUE_OVERFLOW', null))).incident, { atMs: OPENED + MIN, observationId: 'ok', what: 'ok' }).incident);
    await t.open('HIGH_FAILURE_RATE', 'HIGH');
    const { summary } = await t.sweepAt(DUE + MIN);
    expect(summary).toMatchObject({ incidents: 2, paged: [], skipped: { acknowledged: 1, 'not-critical': 1 } });
    expect(t.pager.pages).toEqual([]);
  });

  it('two sweeps at once page once', async () => {
    const t = setup();
    const incident = await t.open('WORKER_CRASH');
    const [a, b] = await Promise.all([t.sweepAt(DUE), t.sweepAt(DUE)]);
    expect([...(a.summary.paged ?? []), ...(b.summary.paged ?? [])]).toEqual([incident.id]);
    expect(a.summary.lost + b.summary.lost).toBe(1);
    expect(t.pager.pages).toHaveLength(1);
  });

  it('a failed page releases the claim: the next sweep pages', async () => {
    const t = setup();
    const incident = await t.open('WORKER_CRASH');
    t.pager.failNext = 1;
    const first = await t.sweepAt(DUE);
    expect(first.errors).toEqual([expect.stringMatching(/^escalation of incident generation_worker~generate~WORKER_CRASH~1: TimeoutError/)]);
    expect((await t.incidents.read(incident.key))?.pages).toEqual([]);
    expect((await t.sweepAt(DUE + 5 * MIN)).summary.paged).toEqual([incident.id]);
    expect(t.pager.pages).toHaveLength(1);
  });

  it('RECOVERY_FAILED: a HIGH incident whose recovery FAILED pages once, at the first sweep that reads the verdict; a running one does not', async () => {
    const t = setup();
    const verdicts = new Map<string, string>();
    const reads: string[][] = [];
    const esc: EscalationDeps = { ...t.esc, recoveries: { failed: async (names) => (reads.push([...names]), new Map([...verdicts].filter(([n]) => names.includes(n)))) } };
    const incident = await t.add(applyRecovery(applyDetection(undefined, detection(keyOf('HIGH_FAILURE_RATE', null), 'HIGH')).incident, { name: 'alert_r1', worker: WORKER, job: 'generate', actions: ['OPEN_CIRCUIT'], startedAt: new Date(OPENED).toISOString() }));
    const sweep = async (nowMs: number) => escalate({ logger }, t.incidents, esc, await t.incidents.listUnresolved(), nowMs, []);
    // Still running: no verdict, no page.
    expect((await sweep(OPENED + 5 * MIN)).paged).toEqual([]);
    verdicts.set('alert_r1', 'the probe run of generation_worker.generate failed: States.TaskFailed');
    expect((await sweep(OPENED + 10 * MIN)).paged).toEqual([incident.id]);
    for (let k = 1; k <= 6; k++) expect((await sweep(OPENED + (10 + 5 * k) * MIN)).paged).toEqual([]);
    expect(t.pager.pages).toHaveLength(1);
    expect(t.pager.pages[0]?.subject).toMatch(/ESCALATION HIGH_FAILURE_RATE on generation_worker: recovery FAILED/);
    expect(t.pager.pages[0]?.json).toMatchObject({ reason: 'RECOVERY_FAILED', recoveryFailure: 'recovery alert_r1 FAILED: the probe run of generation_worker.generate failed: States.TaskFailed' });
    expect(await t.incidents.read(incident.key)).toMatchObject({ state: 'ESCALATED', pages: [{ step: 'RECOVERY_FAILED', state: 'PAGED' }] });
    // Once paged, its recoveries are not read again.
    expect(reads).toHaveLength(2);
  });
});

describe('the sweep handler: clearing and escalation', () => {
  const sweepDeps = (incidents: InMemoryIncidentStore, esc: EscalationDeps | undefined, nowMs: number, written: StoredFinding[] = []): SweepDeps => ({
    store: new InMemoryStateStore(),
    reports: { latestReport: async () => undefined },
    executions: { listRunning: async () => [], listEnded: async () => [], input: async () => undefined, stop: async () => undefined },
    queues: { depth: async () => 0 },
    findings: { putOnce: async (f) => (written.push(f), true) },
    clock: () => nowMs,
    logger,
    // An on-demand worker: no schedule, so no missed runs.
    workers: [workerById(WORKER)],
    pipelineArns: {},
    queueUrls: {},
    reportRetentionDays: 30,
    incidents,
    ...(esc !== undefined ? { escalation: esc } : {}),
  });

  it('reports the escalation in the summary; off without an on-call topic', async () => {
    const t = setup();
    const incident = await t.open('WORKER_CRASH');
    const summary = await makeHandler(sweepDeps(t.incidents, t.esc, DUE + MIN))({});
    expect(summary.escalation).toMatchObject({ incidents: 1, paged: [incident.id] });
    expect((await runSweep(sweepDeps(t.incidents, undefined, DUE + MIN))).escalation).toBeNull();
  });

  it('an incident only the sweep raised, and that it no longer finds, gets a CLEARED item; one a report raised does not', async () => {
    const t = setup();
    const queue = await t.add(applyDetection(undefined, detection(keyOf('QUEUE_OVERFLOW', null), 'CRITICAL', 'health')).incident);
    await t.add(applyDetection(undefined, detection(keyOf('WORKER_CRASH'), 'CRITICAL', 'report')).incident);
    const written: StoredFinding[] = [];
    const summary = await runSweep(sweepDeps(t.incidents, undefined, DUE, written));
    expect(summary.cleared).toEqual([queue.id]);
    expect(written.map((w) => [w.finding.kind, w.finding.worker, w.finding.job, w.finding.anomaly])).toEqual([['CLEARED_QUEUE_OVERFLOW', WORKER, null, 'QUEUE_OVERFLOW']]);
  });

  it('a sweep that still finds the condition does not clear it', async () => {
    const t = setup();
    await t.add(applyDetection(undefined, detection(keyOf('QUEUE_OVERFLOW', null), 'CRITICAL', 'health')).incident);
    const deps = { ...sweepDeps(t.incidents, undefined, DUE), queues: { depth: async () => 5000 }, queueUrls: { [WORKER]: 'https://sqs/generation' } };
    const summary = await runSweep(deps);
    expect(summary.findings).toBe(1);
    expect(summary.cleared).toEqual([]);
  });

  it('a failed incident read makes the sweep incomplete (the next one retries)', async () => {
    const t = setup();
    t.incidents.listUnresolved = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };
    await expect(makeHandler(sweepDeps(t.incidents, t.esc, DUE))({})).rejects.toThrow(SweepIncompleteError);
    await expect(makeHandler(sweepDeps(t.incidents, t.esc, DUE))({})).rejects.toThrow(/unresolved incidents: ThrottlingException: Rate exceeded/);
  });
});

describe('SnsOnCallPager', () => {
  it('publishes JSON-structured with the severity attribute the on-call subscriptions filter on', async () => {
    const sent: PublishCommand[] = [];
    const client = { send: async (command: PublishCommand) => void sent.push(command) };
    const t = setup();
    const incident = await t.open('WORKER_CRASH');
    await escalate({ logger }, t.incidents, { pager: new SnsOnCallPager(client as never, 'arn:aws:sns:eu-west-1:123456789012:oncall') }, [incident], DUE, []);
    expect(sent).toHaveLength(1);
    const input = sent[0]?.input;
    expect(sent[0]).toBeInstanceOf(PublishCommand);
    expect(input).toMatchObject({ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall', MessageStructure: 'json', Subject: `[AuraStream PAGE] ESCALATION WORKER_CRASH on ${WORKER}: unacknowledged for 15 min` });
    expect(input?.MessageAttributes).toEqual({
      type: { DataType: 'String', StringValue: ESCALATION_MESSAGE_TYPE },
      severity: { DataType: 'String', StringValue: 'CRITICAL' },
      worker: { DataType: 'String', StringValue: WORKER },
      anomaly: { DataType: 'String', StringValue: 'WORKER_CRASH' },
    });
    const structure = JSON.parse(input?.Message ?? '{}') as { default: string; email: string };
    expect(JSON.parse(structure.default)).toMatchObject({ type: ESCALATION_MESSAGE_TYPE, alert: { incident: { id: incident.id } } });
    expect(structure.email).toContain('incident has not been acknowledged for 15 minutes');
    expect(structure.email).toMatch(new RegExp(`Incident:\\s+${incident.id}`));
  });
});
