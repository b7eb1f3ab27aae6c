import { describe, expect, it } from 'vitest';
import {
  BACKFILL_MAX_SLOTS,
  backfillExecutionName,
  backfillRange,
  BackfillRangeError,
  backfillTooLarge,
  latestSlots,
  missedWhilePaused,
  planBackfill,
  slotsBetween,
  type SlotRecord,
} from '../../lib/domain/backfill.js';

const H = 3600_000;
const T0 = Date.parse('2026-03-02T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const HOURLY = { expression: 'cron(0 * * * ? *)', timezone: 'UTC' };
const HALF_PAST = { expression: 'cron(30 * * * ? *)', timezone: 'UTC' };

describe('backfillRange', () => {
  it('accepts a past range and cuts `to` at now', () => {
    expect(backfillRange(iso(T0), iso(T0 + 10 * H), T0 + 5 * H)).toEqual({ fromMs: T0, toMs: T0 + 5 * H });
  });
  it.each([
    ['nope', iso(T0), /from must be an ISO-8601 date-time, got "nope"/],
    [iso(T0), 'later', /to must be an ISO-8601 date-time, got "later"/],
    [iso(T0 + H), iso(T0), /from must be before to/],
    [iso(T0), iso(T0), /from must be before to/],
    [iso(T0), iso(T0 + 32 * 24 * H), /at most 31 days, got 32 days/],
    [iso(T0 + 50 * 24 * H), iso(T0 + 51 * 24 * H), /from must be in the past/],
  ])('refuses from %s to %s', (from, to, message) => {
    expect(() => backfillRange(from, to, T0 + 40 * 24 * H)).toThrow(BackfillRangeError);
    expect(() => backfillRange(from, to, T0 + 40 * 24 * H)).toThrow(message);
  });
});

describe('slotsBetween / latestSlots', () => {
  it('merges the schedules\' slots, ascending, each once, `to` exclusive', () => {
    expect(slotsBetween([HOURLY, HALF_PAST, HOURLY], T0, T0 + 2 * H).map(iso)).toEqual([iso(T0), iso(T0 + 0.5 * H), iso(T0 + H), iso(T0 + 1.5 * H)]);
  });
  it('follows the timezone', () => {
    // 06:00 in New York (EST, UTC-5) is 11:00 UTC.
    expect(slotsBetween([{ expression: 'cron(0 6 * * ? *)', timezone: 'America/New_York' }], T0, T0 + 24 * H).map(iso)).toEqual(['2026-03-02T11:00:00.000Z']);
  });
  it('the latest slots before a time, newest first, widening the search', () => {
    expect(latestSlots([{ expression: 'cron(0 6 * * ? *)', timezone: 'UTC' }], T0 + 3 * 24 * H, 2, 31 * 24 * H).map(iso)).toEqual(['2026-03-04T06:00:00.000Z', '2026-03-03T06:00:00.000Z']);
    expect(latestSlots([HOURLY], T0 + 5 * H + 1, 3, 31 * 24 * H).map(iso)).toEqual([iso(T0 + 5 * H), iso(T0 + 4 * H), iso(T0 + 3 * H)]);
  });
});

describe('planBackfill', () => {
  const slots = [T0, T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H];
  const records = new Map<string, SlotRecord>([
    [iso(T0), { statuses: ['SUCCEEDED'], backfillClaimed: false }],
    [iso(T0 + H), { statuses: ['SKIPPED'], backfillClaimed: false }], // paused: missed
    [iso(T0 + 2 * H), { statuses: ['FAILED'], backfillClaimed: false }], // ran and failed: not missed
    [iso(T0 + 3 * H), { statuses: [], backfillClaimed: true }], // claimed by an earlier backfill
  ]);
  it('missed = no report, or only skips, and no backfill claim; a claimed slot without a report is under way', () => {
    expect(planBackfill(slots, records, null)).toEqual({ missed: [iso(T0 + H), iso(T0 + 4 * H)], alreadyRan: [iso(T0), iso(T0 + 2 * H), iso(T0 + 3 * H)], inProgress: [] });
    expect(planBackfill(slots, records, iso(T0 + 4 * H))).toEqual({ missed: [iso(T0 + H)], alreadyRan: [iso(T0), iso(T0 + 2 * H), iso(T0 + 3 * H)], inProgress: [iso(T0 + 4 * H)] });
  });
});

describe('bounds and names', () => {
  it('refuses more than the maximum, saying how many and the maximum', () => {
    expect(backfillTooLarge(BACKFILL_MAX_SLOTS, 'w', 'j')).toBeNull();
    expect(backfillTooLarge(BACKFILL_MAX_SLOTS + 1, 'w', 'j')).toBe(`the range holds ${BACKFILL_MAX_SLOTS + 1} missed slots of w.j; one backfill runs at most ${BACKFILL_MAX_SLOTS}: narrow from/to`);
  });
  it('one child execution name per slot, valid for Step Functions', () => {
    expect(backfillExecutionName('2026-03-02T05:00:00.000Z')).toBe('backfill-20260302T050000Z');
    expect(backfillExecutionName('2026-03-02T05:00:00.000Z')).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('missedWhilePaused', () => {
  it('lists each scheduled job\'s slots during the pause with the request that backfills them', () => {
    const out = missedWhilePaused([{ worker: 'w', job: 'j', schedules: [HOURLY] }, { worker: 'x', job: 'daily', schedules: [{ expression: 'cron(0 6 * * ? *)', timezone: 'UTC' }] }], T0 + 0.5 * H, T0 + 3.5 * H);
    expect(out).toEqual([
      { worker: 'w', job: 'j', slots: [iso(T0 + H), iso(T0 + 2 * H), iso(T0 + 3 * H)], count: 3, backfill: { method: 'POST', path: '/workers/w/jobs/j/backfill', body: { from: iso(T0 + 0.5 * H), to: iso(T0 + 3.5 * H) } } },
    ]);
    expect(missedWhilePaused([{ worker: 'w', job: 'j', schedules: [HOURLY] }], T0 + H, T0)).toEqual([]);
  });
});
