/**
 * The health sweep's escalation of unacknowledged critical alerts, over fake ports: one page per
 * alert however many sweeps run (even two at once), acknowledged and fresh alerts left alone, a
 * failed page released for the next sweep, and the SNS page's message attributes.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { SnsOnCallPager } from '../../lambdas/sweep/adapters.js';
import { escalate, makeHandler, runSweep, SweepIncompleteError, type EscalationDeps, type SweepDeps } from '../../lambdas/sweep/sweep.js';
import type { SweepLogger } from '../../lambdas/sweep/ports.js';
import { buildAlert, type Alert } from '../../lib/domain/alerting.js';
import { RULE_BY_CODE, type AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import {
  ESCALATION_CLAIM_STALE_MS,
  ESCALATION_MESSAGE_TYPE,
  escalationClaimWins,
  type AlertEscalationView,
  type EscalationClaim,
  type EscalationMessage,
  type EscalationStore,
  type OnCallPager,
} from '../../lib/domain/escalation.js';
import { ESCALATION } from '../../lib/domain/recovery.js';
import { workerById } from '../../lib/registry/index.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const MIN = 60_000;
const RAISED = Date.parse('2026-03-02T04:02:10.000Z');
const DUE = RAISED + ESCALATION.unacknowledgedCriticalMinutes * MIN;
const WORKER = 'generation_worker';

const alertOf = (code: AnomalyCode, raisedAtMs = RAISED, worker = WORKER): Alert =>
  buildAlert({ finding: { code, severity: RULE_BY_CODE[code].severity, worker, detail: `${code} detail`, observed: 1, threshold: 0 }, region: 'eu-west-1', raisedAtMs });

/** The DynamoAlertStore's escalation semantics (escalationClaimWins), in memory; every call is one request. */
class FakeEscalationStore implements EscalationStore {
  readonly items = new Map<string, AlertEscalationView>();
  readonly reads: string[][] = [];
  requests = 0;
  failRead = false;
  add(alert: Alert, overrides: Partial<AlertEscalationView> = {}): Alert {
    this.items.set(alert.id, { alert, acknowledgedAt: null, escalation: null, ...overrides });
    return alert;
  }
  acknowledge(id: string, at: string): void {
    const item = this.items.get(id);
    if (item) this.items.set(id, { ...item, acknowledgedAt: at });
  }
  async readAlerts(alertIds: readonly string[]): Promise<AlertEscalationView[]> {
    this.requests++;
    if (this.failRead) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    this.reads.push([...alertIds]);
    // Snapshot copies, as a read would give.
    return alertIds.flatMap((id) => (this.items.has(id) ? [{ ...(this.items.get(id) as AlertEscalationView) }] : []));
  }
  async claimEscalation(alertId: string, claim: EscalationClaim): Promise<boolean> {
    this.requests++;
    const item = this.items.get(alertId);
    if (!item || !escalationClaimWins({ severity: item.alert.severity, ...item }, claim)) return false;
    this.items.set(alertId, { ...item, escalation: { state: 'PAGING', token: claim.token, claimedAtMs: claim.nowMs } });
    return true;
  }
  async markEscalated(alertId: string, claim: EscalationClaim): Promise<boolean> {
    this.requests++;
    const item = this.items.get(alertId);
    if (item?.escalation?.state !== 'PAGING' || item.escalation.token !== claim.token) return false;
    this.items.set(alertId, { ...item, escalation: { ...item.escalation, state: 'ESCALATED', escalatedAtMs: claim.nowMs } });
    return true;
  }
  async releaseEscalation(alertId: string, token: string): Promise<void> {
    this.requests++;
    const item = this.items.get(alertId);
    if (item?.escalation?.state === 'PAGING' && item.escalation.token === token) this.items.set(alertId, { ...item, escalation: null });
  }
}

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

const logs: { level: string; message: string }[] = [];
const logger: SweepLogger = {
  info: (message) => void logs.push({ level: 'info', message }),
  warn: (message) => void logs.push({ level: 'warn', message }),
  error: (message) => void logs.push({ level: 'error', message }),
};

function setup() {
  const alerts = new FakeEscalationStore();
  const pager = new FakePager();
  let n = 0;
  const esc: EscalationDeps = { alerts, pager, newToken: () => `sweep-${++n}` };
  const sweepAt = async (nowMs: number) => {
    const errors: string[] = [];
    const summary = await escalate({ workers: [workerById(WORKER), workerById('youtube_worker')], logger }, esc, nowMs, errors);
    return { summary, errors };
  };
  return { alerts, pager, esc, sweepAt };
}

