/**
 * The browser tests' Chromium (chromium.ts): with no system Chromium the npm package's own binary
 * is used, so `npm ci && npm test` needs nothing but Node.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseChromium, SYSTEM_CHROMIUM } from './chromium.js';

describe('chooseChromium', () => {
  it('takes the binary that @sparticuz/chromium ships when the system has none (AURASTREAM_NO_SYSTEM_CHROMIUM=1)', async () => {
    const choice = await chooseChromium({ AURASTREAM_NO_SYSTEM_CHROMIUM: '1', CHROMIUM_PATH: SYSTEM_CHROMIUM });
    expect(choice.source).toBe('@sparticuz/chromium');
    expect(choice.executablePath).not.toBe(SYSTEM_CHROMIUM);
    expect(existsSync(choice.executablePath)).toBe(true);
  });

  it('prefers the system Chromium when there is one, and CHROMIUM_PATH over both', async () => {
    const choice = await chooseChromium({});
    expect(choice.source).toBe(existsSync(SYSTEM_CHROMIUM) ? 'system' : '@sparticuz/chromium');
    const packaged = await chooseChromium({ AURASTREAM_NO_SYSTEM_CHROMIUM: '1' });
    expect(await chooseChromium({ CHROMIUM_PATH: packaged.executablePath })).toEqual({ executablePath: packaged.executablePath, source: 'CHROMIUM_PATH' });
  });

  it('names CHROMIUM_PATH when it points nowhere', async () => {
    await expect(chooseChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).rejects.toThrow('CHROMIUM_PATH is /nonexistent/chromium, which does not exist');
  });
});
