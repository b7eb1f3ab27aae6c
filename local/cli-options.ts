/**
 * The options of `npm start` (bin/local.ts), parsed and checked before anything heavy loads: this
 * module imports nothing but `node:util` and the scenario names. Every mistake is one line that
 * names the flag, the accepted values and what was given.
 */
import { parseArgs } from 'node:util';
import { SCENARIO_NAMES } from '../scenarios/names.js';

export const DEFAULT_START = '2026-03-02T00:00:00Z';
/** Port of `--serve` without `--port`. */
export const DEFAULT_PORT = 8787;
/** The longest simulated span of a run that ends: 31 days. `--serve` without `--hours` runs until Ctrl-C. */
export const MAX_HOURS = 24 * 31;
/** `--start` must fall in these years: the sandbox's Pacific-day quotas and AWS cron need a real calendar date. */
export const START_YEARS = { from: 2000, to: 2099 } as const;
export const MAX_SEED = 4_294_967_295;

export interface LocalOptions {
  /** Simulated hours; `Infinity` for `--serve` without `--hours` (until Ctrl-C). `undefined`: the scenario's own span, else 24. */
  readonly hours: number | undefined;
  /** `undefined`: DEFAULT_START, or now with `--serve`. */
  readonly startMs: number | undefined;
  readonly seed: number;
  readonly scenario: string | undefined;
  readonly webhook: URL | undefined;
  readonly realtime: boolean;
  readonly serve: boolean;
  readonly port: number;
  readonly json: boolean;
  readonly schedule: boolean;
}

export type ParsedCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'run'; readonly options: LocalOptions };

const STRING_OPTIONS = ['hours', 'start', 'seed', 'scenario', 'webhook', 'port'] as const;
const BOOLEAN_OPTIONS = ['json', 'realtime', 'serve', 'schedule', 'help'] as const;
const ALL_FLAGS = [...STRING_OPTIONS, ...BOOLEAN_OPTIONS].map((o) => `--${o}`).join(', ');

export const SHORT_USAGE = 'usage: npm start -- [--hours N] [--start ISO] [--seed N] [--scenario NAME] [--webhook URL] [--realtime] [--serve [--port N]] [--json] [--schedule] (--help for details)';

export const USAGE = `Usage: npm start -- [options]

Runs the AuraStream symphony locally: every schedule of the synthesized template on a simulated
clock, the synthesized state machines in aws-local-stepfunctions, the real handlers in-process
against an embedded DynamoDB, the real workers against sandbox APIs on loopback.

Options:
  --hours N       simulated span in hours, more than 0 and at most ${MAX_HOURS} (default 24, or
                  the scenario's own span; with --serve: until Ctrl-C)
  --start ISO     simulated start, a UTC time such as ${DEFAULT_START} or a date such as
                  2026-03-02, in ${START_YEARS.from}..${START_YEARS.to} (default ${DEFAULT_START}; now with --serve)
  --seed N        seed of the sandbox data, a whole number from 0 to ${MAX_SEED} (default 1)
  --scenario NAME inject a fault scenario: ${SCENARIO_NAMES.join(', ')}
  --webhook URL   also deliver every alert as a signed webhook (Standard Webhooks) to an
                  http(s) URL on loopback (127.0.0.1, localhost, [::1]); the signing secret is
                  printed so the receiver can verify
  --realtime      wait in real time between schedule slots instead of jumping
  --serve         keep the runtime up in real time (from now, unless --start is given) and
                  serve the HTTP API and the dashboard page on 127.0.0.1, with live updates
                  over a WebSocket, until Ctrl-C; no authentication: loopback only
  --port N        port of --serve, 0 to 65535 (default ${DEFAULT_PORT}; 0 picks a free one)
  --json          print the result as JSON instead of text
  --schedule      only validate the registry and print the symphony schedule
  -h, --help      show this help

Exit status: 0 done, 1 the run failed, 2 a mistake in the options.`;

const quote = (s: string): string => JSON.stringify(s);
const fail = (message: string): ParsedCommand => ({ kind: 'error', message });

/** An ISO-8601 UTC time (`...Z`) to the minute, second or millisecond, or a date (midnight UTC). */
const START_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?Z)?$/;

export function parseStart(value: string): number | undefined {
  const m = START_PATTERN.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) return undefined;
  const date = new Date(ms);
  // Date.parse rolls 2026-02-30 over to March; a real date reads back the same.
  const same = date.getUTCFullYear() === Number(y) && date.getUTCMonth() + 1 === Number(mo) && date.getUTCDate() === Number(d) && date.getUTCHours() === Number(h) && date.getUTCMinutes() === Number(mi) && date.getUTCSeconds() === Number(s);
  if (!same || date.getUTCFullYear() < START_YEARS.from || date.getUTCFullYear() > START_YEARS.to) return undefined;
  return ms;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** Parses `npm start` arguments. Pure: no I/O, no clock. */
