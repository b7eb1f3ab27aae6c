/**
 * The incident lifecycle (lib/domain/incident.ts): open, update without notifying, redelivery,
 * concurrent detections, resolve then reopen, escalation once per step, root cause through the
 * dependency graph, and the transition alerts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderAlert } from '../../lib/domain/alerting.js';
import {
  recoveriesToCheck,
  applyAcknowledgement,
  applyDetection,
  applyRecovery,
  applyResolution,
  buildIncidentAlert,
  claimPage,
  decideIncidentEscalation,
  incidentId,
  INCIDENT_PAGE_CLAIM_STALE_MS,
  markPaged,
  inhibitingIncident,
  parseIncidentId,
  recordDetection,
  recordResolution,
  recordSymptom,
  staleSourceIn,
  releasePage,
  reportClears,
  rootCauseOf,
  type Detection,
  type GraphLookup,
  type Incident,
  type IncidentKey,
} from '../../lib/domain/incident.js';
import { ESCALATION } from '../../lib/domain/recovery.js';
import { InMemoryIncidentStore } from '../support/in-memory-incident-store.js';

const MIN = 60_000;
const T0 = Date.parse('2026-03-02T00:00:00.000Z');
const KEY: IncidentKey = { worker: 'clip_radar_worker', job: null, anomaly: 'RESOURCE_EXHAUSTION' };

const detection = (atMs: number, overrides: Partial<Detection> = {}): Detection => ({
  key: KEY,
  severity: 'CRITICAL',
  detail: `memory 95% > 90% at ${new Date(atMs).toISOString()}`,
  observedAtMs: atMs,
  observationId: `clip_radar_worker.poll@${new Date(atMs).toISOString()}#RESOURCE_EXHAUSTION`,
  source: 'report',
  impactedJob: null,
  seenOn: { worker: 'clip_radar_worker', job: 'poll', scheduledTime: new Date(atMs).toISOString(), executionId: null },
  ...overrides,
});

const clear = (atMs: number) => ({ atMs, observationId: `clear@${atMs}`, what: `the clip_radar_worker.poll run at ${new Date(atMs).toISOString()} SUCCEEDED` });

const open = (atMs = T0): Incident => {
  const out = applyDetection(undefined, detection(atMs));
  if (out.kind !== 'OPENED') throw new Error('expected OPENED');
  return out.incident;
};

const GRAPH: GraphLookup = {
  hasWorker: (w) => ['youtube_worker', 'creator_intel_worker', 'playbook_worker', 'intel_orchestrator', 'twitch_streams_worker', 'clip_radar_worker'].includes(w),
  hasJob: (w, j) => (w === 'youtube_worker' && (j === 'games' || j === 'trending')) || (w === 'creator_intel_worker' && j === 'analyze'),
};

describe('incident ids', () => {
  it('name the key and generation, and parse back', () => {
    const id = incidentId({ worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' }, 3);
    expect(id).toBe('youtube_worker~games~DEPENDENCY_FAILURE~3');
    expect(parseIncidentId(id)).toEqual({ key: { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' }, generation: 3 });
    expect(parseIncidentId(incidentId(KEY, 1)).key).toEqual(KEY);
  });

  it.each(['', 'alert_abc', 'youtube_worker~games~NOT_A_CODE~1', 'youtube_worker~games~WORKER_CRASH~0', 'Youtube~games~WORKER_CRASH~1', 'a~b~WORKER_CRASH~1~2'])('rejects %j', (id) => {
    expect(() => parseIncidentId(id)).toThrow(/incident id must look like/);
  });
});

describe('lifecycle', () => {
  it('a first detection opens the incident, with first and last seen, count 1', () => {
    const out = applyDetection(undefined, detection(T0));
    expect(out.kind).toBe('OPENED');
    expect(out.incident).toMatchObject({ id: 'clip_radar_worker~-~RESOURCE_EXHAUSTION~1', state: 'OPEN', count: 1, firstSeen: '2026-03-02T00:00:00.000Z', lastSeen: '2026-03-02T00:00:00.000Z', version: 1 });
  });

  it('a condition seen again while open is counted, and nobody is notified, however many dedup windows pass', () => {
    let incident = open();
    for (let m = 5; m <= 60; m += 5) {
      const out = applyDetection(incident, detection(T0 + m * MIN));
      expect(out.kind, `minute ${m}`).toBe('UPDATED');
      incident = out.incident;
    }
    expect(incident).toMatchObject({ count: 13, firstSeen: '2026-03-02T00:00:00.000Z', lastSeen: '2026-03-02T01:00:00.000Z', state: 'OPEN', generation: 1 });
  });

  it('a redelivered detection changes nothing, even after other detections', () => {
    const first = open();
    const second = applyDetection(first, detection(T0 + 5 * MIN)).incident;
    const again = applyDetection(second, detection(T0));
    expect(again.kind).toBe('DUPLICATE');
    expect(again.incident).toBe(second);
  });

  it('a recovery moves OPEN to RECOVERING once per execution', () => {
    const recovery = { name: 'alert_x', worker: 'clip_radar_worker', job: 'poll', actions: ['RESTART_WORKER'], startedAt: '2026-03-02T00:00:01.000Z' };
    const recovering = applyRecovery(open(), recovery);
    expect(recovering.state).toBe('RECOVERING');
    expect(applyRecovery(recovering, recovery)).toBe(recovering);
  });

  it('resolves on newer evidence with the duration and what healed it; older evidence changes nothing', () => {
    const incident = applyDetection(open(), detection(T0 + 55 * MIN)).incident;
    expect(applyResolution(incident, clear(T0 + 50 * MIN)).kind).toBe('UNCHANGED');
    const out = applyResolution(incident, clear(T0 + 70 * MIN));
    expect(out.kind).toBe('RESOLVED');
    if (out.kind !== 'RESOLVED') return;
    expect(out.durationMs).toBe(70 * MIN);
    expect(out.incident).toMatchObject({ state: 'RESOLVED', resolvedAt: '2026-03-02T01:10:00.000Z', resolvedBy: `clear@${T0 + 70 * MIN}` });
    expect(out.incident.resolution).toMatch(/clip_radar_worker\.poll run .* SUCCEEDED; no recovery was run/);
    expect(applyResolution(out.incident, clear(T0 + 80 * MIN)).kind).toBe('UNCHANGED');
  });

  it('names the recoveries tried in what healed it', () => {
    const incident = applyRecovery(open(), { name: 'alert_x', worker: 'clip_radar_worker', job: 'poll', actions: ['OPEN_CIRCUIT', 'REDUCE_RATE'], startedAt: '2026-03-02T00:00:01.000Z' });
    const out = applyResolution(incident, { ...clear(T0 + 20 * MIN), recoveryOutcome: 'SUCCEEDED, verified' });
    expect(out.incident.resolution).toMatch(/recovery tried: OPEN_CIRCUIT\+REDUCE_RATE on clip_radar_worker\.poll \(SUCCEEDED, verified\)/);
  });

  it('resolve then reopen: a later detection opens the next generation; a late one from before the resolution does not', () => {
    const resolved = applyResolution(open(), clear(T0 + 10 * MIN)).incident;
    expect(applyDetection(resolved, detection(T0 + 5 * MIN, { observationId: 'late' })).kind).toBe('STALE');
    const reopened = applyDetection(resolved, detection(T0 + 30 * MIN));
    expect(reopened.kind).toBe('OPENED');
    expect(reopened.incident).toMatchObject({ id: 'clip_radar_worker~-~RESOURCE_EXHAUSTION~2', generation: 2, count: 1, state: 'OPEN', resolvedAt: null, firstSeen: '2026-03-02T00:30:00.000Z', version: resolved.version + 1 });
  });

  it('a redelivery of the detection that opened a since-resolved incident does not reopen it', () => {
    const resolved = applyResolution(open(), clear(T0 + 10 * MIN)).incident;
    expect(applyDetection(resolved, detection(T0)).kind).toBe('DUPLICATE');
  });

  it('acknowledges once, keeping the first', () => {
    const first = applyAcknowledgement(open(), 'alice', T0 + MIN);
    expect(first.changed).toBe(true);
    const second = applyAcknowledgement(first.incident, 'bob', T0 + 2 * MIN);
    expect(second).toEqual({ changed: false, incident: first.incident });
    expect(second.incident.acknowledgedBy).toBe('alice');
  });

  it('property: any order and repetition of the same detections opens one incident that counts each once', () => {
    const ids = Array.from({ length: 8 }, (_, i) => i);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: 40 }), (sequence) => {
        let incident: Incident | undefined;
        let opened = 0;
        for (const i of sequence) {
          const out = applyDetection(incident, detection(T0 + i * MIN));
          if (out.kind === 'OPENED') opened++;
          incident = out.incident;
        }
        expect(opened).toBe(1);
        expect(incident?.count).toBe(new Set(sequence).size);
        expect(incident?.lastSeen).toBe(new Date(T0 + Math.max(...sequence) * MIN).toISOString());
      }),
    );
  });
});

describe('concurrency through the store', () => {
  it('concurrent detections of one condition open one incident and count every detection', async () => {
    const store = new InMemoryIncidentStore();
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => recordDetection(store, detection(T0 + i * MIN))));
    expect(outcomes.filter((o) => o.kind === 'OPENED')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'UPDATED')).toHaveLength(5);
    const stored = await store.read(KEY);
    expect(stored).toMatchObject({ count: 6, generation: 1, version: 6 });
    expect(store.lostWrites).toBeGreaterThan(0);
  });

  it('a detection racing a resolution: the loser re-reads and applies to what the winner wrote', async () => {
    const store = new InMemoryIncidentStore();
    await recordDetection(store, detection(T0));
    let raced = false;
    store.beforeWrite = async (next) => {
      if (raced || next.state !== 'RESOLVED') return;
      raced = true;
      store.beforeWrite = undefined;
      await recordDetection(store, detection(T0 + 30 * MIN));
    };
    const out = await recordResolution(store, KEY, clear(T0 + 20 * MIN));
    // The detection at 00:30 won; the 00:20 evidence predates it, so the incident stays open.
    expect(out?.kind).toBe('UNCHANGED');
    expect(await store.read(KEY)).toMatchObject({ state: 'OPEN', count: 2 });
  });

  it('redelivery through the store writes nothing', async () => {
    const store = new InMemoryIncidentStore();
    await recordDetection(store, detection(T0));
    const before = await store.read(KEY);
    expect((await recordDetection(store, detection(T0))).kind).toBe('DUPLICATE');
    expect(await store.read(KEY)).toEqual(before);
  });
});

describe('escalation: each policy step pages once per incident', () => {
  const N = ESCALATION.unacknowledgedCriticalMinutes;

  it('pages a CRITICAL incident unacknowledged for N minutes since it opened, once, however long it lasts', () => {
    let incident = open();
    expect(decideIncidentEscalation(incident, T0 + (N - 1) * MIN)).toEqual({ kind: 'skip', why: 'not-due' });
    const due = decideIncidentEscalation(incident, T0 + N * MIN);
    expect(due).toEqual({ kind: 'page', step: 'UNACKNOWLEDGED_CRITICAL', openMs: N * MIN, why: `unacknowledged for ${N} min` });
    const claimed = claimPage(incident, 'UNACKNOWLEDGED_CRITICAL', 'sweep-1', T0 + N * MIN);
    expect(claimed).not.toBeNull();
    incident = claimed as Incident;
    expect(claimPage(incident, 'UNACKNOWLEDGED_CRITICAL', 'sweep-2', T0 + N * MIN + 1000)).toBeNull();
    incident = markPaged(incident, 'UNACKNOWLEDGED_CRITICAL', 'sweep-1', T0 + N * MIN) as Incident;
    expect(incident.state).toBe('ESCALATED');
    for (let m = N; m <= 4 * 60; m += 5) {
      incident = applyDetection(incident, detection(T0 + m * MIN + 1)).incident;
      expect(decideIncidentEscalation(incident, T0 + m * MIN + 2).kind).toBe('skip');
    }
  });

  it('skips resolved, acknowledged and non-critical incidents', () => {
    const late = T0 + 60 * MIN;
    expect(decideIncidentEscalation(applyResolution(open(), clear(T0 + MIN)).incident, late)).toEqual({ kind: 'skip', why: 'resolved' });
    expect(decideIncidentEscalation(applyAcknowledgement(open(), 'alice', T0 + MIN).incident, late)).toEqual({ kind: 'skip', why: 'acknowledged' });
    expect(decideIncidentEscalation({ ...open(), severity: 'HIGH' }, late)).toEqual({ kind: 'skip', why: 'not-critical' });
  });

  it('a claim whose page failed is released for the next sweep; a stale one may be taken over', () => {
    const at = T0 + N * MIN;
    const claimed = claimPage(open(), 'UNACKNOWLEDGED_CRITICAL', 'sweep-1', at) as Incident;
    expect(releasePage(claimed, 'UNACKNOWLEDGED_CRITICAL', 'sweep-2')).toBeNull();
    const released = releasePage(claimed, 'UNACKNOWLEDGED_CRITICAL', 'sweep-1') as Incident;
    expect(decideIncidentEscalation(released, at).kind).toBe('page');
    expect(decideIncidentEscalation(claimed, at + INCIDENT_PAGE_CLAIM_STALE_MS - 1)).toEqual({ kind: 'skip', why: 'paging' });
    expect(decideIncidentEscalation(claimed, at + INCIDENT_PAGE_CLAIM_STALE_MS + 1).kind).toBe('page');
    expect(markPaged(claimed, 'UNACKNOWLEDGED_CRITICAL', 'sweep-2', at)).toBeNull();
  });

  const failed = { name: 'alert_r1', reason: 'the probe run failed' };
  const recovering = (severity: Incident['severity']): Incident => applyRecovery({ ...open(), severity }, { name: 'alert_r1', worker: KEY.worker, job: 'poll', actions: ['OPEN_CIRCUIT'], startedAt: new Date(T0).toISOString() });

  it('RECOVERY_FAILED: a CRITICAL or HIGH incident whose recovery FAILED pages at once, once; MEDIUM never', () => {
    for (const severity of ['CRITICAL', 'HIGH'] as const) {
      const incident = recovering(severity);
      expect(recoveriesToCheck(incident)).toEqual(['alert_r1']);
      // Still running (or not FAILED): nothing to page for yet, unless the CRITICAL step is due.
      expect(decideIncidentEscalation(incident, T0 + MIN).kind).toBe('skip');
      expect(decideIncidentEscalation(incident, T0 + MIN, failed)).toEqual({ kind: 'page', step: 'RECOVERY_FAILED', openMs: MIN, why: 'recovery alert_r1 FAILED: the probe run failed' });
      const claimed = claimPage(incident, 'RECOVERY_FAILED', 'sweep-1', T0 + MIN, failed) as Incident;
      const paged = markPaged(claimed, 'RECOVERY_FAILED', 'sweep-1', T0 + MIN) as Incident;
      expect(paged.state).toBe('ESCALATED');
      // Paged once: neither step pages again, and its recoveries need no more reading.
      expect(recoveriesToCheck(paged)).toEqual([]);
      expect(decideIncidentEscalation(paged, T0 + 60 * MIN, failed)).toEqual({ kind: 'skip', why: 'paged' });
    }
    expect(recoveriesToCheck(recovering('MEDIUM'))).toEqual([]);
    expect(decideIncidentEscalation(recovering('MEDIUM'), T0 + 60 * MIN, failed)).toEqual({ kind: 'skip', why: 'not-critical' });
    expect(decideIncidentEscalation(applyAcknowledgement(recovering('HIGH'), 'alice', T0).incident, T0 + MIN, failed)).toEqual({ kind: 'skip', why: 'acknowledged' });
    expect(recoveriesToCheck(applyResolution(recovering('HIGH'), clear(T0 + MIN)).incident)).toEqual([]);
  });

  it('whichever step is due first pages: a CRITICAL paged unacknowledged is not paged again when its recovery then FAILED', () => {
    const incident = recovering('CRITICAL');
    const claimed = claimPage(incident, 'UNACKNOWLEDGED_CRITICAL', 'sweep-1', T0 + N * MIN) as Incident;
    // A live claim of one step holds the other back too.
    expect(decideIncidentEscalation(claimed, T0 + N * MIN + 1, failed)).toEqual({ kind: 'skip', why: 'paging' });
    const paged = markPaged(claimed, 'UNACKNOWLEDGED_CRITICAL', 'sweep-1', T0 + N * MIN) as Incident;
    expect(decideIncidentEscalation(paged, T0 + 2 * N * MIN, failed)).toEqual({ kind: 'skip', why: 'paged' });
    expect(claimPage(paged, 'RECOVERY_FAILED', 'sweep-2', T0 + 2 * N * MIN, failed)).toBeNull();
  });

  it('an incident whose recovery paged on-call itself (PAGE_ONCALL, a crash) is not paged again by the sweep', () => {
    const crash = applyRecovery(open(), { name: 'alert_c1', worker: KEY.worker, job: 'poll', actions: ['RESTART_WORKER', 'PAGE_ONCALL'], startedAt: new Date(T0).toISOString() });
    expect(recoveriesToCheck(crash)).toEqual([]);
    expect(decideIncidentEscalation(crash, T0 + 2 * N * MIN, { name: 'alert_c1', reason: 'the restarted run failed' })).toEqual({ kind: 'skip', why: 'paged' });
  });
});

describe('root cause through the dependency graph', () => {
  it('dependents blocked in the intel cycle and the cycle failing because of its stage share one key on the upstream job', () => {
    const creator = rootCauseOf({ worker: 'creator_intel_worker', job: 'analyze', anomaly: 'DEPENDENCY_FAILURE', skipReason: 'DEPENDENCY_FAILED', texts: ['skipped: youtube_worker.games failed in this intel cycle'] }, GRAPH);
    const cycleRate = rootCauseOf({ worker: 'intel_orchestrator', job: 'cycle', anomaly: 'HIGH_FAILURE_RATE', texts: ['100% of runs failed', 'stage youtube_worker.games failed (States.TaskFailed); the later stages were skipped'] }, GRAPH);
    const sweepFinding = rootCauseOf({ worker: 'intel_orchestrator', job: 'cycle', anomaly: 'DEPENDENCY_FAILURE', texts: ['intel_orchestrator: the last cycle FAILED: stage youtube_worker.games failed (States.TaskFailed)'] }, GRAPH);
    const key = { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' };
    expect(creator).toEqual({ key, impactedJob: 'creator_intel_worker.analyze' });
    expect(cycleRate).toEqual({ key, impactedJob: 'intel_orchestrator.cycle' });
    expect(sweepFinding).toEqual({ key, impactedJob: 'intel_orchestrator.cycle' });
  });

  it('a gate skip naming the dependency worker is keyed on that worker', () => {
    const out = rootCauseOf({ worker: 'playbook_worker', job: 'synthesize', anomaly: 'DEPENDENCY_FAILURE', skipReason: 'DEPENDENCY_FAILED', texts: ['skipped: dependency twitch_streams_worker data is 4000 s old, limit 1800 s'] }, GRAPH);
    expect(out).toEqual({ key: { worker: 'twitch_streams_worker', job: null, anomaly: 'DEPENDENCY_FAILURE' }, impactedJob: 'playbook_worker.synthesize' });
  });

  it("a dependent's own, independent failure is its own incident", () => {
    expect(rootCauseOf({ worker: 'creator_intel_worker', job: 'analyze', anomaly: 'WORKER_CRASH', texts: ['run crashed: States.Timeout'] }, GRAPH)).toEqual({
      key: { worker: 'creator_intel_worker', job: 'analyze', anomaly: 'WORKER_CRASH' },
      impactedJob: null,
    });
  });

  it('an unknown upstream, or the worker naming itself, keeps the incident where it was seen', () => {
    expect(rootCauseOf({ worker: 'creator_intel_worker', job: 'analyze', anomaly: 'DEPENDENCY_FAILURE', skipReason: 'DEPENDENCY_FAILED', texts: ['nobody_worker.x failed in this intel cycle'] }, GRAPH).key).toEqual({
      worker: 'creator_intel_worker',
      job: 'analyze',
      anomaly: 'DEPENDENCY_FAILURE',
    });
  });

  it('worker-level anomalies are keyed on the worker, whichever job showed them', () => {
    expect(rootCauseOf({ worker: 'youtube_worker', job: 'trending', anomaly: 'HIGH_FAILURE_RATE', texts: ['20% of runs failed in the last hour'] }, GRAPH).key).toEqual({ worker: 'youtube_worker', job: null, anomaly: 'HIGH_FAILURE_RATE' });
  });

  it("a run clears its job's incidents (and its worker's) only when it succeeded without the anomaly", () => {
    const incident = open();
    const run = { worker: 'clip_radar_worker', job: 'poll', status: 'SUCCEEDED' };
    expect(reportClears(incident, run, [])).toBe(true);
    expect(reportClears(incident, run, ['clip_radar_worker.-#RESOURCE_EXHAUSTION'])).toBe(false);
    expect(reportClears(incident, { ...run, status: 'SKIPPED' }, [])).toBe(false);
    expect(reportClears(incident, { ...run, worker: 'youtube_worker' }, [])).toBe(false);
    const jobIncident = { ...incident, key: { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' as const } };
    expect(reportClears(jobIncident, { worker: 'youtube_worker', job: 'trending', status: 'SUCCEEDED' }, [])).toBe(false);
    expect(reportClears(jobIncident, { worker: 'youtube_worker', job: 'games', status: 'SUCCEEDED' }, [])).toBe(true);
  });
});

describe('inhibition: stale data while the producing job has an open incident', () => {
  const GAMES_KEY: IncidentKey = { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' };
  const upstream = (key: IncidentKey, severity: Detection['severity'], atMs: number): Incident => {
    const out = applyDetection(undefined, detection(atMs, { key, severity, observationId: `${incidentId(key, 1)}@${atMs}`, seenOn: { worker: key.worker, job: key.job ?? 'poll', scheduledTime: null, executionId: null } }));
    if (out.kind !== 'OPENED') throw new Error('expected OPENED');
    return out.incident;
  };
  const stale = (atMs: number): Detection =>
    detection(atMs, {
      key: { worker: 'creator_intel_worker', job: null, anomaly: 'STALE_DATA' },
      severity: 'HIGH',
      detail: 'creator_intel_worker needs youtube_worker.games data no older than 3600 s at its run, refreshed at least every 15300 s; it is 16000 s old',
      observationId: `health:STALE_DATA#-#${atMs}`,
      source: 'health',
      seenOn: { worker: 'creator_intel_worker', job: 'analyze', scheduledTime: null, executionId: null },
    });

  it('reads the stale job from the sweep text, only when the registry knows it', () => {
    expect(staleSourceIn([stale(T0).detail], GRAPH)).toEqual({ worker: 'youtube_worker', job: 'games' });
    expect(staleSourceIn(['playbook_worker needs twitch_streams_worker data no older than 1800 s'], GRAPH)).toEqual({ worker: 'twitch_streams_worker', job: null });
    expect(staleSourceIn(['x needs youtube_worker.nope data no older than 1 s'], GRAPH)).toBeNull();
    expect(staleSourceIn(['x needs unknown_worker data no older than 1 s'], GRAPH)).toBeNull();
    expect(staleSourceIn(['memory 95% > 90%'], GRAPH)).toBeNull();
  });

  it('the most severe unresolved incident of the job or its worker explains it, then the oldest; never a resolved one or another STALE_DATA', () => {
    const games = upstream(GAMES_KEY, 'CRITICAL', T0 + 5 * MIN);
    const rate = upstream({ worker: 'youtube_worker', job: null, anomaly: 'ELEVATED_RETRIES' }, 'MEDIUM', T0);
    const trending = upstream({ worker: 'youtube_worker', job: 'trending', anomaly: 'WORKER_CRASH' }, 'CRITICAL', T0);
    const staleToo = upstream({ worker: 'youtube_worker', job: null, anomaly: 'STALE_DATA' }, 'CRITICAL', T0);
    const source = { worker: 'youtube_worker', job: 'games' };
    expect(inhibitingIncident(source, [rate, games, trending, staleToo])?.id).toBe(games.id);
    expect(inhibitingIncident(source, [rate, trending, staleToo])?.id).toBe(rate.id);
    const resolved = applyResolution(games, clear(T0 + 30 * MIN));
    expect(resolved.kind).toBe('RESOLVED');
    expect(inhibitingIncident(source, [resolved.incident, trending, staleToo])).toBeNull();
    expect(inhibitingIncident({ worker: 'twitch_streams_worker', job: null }, [games, rate])).toBeNull();
  });

  it('a symptom is counted on the open incident (impacted job, count), never opens or reopens one', async () => {
    const store = new InMemoryIncidentStore();
    await recordDetection(store, { ...detection(T0), key: GAMES_KEY, observationId: 'games@00:00' });
    const symptom = { ...stale(T0 + 20 * MIN), key: GAMES_KEY, impactedJob: 'creator_intel_worker.analyze' };
    const counted = await recordSymptom(store, symptom);
    expect(counted?.kind).toBe('UPDATED');
    expect(await store.read(GAMES_KEY)).toMatchObject({ state: 'OPEN', count: 2, impactedJobs: ['creator_intel_worker.analyze'], sources: ['health', 'report'] });
    // Redelivered: nothing more.
    expect((await recordSymptom(store, symptom))?.kind).toBe('DUPLICATE');
    // Resolved in between: nothing written, the caller treats it as its own condition.
    await recordResolution(store, GAMES_KEY, clear(T0 + 25 * MIN));
    const before = await store.read(GAMES_KEY);
    expect(await recordSymptom(store, { ...symptom, observedAtMs: T0 + 40 * MIN, observationId: 'later' })).toBeNull();
    expect(await store.read(GAMES_KEY)).toEqual(before);
    // No incident at all: nothing opened.
    const empty = new InMemoryIncidentStore();
    expect(await recordSymptom(empty, symptom)).toBeNull();
    expect(await empty.read(GAMES_KEY)).toBeUndefined();
  });
});

describe('transition alerts', () => {
  it('OPENED and RESOLVED have ids of their own, deterministic, and say what the incident is', () => {
    const incident = applyDetection(open(), detection(T0 + 5 * MIN, { impactedJob: 'x_worker.y' })).incident;
    const opened = buildIncidentAlert({ incident, transition: 'OPENED', region: 'eu-west-1', observed: 95, threshold: 90 });
    expect(opened.id).toMatch(/^alert_[0-9a-f]{32}$/);
    expect(buildIncidentAlert({ incident: { ...incident, count: 9 }, transition: 'OPENED', region: 'eu-west-1' }).id).toBe(opened.id);
    expect(opened.incident).toMatchObject({ id: incident.id, transition: 'OPENED', rootJob: 'clip_radar_worker.-', impactedJobs: ['x_worker.y'] });
    expect(renderAlert(opened).subject).toMatch(/^\[AuraStream CRITICAL\] RESOURCE_EXHAUSTION on clip_radar_worker\.- \(impacts 1 job\(s\)\)/);

    const resolved = applyResolution(incident, clear(T0 + 62 * MIN)).incident;
    const message = buildIncidentAlert({ incident: resolved, transition: 'RESOLVED', region: 'eu-west-1' });
    expect(message.id).not.toBe(opened.id);
    expect(message.incident).toMatchObject({ transition: 'RESOLVED', durationMs: 62 * MIN });
    const rendered = renderAlert(message);
    expect(rendered.subject).toMatch(/^\[AuraStream RESOLVED\] RESOURCE_EXHAUSTION on clip_radar_worker\.- after 62 min/);
    expect(rendered.text).toMatch(/Healed by: +the clip_radar_worker\.poll run/);
    expect(() => buildIncidentAlert({ incident, transition: 'RESOLVED', region: 'eu-west-1' })).toThrow(/not resolved/);
  });
});
