/** JSON value types shared by the local harness (ASL definitions, execution inputs/outputs). */
export type JsonPrimitive = null | boolean | number | string;
export type JsonArray = JsonValue[];
export interface JsonObject {
  [key: string]: JsonValue;
}
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Round-trips a value through JSON, which is exactly what crossing an AWS service boundary does
 * (Lambda payloads, Step Functions state I/O): `undefined` members vanish, Dates become strings,
 * class instances become plain objects. Throws on values JSON cannot represent (BigInt, cycles).
 */
export function toJsonValue(value: unknown): JsonValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  // JSON.stringify returns undefined for functions/symbols at the top level.
  if (text === undefined) return null;
  return JSON.parse(text) as JsonValue;
}
