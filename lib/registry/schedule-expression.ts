/**
 * Validation of EventBridge Scheduler expressions: `cron(...)`, `rate(...)` and `at(...)`.
 *
 * AWS cron has six fields — minutes, hours, day-of-month, month, day-of-week, year — and exactly
 * one of day-of-month and day-of-week must be `?`. Day-of-week counts 1-7 from Sunday.
 * See https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 */

export type ParsedSchedule =
  | { readonly kind: 'cron'; readonly fields: readonly [string, string, string, string, string, string] }
  | { readonly kind: 'rate'; readonly value: number; readonly unit: 'minute' | 'hour' | 'day' }
  | { readonly kind: 'at'; readonly at: string };

export type ParseResult = { readonly ok: true; readonly schedule: ParsedSchedule } | { readonly ok: false; readonly reason: string };

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Extra single-token forms allowed in this field. */
  readonly special: RegExp | null;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const CRON_FIELDS: readonly FieldRule[] = [
  { name: 'minutes', min: 0, max: 59, special: null },
  { name: 'hours', min: 0, max: 23, special: null },
  // L (last day), LW, 15W (nearest weekday)
  { name: 'day-of-month', min: 1, max: 31, special: /^(L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: null },
  // L (last day of week), 5L (last Thursday), 6#3 (third Friday)
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: /^(L|[1-7]L|[1-7]#[1-5])$/ },
  { name: 'year', min: 1970, max: 2199, special: null },
];

function parseValue(token: string, rule: FieldRule): number | null {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= rule.min && n <= rule.max ? n : null;
  }
  const index = rule.names?.indexOf(token.toUpperCase()) ?? -1;
  return index >= 0 ? index + rule.min : null;
}

function checkField(raw: string, rule: FieldRule): string | null {
  if (raw === '?') {
    return rule.name === 'day-of-month' || rule.name === 'day-of-week' ? null : `"?" is only allowed in day-of-month or day-of-week, got "?" in ${rule.name}`;
  }
  for (const part of raw.split(',')) {
    if (rule.special?.test(part.toUpperCase())) continue;
    const [range, step, ...extra] = part.split('/');
    if (range === undefined || range === '' || extra.length > 0) return `${rule.name} has a malformed part "${part}"`;
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `${rule.name} has a bad step "${step}" in "${part}"`;
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${rule.name} has a malformed range "${range}"`;
    for (const bound of bounds) {
      if (parseValue(bound, rule) === null) return `${rule.name} value "${bound}" is outside ${rule.min}-${rule.max}`;
    }
  }
  return null;
}

function parseCron(body: string): ParseResult {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) return { ok: false, reason: `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}` };
  for (const [i, rule] of CRON_FIELDS.entries()) {
    const problem = checkField(fields[i] ?? '', rule);
    if (problem !== null) return { ok: false, reason: problem };
  }
  const dom = fields[2];
  const dow = fields[4];
  if ((dom === '?') === (dow === '?')) {
    return { ok: false, reason: `exactly one of day-of-month and day-of-week must be "?", got "${dom}" and "${dow}"` };
  }
  return { ok: true, schedule: { kind: 'cron', fields: fields as unknown as readonly [string, string, string, string, string, string] } };
}

function parseRate(body: string): ParseResult {
  const match = /^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$/.exec(body);
  if (!match) return { ok: false, reason: 'rate needs "<positive integer> <minute(s)|hour(s)|day(s)>"' };
  const value = Number(match[1]);
  const unitWord = match[2] ?? '';
  if (value < 1) return { ok: false, reason: `rate value must be at least 1, got ${value}` };
  const singular = !unitWord.endsWith('s');
  if ((value === 1) !== singular) return { ok: false, reason: `rate unit must be singular for 1 and plural otherwise, got "${value} ${unitWord}"` };
  const unit = unitWord.replace(/s$/, '') as 'minute' | 'hour' | 'day';
  return { ok: true, schedule: { kind: 'rate', value, unit } };
}

function parseAt(body: string): ParseResult {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!match) return { ok: false, reason: 'at needs "yyyy-mm-ddThh:mm:ss"' };
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return { ok: false, reason: `at holds no real date-time, got "${body.trim()}"` };
  }
  return { ok: true, schedule: { kind: 'at', at: body.trim() } };
}

/** Parses an EventBridge Scheduler expression, explaining what is wrong when it is malformed. */
export function parseScheduleExpression(expression: string): ParseResult {
  const match = /^(cron|rate|at)\((.*)\)$/.exec(expression.trim());
  if (!match) return { ok: false, reason: 'expected cron(...), rate(...) or at(...)' };
  const body = match[2] ?? '';
  switch (match[1]) {
    case 'cron':
      return parseCron(body);
    case 'rate':
      return parseRate(body);
    default:
      return parseAt(body);
  }
}

/** Answers of `isValidTimezone`, kept for the first 256 names asked (the zones in use are a handful). */
const timezoneValidity = new Map<string, boolean>();

/** Whether `zone` is an IANA timezone this runtime knows. */
export function isValidTimezone(zone: string): boolean {
  if (zone.trim() === '') return false;
  const known = timezoneValidity.get(zone);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    valid = true;
  } catch {
    valid = false;
  }
  if (timezoneValidity.size < 256) timezoneValidity.set(zone, valid);
  return valid;
}
