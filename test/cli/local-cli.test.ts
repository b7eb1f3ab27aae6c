/**
 * `npm start` mistakes, through the real CLI (bin/local.mjs spawned as `npm start` runs it): each
 * one prints one line naming the flag and the accepted values, then the short usage, and exits 2,
 * with no stack trace and nothing on stdout. The options are checked before the app loads, so
 * none of these synthesizes anything. The mistakes the issue lists are spawned; more go through
 * the same parser in-process. Then the entry's cache of the bundled parser: read when its sources
 * are unchanged, built again when they changed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLocalArgs, SHORT_USAGE } from '../../local/cli-options.js';
import { SCENARIO_NAMES } from '../../scenarios/names.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The temporary directories this file makes, removed when it ends. */
const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'aurastream-cli-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** This file's own cache of the bundled parser: the first spawn builds it. */
const CACHE_DIR = tempDir();

/** `npm start -- ARGS` (bin/local.mjs); `viaTsx`: bin/local.ts through tsx, as `npx tsx bin/local.ts` runs it. */
function cli(args: readonly string[], { cacheDir = CACHE_DIR, viaTsx = false }: { cacheDir?: string; viaTsx?: boolean } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const entry = viaTsx ? ['--import', 'tsx', 'bin/local.ts'] : ['bin/local.mjs'];
    const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AURASTREAM_CLI_CACHE_DIR: cacheDir } });
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

  it('bin/local.ts run directly through tsx gives the same answer', async () => {
    const { code, stdout, stderr } = await cli(['--bogus'], { viaTsx: true });
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^npm start: unknown option --bogus;/), SHORT_USAGE]);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });

  it('valid options go on to the app (--schedule prints the schedule)', async () => {
    const { code, stdout } = await cli(['--schedule']);
    expect(code).toBe(0);
    expect(stdout).toContain('analytics_flush_worker');
  });
});

describe('the cached parser bundle of bin/local.mjs', () => {
  const manifestOf = (dir: string): { file: string; inputs: string[]; hash: string } => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { file: string; inputs: string[]; hash: string };

  it('is built on first use from the parser and its imports, then read as it is while they are unchanged', async () => {
    const dir = tempDir();
    expect((await cli(['--hours', '-3'], { cacheDir: dir })).code).toBe(2);
    const manifest = manifestOf(dir);
    expect(manifest.inputs.sort()).toEqual(['local/cli-options.ts', 'scenarios/names.ts']);
    expect(readdirSync(dir).sort()).toEqual([manifest.file, 'manifest.json'].sort());
    // A bundle that answers differently proves the next run reads the cache instead of the sources.
    writeFileSync(join(dir, manifest.file), "export const answerWithoutRunning = () => ({ exitCode: 2, stderr: 'from the cache' });\n");
    const cached = await cli(['--hours', '-3'], { cacheDir: dir });
    expect(cached.stderr).toBe('from the cache\n');
  });

  it('is built again when a source changed since (its hash differs)', async () => {
    const dir = tempDir();
    await cli(['--help'], { cacheDir: dir });
    const manifest = manifestOf(dir);
    writeFileSync(join(dir, manifest.file), "export const answerWithoutRunning = () => ({ exitCode: 2, stderr: 'stale' });\n");
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, hash: '0'.repeat(64) }));
    const { code, stderr } = await cli(['--bogus'], { cacheDir: dir });
    expect(stderr).toMatch(/^npm start: unknown option --bogus;/);
    expect(code).toBe(2);
    expect(manifestOf(dir).hash).toBe(manifest.hash);
  });
});
