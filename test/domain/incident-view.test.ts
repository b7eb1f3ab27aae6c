import { describe, expect, it } from 'vitest';
import { applyAcknowledgement, applyCover, applyDetection, applyMerge, applyRecovery, applyResolution, type Detection, type Incident } from '../../lib/domain/incident.js';
import { incidentStatus, incidentView } from '../../lib/domain/incident-view.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';

const at = (iso: string) => Date.parse(iso);

const failing: Detection = {
  key: { worker: 'youtube_worker', job: 'games', anomaly: 'DEPENDENCY_FAILURE' },
  severity: 'CRITICAL',
  detail: 'youtube_worker.games FAILED',
  observedAtMs: at('2026-03-02T04:00:10.000Z'),
  observationId: 'youtube_worker.games@2026-03-02T04:00:00.000Z#DEPENDENCY_FAILURE',
  source: 'report',
  impactedJob: 'creator_intel_worker.analyze',
  seenOn: { worker: 'creator_intel_worker', job: 'analyze', scheduledTime: '2026-03-02T04:00:00.000Z', executionId: 'arn:aws:states:eu-west-1:1:execution:p:e1' },
};

const opened = (): Incident => applyDetection(undefined, failing).incident;

describe('an incident as the page shows it', () => {
  it('open: its symptoms, who it blocked, how long it has lasted, and an Ack', () => {
    const seen = applyDetection(opened(), { ...failing, detail: 'youtube_worker.games FAILED again', observedAtMs: at('2026-03-02T04:30:10.000Z'), observationId: 'second' }).incident;
    const view = incidentView(seen, ALL_WORKERS, at('2026-03-02T05:00:10.000Z'));
    expect(view).toMatchObject({
      id: 'youtube_worker~games~DEPENDENCY_FAILURE~1',
      worker: 'youtube_worker',
      job: 'games',
      anomaly: 'DEPENDENCY_FAILURE',
      severity: 'CRITICAL',
      status: 'OPEN',
      state: 'OPEN',
      durationMs: 3600_000,
      symptoms: { detail: 'youtube_worker.games FAILED', lastDetail: 'youtube_worker.games FAILED again', count: 2, sources: ['report'], impactedJobs: ['creator_intel_worker.analyze'], seenOn: failing.seenOn },
      ackable: true,
      backfill: null,
    });
  });

  it('acknowledged: who and when, no Ack any more; recoveries listed', () => {
    const recovering = applyRecovery(opened(), { name: 'rcv-1', worker: 'creator_intel_worker', job: 'analyze', actions: ['RETRY_DEPENDENCY'], startedAt: '2026-03-02T04:00:20.000Z' });
    const acked = applyAcknowledgement(recovering, 'alice', at('2026-03-02T04:05:00.000Z')).incident;
    const view = incidentView(acked, ALL_WORKERS, at('2026-03-02T04:10:00.000Z'));
    expect(view).toMatchObject({ status: 'ACKNOWLEDGED', state: 'RECOVERING', acknowledgedBy: 'alice', acknowledgedAt: '2026-03-02T04:05:00.000Z', ackable: false });
    expect(view.recoveries).toEqual([{ name: 'rcv-1', on: 'creator_intel_worker.analyze', actions: ['RETRY_DEPENDENCY'], startedAt: '2026-03-02T04:00:20.000Z' }]);
  });

  it('resolved: what healed it and its duration up to the resolution, not up to now', () => {
    const out = applyResolution(opened(), { atMs: at('2026-03-02T04:30:10.000Z'), observationId: 'ok', what: 'youtube_worker.games run at 04:30 SUCCEEDED' });
    const view = incidentView(out.incident, ALL_WORKERS, at('2026-03-02T09:00:00.000Z'));
    expect(view).toMatchObject({ status: 'RESOLVED', resolvedAt: '2026-03-02T04:30:10.000Z', durationMs: 30 * 60_000, ackable: false });
    expect(view.resolution).toContain('youtube_worker.games run at 04:30 SUCCEEDED');
    expect(view).toMatchObject({ mergedInto: null, covers: [] });
  });

  it('a fold: the merged incident names the one it was folded into, which lists what it covers', () => {
    const root = opened();
    const rate = { ...root, id: 'youtube_worker~-~HIGH_FAILURE_RATE~1', key: { worker: 'youtube_worker', job: null, anomaly: 'HIGH_FAILURE_RATE' as const } };
    const merged = applyMerge(rate, root.id, at('2026-03-02T04:01:00.000Z'));
    expect(incidentView(merged, ALL_WORKERS, at('2026-03-02T05:00:00.000Z'))).toMatchObject({ status: 'RESOLVED', mergedInto: root.id, covers: [], resolution: expect.stringMatching(/^merged into/) });
    expect(incidentView(applyCover(root, merged), ALL_WORKERS, at('2026-03-02T05:00:00.000Z'))).toMatchObject({ status: 'OPEN', mergedInto: null, covers: [merged.id] });
  });

  it.each([
    [{ state: 'OPEN', acknowledgedAt: null }, 'OPEN'],
    [{ state: 'ESCALATED', acknowledgedAt: null }, 'OPEN'],
    [{ state: 'RECOVERING', acknowledgedAt: '2026-03-02T04:00:00.000Z' }, 'ACKNOWLEDGED'],
    [{ state: 'RESOLVED', acknowledgedAt: '2026-03-02T04:00:00.000Z' }, 'RESOLVED'],
    [{ state: 'RESOLVED', acknowledgedAt: null }, 'RESOLVED'],
  ] as const)('%j is %s', (incident, status) => {
    expect(incidentStatus(incident)).toBe(status);
  });
});
