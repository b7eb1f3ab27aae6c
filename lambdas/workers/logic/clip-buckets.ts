/**
 * How clip_radar_worker keeps its clips: in buckets, one item per game and hour of creation
 * (`clip` / `<created hour>#<game id>#<part>`), each holding up to `CLIPS_PER_BUCKET` clip records
 * and `BUCKET_MAX_BYTES` of them.
 *
 * A poll re-measures every clip created in the last hour, a few hundred of them. One item per clip
 * cost a read and a write of every one of them each poll (in DynamoDB, one write unit per clip);
 * a bucket is one read and one write for a game's hour, and the recap still reads an hour with one
 * prefix query. A bucket that is full gets a next part; a clip stays in the part it was first put
 * in. Parts are numbered from 0 and never reused, so an unreadable part is left as it is, not
 * overwritten.
 *
 * Items written before buckets (one clip record per item, `<created hour>#<clip id>`) are still read
 * as a clip's previous poll and by the recap, until their TTL removes them: `clipsOfItems` takes the
 * newest record of a clip that appears in both.
 *
 * Pure: the worker reads and writes the items through its DataStore.
 */
import * as z from 'zod';
import { ClipRecord } from './clip-record.js';

/** Clip records per bucket part (a record is about 330 bytes of JSON). */
export const CLIPS_PER_BUCKET = 400;
/**
 * Bytes of clip records per bucket part, well below DynamoDB's 400 KB item limit: long titles can
 * make records several times their usual size, and a part that outgrew the limit could never be
 * written again.
 */
export const BUCKET_MAX_BYTES = 300_000;

const sizeOf = (entry: unknown): number => Buffer.byteLength(JSON.stringify(entry) ?? '', 'utf8');

export const ClipBucket = z.object({
  hour: z.string(),
  gameId: z.string(),
  part: z.number().int().nonnegative(),
  clips: z.array(z.unknown()),
});
export type ClipBucket = z.infer<typeof ClipBucket>;

export const bucketId = (hour: string, gameId: string, part: number): string => `${hour}#${gameId}#${String(part).padStart(3, '0')}`;

interface BucketRef {
  readonly hour: string;
  readonly gameId: string;
  readonly part: number;
}

/** What a bucket item's id says, or undefined for another id (e.g. a one-clip item of before). */
function parseBucketId(id: string): BucketRef | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})#(.+)#(\d{3,})$/.exec(id);
  return m === null ? undefined : { hour: m[1] as string, gameId: m[2] as string, part: Number(m[3]) };
}

/** One stored item of kind `clip`: its id and data. */
export interface ClipItem {
  readonly id: string;
  readonly data: unknown;
}

/** A `clip` item as read: a one-clip item of before, a bucket (its readable clips and the rest), or neither. */
type ReadItem =
  | { readonly kind: 'clip'; readonly clip: ClipRecord }
  | { readonly kind: 'bucket'; readonly ref: BucketRef; readonly clips: ClipRecord[]; readonly unreadable: unknown[] }
  | { readonly kind: 'unreadable'; readonly ref: BucketRef | undefined };

function readClipItem(item: ClipItem): ReadItem {
  const ref = parseBucketId(item.id);
  if (ref === undefined) {
    const one = ClipRecord.safeParse(item.data);
    return one.success ? { kind: 'clip', clip: one.data } : { kind: 'unreadable', ref };
  }
  const bucket = ClipBucket.safeParse(item.data);
  if (!bucket.success) return { kind: 'unreadable', ref };
  const clips: ClipRecord[] = [];
  const unreadable: unknown[] = [];
  for (const entry of bucket.data.clips) {
    const clip = ClipRecord.safeParse(entry);
    if (clip.success) clips.push(clip.data);
    else unreadable.push(entry);
  }
  return { kind: 'bucket', ref, clips, unreadable };
}

interface Part {
  readonly hour: string;
  readonly gameId: string;
  readonly part: number;
  /** Clip records by clip id, in first-put order. */
  readonly clips: Map<string, ClipRecord>;
  /** Entries that did not read as clip records: written back unchanged. */
  readonly unreadable: unknown[];
  /** JSON bytes of its clips and unreadable entries. */
  bytes: number;
}

/**
 * The clips of some hours, as read from their items, and what a poll changed. `get` gives a clip's
 * record; `set` puts a new one (in its part, or the game's hour's last part with room); `takeDirty`
 * gives the rows to write for every part changed since the last call.
 */
export class ClipBuckets {
  private readonly parts = new Map<string, Part>();
  /** Per `<hour>#<game>`: the highest part number seen or made (readable or not). */
  private readonly lastPart = new Map<string, number>();
  /** Per clip id: the id of its part. */
  private readonly where = new Map<string, string>();
  /** Per clip id: its record from a one-clip item of before, if any. */
  private readonly legacy = new Map<string, ClipRecord>();
  private readonly dirty = new Set<string>();
  private readonly hours = new Set<string>();

