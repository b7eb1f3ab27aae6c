/**
 * Backfill (catch-up): which slots of a job's schedules in a range were missed, within bounds, and
 * which slots a pause made the orchestrator miss. Pure: the API (lambdas/api/app.ts) reads the
 * reports and claims, this module decides.
 *
 * A slot is *missed* when nothing ran it: it has no report, or only SKIPPED reports (a pause, an
 * open circuit, a held lock, a failed dependency), and no backfill has claimed it. A FAILED or
 * CRASHED run is not missed: it ran, and its report says why it failed.
 */
import type { ScheduleSpec } from '../registry/types.js';
import type { RunStatus } from './score-report.js';
import { occurrences, ScheduleMathError } from './schedule-math.js';

/** Most slots one backfill request runs: a larger range is refused, with the count. */
export const BACKFILL_MAX_SLOTS = 48;
/** Widest range one request may name, in days (reports are kept 30 days by default). */
export const BACKFILL_MAX_RANGE_DAYS = 31;
const DAY_MS = 24 * 3600 * 1000;

/** The report id a backfilled run stores its report under (`REPORT#<slot>#<job>#backfill`). */
export const BACKFILL_RUN_ID = 'backfill';

export class BackfillRangeError extends Error {
  override readonly name = 'BackfillRangeError';
}

export interface BackfillRange {
  readonly fromMs: number;
  /** Exclusive; never after `nowMs` (a slot to come is not missed). */
  readonly toMs: number;
}

/**
 * Checks `[from, to)` against now: both ISO-8601 date-times, `from` before `to`, at most
 * BACKFILL_MAX_RANGE_DAYS wide, `from` in the past. `to` after now is cut to now.
 */
export function backfillRange(from: string, to: string, nowMs: number): BackfillRange {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  if (Number.isNaN(fromMs)) throw new BackfillRangeError(`from must be an ISO-8601 date-time, got "${from}"`);
  if (Number.isNaN(toMs)) throw new BackfillRangeError(`to must be an ISO-8601 date-time, got "${to}"`);
  if (!(fromMs < toMs)) throw new BackfillRangeError(`from must be before to, got from ${new Date(fromMs).toISOString()} and to ${new Date(toMs).toISOString()}`);
  if (toMs - fromMs > BACKFILL_MAX_RANGE_DAYS * DAY_MS) {
    throw new BackfillRangeError(`the range may span at most ${BACKFILL_MAX_RANGE_DAYS} days, got ${Math.ceil((toMs - fromMs) / DAY_MS)} days`);
  }
  if (fromMs >= nowMs) throw new BackfillRangeError(`from must be in the past, got ${new Date(fromMs).toISOString()} (now ${new Date(nowMs).toISOString()})`);
  return { fromMs, toMs: Math.min(toMs, nowMs) };
}

/** The slots (epoch ms, ascending, each once) the schedules fire within `[fromMs, toMs)`. */
export function slotsBetween(schedules: readonly ScheduleSpec[], fromMs: number, toMs: number): number[] {
  const all = new Set<number>();
  for (const s of schedules) {
    try {
      for (const t of occurrences(s.expression, s.timezone, fromMs, toMs)) all.add(t);
    } catch (e) {
      if (e instanceof ScheduleMathError) throw new BackfillRangeError(`${e.message}: narrow the range`);
      throw e;
    }
  }
  return [...all].sort((a, b) => a - b);
}

/** The `limit` latest slots before `beforeMs` (newest first), searched back at most `horizonMs`. */
export function latestSlots(schedules: readonly ScheduleSpec[], beforeMs: number, limit: number, horizonMs: number): number[] {
  for (let span = 3600 * 1000; ; span *= 4) {
    const from = beforeMs - Math.min(span, horizonMs);
    const slots = slotsBetween(schedules, from, beforeMs);
    if (slots.length >= limit || span >= horizonMs) return slots.reverse().slice(0, limit);
  }
}

