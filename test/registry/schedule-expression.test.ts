import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidTimezone, parseScheduleExpression, type ParsedSchedule } from '../../lib/registry/schedule-expression.js';

describe('parseScheduleExpression: valid expressions', () => {
  it.each([
    // [expression, what it exercises]
    ['cron(0 12 * * ? *)', 'plain cron, ? in day-of-week'],
    ['cron(0 0 1 * ? *)', '? in day-of-week, day-of-month set'],
    ['cron(15 10 ? * 6L 2026-2030)', '? in day-of-month, last Friday, year range'],
    ['cron(0 8 ? * MON-FRI *)', 'day names as a range'],
    ['cron(0 8 ? * mon-fri *)', 'day names are case-insensitive'],
    ['cron(0 9 1 JAN,JUL ? *)', 'month names as a list'],
    ['cron(0 9 1 JAN-MAR ? *)', 'month names as a range'],
    ['cron(0/5 * * * ? *)', 'step from a start value'],
    ['cron(*/15 * * * ? *)', 'step from *'],
    ['cron(10-50/10 * * * ? *)', 'step over a range'],
    ['cron(0,15,30,45 * * * ? *)', 'list of minutes'],
    ['cron(0 0-6,18-23 * * ? *)', 'list of hour ranges'],
    ['cron(0 0 L * ? *)', 'L: last day of month'],
    ['cron(0 0 LW * ? *)', 'LW: last weekday of month'],
    ['cron(0 0 15W * ? *)', 'W: weekday nearest the 15th'],
    ['cron(0 10 ? * 6#3 *)', '#: third Friday'],
    ['cron(0 10 ? * L *)', 'L in day-of-week'],
    ['cron(59 23 31 12 ? 2199)', 'upper bounds of every field'],
    ['cron(0 0 1 1 ? 1970)', 'lower bounds of every field'],
    ['cron(0 0 ? * 1-7 *)', 'day-of-week 1-7'],
    ['  cron( 0  12  *  *  ?  * )  ', 'surrounding and repeated whitespace'],
  ])('accepts %s (%s)', (expression) => {
    // Act
    const result = parseScheduleExpression(expression);
    // Assess
    expect(result).toMatchObject({ ok: true, schedule: { kind: 'cron' } });
  });

  it('returns the six cron fields', () => {
    expect(parseScheduleExpression('cron(0/5 * ? * MON-FRI *)')).toEqual({ ok: true, schedule: { kind: 'cron', fields: ['0/5', '*', '?', '*', 'MON-FRI', '*'] } });
  });

  it.each<[string, ParsedSchedule]>([
    ['rate(1 minute)', { kind: 'rate', value: 1, unit: 'minute' }],
    ['rate(5 minutes)', { kind: 'rate', value: 5, unit: 'minute' }],
    ['rate(1 hour)', { kind: 'rate', value: 1, unit: 'hour' }],
    ['rate(12 hours)', { kind: 'rate', value: 12, unit: 'hour' }],
    ['rate(1 day)', { kind: 'rate', value: 1, unit: 'day' }],
    ['rate(7 days)', { kind: 'rate', value: 7, unit: 'day' }],
    ['at(2026-01-02T05:00:00)', { kind: 'at', at: '2026-01-02T05:00:00' }],
    ['at(2028-02-29T23:59:59)', { kind: 'at', at: '2028-02-29T23:59:59' }],
  ])('accepts %s', (expression, schedule) => {
    expect(parseScheduleExpression(expression)).toEqual({ ok: true, schedule });
  });
});

