/**
 * clip_radar_worker: polls Twitch clips of the top games every 5 minutes and flags viral clips
 * by view velocity: the views gained since the previous poll per minute (for a clip seen for the
 * first time, its views per minute since creation).
 *
 * Clips are kept in buckets per game and hour of creation (clip-buckets.ts): a poll reads the
 * buckets of the hours it covers once, and writes each bucket it changed once.
 */
import * as z from 'zod';
import { numberEnv } from '../../kit/config.js';
import { BATCH_WRITE_MAX } from '../../kit/data-store.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { ClipBuckets } from './clip-buckets.js';
import { ClipRecord } from './clip-record.js';
import { DAY_MS, HelixPage, hourKey, HOUR_MS, MINUTE_MS, round2, topGames, TwitchClient } from './common.js';

export { ClipRecord };

export const LAST_POLL_ID = 'clip_radar:last_poll';
export const CLIP_TTL_SECONDS = 3 * 86_400;
/** Clips created within this window are re-polled so their velocity can be measured. */
export const TRACKING_WINDOW_MS = HOUR_MS;
/** @default views per minute that make a clip viral */
export const DEFAULT_VIRAL_VELOCITY = 30;
export const MIN_VIRAL_VIEWS = 100;

const UpstreamClip = z.object({ id: z.string(), game_id: z.string(), title: z.string(), broadcaster_name: z.string(), created_at: z.string(), view_count: z.unknown() });
const LastPoll = z.object({ at: z.iso.datetime() });

type Ctx = WorkerContext<ClipRecord, never>;

/** The velocity and viral verdict of a clip at `nowMs`, given what the previous poll stored. */
export function assess(prev: ClipRecord | undefined, views: number, createdAtMs: number, nowMs: number, threshold: number): { velocity: number; viral: boolean } {
  const sinceMs = prev === undefined ? nowMs - createdAtMs : nowMs - Date.parse(prev.lastSeenAt);
  const gained = prev === undefined ? views : views - prev.views;
  const velocity = sinceMs <= 0 ? 0 : round2(Math.max(0, gained) / (sinceMs / MINUTE_MS));
  return { velocity, viral: velocity >= threshold && views >= MIN_VIRAL_VIEWS };
}

export async function runClipRadar(ctx: Ctx): Promise<RunOutcome> {
  const started = ctx.now();
  const threshold = numberEnv(ctx.env, 'CLIP_VIRAL_VELOCITY', DEFAULT_VIRAL_VELOCITY);
  const gameCount = numberEnv(ctx.env, 'CLIP_RADAR_GAMES', 8);
  const maxPages = numberEnv(ctx.env, 'CLIP_RADAR_PAGES', 3);
  const lastPoll = LastPoll.safeParse((await ctx.store.get('state', LAST_POLL_ID))?.data);
  const lastPollMs = lastPoll.success ? Date.parse(lastPoll.data.at) : undefined;
  // Since the last poll, and at least the tracking window; never more than a day back.
  const fromMs = Math.max(started - DAY_MS, Math.min(lastPollMs ?? started, started - TRACKING_WINDOW_MS));
  const twitch = await TwitchClient.create(ctx);
  const games = await topGames(twitch, gameCount);
  // The clips listed were created since `fromMs`: the buckets of those hours hold their previous
  // polls. An hour outside them (a clip the upstream lists out of range) is read when first met.
  const buckets = new ClipBuckets((m) => ctx.warn(m));
  const loadHour = async (hour: string): Promise<void> => buckets.load(hour, await ctx.store.list('clip', { prefix: `${hour}#` }));
  const hours: string[] = [];
  for (let h = Math.floor(fromMs / HOUR_MS) * HOUR_MS; h <= started; h += HOUR_MS) hours.push(hourKey(h));
  await Promise.all(hours.map(loadHour));
  // The changed parts are written a full BatchWriteItem at a time, and the rest at the end of the
  // poll. A poll that fails writes nothing more: the last-poll mark stays, and the next poll
  // measures those clips again from what was written.
  const flush = async (): Promise<void> => ctx.store.putMany('clip', buckets.takeDirty().map(({ id, data }) => ({ id, data, options: { ttlSeconds: CLIP_TTL_SECONDS } })));
  let scanned = 0;
  let viralDetected = 0;
  const loop = await ctx.forEachItem(
    games,
    async (game) => {
      let after: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const parsed = HelixPage.safeParse(await twitch.get('/helix/clips', { game_id: game.id, started_at: new Date(fromMs).toISOString(), first: 100, after }));
        if (!parsed.success) {
          ctx.invalid(`clips of ${game.name}`, 'unexpected body');
          return;
        }
        for (const raw of parsed.data.data) {
          scanned++;
          const upstream = UpstreamClip.safeParse(raw);
          const createdAtMs = upstream.success ? Date.parse(upstream.data.created_at) : Number.NaN;
          if (!upstream.success || Number.isNaN(createdAtMs)) {
            ctx.validate(raw, `clip of ${game.name}`);
            continue;
          }
          const c = upstream.data;
          const hour = hourKey(createdAtMs);
          if (!buckets.has(hour)) await loadHour(hour);
          // A clip listed twice in one poll is measured the second time from the first.
          const prev = buckets.get(c.id);
          const views = typeof c.view_count === 'number' ? c.view_count : Number.NaN;
          const verdict = Number.isFinite(views) ? assess(prev, views, createdAtMs, ctx.now(), threshold) : { velocity: Number.NaN, viral: false };
          const nowIso = new Date(ctx.now()).toISOString();
          const becameViral = verdict.viral && prev?.viral !== true;
          const viralAt = prev?.viralAt ?? (becameViral ? nowIso : undefined);
          const record = ctx.validate(
            {
              id: c.id,
              gameId: c.game_id,
              title: c.title,
              broadcaster: c.broadcaster_name,
              createdAt: new Date(createdAtMs).toISOString(),
              views,
              firstSeenAt: prev?.firstSeenAt ?? nowIso,
              lastSeenAt: nowIso,
              velocityPerMinute: verdict.velocity,
              viral: prev?.viral === true || verdict.viral,
              ...(viralAt !== undefined ? { viralAt } : {}),
            },
            `clip ${c.id}`,
          );
          if (record === undefined) continue;
          if (becameViral) viralDetected++;
          buckets.set(hour, game.id, record);
        }
        if (buckets.dirtyCount >= BATCH_WRITE_MAX) await flush();
        after = parsed.data.pagination?.cursor;
        if (after === undefined || ctx.shouldStop()) return;
      }
    },
    (g) => g.name,
  );
  await flush();
  // Only a complete poll moves the mark; a partial one is re-covered next time.
  if (!loop.stoppedEarly && loop.failed === 0) await ctx.store.put('state', LAST_POLL_ID, { at: new Date(started).toISOString() });
  const remaining = twitch.rateLimitRemainingPercent();
  return {
    metrics: { clips_scanned: scanned, viral_detected: viralDetected, poll_duration_ms: ctx.now() - started },
    health: remaining === undefined ? {} : { quotaRemainingPercent: remaining },
  };
}

export const clipRadarWorker: WorkerDefinition<ClipRecord, never> = {
  id: 'clip_radar_worker',
  output: ClipRecord,
  endpoints: ['twitchApi', 'twitchAuth'],
  run: runClipRadar,
};
