import { describe, expect, it } from 'vitest';
import { BUCKET_MAX_BYTES, bucketId, CLIPS_PER_BUCKET, ClipBucket, ClipBuckets, clipsOfItems } from '../../lambdas/workers/logic/clip-buckets.js';
import type { ClipRecord } from '../../lambdas/workers/logic/clip-record.js';

const HOUR = '2026-01-05T09';
const clip = (id: string, over: Partial<ClipRecord> = {}): ClipRecord => ({
  id,
  gameId: 'g1',
  title: `clip ${id}`,
  broadcaster: 'b',
  createdAt: '2026-01-05T09:10:00.000Z',
  views: 10,
  firstSeenAt: '2026-01-05T09:15:00.000Z',
  lastSeenAt: '2026-01-05T09:15:00.000Z',
  velocityPerMinute: 1,
  viral: false,
  ...over,
});
const bucket = (part: number, clips: unknown[]): { id: string; data: ClipBucket } => ({ id: bucketId(HOUR, 'g1', part), data: { hour: HOUR, gameId: 'g1', part, clips } });

describe('ClipBuckets', () => {
  it('gives each clip its latest record and writes only the parts that changed, each whole', () => {
    const warnings: string[] = [];
    const b = new ClipBuckets((m) => warnings.push(m));
    b.load(HOUR, [bucket(0, [clip('a'), clip('b')]), { id: bucketId(HOUR, 'g2', 0), data: { hour: HOUR, gameId: 'g2', part: 0, clips: [clip('c', { gameId: 'g2' })] } }]);
    expect(b.get('a')?.views).toBe(10);
    expect(b.get('zzz')).toBeUndefined();
    b.set(HOUR, 'g1', clip('a', { views: 50 }));
    b.set(HOUR, 'g1', clip('new'));
    expect(b.get('a')?.views).toBe(50);
    const rows = b.takeDirty();
    expect(rows.map((r) => r.id)).toEqual([bucketId(HOUR, 'g1', 0)]);
    expect(rows[0]?.data.clips.map((c) => (c as ClipRecord).id)).toEqual(['a', 'b', 'new']);
    expect(b.takeDirty()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('starts a next part when the last one is full, and keeps a clip in the part it is in', () => {
    const b = new ClipBuckets(() => undefined);
    const full = Array.from({ length: CLIPS_PER_BUCKET }, (_, i) => clip(`c${i}`));
    b.load(HOUR, [bucket(0, full)]);
    b.set(HOUR, 'g1', clip('c7', { views: 99 }));
    b.set(HOUR, 'g1', clip('late'));
    const rows = b.takeDirty();
    expect(rows.map((r) => r.id).sort()).toEqual([bucketId(HOUR, 'g1', 0), bucketId(HOUR, 'g1', 1)]);
    expect(rows.find((r) => r.data.part === 1)?.data.clips).toEqual([clip('late')]);
    expect(rows.find((r) => r.data.part === 0)?.data.clips).toHaveLength(CLIPS_PER_BUCKET);
  });

  it('starts a next part before a part would outgrow BUCKET_MAX_BYTES, however few clips it holds', () => {
    const b = new ClipBuckets(() => undefined);
    b.load(HOUR, []);
    const title = 'ü'.repeat(20_000); // 40 KB of UTF-8 each
    for (let i = 0; i < 20; i++) b.set(HOUR, 'g1', clip(`big${i}`, { title }));
    const rows = b.takeDirty();
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) {
      expect(Buffer.byteLength(JSON.stringify(row.data.clips), 'utf8')).toBeLessThanOrEqual(BUCKET_MAX_BYTES + 1_000);
      expect(row.data.clips.length).toBeLessThan(CLIPS_PER_BUCKET);
    }
    expect(rows.flatMap((r) => r.data.clips).length).toBe(20);
  });

  it('never overwrites what it could not read: an unreadable part is skipped, unreadable entries are written back as they were', () => {
    const warnings: string[] = [];
    const b = new ClipBuckets((m) => warnings.push(m));
    b.load(HOUR, [{ id: bucketId(HOUR, 'g1', 0), data: { garbled: true } }, bucket(1, [clip('a'), { id: 42 }])]);
    expect(warnings).toEqual([`unreadable clip bucket ${bucketId(HOUR, 'g1', 0)}: left as it is`, `1 unreadable clip(s) in ${bucketId(HOUR, 'g1', 1)}: kept as they are`]);
    b.set(HOUR, 'g1', clip('a', { views: 11 }));
    const [row] = b.takeDirty();
    expect(row?.id).toBe(bucketId(HOUR, 'g1', 1));
    expect(row?.data.clips).toEqual([clip('a', { views: 11 }), { id: 42 }]);
    // Only an unreadable part 0 in the hour: a new clip goes to part 1.
    const c = new ClipBuckets(() => undefined);
    c.load(HOUR, [{ id: bucketId(HOUR, 'g1', 0), data: 'nonsense' }]);
    c.set(HOUR, 'g1', clip('x'));
    expect(c.takeDirty().map((r) => r.id)).toEqual([bucketId(HOUR, 'g1', 1)]);
  });

  it('reads a one-clip item of before as the clip previous poll, and moves the clip into a bucket', () => {
    const b = new ClipBuckets(() => undefined);
    b.load(HOUR, [{ id: `${HOUR}#old`, data: clip('old', { views: 7 }) }]);
    expect(b.get('old')?.views).toBe(7);
    b.set(HOUR, 'g1', clip('old', { views: 9 }));
    expect(b.get('old')?.views).toBe(9);
    expect(b.takeDirty().map((r) => r.id)).toEqual([bucketId(HOUR, 'g1', 0)]);
  });

  it('refuses to put a clip into an hour it has not loaded (a new part 0 could overwrite one)', () => {
    const b = new ClipBuckets(() => undefined);
    expect(b.has(HOUR)).toBe(false);
    expect(() => b.set(HOUR, 'g1', clip('a'))).toThrow(`the clips of ${HOUR} are not loaded`);
    b.load(HOUR, []);
    expect(b.has(HOUR)).toBe(true);
    b.set(HOUR, 'g1', clip('a'));
    expect(b.takeDirty().map((r) => r.id)).toEqual([bucketId(HOUR, 'g1', 0)]);
  });
});

describe('clipsOfItems', () => {
  it('flattens buckets and one-clip items, one record per clip (the one seen last), and says what it could not read', () => {
    const warnings: string[] = [];
    const clips = clipsOfItems(
      [
        bucket(0, [clip('a', { views: 20, lastSeenAt: '2026-01-05T09:20:00.000Z' }), clip('b'), 'junk']),
        { id: `${HOUR}#a`, data: clip('a', { views: 5 }) },
        { id: `${HOUR}#bad`, data: { nope: 1 } },
        { id: bucketId(HOUR, 'g9', 0), data: { hour: HOUR } },
      ],
      (m) => warnings.push(m),
    );
    expect(clips.map((c) => [c.id, c.views]).sort()).toEqual([
      ['a', 20],
      ['b', 10],
    ]);
    expect(warnings).toEqual([`1 unreadable clip(s) in ${bucketId(HOUR, 'g1', 0)}`, `unreadable clip ${HOUR}#bad`, `unreadable clip bucket ${bucketId(HOUR, 'g9', 0)}`]);
  });
});
