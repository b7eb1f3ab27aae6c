/**
 * Scale measurement: synthesizes the app (in-process, without bundling or cdk-nag) for a registry
 * of N workers and reports, per stack, the resources and template size, and the largest Lambda
 * environment, against CloudFormation's and Lambda's limits. `npm run bench` runs it for 14 and 60.
 */
import { buildApp } from '../lib/app.js';
import { generatedRegistry } from './generated-registry.js';

/** The project's limits (below CloudFormation's 500 resources / 1 MB, Lambda's 4 KB environment). */
export const LIMITS = { resourcesPerStack: 450, templateBytesPerStack: 800 * 1024, environmentBytes: 3 * 1024 } as const;

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
    const stacks = assembly.stacks.map((s) => {
      const template = s.template as { Resources: Record<string, { Type: string; Properties?: { Environment?: { Variables?: unknown } } }> };
      for (const [id, r] of Object.entries(template.Resources)) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        const bytes = JSON.stringify(r.Properties?.Environment?.Variables ?? {}).length;
        if (bytes > largestEnvironment.bytes) largestEnvironment = { fn: id, bytes };
      }
      return { name: s.stackName, resources: Object.keys(template.Resources).length, templateBytes: JSON.stringify(template).length };
    });
    return { workers: size, synthMs, stacks, largestEnvironment };
  } finally {
    if (previous === undefined) delete process.env['CDK_VALIDATION'];
    else process.env['CDK_VALIDATION'] = previous;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const size of process.argv.slice(2).map(Number)) console.log(JSON.stringify(measureScale(size)));
}
