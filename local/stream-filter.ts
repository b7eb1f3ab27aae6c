/**
 * A documented subset of Lambda event-source-mapping `FilterCriteria` for DynamoDB stream records.
 *
 * A filter list matches a record when ANY pattern matches (Lambda ORs the `Filters`). Inside a
 * pattern every field must match (AND); a field's array lists alternatives (OR). A field missing
 * from the record never matches. Supported fields:
 *
 *   { "eventName": [ <matcher>... ] }
 *   { "dynamodb": { "Keys" | "NewImage" | "OldImage": { "<attr>": { "S": [ <matcher>... ] } } } }
 *
 * Supported matchers (on strings): `"exact"`, `{ "prefix": "abc" }`, `{ "anything-but": "x" | ["x", "y"] }`.
 * Anything else (numeric matching, `exists`, other record fields, other attribute types) throws
 * when the filter is compiled, so an unsupported pattern can never silently match everything.
 */
import { isPlainObject } from './json.js';
import type { StreamRecord, WireItem } from './stream-types.js';

export type FilterPattern = Record<string, unknown>;
type Matcher = (value: string | undefined) => boolean;
type RecordPredicate = (record: StreamRecord) => boolean;
/** An item's key attributes (wire or SDK shape: only string values are looked at). */
export type ItemKey = Readonly<Record<string, { readonly S?: string } | undefined>>;
/** Whether a record of an item with this key could pass the filters. */
export type KeyPredicate = (key: ItemKey) => boolean;

export class UnsupportedFilterError extends Error {
  override readonly name = 'UnsupportedFilterError';
}

function unsupported(path: string, why: string): never {
  throw new UnsupportedFilterError(`Unsupported filter pattern at ${path}: ${why}`);
}

function compileMatchers(values: unknown, path: string): Matcher {
  if (!Array.isArray(values) || values.length === 0) unsupported(path, 'expected a non-empty array of matchers');
  const matchers = values.map((v, i): Matcher => {
    const at = `${path}[${i}]`;
    if (typeof v === 'string') return (x) => x === v;
    if (isPlainObject(v)) {
      const keys = Object.keys(v);
      if (keys.length !== 1) unsupported(at, 'a matcher object must have exactly one key');
      const prefix = v['prefix'];
      if (typeof prefix === 'string') return (x) => x !== undefined && x.startsWith(prefix);
      const but = v['anything-but'];
      if (typeof but === 'string') return (x) => x !== undefined && x !== but;
      if (Array.isArray(but) && but.every((b): b is string => typeof b === 'string')) {
        return (x) => x !== undefined && !but.includes(x);
      }
      return unsupported(at, `matcher ${JSON.stringify(v)} is not supported (only exact strings, prefix, anything-but)`);
    }
    return unsupported(at, `matcher ${JSON.stringify(v)} is not supported`);
  });
  return (x) => matchers.some((m) => m(x));
}

function compileImage(which: 'Keys' | 'NewImage' | 'OldImage', spec: unknown, path: string): RecordPredicate {
  if (!isPlainObject(spec)) unsupported(path, 'expected an object of attribute names');
  const checks = Object.entries(spec).map(([attr, typed]): RecordPredicate => {
    const at = `${path}.${attr}`;
    if (!isPlainObject(typed)) unsupported(at, 'expected { "S": [...] }');
    const types = Object.keys(typed);
    if (types.length !== 1 || types[0] !== 'S') unsupported(at, `only the "S" attribute type is supported, got ${JSON.stringify(types)}`);
    const match = compileMatchers(typed['S'], `${at}.S`);
    return (record) => {
      const image: WireItem | undefined = record.dynamodb[which];
      return match(image?.[attr]?.S);
    };
  });
  return (record) => checks.every((c) => c(record));
}

function compilePattern(pattern: unknown, path: string): RecordPredicate {
  const parsed: unknown = typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
  if (!isPlainObject(parsed)) unsupported(path, 'a pattern must be a JSON object');
  const checks: RecordPredicate[] = [];
  for (const [field, spec] of Object.entries(parsed)) {
    if (field === 'eventName') {
      const m = compileMatchers(spec, `${path}.eventName`);
      checks.push((r) => m(r.eventName));
    } else if (field === 'dynamodb') {
      if (!isPlainObject(spec)) unsupported(`${path}.dynamodb`, 'expected an object');
      for (const [img, imgSpec] of Object.entries(spec)) {
        if (img !== 'Keys' && img !== 'NewImage' && img !== 'OldImage') unsupported(`${path}.dynamodb.${img}`, 'only Keys/NewImage/OldImage are supported');
        checks.push(compileImage(img, imgSpec, `${path}.dynamodb.${img}`));
      }
    } else {
      unsupported(`${path}.${field}`, 'only eventName and dynamodb.{Keys,NewImage,OldImage} are supported');
    }
  }
  return (record) => checks.every((c) => c(record));
}

/**
 * Compiles Lambda-style filter patterns (objects or their JSON strings, as in
 * `FilterCriteria.Filters[].Pattern`). An empty/absent list accepts every record.
 */
export function compileFilters(patterns: ReadonlyArray<string | FilterPattern> | undefined): RecordPredicate {
  if (patterns === undefined || patterns.length === 0) return () => true;
  const compiled = patterns.map((p, i) => compilePattern(p, `filters[${i}]`));
  return (record) => compiled.some((c) => c(record));
}

/** The `dynamodb.Keys` constraints of one pattern (other fields are not looked at here). */
function compileKeyPattern(pattern: unknown, path: string): KeyPredicate {
  const parsed: unknown = typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
  if (!isPlainObject(parsed)) unsupported(path, 'a pattern must be a JSON object');
  const dynamodb = parsed['dynamodb'];
  const keys = isPlainObject(dynamodb) ? dynamodb['Keys'] : undefined;
  if (!isPlainObject(keys)) return () => true;
  const checks = Object.entries(keys).map(([attr, typed]): KeyPredicate => {
    const at = `${path}.dynamodb.Keys.${attr}`;
    if (!isPlainObject(typed)) unsupported(at, 'expected { "S": [...] }');
    const match = compileMatchers(typed['S'], `${at}.S`);
    return (key) => match(key[attr]?.S);
  });
  return (key) => checks.every((c) => c(key));
}

/**
 * Whether a record of an item with a given key could pass the filters, judged on the key alone:
 * false only when every pattern constrains `dynamodb.Keys` in a way the key fails. A record's
 * `Keys` are its item's key, so a key this rejects has no record the filters accept; the stream
 * emulation skips the work for such items (embedded-dynamodb.ts). An empty/absent list accepts
 * every key.
 */
export function compileKeyFilter(patterns: ReadonlyArray<string | FilterPattern> | undefined): KeyPredicate {
  if (patterns === undefined || patterns.length === 0) return () => true;
  const compiled = patterns.map((p, i) => compileKeyPattern(p, `filters[${i}]`));
  return (key) => compiled.some((c) => c(key));
}
