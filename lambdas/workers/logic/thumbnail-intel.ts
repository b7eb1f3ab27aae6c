/**
 * thumbnail_intel_worker: per category (one work item), fetches the mostPopular chart, downloads
 * the thumbnails of the top videos and decodes them (JPEG via jpeg-js, PNG via pngjs; pure JS, format
 * sniffed from the magic bytes) for their dimensions, brightness and dominant colours. Thumbnail
 * URLs must lie under YOUTUBE_THUMBNAIL_BASE_URL.
 */
import * as z from 'zod';
import { listEnv, numberEnv } from '../../kit/config.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { decodeImage } from './image.js';
import { listMostPopular, recordYoutubeQuota, round2, toVideoRecord, VideoRecord } from './common.js';
import { DEFAULT_TRENDING_CATEGORIES } from './youtube.js';

export const CategoryItem = z.object({ categoryId: z.string().min(1) });
export type CategoryItem = z.infer<typeof CategoryItem>;

const Colour = z.string().regex(/^#[0-9a-f]{6}$/);
export const ThumbnailAnalysis = z.object({
  videoId: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  brightness: z.number().min(0).max(1),
  dominantColours: z.array(z.object({ colour: Colour, share: z.number().min(0).max(1) })).min(1),
});
export type ThumbnailAnalysis = z.infer<typeof ThumbnailAnalysis>;

export const THUMBNAIL_INTEL_TTL_SECONDS = 14 * 86_400;

/**
 * Decodes a JPEG or PNG and finds its dominant colours on a 4-bit-per-channel grid. Throws
 * `ImageDecodeError` for an unknown format, a broken image or one over the size limits.
 */
export function analyzeImage(videoId: string, bytes: Uint8Array): ThumbnailAnalysis {
  const image = decodeImage(bytes);
  const buckets = new Map<number, number>();
  let luminance = 0;
  const pixels = image.width * image.height;
  // Every 4th pixel is plenty for colour statistics.
  let sampled = 0;
  for (let p = 0; p < pixels; p += 4) {
    const i = p * 4;
    const r = image.data[i] ?? 0;
    const g = image.data[i + 1] ?? 0;
    const b = image.data[i + 2] ?? 0;
    luminance += (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    const key = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    buckets.set(key, (buckets.get(key) ?? 0) + 1);
    sampled++;
  }
  const hex = (key: number): string => {
    const c = (v: number): string => ((v << 4) | 8).toString(16).padStart(2, '0');
    return `#${c((key >> 8) & 15)}${c((key >> 4) & 15)}${c(key & 15)}`;
  };
  const dominantColours = [...buckets.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 3).map(([key, n]) => ({ colour: hex(key), share: round2(n / sampled) }));
  return { videoId, width: image.width, height: image.height, brightness: round2(luminance / Math.max(1, sampled)), dominantColours };
}

type Ctx = WorkerContext<ThumbnailAnalysis, CategoryItem>;

export function planThumbnailIntel(ctx: Ctx): Promise<CategoryItem[]> {
  return Promise.resolve(listEnv(ctx.env, 'THUMBNAIL_CATEGORY_IDS', DEFAULT_TRENDING_CATEGORIES).map((categoryId) => ({ categoryId })));
}

async function analyzeCategory(ctx: Ctx, apiKey: string, categoryId: string, units: { used: number }, perCategory: number): Promise<{ processed: number; stopped: boolean }> {
  const list = await listMostPopular(ctx, apiKey, categoryId, units, { maxResults: perCategory });
  const videos = list.items.flatMap((raw) => {
    const v = VideoRecord.safeParse(toVideoRecord(raw, categoryId));
    return v.success && v.data.thumbnailUrl !== undefined ? [v.data] : [];
  });
  const analyses: ThumbnailAnalysis[] = [];
  let stopped = false;
  for (const video of videos) {
    if (ctx.shouldStop()) {
      stopped = true;
      break;
    }
    const response = await ctx.http.getBytes(video.thumbnailUrl ?? '');
    let analysis: ThumbnailAnalysis | undefined;
    try {
      analysis = ctx.validate(analyzeImage(video.id, response.body), `thumbnail ${video.id}`);
    } catch (error) {
      ctx.invalid(`thumbnail ${video.id}`, `undecodable image: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (analysis !== undefined) analyses.push(analysis);
  }
  const colourShare = new Map<string, number>();
  for (const a of analyses) for (const c of a.dominantColours) colourShare.set(c.colour, (colourShare.get(c.colour) ?? 0) + c.share);
  await ctx.store.put(
    'intel',
    `thumbnail:${categoryId}`,
    {
      type: 'thumbnail',
      categoryId,
      analyzedAt: new Date(ctx.now()).toISOString(),
      thumbnails: analyses.length,
      avgBrightness: analyses.length === 0 ? 0 : round2(analyses.reduce((s, a) => s + a.brightness, 0) / analyses.length),
      topColours: [...colourShare.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([colour]) => colour),
      analyses,
    },
    { ttlSeconds: THUMBNAIL_INTEL_TTL_SECONDS },
  );
  return { processed: analyses.length, stopped };
}

export async function runThumbnailIntel(ctx: Ctx): Promise<RunOutcome> {
  const apiKey = await ctx.secrets.get('youtube_api_key');
  const perCategory = numberEnv(ctx.env, 'THUMBNAILS_PER_CATEGORY', 20);
  const units = { used: 0 };
  const items = ctx.item !== undefined ? [ctx.item] : await planThumbnailIntel(ctx);
  try {
    const loop = await ctx.forEachItem(items, (item) => analyzeCategory(ctx, apiKey, item.categoryId, units, perCategory), (i) => `category ${i.categoryId}`);
    return {
      metrics: { categories_analyzed: loop.ok, thumbnails_processed: loop.results.reduce((s, r) => s + r.processed, 0) },
      stoppedEarly: loop.stoppedEarly || loop.results.some((r) => r.stopped),
    };
  } finally {
    if (units.used > 0) await recordYoutubeQuota(ctx.store, ctx.now(), units.used);
  }
}

export const thumbnailIntelWorker: WorkerDefinition<ThumbnailAnalysis, CategoryItem> = {
  id: 'thumbnail_intel_worker',
  output: ThumbnailAnalysis,
  item: CategoryItem,
  endpoints: ['youtube', 'youtubeThumbnails'],
  plan: planThumbnailIntel,
  run: runThumbnailIntel,
};
