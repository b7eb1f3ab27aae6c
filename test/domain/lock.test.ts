import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acquireSpec,
  applyWrite,
  evaluateCondition,
  InMemoryConditionalStore,
  LOCK_ATTRS,
  recordSpec,
  releaseSpec,
  renewSpec,
  slotAttr,
  type AcquireRequest,
} from '../../lib/domain/lock.js';

const KEY = 'worker#youtube_worker';
const T0 = 1_700_000_000_000;
const LEASE_S = 60;
const LEASE_MS = LEASE_S * 1000;

const acquire = (store: InMemoryConditionalStore, owner: string, nowMs: number, slot?: AcquireRequest['slot']) =>
  store.write(KEY, acquireSpec({ owner, nowMs, leaseSeconds: LEASE_S, ...(slot ? { slot } : {}) }));

describe('acquireSpec', () => {
  it('acquires a free lock with fence 1 and a lease', () => {
    // Prepare
    const store = new InMemoryConditionalStore();
    // Act
    const item = acquire(store, 'a', T0);
    // Assess
    expect(item).toEqual({ [LOCK_ATTRS.holder]: 'a', [LOCK_ATTRS.fence]: 1, [LOCK_ATTRS.expiresAt]: T0 + LEASE_MS });
  });

  it.each([
    ['right away', 0],
    ['half way through the lease', LEASE_MS / 2],
    ['exactly at expiry (the lease is still live)', LEASE_MS],
  ])('a second acquire fails while the lease is live: %s', (_name, afterMs) => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    const before = store.get(KEY);
    expect(acquire(store, 'b', T0 + afterMs)).toBeNull();
    expect(acquire(store, 'a', T0 + afterMs)).toBeNull(); // not re-entrant either
    expect(store.get(KEY)).toEqual(before); // a failed write changes nothing
  });

  it('after expiry another owner acquires with fence 2', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(acquire(store, 'b', T0 + LEASE_MS + 1)).toMatchObject({ [LOCK_ATTRS.holder]: 'b', [LOCK_ATTRS.fence]: 2, [LOCK_ATTRS.expiresAt]: T0 + 2 * LEASE_MS + 1 });
  });

  it('the fence survives a release and keeps increasing', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(store.write(KEY, releaseSpec('a', 1))).not.toBeNull();
    expect(acquire(store, 'b', T0 + 1)).toMatchObject({ [LOCK_ATTRS.fence]: 2 });
    expect(store.write(KEY, releaseSpec('b', 2))).not.toBeNull();
    expect(acquire(store, 'a', T0 + 2)).toMatchObject({ [LOCK_ATTRS.fence]: 3 });
  });
});

describe('a stale holder', () => {
  // a held fence 1, its lease lapsed, b took over with fence 2.
  const takenOver = (): InMemoryConditionalStore => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    acquire(store, 'b', T0 + LEASE_MS + 1);
    return store;
  };

  it.each([
    ['renew', renewSpec('a', 1, T0 + LEASE_MS + 2, LEASE_S)],
    ['release', releaseSpec('a', 1)],
    ['record', recordSpec('a', 1, { circuit: 'CLOSED' })],
    ['renew with the current fence but the wrong owner', renewSpec('a', 2, T0 + LEASE_MS + 2, LEASE_S)],
    ['release with its own name and an invented fence', releaseSpec('b', 1)],
  ])('cannot %s', (_name, spec) => {
    const store = takenOver();
    const before = store.get(KEY);
    expect(store.write(KEY, spec)).toBeNull();
    expect(store.get(KEY)).toEqual(before);
  });

  it('the same owner re-acquiring gets a new fence; its old fence is stale', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    acquire(store, 'a', T0 + LEASE_MS + 1);
    expect(store.write(KEY, releaseSpec('a', 1))).toBeNull();
    expect(store.write(KEY, releaseSpec('a', 2))).not.toBeNull();
  });
});

