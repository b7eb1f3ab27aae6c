/**
 * The upstream sandbox: one local HTTP server (127.0.0.1, ephemeral port) that speaks the subset
 * of the upstream APIs the workers use, with deterministic data from a seed and simulated time.
 *
 * | prefix        | stands in for                     | routes                                             |
 * |---------------|-----------------------------------|----------------------------------------------------|
 * | `/yt`         | https://www.googleapis.com        | GET /youtube/v3/videos (chart=mostPopular)         |
 * | `/ytimg`      | https://i.ytimg.com               | GET /vi/<id>/<default|mqdefault|hqdefault>.jpg/.png|
 * | `/twitch-api` | https://api.twitch.tv             | GET /helix/games/top, /helix/streams, /helix/clips |
 * | `/twitch-id`  | https://id.twitch.tv              | POST /oauth2/token (client credentials)            |
 * | `/gen`        | the image-generation provider      | POST /v1/images/generations                        |
 *
 * Accounting is real: YouTube units per Pacific day (videos.list costs 1; 403 `quotaExceeded`
 * once spent) and a Twitch token bucket per client id (`Ratelimit-Limit/Remaining/Reset`, 429
 * when empty). Faults (outage, latency, simulated slowness, corrupt payloads, quota spending and exhaustion, rate-limit exhaustion) are
 * switched on per API, optionally for a window of simulated time.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clipsOf, DAY_MS, games, GAMING_CATEGORY_ID, renderJpeg, renderPng, streamsOf, thumbnailSize, trendingVideos, videoCountOf, YOUTUBE_CATEGORIES } from './catalog.js';
import { idOf } from './prng.js';

export const SANDBOX_APIS = ['youtube', 'thumbnails', 'twitch', 'twitchAuth', 'generation'] as const;
export type SandboxApi = (typeof SANDBOX_APIS)[number];

const PREFIX: Readonly<Record<SandboxApi, string>> = {
  youtube: '/yt',
  thumbnails: '/ytimg',
  twitch: '/twitch-api',
  twitchAuth: '/twitch-id',
  generation: '/gen',
};

/** A window of simulated time, epoch ms: from inclusive, until exclusive. Open ends are unbounded. */
export interface FaultWindow {
  readonly fromMs?: number;
  readonly untilMs?: number;
}

export type CorruptMode = 'truncate' | 'garble';

export interface SandboxFaults {
  /** 503 for every request to `api` during the window. */
  outage(api: SandboxApi, window?: FaultWindow): void;
  /** Delays answers of `api` by `delayMs` of real time (to trip client timeouts). */
  latency(api: SandboxApi, delayMs: number, window?: FaultWindow): void;
  /** `truncate`: cut the JSON body in half; `garble`: every third record gets nonsense in its numbers. */
  corrupt(api: SandboxApi, mode: CorruptMode, window?: FaultWindow): void;
  /**
   * A slow upstream on the simulated clock: every answer of `api` whose path starts with
   * `pathPrefix` waits for `advance(simulatedMs)` (the caller counts that much simulated time, say
   * on the symphony's clock) before it is answered. Real-time latency cannot make a run take
   * minutes in a test; this can.
   */
  slowdown(api: SandboxApi, options: SlowdownOptions, window?: FaultWindow): void;
  /** Spends the rest of today's YouTube quota. */
  exhaustYoutubeQuota(): void;
  /** Spends `percent` (0-100) of today's YouTube daily quota at once (never beyond the quota). */
  spendYoutubeQuota(percent: number): void;
  /** Empties the Twitch rate-limit bucket (it refills with time). */
  exhaustTwitchRateLimit(): void;
  /** Invalidates every issued Twitch token (the next Helix call answers 401). */
  revokeTwitchTokens(): void;
  /** Removes every fault (accounting is kept). */
  clear(): void;
}

export interface SlowdownOptions {
  /** Simulated time each matching answer takes, ms. */
  readonly simulatedMs: number;
  /** Counts simulated time, e.g. `(ms) => clock.advance(ms)`; the answer waits for it. */
  readonly advance: (ms: number) => void | Promise<void>;
  /** Only answers whose path (after the API prefix) starts with this. @default every path */
  readonly pathPrefix?: string;
}

