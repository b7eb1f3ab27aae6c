/**
 * Benchmark: `cdk synth` wall time (with bundling, cdk-nag and CloudFormation validation, as a
 * user runs it) and the bundle size of every function. Run with `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.js';

/** The size budget of one minified bundle. */
export const BUNDLE_BUDGET_BYTES = 250 * 1024;

export interface SynthBench {
  readonly runs: number;
  readonly wallMs: number[];
  readonly medianMs: number;
  readonly bundles: { fn: string; bytes: number }[];
}

export function benchSynth(runs: number): SynthBench {
  const wallMs: number[] = [];
  let outdir = '';
  for (let i = 0; i < runs; i++) {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
    outdir = mkdtempSync(join(tmpdir(), 'aurastream-synth-'));
    const t0 = performance.now();
    execFileSync('npx', ['cdk', 'synth', '--quiet', '--output', outdir], { stdio: ['ignore', 'ignore', 'inherit'] });
    wallMs.push(performance.now() - t0);
  }
  const template = JSON.parse(readFileSync(join(outdir, 'AuraStreamOrchestrator.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties: { Environment?: { Variables?: Record<string, string> } } }> };
  const bundles: { fn: string; bytes: number }[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const assetPath = r.Metadata?.['aws:asset:path'];
    if (r.Type !== 'AWS::Lambda::Function' || !assetPath) continue;
    const dir = join(outdir, assetPath);
    const bytes = readdirSync(dir)
      .filter((f) => f.endsWith('.mjs') || f.endsWith('.js'))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    bundles.push({ fn: r.Properties.Environment?.Variables?.['POWERTOOLS_SERVICE_NAME'] ?? id, bytes });
  }
  rmSync(outdir, { recursive: true, force: true });
  return { runs, wallMs, medianMs: median(wallMs), bundles: bundles.sort((a, b) => a.fn.localeCompare(b.fn)) };
}
