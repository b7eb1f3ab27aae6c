/**
 * The order vitest runs the test files in. With the durations of an earlier run (vitest's results
 * cache) the base order is already longest first. A fresh clone has no such cache, and the base
 * order then runs larger files first: the simulated days (test/e2e) and the browser test are small
 * files but the longest runs, so they started last and the suite ended on one busy worker. With no
 * cached durations, those directories go first.
 *
 * `--sequence.seed=N` shuffles the files (as `--sequence.shuffle.files` does with vitest's own
 * sequencer), for checking that the files do not depend on their order.
 */
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Where the longest test files are. */
export const SLOW_DIRECTORIES = ['test/e2e/', 'test/browser/'] as const;

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { root, sequence } = this.ctx.config;
    const path = (f: TestSpecification): string => relative(root, f.moduleId).split('\\').join('/');
    if (sequence.seed !== undefined) {
      const key = (f: TestSpecification): string => createHash('sha1').update(`${sequence.seed}:${path(f)}`).digest('hex');
      return [...files].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    }
    const sorted = await super.sort(files);
    const timed = sorted.some((f) => this.ctx.cache.getFileTestResults(`${f.project.name}:${path(f)}`) !== undefined);
    if (timed) return sorted;
    const rank = (f: TestSpecification): number => (SLOW_DIRECTORIES.some((d) => path(f).startsWith(d)) ? 0 : 1);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
