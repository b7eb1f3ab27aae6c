/**
 * The lock protocol: a lease plus a fence token that only ever increases.
 *
 * Acquire, renew, release and record are written as conditional-write specifications; an adapter
 * executes them (DynamoDB `UpdateItem` with a `ConditionExpression`, or the in-memory store below).
 * The lock lives on the worker's state item, so the fence survives releases and keeps increasing.
 * A stale holder — one whose fence is no longer current — can neither release nor record.
 */

export interface LockAttrs {
  readonly holder: string;
  readonly fence: string;
  readonly expiresAt: string;
}

/** The attribute names of one lock. */
export const LOCK_ATTRS: LockAttrs = { holder: 'lockHolder', fence: 'lockFence', expiresAt: 'lockExpiresAtMs' };

/**
 * The lock of one job: two jobs of a worker (YouTube trending and games) are different instances
 * and may run side by side; the same job may not.
 */
export const lockAttrsFor = (jobId: string): LockAttrs => ({ holder: `lockHolder_${jobId}`, fence: `lockFence_${jobId}`, expiresAt: `lockExpiresAtMs_${jobId}` });

export type AttrValue = string | number;

export type Condition =
  | { readonly op: 'and' | 'or'; readonly of: readonly Condition[] }
  | { readonly op: 'notExists'; readonly attr: string }
  | { readonly op: 'eq' | 'lt' | 'le'; readonly attr: string; readonly value: AttrValue };

export interface ConditionalWrite {
  readonly condition: Condition;
  readonly set: Readonly<Record<string, AttrValue>>;
  readonly add: Readonly<Record<string, number>>;
  readonly remove: readonly string[];
}

export const and = (...of: Condition[]): Condition => ({ op: 'and', of });
export const or = (...of: Condition[]): Condition => ({ op: 'or', of });

/** The slot attribute that makes a job's run idempotent per scheduled time. */
export const slotAttr = (jobId: string): string => `slot_${jobId}`;

export interface AcquireRequest {
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseSeconds: number;
  /** When given, the acquire also claims this schedule slot for the job: a slot is claimed once. */
  readonly slot?: { readonly jobId: string; readonly scheduledTime: string };
  /** Which lock. @default LOCK_ATTRS */
  readonly attrs?: LockAttrs;
}

/** Free, or held under an expired lease; and, with a slot, the slot not yet claimed. The fence goes up by one. */
export function acquireSpec(req: AcquireRequest): ConditionalWrite {
  const a = req.attrs ?? LOCK_ATTRS;
  const free = or({ op: 'notExists', attr: a.holder }, { op: 'lt', attr: a.expiresAt, value: req.nowMs });
  const set: Record<string, AttrValue> = { [a.holder]: req.owner, [a.expiresAt]: req.nowMs + req.leaseSeconds * 1000 };
  let condition = free;
  if (req.slot) {
    const attr = slotAttr(req.slot.jobId);
    // Normalized to millisecond ISO so that text order is time order ("…00Z" and "…00.000Z" are one slot).
    const slot = new Date(req.slot.scheduledTime).toISOString();
    condition = and(free, or({ op: 'notExists', attr }, { op: 'lt', attr, value: slot }));
    set[attr] = slot;
  }
  return { condition, set, add: { [a.fence]: 1 }, remove: [] };
}

const holds = (owner: string, fence: number, a: LockAttrs): Condition =>
  and({ op: 'eq', attr: a.holder, value: owner }, { op: 'eq', attr: a.fence, value: fence });

/**
 * Extends the lease held by `owner` under `fence`. A lapsed lease that nobody took over may still
 * be renewed: the fence is what proves nobody else holds the lock.
 */
export function renewSpec(owner: string, fence: number, nowMs: number, leaseSeconds: number, a: LockAttrs = LOCK_ATTRS): ConditionalWrite {
  return { condition: holds(owner, fence, a), set: { [a.expiresAt]: nowMs + leaseSeconds * 1000 }, add: {}, remove: [] };
}

/** Releases the lock, only for the current holder and fence. */
export function releaseSpec(owner: string, fence: number, a: LockAttrs = LOCK_ATTRS): ConditionalWrite {
  return { condition: holds(owner, fence, a), set: { [a.expiresAt]: 0 }, add: {}, remove: [a.holder] };
}

/**
 * Records a run's effects on the worker's state (circuit, freshness mark, ...) and releases the
 * lock in the same write, only for the current holder and fence.
 */
export function recordSpec(owner: string, fence: number, effects: Readonly<Record<string, AttrValue>>, a: LockAttrs = LOCK_ATTRS): ConditionalWrite {
  return { condition: holds(owner, fence, a), set: { ...effects, [a.expiresAt]: 0 }, add: {}, remove: [a.holder] };
}

export type Item = Readonly<Record<string, AttrValue>>;

/** Evaluates a condition against an item (absent item: every attribute is missing). */
export function evaluateCondition(condition: Condition, item: Item | undefined): boolean {
  switch (condition.op) {
    case 'and':
      return condition.of.every((c) => evaluateCondition(c, item));
    case 'or':
      return condition.of.some((c) => evaluateCondition(c, item));
    case 'notExists':
      return item?.[condition.attr] === undefined;
    default: {
      const actual = item?.[condition.attr];
      if (actual === undefined || typeof actual !== typeof condition.value) return false;
      if (condition.op === 'eq') return actual === condition.value;
      return condition.op === 'lt' ? actual < condition.value : actual <= condition.value;
    }
  }
}

/** Applies a write to an item, as DynamoDB's SET / ADD / REMOVE would. */
export function applyWrite(write: ConditionalWrite, item: Item | undefined): Item {
  const next = new Map<string, AttrValue>(Object.entries(item ?? {}));
  for (const [k, v] of Object.entries(write.set)) next.set(k, v);
  for (const [k, v] of Object.entries(write.add)) {
    const current = next.get(k);
    next.set(k, (typeof current === 'number' ? current : 0) + v);
  }
  for (const k of write.remove) next.delete(k);
  return Object.fromEntries(next);
}

/** An in-memory conditional store: the reference adapter, used by the property tests. */
export class InMemoryConditionalStore {
  private readonly items = new Map<string, Item>();

  get(key: string): Item | undefined {
    return this.items.get(key);
  }

  /** Returns the item after the write, or null when the condition failed. */
  write(key: string, spec: ConditionalWrite): Item | null {
    const current = this.items.get(key);
    if (!evaluateCondition(spec.condition, current)) return null;
    const next = applyWrite(spec, current);
    this.items.set(key, next);
    return next;
  }
}