export interface SandboxStats {
  readonly requests: Readonly<Record<SandboxApi, number>>;
  /** Answers by HTTP status. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly youtubeQuotaUsed: number;
  readonly youtubeDailyQuota: number;
  readonly twitchRateLimitRemaining: number;
  readonly tokensIssued: number;
}

export interface SandboxOptions {
  readonly seed: number;
  /** Simulated time, epoch ms. */
  readonly clock: () => number;
  /** @default 10_000 */
  readonly youtubeDailyQuota?: number;
  /** Twitch bucket size (points per minute). @default 800 */
  readonly twitchRateLimit?: number;
  /** Lifetime of Twitch app tokens, in seconds. @default 5_184_000 */
  readonly twitchTokenTtlSeconds?: number;
}

export interface SandboxBaseUrls {
  readonly youtube: string;
  readonly youtubeThumbnails: string;
  readonly twitchApi: string;
  readonly twitchAuth: string;
  readonly generation: string;
}

export interface SandboxCredentials {
  readonly youtube_api_key: string;
  readonly twitch_client_id: string;
  readonly twitch_client_secret: string;
  readonly generation_api_key: string;
}

export interface Sandbox {
  readonly baseUrls: SandboxBaseUrls;
  /**
   * A `fetch` that answers requests under the sandbox's base URL in-process: the same routes,
   * accounting and faults as over HTTP, with the request and response as `fetch` gives and takes
   * them, only the loopback connection and HTTP parsing gone. It honours the request's abort
   * signal (client timeouts against the latency fault). Other URLs go to `globalThis.fetch`.
   */
  readonly fetch: typeof fetch;
  /** The workers' endpoint environment variables for this sandbox. */
  readonly env: Readonly<Record<string, string>>;
  /** The credentials the sandbox accepts, keyed like the workers' secrets. */
  readonly credentials: SandboxCredentials;
  readonly faults: SandboxFaults;
  stats(): SandboxStats;
  close(): Promise<void>;
}

interface Fault {
  readonly api: SandboxApi;
  readonly kind: 'outage' | 'latency' | 'corrupt' | 'slowdown';
  readonly window: FaultWindow;
  readonly delayMs?: number;
  readonly mode?: CorruptMode;
  readonly slowdown?: SlowdownOptions;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Raw bytes (images) instead of JSON. */
  readonly bytes?: Buffer;
}

const pacificDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' });

const cursorOf = (offset: number): string => Buffer.from(`o:${offset}`).toString('base64url');
function offsetOf(cursor: string | null): number {
  if (cursor === null || cursor === '') return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  const n = Number(text.slice(2));
  if (!text.startsWith('o:') || !Number.isInteger(n) || n < 0) throw new HttpError(400, { error: 'Bad Request', status: 400, message: 'invalid cursor' });
  return n;
}

function intParam(params: URLSearchParams, name: string, def: number, max: number): number {
  const raw = params.get(name);
  if (raw === null) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, { error: 'Bad Request', status: 400, message: `invalid ${name}` });
  return n;
}

/** Replaces every number (and numeric string) of a record with nonsense. */
function garbleRecord(value: unknown): unknown {
  if (typeof value === 'number') return 'NaN?';
  if (typeof value === 'string' && value !== '' && /^\d+$/.test(value)) return 'corrupt';
  if (Array.isArray(value)) return value.map(garbleRecord);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, garbleRecord(v)]));
  return value;
}

function garble(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const key of ['items', 'data']) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((rec: unknown, i) => (i % 3 === 1 ? garbleRecord(rec) : rec));
  }
  return out;
}

/**
 * Rendered thumbnails, shared by every sandbox in the process (the bytes are a pure function of
 * seed, video, size and format). jpeg-js builds its encoder tables on every call (~70 ms), so tests
 * that start a fresh sandbox each time would otherwise pay that again and again. Oldest out first.
 */
