import { describe, expect, it } from 'vitest';
import { backfillOffer as offerOn, backfillOfferText, boundedOffer, jobLookup, lastClaimedOf, missedRunObservation } from '../../lib/domain/backfill-offer.js';
import { BACKFILL_MAX_SLOTS } from '../../lib/domain/backfill.js';
import { missedRuns, type HealthFinding, type SweepFacts } from '../../lib/domain/health-sweep.js';
import { applyDetection, type Detection, type Incident } from '../../lib/domain/incident.js';
import { slotAttr } from '../../lib/domain/lock.js';
import { parseWorkerState } from '../../lib/domain/worker-state.js';
import { ALL_WORKERS, workerById } from '../../lib/registry/index.js';
import type { WorkerSpec } from '../../lib/registry/types.js';

const backfillOffer = (incident: Incident, workers: readonly WorkerSpec[]) => offerOn(incident, jobLookup(workers));

const at = (iso: string) => Date.parse(iso);
const cleanup = workerById('coach_cleanup_worker');
const H = 3600_000;

/** What the sweep finds for coach_cleanup_worker.cleanup (hourly at :00) at `nowIso`, its last claim being `claimed`. */
function finding(nowIso: string, claimed: string | null): HealthFinding {
  const facts: SweepFacts = { nowMs: at(nowIso), workers: [cleanup], states: { coach_cleanup_worker: parseWorkerState(claimed === null ? {} : { [slotAttr('cleanup')]: claimed }) }, latestReports: {}, queueDepths: {}, running: [] };
  const [f] = missedRuns(facts);
  if (!f) throw new Error('no missed run found');
  return f;
}

/** A detection of a finding as the anomaly Lambda makes it (observation id: `health:<kind>#<job>#<window>`). */
const detection = (f: HealthFinding): Detection => ({
  key: { worker: f.worker, job: f.job, anomaly: f.anomaly },
  severity: f.severity,
  detail: f.detail,
  observedAtMs: at(f.window) + 15 * 60_000,
  observationId: `health:${f.kind}#${f.job ?? '-'}#${f.window}`,
  source: 'health',
  impactedJob: null,
  seenOn: { worker: f.worker, job: f.job ?? '-', scheduledTime: f.scheduledTime ?? null, executionId: null },
});

function incidentOf(...findings: HealthFinding[]): Incident {
  let incident: Incident | undefined;
  for (const f of findings) incident = applyDetection(incident, detection(f)).incident;
  if (!incident) throw new Error('no incident');
  return incident;
}

describe('the backfill a missed-run incident offers', () => {
  it('after an outage from 04:00 (last claim) to 07:30: the 3 slots 05:00, 06:00, 07:00, from the sweep\'s own finding', () => {
    const incident = incidentOf(finding('2026-03-02T07:30:00.000Z', '2026-03-02T04:00:00.000Z'));
    const offer = backfillOffer(incident, ALL_WORKERS);
    expect(offer).toEqual({
      worker: 'coach_cleanup_worker',
      job: 'cleanup',
      from: '2026-03-02T05:00:00.000Z',
      to: '2026-03-02T07:00:00.001Z',
      slots: 3,
      request: { method: 'POST', path: '/workers/coach_cleanup_worker/jobs/cleanup/backfill', body: { from: '2026-03-02T05:00:00.000Z', to: '2026-03-02T07:00:00.001Z' } },
    });
    if (offer === null) throw new Error('no offer');
    expect(backfillOfferText(offer)).toBe('3 slot(s) of coach_cleanup_worker.cleanup from 2026-03-02T05:00:00.000Z to 2026-03-02T07:00:00.001Z: POST /workers/coach_cleanup_worker/jobs/cleanup/backfill {"from":"2026-03-02T05:00:00.000Z","to":"2026-03-02T07:00:00.001Z"}');
  });

  it('grows with the slots the incident goes on missing (its later sightings)', () => {
    const incident = incidentOf(finding('2026-03-02T05:30:00.000Z', '2026-03-02T04:00:00.000Z'), finding('2026-03-02T08:30:00.000Z', '2026-03-02T04:00:00.000Z'));
    expect(backfillOffer(incident, ALL_WORKERS)).toMatchObject({ from: '2026-03-02T05:00:00.000Z', to: '2026-03-02T08:00:00.001Z', slots: 4 });
  });

  it('a job never claimed: the slots the incident saw missed', () => {
    const incident = incidentOf(finding('2026-03-02T05:30:00.000Z', null));
    expect(backfillOffer(incident, ALL_WORKERS)).toMatchObject({ from: '2026-03-02T05:00:00.000Z', to: '2026-03-02T05:00:00.001Z', slots: 1 });
  });

  it('a long outage is bounded: the latest BACKFILL_MAX_SLOTS slots', () => {
    const incident = incidentOf(finding('2026-03-05T00:30:00.000Z', '2026-03-02T00:00:00.000Z'));
    const offer = backfillOffer(incident, ALL_WORKERS);
    expect(offer?.slots).toBe(BACKFILL_MAX_SLOTS);
    expect(offer?.to).toBe('2026-03-05T00:00:00.001Z');
    expect(offer?.from).toBe(new Date(at('2026-03-05T00:00:00.000Z') - (BACKFILL_MAX_SLOTS - 1) * H).toISOString());
  });

  it('no offer for an incident another finding opened, nor for a job the registry does not have', () => {
    const missed = finding('2026-03-02T07:30:00.000Z', '2026-03-02T04:00:00.000Z');
    const stuck = incidentOf({ ...missed, kind: 'STUCK_EXECUTION' });
    expect(backfillOffer(stuck, ALL_WORKERS)).toBeNull();
    expect(backfillOffer(incidentOf(missed), ALL_WORKERS.filter((w) => w.id !== 'coach_cleanup_worker'))).toBeNull();
  });

  it.each([
    ['health:MISSED_RUN#cleanup#2026-03-02T07:00:00.000Z', { job: 'cleanup', slotMs: at('2026-03-02T07:00:00.000Z') }],
    ['health:STUCK_EXECUTION#cleanup#2026-03-02T07:00:00.000Z', null],
    ['coach_cleanup_worker.cleanup@2026-03-02T07:00:00.000Z#WORKER_CRASH', null],
    ['health:MISSED_RUN#cleanup#not-a-date', null],
  ] as const)('observation %s -> %j', (id, expected) => {
    expect(missedRunObservation(id)).toEqual(expected);
  });

  it.each([
    ['x: no run for the 2026-03-02T07:00:00.000Z slot (last claimed 2026-03-02T04:00:00.000Z)', at('2026-03-02T04:00:00.000Z')],
    ['x: no run for the 2026-03-02T07:00:00.000Z slot (last claimed never)', null],
    ['something else', null],
  ] as const)('last claim of "%s"', (detail, expected) => {
    expect(lastClaimedOf(detail)).toBe(expected);
  });

  it('a range without a slot offers nothing', () => {
    expect(boundedOffer('coach_cleanup_worker', 'cleanup', cleanup.jobs[0]?.schedules ?? [], at('2026-03-02T04:00:00.001Z'), at('2026-03-02T04:59:00.000Z'))).toBeNull();
  });
});
