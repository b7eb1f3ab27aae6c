/** The pure option parser of `npm start` (local/cli-options.ts): what each accepted form means. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, parseLocalArgs, parseStart, type LocalOptions } from '../../local/cli-options.js';
import { SCENARIOS } from '../../scenarios/index.js';
import { SCENARIO_NAMES } from '../../scenarios/names.js';

function options(args: string[]): LocalOptions {
  const parsed = parseLocalArgs(args);
  if (parsed.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
  return parsed.options;
}

describe('parseLocalArgs', () => {
  it('defaults: the span and start are left to the scenario or the default day, seed 1, port 8787', () => {
    expect(options([])).toEqual({ hours: undefined, startMs: undefined, seed: 1, scenario: undefined, webhook: undefined, realtime: false, serve: false, port: DEFAULT_PORT, json: false, schedule: false });
  });

  it('--serve without --hours runs until Ctrl-C (an open-ended span); with --hours it stops', () => {
    expect(options(['--serve']).hours).toBe(Number.POSITIVE_INFINITY);
    expect(options(['--serve', '--hours', '2']).hours).toBe(2);
    expect(options(['--serve', '--port', '0']).port).toBe(0);
  });

  it('takes values inline or as the next argument, fractional hours, and loopback webhooks over http or https', () => {
    expect(options(['--hours=1.5', '--seed', '42', '--scenario', 'crash-loop'])).toMatchObject({ hours: 1.5, seed: 42, scenario: 'crash-loop' });
    for (const url of ['http://127.0.0.1:9000/a', 'https://localhost/x', 'http://[::1]:8080/', 'http://127.1.2.3/']) expect(options(['--webhook', url]).webhook?.href).toBe(new URL(url).href);
  });

  it('--help wins over everything else', () => {
    expect(parseLocalArgs(['--hours', '3', '-h'])).toEqual({ kind: 'help' });
  });
});

describe('parseStart', () => {
  it.each([
    ['2026-03-02T07:00:00Z', Date.UTC(2026, 2, 2, 7)],
    ['2026-03-02T07:30Z', Date.UTC(2026, 2, 2, 7, 30)],
    ['2026-03-02T07:00:00.250Z', Date.UTC(2026, 2, 2, 7, 0, 0, 250)],
    ['2026-03-02', Date.UTC(2026, 2, 2)],
    ['2000-01-01', Date.UTC(2000, 0, 1)],
    ['2099-12-31T23:59:59Z', Date.UTC(2099, 11, 31, 23, 59, 59)],
  ])('accepts %s', (value, ms) => {
    expect(parseStart(value)).toBe(ms);
  });

  it.each(['99999', '2026-03-02T07:00:00', '2026-03-02T07:00:00+01:00', '2026-13-01', '2026-02-29', '2026-03-02T24:00Z', '1999-12-31', '2100-01-01', 'now', ''])('refuses %j', (value) => {
    expect(parseStart(value)).toBeUndefined();
  });
});

describe('the scenario names the CLI checks before loading anything', () => {
  it('are the names of the scenarios themselves, in order', () => {
    expect(SCENARIOS.map((s) => s.name)).toEqual([...SCENARIO_NAMES]);
  });
});
