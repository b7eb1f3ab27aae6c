/** A small seeded PRNG for the sandbox: every value is a pure function of (seed, parts). */

/** 32-bit FNV-1a hash of a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a fast 32-bit generator, good enough for fixtures. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic generator for one entity, e.g. `rng(seed, 'clip', gameId, slot)`. */
export function rng(seed: number, ...parts: readonly (string | number)[]): () => number {
  return mulberry32(hash32(`${seed}|${parts.join('|')}`));
}

/** One deterministic float in [0, 1). */
export function rand(seed: number, ...parts: readonly (string | number)[]): number {
  return rng(seed, ...parts)();
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A deterministic id of `length` URL-safe characters. */
export function idOf(length: number, seed: number, ...parts: readonly (string | number)[]): string {
  const next = rng(seed, 'id', ...parts);
  let out = '';
  for (let i = 0; i < length; i++) out += ID_ALPHABET[Math.floor(next() * ID_ALPHABET.length)] ?? 'A';
  return out;
}
