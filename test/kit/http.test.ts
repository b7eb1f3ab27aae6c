import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, QuotaExhaustedError, TransientUpstreamError, UpstreamRejectedError, UpstreamThrottledError } from '../../lib/domain/errors.js';
import { createHttpClient, errorForStatus, httpStatusOf, readRateLimit } from '../../lambdas/kit/http.js';
import { startSandbox, type Sandbox } from '../../local/sandbox/server.js';
import { T0 } from '../workers/harness.js';

describe('errorForStatus', () => {
  it.each([
    [429, '', UpstreamThrottledError],
    [403, '{"error":{"errors":[{"reason":"quotaExceeded"}]}}', QuotaExhaustedError],
    [403, '{"error":{"errors":[{"reason":"rateLimitExceeded"}]}}', UpstreamThrottledError],
    [403, 'forbidden', UpstreamRejectedError],
    [500, '', TransientUpstreamError],
    [503, '', TransientUpstreamError],
    [408, '', TransientUpstreamError],
    [400, '', UpstreamRejectedError],
    [401, '', UpstreamRejectedError],
    [404, '', UpstreamRejectedError],
  ])('%i %s -> %o', (status, body, cls) => {
    const error = errorForStatus(status, 'http://x/y', body);
    expect(error).toBeInstanceOf(cls);
    expect(httpStatusOf(error)).toBe(status);
  });
});

describe('readRateLimit', () => {
  it('reads Twitch headers (reset in epoch seconds)', () => {
    const headers = new Headers({ 'Ratelimit-Limit': '800', 'Ratelimit-Remaining': '12', 'Ratelimit-Reset': '1767614460' });
    expect(readRateLimit(headers, 5)).toEqual({ limit: 800, remaining: 12, resetAtMs: 1_767_614_460_000, observedAtMs: 5 });
    expect(readRateLimit(new Headers(), 5)).toBeUndefined();
  });
});

describe('httpClient against the sandbox', () => {
  let sandbox: Sandbox;
  const clock = { now: T0 };
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 1, clock: () => clock.now });
  });
  afterAll(() => sandbox.close());

  it('refuses any URL outside the configured endpoints', async () => {
    const http = createHttpClient({ endpoints: { youtubeThumbnails: sandbox.baseUrls.youtubeThumbnails } });
    await expect(http.getBytes('https://evil.example.com/vi/x/mqdefault.png')).rejects.toBeInstanceOf(ConfigurationError);
    // Same host, another API's path: still outside.
    await expect(http.getBytes(`${sandbox.baseUrls.twitchApi}/helix/games/top`)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(http.getBytes(`${sandbox.baseUrls.youtubeThumbnails}/../twitch-api/helix/games/top`)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(http.getJson('twitchApi', '/helix/games/top')).rejects.toBeInstanceOf(ConfigurationError);
    expect(http.requestCounts()).toEqual({});
  });

  it('times out slow answers as TransientUpstreamError', async () => {
    sandbox.faults.latency('youtube', 300);
    try {
      const http = createHttpClient({ endpoints: { youtube: sandbox.baseUrls.youtube }, timeoutMs: 50 });
      await expect(http.getJson('youtube', '/youtube/v3/videos', { query: { chart: 'mostPopular' } })).rejects.toThrow(/timed out after 50 ms/);
    } finally {
      sandbox.faults.clear();
    }
  });

  it('maps a truncated body to TransientUpstreamError and a refused connection too', async () => {
    sandbox.faults.corrupt('youtube', 'truncate');
    try {
      const http = createHttpClient({ endpoints: { youtube: sandbox.baseUrls.youtube } });
      await expect(http.getJson('youtube', '/youtube/v3/videos', { query: { chart: 'mostPopular', videoCategoryId: '20', key: sandbox.credentials.youtube_api_key } })).rejects.toBeInstanceOf(TransientUpstreamError);
    } finally {
      sandbox.faults.clear();
    }
    const closed = createHttpClient({ endpoints: { x: 'http://127.0.0.1:9' }, timeoutMs: 1000 });
    await expect(closed.getJson('x', '/')).rejects.toBeInstanceOf(TransientUpstreamError);
  });

  it('captures rate-limit headers and throttles before sending once they hit zero', async () => {
    const http = createHttpClient({ endpoints: { twitchAuth: sandbox.baseUrls.twitchAuth, twitchApi: sandbox.baseUrls.twitchApi }, clock: () => clock.now });
    const token = (await http.postForm('twitchAuth', '/oauth2/token', { client_id: sandbox.credentials.twitch_client_id, client_secret: sandbox.credentials.twitch_client_secret, grant_type: 'client_credentials' })).body as { access_token: string };
    const headers = { 'client-id': sandbox.credentials.twitch_client_id, authorization: `Bearer ${token.access_token}` };
    await http.getJson('twitchApi', '/helix/games/top', { headers });
    expect(http.rateLimit('twitchApi')).toMatchObject({ limit: 800, remaining: 799 });
    sandbox.faults.exhaustTwitchRateLimit();
    await expect(http.getJson('twitchApi', '/helix/games/top', { headers })).rejects.toBeInstanceOf(UpstreamThrottledError);
    expect(http.rateLimit('twitchApi')?.remaining).toBe(0);
    const sent = http.requestCounts()['twitchApi'];
    await expect(http.getJson('twitchApi', '/helix/games/top', { headers })).rejects.toThrow(/rate limit of twitchApi is spent/);
    expect(http.requestCounts()['twitchApi']).toBe(sent);
    clock.now += 60_000; // the bucket refills
    await expect(http.getJson('twitchApi', '/helix/games/top', { headers })).resolves.toMatchObject({ status: 200 });
  });
});
