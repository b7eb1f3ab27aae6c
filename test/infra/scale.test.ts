/**
 * Issue #12 item 3: the app synthesizes and stays deployable for a registry of 60 workers (the real
 * 14 and 46 generated clones, bench/generated-registry.ts): every stack (the parent and each
 * nested worker stack) under 450 resources and 800 KB of template, no Lambda environment over
 * 3 KB, no reference cycle inside a template, names by the convention, and a new worker moves no
 * resource of the others.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedRegistry } from '../../bench/generated-registry.js';
import { LIMITS } from '../../bench/scale.js';
import { buildApp } from '../../lib/app.js';
import { pipelineKeys, pipelineName, scheduleName } from '../../lib/registry/naming.js';
import { scheduledTriggers } from '../../lib/registry/index.js';
import { flattenNestedStacks, nestedTemplatesOf } from '../../local/nested-templates.js';
import type { CfnTemplate } from '../../local/template-asl.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] };
type Json = { Resources: Record<string, Resource> };
interface Synthesized {
  /** Stack name (the parent) or `<parent>/<nested logical id>` → template. */
  readonly stacks: Map<string, Json>;
  /** The parent and its nested stacks as one template (what the local runtime runs). */
  readonly flat: Json;
}

function synthesize(size: number): Synthesized {
  process.env['CDK_VALIDATION'] = 'false';
  const { workers, entryOf } = generatedRegistry(size);
  const { app, stack } = buildApp({ workers, workerEntry: entryOf, nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const assembly = app.synth();
  const parent = assembly.getStackByName(stack.stackName).template as Json;
  const stacks = new Map<string, Json>([[stack.stackName, parent]]);
  const nested = nestedTemplatesOf(parent as unknown as CfnTemplate, assembly.directory);
  for (const [id, t] of nested) stacks.set(`${stack.stackName}/${id}`, t as unknown as Json);
  return { stacks, flat: flattenNestedStacks(parent as unknown as CfnTemplate, nested) as unknown as Json };
}

/** The logical IDs a value references (Ref, Fn::GetAtt, ${X} in Fn::Sub). */
function referencesOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencesOf(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt') out.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0] ?? '');
      else if (k === 'Fn::Sub') for (const m of JSON.stringify(v).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) out.add(m[1] ?? '');
      else referencesOf(v, out);
    }
  }
  return out;
}

/** A cycle among a template's resources (references and DependsOn), as a path, or undefined. */
function cycleIn(template: Json): string[] | undefined {
  const edges = new Map<string, string[]>();
  for (const [id, r] of Object.entries(template.Resources)) {
    const deps = [...referencesOf(r.Properties), ...(r.DependsOn === undefined ? [] : ([] as string[]).concat(r.DependsOn))];
    edges.set(id, deps.filter((d) => d in template.Resources));
  }
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path, id];
    state.set(id, 'open');
    for (const d of edges.get(id) ?? []) {
      const found = visit(d, [...path, id]);
      if (found) return found;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const found = visit(id, []);
    if (found) return found;
  }
  return undefined;
}

describe('a registry of 60 workers', () => {
  let sixty: Synthesized;
  beforeAll(() => {
    sixty = synthesize(60);
  }, 120_000);

  it('synthesizes one parent and one nested stack per worker that has resources', () => {
    const { workers } = generatedRegistry(60);
    const withResources = workers.filter((w) => w.executionModel !== 'protocol');
    expect(sixty.stacks.size).toBe(1 + withResources.length);
  });

  it(`keeps every stack under ${LIMITS.resourcesPerStack} resources and ${LIMITS.templateBytesPerStack / 1024} KB of template`, () => {
    for (const [name, t] of sixty.stacks) {
      expect(Object.keys(t.Resources).length, name).toBeLessThan(LIMITS.resourcesPerStack);
      expect(JSON.stringify(t).length, name).toBeLessThan(LIMITS.templateBytesPerStack);
    }
  });

  it(`gives no Lambda an environment over ${LIMITS.environmentBytes / 1024} KB (maps of ARNs come from the naming convention)`, () => {
    for (const [name, t] of sixty.stacks) {
      for (const [id, r] of Object.entries(t.Resources).filter(([, x]) => x.Type === 'AWS::Lambda::Function')) {
        const variables = (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        expect(JSON.stringify(variables).length, `${name}/${id}`).toBeLessThan(LIMITS.environmentBytes);
        expect(Object.keys(variables), `${name}/${id}`).not.toContain('PIPELINE_ARNS');
      }
    }
  });

  it('has no reference cycle inside any template, nor across the parent and its nested stacks', () => {
    for (const [name, t] of sixty.stacks) expect(cycleIn(t), name).toBeUndefined();
    // Flattened (nested outputs and parameters resolved), a cycle through a nested stack shows too.
    expect(cycleIn(sixty.flat)).toBeUndefined();
    const resources = Object.values(sixty.flat.Resources);
    expect(resources.filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(0);
    expect(resources.filter((r) => r.Type === 'AWS::StepFunctions::StateMachine').length).toBeGreaterThan(sixty.stacks.size);
  });

  it('detects a cycle when there is one (the check can fail)', () => {
    expect(cycleIn({ Resources: { A: { Type: 'X', Properties: { P: { Ref: 'B' } } }, B: { Type: 'X', DependsOn: 'A' } } })).toEqual(['A', 'B', 'A']);
  });

  it('names every state machine and schedule by the convention (the functions compute them)', () => {
    const { workers } = generatedRegistry(60);
    const machines = new Set<unknown>();
    const schedules = new Set<unknown>();
    for (const t of sixty.stacks.values()) {
      for (const r of Object.values(t.Resources)) {
        if (r.Type === 'AWS::StepFunctions::StateMachine') machines.add(r.Properties?.['StateMachineName']);
        if (r.Type === 'AWS::Scheduler::Schedule' && r.Properties?.['Name'] !== undefined) schedules.add(r.Properties['Name']);
      }
    }
    for (const key of pipelineKeys(workers)) {
      const [w = '', j = ''] = key.split('.');
      expect(machines).toContain(pipelineName('AuraStreamOrchestrator', w, j));
    }
    for (const t of scheduledTriggers(workers)) expect(schedules).toContain(scheduleName(t.key));
  });
});

describe('growing the registry', () => {
  it('keeps every resource of 14 workers in the same stack, under the same logical ID, at 20', () => {
    const placement = (s: Synthesized): Map<string, string> => new Map([...s.stacks].flatMap(([name, t]) => Object.keys(t.Resources).filter((id) => t.Resources[id]?.Type !== 'AWS::CloudFormation::Stack').map((id) => [`${name}|${id}`, name] as const)));
    const before = placement(synthesize(14));
    const after = placement(synthesize(20));
    // Shared resources that list every worker (dashboard, sweep) may change their properties, not their place.
    const moved = [...before.keys()].filter((k) => !after.has(k));
    expect(moved).toEqual([]);
  }, 120_000);
});
