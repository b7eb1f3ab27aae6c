import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordList } from '../../local/record-list.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('RecordList', () => {
  it('keeps items in memory without a file', () => {
    const list = new RecordList<{ n: number }>();
    for (let n = 0; n < 100; n++) list.push({ n });
    expect(list.length).toBe(100);
    expect(list.all().map((x) => x.n)).toEqual([...Array(100).keys()]);
  });

  it('spills to its file as JSON lines, holding at most a batch in memory, and reads every item back in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'record-list-'));
    dirs.push(dir);
    const file = join(dir, 'items.jsonl');
    const list = new RecordList<{ n: number; text: string; nested: { a: (number | null)[] } }>(file);
    expect(list.all()).toEqual([]);
    const items = Array.from({ length: 150 }, (_, n) => ({ n, text: `line\nbreak "${n}"`, nested: { a: [n, null] } }));
    for (const item of items) list.push(item);
    // Written a batch at a time: the last partial batch is still in memory.
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(128);
    expect(list.length).toBe(150);
    expect(list.all()).toEqual(items);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(150);
    list.push(items[0] as (typeof items)[number]);
    expect(list.all()).toEqual([...items, items[0]]);
  });
});
