import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, QuotaExhaustedError, TransientUpstreamError, UpstreamThrottledError } from '../../lib/domain/errors.js';
import { PlanResult } from '../../lambdas/shared/contracts.js';
import { GAMES_SNAPSHOT_ID, GamesSnapshot, TrendingSnapshot, trendingSnapshotId, TWITCH_SNAPSHOT_ID } from '../../lambdas/workers/logic/common.js';
import { CLIPS_PER_BUCKET, ClipBucket, clipsOfItems } from '../../lambdas/workers/logic/clip-buckets.js';
import { StreamsSnapshot } from '../../lambdas/workers/logic/twitch-streams.js';
import { setup, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await setup();
});
afterEach(() => h.close());

describe('youtube_worker', () => {
  it('trending: one snapshot per category with fetchedAt, quota accounting and metrics', async () => {
    const result = await h.run('youtube_worker', 'trending');
    expect(result).toMatchObject({ status: 'SUCCEEDED', outputValid: true, recordsValid: 300, recordsInvalid: 0, validationWarnings: [], itemsOk: 6 });
    expect(result.metrics).toEqual({ categories_fetched: 6, quota_used: 6, cache_freshness_seconds: 0 });
    expect(result.health).toEqual({ quotaRemainingPercent: 99.94, cacheMiss: false });
    const snap = TrendingSnapshot.parse((await h.store.get('snapshot', trendingSnapshotId('20')))?.data);
    expect(snap.fetchedAt).toBe(new Date(h.clock.now).toISOString());
    expect(snap.videos).toHaveLength(50);
    expect(h.sandbox.stats().youtubeQuotaUsed).toBe(6);
    // Freshness is the age of the stalest snapshot: 30 minutes on, one category down.
    h.clock.now += 30 * 60_000;
    let calls = 0;
    const secondFails: typeof fetch = (input, init) => (++calls === 2 ? Promise.resolve(new Response('down', { status: 503 })) : fetch(input, init));
    const second = await h.run('youtube_worker', 'trending', { deps: { fetch: secondFails } });
    expect(second).toMatchObject({ status: 'PARTIAL', itemsFailed: 1 });
    expect(second.metrics['cache_freshness_seconds']).toBe(1800);
    expect(second.metrics['quota_used']).toBe(6);
  });

  it('games: groups the gaming chart by game', async () => {
    const result = await h.run('youtube_worker', 'games');
    expect(result.metrics['quota_used']).toBe(4);
    const snap = GamesSnapshot.parse((await h.store.get('snapshot', GAMES_SNAPSHOT_ID))?.data);
    expect(snap.games.length).toBe(result.metrics['categories_fetched']);
    expect(snap.games.length).toBeGreaterThan(5);
    expect(snap.games.reduce((n, g) => n + g.videos.length, 0)).toBe(200);
  });

  it('maps an outage to TransientUpstreamError and spent quota to QuotaExhaustedError', async () => {
    h.sandbox.faults.outage('youtube', { fromMs: h.clock.now, untilMs: h.clock.now + 60_000 });
    await expect(h.run('youtube_worker', 'trending')).rejects.toBeInstanceOf(TransientUpstreamError);
    h.clock.now += 60_000;
    h.sandbox.faults.exhaustYoutubeQuota();
    await expect(h.run('youtube_worker', 'trending')).rejects.toBeInstanceOf(QuotaExhaustedError);
  });

  it('reports garbled records as invalid instead of storing them', async () => {
    h.sandbox.faults.corrupt('youtube', 'garble');
    const result = await h.run('youtube_worker', 'trending', { deps: { env: { ...h.sandbox.env, YOUTUBE_CATEGORY_IDS: '20' } } });
    expect(result.recordsInvalid).toBeGreaterThan(10);
    expect(result.recordsValid + result.recordsInvalid).toBe(50);
    expect(result.outputValid).toBe(true);
    expect(result.validationWarnings[0]).toMatch(/invalid record video 20/);
    const snap = TrendingSnapshot.parse((await h.store.get('snapshot', trendingSnapshotId('20')))?.data);
    expect(snap.videos).toHaveLength(result.recordsValid);
  });

  it('counts a failed category and goes on (PARTIAL)', async () => {
    let calls = 0;
    const flaky: typeof fetch = (input, init) => (++calls === 2 ? Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })) : fetch(input, init));
    const result = await h.run('youtube_worker', 'trending', { deps: { fetch: flaky } });
    expect(result).toMatchObject({ status: 'PARTIAL', itemsOk: 5, itemsFailed: 1 });
    expect(result.metrics['categories_fetched']).toBe(5);
  });

  it('reaches nothing but its configured endpoints', async () => {
    const result = h.run('youtube_worker', 'trending', { deps: { env: { ...h.sandbox.env, YOUTUBE_API_BASE_URL: 'http://127.0.0.1:1/yt' } } });
    await expect(result).rejects.toBeInstanceOf(TransientUpstreamError);
    const missing = h.run('youtube_worker', 'trending', { deps: { env: { TWITCH_API_BASE_URL: h.sandbox.baseUrls.twitchApi } } });
    await expect(missing).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('twitch_streams_worker', () => {
  it('stores top games with stream and viewer totals and reports API health', async () => {
    const result = await h.run('twitch_streams_worker', 'poll');
    expect(result).toMatchObject({ status: 'SUCCEEDED', outputValid: true, recordsInvalid: 0 });
    const snap = StreamsSnapshot.parse((await h.store.get('snapshot', TWITCH_SNAPSHOT_ID))?.data);
    expect(result.metrics).toEqual({ games_fetched: 10, total_streams: snap.games.reduce((n, g) => n + g.streams, 0), total_viewers: snap.games.reduce((n, g) => n + g.viewers, 0) });
    expect(result.metrics['total_viewers']).toBeGreaterThan(1000);
    const requests = h.sandbox.stats().requests.twitch;
    expect(result.health.quotaRemainingPercent).toBeCloseTo((100 * (800 - requests)) / 800, 1);
    // Deterministic: same seed, same time, same numbers.
    const again = await setup();
    try {
      expect((await again.run('twitch_streams_worker', 'poll')).metrics).toEqual(result.metrics);
    } finally {
      await again.close();
    }
  });

  it('maps 429 to UpstreamThrottledError and 503 to TransientUpstreamError', async () => {
    await h.run('twitch_streams_worker', 'poll', { deps: { env: { ...h.sandbox.env, TWITCH_TOP_GAMES: '1' } } });
    h.sandbox.faults.exhaustTwitchRateLimit();
    await expect(h.run('twitch_streams_worker', 'poll')).rejects.toBeInstanceOf(UpstreamThrottledError);
    h.clock.now += 120_000;
    h.sandbox.faults.outage('twitch');
    await expect(h.run('twitch_streams_worker', 'poll')).rejects.toBeInstanceOf(TransientUpstreamError);
  });

  it('renews a revoked token once', async () => {
    await h.run('twitch_streams_worker', 'poll', { deps: { env: { ...h.sandbox.env, TWITCH_TOP_GAMES: '1' } } });
    h.sandbox.faults.revokeTwitchTokens();
    await h.run('twitch_streams_worker', 'poll', { deps: { env: { ...h.sandbox.env, TWITCH_TOP_GAMES: '1' } } });
    expect(h.sandbox.stats().tokensIssued).toBe(2);
  });
});

describe('clip_radar_worker and clip_radar_recap_worker', () => {
  it('detects viral clips by view velocity between polls, then recaps the day by hour', async () => {
    // Poll every 5 minutes for 3 hours of the day.
    h.clock.now = Date.parse('2026-01-05T09:00:00Z');
    let last = await h.run('clip_radar_worker', 'poll');
    let viral = Number(last.metrics['viral_detected']);
    for (let i = 0; i < 36; i++) {
      h.clock.now += 5 * 60_000;
      last = await h.run('clip_radar_worker', 'poll');
      viral += Number(last.metrics['viral_detected']);
    }
    expect(last.metrics['clips_scanned']).toBeGreaterThan(20);
    expect(typeof last.metrics['poll_duration_ms']).toBe('number');
    expect(last.outputValid).toBe(true);
    expect(viral).toBeGreaterThan(0);
    const clips = clipsOfItems(await h.store.list('clip'), (m) => expect.fail(m));
    expect(clips.filter((c) => c.viral)).toHaveLength(viral);
    expect(clips.every((c) => c.viral === (c.viralAt !== undefined))).toBe(true);

    // The next morning's recap.
    h.clock.now = Date.parse('2026-01-06T06:00:00Z');
    const plan = PlanResult.parse(await h.invoke('clip_radar_recap_worker', 'recap', { phase: 'plan' }));
    expect(plan.items).toHaveLength(24);
    expect(plan.items[0]).toEqual({ hour: '2026-01-05T00' });
    const hour = await h.run('clip_radar_recap_worker', 'recap', { phase: 'item', item: { hour: '2026-01-05T10' } });
    expect(hour.metrics['clips_compressed']).toBe(clips.filter((c) => c.createdAt.startsWith('2026-01-05T10')).length);
    const day = await h.run('clip_radar_recap_worker', 'recap');
    expect(day.metrics).toMatchObject({ clips_compressed: clips.filter((c) => c.createdAt.startsWith('2026-01-05')).length, viral_clips: clips.filter((c) => c.viral && c.createdAt.startsWith('2026-01-05')).length });
    expect(day.itemsOk).toBe(24);
  });

  it('reads the buckets of the hours it covers once, writes the buckets it changed in full batches, and measures from the previous poll', async () => {
    h.clock.now = Date.parse('2026-01-05T09:00:00Z');
    await h.run('clip_radar_worker', 'poll');
    const clipsOf = async () => new Map(clipsOfItems(await h.store.list('clip'), (m) => expect.fail(m)).map((c) => [c.id, c]));
    const before = await clipsOf();
    expect(before.size).toBeGreaterThan(20);
    const get = vi.spyOn(h.store, 'get');
    const getMany = vi.spyOn(h.store, 'getMany');
    const list = vi.spyOn(h.store, 'list');
    const putMany = vi.spyOn(h.store, 'putMany');
    h.clock.now += 5 * 60_000;
    const result = await h.run('clip_radar_worker', 'poll');
    expect(get.mock.calls.filter(([kind]) => kind === 'clip')).toEqual([]);
    expect(getMany.mock.calls.filter(([kind]) => kind === 'clip')).toEqual([]);
    // The last hour reaches back into the previous clock hour: two prefix reads, one per hour.
    expect(list.mock.calls.filter(([kind]) => kind === 'clip').map(([, o]) => o?.prefix)).toEqual(['2026-01-05T08#', '2026-01-05T09#']);
    const writes = putMany.mock.calls.filter(([kind]) => kind === 'clip').map(([, r]) => r).filter((r) => r.length > 0);
    expect(writes.length).toBeGreaterThan(0);
    const rows = writes.flat();
    // A full BatchWriteItem at a time, the rest at the end: every write but the last holds 25 parts or more.
    for (const w of writes.slice(0, -1)) expect(w.length).toBeGreaterThanOrEqual(25);
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(rows.length / 25));
    // Each row is one bucket part of one game's hour.
    for (const row of rows) {
      const bucket = ClipBucket.parse(row.data);
      expect(row.id).toBe(`${bucket.hour}#${bucket.gameId}#${String(bucket.part).padStart(3, '0')}`);
      expect(bucket.clips.length).toBeLessThanOrEqual(CLIPS_PER_BUCKET);
      expect(row.options?.ttlSeconds).toBe(3 * 86_400);
    }
    expect(rows.length).toBeLessThan(Number(result.metrics['clips_scanned']) / 5);
    // Clips seen before keep their first sighting and measure velocity from the last one.
    const after = await clipsOf();
    const seenAgain = [...after.values()].filter((c) => before.has(c.id) && c.lastSeenAt === new Date(h.clock.now).toISOString());
    expect(seenAgain.length).toBeGreaterThan(0);
    for (const c of seenAgain) {
      const prev = before.get(c.id);
      expect(c.firstSeenAt).toBe(prev?.firstSeenAt);
      expect(c.velocityPerMinute).toBe(Math.round((Math.max(0, c.views - (prev?.views ?? 0)) / 5) * 100) / 100);
    }
    // Nothing seen before was lost.
    for (const id of before.keys()) expect(after.has(id)).toBe(true);
  });
});
