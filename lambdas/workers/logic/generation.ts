/**
 * generation_worker: one on-demand generation job (`request`): calls the image-generation
 * provider at GENERATION_API_URL with the API key from the secret source and stores the asset.
 * The SQS consumer that turns queue messages into invocations is not part of this worker.
 */
import * as z from 'zod';
import { InvalidPayloadError } from '../../../lib/domain/errors.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { generateImage } from './common.js';

export const GenerationRequest = z.object({
  jobId: z.string().min(1),
  prompt: z.string().min(1).max(4000),
  width: z.number().int().min(16).max(2048).default(1024),
  height: z.number().int().min(16).max(2048).default(1024),
  assetType: z.string().min(1).default('image'),
  /** When the job was queued, for queue wait time. */
  enqueuedAt: z.iso.datetime().optional(),
});
export type GenerationRequest = z.infer<typeof GenerationRequest>;

export const AssetRecord = z.object({
  jobId: z.string().min(1),
  assetType: z.string().min(1),
  providerId: z.string().min(1),
  mimeType: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().positive(),
  /** Base64 image; a production deployment would put it in object storage and keep the key. */
  imageBase64: z.string().min(1).max(400_000),
  createdAt: z.iso.datetime(),
});
export type AssetRecord = z.infer<typeof AssetRecord>;

export const ASSET_TTL_SECONDS = 30 * 86_400;

/** Makes one asset and stores it; shared with the twitch worker. */
export async function makeAsset(ctx: WorkerContext<unknown, unknown>, job: { jobId: string; prompt: string; width: number; height: number; assetType: string }): Promise<AssetRecord | undefined> {
  const image = await generateImage(ctx, { prompt: job.prompt, width: job.width, height: job.height });
  const record = ctx.validate(
    { jobId: job.jobId, assetType: job.assetType, providerId: image.providerId, mimeType: image.mimeType, width: image.width, height: image.height, bytes: image.bytes.length, imageBase64: image.bytes.toString('base64'), createdAt: new Date(ctx.now()).toISOString() },
    `asset ${job.jobId}`,
  ) as AssetRecord | undefined;
  if (record !== undefined) await ctx.store.put('asset', job.jobId, record, { ttlSeconds: ASSET_TTL_SECONDS });
  return record;
}

type Ctx = WorkerContext<AssetRecord, never>;

export async function runGeneration(ctx: Ctx): Promise<RunOutcome> {
  const parsed = GenerationRequest.safeParse(ctx.request ?? {});
  if (!parsed.success) throw new InvalidPayloadError(`invalid generation request: ${z.prettifyError(parsed.error)}`);
  const job = parsed.data;
  const started = ctx.now();
  const queueWaitMs = job.enqueuedAt === undefined ? 0 : Math.max(0, ctx.scheduledAtMs - Date.parse(job.enqueuedAt));
  const asset = await makeAsset(ctx, job);
  return {
    metrics: { jobs_completed: asset === undefined ? 0 : 1, failure_rate: asset === undefined ? 1 : 0, avg_duration_ms: ctx.now() - started, queue_wait_ms: queueWaitMs },
    itemsOk: asset === undefined ? 0 : 1,
    itemsFailed: asset === undefined ? 1 : 0,
  };
}

export const generationWorker: WorkerDefinition<AssetRecord, never> = {
  id: 'generation_worker',
  output: AssetRecord,
  endpoints: ['generation'],
  run: runGeneration,
};