describe('escalation in the health sweep', () => {
  it('pages on-call once about a CRITICAL alert unacknowledged for N minutes and marks it ESCALATED', async () => {
    const t = setup();
    const alert = t.alerts.add(alertOf('WORKER_CRASH'));

    // Not yet due: nothing paged.
    const early = await t.sweepAt(DUE - 1);
    expect(early.summary).toMatchObject({ found: 1, paged: [], skipped: { 'not-due': 1 } });
    expect(t.pager.pages).toEqual([]);

    const due = await t.sweepAt(DUE + 2 * MIN);
    expect(due.errors).toEqual([]);
    expect(due.summary).toMatchObject({ found: 1, paged: [alert.id], lost: 0 });
    expect(t.pager.pages).toHaveLength(1);
    expect(t.pager.pages[0]?.attributes).toEqual({ type: ESCALATION_MESSAGE_TYPE, severity: 'CRITICAL', worker: WORKER, anomaly: 'WORKER_CRASH' });
    expect(t.pager.pages[0]?.json).toMatchObject({ reason: 'UNACKNOWLEDGED_CRITICAL', unacknowledgedMinutes: 17, alert });
    expect(t.alerts.items.get(alert.id)?.escalation).toEqual({ state: 'ESCALATED', token: 'sweep-2', claimedAtMs: DUE + 2 * MIN, escalatedAtMs: DUE + 2 * MIN });

    // Every later sweep (5 minutes apart, while the window is in the look-back) pages nothing more.
    for (let k = 1; k <= 12; k++) {
      const later = await t.sweepAt(DUE + 2 * MIN + k * 5 * MIN);
      expect(later.summary.paged).toEqual([]);
    }
    expect(t.pager.pages).toHaveLength(1);
  });

  it('leaves acknowledged alerts and non-critical alerts alone', async () => {
    const t = setup();
    const acked = t.alerts.add(alertOf('WORKER_CRASH'), { acknowledgedAt: '2026-03-02T04:05:00.000Z' });
    // A HIGH alert of the same worker: its id is never a candidate (only CRITICAL codes are looked up).
    const high = t.alerts.add(alertOf('SLOW_EXECUTION'));
    const { summary } = await t.sweepAt(DUE + 5 * MIN);
    expect(summary).toMatchObject({ found: 1, paged: [], skipped: { acknowledged: 1 } });
    expect(t.alerts.reads[0]).toContain(acked.id);
    expect(t.alerts.reads[0]).not.toContain(high.id);
    expect(t.pager.pages).toEqual([]);
  });

  it('an alert acknowledged between the read and the claim is not paged', async () => {
    const t = setup();
    const alert = t.alerts.add(alertOf('QUEUE_OVERFLOW'));
    const read = t.alerts.readAlerts.bind(t.alerts);
    t.alerts.readAlerts = async (ids) => {
      const views = await read(ids);
      t.alerts.acknowledge(alert.id, '2026-03-02T04:20:00.000Z');
      return views;
    };
    const { summary } = await t.sweepAt(DUE + MIN);
    expect(summary).toMatchObject({ paged: [], lost: 1 });
    expect(t.pager.pages).toEqual([]);
  });

  it('two sweeps at once page once', async () => {
    const t = setup();
    t.alerts.add(alertOf('WORKER_CRASH'));
    t.alerts.add(alertOf('DATA_CORRUPTION', RAISED + 30_000));
    const [a, b] = await Promise.all([t.sweepAt(DUE + 3 * MIN), t.sweepAt(DUE + 3 * MIN)]);
    expect(t.pager.pages).toHaveLength(2);
    expect(new Set(t.pager.pages.map((p) => p.json.alert.anomaly))).toEqual(new Set(['WORKER_CRASH', 'DATA_CORRUPTION']));
    expect((a?.summary.paged.length ?? 0) + (b?.summary.paged.length ?? 0)).toBe(2);
    expect((a?.summary.lost ?? 0) + (b?.summary.lost ?? 0) + (a?.summary.skipped.paging ?? 0) + (b?.summary.skipped.paging ?? 0)).toBe(2);
  });

  it('a failed page releases the claim: the next sweep pages', async () => {
    const t = setup();
    const alert = t.alerts.add(alertOf('RESOURCE_EXHAUSTION'));
    t.pager.failNext = 1;
    const failed = await t.sweepAt(DUE);
    expect(failed.errors).toEqual([`escalation of alert ${alert.id}: TimeoutError: connect ETIMEDOUT`]);
    expect(failed.summary.paged).toEqual([]);
    expect(t.alerts.items.get(alert.id)?.escalation).toBeNull();

    const next = await t.sweepAt(DUE + 5 * MIN);
    expect(next.errors).toEqual([]);
    expect(next.summary.paged).toEqual([alert.id]);
    expect(t.pager.pages).toHaveLength(1);
  });

  it('a PAGING claim left by a dead sweep is taken over once stale', async () => {
    const t = setup();
    const alert = t.alerts.add(alertOf('DEPENDENCY_FAILURE'), { escalation: { state: 'PAGING', token: 'dead', claimedAtMs: DUE } });
    expect((await t.sweepAt(DUE + ESCALATION_CLAIM_STALE_MS)).summary).toMatchObject({ paged: [], skipped: { paging: 1 } });
    expect((await t.sweepAt(DUE + ESCALATION_CLAIM_STALE_MS + 1)).summary.paged).toEqual([alert.id]);
    expect(t.pager.pages).toHaveLength(1);
  });

  it('looks up each deployed worker x CRITICAL code x window in one read (no scan), and finds nothing on a quiet table', async () => {
    const t = setup();
    const { summary } = await t.sweepAt(DUE);
    expect(summary).toEqual({ candidates: 2 * 5 * 5, found: 0, paged: [], lost: 0, skipped: { 'not-critical': 0, acknowledged: 0, escalated: 0, paging: 0, 'not-due': 0 } });
    expect(t.alerts.requests).toBe(1);
  });
});

