import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findCycle, topologicalOrder, upstreamOf, type DependencyGraph } from '../../lib/domain/graph.js';

const g = (edges: Record<string, string[]>): DependencyGraph => new Map(Object.entries(edges));

/** A cycle path is closed and follows edges. */
const isCyclePath = (graph: DependencyGraph, path: readonly string[]): boolean =>
  path.length >= 2 && path[0] === path.at(-1) && path.slice(0, -1).every((node, i) => (graph.get(node) ?? []).includes(path[i + 1] as string));

describe('findCycle', () => {
  it.each<[string, Record<string, string[]>, string[] | null]>([
    ['empty graph', {}, null],
    ['single node', { a: [] }, null],
    ['chain', { a: ['b'], b: ['c'], c: [] }, null],
    ['diamond', { d: ['b', 'c'], b: ['a'], c: ['a'], a: [] }, null],
    ['dependency on an unknown node is ignored', { a: ['zzz'] }, null],
    ['self loop', { a: ['a'] }, ['a', 'a']],
    ['two-cycle', { a: ['b'], b: ['a'] }, ['a', 'b', 'a']],
    ['three-cycle off a tail', { t: ['a'], a: ['b'], b: ['c'], c: ['a'] }, ['a', 'b', 'c', 'a']],
    ['the design graph plus a back edge', { youtube: ['playbook'], creator_intel: ['youtube'], playbook: ['youtube', 'twitch_streams'], twitch_streams: [] }, ['youtube', 'playbook', 'youtube']], // the search starts at creator_intel (sorted first),
  ])('%s', (_name, edges, expected) => {
    // Act
    const cycle = findCycle(g(edges));
    // Assess
    expect(cycle).toEqual(expected);
    if (cycle) expect(isCyclePath(g(edges), cycle)).toBe(true);
  });
});

describe('topologicalOrder', () => {
  it.each<[string, Record<string, string[]>, string[]]>([
    ['empty', {}, []],
    ['chain', { c: ['b'], b: ['a'], a: [] }, ['a', 'b', 'c']],
    ['ties break by name', { z: [], y: [], x: [] }, ['x', 'y', 'z']],
    ['diamond', { d: ['b', 'c'], c: ['a'], b: ['a'], a: [] }, ['a', 'b', 'c', 'd']],
    ['unknown dependencies do not block', { a: ['external'], b: ['a'] }, ['a', 'b']],
    ['duplicate edges', { b: ['a', 'a'], a: [] }, ['a', 'b']],
    [
      'the design graph',
      { youtube: [], twitch_streams: [], creator_intel: ['youtube'], intel_aggregation: ['creator_intel'], playbook: ['youtube', 'twitch_streams'] },
      ['twitch_streams', 'youtube', 'creator_intel', 'intel_aggregation', 'playbook'],
    ],
  ])('%s', (_name, edges, expected) => {
    expect(topologicalOrder(g(edges))).toEqual(expected);
  });

  it('throws on a cycle, naming it', () => {
    expect(() => topologicalOrder(g({ a: ['b'], b: ['a'], c: [] }))).toThrow('dependency cycle: a -> b -> a');
  });
});

describe('upstreamOf', () => {
  const graph = g({ playbook: ['youtube', 'twitch_streams'], creator_intel: ['youtube'], agg: ['creator_intel'], youtube: [], twitch_streams: [] });
  it.each<[string, string[]]>([
    ['youtube', []],
    ['creator_intel', ['youtube']],
    ['agg', ['creator_intel', 'youtube']],
    ['playbook', ['twitch_streams', 'youtube']],
    ['unknown', []],
  ])('%s -> %j', (node, expected) => {
    expect([...upstreamOf(graph, node)].sort()).toEqual(expected);
  });

  it('terminates on a cycle and includes the node itself', () => {
    expect([...upstreamOf(g({ a: ['b'], b: ['a'] }), 'a')].sort()).toEqual(['a', 'b']);
  });
});

describe('graph properties', () => {
  /** A random DAG: node i may depend only on nodes with a smaller index, then names are shuffled. */
  const dagArb = fc
    .integer({ min: 0, max: 12 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
        fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => `w${i}`),
          { minLength: n, maxLength: n },
        ),
      ),
    )
    .map(([matrix, names]) => {
      const edges = new Map<string, string[]>();
      names.forEach((name, i) => edges.set(name, names.filter((_, j) => j < i && matrix[i]?.[j] === true)));
      return edges as DependencyGraph;
    });

  it('topological order lists every node once, each after its dependencies', () => {
    fc.assert(
      fc.property(dagArb, (graph) => {
        // Act
        const order = topologicalOrder(graph);
        // Assess
        expect([...order].sort()).toEqual([...graph.keys()].sort());
        const position = new Map(order.map((node, i) => [node, i]));
        for (const [node, deps] of graph) {
          for (const dep of deps) expect(position.get(dep)).toBeLessThan(position.get(node) as number);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a DAG has no cycle; adding a back edge along a path makes one', () => {
    fc.assert(
      fc.property(dagArb, (graph) => {
        expect(findCycle(graph)).toBeNull();
        // Pick a node with a dependency and make that dependency depend on it.
        const entry = [...graph].find(([, deps]) => deps.length > 0);
        if (!entry) return;
        const [node, deps] = entry;
        const dep = deps[0] as string;
        const cyclic = new Map(graph);
        cyclic.set(dep, [...(graph.get(dep) ?? []), node]);
        const cycle = findCycle(cyclic);
        expect(cycle).not.toBeNull();
        expect(isCyclePath(cyclic, cycle ?? [])).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('upstreamOf is the transitive closure of the dependencies', () => {
    fc.assert(
      fc.property(dagArb, (graph) => {
        for (const node of graph.keys()) {
          const up = upstreamOf(graph, node);
          // Closed: every dependency of a node is in it, and so is every dependency of those.
          for (const d of graph.get(node) ?? []) expect(up.has(d)).toBe(true);
          for (const u of up) for (const d of graph.get(u) ?? []) expect(up.has(d)).toBe(true);
          // Sound: everything in it comes before the node in a topological order, and never the node itself.
          const order = topologicalOrder(graph);
          for (const u of up) expect(order.indexOf(u)).toBeLessThan(order.indexOf(node));
          expect(up.has(node)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });
});
