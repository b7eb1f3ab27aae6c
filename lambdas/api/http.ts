/**
 * HTTP plumbing of the API, free of AWS: the error type every route throws, JSON responses, body
 * and zod parsing with messages that name the field and the bad value. Pure.
 */
import type * as z from 'zod';

/** An error the API answers with `{ error: { code, message } }` and its status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string): ApiError => new ApiError(400, code, message);
export const notFound = (code: string, message: string): ApiError => new ApiError(404, code, message);
export const conflict = (code: string, message: string): ApiError => new ApiError(409, code, message);

export interface JsonResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function json(statusCode: number, payload: unknown, headers: Readonly<Record<string, string>> = {}): JsonResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(payload) };
}

export function errorResponse(error: ApiError, requestId: string): JsonResponse {
  return json(error.status, { error: { code: error.code, message: error.message, requestId } }, error.headers);
}

/** Longest string value quoted in a message. */
const QUOTE_MAX_CHARS = 60;

/** A value for a message: JSON, cut to QUOTE_MAX_CHARS. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > QUOTE_MAX_CHARS ? `${text.slice(0, QUOTE_MAX_CHARS)}…` : text;
}

/** The value at a zod issue path inside `root`, for the message. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Parses `value` with `schema`; a failure is a 400 `code` naming each bad field (prefixed `what`) and its value. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string, code = 'INVALID_REQUEST'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => {
    const field = [what, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return `${field}: unknown key(s) ${issue.keys.map((k) => quote(k)).join(', ')}`;
    const got = valueAt(value, issue.path);
    return `${field}: ${issue.message}, got ${quote(got)}`;
  });
  throw badRequest(code, issues.join('; '));
}

/** Longest body accepted, in bytes (API Gateway's own limit is 10 MB). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The JSON body, or undefined when there is none. Malformed JSON, a body over MAX_BODY_BYTES or
 * invalid base64 is a 400.
 */
export function parseJsonBody(body: string | undefined, isBase64Encoded: boolean | undefined): unknown {
  if (body === undefined || body === null || body === '') return undefined;
  let text = body;
  if (isBase64Encoded) {
    if (body.length > (MAX_BODY_BYTES * 4) / 3 + 4) throw badRequest('BODY_TOO_LARGE', `body: at most ${MAX_BODY_BYTES} bytes`);
    text = Buffer.from(body, 'base64').toString('utf8');
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw badRequest('BODY_TOO_LARGE', `body: at most ${MAX_BODY_BYTES} bytes`);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest('MALFORMED_JSON', `body: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}
