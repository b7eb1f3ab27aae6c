/** Stream records into real-time events: the pure part the broadcaster and the local runtime share. */
import { describe, expect, it } from 'vitest';
import { applyAcknowledgement, applyDetection, applyResolution, type Incident } from '../../lib/domain/incident.js';
import { eventsFromRecords, readRecord } from '../../lambdas/realtime/broadcaster.js';
import { CLOSED_CIRCUIT, type CircuitState } from '../../lib/domain/circuit.js';
import { alertWrite, reportInsert, stateModify, streamRecord } from './records.js';

const OPEN: CircuitState = { state: 'OPEN', consecutiveFailures: 3, changedAtMs: Date.parse('2026-01-02T06:05:00.000Z'), probesAdmitted: 0, halfOpenSuccesses: 0 };

describe('eventsFromRecords', () => {
  it('turns a report insert into a report event with its score, status and duration', () => {
    expect(eventsFromRecords([reportInsert('youtube_worker')])).toEqual([
      {
        type: 'report',
        worker: 'youtube_worker',
        at: '2026-01-02T06:00:25.000Z',
        data: expect.objectContaining({ job: 'trending', status: 'SUCCEEDED', overallScore: 96.5, durationMs: 20_000, skipReason: null }),
      },
    ]);
  });

  it('a report without scores has a null score', () => {
    const [event] = eventsFromRecords([reportInsert('youtube_worker', { status: 'SKIPPED', skipReason: 'CIRCUIT_OPEN', scores: null })]);
    expect(event?.data).toMatchObject({ status: 'SKIPPED', skipReason: 'CIRCUIT_OPEN', overallScore: null });
  });

  it('turns alert inserts and modifications into alert events', () => {
    const events = eventsFromRecords([alertWrite('INSERT', { alertState: 'CLAIMED' }), alertWrite('MODIFY', { acknowledgedAt: '2026-01-02T07:00:00.000Z' })]);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({
      type: 'alert',
      worker: 'youtube_worker',
      at: '2026-01-02T06:01:00.000Z',
      data: { alertId: 'a1b2', change: 'INSERT', anomaly: 'HIGH_FAILURE_RATE', severity: 'HIGH', detail: '3 of 4 runs failed', state: 'CLAIMED', acknowledgedAt: null },
    });
    expect(events[1]?.data).toMatchObject({ change: 'MODIFY', acknowledgedAt: '2026-01-02T07:00:00.000Z' });
  });

  it('turns a STATE modification into a circuit event only when the circuit changed (absent reads as CLOSED)', () => {
    const opened = eventsFromRecords([stateModify('twitch_worker', undefined, OPEN)]);
    expect(opened).toEqual([
      { type: 'circuit', worker: 'twitch_worker', at: '2026-01-02T06:05:00.000Z', data: { job: 'asset', state: 'OPEN', previousState: 'CLOSED', consecutiveFailures: 3, changedAt: '2026-01-02T06:05:00.000Z' } },
    ]);
    // Each job's circuit is its own: the pack circuit opening names pack.
    expect(eventsFromRecords([stateModify('twitch_worker', undefined, OPEN, {}, 'pack')])).toEqual([expect.objectContaining({ data: expect.objectContaining({ job: 'pack', state: 'OPEN' }) })]);
    // A lock write leaves the circuit as it was: no circuit event (only the lock's own event).
    expect(eventsFromRecords([stateModify('twitch_worker', OPEN, OPEN, { lockHolder_poll: 'exec-9' })]).map((e) => e.type)).toEqual(['lock']);
    // A config write leaves the circuit as it was: no event.
    expect(eventsFromRecords([stateModify('twitch_worker', OPEN, OPEN, { config: { enabled: false } })])).toEqual([]);
    expect(eventsFromRecords([stateModify('twitch_worker', undefined, CLOSED_CIRCUIT)])).toEqual([]);
    // A failure counted while CLOSED is a change too; its time is the record's (no changedAtMs).
    const counted = eventsFromRecords([stateModify('twitch_worker', CLOSED_CIRCUIT, { ...CLOSED_CIRCUIT, consecutiveFailures: 1 })]);
    expect(counted).toEqual([expect.objectContaining({ type: 'circuit', at: new Date(1_767_334_000 * 1000).toISOString(), data: expect.objectContaining({ state: 'CLOSED', consecutiveFailures: 1 }) })]);
  });

  it('turns a lock change into one lock event per job (taken: holder, fence, expiry; released: holder null)', () => {
    const taken = eventsFromRecords([
      streamRecord('INSERT', { pk: 'WORKER#twitch_worker', sk: 'STATE' }, { version: 1, lockHolder_poll: 'exec-9', lockFence_poll: 4, lockExpiresAtMs_poll: Date.parse('2026-01-02T06:10:00.000Z') }),
    ]);
    expect(taken).toEqual([{ type: 'lock', worker: 'twitch_worker', at: new Date(1_767_334_000 * 1000).toISOString(), data: { job: 'poll', holder: 'exec-9', fence: 4, expiresAt: '2026-01-02T06:10:00.000Z' } }]);
    const held = { lockHolder_poll: 'exec-9', lockFence_poll: 4, lockExpiresAtMs_poll: Date.parse('2026-01-02T06:10:00.000Z') };
    const released = eventsFromRecords([streamRecord('MODIFY', { pk: 'WORKER#twitch_worker', sk: 'STATE' }, { version: 3, lockFence_poll: 4 }, { version: 2, ...held })]);
    expect(released).toEqual([expect.objectContaining({ type: 'lock', data: { job: 'poll', holder: null, fence: 4, expiresAt: null } })]);
    // Nothing about the lock changed: no event.
    expect(eventsFromRecords([streamRecord('MODIFY', { pk: 'WORKER#twitch_worker', sk: 'STATE' }, { version: 3, ...held, lastStatus: 'SUCCEEDED' }, { version: 2, ...held })])).toEqual([]);
  });

  it('turns a write of the orchestrator state into a mode event', () => {
    const paused = eventsFromRecords([streamRecord('MODIFY', { pk: 'ORCH', sk: 'STATE' }, { mode: 'PAUSED', reason: 'deploy', updatedAt: '2026-01-02T06:00:00.000Z' }, { mode: 'RUNNING' })]);
    expect(paused).toEqual([{ type: 'mode', worker: null, at: '2026-01-02T06:00:00.000Z', data: { mode: 'PAUSED', reason: 'deploy', updatedAt: '2026-01-02T06:00:00.000Z' } }]);
  });

  it('turns an incident write into an incident event: opened (OPEN), acknowledged (ACKNOWLEDGED), resolved (RESOLVED)', () => {
    const opened = applyDetection(undefined, {
      key: { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' },
      severity: 'CRITICAL',
      detail: 'games FAILED',
      observedAtMs: Date.parse('2026-01-02T06:00:25.000Z'),
      observationId: 'obs-1',
      source: 'report',
      impactedJob: 'creator_intel_worker.analyze',
      seenOn: { worker: 'creator_intel_worker', job: 'analyze', scheduledTime: null, executionId: null },
    }).incident;
    const keys = { pk: 'WORKER#youtube_worker', sk: 'INCIDENT#games#DEPENDENCY_FAILURE' };
    const item = (incident: Incident) => ({ entity: 'INCIDENT', incidentId: incident.id, state: incident.state, version: incident.version, incident });
    const acked = applyAcknowledgement(opened, 'alice', Date.parse('2026-01-02T06:05:00.000Z')).incident;
    const resolved = applyResolution(acked, { atMs: Date.parse('2026-01-02T06:30:00.000Z'), observationId: 'ok', what: 'games SUCCEEDED' }).incident;
    const events = eventsFromRecords([streamRecord('INSERT', keys, item(opened)), streamRecord('MODIFY', keys, item(acked), item(opened)), streamRecord('MODIFY', keys, item(resolved), item(acked))]);
    expect(events.map((e) => [e.type, e.worker, e.at, e.data['status'], e.data['incidentId']])).toEqual([
      ['incident', 'youtube_worker', '2026-01-02T06:00:25.000Z', 'OPEN', 'youtube_worker~games~DEPENDENCY_FAILURE~1'],
      ['incident', 'youtube_worker', '2026-01-02T06:05:00.000Z', 'ACKNOWLEDGED', 'youtube_worker~games~DEPENDENCY_FAILURE~1'],
      ['incident', 'youtube_worker', '2026-01-02T06:30:00.000Z', 'RESOLVED', 'youtube_worker~games~DEPENDENCY_FAILURE~1'],
    ]);
    expect(events[0]?.data).toMatchObject({ change: 'INSERT', anomaly: 'DEPENDENCY_FAILURE', severity: 'CRITICAL', job: 'games', detail: 'games FAILED', impactedJobs: ['creator_intel_worker.analyze'] });
    expect(events[1]?.data).toMatchObject({ acknowledgedBy: 'alice' });
    expect(readRecord(streamRecord('INSERT', keys, { incident: { id: 'x' } })).reading).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/malformed INCIDENT item/) });
    expect(readRecord(streamRecord('REMOVE', keys)).reading).toEqual({ kind: 'ignored' });
  });

  it('ignores what is not a report, alert, worker state or mode (window counters, removals)', () => {
    const ignored = [
      streamRecord('INSERT', { pk: 'WORKER#youtube_worker', sk: 'WINDOW#2026-01-02T06' }, { runs: 1 }),
      streamRecord('REMOVE', { pk: 'WORKER#youtube_worker', sk: 'REPORT#2026-01-02T06:00:00.000Z#trending' }),
      streamRecord('REMOVE', { pk: 'ALERT#a1b2', sk: 'ALERT' }),
      streamRecord('REMOVE', { pk: 'ORCH', sk: 'STATE' }),
      streamRecord('MODIFY', { pk: 'WORKER#youtube_worker', sk: 'REPORT#x' }, {}, {}),
    ];
    for (const r of ignored) expect(readRecord(r).reading, r.eventID).toEqual({ kind: 'ignored' });
    expect(eventsFromRecords(ignored)).toEqual([]);
  });

  it('reads malformed records as invalid, with a reason and the record identity, and gives no event', () => {
    const noImage = streamRecord('INSERT', { pk: 'WORKER#youtube_worker', sk: 'REPORT#2026-01-02T06:00:00.000Z#trending' });
    const badReport = reportInsert('youtube_worker', { completedAt: 'yesterday' });
    const wrongPk = reportInsert('youtube_worker', { workerName: 'twitch_worker' });
    const badAlert = alertWrite('INSERT', { alert: { id: 'x' } });
    const cases: [unknown, RegExp][] = [
      [noImage, /NewImage missing/],
      [badReport, /malformed REPORT item: completedAt/],
      [wrongPk, /pk WORKER#youtube_worker is not WORKER#twitch_worker/],
      [badAlert, /malformed ALERT item/],
      [{ eventName: 'INSERT' }, /malformed stream record/],
      [null, /malformed stream record/],
      ['not a record', /malformed stream record/],
    ];
    for (const [raw, reason] of cases) {
      const read = readRecord(raw);
      expect(read.reading.kind, String(reason)).toBe('invalid');
      if (read.reading.kind === 'invalid') expect(read.reading.reason).toMatch(reason);
    }
    expect(readRecord(badReport)).toMatchObject({ eventID: badReport.eventID, sequenceNumber: badReport.dynamodb.SequenceNumber });
    expect(eventsFromRecords(cases.map(([r]) => r))).toEqual([]);
  });
});
