import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { SlowFirstSequencer } from './slow-first-sequencer.js';

const ROOT = '/repo';
const project = { name: '', config: { sequence: { groupOrder: 0 }, isolate: false } };
const spec = (path: string): TestSpecification => ({ project, moduleId: `${ROOT}/${path}` }) as unknown as TestSpecification;

/** A vitest context with file sizes and, optionally, the durations of an earlier run. */
function sequencer(sizes: Record<string, number>, durations?: Record<string, number>, seed?: number): SlowFirstSequencer {
  const ctx = {
    config: { root: ROOT, sequence: { seed } },
    cache: {
      getFileTestResults: (key: string) => {
        const d = durations?.[key.slice(1)];
        return d === undefined ? undefined : { duration: d, failed: false };
      },
      getFileStats: (key: string) => ({ size: sizes[key.slice(1)] ?? 0 }),
    },
  };
  return new SlowFirstSequencer(ctx as unknown as Vitest);
}

const sizes = { 'test/domain/big.test.ts': 90_000, 'test/e2e/day.test.ts': 3_000, 'test/lambdas/mid.test.ts': 20_000, 'test/browser/page.test.ts': 8_000 };
const order = async (s: SlowFirstSequencer): Promise<string[]> => (await s.sort(Object.keys(sizes).map(spec))).map((f) => f.moduleId.slice(ROOT.length + 1));

describe('SlowFirstSequencer', () => {
  it('runs the e2e and browser files first when no earlier durations are known (a fresh clone), larger files first within each group', async () => {
    expect(await order(sequencer(sizes))).toEqual(['test/browser/page.test.ts', 'test/e2e/day.test.ts', 'test/domain/big.test.ts', 'test/lambdas/mid.test.ts']);
  });

  it('keeps vitest\'s longest-first order when the durations of an earlier run are known', async () => {
    const durations = { 'test/domain/big.test.ts': 100, 'test/e2e/day.test.ts': 40_000, 'test/lambdas/mid.test.ts': 9_000, 'test/browser/page.test.ts': 30_000 };
    expect(await order(sequencer(sizes, durations))).toEqual(['test/e2e/day.test.ts', 'test/browser/page.test.ts', 'test/lambdas/mid.test.ts', 'test/domain/big.test.ts']);
  });

  it('shuffles by the seed: the same seed the same order, another seed another order', async () => {
    const a = await order(sequencer(sizes, undefined, 11));
    expect(await order(sequencer(sizes, undefined, 11))).toEqual(a);
    expect([...a].sort()).toEqual(Object.keys(sizes).sort());
    const others = await Promise.all([29, 3, 5, 7].map((seed) => order(sequencer(sizes, undefined, seed))));
    expect(others.some((o) => o.join() !== a.join())).toBe(true);
  });
});
