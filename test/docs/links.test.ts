/**
 * The docs stand on their own: every relative link in the README and docs/ points at a file that
 * exists inside the repository (a fresh clone has nothing beside it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PAGES = ['README.md', 'vendor/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('documentation links', () => {
  it.each(PAGES)('%s links only to files inside the repository', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((t) => !/^[a-z]+:/.test(t) && !t.startsWith('#'));
    for (const target of targets) {
      const path = resolve(ROOT, dirname(page), target.split('#')[0] ?? '');
      expect(relative(ROOT, path).startsWith('..'), `${page} links outside the repository: ${target}`).toBe(false);
      expect(existsSync(path), `${page} links to a missing file: ${target}`).toBe(true);
    }
  });
});
