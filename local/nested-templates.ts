/**
 * The orchestrator is a parent stack with one nested stack per worker (lib/stacks/worker-stack.ts).
 * The local runtime reads one template: this module flattens the parent and its nested stacks into
 * one, as CloudFormation would resolve them:
 * - a nested stack's `Ref` to one of its parameters becomes the value the parent passes it;
 * - the parent's (or another nested stack's) `Fn::GetAtt [<nested>, Outputs.<name>]` becomes that
 *   output's value;
 * - the nested stack resources go, their resources join the parent's (logical IDs must not collide:
 *   CDK names them after their construct paths, which include the worker id).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnTemplate } from './template-asl.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown>; DependsOn?: string | string[] };
type Template = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown }>; [section: string]: unknown };

const NESTED_STACK = 'AWS::CloudFormation::Stack';

/** The file of each asset of a cloud assembly, by asset hash (its `*.assets.json` manifests). */
function assetFiles(assemblyDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const manifest of readdirSync(assemblyDir).filter((f) => f.endsWith('.assets.json'))) {
    const parsed = JSON.parse(readFileSync(join(assemblyDir, manifest), 'utf8')) as { files?: Record<string, { source?: { path?: string } }> };
    for (const [hash, asset] of Object.entries(parsed.files ?? {})) {
      if (asset.source?.path !== undefined) files.set(hash, asset.source.path);
    }
  }
  return files;
}

/** The asset hash a nested stack's TemplateURL ends with (`.../<hash>.json`). */
function templateHashOf(templateUrl: unknown): string | undefined {
  const last = JSON.stringify(templateUrl).match(/([0-9a-f]{64})\.json/);
  return last?.[1];
}

/** The nested stacks' templates by the parent's logical ID, read from a cloud assembly directory (recursively flattened). */
export function nestedTemplatesOf(parent: CfnTemplate, assemblyDir: string, files: ReadonlyMap<string, string> = assetFiles(assemblyDir)): Map<string, CfnTemplate> {
  const found = new Map<string, CfnTemplate>();
  for (const [id, r] of Object.entries((parent as unknown as Template).Resources)) {
    if (r.Type !== NESTED_STACK) continue;
    const hash = templateHashOf(r.Properties?.['TemplateURL']);
    const file = hash === undefined ? undefined : files.get(hash);
    if (file === undefined) throw new Error(`nested stack ${id}: its template is not an asset of ${assemblyDir}`);
    const template = JSON.parse(readFileSync(join(assemblyDir, file), "utf8")) as CfnTemplate;
    if ((template as { Resources?: unknown }).Resources === undefined) throw new Error(`nested stack ${id}: ${file} has no Resources`);
    found.set(id, flattenNestedStacks(template, nestedTemplatesOf(template, assemblyDir, files)));
  }
  return found;
}

/** Replaces, deep in `value`, every object `replace` maps (returns a new value; `replace` returns undefined to keep). */
function rewrite(value: unknown, replace: (o: Record<string, unknown>) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, replace));
  if (typeof value !== 'object' || value === null) return value;
  const o = value as Record<string, unknown>;
  const replaced = replace(o);
  if (replaced !== undefined) return replaced;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, rewrite(v, replace)]));
}

/** The output a `Fn::GetAtt` names, when it names a nested stack's output: [stack id, output name]. */
function nestedOutputOf(o: Record<string, unknown>): [string, string] | undefined {
  const getAtt = o['Fn::GetAtt'];
  if (getAtt === undefined || Object.keys(o).length !== 1) return undefined;
  const [stack, attr] = Array.isArray(getAtt) ? (getAtt as unknown[]) : typeof getAtt === 'string' ? [getAtt.slice(0, getAtt.indexOf('.')), getAtt.slice(getAtt.indexOf('.') + 1)] : [];
  if (typeof stack !== 'string' || typeof attr !== 'string' || !attr.startsWith('Outputs.')) return undefined;
  return [stack, attr.slice('Outputs.'.length)];
}

/** One template: the parent's resources and every nested stack's, references resolved across them. */
export function flattenNestedStacks(parentTemplate: CfnTemplate, nested: ReadonlyMap<string, CfnTemplate>): CfnTemplate {
  const parent = parentTemplate as unknown as Template;
  if (nested.size === 0) return parentTemplate;
  const resources: Record<string, Resource> = {};
  const outputs = new Map<string, Record<string, unknown>>(); // nested id → output name → value
  for (const [id, r] of Object.entries(parent.Resources)) {
    if (r.Type === NESTED_STACK && nested.has(id)) continue;
    resources[id] = r;
  }
  for (const [id, child] of nested) {
    const stackResource = parent.Resources[id];
    if (stackResource?.Type !== NESTED_STACK) throw new Error(`no nested stack resource ${id} in the parent template`);
    const params = (stackResource.Properties?.['Parameters'] ?? {}) as Record<string, unknown>;
    const bind = (v: unknown): unknown =>
      rewrite(v, (o) => {
        const ref = o['Ref'];
        return typeof ref === 'string' && Object.keys(o).length === 1 && ref in params ? params[ref] : undefined;
      });
    for (const [rid, r] of Object.entries((child as unknown as Template).Resources)) {
      if (rid in resources) throw new Error(`logical ID ${rid} of nested stack ${id} is also in the parent or another nested stack`);
      resources[rid] = bind(r) as Resource;
    }
    outputs.set(id, Object.fromEntries(Object.entries((child as unknown as Template).Outputs ?? {}).map(([name, out]) => [name, bind(out.Value)])));
  }
  // Outputs may name other nested stacks' outputs (a parameter passed through): resolve until none is left.
  const resolveOutputs = (v: unknown, depth = 0): unknown =>
    rewrite(v, (o) => {
      const target = nestedOutputOf(o);
      if (target === undefined || !outputs.has(target[0])) return undefined;
      const value = outputs.get(target[0])?.[target[1]];
      if (value === undefined) throw new Error(`nested stack ${target[0]} has no output ${target[1]}`);
      if (depth > 10) throw new Error(`nested stack outputs reference each other in a loop (${target.join('.')})`);
      return resolveOutputs(value, depth + 1);
    });
  const nestedIds = new Set(nested.keys());
  for (const [rid, r] of Object.entries(resources)) {
    const resolved = resolveOutputs(r) as Resource;
    if (resolved.DependsOn !== undefined) {
      const deps = (Array.isArray(resolved.DependsOn) ? resolved.DependsOn : [resolved.DependsOn]).filter((d) => !nestedIds.has(d));
      if (deps.length === 0) delete resolved.DependsOn;
      else resolved.DependsOn = deps;
    }
    resources[rid] = resolved;
  }
  const flat: Template = { ...parent, Resources: resources };
  if (parent.Outputs !== undefined) flat.Outputs = resolveOutputs(parent.Outputs) as Record<string, { Value: unknown }>;
  return flat as unknown as CfnTemplate;
}

/** A stack's template from a cloud assembly directory, its nested stacks flattened in. */
export function flattenedTemplate(template: CfnTemplate, assemblyDir: string): CfnTemplate {
  return flattenNestedStacks(template, nestedTemplatesOf(template, assemblyDir));
}
