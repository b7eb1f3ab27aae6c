/**
 * Dependency-graph algorithms over plain adjacency lists. Pure.
 */

/** `edges[node]` lists the nodes `node` depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/** Returns one cycle as a path that starts and ends at the same node, or null when the graph is acyclic. */
export function findCycle(graph: DependencyGraph): string[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Map<string, number>();
  const stack: string[] = [];

  const visit = (node: string): string[] | null => {
    colour.set(node, GREY);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const c = colour.get(next) ?? WHITE;
      if (c === GREY) return [...stack.slice(stack.indexOf(next)), next];
      if (c === WHITE && graph.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    colour.set(node, BLACK);
    return null;
  };

  for (const node of [...graph.keys()].sort()) {
    if ((colour.get(node) ?? WHITE) === WHITE) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return null;
}

/**
 * Orders nodes so that every node comes after the nodes it depends on; ties break by name so the
 * order is stable. Throws when the graph has a cycle.
 */
export function topologicalOrder(graph: DependencyGraph): string[] {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`dependency cycle: ${cycle.join(' -> ')}`);
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [node, deps] of graph) {
    const known = deps.filter((d) => graph.has(d));
    remaining.set(node, known.length);
    for (const dep of known) dependents.set(dep, [...(dependents.get(dep) ?? []), node]);
  }
  const ready = [...remaining].filter(([, n]) => n === 0).map(([node]) => node).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const node = ready.shift() as string;
    order.push(node);
    for (const dependent of dependents.get(node) ?? []) {
      const left = (remaining.get(dependent) ?? 0) - 1;
      remaining.set(dependent, left);
      if (left === 0) {
        ready.push(dependent);
        ready.sort();
      }
    }
  }
  return order;
}

/** Every node `node` depends on, directly or transitively. */
export function upstreamOf(graph: DependencyGraph, node: string): Set<string> {
  const seen = new Set<string>();
  const pending = [...(graph.get(node) ?? [])];
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...(graph.get(next) ?? []));
  }
  return seen;
}
