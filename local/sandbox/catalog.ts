/**
 * The sandbox's deterministic world: games, streams, clips and videos as pure functions of
 * (seed, simulated time). Nothing here keeps state.
 */
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { idOf, rand, rng } from './prng.js';

export interface Game {
  readonly id: string;
  readonly name: string;
  /** 1 for the most popular. */
  readonly rank: number;
}

const GAME_NAMES: readonly (readonly [string, string])[] = [
  ['509658', 'Just Chatting'],
  ['33214', 'Fortnite'],
  ['516575', 'VALORANT'],
  ['21779', 'League of Legends'],
  ['32982', 'Grand Theft Auto V'],
  ['27471', 'Minecraft'],
  ['32399', 'Counter-Strike'],
  ['511224', 'Apex Legends'],
  ['512710', 'Call of Duty: Warzone'],
  ['29595', 'Dota 2'],
  ['515025', 'Overwatch 2'],
  ['30921', 'Rocket League'],
  ['512953', 'Elden Ring'],
  ['18122', 'World of Warcraft'],
  ['138585', 'Hearthstone'],
];

/** Games ordered by popularity; a seed swaps a few neighbours so seeds differ. */
export function games(seed: number): readonly Game[] {
  const list = [...GAME_NAMES];
  for (let i = 1; i + 1 < list.length; i += 2) {
    if (rand(seed, 'swap', i) < 0.3) {
      const a = list[i];
      const b = list[i + 1];
      if (a !== undefined && b !== undefined) {
        list[i] = b;
        list[i + 1] = a;
      }
    }
  }
  return list.map(([id, name], i) => ({ id, name, rank: i + 1 }));
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

// ---------------------------------------------------------------- Twitch streams

export interface Stream {
  readonly id: string;
  readonly user_id: string;
  readonly user_login: string;
  readonly user_name: string;
  readonly game_id: string;
  readonly game_name: string;
  readonly type: 'live';
  readonly title: string;
  readonly viewer_count: number;
  readonly started_at: string;
  readonly language: string;
  readonly thumbnail_url: string;
  readonly tags: readonly string[];
  readonly is_mature: boolean;
}

const LANGUAGES = ['en', 'en', 'en', 'es', 'de', 'fr', 'pt', 'ja', 'ko'];

/** Streams of a game at a time, by viewers descending; viewers move every 15 minutes. */
export function streamsOf(seed: number, game: Game, nowMs: number): Stream[] {
  const count = Math.max(12, Math.round(160 / game.rank) + Math.floor(rand(seed, 'streams', game.id) * 20));
  const bucket = Math.floor(nowMs / (15 * MINUTE_MS));
  const hourOfDay = new Date(nowMs).getUTCHours();
  const diurnal = 0.6 + 0.4 * Math.sin(((hourOfDay - 8) / 24) * 2 * Math.PI) ** 2;
  const out: Stream[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng(seed, 'stream', game.id, i);
    const base = (60_000 / game.rank) / (i + 1) ** 1.1;
    const wobble = 0.85 + 0.3 * rand(seed, 'wobble', game.id, i, bucket);
    const login = `${game.name.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8)}_${idOf(5, seed, 'user', game.id, i).toLowerCase()}`;
    out.push({
      id: String(40_000_000_000 + Math.floor(r() * 1e9)),
      user_id: String(100_000 + Math.floor(r() * 9e8)),
      user_login: login,
      user_name: login,
      game_id: game.id,
      game_name: game.name,
      type: 'live',
      title: `${game.name} grind day ${1 + Math.floor(r() * 300)}`,
      viewer_count: Math.max(1, Math.round(base * wobble * diurnal)),
      started_at: new Date(nowMs - Math.floor(r() * 8 * HOUR_MS) - MINUTE_MS).toISOString(),
      language: LANGUAGES[Math.floor(r() * LANGUAGES.length)] ?? 'en',
      thumbnail_url: `https://static-cdn.jtvnw.net/previews-ttv/live_user_${login}-{width}x{height}.jpg`,
      tags: ['English'],
      is_mature: false,
    });
  }
  return out.sort((a, b) => b.viewer_count - a.viewer_count);
}

// ---------------------------------------------------------------- Twitch clips

export interface Clip {
  readonly id: string;
  readonly url: string;
  readonly embed_url: string;
  readonly broadcaster_id: string;
  readonly broadcaster_name: string;
  readonly creator_id: string;
  readonly creator_name: string;
  readonly video_id: string;
  readonly game_id: string;
  readonly language: string;
  readonly title: string;
  readonly view_count: number;
  readonly created_at: string;
  readonly thumbnail_url: string;
  readonly duration: number;
  readonly vod_offset: number | null;
  readonly is_featured: boolean;
}

export const CLIP_SLOT_MS = 5 * MINUTE_MS;
/** Share of clips that go viral. */
export const VIRAL_SHARE = 0.05;

/** Views of a clip `minutes` after creation: a fast first two hours, then a slow tail. */
export function clipViews(ratePerMinute: number, minutes: number): number {
  if (minutes <= 0) return 0;
  const head = Math.min(minutes, 120);
  const tail = Math.max(0, minutes - 120);
  return Math.floor(ratePerMinute * head + ratePerMinute * 0.05 * tail);
}

/** Clips of a game created in [fromMs, toMs), as seen at `nowMs`. */
export function clipsOf(seed: number, game: Game, fromMs: number, toMs: number, nowMs: number): Clip[] {
  const perSlot = Math.max(1, 4 - Math.floor(game.rank / 4));
  const out: Clip[] = [];
  const end = Math.min(toMs, nowMs);
  for (let slot = Math.floor(fromMs / CLIP_SLOT_MS); slot * CLIP_SLOT_MS < end; slot++) {
    for (let k = 0; k < perSlot; k++) {
      const r = rng(seed, 'clip', game.id, slot, k);
      if (r() > 0.85) continue;
      const createdMs = slot * CLIP_SLOT_MS + Math.floor(r() * CLIP_SLOT_MS);
      if (createdMs < fromMs || createdMs >= end) continue;
      const viral = r() < VIRAL_SHARE;
      const rate = viral ? 60 + r() * 190 : 0.2 + r() * 3.8;
      const id = `${idOf(12, seed, 'clipid', game.id, slot, k)}-${slot}`;
      const broadcaster = idOf(6, seed, 'caster', game.id, Math.floor(r() * 30)).toLowerCase();
      out.push({
        id,
        url: `https://clips.twitch.tv/${id}`,
        embed_url: `https://clips.twitch.tv/embed?clip=${id}`,
        broadcaster_id: String(200_000 + Math.floor(r() * 9e8)),
        broadcaster_name: broadcaster,
        creator_id: String(300_000 + Math.floor(r() * 9e8)),
        creator_name: idOf(6, seed, 'creator', id).toLowerCase(),
        video_id: '',
        game_id: game.id,
        language: LANGUAGES[Math.floor(r() * LANGUAGES.length)] ?? 'en',
        title: viral ? `${game.name} INSANE play` : `${game.name} moment`,
        view_count: clipViews(rate, (nowMs - createdMs) / MINUTE_MS),
        created_at: new Date(createdMs).toISOString(),
        thumbnail_url: `https://clips-media-assets2.twitch.tv/${id}-preview-480x272.jpg`,
        duration: Math.round((5 + r() * 55) * 10) / 10,
        vod_offset: null,
        is_featured: false,
      });
    }
  }
  return out.sort((a, b) => b.view_count - a.view_count || (a.id < b.id ? -1 : 1));
}

// ---------------------------------------------------------------- YouTube videos

export const YOUTUBE_CATEGORIES: Readonly<Record<string, string>> = {
  '1': 'Film & Animation',
  '2': 'Autos & Vehicles',
  '10': 'Music',
  '15': 'Pets & Animals',
  '17': 'Sports',
  '20': 'Gaming',
  '22': 'People & Blogs',
  '23': 'Comedy',
  '24': 'Entertainment',
  '25': 'News & Politics',
  '26': 'Howto & Style',
  '27': 'Education',
  '28': 'Science & Technology',
};
export const GAMING_CATEGORY_ID = '20';

export interface Video {
  readonly kind: 'youtube#video';
  readonly etag: string;
  readonly id: string;
  readonly snippet: {
    readonly publishedAt: string;
    readonly channelId: string;
    readonly title: string;
    readonly description: string;
    readonly thumbnails: Readonly<Record<'default' | 'medium' | 'high', { url: string; width: number; height: number }>>;
    readonly channelTitle: string;
    readonly tags: readonly string[];
    readonly categoryId: string;
    readonly liveBroadcastContent: 'none';
  };
  readonly statistics: { readonly viewCount: string; readonly likeCount: string; readonly favoriteCount: string; readonly commentCount: string };
}

const GAMING_TITLES = ['BEST {g} MOMENTS', 'I played {g} for 100 days', '{g} Tier List (2026)', 'NEW {g} update is INSANE', '{g} but every kill makes it harder', 'How to get better at {g} FAST', '{g} ranked grind #{n}', 'The {g} secret nobody talks about'];
const GENERIC_TITLES = ['Top 10 {c} moments this week', 'We tried the viral {c} trend', '{c}: what happened today', 'I spent 24 hours doing {c}', 'The truth about {c}', '{c} reaction #{n}'];

export function videoCountOf(categoryId: string): number {
  return categoryId === GAMING_CATEGORY_ID ? 200 : 50;
}

/** The mostPopular chart of a category on the (UTC) day of `nowMs`, most viewed first. */
export function trendingVideos(seed: number, categoryId: string, nowMs: number, thumbnailBaseUrl: string): Video[] {
  const day = Math.floor(nowMs / DAY_MS);
  const dayStart = day * DAY_MS;
  const gameList = games(seed).filter((g) => g.name !== 'Just Chatting');
  const categoryName = YOUTUBE_CATEGORIES[categoryId] ?? 'Videos';
  const out: Video[] = [];
  const count = videoCountOf(categoryId);
  for (let j = 0; j < count; j++) {
    const r = rng(seed, 'video', categoryId, day, j);
    const id = idOf(11, seed, 'vid', categoryId, day, j);
    const channelIndex = Math.floor(r() ** 2 * 25);
    const publishedMs = dayStart - Math.floor(r() * 6 * DAY_MS) + Math.floor(r() * HOUR_MS);
    const hours = Math.max(0.1, (nowMs - publishedMs) / HOUR_MS);
    const base = (4000 / (1 + j / 10)) * (0.5 + r());
    const views = Math.floor(base * hours ** 0.8);
    let title: string;
    let tags: string[];
    if (categoryId === GAMING_CATEGORY_ID) {
      const pick = Math.min(gameList.length - 1, Math.floor(r() ** 1.5 * gameList.length));
      const game = gameList[pick] ?? { name: 'Minecraft' };
      title = (GAMING_TITLES[Math.floor(r() * GAMING_TITLES.length)] ?? '{g}').replace('{g}', game.name).replace('{n}', String(1 + Math.floor(r() * 99)));
      tags = [game.name, 'gaming', 'gameplay', r() < 0.5 ? 'funny' : 'tips'];
    } else {
      title = (GENERIC_TITLES[Math.floor(r() * GENERIC_TITLES.length)] ?? '{c}').replace('{c}', categoryName).replace('{n}', String(1 + Math.floor(r() * 99)));
      tags = [categoryName.toLowerCase(), 'trending'];
    }
    const ext = thumbnailFormatOf(categoryId) === 'png' ? 'png' : 'jpg';
    const thumb = (name: string, width: number, height: number): { url: string; width: number; height: number } => ({ url: `${thumbnailBaseUrl}/vi/${id}/${name}.${ext}`, width, height });
    out.push({
      kind: 'youtube#video',
      etag: idOf(27, seed, 'etag', id),
      id,
      snippet: {
        publishedAt: new Date(publishedMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        channelId: `UC${idOf(22, seed, 'channel', categoryId, channelIndex)}`,
        title,
        description: `${title} - subscribe for more.`,
        thumbnails: { default: thumb('default', 120, 90), medium: thumb('mqdefault', 320, 180), high: thumb('hqdefault', 480, 360) },
        channelTitle: `${categoryName.split(' ')[0] ?? 'Chan'} Channel ${channelIndex + 1}`,
        tags,
        categoryId,
        liveBroadcastContent: 'none',
      },
      statistics: {
        viewCount: String(views),
        likeCount: String(Math.floor(views * (0.02 + r() * 0.05))),
        favoriteCount: '0',
        commentCount: String(Math.floor(views * (0.001 + r() * 0.004))),
      },
    });
  }
  return out.sort((a, b) => Number(b.statistics.viewCount) - Number(a.statistics.viewCount) || (a.id < b.id ? -1 : 1));
}

// ---------------------------------------------------------------- images

const THUMB_SIZES: Readonly<Record<string, readonly [number, number]>> = { default: [120, 90], mqdefault: [320, 180], hqdefault: [480, 360] };

export function thumbnailSize(name: string): readonly [number, number] | undefined {
  return THUMB_SIZES[name];
}

/**
 * Thumbnails are JPEG, as on i.ytimg.com, except in this one category, whose chart links PNGs so
 * that both of the thumbnail worker's decoders are exercised.
 */
export const PNG_THUMBNAIL_CATEGORY_ID = '10';

export type ThumbnailFormat = 'jpeg' | 'png';

export function thumbnailFormatOf(categoryId: string): ThumbnailFormat {
  return categoryId === PNG_THUMBNAIL_CATEGORY_ID ? 'png' : 'jpeg';
}

/** Quality of the sandbox's JPEGs; fixed so the bytes are a pure function of (seed, key). */
export const JPEG_QUALITY = 85;

/** RGBA pixels of `width` x `height`: a seeded background colour with a few seeded blocks. */
function renderPixels(seed: number, key: string, width: number, height: number): Buffer {
  const r = rng(seed, 'png', key);
  const data = Buffer.alloc(width * height * 4);
  const colour = (): [number, number, number] => [Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256)];
  const background = colour();
  const blocks = Array.from({ length: 3 }, () => ({ x: Math.floor(r() * width), y: Math.floor(r() * height), w: Math.floor(width * (0.1 + r() * 0.3)), h: Math.floor(height * (0.1 + r() * 0.3)), c: colour() }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c = background;
      for (const b of blocks) if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) c = b.c;
      const i = (y * width + x) * 4;
      data[i] = c[0];
      data[i + 1] = c[1];
      data[i + 2] = c[2];
      data[i + 3] = 255;
    }
  }
  return data;
}

/** A PNG of `width` x `height`: a seeded background colour with a few seeded blocks. */
export function renderPng(seed: number, key: string, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  renderPixels(seed, key, width, height).copy(png.data);
  return PNG.sync.write(png);
}

/** The same picture as `renderPng`, as a baseline JPEG at `JPEG_QUALITY`. */
export function renderJpeg(seed: number, key: string, width: number, height: number): Buffer {
  return encodeJpeg({ width, height, data: renderPixels(seed, key, width, height) }, JPEG_QUALITY).data;
}
