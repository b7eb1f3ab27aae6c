/**
 * The sandbox reached in-process (`sandbox.fetch`, what the symphony gives the workers): every
 * answer equals the one over loopback HTTP (status, body, the headers the client reads), faults and
 * accounting included, and the workers' HTTP client times out against it as against a socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientUpstreamError } from '../../lib/domain/errors.js';
import { createHttpClient } from '../../lambdas/kit/http.js';
import { startSandbox, type Sandbox } from '../../local/sandbox/server.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');

/** What a client can read of an answer: status, content type, rate-limit headers and body (its sandbox's address as `<sandbox>`). */
async function observed(response: Response, sandbox: Sandbox): Promise<Record<string, unknown>> {
  const bytes = Buffer.from(await response.arrayBuffer());
  const origin = new URL(sandbox.baseUrls.youtube).origin;
  const body = response.headers.get('content-type') === 'application/json' ? bytes.toString('utf8').replaceAll(origin, '<sandbox>') : bytes.toString('base64');
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name === 'content-type' || name === 'retry-after' || name.startsWith('ratelimit-')));
  return { status: response.status, headers, body };
}

describe('sandbox.fetch (in-process)', () => {
  // Two sandboxes with the same seed and clock: one asked over HTTP, one in-process.
  let overHttp: Sandbox;
  let inProcess: Sandbox;
  beforeAll(async () => {
    overHttp = await startSandbox({ seed: 7, clock: () => T0 });
    inProcess = await startSandbox({ seed: 7, clock: () => T0 });
  });
  afterAll(async () => {
    await overHttp.close();
    await inProcess.close();
  });

  const both = async (path: (s: Sandbox) => string, init?: (s: Sandbox) => RequestInit): Promise<[Record<string, unknown>, Record<string, unknown>]> => [
    await observed(await globalThis.fetch(path(overHttp), init?.(overHttp)), overHttp),
    await observed(await inProcess.fetch(path(inProcess), init?.(inProcess)), inProcess),
  ];

  it('answers as the HTTP server does: JSON, images, form posts, errors and faults', async () => {
    const token = async (s: Sandbox, f: typeof fetch): Promise<string> => {
      const r = await f(`${s.baseUrls.twitchAuth}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: s.credentials.twitch_client_id, client_secret: s.credentials.twitch_client_secret, grant_type: 'client_credentials' }).toString(),
      });
      return String(((await r.json()) as { access_token?: unknown }).access_token);
    };
    const tokens = { http: await token(overHttp, globalThis.fetch), local: await token(inProcess, inProcess.fetch) };
    const cases: Array<[(s: Sandbox) => string, ((s: Sandbox) => RequestInit)?]> = [
      [(s) => `${s.baseUrls.youtube}/youtube/v3/videos?chart=mostPopular&videoCategoryId=20&part=snippet,statistics&maxResults=5&key=${s.credentials.youtube_api_key}`],
      [(s) => `${s.baseUrls.youtube}/youtube/v3/videos?chart=mostPopular&maxResults=0&key=${s.credentials.youtube_api_key}`],
      [(s) => `${s.baseUrls.youtube}/nowhere`],
      [(s) => `${s.baseUrls.twitchApi}/helix/games/top?first=3`, (s) => ({ headers: { 'client-id': s.credentials.twitch_client_id, authorization: `Bearer ${s === overHttp ? tokens.http : tokens.local}` } })],
      [(s) => `${s.baseUrls.twitchApi}/helix/games/top?first=3`],
    ];
    for (const [path, init] of cases) {
      const [http, local] = await both(path, init);
      expect(local, path(inProcess)).toEqual(http);
    }
    expect(new Set(Object.keys(inProcess.stats().statuses))).toEqual(new Set(['200', '400', '401', '404']));
    // An image, and the same answers under an outage and a truncating corruption.
    await globalThis.fetch(cases[0]?.[0](overHttp) ?? ''); // the same request on both, for the accounting below
    const videos = (await (await inProcess.fetch(cases[0]?.[0](inProcess) ?? '')).json()) as { items: Array<{ snippet: { thumbnails: { default: { url: string } } } }> };
    const thumb = videos.items[0]?.snippet.thumbnails.default.url ?? '';
    const [httpImage, localImage] = await both((s) => thumb.replace(inProcess.baseUrls.youtubeThumbnails, s.baseUrls.youtubeThumbnails));
    expect(localImage).toEqual(httpImage);
    for (const s of [overHttp, inProcess]) s.faults.corrupt('youtube', 'truncate');
    const [httpCorrupt, localCorrupt] = await both(cases[0]?.[0] ?? (() => ''));
    expect(localCorrupt).toEqual(httpCorrupt);
    for (const s of [overHttp, inProcess]) s.faults.outage('youtube');
    const [httpDown, localDown] = await both(cases[0]?.[0] ?? (() => ''));
    expect(localDown).toEqual(httpDown);
    expect(localDown['status']).toBe(503);
    for (const s of [overHttp, inProcess]) s.faults.clear();
    // The same accounting on both.
    expect(inProcess.stats()).toEqual(overHttp.stats());
  });

  it("times out the workers' HTTP client against the latency fault, as over a socket", async () => {
    inProcess.faults.latency('youtube', 500);
    try {
      const http = createHttpClient({ endpoints: { youtube: inProcess.baseUrls.youtube }, fetch: inProcess.fetch, timeoutMs: 50 });
      await expect(http.getJson('youtube', '/youtube/v3/videos', { query: { chart: 'mostPopular', key: inProcess.credentials.youtube_api_key } })).rejects.toThrow(TransientUpstreamError);
      await expect(http.getJson('youtube', '/youtube/v3/videos', { query: { chart: 'mostPopular', key: inProcess.credentials.youtube_api_key } })).rejects.toThrow(/timed out after 50 ms/);
    } finally {
      inProcess.faults.clear();
    }
  });
});