describe('escalation through the sweep handler', () => {
  const sweepDeps = (esc: EscalationDeps | undefined, nowMs: number): SweepDeps => ({
    store: new InMemoryStateStore(),
    reports: { latestReport: async () => undefined },
    executions: { listRunning: async () => [], listEnded: async () => [], input: async () => undefined, stop: async () => undefined },
    queues: { depth: async () => 0 },
    findings: { putOnce: async () => true },
    clock: () => nowMs,
    logger,
    // An on-demand worker: no schedule, so no missed runs; only escalation has work to do.
    workers: [workerById(WORKER)],
    pipelineArns: {},
    queueUrls: {},
    reportRetentionDays: 30,
    ...(esc !== undefined ? { escalation: esc } : {}),
  });

  it('reports the escalation in the summary; off without an on-call topic', async () => {
    const t = setup();
    const alert = t.alerts.add(alertOf('WORKER_CRASH'));
    const summary = await makeHandler(sweepDeps(t.esc, DUE + MIN))({});
    expect(summary.escalation).toMatchObject({ candidates: 25, found: 1, paged: [alert.id] });
    expect((await runSweep(sweepDeps(undefined, DUE + MIN))).escalation).toBeNull();
  });

  it('a failed alert read makes the sweep incomplete (the next one retries)', async () => {
    const t = setup();
    t.alerts.failRead = true;
    await expect(makeHandler(sweepDeps(t.esc, DUE))({})).rejects.toThrow(SweepIncompleteError);
    await expect(makeHandler(sweepDeps(t.esc, DUE))({})).rejects.toThrow(/escalation: reading 25 alert key\(s\): ThrottlingException: Rate exceeded/);
  });
});

describe('SnsOnCallPager', () => {
  it('publishes JSON-structured with the severity attribute the on-call subscriptions filter on', async () => {
    const sent: PublishCommand[] = [];
    const client = { send: async (command: PublishCommand) => void sent.push(command) };
    const t = setup();
    const alert = t.alerts.add(alertOf('WORKER_CRASH'));
    await escalate({ workers: [workerById(WORKER)], logger }, { alerts: t.alerts, pager: new SnsOnCallPager(client as never, 'arn:aws:sns:eu-west-1:123456789012:oncall') }, DUE, []);
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
    expect(JSON.parse(structure.default)).toMatchObject({ type: ESCALATION_MESSAGE_TYPE, alert: { id: alert.id } });
    expect(structure.email).toContain('has not been acknowledged for 15 minutes');
  });
});
