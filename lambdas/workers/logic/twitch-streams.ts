/**
 * twitch_streams_worker: top games and their live streams from Twitch Helix, every 15 minutes,
 * into one snapshot. The rate-limit headers feed the API-health figure.
 */
import * as z from 'zod';
import { numberEnv } from '../../kit/config.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { HelixPage, topGames, TWITCH_SNAPSHOT_ID, TwitchClient } from './common.js';

export const StreamRecord = z.object({
  id: z.string().min(1),
  userName: z.string(),
  gameId: z.string().min(1),
  title: z.string(),
  viewerCount: z.number().int().nonnegative(),
  startedAt: z.iso.datetime(),
  language: z.string(),
});
export type StreamRecord = z.infer<typeof StreamRecord>;

export const StreamsSnapshot = z.object({
  source: z.literal('twitch'),
  fetchedAt: z.iso.datetime(),
  games: z.array(z.object({ id: z.string(), name: z.string(), streams: z.number().int(), viewers: z.number().int(), topStreams: z.array(StreamRecord) })),
});
export type StreamsSnapshot = z.infer<typeof StreamsSnapshot>;

export const SNAPSHOT_TTL_SECONDS = 2 * 86_400;
const UpstreamStream = z.object({ id: z.unknown(), user_name: z.unknown(), game_id: z.unknown(), title: z.unknown(), viewer_count: z.unknown(), started_at: z.unknown(), language: z.unknown() }).partial();

type Ctx = WorkerContext<StreamRecord, never>;

export async function runTwitchStreams(ctx: Ctx): Promise<RunOutcome> {
  const gamesWanted = numberEnv(ctx.env, 'TWITCH_TOP_GAMES', 10);
  const maxPages = numberEnv(ctx.env, 'TWITCH_STREAM_PAGES', 2);
  const twitch = await TwitchClient.create(ctx);
  const games = await topGames(twitch, gamesWanted);
  const loop = await ctx.forEachItem(
    games,
    async (game) => {
      const streams: StreamRecord[] = [];
      let after: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const parsed = HelixPage.safeParse(await twitch.get('/helix/streams', { game_id: game.id, first: 100, after }));
        if (!parsed.success) {
          ctx.invalid(`streams of ${game.name}`, 'unexpected body');
          break;
        }
        for (const raw of parsed.data.data) {
          const s = UpstreamStream.safeParse(raw);
          const record = ctx.validate(
            s.success ? { id: s.data.id, userName: s.data.user_name, gameId: s.data.game_id, title: s.data.title, viewerCount: s.data.viewer_count, startedAt: s.data.started_at, language: s.data.language } : raw,
            `stream of ${game.name}`,
          );
          if (record !== undefined) streams.push(record);
        }
        after = parsed.data.pagination?.cursor;
        if (after === undefined || ctx.shouldStop()) break;
      }
      return { id: game.id, name: game.name, streams: streams.length, viewers: streams.reduce((sum, s) => sum + s.viewerCount, 0), topStreams: streams.slice(0, 10) };
    },
    (g) => g.name,
  );
  const snapshot: StreamsSnapshot = { source: 'twitch', fetchedAt: new Date(ctx.now()).toISOString(), games: [...loop.results] };
  await ctx.store.put('snapshot', TWITCH_SNAPSHOT_ID, StreamsSnapshot.parse(snapshot), { ttlSeconds: SNAPSHOT_TTL_SECONDS });
  const remaining = twitch.rateLimitRemainingPercent();
  return {
    metrics: {
      games_fetched: loop.ok,
      total_streams: snapshot.games.reduce((sum, g) => sum + g.streams, 0),
      total_viewers: snapshot.games.reduce((sum, g) => sum + g.viewers, 0),
    },
    health: remaining === undefined ? {} : { quotaRemainingPercent: remaining },
  };
}

export const twitchStreamsWorker: WorkerDefinition<StreamRecord, never> = {
  id: 'twitch_streams_worker',
  output: StreamRecord,
  endpoints: ['twitchApi', 'twitchAuth'],
  run: runTwitchStreams,
};
