/**
 * `npm start` mistakes, through the real CLI (bin/local.ts spawned as `npm start` runs it, with
 * tsx): each one prints one line naming the flag and the accepted values, then the short usage,
 * and exits 2, with no stack trace and nothing on stdout. The options are checked before the app
 * loads, so none of these synthesizes anything. The mistakes the issue lists are spawned; more go
 * through the same parser in-process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLocalArgs, SHORT_USAGE } from '../../local/cli-options.js';
import { SCENARIO_NAMES } from '../../scenarios/names.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every bad invocation of issue #13, spawned; the line each must print. */
const SPAWNED: readonly { args: string[]; says: RegExp }[] = [
  { args: ['--bogus'], says: /^npm start: unknown option --bogus; the options are --hours, --start, .*--help$/ },
  { args: ['--hours', '-3'], says: /^npm start: --hours must be a number of simulated hours, more than 0 and at most 744, got "-3"$/ },
  { args: ['--hours'], says: /^npm start: --hours needs a value \(a number of simulated hours, more than 0 and at most 744\)$/ },
  { args: ['foo'], says: /^npm start: unexpected argument "foo": options start with --; the options are --hours/ },
  { args: ['--webhook', 'ftp://127.0.0.1/x'], says: /^npm start: --webhook must be an http\(s\) URL on loopback .* got "ftp:\/\/127\.0\.0\.1\/x" \(scheme ftp\)$/ },
  { args: ['--start', '99999'], says: /^npm start: --start must be a UTC time such as 2026-03-02T00:00:00Z or a date such as 2026-03-02, in the years 2000 to 2099, got "99999"$/ },
];

/** More mistakes, through the same parser in-process (a process each would only repeat the above). */
const PARSED: readonly { args: string[]; says: RegExp }[] = [
  { args: ['-x'], says: /^unknown option -x; the options are --hours/ },
  { args: ['--hours', '0'], says: /^--hours must be .* got "0"$/ },
  { args: ['--hours', '745'], says: /^--hours must be .*at most 744, got "745"$/ },
  { args: ['--hours', 'lots'], says: /^--hours must be .* got "lots"$/ },
  { args: ['--hours', '--json'], says: /^--hours must be .* got "--json"$/ },
  { args: ['--start', '2026-02-30'], says: /^--start must be .* got "2026-02-30"$/ },
  { args: ['--start', '1999-12-31T23:00:00Z'], says: /^--start must be .*2000 to 2099, got "1999-12-31T23:00:00Z"$/ },
  { args: ['--start'], says: /^--start needs a value/ },
  { args: ['--seed', '-1'], says: /^--seed must be a whole number from 0 to 4294967295, got "-1"$/ },
  { args: ['--seed', '1.5'], says: /^--seed must be a whole number .* got "1.5"$/ },
  { args: ['--scenario', 'meltdown'], says: new RegExp(`^--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got "meltdown"$`) },
  { args: ['--webhook', 'http://example.com/hook'], says: /^--webhook must be an http\(s\) URL on loopback .* \(host example\.com\)$/ },
  { args: ['--webhook', 'http://10.1.2.3/hook'], says: /^--webhook must be an http\(s\) URL on loopback .* \(host 10\.1\.2\.3\)$/ },
  { args: ['--webhook', 'not a url'], says: /^--webhook must be an http\(s\) URL on loopback .* got "not a url"$/ },
  { args: ['--port', '8080'], says: /^--port is the port of --serve, and needs it/ },
  { args: ['--serve', '--port', '70000'], says: /^--port must be a port number from 0 to 65535, got "70000"$/ },
  { args: ['--serve', '--json'], says: /^--serve and --json cannot be used together/ },
  { args: ['--json=yes'], says: /^--json takes no value, got "yes"$/ },
];

describe('npm start mistakes', () => {
  it.each(SPAWNED)('$args: one line naming the flag and the accepted values, the short usage, exit 2', async ({ args, says }) => {
    const { code, stdout, stderr } = await cli(args);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(says);
    expect(lines[1]).toBe(SHORT_USAGE);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });

  it.each(PARSED)('$args: one line naming the flag and the accepted values', ({ args, says }) => {
    const parsed = parseLocalArgs(args);
    expect(parsed.kind).toBe('error');
    const message = parsed.kind === 'error' ? parsed.message : '';
    expect(message).toMatch(says);
    expect(message).not.toContain('\n');
  });

  it('--help prints the usage with every option and exits 0, without loading the app', async () => {
    const { code, stdout, stderr } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const flag of ['--hours', '--start', '--seed', '--scenario', '--webhook', '--realtime', '--serve', '--port', '--json', '--schedule', '--help']) expect(stdout).toContain(flag);
    expect(stdout).toContain('Exit status: 0 done, 1 the run failed, 2 a mistake in the options.');
    expect(stdout).not.toContain('Synthesizing');
  });
});
