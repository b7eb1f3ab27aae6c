/**
 * twitch_worker: on-demand Twitch asset jobs through the generation provider.
 * - mode `asset`: one asset (`request`: jobId, assetType, prompt).
 * - mode `pack`: a pack of assets; plan lists them, an item makes one, a whole run makes all.
 */
import * as z from 'zod';
import { InvalidPayloadError } from '../../../lib/domain/errors.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { AssetRecord, makeAsset } from './generation.js';

/** Twitch's asset sizes, in px. */
export const TWITCH_ASSET_SIZES = {
  emote: [112, 112],
  badge: [72, 72],
  panel: [320, 160],
  offline_banner: [1920, 1080],
  profile_banner: [1200, 480],
  overlay: [1280, 720],
} as const;
export type TwitchAssetType = keyof typeof TWITCH_ASSET_SIZES;
const AssetType = z.enum(Object.keys(TWITCH_ASSET_SIZES) as [TwitchAssetType, ...TwitchAssetType[]]);

/** What a default pack holds. */
export const STARTER_PACK: readonly TwitchAssetType[] = ['emote', 'emote', 'badge', 'panel', 'profile_banner'];

export const AssetItem = z.object({ jobId: z.string().min(1), assetType: AssetType, prompt: z.string().min(1) });
export type AssetItem = z.infer<typeof AssetItem>;

const AssetRequest = AssetItem.extend({ enqueuedAt: z.iso.datetime().optional() });
const PackRequest = z.object({
  packId: z.string().min(1),
  theme: z.string().min(1),
  assets: z.array(AssetType).min(1).max(50).optional(),
});

type Ctx = WorkerContext<AssetRecord, AssetItem>;

export function planPack(ctx: Ctx): Promise<AssetItem[]> {
  const parsed = PackRequest.safeParse(ctx.request ?? {});
  if (!parsed.success) return Promise.reject(new InvalidPayloadError(`invalid pack request: ${z.prettifyError(parsed.error)}`));
  const { packId, theme, assets } = parsed.data;
  return Promise.resolve((assets ?? STARTER_PACK).map((assetType, i) => ({ jobId: `${packId}:${i + 1}:${assetType}`, assetType, prompt: `${theme} Twitch ${assetType.replace('_', ' ')}` })));
}

const makeOne = async (ctx: Ctx, item: AssetItem): Promise<boolean> => {
  const [width, height] = TWITCH_ASSET_SIZES[item.assetType];
  return (await makeAsset(ctx, { jobId: item.jobId, assetType: `twitch_${item.assetType}`, prompt: item.prompt, width, height })) !== undefined;
};

export async function runTwitchAssets(ctx: Ctx): Promise<RunOutcome> {
  const started = ctx.now();
  let items: AssetItem[];
  if (ctx.item !== undefined) items = [ctx.item];
  else if (ctx.mode === 'pack') items = await planPack(ctx);
  else {
    const parsed = AssetRequest.safeParse(ctx.request ?? {});
    if (!parsed.success) throw new InvalidPayloadError(`invalid asset request: ${z.prettifyError(parsed.error)}`);
    items = [parsed.data];
  }
  const loop = await ctx.forEachItem(items, (item) => makeOne(ctx, item), (i) => i.jobId);
  const completed = loop.results.filter(Boolean).length;
  const attempted = loop.ok + loop.failed;
  return {
    metrics: { jobs_completed: completed, failure_rate: attempted === 0 ? 0 : Math.round(((attempted - completed) / attempted) * 1000) / 1000, avg_duration_ms: attempted === 0 ? 0 : Math.round((ctx.now() - started) / attempted) },
  };
}

export const twitchAssetsWorker: WorkerDefinition<AssetRecord, AssetItem> = {
  id: 'twitch_worker',
  output: AssetRecord,
  item: AssetItem,
  endpoints: ['generation'],
  plan: planPack,
  run: runTwitchAssets,
};
