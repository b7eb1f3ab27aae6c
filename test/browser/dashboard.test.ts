/**
 * The dashboard page in headless Chromium (the system's, else the one the npm package
 * @sparticuz/chromium ships: see chromium.ts; playwright-core drives it, no browser download): the page renders every worker of the
 * registry, and a click on "Trigger" starts one run whose report then appears on the page live,
 * pushed over the WebSocket by the broadcaster from the table stream, without a reload or a poll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { synthesizeTemplate } from '../../local/runtime.js';
import { startServedRuntime, type ServedRuntime } from './served-runtime.js';
import { existsSync } from 'node:fs';
import { CHROMIUM_ARGS, chooseChromium, SYSTEM_CHROMIUM, type ChromiumChoice } from './chromium.js';

const WORKER = 'coach_cleanup_worker';
const JOB = 'cleanup';
/** How long the page may take to show a run (the run itself takes well under a second). */
const LIVE_TIMEOUT_MS = 20_000;

let served: ServedRuntime;
let browser: ChromiumChoice;
let context: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  browser = await chooseChromium();
  served = await startServedRuntime(synthesizeTemplate());
  userDataDir = await mkdtemp(join(tmpdir(), 'aurastream-chromium-'));
  // A persistent context is how Playwright takes a --user-data-dir: a fresh temporary one per run.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
});

