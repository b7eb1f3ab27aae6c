/**
 * The workers' HTTP client: every request has a timeout, may only go to a configured endpoint,
 * and maps failures onto the named error classes the pipelines retry or catch.
 *
 * | upstream answer                                   | error                   |
 * |---------------------------------------------------|-------------------------|
 * | 429, 403 `rateLimitExceeded`, rate limit at zero  | UpstreamThrottledError  |
 * | 403 `quotaExceeded` / `dailyLimitExceeded`        | QuotaExhaustedError     |
 * | 5xx, 408, timeout, connection reset, bad JSON     | TransientUpstreamError  |
 * | other 4xx                                         | UpstreamRejectedError   |
 * | URL outside the configured endpoints              | ConfigurationError      |
 */
import {
  ConfigurationError,
  QuotaExhaustedError,
  TransientUpstreamError,
  UpstreamRejectedError,
  UpstreamThrottledError,
  type OrchestratorError,
} from '../../lib/domain/errors.js';

/** Default per-request timeout, in ms. */
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;

export interface RequestOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** @default - the client's timeout */
  readonly timeoutMs?: number;
}

/** What the last response of an endpoint said about its rate limit. */
export interface RateLimitInfo {
  readonly limit?: number;
  readonly remaining?: number;
  /** When the bucket is full again, epoch ms. */
  readonly resetAtMs?: number;
  readonly observedAtMs: number;
}

export interface HttpResponse<T> {
  readonly status: number;
  readonly url: string;
  readonly headers: Headers;
  readonly body: T;
  readonly rateLimit: RateLimitInfo | undefined;
}

/** The status and a body excerpt of a failed request; the `cause` of the named error. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(
    readonly status: number,
    readonly url: string,
    readonly bodyExcerpt: string,
  ) {
    super(`HTTP ${status} from ${url}: ${bodyExcerpt}`);
  }
}

/** The HTTP status behind a named error, if it came from an HTTP answer. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof Error && error.cause instanceof HttpFailure) return error.cause.status;
  return undefined;
}

export interface HttpClient {
  /** `GET <endpoint base><path>` returning parsed JSON. */
  getJson(endpoint: string, path: string, options?: RequestOptions): Promise<HttpResponse<unknown>>;
  /** `POST` a JSON body, returning parsed JSON. */
  postJson(endpoint: string, path: string, body: unknown, options?: RequestOptions): Promise<HttpResponse<unknown>>;
  /** `POST` an `application/x-www-form-urlencoded` body, returning parsed JSON. */
  postForm(endpoint: string, path: string, form: Readonly<Record<string, string>>, options?: RequestOptions): Promise<HttpResponse<unknown>>;
  /** `GET` an absolute URL (e.g. one an API returned) as bytes; it must lie under a configured endpoint. */
  getBytes(absoluteUrl: string, options?: RequestOptions): Promise<HttpResponse<Uint8Array>>;
  /** The last rate-limit headers seen per endpoint name. */
  rateLimit(endpoint: string): RateLimitInfo | undefined;
  /** Requests sent so far, per endpoint name. */
  requestCounts(): Readonly<Record<string, number>>;
}

export interface HttpClientOptions {
  /** Endpoint name -> base URL. The only places requests may go. */
  readonly endpoints: Readonly<Record<string, string | undefined>>;
  /** @default - globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default DEFAULT_HTTP_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Epoch-ms clock used to judge rate-limit resets. @default Date.now */
  readonly clock?: () => number;
}

/** Maps an HTTP error status (and body) onto a named error. */
export function errorForStatus(status: number, url: string, bodyText: string): OrchestratorError {
  const excerpt = bodyText.slice(0, 300);
  const cause = new HttpFailure(status, url, excerpt);
  const where = `${status} from ${url}`;
  if (status === 429) return new UpstreamThrottledError(`throttled: ${where}`, { cause });
  if (status === 403 && /quotaExceeded|dailyLimitExceeded/.test(bodyText)) return new QuotaExhaustedError(`quota exhausted: ${where}`, { cause });
  if (status === 403 && /rateLimitExceeded|userRateLimitExceeded/.test(bodyText)) return new UpstreamThrottledError(`throttled: ${where}`, { cause });
  if (status >= 500 || status === 408) return new TransientUpstreamError(`upstream unavailable: ${where}`, { cause });
  return new UpstreamRejectedError(`upstream rejected the request: ${where}`, { cause });
}

/** Maps a failure to reach the upstream (no HTTP answer) onto a named error. */
export function errorForNetworkFailure(error: unknown, url: string, timeoutMs: number): OrchestratorError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new TransientUpstreamError(`request to ${url} timed out after ${timeoutMs} ms`, { cause: error });
  }
  // ECONNRESET, ECONNREFUSED, ETIMEDOUT, EAI_AGAIN, UND_ERR_SOCKET ...: no answer at all may pass on its own.
  const code = networkCode(error);
  return new TransientUpstreamError(`request to ${url} failed${code === undefined ? '' : ` (${code})`}`, { cause: error });
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

function headerNumber(headers: Headers, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = headers.get(name);
    if (raw !== null && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  }
  return undefined;
}

/** Reads `Ratelimit-Limit/Remaining/Reset` (Twitch: reset in epoch seconds) or `X-RateLimit-*`. */
export function readRateLimit(headers: Headers, nowMs: number): RateLimitInfo | undefined {
  const limit = headerNumber(headers, 'ratelimit-limit', 'x-ratelimit-limit');
  const remaining = headerNumber(headers, 'ratelimit-remaining', 'x-ratelimit-remaining');
  const reset = headerNumber(headers, 'ratelimit-reset', 'x-ratelimit-reset');
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(reset !== undefined ? { resetAtMs: reset * 1000 } : {}),
    observedAtMs: nowMs,
  };
}

