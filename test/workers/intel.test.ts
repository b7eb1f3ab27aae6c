import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { PlanResult } from '../../lambdas/shared/contracts.js';
import { CreatorIntel, creatorIntelId } from '../../lambdas/workers/logic/creator-intel.js';
import { DEFAULT_IMAGE_LIMITS, decodeImage, ImageDecodeError, sniffImageFormat } from '../../lambdas/workers/logic/image.js';
import { PlaybookReport, LATEST_PLAYBOOK_ID } from '../../lambdas/workers/logic/playbook.js';
import { analyzeImage, type ThumbnailAnalysis } from '../../lambdas/workers/logic/thumbnail-intel.js';
import { PNG_THUMBNAIL_CATEGORY_ID, renderJpeg, renderPng, thumbnailFormatOf } from '../../local/sandbox/catalog.js';
import { setup, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await setup();
});
afterEach(() => h.close());

describe('creator_intel_worker', () => {
  it('plans one item per game of the YouTube snapshot and analyses each', async () => {
    await h.run('youtube_worker', 'games');
    h.clock.now += 60_000;
    const plan = PlanResult.parse(await h.invoke('creator_intel_worker', 'analyze', { phase: 'plan' }));
    expect(plan.items.length).toBeGreaterThan(5);
    const first = plan.items[0] as { game: string };
    const one = await h.run('creator_intel_worker', 'analyze', { phase: 'item', item: first });
    expect(one).toMatchObject({ status: 'SUCCEEDED', recordsValid: 1, metrics: { games_processed: 1, analyzers_succeeded: 3 } });
    const intel = CreatorIntel.parse((await h.store.get('intel', creatorIntelId(first.game)))?.data);
    expect(intel.views?.median).toBeGreaterThan(0);
    expect(intel.titles?.topWords.length).toBeGreaterThan(0);
    const all = await h.run('creator_intel_worker', 'analyze');
    expect(all.metrics).toMatchObject({ games_processed: plan.items.length, analyzers_succeeded: 3 * plan.items.length });
    expect(typeof all.metrics['duration_ms']).toBe('number');
  });

  it('reports a cache miss without a snapshot', async () => {
    const result = await h.run('creator_intel_worker', 'analyze');
    expect(result.health.cacheMiss).toBe(true);
    expect(result.metrics['games_processed']).toBe(0);
  });
});

