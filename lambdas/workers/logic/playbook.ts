/**
 * playbook_worker: synthesises the playbook report from the latest YouTube and Twitch snapshots,
 * with a data-freshness section (the age of each source). No upstream calls.
 */
import * as z from 'zod';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { ageSeconds, GAMES_SNAPSHOT_ID, GamesSnapshot, TrendingSnapshot, TWITCH_SNAPSHOT_ID } from './common.js';
import { StreamsSnapshot } from './twitch-streams.js';

export const PlaybookReport = z.object({
  type: z.literal('playbook'),
  generatedAt: z.iso.datetime(),
  scheduledTime: z.string(),
  dataFreshness: z.object({
    youtubeFetchedAt: z.iso.datetime().nullable(),
    twitchFetchedAt: z.iso.datetime().nullable(),
    youtubeAgeSeconds: z.number().nonnegative().nullable(),
    twitchAgeSeconds: z.number().nonnegative().nullable(),
  }),
  opportunities: z.array(z.object({ game: z.string(), twitchViewers: z.number(), twitchStreams: z.number(), viewersPerStream: z.number(), youtubeVideos: z.number() })),
  trendingTopics: z.array(z.object({ categoryId: z.string(), topTitles: z.array(z.string()) })),
  recommendations: z.array(z.string()).min(1),
});
export type PlaybookReport = z.infer<typeof PlaybookReport>;

export const REPORT_TTL_SECONDS = 30 * 86_400;
export const LATEST_PLAYBOOK_ID = 'playbook:latest';

type Ctx = WorkerContext<PlaybookReport, never>;

export async function runPlaybook(ctx: Ctx): Promise<RunOutcome> {
  const now = ctx.now();
  const snapshots = await ctx.store.getMany('snapshot', [TWITCH_SNAPSHOT_ID, GAMES_SNAPSHOT_ID]);
  const twitch = StreamsSnapshot.safeParse(snapshots.get(TWITCH_SNAPSHOT_ID)?.data);
  const games = GamesSnapshot.safeParse(snapshots.get(GAMES_SNAPSHOT_ID)?.data);
  const trending = (await ctx.store.list('snapshot', { prefix: 'youtube:trending:' })).flatMap((i) => {
    const p = TrendingSnapshot.safeParse(i.data);
    return p.success ? [p.data] : [];
  });
  const youtubeTimes = [...(games.success ? [Date.parse(games.data.fetchedAt)] : []), ...trending.map((t) => Date.parse(t.fetchedAt))];
  // The YouTube side is as fresh as its stalest snapshot.
  const youtubeFetchedMs = youtubeTimes.length > 0 ? Math.min(...youtubeTimes) : undefined;
  const twitchFetchedMs = twitch.success ? Date.parse(twitch.data.fetchedAt) : undefined;
  if (youtubeFetchedMs === undefined && twitchFetchedMs === undefined) {
    ctx.warn('no YouTube or Twitch snapshot: no playbook generated');
    return { metrics: { report_generated: false, data_freshness_seconds: 0 }, health: { cacheMiss: true } };
  }
  const ytVideos = new Map((games.success ? games.data.games : []).map((g) => [g.name.toLowerCase(), g.videos.length]));
  const opportunities = (twitch.success ? twitch.data.games : [])
    .map((g) => ({ game: g.name, twitchViewers: g.viewers, twitchStreams: g.streams, viewersPerStream: g.streams === 0 ? 0 : Math.round(g.viewers / g.streams), youtubeVideos: ytVideos.get(g.name.toLowerCase()) ?? 0 }))
    .sort((a, b) => b.viewersPerStream - a.viewersPerStream)
    .slice(0, 10);
  const recommendations = opportunities.slice(0, 3).map((o) => `Stream ${o.game}: ${o.viewersPerStream} viewers per stream, ${o.youtubeVideos} trending YouTube videos`);
  if (recommendations.length === 0) recommendations.push('Twitch data missing: rely on YouTube trends only');
  const youtubeAge = youtubeFetchedMs === undefined ? null : ageSeconds(now, youtubeFetchedMs);
  const twitchAge = twitchFetchedMs === undefined ? null : ageSeconds(now, twitchFetchedMs);
  const report = ctx.validate(
    {
      type: 'playbook',
      generatedAt: new Date(now).toISOString(),
      scheduledTime: ctx.scheduledTime,
      dataFreshness: {
        youtubeFetchedAt: youtubeFetchedMs === undefined ? null : new Date(youtubeFetchedMs).toISOString(),
        twitchFetchedAt: twitchFetchedMs === undefined ? null : new Date(twitchFetchedMs).toISOString(),
        youtubeAgeSeconds: youtubeAge,
        twitchAgeSeconds: twitchAge,
      },
      opportunities,
      trendingTopics: trending.map((t) => ({ categoryId: t.categoryId, topTitles: t.videos.slice(0, 3).map((v) => v.title) })),
      recommendations,
    },
    'playbook',
  );
  if (report !== undefined) {
    await ctx.store.putMany('report', [
      { id: `playbook:${ctx.scheduledTime}`, data: report, options: { ttlSeconds: REPORT_TTL_SECONDS } },
      { id: LATEST_PLAYBOOK_ID, data: report, options: { ttlSeconds: REPORT_TTL_SECONDS } },
    ]);
  }
  return {
    metrics: { report_generated: report !== undefined, data_freshness_seconds: Math.max(youtubeAge ?? 0, twitchAge ?? 0) },
    health: { cacheMiss: youtubeFetchedMs === undefined || twitchFetchedMs === undefined },
  };
}

export const playbookWorker: WorkerDefinition<PlaybookReport, never> = {
  id: 'playbook_worker',
  output: PlaybookReport,
  run: runPlaybook,
};