/** What is known of one slot: its reports' statuses and whether a backfill claimed it. */
export interface SlotRecord {
  readonly statuses: readonly RunStatus[];
  readonly backfillClaimed: boolean;
}

/** A slot ran (or is being run) when a report other than SKIPPED exists or a backfill claimed it. */
export const slotRan = (record: SlotRecord | undefined): boolean => record !== undefined && (record.backfillClaimed || record.statuses.some((s) => s !== 'SKIPPED'));

export interface BackfillPlan {
  /** Slots to run, ascending (ISO). */
  readonly missed: readonly string[];
  /** Slots of the range that ran, or are claimed by an earlier backfill (ISO). */
  readonly alreadyRan: readonly string[];
  /** A slot claimed by a scheduled delivery and not yet reported: its run is in progress (ISO). */
  readonly inProgress: readonly string[];
}

/**
 * Sorts the range's slots into missed, already run and in progress. `claimedSlot` is the job's
 * latest slot claim (STATE `slot_<job>`): a slot equal to it without any report is a scheduled run
 * under way, not a missed one.
 */
export function planBackfill(slotsMs: readonly number[], records: ReadonlyMap<string, SlotRecord>, claimedSlot: string | null): BackfillPlan {
  const missed: string[] = [];
  const alreadyRan: string[] = [];
  const inProgress: string[] = [];
  for (const ms of slotsMs) {
    const slot = new Date(ms).toISOString();
    const record = records.get(slot);
    if (slotRan(record)) alreadyRan.push(slot);
    else if (record === undefined && claimedSlot === slot) inProgress.push(slot);
    else missed.push(slot);
  }
  return { missed, alreadyRan, inProgress };
}

/** The refusal of a backfill larger than BACKFILL_MAX_SLOTS, or null. */
export function backfillTooLarge(missed: number, workerId: string, jobId: string, max = BACKFILL_MAX_SLOTS): string | null {
  if (missed <= max) return null;
  return `the range holds ${missed} missed slots of ${workerId}.${jobId}; one backfill runs at most ${max}: narrow from/to`;
}

/** The child execution name of one backfilled slot: `backfill-<yyyymmddThhmmssZ>` (unique per pipeline). */
export function backfillExecutionName(slotIso: string): string {
  return `backfill-${slotIso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

export interface MissedWhilePaused {
  readonly worker: string;
  readonly job: string;
  /** Slots that fired while paused (ISO, ascending, at most `sampleLimit`). */
  readonly slots: readonly string[];
  readonly count: number;
  /** The request that runs them. */
  readonly backfill: { readonly method: 'POST'; readonly path: string; readonly body: { readonly from: string; readonly to: string } };
}

/**
 * The slots each scheduled job's schedules fired within `[pausedAtMs, resumedAtMs)`: what a pause
 * made the orchestrator skip, each with the backfill request that runs them.
 */
export function missedWhilePaused(
  jobs: readonly { readonly worker: string; readonly job: string; readonly schedules: readonly ScheduleSpec[] }[],
  pausedAtMs: number,
  resumedAtMs: number,
  sampleLimit = 10,
): MissedWhilePaused[] {
  if (!(resumedAtMs > pausedAtMs)) return [];
  const from = new Date(pausedAtMs).toISOString();
  const to = new Date(resumedAtMs).toISOString();
  const out: MissedWhilePaused[] = [];
  for (const j of jobs) {
    let slots: number[];
    try {
      slots = slotsBetween(j.schedules, pausedAtMs, resumedAtMs);
    } catch {
      continue;
    }
    if (slots.length === 0) continue;
    out.push({
      worker: j.worker,
      job: j.job,
      slots: slots.slice(0, sampleLimit).map((t) => new Date(t).toISOString()),
      count: slots.length,
      backfill: { method: 'POST', path: `/workers/${j.worker}/jobs/${j.job}/backfill`, body: { from, to } },
    });
  }
  return out;
}
