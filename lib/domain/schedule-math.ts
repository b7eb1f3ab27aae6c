/**
 * When EventBridge Scheduler expressions fire: the occurrences of `cron(...)`, `rate(...)` and
 * `at(...)` in a time range, for counting the slots a schedule should have produced (the coverage
 * gate). Pure: no clock, no I/O.
 *
 * AWS cron has six fields (minutes hours day-of-month month day-of-week year), `?` in exactly one
 * of day-of-month and day-of-week, and day-of-week 1-7 = SUN-SAT. croner reads the same thing as a
 * 7-part pattern with a leading seconds field and these options:
 * - `alternativeWeekdays`: Quartz numbering, 1 = Sunday ... 7 = Saturday (AWS's).
 * - `domAndDow`: AND of the two day fields. AWS always leaves one of them `?`, which becomes `*`,
 *   so AND means "the other field alone" (with croner's default OR, `* ... MON` would be every day).
 * - `sloppyRanges`: AWS steps from a start value (`0/30`), which croner rejects by default.
 * AWS's `nL` (last weekday n of the month) is croner's `n#L`; a lone `L` in day-of-week is Saturday.
 *
 * `rate(...)` has no anchor in its expression (AWS starts it when the schedule is created), so its
 * occurrences here are the multiples of the period since the Unix epoch: the count over a range is
 * right to within one.
 */
import { Cron, type CronOptions } from 'croner';
import { isValidTimezone, parseScheduleExpression } from '../registry/schedule-expression.js';

const MINUTE_MS = 60_000;
const RATE_UNIT_MS = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 24 * 60 * MINUTE_MS } as const;

/** Guard against enumerating an absurd range (a day of an every-minute cron is 1440). */
export const MAX_OCCURRENCES = 10_000;

export class ScheduleMathError extends Error {
  override readonly name = 'ScheduleMathError';
}

/** The croner pattern and options equivalent to an AWS six-field cron body. */
export function toCronerPattern(fields: readonly [string, string, string, string, string, string]): string {
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  const wild = (f: string): string => (f === '?' ? '*' : f);
  const dow = wild(dayOfWeek)
    .split(',')
    .map((part) => {
      if (part.toUpperCase() === 'L') return '7';
      const last = /^([1-7])L$/i.exec(part);
      return last ? `${last[1]}#L` : part;
    })
    .join(',');
  return ['0', minutes, hours, wild(dayOfMonth), month, dow, year].join(' ');
}

/** croner's reading of an AWS cron in `timezone` (see the module docs). */
export const cronerOptions = (timezone: string): CronOptions => ({
  timezone,
  mode: '7-part',
  alternativeWeekdays: true,
  domAndDow: true,
  sloppyRanges: true,
  paused: true,
});

function guardCount(count: number, expression: string): void {
  if (count > MAX_OCCURRENCES) throw new ScheduleMathError(`schedule "${expression}" fires more than ${MAX_OCCURRENCES} times in the range`);
}

/** The parsed expression; ScheduleMathError for a malformed expression or an unknown timezone. */
function parsedSchedule(expression: string, timezone: string) {
  const parsed = parseScheduleExpression(expression);
  if (!parsed.ok) throw new ScheduleMathError(`schedule "${expression}" is malformed: ${parsed.reason}`);
  if (!isValidTimezone(timezone)) throw new ScheduleMathError(`schedule "${expression}" has an unknown timezone, got "${timezone}"`);
  return parsed.schedule;
}

/**
 * The occurrences of a cron expression, cached per UTC day: the health sweep asks for the same
 * two days of slots of every dependency every 15 minutes, and the symphony and the backfill ask
 * again for ranges they share. A range is the union of its days' occurrences, filtered to the range,
 * so the answer is exactly the enumeration's. The cache is bounded (least recently added out first).
 */
const DAY_MS = 24 * 60 * MINUTE_MS;
export const CRON_DAY_CACHE_ENTRIES = 4096;
/** `lastOccurrence` scans cached days for ranges up to this long, and asks croner beyond. */
const LAST_OCCURRENCE_SCAN_DAYS = 8;
const cronDays = new Map<string, readonly number[]>();

