/**
 * Item-image helpers for the emulated stream: SDK `AttributeValue` (binary as Uint8Array) →
 * stream wire format (binary as base64), canonical equality, and key extraction.
 */
import { isPlainObject } from './json.js';
import type { WireAttributeValue, WireItem } from './stream-types.js';

function b64(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'string') return v; // already base64 (e.g. when re-encoding a wire value)
  throw new TypeError(`Binary attribute value expected, got ${typeof v}`);
}

/** Converts one SDK (or wire) AttributeValue to the stream wire format. */
export function toWireValue(av: unknown): WireAttributeValue {
  if (!isPlainObject(av)) throw new TypeError(`AttributeValue expected, got ${JSON.stringify(av)}`);
  if (typeof av['S'] === 'string') return { S: av['S'] };
  if (typeof av['N'] === 'string') return { N: av['N'] };
  if (typeof av['BOOL'] === 'boolean') return { BOOL: av['BOOL'] };
  if (av['NULL'] === true) return { NULL: true };
  if (av['B'] !== undefined) return { B: b64(av['B']) };
  if (Array.isArray(av['SS'])) return { SS: av['SS'].map(String) };
  if (Array.isArray(av['NS'])) return { NS: av['NS'].map(String) };
  if (Array.isArray(av['BS'])) return { BS: av['BS'].map(b64) };
  if (Array.isArray(av['L'])) return { L: av['L'].map(toWireValue) };
  if (isPlainObject(av['M'])) return { M: toWireItem(av['M']) };
  throw new TypeError(`Unsupported AttributeValue ${JSON.stringify(av)}`);
}

export function toWireItem(item: unknown): WireItem {
  if (!isPlainObject(item)) throw new TypeError('Item must be an object of AttributeValues');
  const out: WireItem = {};
  for (const [k, v] of Object.entries(item)) out[k] = toWireValue(v);
  return out;
}

/** Canonical text of a wire value: map keys sorted, set members sorted (sets are unordered). */
function canonical(v: WireAttributeValue): unknown {
  if (v.M !== undefined) return { M: canonicalItem(v.M) };
  if (v.L !== undefined) return { L: v.L.map(canonical) };
  if (v.SS !== undefined) return { SS: [...v.SS].sort() };
  if (v.NS !== undefined) return { NS: v.NS.map(Number).sort((a, b) => a - b) };
  if (v.BS !== undefined) return { BS: [...v.BS].sort() };
  if (v.N !== undefined) return { N: Number(v.N) };
  return v;
}

function canonicalItem(item: WireItem): unknown {
  return Object.keys(item)
    .sort()
    .map((k) => [k, canonical(item[k] as WireAttributeValue)]);
}

/** Whether two images (absent = no item) represent the same item. */
export function sameImage(a: WireItem | undefined, b: WireItem | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(canonicalItem(a)) === JSON.stringify(canonicalItem(b));
}

/** Picks the key attributes out of an item. */
export function pickKey(item: WireItem, keyNames: readonly string[]): WireItem {
  const out: WireItem = {};
  for (const k of keyNames) {
    const v = item[k];
    if (v === undefined) throw new TypeError(`Item lacks key attribute ${k}`);
    out[k] = v;
  }
  return out;
}

/**
 * A number string exactly as dynalite stores it. dynalite rewrites every number with big.js
 * `toFixed()` (`1.50` → `1.5`, `1e3` → `1000`, `-0` → `0`); a string of this shape is the only
 * spelling of its value that the rewrite leaves unchanged.
 */
const CANONICAL_NUMBER = /^(?:0|-?(?:[1-9]\d*(?:\.\d*[1-9])?|0\.\d*[1-9]))$/;

/** The one member of an AttributeValue, or undefined unless it has exactly one defined member. */
function soleMember(av: Record<string, unknown>): [string, unknown] | undefined {
  let found: [string, unknown] | undefined;
  for (const k in av) {
    const v = av[k];
    if (v === undefined) continue;
    if (found !== undefined) return undefined;
    found = [k, v];
  }
  return found;
}

