import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countOccurrences, cronerOptions, lastOccurrence, occurrences, ScheduleMathError, toCronerPattern } from '../../lib/domain/schedule-math.js';
import { scheduledTriggers } from '../../lib/registry/index.js';

const T = (iso: string): number => Date.parse(iso);
const isoList = (times: number[]): string[] => times.map((t) => new Date(t).toISOString());
const weekday = (t: number): string => ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][new Date(t).getUTCDay()] ?? '?';

// 2026-01-01 is a Thursday.
const JAN = { from: T('2026-01-01T00:00:00Z'), to: T('2026-02-01T00:00:00Z') };
const DAY = { from: T('2026-01-01T00:00:00Z'), to: T('2026-01-02T00:00:00Z') };

describe('occurrences: AWS cron day-of-week is 1-7 = SUN-SAT', () => {
  it.each<[string, string]>([
    ['cron(0 12 ? * 1 *)', 'SUN'],
    ['cron(0 12 ? * 2 *)', 'MON'],
    ['cron(0 12 ? * 3 *)', 'TUE'],
    ['cron(0 12 ? * 4 *)', 'WED'],
    ['cron(0 12 ? * 5 *)', 'THU'],
    ['cron(0 12 ? * 6 *)', 'FRI'],
    ['cron(0 12 ? * 7 *)', 'SAT'],
    ['cron(0 12 ? * MON *)', 'MON'],
    ['cron(0 12 ? * sun *)', 'SUN'],
  ])('%s fires only on %s, at 12:00 UTC', (expression, day) => {
    // Act
    const times = occurrences(expression, 'UTC', JAN.from, JAN.to);
    // Assess
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect(new Set(times.map(weekday))).toEqual(new Set([day]));
    expect(times.every((t) => new Date(t).getUTCHours() === 12 && new Date(t).getUTCMinutes() === 0)).toBe(true);
  });

  it('cron(0 12 ? * 2 *) fires on the Mondays of January 2026', () => {
    expect(isoList(occurrences('cron(0 12 ? * 2 *)', 'UTC', JAN.from, JAN.to))).toEqual([
      '2026-01-05T12:00:00.000Z',
      '2026-01-12T12:00:00.000Z',
      '2026-01-19T12:00:00.000Z',
      '2026-01-26T12:00:00.000Z',
    ]);
  });

  it.each<[string, string[]]>([
    ['cron(0 8 ? * MON-FRI *)', ['MON', 'TUE', 'WED', 'THU', 'FRI']],
    ['cron(0 8 ? * 2-6 *)', ['MON', 'TUE', 'WED', 'THU', 'FRI']],
    ['cron(0 8 ? * 1,7 *)', ['SUN', 'SAT']],
  ])('%s: ranges and lists of weekdays', (expression, days) => {
    expect(new Set(occurrences(expression, 'UTC', JAN.from, JAN.to).map(weekday))).toEqual(new Set(days));
  });

  it.each<[string, string[]]>([
    ['cron(15 10 ? * 6L *)', ['2026-01-30T10:15:00.000Z']], // last Friday
    ['cron(0 10 ? * 6#3 *)', ['2026-01-16T10:00:00.000Z']], // third Friday
    ['cron(0 10 ? * L *)', ['2026-01-03T10:00:00.000Z', '2026-01-10T10:00:00.000Z', '2026-01-17T10:00:00.000Z', '2026-01-24T10:00:00.000Z', '2026-01-31T10:00:00.000Z']], // L alone: Saturday
    ['cron(0 0 L * ? *)', ['2026-01-31T00:00:00.000Z']], // last day of month
    ['cron(0 0 LW * ? *)', ['2026-01-30T00:00:00.000Z']], // last weekday (31st is a Saturday)
    ['cron(0 0 17W * ? *)', ['2026-01-16T00:00:00.000Z']], // the 17th is a Saturday -> Friday 16th
    ['cron(0 9 1 JAN,JUL ? *)', ['2026-01-01T09:00:00.000Z']],
  ])('%s: calendar modifiers', (expression, expected) => {
    expect(isoList(occurrences(expression, 'UTC', JAN.from, JAN.to))).toEqual(expected);
  });
});

