/**
 * The orchestrator page in headless Chromium (the system's, else the one the npm package
 * @sparticuz/chromium ships: see chromium.ts; playwright-core drives it, no browser download), on
 * the local runtime with its real API, state machines and live updates (served-runtime.ts). One
 * served runtime for the file; the tests run in order on its simulated clock (04:00 at the start):
 * - the page shows every worker (and only workers), the mode, and the next run of each schedule;
 * - a pause reaches the header within 2 s; a run's lock shows while it runs and goes after;
 * - the next run moves on once its slot has passed (the page follows the server's clock);
 * - a backfill of 3 missed slots from a job's history runs each exactly once; a run's report opens;
 * - a missed-run incident appears live, is acknowledged from the page (as the operator the server
 *   names), and its backfill button runs its 3 missed slots, each exactly once;
 * - a dropped live connection is shown as disconnected, and the page reconnects;
 * - a manual run and failing runs (an open circuit, an alert, an incident) appear live.
 * Screenshots at 1400 px and 420 px go to test-artifacts/browser/ (git-ignored).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { synthesizeTemplate } from '../../local/runtime.js';
import { startServedRuntime, OPERATOR, T0, type ServedRuntime } from './served-runtime.js';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { DynamoStatusStore } from '../../lambdas/api/dynamo-status-store.js';
import { DynamoHealthFindingStore } from '../../lambdas/sweep/adapters.js';
import { missedRuns } from '../../lib/domain/health-sweep.js';
import { workerById } from '../../lib/registry/index.js';
import { existsSync } from 'node:fs';
import { CHROMIUM_ARGS, chooseChromium, SYSTEM_CHROMIUM, type ChromiumChoice } from './chromium.js';

const WORKER = 'coach_cleanup_worker';
const JOB = 'cleanup';
const HOUR_MS = 3600_000;
/** How long the page may take to show a run (the run itself takes well under a second). */
const LIVE_TIMEOUT_MS = 20_000;
const SCREENSHOTS = join(process.cwd(), 'test-artifacts', 'browser');

let served: ServedRuntime;
let browser: ChromiumChoice;
let context: BrowserContext;
let userDataDir: string;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await chooseChromium();
  served = await startServedRuntime(synthesizeTemplate());
  userDataDir = await mkdtemp(join(tmpdir(), 'aurastream-chromium-'));
  // A persistent context is how Playwright takes a --user-data-dir: a fresh temporary one per run.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browser.executablePath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [...CHROMIUM_ARGS],
  });
  page = await openDashboard();
});

afterAll(async () => {
  await context?.close();
  await served?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

/** Opens the page and waits until it is loaded and live. */
async function openDashboard(): Promise<Page> {
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(`${served.server.url}/`);
  await p.locator('body[data-loaded="true"]').waitFor();
  await p.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: LIVE_TIMEOUT_MS });
  return p;
}

