/**
 * Scale measurement: synthesizes the app (in-process, without bundling or cdk-nag) for a registry
 * of N workers and reports, per stack, the resources and template size, and the largest Lambda
 * environment, against CloudFormation's and Lambda's limits. `npm run bench` runs it for 14 and 60.
 */
import { buildApp } from '../lib/app.js';
import { nestedTemplatesOf } from '../local/nested-templates.js';
import type { CfnTemplate } from '../local/template-asl.js';
import { generatedRegistry } from './generated-registry.js';

/** The project's limits (below CloudFormation's 500 resources / 1 MB, Lambda's 4 KB environment). */
export const LIMITS = { resourcesPerStack: 450, templateBytesPerStack: 800 * 1024, environmentBytes: 3 * 1024 } as const;

type BenchTemplate = { Resources: Record<string, { Type: string; Metadata?: Record<string, unknown>; Properties?: { Environment?: { Variables?: unknown } } }> };

export interface ScaleMeasure {
  readonly workers: number;
  readonly synthMs: number;
  /** Why synth failed (CDK refuses a stack over CloudFormation's 500 resources), when it did. */
  readonly failure?: string;
  readonly stacks: { name: string; resources: number; templateBytes: number }[];
  /** The largest environment, as JSON of its template value (tokens count as their CloudFormation form). */
  readonly largestEnvironment: { fn: string; bytes: number };
}

export function measureScale(size: number): ScaleMeasure {
  const previous = process.env['CDK_VALIDATION'];
  process.env['CDK_VALIDATION'] = 'false';
  try {
    const { workers, entryOf } = generatedRegistry(size);
    const t0 = performance.now();
    const { app } = buildApp({ workers, workerEntry: entryOf, nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
    let assembly;
    try {
      assembly = app.synth();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { workers: size, synthMs: performance.now() - t0, failure: (/Number of resources in stack[^:]*: \d+ is greater than allowed maximum of \d+/.exec(message)?.[0] ?? message).slice(0, 300), stacks: [], largestEnvironment: { fn: '', bytes: 0 } };
    }
    const synthMs = performance.now() - t0;
    let largestEnvironment = { fn: '', bytes: 0 };
    const stacks: ScaleMeasure['stacks'] = [];
    // Every stack of the assembly and, recursively, its nested stacks (their templates are files of the assembly).
    const visit = (name: string, template: BenchTemplate): void => {
      const nested = nestedTemplatesOf(template as CfnTemplate, assembly.directory);
      for (const [id, r] of Object.entries(template.Resources)) {
        const child = nested.get(id);
        if (child !== undefined) visit(`${name}/${id}`, child as BenchTemplate);
        if (r.Type !== 'AWS::Lambda::Function') continue;
        const bytes = JSON.stringify(r.Properties?.Environment?.Variables ?? {}).length;
        if (bytes > largestEnvironment.bytes) largestEnvironment = { fn: id, bytes };
      }
      stacks.push({ name, resources: Object.keys(template.Resources).length, templateBytes: JSON.stringify(template).length });
    };
    for (const s of assembly.stacks) visit(s.stackName, s.template as BenchTemplate);
    return { workers: size, synthMs, stacks, largestEnvironment };
  } finally {
    if (previous === undefined) delete process.env['CDK_VALIDATION'];
    else process.env['CDK_VALIDATION'] = previous;
  }
}

/** One line per size: the parent, the largest nested stack, their count, the largest environment, the synth time. */
export function summarize(m: ScaleMeasure): string {
  if (m.failure !== undefined) return `${m.workers} workers: synth failed: ${m.failure}`;
  const [parent, ...nested] = [...m.stacks].reverse();
  const largest = (key: 'resources' | 'templateBytes') => Math.max(0, ...nested.map((s) => s[key]));
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  return [
    `${m.workers} workers: synth ${(m.synthMs / 1000).toFixed(1)} s`,
    `parent ${parent?.resources ?? 0} resources / ${kb(parent?.templateBytes ?? 0)}`,
    `${nested.length} nested stacks, largest ${largest('resources')} resources / ${kb(largest('templateBytes'))}`,
    `largest Lambda environment ${m.largestEnvironment.bytes} B (${m.largestEnvironment.fn})`,
  ].join('; ');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npx tsx bench/scale.ts 14,60` or `... 14 60`; `--json` prints the measures.
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  for (const size of args.filter((a) => a !== '--json').flatMap((a) => a.split(',')).map(Number)) {
    const m = measureScale(size);
    console.log(json ? JSON.stringify(m) : summarize(m));
  }
}