describe('occurrences: counts over a day', () => {
  it.each<[string, number]>([
    ['cron(0/5 * * * ? *)', 288],
    ['cron(*/15 * * * ? *)', 96],
    ['cron(0/30 * * * ? *)', 48],
    ['cron(5 * * * ? *)', 24],
    ['cron(0 * * * ? *)', 24],
    ['cron(0 0/4 * * ? *)', 6],
    ['cron(15 0 * * ? *)', 1],
    ['cron(10-50/10 * * * ? *)', 5 * 24],
    ['cron(0 12 * * ? 2027)', 0],
    ['rate(5 minutes)', 288],
    ['rate(1 hour)', 24],
    ['rate(1 day)', 1],
  ])('%s fires %i times on 2026-01-01 UTC', (expression, count) => {
    expect(occurrences(expression, 'UTC', DAY.from, DAY.to)).toHaveLength(count);
  });

  it('is half-open: [from, to)', () => {
    const times = occurrences('cron(0 * * * ? *)', 'UTC', T('2026-01-01T01:00:00Z'), T('2026-01-01T03:00:00Z'));
    expect(isoList(times)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
  });

  it('honours the timezone (and its DST change)', () => {
    // 10:00 in Berlin is 09:00 UTC in winter, 08:00 UTC after 2026-03-29.
    const times = occurrences('cron(0 10 * * ? *)', 'Europe/Berlin', T('2026-03-28T00:00:00Z'), T('2026-03-31T00:00:00Z'));
    expect(isoList(times)).toEqual(['2026-03-28T09:00:00.000Z', '2026-03-29T08:00:00.000Z', '2026-03-30T08:00:00.000Z']);
  });

  it('reads at(...) as local time in the timezone, once', () => {
    expect(isoList(occurrences('at(2026-05-01T10:00:00)', 'America/New_York', T('2026-01-01T00:00:00Z'), T('2027-01-01T00:00:00Z')))).toEqual(['2026-05-01T14:00:00.000Z']);
    expect(occurrences('at(2026-05-01T10:00:00)', 'UTC', T('2026-06-01T00:00:00Z'), T('2027-01-01T00:00:00Z'))).toEqual([]);
  });

  it('anchors rate(...) at the Unix epoch', () => {
    expect(isoList(occurrences('rate(2 hours)', 'UTC', T('2026-01-01T01:00:00Z'), T('2026-01-01T05:00:00Z')))).toEqual(['2026-01-01T02:00:00.000Z', '2026-01-01T04:00:00.000Z']);
  });

  it('returns nothing for an empty or inverted range', () => {
    expect(occurrences('cron(0/5 * * * ? *)', 'UTC', DAY.to, DAY.from)).toEqual([]);
    expect(occurrences('cron(0/5 * * * ? *)', 'UTC', DAY.from, DAY.from)).toEqual([]);
  });

  it('counts every registry schedule over a day without error', () => {
    const total = countOccurrences(scheduledTriggers().map((t) => t.schedule), DAY.from, DAY.to);
    expect(total).toBeGreaterThan(288);
  });
});

describe('occurrences: errors', () => {
  it.each<[string, string, RegExp]>([
    ['cron(0 12 * * *)', 'UTC', /malformed/],
    ['every day', 'UTC', /malformed/],
    ['cron(0 12 * * ? *)', 'Mars/Olympus', /unknown timezone, got "Mars\/Olympus"/],
  ])('%s in %s throws', (expression, timezone, message) => {
    expect(() => occurrences(expression, timezone, DAY.from, DAY.to)).toThrow(ScheduleMathError);
    expect(() => occurrences(expression, timezone, DAY.from, DAY.to)).toThrow(message);
  });

  it('refuses to enumerate an absurd range', () => {
    expect(() => occurrences('cron(* * * * ? *)', 'UTC', T('2026-01-01T00:00:00Z'), T('2026-01-08T00:00:00Z'))).toThrow(/more than 10000/);
  });
});

describe('toCronerPattern', () => {
  it.each<[readonly [string, string, string, string, string, string], string]>([
    [['0', '12', '?', '*', '2', '*'], '0 0 12 * * 2 *'],
    [['0/5', '*', '*', '*', '?', '*'], '0 0/5 * * * * *'],
    [['15', '10', '?', '*', '6L', '2026-2030'], '0 15 10 * * 6#L 2026-2030'],
    [['0', '10', '?', '*', 'L', '*'], '0 0 10 * * 7 *'],
  ])('%j -> %s', (fields, pattern) => {
    expect(toCronerPattern(fields)).toBe(pattern);
  });
});

describe('occurrences: properties', () => {
  it('every occurrence of an every-N-minutes cron is in range, ascending and N minutes apart', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 5, 10, 15, 20, 30), fc.integer({ min: 0, max: 10 * 24 * 60 }), fc.integer({ min: 1, max: 3 * 60 }), (step, startMin, lengthMin) => {
        const from = DAY.from + startMin * 60_000 + 17_000;
        const to = from + lengthMin * 60_000;
        const times = occurrences(`cron(0/${step} * * * ? *)`, 'UTC', from, to);
        expect(times.every((t) => t >= from && t < to)).toBe(true);
        times.slice(1).forEach((t, i) => expect(t - (times[i] as number)).toBe(step * 60_000));
        // Count: the multiples of the step in the range, to within one at each end.
        expect(Math.abs(times.length - lengthMin / step)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 30 },
    );
  });
});

