/**
 * Upstream clients and shared helpers of the workers: YouTube Data API v3, Twitch Helix with
 * the client-credentials token, and the image-generation provider. All go through the kit's
 * endpoint-bound HTTP client, so every failure is already a named error.
 */
import * as z from 'zod';
import { UpstreamRejectedError } from '../../../lib/domain/errors.js';
import type { DataStore } from '../../kit/data-store.js';
import type { WorkerContext } from '../../kit/define-worker.js';
import { httpStatusOf, type RateLimitInfo } from '../../kit/http.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export const ageSeconds = (nowMs: number, thenMs: number): number => Math.max(0, Math.round((nowMs - thenMs) / 1000));
export const round2 = (n: number): number => Math.round(n * 100) / 100;
export const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** `YYYY-MM-DDTHH` of a UTC instant: the key of an hour. */
export const hourKey = (ms: number): string => new Date(ms).toISOString().slice(0, 13);
/** `YYYY-MM-DD` of a UTC instant. */
export const dayKey = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

// ------------------------------------------------------------------ YouTube

/** YouTube's quota day runs midnight to midnight Pacific time. */
const pacificDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' });
export const youtubeQuotaDay = (ms: number): string => pacificDay.format(new Date(ms));
export const DEFAULT_YOUTUBE_DAILY_QUOTA_UNITS = 10_000;
/** videos.list costs one unit per call. */
export const VIDEOS_LIST_COST_UNITS = 1;

const QuotaState = z.object({ used: z.number().nonnegative() });

/** Units this project spent today, as recorded by the workers (YouTube exposes no remaining-quota header). */
export async function youtubeQuotaUsed(store: DataStore, nowMs: number): Promise<number> {
  const item = await store.get('state', `youtube:quota:${youtubeQuotaDay(nowMs)}`);
  const parsed = QuotaState.safeParse(item?.data);
  return parsed.success ? parsed.data.used : 0;
}

export async function recordYoutubeQuota(store: DataStore, nowMs: number, units: number): Promise<number> {
  const used = (await youtubeQuotaUsed(store, nowMs)) + units;
  await store.put('state', `youtube:quota:${youtubeQuotaDay(nowMs)}`, { used }, { ttlSeconds: 3 * 86_400 });
  return used;
}

/** The envelope of videos.list; items are checked one by one later. */
const VideoListResponse = z.object({
  items: z.array(z.unknown()),
  nextPageToken: z.string().optional(),
});

const UpstreamVideo = z.object({
  id: z.string(),
  snippet: z.object({
    publishedAt: z.string(),
    channelId: z.string(),
    channelTitle: z.string(),
    title: z.string(),
    categoryId: z.string().optional(),
    tags: z.array(z.string()).optional(),
    thumbnails: z.record(z.string(), z.object({ url: z.string(), width: z.number().optional(), height: z.number().optional() })).optional(),
  }),
  statistics: z.object({ viewCount: z.string().optional(), likeCount: z.string().optional(), commentCount: z.string().optional() }).optional(),
});

/** One stored video: the youtube worker's output record. */
export const VideoRecord = z.object({
  id: z.string().min(1),
  title: z.string(),
  channelId: z.string().min(1),
  channelTitle: z.string(),
  publishedAt: z.iso.datetime(),
  categoryId: z.string().min(1),
  tags: z.array(z.string()),
  viewCount: z.number().int().nonnegative(),
  likeCount: z.number().int().nonnegative(),
  commentCount: z.number().int().nonnegative(),
  thumbnailUrl: z.string().optional(),
});
export type VideoRecord = z.infer<typeof VideoRecord>;

const toCount = (raw: string | undefined): number => (raw === undefined ? 0 : /^\d+$/.test(raw) ? Number(raw) : Number.NaN);