describe('renew, release and record by the current holder', () => {
  it('renew extends the lease', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(store.write(KEY, renewSpec('a', 1, T0 + 30_000, LEASE_S))).toMatchObject({ [LOCK_ATTRS.expiresAt]: T0 + 30_000 + LEASE_MS, [LOCK_ATTRS.fence]: 1 });
    expect(acquire(store, 'b', T0 + LEASE_MS + 1)).toBeNull(); // the old expiry no longer frees it
  });

  it('a lapsed lease that nobody took over may be renewed', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(store.write(KEY, renewSpec('a', 1, T0 + 2 * LEASE_MS, LEASE_S))).not.toBeNull();
    expect(acquire(store, 'b', T0 + 2 * LEASE_MS + 1)).toBeNull();
  });

  it('release frees the lock at once', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(store.write(KEY, releaseSpec('a', 1))).toEqual({ [LOCK_ATTRS.fence]: 1, [LOCK_ATTRS.expiresAt]: 0 });
    expect(acquire(store, 'b', T0 + 1)).toMatchObject({ [LOCK_ATTRS.holder]: 'b' });
  });

  it('record writes the effects and releases in one write', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0);
    expect(store.write(KEY, recordSpec('a', 1, { circuitState: 'OPEN', freshAtMs: T0 + 5 }))).toEqual({ [LOCK_ATTRS.fence]: 1, [LOCK_ATTRS.expiresAt]: 0, circuitState: 'OPEN', freshAtMs: T0 + 5 });
    expect(store.write(KEY, recordSpec('a', 1, { circuitState: 'CLOSED' }))).toBeNull(); // only once
  });
});

describe('slot claiming', () => {
  const slot = (scheduledTime: string) => ({ jobId: 'trending', scheduledTime });

  it('claims a slot once; a later slot succeeds; an earlier slot fails', () => {
    // Prepare
    const store = new InMemoryConditionalStore();
    // Act and assess
    expect(acquire(store, 'a', T0, slot('2026-01-02T05:00:00Z'))).toMatchObject({ [slotAttr('trending')]: '2026-01-02T05:00:00.000Z', [LOCK_ATTRS.fence]: 1 });
    store.write(KEY, releaseSpec('a', 1));
    expect(acquire(store, 'b', T0 + 1, slot('2026-01-02T05:00:00Z'))).toBeNull(); // same slot, lock free
    expect(acquire(store, 'b', T0 + 2, slot('2026-01-02T05:30:00Z'))).toMatchObject({ [LOCK_ATTRS.fence]: 2, [slotAttr('trending')]: '2026-01-02T05:30:00.000Z' });
    store.write(KEY, releaseSpec('b', 2));
    expect(acquire(store, 'c', T0 + 3, slot('2026-01-02T05:15:00Z'))).toBeNull(); // earlier slot
    expect(store.get(KEY)?.[LOCK_ATTRS.fence]).toBe(2);
  });

  it('treats "…00Z" and "…00.000Z" as one slot', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0, slot('2026-01-02T05:00:00.000Z'));
    store.write(KEY, releaseSpec('a', 1));
    expect(acquire(store, 'b', T0 + 1, slot('2026-01-02T05:00:00Z'))).toBeNull();
  });

  it('a free slot does not bypass a held lock', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0, slot('2026-01-02T05:00:00Z'));
    expect(acquire(store, 'b', T0 + 1, slot('2026-01-02T06:00:00Z'))).toBeNull();
  });

  it('slots are per job', () => {
    const store = new InMemoryConditionalStore();
    acquire(store, 'a', T0, { jobId: 'trending', scheduledTime: '2026-01-02T05:00:00Z' });
    store.write(KEY, releaseSpec('a', 1));
    expect(acquire(store, 'b', T0 + 1, { jobId: 'games', scheduledTime: '2026-01-02T05:00:00Z' })).not.toBeNull();
  });
});

describe('evaluateCondition and applyWrite', () => {
  it.each([
    ['notExists on an absent item', { op: 'notExists', attr: 'x' } as const, undefined, true],
    ['eq on an absent item', { op: 'eq', attr: 'x', value: 1 } as const, undefined, false],
    ['lt across types is false', { op: 'lt', attr: 'x', value: 5 } as const, { x: '1' }, false],
    ['lt', { op: 'lt', attr: 'x', value: 5 } as const, { x: 4 }, true],
    ['lt at equality', { op: 'lt', attr: 'x', value: 5 } as const, { x: 5 }, false],
    ['le at equality', { op: 'le', attr: 'x', value: 5 } as const, { x: 5 }, true],
    ['and of nothing', { op: 'and', of: [] } as const, undefined, true],
    ['or of nothing', { op: 'or', of: [] } as const, undefined, false],
  ])('%s', (_name, condition, item, expected) => {
    expect(evaluateCondition(condition, item)).toBe(expected);
  });

  it('ADD starts a missing number at 0; REMOVE deletes; SET overwrites', () => {
    expect(applyWrite({ condition: { op: 'and', of: [] }, set: { a: 'x' }, add: { n: 2 }, remove: ['gone'] }, { a: 'old', gone: 1 })).toEqual({ a: 'x', n: 2 });
  });
});

