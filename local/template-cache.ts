/**
 * A JSON value computed from the project's sources (the synthesized template), remembered on disk
 * under a hash of those sources: the next `npm start`, benchmark or test process reads it instead
 * of synthesizing again (about 1-3 s of CPU each time).
 *
 * The key hashes every file under the given source roots (path and content), so any change to a
 * construct, the registry, a handler or the lock file (library versions) gives a new key; a stale
 * entry is never read. An unreadable or corrupt entry is computed again. Entries live under
 * node_modules/.cache, which `npm ci` starts empty. `AURASTREAM_TEMPLATE_CACHE=off` turns it off.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface SourceCacheOptions {
  /** The directory the sources are relative to (the repository). */
  readonly root: string;
  /** Files and directories (recursively, node_modules excluded) whose content the value depends on. */
  readonly sources: readonly string[];
  /** Where entries are written. */
  readonly dir: string;
}

function filesUnder(path: string, out: string[]): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    out.push(path);
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    filesUnder(join(path, entry.name), out);
  }
}

/** sha256 over the sorted relative paths and contents of every source file. */
export function sourceHash(root: string, sources: readonly string[]): string {
  const files: string[] = [];
  for (const s of sources) filesUnder(join(root, s), files);
  const hash = createHash('sha256');
  for (const file of files.map((f) => relative(root, f)).sort()) {
    hash.update(file).update('\0').update(readFileSync(join(root, file))).update('\0');
  }
  return hash.digest('hex');
}

/** `compute()`'s value for the current sources: read from the cache, or computed and written. */
export function cachedBySources<T>(name: string, compute: () => T, options: SourceCacheOptions): T {
  if (process.env['AURASTREAM_TEMPLATE_CACHE'] === 'off') return compute();
  const file = join(options.dir, `${name}-${sourceHash(options.root, options.sources)}.json`);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      // Corrupt or unreadable: computed again below (and overwritten).
    }
  }
  const value = compute();
  try {
    mkdirSync(options.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file); // atomic: a concurrent reader sees the whole entry or none
  } catch {
    // A read-only or missing node_modules only costs the next process a synth.
  }
  return value;
}