function storedValue(av: unknown): WireAttributeValue | undefined {
  if (!isPlainObject(av) || av instanceof Uint8Array) return undefined;
  const member = soleMember(av);
  if (member === undefined) return undefined;
  const [type, v] = member;
  const strings = (xs: unknown): xs is string[] => Array.isArray(xs) && xs.length > 0 && xs.every((x) => typeof x === 'string');
  const binaries = (xs: unknown): xs is Uint8Array[] => Array.isArray(xs) && xs.length > 0 && xs.every((x) => x instanceof Uint8Array);
  switch (type) {
    case 'S':
      return typeof v === 'string' ? { S: v } : undefined;
    case 'N':
      return typeof v === 'string' && CANONICAL_NUMBER.test(v) ? { N: v } : undefined;
    case 'BOOL':
      return typeof v === 'boolean' ? { BOOL: v } : undefined;
    case 'NULL':
      return v === true ? { NULL: true } : undefined;
    case 'B':
      return v instanceof Uint8Array ? { B: b64(v) } : undefined;
    case 'SS':
      return strings(v) ? { SS: [...v] } : undefined;
    case 'NS':
      return strings(v) && v.every((n) => CANONICAL_NUMBER.test(n)) ? { NS: [...v] } : undefined;
    case 'BS':
      return binaries(v) ? { BS: v.map(b64) } : undefined;
    case 'L': {
      if (!Array.isArray(v)) return undefined;
      const out: WireAttributeValue[] = [];
      for (const x of v) {
        const w = storedValue(x);
        if (w === undefined) return undefined;
        out.push(w);
      }
      return { L: out };
    }
    case 'M': {
      const m = storedItem(v);
      return m === undefined ? undefined : { M: m };
    }
    default:
      return undefined;
  }
}

/**
 * The image dynalite will store for an SDK item that a PutItem/PutRequest writes successfully, in
 * wire format, or undefined when that is not certain (a number not in dynalite's canonical
 * spelling, null/undefined members the SDK would drop, a binary given as a string, anything
 * invalid): the caller then reads the stored item back instead.
 */
export function storedItem(item: unknown): WireItem | undefined {
  if (!isPlainObject(item) || item instanceof Uint8Array) return undefined;
  const out: WireItem = {};
  for (const k of Object.keys(item)) {
    const w = storedValue(item[k]);
    if (w === undefined) return undefined;
    out[k] = w;
  }
  return out;
}

/**
 * Identity of an SDK-side item key (AttributeValues as the SDK takes and returns them), to match
 * items with the keys they were read by: equal keys give equal ids whatever their spelling (numbers compare by value, so
 * `1.50` and `1.5` are one item; a binary given as a string is its UTF-8 bytes, as the SDK sends
 * it). Distinct keys may rarely share an id (numbers beyond double precision, malformed keys):
 * callers treat a shared id as "maybe the same item", never the converse.
 */
export function keyId(table: string, key: Readonly<Record<string, unknown>>, keyNames: readonly string[]): string {
  const parts: unknown[] = [table];
  for (const name of keyNames) {
    const av = key[name];
    const s = isPlainObject(av) ? av['S'] : undefined;
    const n = isPlainObject(av) ? av['N'] : undefined;
    const b = isPlainObject(av) ? av['B'] : undefined;
    if (typeof s === 'string') parts.push(['S', s]);
    else if (typeof n === 'string') parts.push(['N', String(Number(n))]);
    else if (b instanceof Uint8Array) parts.push(['B', Buffer.from(b).toString('base64')]);
    else if (typeof b === 'string') parts.push(['B', Buffer.from(b, 'utf8').toString('base64')]);
    else parts.push(null);
  }
  return JSON.stringify(parts);
}