function withQuery(url: URL, query: Readonly<Record<string, QueryValue>> | undefined): URL {
  if (query === undefined) return url;
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value as readonly (string | number)[]) url.searchParams.append(key, String(v));
    else url.searchParams.set(key, String(value));
  }
  return url;
}

interface Base {
  readonly name: string;
  readonly url: URL;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const clock = options.clock ?? Date.now;
  const bases: Base[] = [];
  for (const [name, raw] of Object.entries(options.endpoints)) {
    if (raw !== undefined) bases.push({ name, url: new URL(raw.replace(/\/+$/, '')) });
  }
  const rateLimits = new Map<string, RateLimitInfo>();
  const counts: Record<string, number> = {};

  /** The configured endpoint a URL lies under, or a ConfigurationError. */
  const endpointOf = (url: URL): Base => {
    const match = bases.find((b) => {
      if (b.url.origin !== url.origin) return false;
      const basePath = b.url.pathname.replace(/\/+$/, '');
      return basePath === '' || url.pathname === basePath || url.pathname.startsWith(`${basePath}/`);
    });
    if (match === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      const allowed = bases.map((b) => b.name).join(', ') || 'none';
      throw new ConfigurationError(`request to ${url.origin}${url.pathname} is outside the configured endpoints (${allowed})`);
    }
    return match;
  };

  const resolve = (endpoint: string, path: string): URL => {
    const base = bases.find((b) => b.name === endpoint);
    if (base === undefined) throw new ConfigurationError(`endpoint "${endpoint}" is not configured for this worker`);
    return new URL(`${base.url.href.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`);
  };

  async function send(method: string, url: URL, init: { body?: string; contentType?: string }, opts: RequestOptions | undefined): Promise<{ response: Response; base: Base; timeoutMs: number; signal: AbortSignal }> {
    withQuery(url, opts?.query);
    const base = endpointOf(url);
    const known = rateLimits.get(base.name);
    if (known?.remaining === 0 && known.resetAtMs !== undefined && known.resetAtMs > clock()) {
      throw new UpstreamThrottledError(`rate limit of ${base.name} is spent until ${new Date(known.resetAtMs).toISOString()}`);
    }
    const timeoutMs = opts?.timeoutMs ?? defaultTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json', ...(opts?.headers ?? {}) };
    if (init.contentType !== undefined) headers['content-type'] = init.contentType;
    counts[base.name] = (counts[base.name] ?? 0) + 1;
    let response: Response;
    try {
      response = await doFetch(url, { method, headers, signal, ...(init.body !== undefined ? { body: init.body } : {}) });
    } catch (error) {
      throw errorForNetworkFailure(error, redact(url), timeoutMs);
    }
    const info = readRateLimit(response.headers, clock());
    if (info !== undefined) rateLimits.set(base.name, info);
    return { response, base, timeoutMs, signal };
  }

  async function readText(response: Response, url: URL, timeoutMs: number): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw errorForNetworkFailure(error, redact(url), timeoutMs);
    }
  }

  async function json(method: string, url: URL, init: { body?: string; contentType?: string }, opts: RequestOptions | undefined): Promise<HttpResponse<unknown>> {
    const { response, timeoutMs } = await send(method, url, init, opts);
    const text = await readText(response, url, timeoutMs);
    if (!response.ok) throw errorForStatus(response.status, redact(url), text);
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch (error) {
      throw new TransientUpstreamError(`unparsable JSON from ${redact(url)} (${text.length} bytes)`, { cause: error });
    }
    return { status: response.status, url: redact(url), headers: response.headers, body, rateLimit: readRateLimit(response.headers, clock()) };
  }

  return {
    getJson: async (endpoint, path, opts) => json('GET', resolve(endpoint, path), {}, opts),
    postJson: async (endpoint, path, body, opts) => json('POST', resolve(endpoint, path), { body: JSON.stringify(body), contentType: 'application/json' }, opts),
    postForm: async (endpoint, path, form, opts) => json('POST', resolve(endpoint, path), { body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded' }, opts),
    async getBytes(absoluteUrl, opts) {
      let url: URL;
      try {
        url = new URL(absoluteUrl);
      } catch {
        throw new ConfigurationError(`not an absolute URL: "${absoluteUrl}"`);
      }
      const { response, timeoutMs } = await send('GET', url, {}, { ...opts, headers: { accept: '*/*', ...(opts?.headers ?? {}) } });
      if (!response.ok) throw errorForStatus(response.status, redact(url), await readText(response, url, timeoutMs));
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        throw errorForNetworkFailure(error, redact(url), timeoutMs);
      }
      return { status: response.status, url: redact(url), headers: response.headers, body: bytes, rateLimit: readRateLimit(response.headers, clock()) };
    },
    rateLimit: (endpoint) => rateLimits.get(endpoint),
    requestCounts: () => ({ ...counts }),
  };
}

/** The URL without secrets in its query (`key`, `client_secret`, tokens), for messages and logs. */
export function redact(url: URL): string {
  const copy = new URL(url.href);
  for (const key of [...copy.searchParams.keys()]) {
    if (/key|secret|token|password/i.test(key)) copy.searchParams.set(key, 'REDACTED');
  }
  return copy.href;
}