/** A request to the local API from outside the page (an operator's curl). */
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${served.server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const card = (worker: string) => page.locator(`[data-testid="worker-card"][data-worker="${worker}"]`);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('the orchestrator page', () => {
  it('shows a card for each worker and none for the protocol, the mode, and each next run; a favicon; no name or date broken', async () => {
    const workers = ALL_WORKERS.filter((w) => w.executionModel !== 'protocol');
    const cards = page.getByTestId('worker-card');
    await expect.poll(() => cards.count(), { timeout: LIVE_TIMEOUT_MS }).toBe(workers.length);
    const ids = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-worker')));
    expect(ids.sort()).toEqual(workers.map((w) => w.id).sort());
    expect(ids).not.toContain('graceful_shutdown');
    expect(await card(WORKER).getByTestId('circuit').textContent()).toBe('CLOSED');
    expect(await card(WORKER).getByTestId('lock').textContent()).toBe('free');
    // Hourly at :00, from 04:00 simulated: the next run is 05:00.
    expect(await card(WORKER).getByTestId('next-run').getAttribute('data-at')).toBe(iso(T0 + HOUR_MS));
    expect(await page.getByTestId('mode').textContent()).toBe('RUNNING');
    expect(await page.locator('h1').textContent()).toBe('AuraStream orchestrator local');
    expect((await fetch(`${served.server.url}/favicon.svg`)).status).toBe(200);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    // Names may break only after an underscore (<wbr>), dates never (white-space: nowrap).
    expect(await card('twitch_streams_worker').getByTestId('worker-name').innerHTML()).toBe('<span class="name">twitch_<wbr>streams_<wbr>worker</span>');
    expect(await page.locator('time').first().evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { whiteSpace: string } }).getComputedStyle(e).whiteSpace)).toBe('nowrap');
    expect(pageErrors).toEqual([]);
  });

  it('pause: the header changes within 2 s, and back on resume', async () => {
    expect((await api('POST', '/orchestrator/pause', { reason: 'browser test' })).status).toBe(200);
    await expect.poll(() => page.getByTestId('mode').textContent(), { timeout: 2000, interval: 100 }).toBe('PAUSED');
    const resumed = await api('POST', '/orchestrator/resume');
    expect(resumed.body['missedWhilePaused']).toEqual([]); // no slot fired during the pause
    await expect.poll(() => page.getByTestId('mode').textContent(), { timeout: 2000, interval: 100 }).toBe('RUNNING');
  });

  it('a run\'s lock shows on its card while it runs, with its holder, and is freed after', async () => {
    const release = served.hold(WORKER);
    const started = await api('POST', `/workers/${WORKER}/trigger`, {}, { 'idempotency-key': 'lock-test' });
    expect(started.status).toBe(202);
    const lock = card(WORKER).getByTestId('lock');
    await expect.poll(() => lock.getAttribute('data-held'), { timeout: LIVE_TIMEOUT_MS }).toBe('true');
    expect(await lock.textContent()).toContain(`${JOB} held by ${String(started.body['executionName'])}`);
    release();
    await expect.poll(() => lock.textContent(), { timeout: LIVE_TIMEOUT_MS }).toBe('free');
  });

  it('the next run moves on after its slot, with the server\'s clock', async () => {
    const next = card(WORKER).getByTestId('next-run');
    expect(await next.getAttribute('data-at')).toBe(iso(T0 + HOUR_MS));
    served.clock.set(T0 + 3.5 * HOUR_MS); // 07:30: 05:00, 06:00 and 07:00 have passed (no scheduler runs here: they are missed)
    await expect.poll(() => next.getAttribute('data-at'), { timeout: 10_000 }).toBe(iso(T0 + 4 * HOUR_MS));
  });

  it('a backfill of the 3 missed slots from the job\'s history runs each exactly once', async () => {
    const row = page.locator(`[data-testid="history-row"][data-worker="${WORKER}"][data-job="${JOB}"]`);
    const slots = [1, 2, 3].map((h) => iso(T0 + h * HOUR_MS));
    await page.reload();
    await page.locator('body[data-loaded="true"]').waitFor();
    for (const slot of slots) expect(await row.locator(`[data-testid="run-cell"][data-slot="${slot}"]`).getAttribute('data-status')).toBe('MISSED');
    const before = served.runs.filter((r) => r.worker === WORKER).length;

    await row.getByTestId('backfill').click();
    await page.getByTestId('backfill-from').fill(iso(T0 + 0.5 * HOUR_MS));
    await page.getByTestId('backfill-to').fill(iso(T0 + 3.5 * HOUR_MS));
    await page.getByTestId('backfill-submit').click();
    await expect.poll(() => page.getByTestId('backfill-status').textContent(), { timeout: LIVE_TIMEOUT_MS }).toMatch(/^running 3 missed slots in order/);
    for (const slot of slots) await expect.poll(() => row.locator(`[data-testid="run-cell"][data-slot="${slot}"]`).getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('SUCCEEDED');

    // Again: nothing is missed any more, nothing runs.
    await page.getByTestId('backfill-submit').click();
    await expect.poll(() => page.getByTestId('backfill-status').textContent(), { timeout: LIVE_TIMEOUT_MS }).toMatch(/^nothing missed in the range \(3 slots already ran\)/);
    await page.keyboard.press('Escape');
    const ran = served.runs.filter((r) => r.worker === WORKER).slice(before).map((r) => r.scheduledTime);
    expect(ran).toEqual(slots);
  });

  it('a missed-run incident appears live, is acknowledged from the page, and its backfill button runs its 3 missed slots once each', async () => {
    const worker = 'analytics_flush_worker';
    const job = 'flush';
    // Its 07:00 slot runs (late, as its schedule would start it), then nothing runs until 10:30: 08:00, 09:00 and 10:00 are missed.
    const ran = await served.runtime.start(worker, job, { scheduledTime: iso(T0 + 3 * HOUR_MS), trigger: 'schedule' }).result;
    expect(ran.status).toBe('SUCCEEDED');
    served.clock.set(T0 + 6.5 * HOUR_MS);
    // The incident's recovery restarts the worker, whose run would resolve it within a second: held until the Ack is in.
    const release = served.hold(worker);
    // What the health sweep does: its missed-run rule on the worker's STATE, each finding written once (the anomaly Lambda on the stream opens the incident).
    const doc = documentClient(served.runtime.dynamo.client);
    const states = await new DynamoStatusStore(doc, served.runtime.tableName).readWorkerStates([worker]);
    const findings = missedRuns({ nowMs: served.clock.now(), workers: [workerById(worker)], states, latestReports: {}, queueDepths: {}, running: [] });
    expect(findings.map((f) => f.detail)).toEqual([`${worker}.${job}: no run for the ${iso(T0 + 6 * HOUR_MS)} slot (last claimed ${iso(T0 + 3 * HOUR_MS)})`]);
    const sweep = new DynamoHealthFindingStore(doc, served.runtime.tableName);
    for (const finding of findings) await sweep.putOnce({ finding, raisedAt: iso(served.clock.now()), expiresAt: Math.floor(served.clock.now() / 1000) + 86_400 });

    // Live: no reload.
    const incident = page.locator(`[data-testid="incident"][data-worker="${worker}"][data-anomaly="WORKER_CRASH"]`);
    await expect.poll(() => incident.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('OPEN');
    expect(await incident.getByTestId('incident-symptoms').textContent()).toContain(`no run for the ${iso(T0 + 6 * HOUR_MS)} slot`);
    expect(await page.getByTestId('no-incidents').isHidden()).toBe(true);

    // Ack: in the operator's name, shown at once and pushed back by the live update.
    const ack = incident.getByTestId('incident-ack');
    expect(await ack.textContent()).toBe(`Ack as ${OPERATOR}`);
    await ack.click();
    await expect.poll(() => incident.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('ACKNOWLEDGED');
    await expect.poll(() => incident.getByTestId('incident-acked').textContent(), { timeout: LIVE_TIMEOUT_MS }).toContain(`acknowledged by ${OPERATOR}`);
    const listed = (await api('GET', '/incidents?state=open')).body['items'] as { id: string; worker: string; acknowledgedBy: string | null }[];
    expect(listed.find((i) => i.worker === worker)?.acknowledgedBy).toBe(OPERATOR);

    // The recovery's run succeeds: the incident resolves, live.
    release();
    await expect.poll(() => incident.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('RESOLVED');

    // Resolved (under "Recently resolved"), it still offers the backfill of the 3 slots it missed since the last claim: each runs exactly once.
    expect(await page.getByTestId('resolved-count').textContent()).toBe('(1)');
    await page.getByTestId('resolved-toggle').click();
    const slots = [4, 5, 6].map((h) => iso(T0 + h * HOUR_MS));
    const backfill = incident.getByTestId('incident-backfill');
    expect(await backfill.textContent()).toBe('Backfill 3 missed slots');
    await backfill.click();
    await expect.poll(() => incident.getByTestId('incident-backfill-status').textContent(), { timeout: LIVE_TIMEOUT_MS }).toBe(`running 3 missed slots in order: ${slots.map((t) => `${t.slice(5, 10)} ${t.slice(11, 16)}`).join(', ')}`);
    const row = page.locator(`[data-testid="history-row"][data-worker="${worker}"][data-job="${job}"]`);
    for (const slot of slots) await expect.poll(() => row.locator(`[data-testid="run-cell"][data-slot="${slot}"]`).getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('SUCCEEDED');
    // Again: nothing is missed any more.
    await incident.getByTestId('incident-backfill').click();
    await expect.poll(() => incident.getByTestId('incident-backfill-status').textContent(), { timeout: LIVE_TIMEOUT_MS }).toBe('nothing missed any more (3 slots already ran)');
    for (const slot of slots) expect(served.runs.filter((r) => r.worker === worker && Date.parse(r.scheduledTime) === Date.parse(slot)), slot).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });

  it('a dropped live connection is shown as disconnected, then the page reconnects and reads everything again', async () => {
    const status = page.getByTestId('live-status');
    expect(await status.getAttribute('data-state')).toBe('live');
    served.server.dropLive();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 5000, interval: 20 }).toBe('offline');
    expect(await status.textContent()).toMatch(/^disconnected/);
    await expect.poll(() => status.getAttribute('data-state'), { timeout: LIVE_TIMEOUT_MS }).toBe('live');
    expect(served.server.liveConnections()).toBe(1);
  });

  it('a run\'s report opens from the grid: scores, attempts, fence, and its Step Functions console link', async () => {
    const slot = iso(T0 + 2 * HOUR_MS);
    await page.locator(`[data-testid="history-row"][data-worker="${WORKER}"] [data-testid="run-cell"][data-slot="${slot}"]`).click();
    const dialog = page.getByTestId('report');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('SUCCEEDED');
    expect(text).toMatch(/scoresreliability \d+\.\d/);
    expect(text).toMatch(/attempts1/);
    expect(text).toMatch(/fence\d+/);
    expect(await dialog.getByTestId('console-link').getAttribute('href')).toMatch(/^https:\/\/[a-z0-9-]+\.console\.aws\.amazon\.com\/states\/home\?region=[a-z0-9-]+#\/v2\/executions\/details\/arn%3Aaws%3Astates%3A.*backfill-/);

    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'report-1400.png') });
    await page.keyboard.press('Escape');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-1400.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-420.png'), fullPage: true });
    // Narrow: the page itself does not scroll sideways (the history grid scrolls in its own box).
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it('a click on Trigger starts one run, and its report reaches the card and the grid live, without a reload', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
    });
    const before = served.server.started.length;
    const button = card(WORKER).getByTestId('trigger');
    const response = page.waitForResponse((r) => r.url().endsWith(`/workers/${WORKER}/trigger`));
    await button.click();
    const reply = await response;
    expect(reply.status()).toBe(202);
    const body = (await reply.json()) as { executionName: string; scheduledTime: string };
    expect(served.server.started.length - before).toBe(1);
    const cell = page.locator(`[data-testid="history-row"][data-worker="${WORKER}"] [data-testid="run-cell"][data-slot="${body.scheduledTime}"]`);
    await expect.poll(() => cell.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('SUCCEEDED');
    expect(await card(WORKER).getByTestId('last-report').textContent()).toContain('SUCCEEDED');
    expect(await page.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
  });

  it('failing runs open the circuit and raise an alert, both shown live', async () => {
    // Without the sandbox, youtube_worker fails every run: two failures open its circuit, and the
    // anomaly Lambda on the stream raises HIGH_FAILURE_RATE.
    const failing = 'youtube_worker';
    expect(await card(failing).getByTestId('circuit').textContent()).toBe('CLOSED');
    const alert = page.locator(`[data-testid="alert"][data-worker="${failing}"][data-anomaly="HIGH_FAILURE_RATE"]`);
    expect(await alert.count()).toBe(0);
    for (let i = 0; i < 2; i++) {
      const response = page.waitForResponse((r) => r.url().endsWith(`/workers/${failing}/trigger`));
      await card(failing).getByTestId('trigger').click();
      expect((await response).status()).toBe(202);
      await expect.poll(() => page.locator(`[data-testid="history-row"][data-worker="${failing}"] [data-testid="run-cell"][data-status="FAILED"]`).count(), { timeout: LIVE_TIMEOUT_MS }).toBe(i + 1);
    }
    await expect.poll(() => card(failing).getByTestId('circuit').textContent(), { timeout: LIVE_TIMEOUT_MS }).toMatch(/OPEN/);
    await expect.poll(() => alert.count(), { timeout: LIVE_TIMEOUT_MS }).toBe(1);
    expect(await page.getByTestId('no-alerts').isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
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
