/**
 * The negative control of the concurrency tests: the same store with every state write made
 * unconditional, as an adapter that stopped sending its ConditionExpressions would. A test helper
 * only; nothing in production code can reach it.
 */
import type { StateStore } from '../../lib/domain/ports.js';

/** Patches `store` in place so that its state writes ignore their conditions; returns the undo. */
export function dropConditions(store: StateStore): () => void {
  const original = store.updateWorkerState.bind(store);
  store.updateWorkerState = (workerId, write) => original(workerId, { ...write, condition: { op: 'and', of: [] } });
  return () => {
    store.updateWorkerState = original;
  };
}