/** Maps an upstream item onto a VideoRecord candidate (validated by the caller's schema). */
export function toVideoRecord(raw: unknown, categoryId: string): unknown {
  const parsed = UpstreamVideo.safeParse(raw);
  if (!parsed.success) return raw;
  const v = parsed.data;
  return {
    id: v.id,
    title: v.snippet.title,
    channelId: v.snippet.channelId,
    channelTitle: v.snippet.channelTitle,
    publishedAt: v.snippet.publishedAt,
    categoryId: v.snippet.categoryId ?? categoryId,
    tags: v.snippet.tags ?? [],
    viewCount: toCount(v.statistics?.viewCount),
    likeCount: toCount(v.statistics?.likeCount),
    commentCount: toCount(v.statistics?.commentCount),
    ...(v.snippet.thumbnails?.['medium']?.url !== undefined ? { thumbnailUrl: v.snippet.thumbnails['medium'].url } : {}),
  };
}

export interface YoutubeListOptions {
  readonly maxResults?: number;
  readonly pageToken?: string;
}

/** videos.list chart=mostPopular for one category; counts the units spent into `units.used`. */
export async function listMostPopular(ctx: WorkerContext<unknown, unknown>, apiKey: string, categoryId: string, units: { used: number }, options: YoutubeListOptions = {}): Promise<{ items: readonly unknown[]; nextPageToken?: string }> {
  units.used += VIDEOS_LIST_COST_UNITS;
  const response = await ctx.http.getJson('youtube', '/youtube/v3/videos', {
    query: { chart: 'mostPopular', videoCategoryId: categoryId, part: 'snippet,statistics', maxResults: options.maxResults ?? 50, regionCode: 'US', pageToken: options.pageToken, key: apiKey },
  });
  const envelope = VideoListResponse.safeParse(response.body);
  if (!envelope.success) throw new UpstreamRejectedError(`videos.list for category ${categoryId} returned an unexpected body`);
  return { items: envelope.data.items, ...(envelope.data.nextPageToken !== undefined ? { nextPageToken: envelope.data.nextPageToken } : {}) };
}

/** Stored snapshot of one trending category. */
export const TrendingSnapshot = z.object({
  source: z.literal('youtube'),
  categoryId: z.string(),
  fetchedAt: z.iso.datetime(),
  videos: z.array(VideoRecord),
});
export type TrendingSnapshot = z.infer<typeof TrendingSnapshot>;

/** Stored snapshot of the games fetch: gaming videos grouped by game. */
export const GamesSnapshot = z.object({
  source: z.literal('youtube'),
  fetchedAt: z.iso.datetime(),
  games: z.array(z.object({ name: z.string(), videos: z.array(VideoRecord) })),
});
export type GamesSnapshot = z.infer<typeof GamesSnapshot>;

export const trendingSnapshotId = (categoryId: string): string => `youtube:trending:${categoryId}`;
export const GAMES_SNAPSHOT_ID = 'youtube:games';
export const TWITCH_SNAPSHOT_ID = 'twitch:streams';

// ------------------------------------------------------------------ Twitch

const TokenResponse = z.object({ access_token: z.string().min(1), expires_in: z.number().positive(), token_type: z.string() });

interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}
/** App tokens per (auth URL, client id), shared by warm invocations. */
const tokenCache = new Map<string, CachedToken>();

/** Drops cached tokens (tests). */
export function clearTwitchTokenCache(): void {
  tokenCache.clear();
}

