/**
 * creator_intel_worker: analyses the latest YouTube games snapshot, one game per work item.
 * Plan lists the snapshot's games; an item runs three analyzers on one game (upload cadence,
 * title/tag patterns, view distribution) and stores an intel record. No upstream calls.
 * The orchestrator's lock is the in-progress flag intel aggregation waits on.
 */
import * as z from 'zod';
import { numberEnv } from '../../kit/config.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { DAY_MS, GAMES_SNAPSHOT_ID, GamesSnapshot, median, percentile, round2, slug, type VideoRecord } from './common.js';

export const GameItem = z.object({ game: z.string().min(1) });
export type GameItem = z.infer<typeof GameItem>;

export const CreatorIntel = z.object({
  type: z.literal('creator'),
  game: z.string().min(1),
  analyzedAt: z.iso.datetime(),
  sourceFetchedAt: z.iso.datetime(),
  videoCount: z.number().int().nonnegative(),
  cadence: z.object({ uploadsPerDay: z.number().nonnegative(), channels: z.number().int().nonnegative(), topChannels: z.array(z.object({ channel: z.string(), uploads: z.number().int() })) }).optional(),
  titles: z.object({ avgLength: z.number().nonnegative(), capsShare: z.number().min(0).max(1), numberShare: z.number().min(0).max(1), topWords: z.array(z.string()), topTags: z.array(z.string()) }).optional(),
  views: z.object({ median: z.number().nonnegative(), p90: z.number().nonnegative(), mean: z.number().nonnegative(), top10Share: z.number().min(0).max(1) }).optional(),
  analyzersSucceeded: z.number().int().nonnegative(),
  analyzersFailed: z.number().int().nonnegative(),
});
export type CreatorIntel = z.infer<typeof CreatorIntel>;

export const INTEL_TTL_SECONDS = 14 * 86_400;
export const creatorIntelId = (game: string): string => `creator:${slug(game)}`;

const STOP_WORDS = new Set(['the', 'a', 'an', 'of', 'for', 'in', 'is', 'it', 'and', 'to', 'but', 'every', 'my', 'i', 'at', 'on', 'how', 'this', 'with']);

function topCounts(values: readonly string[], n: number): string[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([k]) => k);
}

export function analyzeCadence(videos: readonly VideoRecord[]): NonNullable<CreatorIntel['cadence']> {
  if (videos.length === 0) throw new Error('no videos');
  const times = videos.map((v) => Date.parse(v.publishedAt));
  const spanDays = Math.max(1, (Math.max(...times) - Math.min(...times)) / DAY_MS);
  const perChannel = new Map<string, number>();
  for (const v of videos) perChannel.set(v.channelTitle, (perChannel.get(v.channelTitle) ?? 0) + 1);
  return {
    uploadsPerDay: round2(videos.length / spanDays),
    channels: perChannel.size,
    topChannels: [...perChannel.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([channel, uploads]) => ({ channel, uploads })),
  };
}

export function analyzeTitles(videos: readonly VideoRecord[], game: string): NonNullable<CreatorIntel['titles']> {
  if (videos.length === 0) throw new Error('no videos');
  const gameWords = new Set(game.toLowerCase().split(/\W+/));
  const words = videos.flatMap((v) => v.title.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1 && !STOP_WORDS.has(w) && !gameWords.has(w)));
  return {
    avgLength: round2(videos.reduce((s, v) => s + v.title.length, 0) / videos.length),
    capsShare: round2(videos.filter((v) => /\b[A-Z]{3,}\b/.test(v.title)).length / videos.length),
    numberShare: round2(videos.filter((v) => /\d/.test(v.title)).length / videos.length),
    topWords: topCounts(words, 8),
    topTags: topCounts(videos.flatMap((v) => v.tags.slice(1)), 5),
  };
}

export function analyzeViews(videos: readonly VideoRecord[]): NonNullable<CreatorIntel['views']> {
  if (videos.length === 0) throw new Error('no videos');
  const views = videos.map((v) => v.viewCount);
  const total = views.reduce((s, v) => s + v, 0);
  const top = [...views].sort((a, b) => b - a).slice(0, Math.max(1, Math.ceil(views.length / 10)));
  return { median: median(views), p90: percentile(views, 90), mean: round2(total / views.length), top10Share: total === 0 ? 0 : round2(top.reduce((s, v) => s + v, 0) / total) };
}

type Ctx = WorkerContext<CreatorIntel, GameItem>;

async function latestSnapshot(ctx: Ctx): Promise<GamesSnapshot | undefined> {
  const parsed = GamesSnapshot.safeParse((await ctx.store.get('snapshot', GAMES_SNAPSHOT_ID))?.data);
  return parsed.success ? parsed.data : undefined;
}

export async function planCreatorIntel(ctx: Ctx): Promise<GameItem[]> {
  const snapshot = await latestSnapshot(ctx);
  const max = numberEnv(ctx.env, 'CREATOR_INTEL_MAX_GAMES', 20);
  return (snapshot?.games ?? []).slice(0, max).map((g) => ({ game: g.name }));
}

/** Analyses one game; returns the number of analyzers that succeeded. */
async function analyzeGame(ctx: Ctx, snapshot: GamesSnapshot, game: string): Promise<number> {
  const videos = snapshot.games.find((g) => g.name === game)?.videos;
  if (videos === undefined) throw new Error(`game "${game}" is not in the games snapshot`);
  const analyzers = {
    cadence: () => analyzeCadence(videos),
    titles: () => analyzeTitles(videos, game),
    views: () => analyzeViews(videos),
  };
  const results: Partial<Pick<CreatorIntel, 'cadence' | 'titles' | 'views'>> = {};
  let failed = 0;
  for (const [name, analyze] of Object.entries(analyzers)) {
    try {
      Object.assign(results, { [name]: analyze() });
    } catch (error) {
      failed++;
      ctx.warn(`analyzer ${name} failed for ${game}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const succeeded = Object.keys(results).length;
  const record = ctx.validate(
    { type: 'creator', game, analyzedAt: new Date(ctx.now()).toISOString(), sourceFetchedAt: snapshot.fetchedAt, videoCount: videos.length, ...results, analyzersSucceeded: succeeded, analyzersFailed: failed },
    `intel ${game}`,
  );
  if (record !== undefined) await ctx.store.put('intel', creatorIntelId(game), record, { ttlSeconds: INTEL_TTL_SECONDS });
  return succeeded;
}

export async function runCreatorIntel(ctx: Ctx): Promise<RunOutcome> {
  const snapshot = await latestSnapshot(ctx);
  if (snapshot === undefined) {
    ctx.warn('no YouTube games snapshot to analyse');
    return { metrics: { games_processed: 0, analyzers_succeeded: 0 }, health: { cacheMiss: true }, itemsOk: 0, itemsFailed: 0 };
  }
  const items = ctx.item !== undefined ? [ctx.item] : await planCreatorIntel(ctx);
  const loop = await ctx.forEachItem(items, (item) => analyzeGame(ctx, snapshot, item.game), (i) => i.game);
  return { metrics: { games_processed: loop.ok, analyzers_succeeded: loop.results.reduce((s, n) => s + n, 0) }, health: { cacheMiss: false } };
}

export const creatorIntelWorker: WorkerDefinition<CreatorIntel, GameItem> = {
  id: 'creator_intel_worker',
  output: CreatorIntel,
  item: GameItem,
  plan: planCreatorIntel,
  run: runCreatorIntel,
};
