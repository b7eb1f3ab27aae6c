/**
 * clip_radar_recap_worker: compresses the previous day's clips into recaps, one hour per work
 * item (`recap` / `clip_radar:<hour>`), and a day recap when run whole.
 */
import * as z from 'zod';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { DAY_MS, dayKey, hourKey, HOUR_MS } from './common.js';
import { clipsOfItems } from './clip-buckets.js';

export const HourItem = z.object({ hour: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/) });
export type HourItem = z.infer<typeof HourItem>;

export const HourRecap = z.object({
  hour: z.string(),
  clips: z.number().int().nonnegative(),
  viralClips: z.number().int().nonnegative(),
  totalViews: z.number().int().nonnegative(),
  topClips: z.array(z.object({ id: z.string(), gameId: z.string(), title: z.string(), views: z.number().int(), viral: z.boolean() })),
  byGame: z.record(z.string(), z.number().int().nonnegative()),
  compressedAt: z.iso.datetime(),
});
export type HourRecap = z.infer<typeof HourRecap>;

export const RECAP_TTL_SECONDS = 90 * 86_400;

type Ctx = WorkerContext<HourRecap, HourItem>;

/** The 24 hours of the UTC day before the scheduled time. */
export function planRecap(ctx: Ctx): Promise<HourItem[]> {
  const dayStart = Math.floor(ctx.scheduledAtMs / DAY_MS) * DAY_MS - DAY_MS;
  return Promise.resolve(Array.from({ length: 24 }, (_, h) => ({ hour: hourKey(dayStart + h * HOUR_MS) })));
}

async function recapHour(ctx: Ctx, hour: string): Promise<HourRecap | undefined> {
  const clips = clipsOfItems(await ctx.store.list('clip', { prefix: `${hour}#` }), (m) => ctx.warn(m));
  const byGame: Record<string, number> = {};
  for (const c of clips) byGame[c.gameId] = (byGame[c.gameId] ?? 0) + 1;
  const recap = ctx.validate(
    {
      hour,
      clips: clips.length,
      viralClips: clips.filter((c) => c.viral).length,
      totalViews: clips.reduce((s, c) => s + c.views, 0),
      topClips: [...clips].sort((a, b) => b.views - a.views || (a.id < b.id ? -1 : 1)).slice(0, 10).map((c) => ({ id: c.id, gameId: c.gameId, title: c.title, views: c.views, viral: c.viral })),
      byGame,
      compressedAt: new Date(ctx.now()).toISOString(),
    },
    `recap ${hour}`,
  );
  if (recap !== undefined) await ctx.store.put('recap', `clip_radar:${hour}`, recap, { ttlSeconds: RECAP_TTL_SECONDS });
  return recap;
}

export async function runRecap(ctx: Ctx): Promise<RunOutcome> {
  const items = ctx.item !== undefined ? [ctx.item] : await planRecap(ctx);
  const loop = await ctx.forEachItem(items, (item) => recapHour(ctx, item.hour), (i) => i.hour);
  const recaps = loop.results.flatMap((r) => (r === undefined ? [] : [r]));
  if (ctx.item === undefined && !loop.stoppedEarly) {
    const day = dayKey(Math.floor(ctx.scheduledAtMs / DAY_MS) * DAY_MS - DAY_MS);
    await ctx.store.put('recap', `clip_radar:${day}`, { day, hours: recaps.length, clips: recaps.reduce((s, r) => s + r.clips, 0), viralClips: recaps.reduce((s, r) => s + r.viralClips, 0) }, { ttlSeconds: RECAP_TTL_SECONDS });
  }
  return { metrics: { clips_compressed: recaps.reduce((s, r) => s + r.clips, 0), viral_clips: recaps.reduce((s, r) => s + r.viralClips, 0) } };
}

export const clipRadarRecapWorker: WorkerDefinition<HourRecap, HourItem> = {
  id: 'clip_radar_recap_worker',
  output: HourRecap,
  item: HourItem,
  plan: planRecap,
  run: runRecap,
};