function cronDay(pattern: string, timezone: string, dayStartMs: number): readonly number[] {
  const key = `${timezone}|${pattern}|${dayStartMs}`;
  const hit = cronDays.get(key);
  if (hit !== undefined) return hit;
  const cron = new Cron(pattern, cronerOptions(timezone));
  const end = dayStartMs + DAY_MS;
  const times: number[] = [];
  // nextRun is strictly after its argument; croner works in whole seconds.
  let next = cron.nextRun(new Date(dayStartMs - 1));
  while (next !== null && next.getTime() < end) {
    times.push(next.getTime());
    next = cron.nextRun(next);
  }
  cron.stop();
  if (cronDays.size >= CRON_DAY_CACHE_ENTRIES) {
    const oldest = cronDays.keys().next();
    if (oldest.done !== true) cronDays.delete(oldest.value);
  }
  cronDays.set(key, times);
  return times;
}

/**
 * The times (epoch ms, ascending) at which `expression` fires in `timezone` within
 * `[fromMs, toMs)`. Throws ScheduleMathError for a malformed expression or an unknown timezone.
 */
export function occurrences(expression: string, timezone: string, fromMs: number, toMs: number): number[] {
  const schedule = parsedSchedule(expression, timezone);
  if (!(toMs > fromMs)) return [];
  switch (schedule.kind) {
    case 'rate': {
      const periodMs = schedule.value * RATE_UNIT_MS[schedule.unit];
      const first = Math.ceil(fromMs / periodMs) * periodMs;
      guardCount(Math.ceil((toMs - first) / periodMs), expression);
      const times: number[] = [];
      for (let t = first; t < toMs; t += periodMs) times.push(t);
      return times;
    }
    case 'at': {
      const cron = new Cron(schedule.at, { timezone, paused: true });
      const at = cron.nextRun(new Date(fromMs - 1));
      cron.stop();
      return at !== null && at.getTime() < toMs ? [at.getTime()] : [];
    }
    case 'cron': {
      const pattern = toCronerPattern(schedule.fields);
      const times: number[] = [];
      for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < toMs; day += DAY_MS) {
        for (const t of cronDay(pattern, timezone, day)) {
          if (t >= fromMs && t < toMs) times.push(t);
        }
        guardCount(times.length, expression);
      }
      return times;
    }
  }
}

/**
 * The latest time (epoch ms) at which `expression` fires in `timezone` within `[fromMs, toMs)`, or
 * null: the last element of `occurrences(...)`, found from the newest cached day backwards.
 */
export function lastOccurrence(expression: string, timezone: string, fromMs: number, toMs: number): number | null {
  const schedule = parsedSchedule(expression, timezone);
  if (!(toMs > fromMs)) return null;
  let last: number | null;
  switch (schedule.kind) {
    case 'rate': {
      const periodMs = schedule.value * RATE_UNIT_MS[schedule.unit];
      last = Math.floor((toMs - 1) / periodMs) * periodMs;
      break;
    }
    case 'at':
      last = occurrences(expression, timezone, fromMs, toMs)[0] ?? null;
      break;
    case 'cron': {
      const pattern = toCronerPattern(schedule.fields);
      if (toMs - fromMs > LAST_OCCURRENCE_SCAN_DAYS * DAY_MS) {
        // A long range of a rare schedule: croner searches backwards from `toMs` (strictly before).
        const cron = new Cron(pattern, cronerOptions(timezone));
        last = cron.previousRuns(1, new Date(toMs))[0]?.getTime() ?? null;
        cron.stop();
        break;
      }
      // The cached days, newest first, down to the range's first day.
      last = null;
      for (let day = Math.floor((toMs - 1) / DAY_MS) * DAY_MS; day + DAY_MS > fromMs && last === null; day -= DAY_MS) {
        const times = cronDay(pattern, timezone, day);
        for (let i = times.length - 1; i >= 0; i--) {
          const t = times[i] as number;
          if (t < toMs) {
            last = t;
            break;
          }
        }
      }
      break;
    }
  }
  return last !== null && last >= fromMs ? last : null;
}

/** How many times the schedules fire within `[fromMs, toMs)`. */
export function countOccurrences(schedules: readonly { readonly expression: string; readonly timezone: string }[], fromMs: number, toMs: number): number {
  return schedules.reduce((n, s) => n + occurrences(s.expression, s.timezone, fromMs, toMs).length, 0);
}
