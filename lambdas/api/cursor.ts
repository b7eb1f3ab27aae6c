/**
 * Pagination: `limit` (1..100, default 20) and an opaque cursor, the base64url of the JSON of the
 * page's LastEvaluatedKey. A cursor is validated on the way back in (it must be a key of the listing
 * it came from), so a forged or foreign cursor is a 400, never a DynamoDB error. Pure.
 */
import * as z from 'zod';
import { badRequest, parseWith } from './http.js';
import type { PageKey } from './ports.js';

export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;
/** Longest cursor accepted, in characters. */
export const MAX_CURSOR_CHARS = 4096;
/** DynamoDB's limit on a sort key (a partition key allows 2048), in UTF-8 bytes: longer values cannot be a key. */
const MAX_KEY_BYTES = 1024;

export function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key inside a cursor, checked against `shape` (the key attributes of the listing); 400 otherwise. */
export function decodeCursor(cursor: string, isKey: (key: PageKey) => boolean): PageKey {
  const invalid = badRequest('INVALID_CURSOR', `query.cursor: not a cursor of this listing, got ${JSON.stringify(cursor.slice(0, 40))}${cursor.length > 40 ? '…' : ''}`);
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  const key = z.record(z.string(), z.string().min(1).refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_KEY_BYTES)).safeParse(parsed);
  if (!key.success || !isKey(key.data)) throw invalid;
  return key.data;
}

const Limit = z
  .string()
  .regex(/^\d{1,3}$/, { message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` })
  .transform(Number)
  .pipe(z.number().int().min(1, { message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` }).max(MAX_PAGE_LIMIT, { message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` }));

const PageQuery = z.looseObject({ limit: Limit.optional(), cursor: z.string().optional() });

export interface PageParams {
  readonly limit: number;
  readonly startKey?: PageKey;
}

/** `?limit` and `?cursor` of a listing; unknown query parameters are ignored. */
export function pageParams(query: Readonly<Record<string, string | undefined>> | undefined, isKey: (key: PageKey) => boolean): PageParams {
  const q = parseWith(PageQuery, query ?? {}, 'query');
  const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
  if (q.cursor === undefined || q.cursor === '') return { limit };
  return { limit, startKey: decodeCursor(q.cursor, isKey) };
}

/** Exactly these attributes, each a string. */
export const hasExactly = (key: PageKey, names: readonly string[]): boolean => {
  const keys = Object.keys(key);
  return keys.length === names.length && names.every((n) => typeof key[n] === 'string');
};