describe('thumbnail_intel_worker', () => {
  /** A fetch that records the thumbnail responses (URL, content type, leading bytes) it passes through. */
  const spyThumbnails = (): { fetch: typeof fetch; seen: { url: string; type: string | null; magic: number[] }[] } => {
    const seen: { url: string; type: string | null; magic: number[] }[] = [];
    const spy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).includes('/ytimg/')) return response;
      const body = new Uint8Array(await response.clone().arrayBuffer());
      seen.push({ url: String(input), type: response.headers.get('content-type'), magic: [...body.subarray(0, 4)] });
      return response;
    };
    return { fetch: spy, seen };
  };

  it('decodes the JPEG thumbnails of a category (item) and reports the metrics', async () => {
    const plan = PlanResult.parse(await h.invoke('thumbnail_intel_worker', 'analyze', { phase: 'plan' }));
    expect(plan.items).toContainEqual({ categoryId: '20' });
    const spy = spyThumbnails();
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '20' }, deps: { fetch: spy.fetch } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 20, recordsInvalid: 0, metrics: { categories_analyzed: 1, thumbnails_processed: 20 } });
    expect(result.metrics['peak_memory_mb']).toBeGreaterThan(0);
    // Like i.ytimg.com: mqdefault.jpg, served as image/jpeg, starting with the JPEG SOI marker.
    expect(spy.seen).toHaveLength(20);
    for (const s of spy.seen) {
      expect(s.url).toMatch(/\/vi\/[A-Za-z0-9_-]{11}\/mqdefault\.jpg$/);
      expect(s.type).toBe('image/jpeg');
      expect(s.magic.slice(0, 3)).toEqual([0xff, 0xd8, 0xff]);
    }
    const intel = (await h.store.get('intel', 'thumbnail:20'))?.data as { analyses: ThumbnailAnalysis[] };
    expect(intel.analyses[0]).toMatchObject({ width: 320, height: 180 });
    expect(intel.analyses[0]?.dominantColours.length).toBeGreaterThan(0);
  });

  it('decodes the PNG thumbnails of the PNG category too, with the same metrics as the JPEG of the same picture', async () => {
    expect(thumbnailFormatOf(PNG_THUMBNAIL_CATEGORY_ID)).toBe('png');
    const spy = spyThumbnails();
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: PNG_THUMBNAIL_CATEGORY_ID }, deps: { fetch: spy.fetch, env: { ...h.sandbox.env, THUMBNAILS_PER_CATEGORY: '3' } } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 3, recordsInvalid: 0, metrics: { thumbnails_processed: 3 } });
    expect(spy.seen.map((s) => [s.type, s.magic])).toEqual(Array.from({ length: 3 }, () => ['image/png', [0x89, 0x50, 0x4e, 0x47]]));
    // The sandbox serves the same picture as .jpg and .png: lossy JPEG barely moves the metrics.
    const url = spy.seen[0]?.url ?? '';
    const png = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const jpg = new Uint8Array(await (await fetch(url.replace(/\.png$/, '.jpg'))).arrayBuffer());
    const a = analyzeImage('v', png);
    const b = analyzeImage('v', jpg);
    expect(b).toMatchObject({ width: a.width, height: a.height });
    expect(Math.abs(a.brightness - b.brightness)).toBeLessThan(0.03);
    expect(b.dominantColours[0]?.colour).toBe(a.dominantColours[0]?.colour);
  });

  it('serves deterministic JPEGs from the seed', async () => {
    const url = `${h.sandbox.baseUrls.youtubeThumbnails}/vi/abcdefghijk/hqdefault.jpg`;
    const first = Buffer.from(await (await fetch(url)).arrayBuffer());
    const other = await setup();
    try {
      const again = Buffer.from(await (await fetch(`${other.sandbox.baseUrls.youtubeThumbnails}/vi/abcdefghijk/hqdefault.jpg`)).arrayBuffer());
      expect(again.equals(first)).toBe(true);
    } finally {
      await other.close();
    }
    expect(decodeImage(first)).toMatchObject({ format: 'jpeg', width: 480, height: 360 });
  });

  it('counts a truncated JPEG as an invalid record', async () => {
    h.sandbox.faults.corrupt('thumbnails', 'truncate');
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '20' }, deps: { env: { ...h.sandbox.env, THUMBNAILS_PER_CATEGORY: '3' } } });
    expect(result).toMatchObject({ recordsValid: 0, recordsInvalid: 3, outputValid: false });
    expect(result.validationWarnings[0]).toMatch(/undecodable image: invalid JPEG/);
  });

  it('counts a truncated PNG as an invalid record', async () => {
    h.sandbox.faults.corrupt('thumbnails', 'truncate');
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: PNG_THUMBNAIL_CATEGORY_ID }, deps: { env: { ...h.sandbox.env, THUMBNAILS_PER_CATEGORY: '3' } } });
    expect(result).toMatchObject({ recordsValid: 0, recordsInvalid: 3, outputValid: false });
    expect(result.validationWarnings[0]).toMatch(/undecodable image: invalid PNG/);
  });

  it('counts an unknown image format as an invalid record, not a crash', async () => {
    // The CDN answers 200 with something that is neither PNG nor JPEG (here: a WebP header, then HTML).
    const bodies = [Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 '), Buffer.from('<html>blocked</html>'), Buffer.alloc(0)];
    let n = 0;
    const other: typeof fetch = async (input, init) => {
      if (!String(input).includes('/ytimg/')) return fetch(input, init);
      return new Response(bodies[n++ % bodies.length], { status: 200, headers: { 'content-type': 'image/webp' } });
    };
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '20' }, deps: { fetch: other, env: { ...h.sandbox.env, THUMBNAILS_PER_CATEGORY: '3' } } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 0, recordsInvalid: 3, outputValid: false, metrics: { thumbnails_processed: 0 } });
    expect(result.validationWarnings.join('\n')).toMatch(/undecodable image: unsupported image format \(leading bytes 52 49 46 46\)/);
    expect(result.validationWarnings.join('\n')).toMatch(/undecodable image: empty image/);
  });

  it('sniffs the format from the magic bytes and refuses images over the limits before decoding them', () => {
    expect(sniffImageFormat(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('png');
    expect(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBe('jpeg');
    expect(sniffImageFormat(Uint8Array.of(0xff, 0xd8))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('GIF89a'))).toBeUndefined();

    // A JPEG whose frame header (SOF0) claims 60000x60000: jpeg-js's maxResolutionInMP stops it.
    const jpeg = Buffer.from(renderJpeg(1, 'k', 16, 16));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    jpeg.writeUInt16BE(60_000, sof + 5);
    jpeg.writeUInt16BE(60_000, sof + 7);
    expect(() => decodeImage(jpeg)).toThrow(ImageDecodeError);
    expect(() => decodeImage(jpeg)).toThrow(/maxResolutionInMP/);
    // A PNG whose IHDR claims 60000x60000 is refused before pngjs allocates anything.
    const png = Buffer.from(renderPng(1, 'k', 16, 16));
    png.writeUInt32BE(60_000, 16);
    png.writeUInt32BE(60_000, 20);
    expect(() => decodeImage(png)).toThrow(/exceeds the 4 MP limit/);
    // Payload size and jpeg-js working memory are capped too.
    expect(() => decodeImage(Buffer.from(renderJpeg(1, 'k', 16, 16)), { ...DEFAULT_IMAGE_LIMITS, maxBytes: 100 })).toThrow(/byte limit/);
    expect(() => decodeImage(Buffer.from(renderJpeg(1, 'k', 1280, 720)), { ...DEFAULT_IMAGE_LIMITS, maxMemoryUsageInMB: 1 })).toThrow(/maxMemoryUsageInMB/);
    // YouTube's largest thumbnail decodes within the default limits.
    expect(decodeImage(renderJpeg(1, 'k', 1280, 720))).toMatchObject({ format: 'jpeg', width: 1280, height: 720 });
  });

  it('stops at the deadline and returns partial results', async () => {
    // 100 s left; every thumbnail "takes" 10 s; stop margin 15 s.
    const start = h.clock.now;
    const slow: typeof fetch = async (input, init) => {
      if (String(input).includes('/ytimg/')) h.clock.now += 10_000;
      return fetch(input, init);
    };
    const result = await h.run('thumbnail_intel_worker', 'analyze', { deps: { fetch: slow }, context: { getRemainingTimeInMillis: () => 100_000 - (h.clock.now - start) } });
    expect(result).toMatchObject({ status: 'PARTIAL', stoppedEarly: true });
    expect(result.metrics['thumbnails_processed']).toBe(9);
    expect(result.metrics['categories_analyzed']).toBe(1);
  });

  it('refuses a thumbnail URL on another host', async () => {
    // The API's thumbnail URLs point at the sandbox; configure another thumbnail host.
    const result = h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '10' }, deps: { env: { ...h.sandbox.env, YOUTUBE_THUMBNAIL_BASE_URL: 'https://i.ytimg.com' } } });
    await expect(result).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('intel_aggregation_worker', () => {
  it('rolls intel up hourly, and hourly rollups up daily', async () => {
    h.clock.now = Date.parse('2026-01-05T10:30:00Z');
    await h.run('youtube_worker', 'games');
    await h.run('creator_intel_worker', 'analyze');
    h.clock.now = Date.parse('2026-01-05T11:05:00Z');
    const hourly = await h.run('intel_aggregation_worker', 'hourly', { mode: 'hourly' });
    expect(Number(hourly.metrics['categories_aggregated'])).toBeGreaterThan(5);
    expect(await h.store.get('aggregate', 'intel:hourly:2026-01-05T10')).toBeDefined();
    h.clock.now = Date.parse('2026-01-06T00:15:00Z');
    const daily = await h.run('intel_aggregation_worker', 'daily', { mode: 'daily' });
    expect(daily.metrics['categories_aggregated']).toBe(hourly.metrics['categories_aggregated']);
  });
});

describe('playbook_worker', () => {
  it('synthesises a report with a data-freshness section', async () => {
    await h.run('youtube_worker', 'games');
    await h.run('youtube_worker', 'trending');
    h.clock.now += 10 * 60_000;
    await h.run('twitch_streams_worker', 'poll');
    h.clock.now += 5 * 60_000;
    const result = await h.run('playbook_worker', 'synthesize');
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 1, metrics: { report_generated: true, data_freshness_seconds: 900 }, health: { cacheMiss: false } });
    const report = PlaybookReport.parse((await h.store.get('report', LATEST_PLAYBOOK_ID))?.data);
    expect(report.dataFreshness).toMatchObject({ youtubeAgeSeconds: 900, twitchAgeSeconds: 300 });
    expect(report.opportunities.length).toBeGreaterThan(0);
    expect(report.trendingTopics).toHaveLength(6);
  });

  it('generates nothing without data', async () => {
    const result = await h.run('playbook_worker', 'synthesize');
    expect(result.metrics['report_generated']).toBe(false);
    expect(result.health.cacheMiss).toBe(true);
  });
});