  /** `warn` hears of what could not be read. */
  constructor(private readonly warn: (message: string) => void) {}

  /** Whether the hour's items were loaded. */
  has(hour: string): boolean {
    return this.hours.has(hour);
  }

  /** Takes in all the items of an hour (`clip` items whose id starts with `<hour>#`). */
  load(hour: string, items: readonly ClipItem[]): void {
    this.hours.add(hour);
    for (const item of items) {
      const read = readClipItem(item);
      if (read.kind === 'clip') {
        this.legacy.set(read.clip.id, read.clip);
        continue;
      }
      const { ref } = read;
      if (ref === undefined) {
        this.warn(`unreadable clip ${item.id}`);
        continue;
      }
      // Unreadable parts count too: a new part never takes their number.
      const game = `${ref.hour}#${ref.gameId}`;
      this.lastPart.set(game, Math.max(this.lastPart.get(game) ?? -1, ref.part));
      if (read.kind === 'unreadable') {
        this.warn(`unreadable clip bucket ${item.id}: left as it is`);
        continue;
      }
      const part: Part = { ...ref, clips: new Map(read.clips.map((c) => [c.id, c])), unreadable: read.unreadable, bytes: 0 };
      for (const entry of [...read.clips, ...read.unreadable]) part.bytes += sizeOf(entry);
      for (const clip of read.clips) this.where.set(clip.id, item.id);
      if (part.unreadable.length > 0) this.warn(`${part.unreadable.length} unreadable clip(s) in ${item.id}: kept as they are`);
      this.parts.set(item.id, part);
    }
  }

  /** The clip's latest record: from its bucket, else from a one-clip item of before. */
  get(clipId: string): ClipRecord | undefined {
    const at = this.where.get(clipId);
    return (at === undefined ? undefined : this.parts.get(at)?.clips.get(clipId)) ?? this.legacy.get(clipId);
  }

  /** Puts the clip's new record, created in `hour`, listed under `gameId`. */
  set(hour: string, gameId: string, record: ClipRecord): void {
    // A part of an hour not loaded could exist already: a new part 0 would overwrite it.
    if (!this.hours.has(hour)) throw new Error(`the clips of ${hour} are not loaded`);
    const size = sizeOf(record);
    const at = this.where.get(record.id) ?? this.partWithRoom(hour, gameId, size);
    const part = this.parts.get(at);
    if (part === undefined) throw new Error(`clip bucket ${at} is not loaded`);
    const before = part.clips.get(record.id);
    part.bytes += size - (before === undefined ? 0 : sizeOf(before));
    part.clips.set(record.id, record);
    this.where.set(record.id, at);
    this.dirty.add(at);
  }

  /** How many parts changed since the last `takeDirty`. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** The rows to write for the parts changed since the last call (each part whole). */
  takeDirty(): { id: string; data: ClipBucket }[] {
    const rows = [...this.dirty].flatMap((id) => {
      const p = this.parts.get(id);
      return p === undefined ? [] : [{ id, data: { hour: p.hour, gameId: p.gameId, part: p.part, clips: [...p.clips.values(), ...p.unreadable] } }];
    });
    this.dirty.clear();
    return rows;
  }

  private partWithRoom(hour: string, gameId: string, size: number): string {
    const game = `${hour}#${gameId}`;
    const last = this.lastPart.get(game);
    if (last !== undefined) {
      const id = bucketId(hour, gameId, last);
      const part = this.parts.get(id);
      if (part !== undefined && part.clips.size + part.unreadable.length < CLIPS_PER_BUCKET && part.bytes + size <= BUCKET_MAX_BYTES) return id;
    }
    const next = last === undefined ? 0 : last + 1;
    const id = bucketId(hour, gameId, next);
    this.parts.set(id, { hour, gameId, part: next, clips: new Map(), unreadable: [], bytes: 0 });
    this.lastPart.set(game, next);
    return id;
  }
}

/**
 * Every clip record in these items (buckets and one-clip items of before), one per clip id: the one
 * seen last (`lastSeenAt`) when a clip appears twice. `warn` hears of what could not be read.
 */
export function clipsOfItems(items: readonly ClipItem[], warn: (message: string) => void): ClipRecord[] {
  const byId = new Map<string, ClipRecord>();
  const keep = (clip: ClipRecord): void => {
    const seen = byId.get(clip.id);
    if (seen === undefined || Date.parse(clip.lastSeenAt) > Date.parse(seen.lastSeenAt)) byId.set(clip.id, clip);
  };
  for (const item of items) {
    const read = readClipItem(item);
    if (read.kind === 'clip') keep(read.clip);
    else if (read.kind === 'unreadable') warn(read.ref === undefined ? `unreadable clip ${item.id}` : `unreadable clip bucket ${item.id}`);
    else {
      read.clips.forEach(keep);
      if (read.unreadable.length > 0) warn(`${read.unreadable.length} unreadable clip(s) in ${item.id}`);
    }
  }
  return [...byId.values()];
}
