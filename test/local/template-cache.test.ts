/**
 * The synthesized template's cache (local/template-cache.ts): computed once per state of the
 * sources, computed again after any source change, and never served stale or corrupt.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEMPLATE_SOURCES } from '../../local/runtime.js';
import { cachedBySources, sourceHash, type SourceCacheOptions } from '../../local/template-cache.js';

describe('cachedBySources', () => {
  let root: string;
  let options: SourceCacheOptions;
  let computed: number;
  const compute = (): { n: number } => ({ n: ++computed });
  const read = (): { n: number } => cachedBySources('value', compute, options);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'template-cache-'));
    mkdirSync(join(root, 'lib', 'constructs'), { recursive: true });
    writeFileSync(join(root, 'lib', 'constructs', 'a.ts'), 'export const a = 1;');
    writeFileSync(join(root, 'package-lock.json'), '{}');
    options = { root, sources: ['lib', 'package-lock.json', 'absent.json'], dir: join(root, 'cache') };
    computed = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('computes once while the sources stay the same', () => {
    expect(read()).toEqual({ n: 1 });
    expect(read()).toEqual({ n: 1 });
    expect(computed).toBe(1);
  });

  it('computes again when a source file changes, is added or is removed, and again serves the cache', () => {
    read();
    writeFileSync(join(root, 'lib', 'constructs', 'a.ts'), 'export const a = 2;');
    expect(read()).toEqual({ n: 2 });
    writeFileSync(join(root, 'lib', 'b.ts'), 'export const b = 1;');
    expect(read()).toEqual({ n: 3 });
    rmSync(join(root, 'lib', 'b.ts'));
    expect(read()).toEqual({ n: 2 }); // the sources are as they were: that entry again
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}');
    expect(read()).toEqual({ n: 4 });
    expect(computed).toBe(4);
  });

  it('hashes paths as well as contents (a renamed file is a change)', () => {
    const before = sourceHash(root, options.sources);
    rmSync(join(root, 'lib', 'constructs', 'a.ts'));
    writeFileSync(join(root, 'lib', 'constructs', 'renamed.ts'), 'export const a = 1;');
    expect(sourceHash(root, options.sources)).not.toBe(before);
  });

  it('computes again over a corrupt entry, and replaces it', () => {
    read();
    const [entry] = readdirSync(options.dir);
    if (entry === undefined) throw new Error('no cache entry written');
    writeFileSync(join(options.dir, entry), '{"n": ');
    expect(read()).toEqual({ n: 2 });
    expect(read()).toEqual({ n: 2 });
  });

  it('is off with AURASTREAM_TEMPLATE_CACHE=off', () => {
    process.env['AURASTREAM_TEMPLATE_CACHE'] = 'off';
    try {
      read();
      read();
      expect(computed).toBe(2);
    } finally {
      delete process.env['AURASTREAM_TEMPLATE_CACHE'];
    }
  });

  it('keys the template on the app, the handlers and the library versions', () => {
    expect(TEMPLATE_SOURCES.sources).toEqual(expect.arrayContaining(['lib', 'lambdas', 'statemachines', 'package-lock.json']));
    // Every source root exists in the repository (a typo would make it silently never change).
    expect(TEMPLATE_SOURCES.sources.filter((s) => !existsSync(join(TEMPLATE_SOURCES.root, s)))).toEqual([]);
  });
});
