import { describe, expect, it } from 'vitest';
import { SharedMemoryMeter } from '../../local/memory-meter.js';

describe('SharedMemoryMeter', () => {
  it('charges a lone invocation all of its growth, and nothing that happened before it began', () => {
    let rss = 1_000;
    const meter = new SharedMemoryMeter(() => rss);
    rss += 500; // before anything runs
    const a = meter.begin();
    rss += 300;
    expect(a.read()).toBe(300);
    a.end();
    rss += 700; // after it ended
    expect(a.read()).toBe(300);
  });

  it('shares growth among overlapping invocations instead of charging each the whole', () => {
    let rss = 0;
    const meter = new SharedMemoryMeter(() => rss);
    const small = meter.begin();
    rss += 10;
    const big = meter.begin();
    rss += 200; // both in flight: 100 each
    expect(small.read()).toBe(110);
    small.end();
    rss += 400; // only big
    expect(big.read()).toBe(500);
    big.end();
  });

  it('never reports a negative charge when the heap shrinks', () => {
    let rss = 1_000;
    const meter = new SharedMemoryMeter(() => rss);
    const a = meter.begin();
    rss -= 600;
    expect(a.read()).toBe(0);
    rss += 100;
    expect(a.read()).toBe(0); // still 500 below where it began
  });
});