const IMAGE_CACHE = new Map<string, Buffer>();
const IMAGE_CACHE_ENTRIES = 1000;

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { seed, clock } = options;
  const dailyQuota = options.youtubeDailyQuota ?? 10_000;
  const bucketSize = options.twitchRateLimit ?? 800;
  const tokenTtlSeconds = options.twitchTokenTtlSeconds ?? 5_184_000;
  const credentials = {
    youtube_api_key: `yt-key-${seed}`,
    twitch_client_id: `twitch-client-${seed}`,
    twitch_client_secret: `twitch-secret-${seed}`,
    generation_api_key: `gen-key-${seed}`,
  } as const;

  let faults: Fault[] = [];
  const requests: Record<SandboxApi, number> = { youtube: 0, thumbnails: 0, twitch: 0, twitchAuth: 0, generation: 0 };
  const statuses: Record<string, number> = {};
  const quota = { day: '', used: 0 };
  const bucket = { tokens: bucketSize, atMs: clock() };
  const tokens = new Map<string, number>(); // token -> expiry (simulated ms)
  let tokensIssued = 0;
  let baseUrl = '';

  const active = (api: SandboxApi, kind: Fault['kind']): Fault | undefined => {
    const now = clock();
    return faults.find((f) => f.api === api && f.kind === kind && (f.window.fromMs === undefined || now >= f.window.fromMs) && (f.window.untilMs === undefined || now < f.window.untilMs));
  };

  const quotaUsedToday = (): number => {
    const day = pacificDay.format(new Date(clock()));
    if (day !== quota.day) {
      quota.day = day;
      quota.used = 0;
    }
    return quota.used;
  };

  const refill = (): void => {
    const now = clock();
    const elapsed = Math.max(0, now - bucket.atMs);
    bucket.tokens = Math.min(bucketSize, bucket.tokens + (elapsed * bucketSize) / 60_000);
    bucket.atMs = now;
  };
  const rateHeaders = (): Record<string, string> => {
    const msToFull = ((bucketSize - bucket.tokens) * 60_000) / bucketSize;
    return {
      'ratelimit-limit': String(bucketSize),
      'ratelimit-remaining': String(Math.floor(bucket.tokens)),
      'ratelimit-reset': String(Math.ceil((clock() + msToFull) / 1000)),
    };
  };

  // ------------------------------------------------------------ YouTube
  const youtubeError = (status: number, reason: string, message: string): HttpError =>
    new HttpError(status, { error: { code: status, message, errors: [{ message, domain: reason === 'quotaExceeded' ? 'youtube.quota' : 'global', reason }] } });

  function youtube(path: string, params: URLSearchParams): Reply {
    if (path !== '/youtube/v3/videos') throw youtubeError(404, 'notFound', `no route ${path}`);
    if (params.get('key') !== credentials.youtube_api_key) throw youtubeError(400, 'keyInvalid', 'API key not valid. Please pass a valid API key.');
    const used = quotaUsedToday();
    if (used + 1 > dailyQuota) throw youtubeError(403, 'quotaExceeded', 'The request cannot be completed because you have exceeded your quota.');
    quota.used = used + 1;
    if (params.get('chart') !== 'mostPopular') throw youtubeError(400, 'invalidParameter', 'only chart=mostPopular is supported');
    const categoryId = params.get('videoCategoryId') ?? '0';
    if (YOUTUBE_CATEGORIES[categoryId] === undefined) throw youtubeError(400, 'invalidCategoryId', `unknown videoCategoryId ${categoryId}`);
    const parts = (params.get('part') ?? '').split(',');
    const maxResults = intParam(params, 'maxResults', 5, 50);
    const offset = offsetOf(params.get('pageToken'));
    const all = trendingVideos(seed, categoryId, clock(), `${baseUrl}${PREFIX.thumbnails}`);
    const page = all.slice(offset, offset + maxResults).map((v) => ({
      kind: v.kind,
      etag: v.etag,
      id: v.id,
      ...(parts.includes('snippet') ? { snippet: v.snippet } : {}),
      ...(parts.includes('statistics') ? { statistics: v.statistics } : {}),
    }));
    const next = offset + maxResults < all.length ? cursorOf(offset + maxResults) : undefined;
    return {
      status: 200,
      body: { kind: 'youtube#videoListResponse', etag: idOf(27, seed, 'list', categoryId, offset), items: page, ...(next !== undefined ? { nextPageToken: next } : {}), pageInfo: { totalResults: videoCountOf(categoryId), resultsPerPage: maxResults } },
    };
  }

  function thumbnails(path: string): Reply {
    const match = /^\/vi\/([A-Za-z0-9_-]{11})\/(default|mqdefault|hqdefault)\.(jpg|png)$/.exec(path);
    const size = match?.[2] === undefined ? undefined : thumbnailSize(match[2]);
    if (match === null || size === undefined) throw new HttpError(404, { error: 'not found' });
    const jpeg = match[3] === 'jpg';
    // The picture is keyed without the extension: the .jpg and the .png of a thumbnail show the same thing.
    const key = `${match[1] ?? ''}/${match[2] ?? ''}`;
    const cacheKey = `${seed}:${key}.${match[3] ?? ''}`;
    let bytes = IMAGE_CACHE.get(cacheKey);
    if (bytes === undefined) {
      bytes = jpeg ? renderJpeg(seed, key, size[0], size[1]) : renderPng(seed, key, size[0], size[1]);
      IMAGE_CACHE.set(cacheKey, bytes);
      if (IMAGE_CACHE.size > IMAGE_CACHE_ENTRIES) IMAGE_CACHE.delete(IMAGE_CACHE.keys().next().value ?? '');
    }
    return { status: 200, body: null, bytes, headers: { 'content-type': jpeg ? 'image/jpeg' : 'image/png' } };
  }

  // ------------------------------------------------------------ Twitch
  function twitchAuth(path: string, params: URLSearchParams, form: URLSearchParams): Reply {
    if (path !== '/oauth2/token') throw new HttpError(404, { status: 404, message: 'not found' });
    const get = (name: string): string | null => form.get(name) ?? params.get(name);
    if (get('grant_type') !== 'client_credentials') throw new HttpError(400, { status: 400, message: 'unsupported grant type' });
    if (get('client_id') !== credentials.twitch_client_id) throw new HttpError(400, { status: 400, message: 'invalid client' });
    if (get('client_secret') !== credentials.twitch_client_secret) throw new HttpError(403, { status: 403, message: 'invalid client secret' });
    tokensIssued++;
    const token = idOf(30, seed, 'token', tokensIssued).toLowerCase();
    tokens.set(token, clock() + tokenTtlSeconds * 1000);
    return { status: 200, body: { access_token: token, expires_in: tokenTtlSeconds, token_type: 'bearer' } };
  }

  function helix(path: string, params: URLSearchParams, headers: IncomingHttpHeaders): Reply {
    const unauthorized = new HttpError(401, { error: 'Unauthorized', status: 401, message: 'Invalid OAuth token' });
    if (headers['client-id'] !== credentials.twitch_client_id) throw unauthorized;
    const token = /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1];
    const expiry = token === undefined ? undefined : tokens.get(token);
    if (expiry === undefined || expiry <= clock()) throw unauthorized;
    refill();
    if (bucket.tokens < 1) throw new HttpError(429, { error: 'Too Many Requests', status: 429, message: 'Rate limit exceeded' }, rateHeaders());
    bucket.tokens -= 1;
    const now = clock();
    const first = intParam(params, 'first', 20, 100);
    const offset = offsetOf(params.get('after'));
    const paginate = <T>(all: readonly T[]): { data: T[]; pagination: { cursor?: string } } => ({
      data: all.slice(offset, offset + first),
      pagination: offset + first < all.length ? { cursor: cursorOf(offset + first) } : {},
    });
    const gameById = (id: string | null) => {
      const game = games(seed).find((g) => g.id === id);
      if (game === undefined) throw new HttpError(400, { error: 'Bad Request', status: 400, message: 'Missing or invalid game_id' });
      return game;
    };
    let body: unknown;
    if (path === '/helix/games/top') {
      body = paginate(games(seed).map((g) => ({ id: g.id, name: g.name, box_art_url: `https://static-cdn.jtvnw.net/ttv-boxart/${g.id}-{width}x{height}.jpg`, igdb_id: String(1000 + g.rank) })));
    } else if (path === '/helix/streams') {
      body = paginate(streamsOf(seed, gameById(params.get('game_id')), now));
    } else if (path === '/helix/clips') {
      const game = gameById(params.get('game_id'));
      const startedRaw = params.get('started_at');
      const endedRaw = params.get('ended_at');
      const fromMs = startedRaw === null ? now - DAY_MS : Date.parse(startedRaw);
      const toMs = endedRaw === null ? fromMs + 7 * DAY_MS : Date.parse(endedRaw);
      if (Number.isNaN(fromMs) || Number.isNaN(toMs)) throw new HttpError(400, { error: 'Bad Request', status: 400, message: 'invalid started_at/ended_at' });
      body = paginate(clipsOf(seed, game, fromMs, toMs, now));
    } else {
      throw new HttpError(404, { error: 'Not Found', status: 404, message: `no route ${path}` });
    }
    return { status: 200, body, headers: rateHeaders() };
  }

  // ------------------------------------------------------------ generation provider
  function generation(path: string, headers: IncomingHttpHeaders, raw: string): Reply {
    if (path !== '/v1/images/generations') throw new HttpError(404, { error: { type: 'not_found', message: `no route ${path}` } });
    if (headers.authorization !== `Bearer ${credentials.generation_api_key}`) throw new HttpError(401, { error: { type: 'invalid_api_key', message: 'invalid API key' } });
    let request: unknown;
    try {
      request = JSON.parse(raw);
    } catch {
      throw new HttpError(400, { error: { type: 'invalid_request', message: 'body must be JSON' } });
    }
    const r = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
    const prompt = r['prompt'];
    const width = r['width'];
    const height = r['height'];
    if (typeof prompt !== 'string' || prompt.trim() === '') throw new HttpError(400, { error: { type: 'invalid_request', message: 'prompt is required' } });
    if (/forbidden/i.test(prompt)) throw new HttpError(400, { error: { type: 'content_policy_violation', message: 'prompt rejected by the content policy' } });
    const valid = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 16 && n <= 2048;
    if (!valid(width) || !valid(height)) throw new HttpError(400, { error: { type: 'invalid_request', message: 'width and height must be integers in 16..2048' } });
    const id = `gen_${idOf(16, seed, 'gen', prompt, width, height, clock())}`;
    const png = renderPng(seed, `gen:${prompt}`, width, height);
    return { status: 200, body: { id, created: Math.floor(clock() / 1000), data: [{ b64_json: png.toString('base64'), width, height, mime_type: 'image/png' }] } };
  }

  // ------------------------------------------------------------ dispatch
  async function route(req: SandboxRequest, raw: string): Promise<Reply> {
    const url = new URL(req.url, 'http://sandbox');
    const api = SANDBOX_APIS.find((a) => url.pathname === PREFIX[a] || url.pathname.startsWith(`${PREFIX[a]}/`));
    if (api === undefined) throw new HttpError(404, { error: 'unknown API' });
    requests[api]++;
    const latency = active(api, 'latency');
    if (latency?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, latency.delayMs));
    if (active(api, 'outage') !== undefined) throw new HttpError(503, { error: 'Service Unavailable', status: 503, message: 'sandbox outage' }, { 'retry-after': '30' });
    const path = url.pathname.slice(PREFIX[api].length) || '/';
    const slow = active(api, 'slowdown')?.slowdown;
    if (slow !== undefined && path.startsWith(slow.pathPrefix ?? '')) await slow.advance(slow.simulatedMs);
    const method = req.method;
    const expect = (m: string): void => {
      if (method !== m) throw new HttpError(405, { error: 'Method Not Allowed' });
    };
    switch (api) {
      case 'youtube':
        expect('GET');
        return youtube(path, url.searchParams);
      case 'thumbnails':
        expect('GET');
        return thumbnails(path);
      case 'twitchAuth':
        expect('POST');
        return twitchAuth(path, url.searchParams, new URLSearchParams(raw));
      case 'twitch':
        expect('GET');
        return helix(path, url.searchParams, req.headers);
      case 'generation':
        expect('POST');
        return generation(path, req.headers, raw);
    }
  }

  /** One request, over HTTP or in-process, to its answer. */
  async function answer(req: SandboxRequest, raw: string): Promise<Answer> {
    const url = new URL(req.url, 'http://sandbox');
    const api = SANDBOX_APIS.find((a) => url.pathname === PREFIX[a] || url.pathname.startsWith(`${PREFIX[a]}/`));
    try {
      return render(api, await route(req, raw));
    } catch (error) {
      if (error instanceof HttpError) return render(undefined, { status: error.status, body: error.body, headers: error.headers });
      return render(undefined, { status: 500, body: { error: 'internal', message: String(error) } });
    }
  }

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      void answer({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, raw).then((a) => {
        res.writeHead(a.status, a.headers);
        res.end(a.payload);
      });
    });
  });

  function render(api: SandboxApi | undefined, reply: Reply): Answer {
    statuses[String(reply.status)] = (statuses[String(reply.status)] ?? 0) + 1;
    const corrupt = api === undefined ? undefined : active(api, 'corrupt');
    let payload: Buffer;
    let contentType = 'application/json';
    if (reply.bytes !== undefined) {
      payload = corrupt !== undefined ? reply.bytes.subarray(0, Math.floor(reply.bytes.length / 2)) : reply.bytes;
      contentType = reply.headers?.['content-type'] ?? 'application/octet-stream';
    } else {
      const body = corrupt?.mode === 'garble' ? garble(reply.body) : reply.body;
      let text = JSON.stringify(body);
      if (corrupt?.mode === 'truncate') text = text.slice(0, Math.floor(text.length / 2));
      payload = Buffer.from(text);
    }
    return { status: reply.status, headers: { ...(reply.headers ?? {}), 'content-type': contentType, 'content-length': String(payload.length) }, payload };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  const baseUrls: SandboxBaseUrls = {
    youtube: `${baseUrl}${PREFIX.youtube}`,
    youtubeThumbnails: `${baseUrl}${PREFIX.thumbnails}`,
    twitchApi: `${baseUrl}${PREFIX.twitch}`,
    twitchAuth: `${baseUrl}${PREFIX.twitchAuth}`,
    generation: `${baseUrl}${PREFIX.generation}`,
  };

  const inProcessFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    const href = request !== undefined ? request.url : String(input);
    if (!href.startsWith(`${baseUrl}/`)) return globalThis.fetch(input, init);
    const signal = init?.signal ?? request?.signal;
    signal?.throwIfAborted();
    const headers: IncomingHttpHeaders = {};
    new Headers(init?.headers ?? request?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const raw = await bodyText(init?.body ?? (request !== undefined && request.body !== null ? await request.text() : undefined));
    const url = new URL(href);
    const answered = answer({ method: (init?.method ?? request?.method ?? 'GET').toUpperCase(), url: `${url.pathname}${url.search}`, headers }, raw);
    const a = await (signal === undefined || signal === null ? answered : abortable(answered, signal));
    return new Response(a.payload, { status: a.status, headers: a.headers });
  };

  return {
    baseUrls,
    fetch: inProcessFetch,
    env: {
      YOUTUBE_API_BASE_URL: baseUrls.youtube,
      YOUTUBE_THUMBNAIL_BASE_URL: baseUrls.youtubeThumbnails,
      TWITCH_API_BASE_URL: baseUrls.twitchApi,
      TWITCH_AUTH_URL: baseUrls.twitchAuth,
      GENERATION_API_URL: baseUrls.generation,
    },
    credentials,
    faults: {
      outage: (api, window = {}) => void faults.push({ api, kind: 'outage', window }),
      latency: (api, delayMs, window = {}) => void faults.push({ api, kind: 'latency', window, delayMs }),
      corrupt: (api, mode, window = {}) => void faults.push({ api, kind: 'corrupt', window, mode }),
      slowdown: (api, slowdown, window = {}) => {
        if (!(slowdown.simulatedMs >= 0)) throw new RangeError(`slowdown: simulatedMs must be non-negative, got ${slowdown.simulatedMs}`);
        faults.push({ api, kind: 'slowdown', window, slowdown });
      },
      exhaustYoutubeQuota: () => {
        quotaUsedToday();
        quota.used = dailyQuota;
      },
      spendYoutubeQuota: (percent) => {
        if (!(percent >= 0 && percent <= 100)) throw new RangeError(`spendYoutubeQuota: percent must be in 0..100, got ${percent}`);
        const used = quotaUsedToday();
        quota.used = Math.min(dailyQuota, used + Math.round((dailyQuota * percent) / 100));
      },
      exhaustTwitchRateLimit: () => {
        refill();
        bucket.tokens = 0;
      },
      revokeTwitchTokens: () => tokens.clear(),
      clear: () => {
        faults = [];
      },
    },
    stats: () => {
      refill();
      return {
        requests: { ...requests },
        statuses: { ...statuses },
        youtubeQuotaUsed: quotaUsedToday(),
        youtubeDailyQuota: dailyQuota,
        twitchRateLimitRemaining: Math.floor(bucket.tokens),
        tokensIssued,
      };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** What a route sees of a request. */
interface SandboxRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A rendered answer: status, headers and the bytes of the body. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Buffer;
}

async function bodyText(body: RequestInit['body']): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return new Response(body).text();
}

/** `promise`, or the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export { GAMING_CATEGORY_ID };
