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
