/**
 * The backfill a missed-run incident offers: the job, the range `[from, to)` that holds the slots
 * nothing ran, and how many slots that is. The notification (text and webhook payload), the API's
 * incident view and the page's button all show this one offer. Pure.
 *
 * A missed-run incident is one the health sweep opened with a MISSED_RUN finding: its opening
 * observation is `health:MISSED_RUN#<job>#<slot>` (lambdas/anomaly/detector.ts) and its opening
 * detail names the job's last claimed slot (`... (last claimed <ISO or never>)`, health-sweep.ts
 * missedRuns). The missed slots are the schedule's slots after that claim, up to the latest slot the
 * incident saw missed. The offer is bounded as a backfill request is (BACKFILL_MAX_SLOTS,
 * BACKFILL_MAX_RANGE_DAYS): past the bound, it offers the latest slots. The backfill itself runs
 * only slots that still have no report, so taking an offer twice, or after a late run, is safe.
 */
import type { JobSpec, ScheduleSpec, WorkerSpec } from '../registry/types.js';
import { BACKFILL_MAX_RANGE_DAYS, BACKFILL_MAX_SLOTS, BackfillRangeError, slotsBetween } from './backfill.js';
import type { Incident } from './incident.js';

/** The observation id of a MISSED_RUN finding: `health:MISSED_RUN#<job>#<slot ISO>`. */
const MISSED_RUN_OBSERVATION = /^health:MISSED_RUN#([^#]+)#(.+)$/;
/** `(last claimed <ISO>)` in a MISSED_RUN finding's detail. */
const LAST_CLAIMED = /\(last claimed ([^)\s]+)\)/;
const DAY_MS = 24 * 3600 * 1000;

export interface BackfillOffer {
  readonly worker: string;
  readonly job: string;
  /** ISO-8601, inclusive: the first missed slot. */
  readonly from: string;
  /** ISO-8601, exclusive: just after the latest missed slot. */
  readonly to: string;
  /** Slots of the job's schedules in `[from, to)`. */
  readonly slots: number;
  /** The request that runs them (POST /workers/{id}/jobs/{job}/backfill). */
  readonly request: { readonly method: 'POST'; readonly path: string; readonly body: { readonly from: string; readonly to: string } };
}

/** The job and slot a MISSED_RUN observation id names, or null when it is another kind. */
export function missedRunObservation(observationId: string): { readonly job: string; readonly slotMs: number } | null {
  const m = MISSED_RUN_OBSERVATION.exec(observationId);
  if (!m) return null;
  const slotMs = Date.parse(m[2] as string);
  return Number.isNaN(slotMs) ? null : { job: m[1] as string, slotMs };
}

/** The last claimed slot a MISSED_RUN detail names (epoch ms); null for `never` or none. */
export function lastClaimedOf(detail: string): number | null {
  const m = LAST_CLAIMED.exec(detail);
  if (!m) return null;
  const ms = Date.parse(m[1] as string);
  return Number.isNaN(ms) ? null : ms;
}

/** The offer of `[fromMs, toMs)` on these schedules, bounded; null when the range holds no slot. */
export function boundedOffer(worker: string, job: string, schedules: readonly ScheduleSpec[], fromMs: number, toMs: number): BackfillOffer | null {
  let from = Math.max(fromMs, toMs - BACKFILL_MAX_RANGE_DAYS * DAY_MS);
  let slots: number[];
  try {
    slots = slotsBetween(schedules, from, toMs);
  } catch (e) {
    if (e instanceof BackfillRangeError) return null;
    throw e;
  }
  if (slots.length > BACKFILL_MAX_SLOTS) slots = slots.slice(-BACKFILL_MAX_SLOTS);
  const first = slots[0];
  if (first === undefined) return null;
  from = first;
  const body = { from: new Date(from).toISOString(), to: new Date(toMs).toISOString() };
  return { worker, job, ...body, slots: slots.length, request: { method: 'POST', path: `/workers/${worker}/jobs/${job}/backfill`, body } };
}

/** Finds a job of the registry; undefined for one it does not have. */
export type JobLookup = (workerId: string, jobId: string) => Pick<JobSpec, 'id' | 'schedules'> | undefined;

/** A JobLookup over these workers. */
export const jobLookup =
  (workers: readonly WorkerSpec[]): JobLookup =>
  (workerId, jobId) =>
    workers.find((w) => w.id === workerId)?.jobs.find((j) => j.id === jobId);

/**
 * The backfill a missed-run incident offers; null when the incident was not opened by a missed run,
 * or its job is unknown (or has no schedule).
 */
export function backfillOffer(incident: Pick<Incident, 'openedBy' | 'openedOn' | 'observations' | 'detail'>, jobOf: JobLookup): BackfillOffer | null {
  const opening = missedRunObservation(incident.openedBy);
  if (opening === null) return null;
  const { worker: workerId, job: jobId } = incident.openedOn;
  const job = opening.job === jobId ? jobOf(workerId, jobId) : undefined;
  if (!job || job.schedules.length === 0) return null;
  const missed = [opening.slotMs, ...incident.observations.map(missedRunObservation).filter((o) => o !== null && o.job === jobId).map((o) => (o as { slotMs: number }).slotMs)];
  const earliest = Math.min(...missed);
  const latest = Math.max(...missed);
  const claimed = lastClaimedOf(incident.detail);
  const fromMs = claimed !== null && claimed < earliest ? claimed + 1 : earliest;
  return boundedOffer(workerId, jobId, job.schedules, fromMs, latest + 1);
}

/** The offer as one line for people: `backfill 3 missed slot(s) of w.j: POST /workers/w/jobs/j/backfill {"from":...,"to":...}`. */
export function backfillOfferText(offer: BackfillOffer): string {
  return `${offer.slots} slot(s) of ${offer.worker}.${offer.job} from ${offer.from} to ${offer.to}: POST ${offer.request.path} ${JSON.stringify(offer.request.body)}`;
}
