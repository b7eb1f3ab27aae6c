/**
 * Which Chromium the browser tests drive, so that `npm ci && npm test` needs Node alone:
 *
 * 1. `CHROMIUM_PATH`, when set (a Chromium of your choice);
 * 2. the system's Chromium at `/usr/bin/chromium` (Debian's `chromium` package), when present;
 * 3. otherwise the headless Chromium that the npm package `@sparticuz/chromium` ships inside its
 *    tarball (brotli-compressed, unpacked to the temp folder on first use; no download at run time).
 *
 * `AURASTREAM_NO_SYSTEM_CHROMIUM=1` skips 1 and 2, as on a machine that has no browser: CI runs the
 * browser test that way once (`.ci/run`).
 */
import { existsSync } from 'node:fs';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with no network: no sandbox (root), no GPU, no background fetches. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumChoice {
  readonly executablePath: string;
  /** Where it came from: `CHROMIUM_PATH`, `system` or `@sparticuz/chromium`. */
  readonly source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

export async function chooseChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  const noSystem = env['AURASTREAM_NO_SYSTEM_CHROMIUM'] === '1';
  const fromEnv = env['CHROMIUM_PATH'];
  if (!noSystem && fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is ${fromEnv}, which does not exist`);
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH' };
  }
  if (!noSystem && existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, source: 'system' };
  const { default: packaged } = await import('@sparticuz/chromium');
  return { executablePath: await packaged.executablePath(), source: '@sparticuz/chromium' };
}