afterAll(async () => {
  await context?.close();
  await served?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

/** Opens the page and waits until it is loaded and live; `frames` collects what its WebSocket receives. */
async function openDashboard(): Promise<{ page: Page; frames: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const frames: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  await page.goto(`${served.server.url}/`);
  await page.locator('body[data-loaded="true"]').waitFor();
  await expect.poll(() => page.getByTestId('live-status').getAttribute('data-state'), { timeout: LIVE_TIMEOUT_MS }).toBe('live');
  expect(errors).toEqual([]);
  return { page, frames };
}

describe('the dashboard page', () => {
  it('renders every worker of the registry with its circuit, score, lock and next run', async () => {
    const { page } = await openDashboard();
    const cards = page.getByTestId('worker-card');
    await expect.poll(() => cards.count(), { timeout: LIVE_TIMEOUT_MS }).toBe(ALL_WORKERS.length);
    const ids = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-worker')));
    expect(ids.sort()).toEqual(ALL_WORKERS.map((w) => w.id).sort());
    const card = page.locator(`[data-testid="worker-card"][data-worker="${WORKER}"]`);
    expect(await card.getByTestId('circuit').textContent()).toBe('CLOSED');
    expect(await card.getByTestId('lock').textContent()).toBe('free');
    // Hourly at :00, from 04:00 simulated: the next run is 05:00.
    expect(await card.getByTestId('next-run').textContent()).toBe('2026-03-02 05:00:00Z');
    expect(await page.getByTestId('mode').textContent()).toBe('RUNNING');
    await page.close();
  });

  it('a click on Trigger starts one run, and its report appears live over the WebSocket without a reload', async () => {
    const { page, frames } = await openDashboard();
    await page.evaluate(() => {
      (globalThis as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
    });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));

    // Hold the trigger request until the button has been seen disabled and clicked again.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/workers/*/trigger', async (route) => {
      await held;
      await route.continue();
    });

    const before = served.server.started.length;
    const card = page.locator(`[data-testid="worker-card"][data-worker="${WORKER}"]`);
    const button = card.getByTestId('trigger');
    const response = page.waitForResponse((r) => r.url().endsWith(`/workers/${WORKER}/trigger`));
    await button.click();
    await expect.poll(() => button.isDisabled(), { timeout: LIVE_TIMEOUT_MS }).toBe(true);
    await button.click({ force: true }); // a second click while pending does nothing
    release();
    const reply = await response;
    expect(reply.status()).toBe(202);
    const body = (await reply.json()) as { executionName: string; job: string };
    expect(body.job).toBe(JOB);
    await expect.poll(() => button.isDisabled(), { timeout: LIVE_TIMEOUT_MS }).toBe(false);
    expect(requests.filter((r) => r.startsWith('POST '))).toEqual([`POST /workers/${WORKER}/trigger`]);
    expect(served.server.started.length - before).toBe(1);
    expect(served.server.started.at(-1)?.name).toBe(body.executionName);

    // The run appears in the timeline with its final status, pushed live.
    const run = page.locator(`[data-testid="timeline"] [data-testid="run"][data-execution="${body.executionName}"]`);
    await expect.poll(() => run.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('SUCCEEDED');
    expect(await run.getAttribute('data-worker')).toBe(WORKER);
    expect(await run.getByTestId('run-status').textContent()).toBe('SUCCEEDED');
    expect(await card.getByTestId('last-report').textContent()).toContain('SUCCEEDED');

    // It came over the WebSocket: no reload, no read of the API after the click, and the frame is there.
    expect(await page.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
    expect(requests.filter((r) => r.startsWith('GET '))).toEqual([]);
    await served.server.flushLive();
    const reportFrames = frames.map((f) => JSON.parse(f) as { type: string; worker: string; data: { executionId?: string; status?: string } }).filter((e) => e.type === 'report' && e.data.executionId?.endsWith(`:${body.executionName}`));
    expect(reportFrames.map((e) => [e.worker, e.data.status])).toEqual([[WORKER, 'SUCCEEDED']]);
    expect((await served.server.started.at(-1)?.result)?.status).toBe('SUCCEEDED');
    await page.close();
  });

  it('failing runs open the circuit and raise an alert, both shown live', async () => {
    // Without the sandbox, youtube_worker fails every run: two failures open its circuit, and the
    // anomaly Lambda on the stream raises HIGH_FAILURE_RATE.
    const failing = 'youtube_worker';
    const { page, frames } = await openDashboard();
    const card = page.locator(`[data-testid="worker-card"][data-worker="${failing}"]`);
    expect(await card.getByTestId('circuit').textContent()).toBe('CLOSED');
    const alert = page.locator(`[data-testid="alert"][data-worker="${failing}"][data-anomaly="HIGH_FAILURE_RATE"]`);
    expect(await alert.count()).toBe(0);
    const button = card.getByTestId('trigger');
    for (let i = 0; i < 2; i++) {
      const response = page.waitForResponse((r) => r.url().endsWith(`/workers/${failing}/trigger`));
      await button.click();
      expect((await response).status()).toBe(202);
      await expect.poll(() => button.isDisabled(), { timeout: LIVE_TIMEOUT_MS }).toBe(false);
      await expect.poll(() => page.locator(`[data-testid="run"][data-worker="${failing}"][data-status="FAILED"]`).count(), { timeout: LIVE_TIMEOUT_MS }).toBe(i + 1);
    }
    await expect.poll(() => card.getByTestId('circuit').textContent(), { timeout: LIVE_TIMEOUT_MS }).toMatch(/OPEN/);
    await expect.poll(() => alert.count(), { timeout: LIVE_TIMEOUT_MS }).toBe(1);
    expect(await page.getByTestId('no-alerts').isHidden()).toBe(true);
    const events = frames.map((f) => JSON.parse(f) as { type: string; worker: string; data: { state?: string } });
    expect(events.some((e) => e.type === 'circuit' && e.worker === failing && e.data.state === 'OPEN')).toBe(true);
    expect(events.some((e) => e.type === 'alert' && e.worker === failing)).toBe(true);
    await page.close();
  });
});

// In this file rather than its own: the packaged binary is unpacked to the temp folder on first
// use, and two test processes unpacking it at once could race.
describe('chooseChromium', () => {
  it('drove the page above with the packaged Chromium when told there is no system one', () => {
    if (process.env['AURASTREAM_NO_SYSTEM_CHROMIUM'] === '1') expect(browser.source).toBe('@sparticuz/chromium');
    else expect(browser.source).toBe(existsSync(SYSTEM_CHROMIUM) ? 'system' : '@sparticuz/chromium');
  });

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