/** Twitch Helix with an app access token; tracks the lowest rate-limit remaining it saw. */
export class TwitchClient {
  private lowest: RateLimitInfo | undefined;
  private constructor(
    private readonly ctx: WorkerContext<unknown, unknown>,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  static async create(ctx: WorkerContext<unknown, unknown>): Promise<TwitchClient> {
    const [id, secret] = await Promise.all([ctx.secrets.get('twitch_client_id'), ctx.secrets.get('twitch_client_secret')]);
    return new TwitchClient(ctx, id, secret);
  }

  private get cacheKey(): string {
    return `${this.ctx.endpoints.twitchAuth ?? ''}|${this.clientId}`;
  }

  private async token(): Promise<string> {
    const cached = tokenCache.get(this.cacheKey);
    // Renew a minute early so a token never expires mid-run.
    if (cached !== undefined && cached.expiresAtMs - MINUTE_MS > this.ctx.now()) return cached.token;
    const response = await this.ctx.http.postForm('twitchAuth', '/oauth2/token', { client_id: this.clientId, client_secret: this.clientSecret, grant_type: 'client_credentials' });
    const parsed = TokenResponse.safeParse(response.body);
    if (!parsed.success) throw new UpstreamRejectedError('the Twitch token endpoint returned an unexpected body');
    tokenCache.set(this.cacheKey, { token: parsed.data.access_token, expiresAtMs: this.ctx.now() + parsed.data.expires_in * 1000 });
    return parsed.data.access_token;
  }

  /** GET a Helix path; a 401 (revoked or expired token) renews the token and retries once. */
  async get(path: string, query: Readonly<Record<string, string | number | undefined>>): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      try {
        const response = await this.ctx.http.getJson('twitchApi', path, { query, headers: { 'client-id': this.clientId, authorization: `Bearer ${token}` } });
        const rate = response.rateLimit;
        if (rate?.remaining !== undefined && (this.lowest?.remaining === undefined || rate.remaining < this.lowest.remaining)) this.lowest = rate;
        return response.body;
      } catch (error) {
        if (attempt === 0 && httpStatusOf(error) === 401) {
          tokenCache.delete(this.cacheKey);
          continue;
        }
        throw error;
      }
    }
  }

  /** Rate-limit points left, in percent of the bucket, at the lowest point of this run. */
  rateLimitRemainingPercent(): number | undefined {
    const r = this.lowest;
    if (r?.remaining === undefined || r.limit === undefined || r.limit <= 0) return undefined;
    return round2((100 * r.remaining) / r.limit);
  }
}

export const HelixPage = z.object({ data: z.array(z.unknown()), pagination: z.object({ cursor: z.string().optional() }).optional() });

export const TopGame = z.object({ id: z.string().min(1), name: z.string().min(1) });
export type TopGame = z.infer<typeof TopGame>;

export async function topGames(twitch: TwitchClient, count: number): Promise<TopGame[]> {
  const page = HelixPage.safeParse(await twitch.get('/helix/games/top', { first: count }));
  if (!page.success) throw new UpstreamRejectedError('games/top returned an unexpected body');
  return page.data.data.flatMap((g) => {
    const parsed = TopGame.safeParse(g);
    return parsed.success ? [parsed.data] : [];
  });
}

// ------------------------------------------------------------------ image generation

const GenerationResponse = z.object({
  id: z.string().min(1),
  data: z.array(z.object({ b64_json: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive(), mime_type: z.string().optional() })).min(1),
});

export interface GeneratedImage {
  readonly providerId: string;
  readonly bytes: Buffer;
  readonly width: number;
  readonly height: number;
  readonly mimeType: string;
}

/** The image-generation provider port, as the generation and twitch workers see it. */
export async function generateImage(ctx: WorkerContext<unknown, unknown>, request: { prompt: string; width: number; height: number }): Promise<GeneratedImage> {
  const key = await ctx.secrets.get('generation_api_key');
  const response = await ctx.http.postJson('generation', '/v1/images/generations', { ...request, n: 1 }, { headers: { authorization: `Bearer ${key}` }, timeoutMs: 60_000 });
  const parsed = GenerationResponse.safeParse(response.body);
  if (!parsed.success) throw new UpstreamRejectedError('the generation provider returned an unexpected body');
  const image = parsed.data.data[0];
  if (image === undefined) throw new UpstreamRejectedError('the generation provider returned no image');
  return { providerId: parsed.data.id, bytes: Buffer.from(image.b64_json, 'base64'), width: image.width, height: image.height, mimeType: image.mime_type ?? 'image/png' };
}
