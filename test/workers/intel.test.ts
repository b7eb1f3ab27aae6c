import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { PlanResult } from '../../lambdas/shared/contracts.js';
import { CreatorIntel, creatorIntelId } from '../../lambdas/workers/logic/creator-intel.js';
import { PlaybookReport, LATEST_PLAYBOOK_ID } from '../../lambdas/workers/logic/playbook.js';
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
  it('decodes the thumbnails of a category (item) and reports the metrics', async () => {
    const plan = PlanResult.parse(await h.invoke('thumbnail_intel_worker', 'analyze', { phase: 'plan' }));
    expect(plan.items).toContainEqual({ categoryId: '20' });
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '20' } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 20, recordsInvalid: 0, metrics: { categories_analyzed: 1, thumbnails_processed: 20 } });
    expect(result.metrics['peak_memory_mb']).toBeGreaterThan(0);
    const intel = (await h.store.get('intel', 'thumbnail:20'))?.data as { analyses: { width: number; height: number; dominantColours: unknown[] }[] };
    expect(intel.analyses[0]).toMatchObject({ width: 320, height: 180 });
    expect(intel.analyses[0]?.dominantColours.length).toBeGreaterThan(0);
  });

  it('counts undecodable images as invalid records', async () => {
    h.sandbox.faults.corrupt('thumbnails', 'truncate');
    const result = await h.run('thumbnail_intel_worker', 'analyze', { phase: 'item', item: { categoryId: '10' }, deps: { env: { ...h.sandbox.env, THUMBNAILS_PER_CATEGORY: '3' } } });
    expect(result).toMatchObject({ recordsValid: 0, recordsInvalid: 3, outputValid: false });
    expect(result.validationWarnings[0]).toMatch(/undecodable image/);
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