export function parseLocalArgs(argv: readonly string[]): ParsedCommand {
  const options = Object.fromEntries([...STRING_OPTIONS.map((o) => [o, { type: 'string' as const }]), ...BOOLEAN_OPTIONS.map((o) => [o, { type: 'boolean' as const }])]);
  const { tokens } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string | true>();
  for (const token of tokens) {
    if (token.kind === 'positional') return fail(`unexpected argument ${quote(token.value)}: options start with --; the options are ${ALL_FLAGS}`);
    if (token.kind === 'option-terminator') continue;
    const known = (STRING_OPTIONS as readonly string[]).includes(token.name) || (BOOLEAN_OPTIONS as readonly string[]).includes(token.name);
    if (!known) return fail(`unknown option ${token.rawName}; the options are ${ALL_FLAGS}`);
    const isString = (STRING_OPTIONS as readonly string[]).includes(token.name);
    if (isString) {
      if (token.value === undefined) return fail(`${token.rawName} needs a value (${VALUE_HINTS[token.name as (typeof STRING_OPTIONS)[number]]})`);
      values.set(token.name, token.value);
    } else {
      if (token.inlineValue) return fail(`${token.rawName} takes no value, got ${quote(token.value ?? '')}`);
      values.set(token.name, true);
    }
  }
  if (values.get('help') === true) return { kind: 'help' };
  const str = (name: (typeof STRING_OPTIONS)[number]): string | undefined => {
    const v = values.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const serve = values.get('serve') === true;
  const json = values.get('json') === true;

  let hours: number | undefined;
  const rawHours = str('hours');
  if (rawHours !== undefined) {
    hours = /^\d+(\.\d+)?$/.test(rawHours) ? Number(rawHours) : Number.NaN;
    if (!(hours > 0 && hours <= MAX_HOURS)) return fail(`--hours must be a number of simulated hours, more than 0 and at most ${MAX_HOURS}, got ${quote(rawHours)}`);
  } else if (serve) {
    hours = Number.POSITIVE_INFINITY;
  }

  let startMs: number | undefined;
  const rawStart = str('start');
  if (rawStart !== undefined) {
    startMs = parseStart(rawStart);
    if (startMs === undefined) return fail(`--start must be a UTC time such as ${DEFAULT_START} or a date such as 2026-03-02, in the years ${START_YEARS.from} to ${START_YEARS.to}, got ${quote(rawStart)}`);
  }

  const rawSeed = str('seed') ?? '1';
  const seed = /^\d+$/.test(rawSeed) ? Number(rawSeed) : Number.NaN;
  if (!(seed >= 0 && seed <= MAX_SEED)) return fail(`--seed must be a whole number from 0 to ${MAX_SEED}, got ${quote(rawSeed)}`);

  const scenario = str('scenario');
  if (scenario !== undefined && !(SCENARIO_NAMES as readonly string[]).includes(scenario)) return fail(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got ${quote(scenario)}`);

  let webhook: URL | undefined;
  const rawWebhook = str('webhook');
  if (rawWebhook !== undefined) {
    const hint = 'an http(s) URL on loopback (127.0.0.1, localhost or [::1]), such as http://127.0.0.1:9000/alerts';
    try {
      webhook = new URL(rawWebhook);
    } catch {
      return fail(`--webhook must be ${hint}, got ${quote(rawWebhook)}`);
    }
    if (webhook.protocol !== 'http:' && webhook.protocol !== 'https:') return fail(`--webhook must be ${hint}, got ${quote(rawWebhook)} (scheme ${webhook.protocol.replace(':', '')})`);
    if (!isLoopbackHost(webhook.hostname)) return fail(`--webhook must be ${hint}, got ${quote(rawWebhook)} (host ${webhook.hostname})`);
  }

  const rawPort = str('port');
  if (rawPort !== undefined && !serve) return fail(`--port is the port of --serve, and needs it (npm start -- --serve --port ${rawPort})`);
  const port = rawPort === undefined ? DEFAULT_PORT : /^\d+$/.test(rawPort) ? Number(rawPort) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) return fail(`--port must be a port number from 0 to 65535, got ${quote(rawPort ?? '')}`);
  if (serve && json) return fail('--serve and --json cannot be used together: --serve runs until Ctrl-C and prints no result');

  return {
    kind: 'run',
    options: { hours, startMs, seed, scenario, webhook, realtime: values.get('realtime') === true, serve, port, json, schedule: values.get('schedule') === true },
  };
}

const VALUE_HINTS: Readonly<Record<(typeof STRING_OPTIONS)[number], string>> = {
  hours: `a number of simulated hours, more than 0 and at most ${MAX_HOURS}`,
  start: `a UTC time such as ${DEFAULT_START}`,
  seed: `a whole number from 0 to ${MAX_SEED}`,
  scenario: `one of ${SCENARIO_NAMES.join(', ')}`,
  webhook: 'an http(s) URL on loopback, such as http://127.0.0.1:9000/alerts',
  port: 'a port number from 0 to 65535',
};

/** What `npm start` prints and its exit status when it stops before running anything. */
export interface EarlyAnswer {
  readonly exitCode: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/**
 * `--help` (the usage, exit 0) or a mistake (one line, the short usage, exit 2); `undefined` when
 * the arguments are a run. bin/local.mjs answers with it before loading the app.
 */
export function answerWithoutRunning(argv: readonly string[]): EarlyAnswer | undefined {
  const command = parseLocalArgs(argv);
  if (command.kind === 'help') return { exitCode: 0, stdout: USAGE };
  if (command.kind === 'error') return { exitCode: 2, stderr: `npm start: ${command.message}\n${SHORT_USAGE}` };
  return undefined;
}