describe('occurrences: the per-day cache gives exactly a plain walk of the range', () => {
  /** The reference: croner walked from `from` to `to` with no cache (nextRun is strictly after its argument). */
  const walk = (expression: string, timezone: string, from: number, to: number): number[] => {
    const body = /^cron\((.*)\)$/.exec(expression)?.[1] ?? '';
    const cron = new Cron(toCronerPattern(body.split(' ') as [string, string, string, string, string, string]), cronerOptions(timezone));
    const out: number[] = [];
    for (let next = cron.nextRun(new Date(from - 1)); next !== null && next.getTime() < to; next = cron.nextRun(next)) out.push(next.getTime());
    return out;
  };
  const crons = [
    ...new Set(scheduledTriggers().flatMap((t) => t.job.schedules.filter((s) => s.expression.startsWith('cron(')).map((s) => `${s.expression}|${s.timezone}`))),
    'cron(30 2 * * ? *)|America/New_York',
    'cron(0 9 ? * 6L *)|Europe/Berlin',
    'cron(0/20 * * * ? *)|Asia/Kolkata',
    'cron(45 23 L * ? *)|Pacific/Auckland',
  ];

  it('over random ranges, asked repeatedly and overlapping (so later answers come from the cache)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...crons),
        fc.integer({ min: T('2026-03-01T00:00:00Z'), max: T('2026-11-05T00:00:00Z') }),
        fc.integer({ min: 1, max: 3 * 24 * 3600_000 }),
        fc.integer({ min: -3 * 3600_000, max: 3 * 3600_000 }),
        (entry, from, span, shift) => {
          const [expression = '', timezone = 'UTC'] = entry.split('|');
          expect(occurrences(expression, timezone, from, from + span)).toEqual(walk(expression, timezone, from, from + span));
          expect(occurrences(expression, timezone, from + shift, from + span + shift)).toEqual(walk(expression, timezone, from + shift, from + span + shift));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('lastOccurrence: the last of occurrences(), without enumerating', () => {
  const expressions = [
    ...new Set(scheduledTriggers().flatMap((t) => t.job.schedules.map((s) => `${s.expression}|${s.timezone}`))),
    'cron(0 12 ? * 2 *)|UTC',
    'cron(30 2 * * ? *)|America/New_York', // 02:30 does not exist on the spring-forward day
    'cron(0 9 ? * 6L *)|Europe/Berlin',
    'cron(0/20 * * * ? *)|Asia/Kolkata',
    'rate(7 minutes)|UTC',
    'at(2026-03-08T02:30:00)|America/New_York',
  ];

  it('agrees with occurrences() on every registry schedule and tricky ones, over random ranges across DST changes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...expressions),
        fc.integer({ min: T('2026-03-01T00:00:00Z'), max: T('2026-11-05T00:00:00Z') }),
        fc.integer({ min: 1, max: 10 * 24 * 3600_000 }),
        (entry, from, span) => {
          const [expression = '', timezone = 'UTC'] = entry.split('|');
          const all = occurrences(expression, timezone, from, from + span);
          expect(lastOccurrence(expression, timezone, from, from + span)).toBe(all[all.length - 1] ?? null);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is half-open and null for an empty range', () => {
    expect(lastOccurrence('cron(0/5 * * * ? *)', 'UTC', T('2026-01-01T00:00:00Z'), T('2026-01-01T00:10:00Z'))).toBe(T('2026-01-01T00:05:00Z'));
    expect(lastOccurrence('cron(0/5 * * * ? *)', 'UTC', T('2026-01-01T00:01:00Z'), T('2026-01-01T00:05:00Z'))).toBeNull();
    expect(lastOccurrence('rate(5 minutes)', 'UTC', T('2026-01-01T00:10:00Z'), T('2026-01-01T00:10:00Z'))).toBeNull();
  });

  it('rejects what occurrences() rejects', () => {
    expect(() => lastOccurrence('cron(bad)', 'UTC', 0, 1)).toThrow(ScheduleMathError);
    expect(() => lastOccurrence('rate(5 minutes)', 'Mars/Olympus', 0, 1)).toThrow(/Mars\/Olympus/);
  });
});