describe('parseScheduleExpression: invalid expressions', () => {
  // [expression, a fragment the reason must contain]
  it.each([
    ['cron(0/5 * * * ?)', 'cron needs 6 fields'],
    ['cron(0/5 * * * ?)', 'got 5'],
    ['cron(0 0/5 * * * ? *)', 'got 7'],
    ['cron()', 'cron needs 6 fields'],
    ['cron(0 12 * * * *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['cron(0 12 ? * ? *)', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['cron(? 12 * * ? *)', '"?" is only allowed in day-of-month or day-of-week'],
    ['cron(0 ? * * ? *)', 'got "?" in hours'],
    ['cron(60 * * * ? *)', 'minutes value "60" is outside 0-59'],
    ['cron(0 24 * * ? *)', 'hours value "24" is outside 0-23'],
    ['cron(0 0 0 * ? *)', 'day-of-month value "0" is outside 1-31'],
    ['cron(0 0 32 * ? *)', 'day-of-month value "32" is outside 1-31'],
    ['cron(0 0 1 13 ? *)', 'month value "13" is outside 1-12'],
    ['cron(0 0 ? * 8 *)', 'day-of-week value "8" is outside 1-7'],
    ['cron(0 0 ? * 0 *)', 'day-of-week value "0" is outside 1-7'],
    ['cron(0 0 1 * ? 1969)', 'year value "1969" is outside 1970-2199'],
    ['cron(0 0 1 * ? 2200)', 'year value "2200" is outside 1970-2199'],
    ['cron(0 0 1 FOO ? *)', 'month value "FOO" is outside 1-12'],
    ['cron(0 0 ? * MON-FOO *)', 'day-of-week value "FOO"'],
    ['cron(0/0 * * * ? *)', 'minutes has a bad step "0"'],
    ['cron(*/x * * * ? *)', 'minutes has a bad step "x"'],
    ['cron(0/-5 * * * ? *)', 'minutes has a bad step "-5"'],
    ['cron(0/5/5 * * * ? *)', 'minutes has a malformed part "0/5/5"'],
    ['cron(1,,2 * * * ? *)', 'minutes has a malformed part ""'],
    ['cron(1-2-3 * * * ? *)', 'minutes has a malformed range "1-2-3"'],
    ['cron(0 0 32W * ? *)', 'day-of-month value "32W"'],
    ['cron(0 0 ? * 6#6 *)', 'day-of-week value "6#6"'],
    ['rate(1 minutes)', 'singular for 1 and plural otherwise'],
    ['rate(5 minute)', 'singular for 1 and plural otherwise'],
    ['rate(2 hour)', 'singular for 1 and plural otherwise'],
    ['rate(0 hours)', 'rate value must be at least 1, got 0'],
    ['rate(-1 hours)', 'rate needs "<positive integer>'],
    ['rate(1.5 hours)', 'rate needs "<positive integer>'],
    ['rate(5 weeks)', 'rate needs "<positive integer>'],
    ['rate(5)', 'rate needs "<positive integer>'],
    ['at(2026-02-30T10:00:00)', 'at holds no real date-time'],
    ['at(2027-02-29T10:00:00)', 'at holds no real date-time'],
    ['at(2026-13-01T10:00:00)', 'at holds no real date-time'],
    ['at(2026-01-01T24:00:00)', 'at holds no real date-time'],
    ['at(2026-01-01T10:60:00)', 'at holds no real date-time'],
    ['at(2026-01-01T10:00:60)', 'at holds no real date-time'],
    ['at(2026-01-01 10:00:00)', 'at needs "yyyy-mm-ddThh:mm:ss"'],
    ['at(2026-01-01T10:00:00Z)', 'at needs "yyyy-mm-ddThh:mm:ss"'],
    ['every 5 minutes', 'expected cron(...), rate(...) or at(...)'],
    ['', 'expected cron(...), rate(...) or at(...)'],
    ['CRON(0 12 * * ? *)', 'expected cron(...), rate(...) or at(...)'],
    ['cron(0 12 * * ? *', 'expected cron(...), rate(...) or at(...)'],
    ['0 12 * * ? *', 'expected cron(...), rate(...) or at(...)'],
  ])('rejects %s: %s', (expression, fragment) => {
    // Act
    const result = parseScheduleExpression(expression);
    // Assess
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(fragment);
  });
});

describe('parseScheduleExpression: property', () => {
  const pad = (n: number): string => String(n);
  /** A valid value, range, step or list for a numeric field, optionally with names. */
  const fieldPart = (min: number, max: number, names: readonly string[] = []): fc.Arbitrary<string> => {
    const value = fc.oneof(
      fc.integer({ min, max }).map(pad),
      ...(names.length > 0 ? [fc.constantFrom(...names), fc.constantFrom(...names.map((n) => n.toLowerCase()))] : []),
    );
    const range = fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
    const start = fc.oneof(fc.constant('*'), fc.integer({ min, max }).map(pad), range);
    const stepped = fc.tuple(start, fc.integer({ min: 1, max: 60 })).map(([s, step]) => `${s}/${step}`);
    return fc.oneof(value, range, stepped);
  };
  const field = (min: number, max: number, names: readonly string[] = [], special: readonly string[] = []): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constant('*') },
      { weight: 4, arbitrary: fc.array(fieldPart(min, max, names), { minLength: 1, maxLength: 4 }).map((parts) => parts.join(',')) },
      ...(special.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...special) }] : []),
    );

  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
  const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const dayOfMonth = field(1, 31, [], ['L', 'LW', '1W', '15W', '31W']);
  const dayOfWeek = field(1, 7, days, ['L', '1L', '6L', '6#3', '2#1', '7#5']);

  it('any cron built from valid field generators parses', () => {
    fc.assert(
      fc.property(
        field(0, 59),
        field(0, 23),
        fc.boolean(),
        dayOfMonth,
        field(1, 12, months),
        dayOfWeek,
        field(1970, 2199),
        (minutes, hours, questionInDom, dom, month, dow, year) => {
          // Prepare
          const fields = [minutes, hours, questionInDom ? '?' : dom, month, questionInDom ? dow : '?', year];
          // Act
          const result = parseScheduleExpression(`cron(${fields.join(' ')})`);
          // Assess
          expect(result).toEqual({ ok: true, schedule: { kind: 'cron', fields } });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a cron with a valid field replaced by an out-of-range minute is rejected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 10_000 }), (minute) => {
        const result = parseScheduleExpression(`cron(${minute} 0 * * ? *)`);
        expect(result).toEqual({ ok: false, reason: `minutes value "${minute}" is outside 0-59` });
      }),
      { numRuns: 200 },
    );
  });

  it('rate(n unit) parses exactly when n >= 1 and the unit agrees in number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom('minute', 'hour', 'day'), fc.boolean(), (n, unit, plural) => {
        const result = parseScheduleExpression(`rate(${n} ${unit}${plural ? 's' : ''})`);
        const shouldParse = n >= 1 && (n === 1) === !plural;
        expect(result.ok).toBe(shouldParse);
        if (result.ok) expect(result.schedule).toEqual({ kind: 'rate', value: n, unit });
      }),
      { numRuns: 300 },
    );
  });
});

describe('isValidTimezone', () => {
  it.each([
    ['UTC', true],
    ['America/New_York', true],
    ['Europe/Berlin', true],
    ['Asia/Kolkata', true],
    ['America/Gotham', false],
    ['Mars/Olympus_Mons', false],
    ['', false],
    ['   ', false],
    ['not a zone', false],
  ])('%j -> %s', (zone, expected) => {
    expect(isValidTimezone(zone)).toBe(expected);
  });
});
