/**
 * youtube_worker: polls the YouTube Data API v3.
 * - mode `trending`: videos.list chart=mostPopular per category, one snapshot per category.
 * - mode `games`: the Gaming chart (up to `YOUTUBE_GAMES_PAGES` pages), grouped by game into one snapshot.
 * Quota: every videos.list call costs one unit of the daily quota; the worker records what it
 * spent per Pacific day and reports what is left.
 */
import { listEnv, numberEnv } from '../../kit/config.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import {
  ageSeconds,
  DEFAULT_YOUTUBE_DAILY_QUOTA_UNITS,
  GAMES_SNAPSHOT_ID,
  GamesSnapshot,
  listMostPopular,
  recordYoutubeQuota,
  round2,
  toVideoRecord,
  TrendingSnapshot,
  trendingSnapshotId,
  VideoRecord,
  youtubeQuotaUsed,
} from './common.js';

/** Gaming, Music, Sports, Entertainment, People & Blogs, Science & Technology. */
export const DEFAULT_TRENDING_CATEGORIES = ['20', '10', '17', '24', '22', '28'] as const;
export const GAMING_CATEGORY_ID = '20';
/** Snapshots outlive a few missed polls, not more. */
export const SNAPSHOT_TTL_SECONDS = 7 * 86_400;

type Ctx = WorkerContext<VideoRecord, never>;

async function fetchCategory(ctx: Ctx, apiKey: string, categoryId: string, units: { used: number }, maxPages: number): Promise<VideoRecord[]> {
  const videos: VideoRecord[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await listMostPopular(ctx, apiKey, categoryId, units, pageToken === undefined ? {} : { pageToken });
    for (const raw of result.items) {
      const record = ctx.validate(toVideoRecord(raw, categoryId), `video ${categoryId}/${page}`);
      if (record !== undefined) videos.push(record);
    }
    pageToken = result.nextPageToken;
    if (pageToken === undefined || ctx.shouldStop()) break;
  }
  return videos;
}

/** The game a gaming video is about: its first tag (the YouTube Gaming convention the sandbox follows). */
export function gameOf(video: VideoRecord): string | undefined {
  const tag = video.tags[0]?.trim();
  return tag === undefined || tag === '' || tag.toLowerCase() === 'gaming' ? undefined : tag;
}

export async function runYoutube(ctx: Ctx): Promise<RunOutcome> {
  const apiKey = await ctx.secrets.get('youtube_api_key');
  const dailyQuota = numberEnv(ctx.env, 'YOUTUBE_DAILY_QUOTA_UNITS', DEFAULT_YOUTUBE_DAILY_QUOTA_UNITS);
  const units = { used: 0 };
  let categoriesFetched = 0;
  let freshness = 0;
  let cacheMiss = false;
  let stoppedEarly = false;
  let usedToday: number | undefined;
  try {
    if (ctx.mode === 'games') {
      const pages = numberEnv(ctx.env, 'YOUTUBE_GAMES_PAGES', 4);
      const videos = await fetchCategory(ctx, apiKey, GAMING_CATEGORY_ID, units, pages);
      const byGame = new Map<string, VideoRecord[]>();
      for (const v of videos) {
        const game = gameOf(v);
        if (game !== undefined) byGame.set(game, [...(byGame.get(game) ?? []), v]);
      }
      const snapshot: GamesSnapshot = {
        source: 'youtube',
        fetchedAt: new Date(ctx.now()).toISOString(),
        games: [...byGame.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1)).map(([name, vs]) => ({ name, videos: vs })),
      };
      await ctx.store.put('snapshot', GAMES_SNAPSHOT_ID, GamesSnapshot.parse(snapshot), { ttlSeconds: SNAPSHOT_TTL_SECONDS });
      // Games mode: one "category" per game found.
      categoriesFetched = snapshot.games.length;
    } else {
      const categories = listEnv(ctx.env, 'YOUTUBE_CATEGORY_IDS', DEFAULT_TRENDING_CATEGORIES);
      const loop = await ctx.forEachItem(
        categories,
        async (categoryId) => {
          const videos = await fetchCategory(ctx, apiKey, categoryId, units, 1);
          const snapshot: TrendingSnapshot = { source: 'youtube', categoryId, fetchedAt: new Date(ctx.now()).toISOString(), videos };
          await ctx.store.put('snapshot', trendingSnapshotId(categoryId), TrendingSnapshot.parse(snapshot), { ttlSeconds: SNAPSHOT_TTL_SECONDS });
        },
        (c) => `category ${c}`,
      );
      categoriesFetched = loop.ok;
      stoppedEarly = loop.stoppedEarly;
      // Cache freshness: the age of the stalest category snapshot after this run.
      const stored = await ctx.store.getMany('snapshot', categories.map(trendingSnapshotId));
      for (const categoryId of categories) {
        const parsed = TrendingSnapshot.safeParse(stored.get(trendingSnapshotId(categoryId))?.data);
        if (!parsed.success) {
          cacheMiss = true;
          continue;
        }
        freshness = Math.max(freshness, ageSeconds(ctx.now(), Date.parse(parsed.data.fetchedAt)));
      }
    }
  } finally {
    // Spent units count even when the run fails half-way.
    if (units.used > 0) usedToday = await recordYoutubeQuota(ctx.store, ctx.now(), units.used);
  }
  usedToday ??= await youtubeQuotaUsed(ctx.store, ctx.now());
  return {
    metrics: { categories_fetched: categoriesFetched, quota_used: units.used, cache_freshness_seconds: freshness },
    health: { quotaRemainingPercent: round2(Math.max(0, (100 * (dailyQuota - usedToday)) / dailyQuota)), cacheMiss },
    stoppedEarly,
  };
}

export const youtubeWorker: WorkerDefinition<VideoRecord, never> = {
  id: 'youtube_worker',
  output: VideoRecord,
  endpoints: ['youtube'],
  run: runYoutube,
};