// ----- Property: random interleavings of several owners, checked against a model -----

type Op = 'acquire' | 'renew' | 'release' | 'record';
interface Action {
  readonly owner: number;
  readonly op: Op;
  readonly advanceMs: number;
  readonly leaseSeconds: number;
  /** For renew/release/record: use a fence this owner held earlier instead of its latest one. */
  readonly useOldFence: boolean;
}

const actionArb: fc.Arbitrary<Action> = fc.record({
  owner: fc.integer({ min: 0, max: 3 }),
  op: fc.constantFrom<Op>('acquire', 'acquire', 'renew', 'release', 'record'),
  advanceMs: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.constantFrom(0, 1, 2_000, 2_001)),
  leaseSeconds: fc.integer({ min: 1, max: 3 }),
  useOldFence: fc.boolean(),
});

describe('lock protocol property', () => {
  it('at most one owner believes it holds a live lease; fences strictly increase; stale fences never write', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 1, maxLength: 60 }), (actions) => {
        const store = new InMemoryConditionalStore();
        const owners = ['o0', 'o1', 'o2', 'o3'];
        // What each owner believes: the fence and lease it holds, or null. And every fence it ever got.
        const belief: ({ fence: number; expiresAtMs: number } | null)[] = owners.map(() => null);
        const history: number[][] = owners.map(() => []);
        let nowMs = T0;
        let lastFence = 0;
        const live = (i: number): boolean => (belief[i]?.expiresAtMs ?? -1) >= nowMs;

        for (const a of actions) {
          nowMs += a.advanceMs;
          const owner = owners[a.owner] as string;
          const storeBefore = store.get(KEY);
          const currentFence = storeBefore?.[LOCK_ATTRS.fence];

          if (a.op === 'acquire') {
            const anyoneLive = owners.some((_, i) => live(i));
            const item = store.write(KEY, acquireSpec({ owner, nowMs, leaseSeconds: a.leaseSeconds }));
            // The model: the lock can be taken exactly when nobody holds a live lease.
            expect(item !== null).toBe(!anyoneLive);
            if (item !== null) {
              const fence = item[LOCK_ATTRS.fence] as number;
              expect(fence).toBe(lastFence + 1);
              expect(owners.filter((_, i) => i !== a.owner && live(i))).toEqual([]);
              lastFence = fence;
              belief[a.owner] = { fence, expiresAtMs: nowMs + a.leaseSeconds * 1000 };
              history[a.owner]?.push(fence);
            }
          } else {
            const held = history[a.owner] ?? [];
            const fence = a.useOldFence && held.length > 0 ? (held[0] as number) : (belief[a.owner]?.fence ?? held.at(-1) ?? 0);
            const spec =
              a.op === 'renew' ? renewSpec(owner, fence, nowMs, a.leaseSeconds) : a.op === 'release' ? releaseSpec(owner, fence) : recordSpec(owner, fence, { lastRecordMs: nowMs });
            const item = store.write(KEY, spec);
            if (fence !== currentFence) expect(item).toBeNull();
            // The model: a write succeeds exactly when the owner still holds the lock under that fence,
            // and nobody has acquired since (a lapsed lease nobody took over still counts).
            const holds = belief[a.owner]?.fence === fence && fence === lastFence;
            expect(item !== null).toBe(holds);
            if (item !== null) {
              expect(storeBefore?.[LOCK_ATTRS.holder]).toBe(owner);
              if (a.op === 'renew') belief[a.owner] = { fence, expiresAtMs: nowMs + a.leaseSeconds * 1000 };
              else belief[a.owner] = null;
              if (a.op === 'record') expect(item['lastRecordMs']).toBe(nowMs);
            } else {
              expect(store.get(KEY)).toEqual(storeBefore);
            }
          }
          // Invariant after every step.
          expect(owners.filter((_, i) => live(i)).length).toBeLessThanOrEqual(1);
          expect(store.get(KEY)?.[LOCK_ATTRS.fence] ?? 0).toBe(lastFence);
        }
      }),
      { numRuns: 300 },
    );
  });
});
