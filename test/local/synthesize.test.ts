/**
 * The local runtime loads the CDK only to synthesize, and synthesizes in a child process on a
 * template cache miss: a run from the cache never loads aws-cdk-lib. Checked in a fresh process,
 * whose CommonJS module cache lists every aws-cdk-lib file it loaded.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '../../local/runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `body` (ES module code) in a fresh `node --import tsx` and returns its JSON output. */
function inFreshProcess(body: string): unknown {
  const code = `import { createRequire } from 'node:module';
const cdkLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/aws-cdk-lib/'));
${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' })) as unknown;
}

describe('synthesis out of process', () => {
  it('a runtime and symphony from the cached template never load aws-cdk-lib', () => {
    const resources = Object.keys(synthesizeTemplate().Resources as object).length; // warms the cache
    const out = inFreshProcess(`
const { synthesizeTemplate } = await import('./local/runtime.ts');
await import('./local/symphony.ts');
await import('./local/self-healing.ts');
const template = synthesizeTemplate();
console.log(JSON.stringify({ resources: Object.keys(template.Resources).length, cdkLoaded: cdkLoaded() }));`);
    expect(out).toEqual({ resources, cdkLoaded: false });
  });

  it('the synthesizing module does load it (the check above can see it)', () => {
    const out = inFreshProcess(`
await import('./local/synthesize.ts');
console.log(JSON.stringify({ cdkLoaded: cdkLoaded() }));`);
    expect(out).toEqual({ cdkLoaded: true });
  });
});
