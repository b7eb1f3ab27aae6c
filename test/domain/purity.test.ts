import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PURE_DIRS = ['lib/domain', 'lib/registry'];
const FORBIDDEN = ['@aws-sdk/', 'aws-lambda', 'aws-cdk-lib', 'constructs', '@aws-lambda-powertools'];

/**
 * Module specifiers a source imports: `import ... from 'x'`, `import 'x'`, `export ... from 'x'`,
 * `import type ... from 'x'`, dynamic `import('x')` and `require('x')`.
 */
export function importSpecifiers(source: string): string[] {
  // Block comments and whole-line comments are not code (trailing comments are kept: a string may hold "//").
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1] as string));
}

/** The forbidden specifiers a source imports. */
export function forbiddenImports(source: string): string[] {
  return importSpecifiers(source).filter((spec) => FORBIDDEN.some((f) => (f.endsWith('/') ? spec.startsWith(f) : spec === f || spec.startsWith(`${f}/`))));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the checker itself', () => {
  it.each([
    ["import { App } from 'aws-cdk-lib';", ['aws-cdk-lib']],
    ["import * as s3 from 'aws-cdk-lib/aws-s3';", ['aws-cdk-lib/aws-s3']],
    ["import type { Context } from 'aws-lambda';", ['aws-lambda']],
    ["import { Construct } from 'constructs';", ['constructs']],
    ["import {\n  DynamoDBClient,\n} from '@aws-sdk/client-dynamodb';", ['@aws-sdk/client-dynamodb']],
    ["export { Logger } from '@aws-lambda-powertools/logger';", ['@aws-lambda-powertools/logger']],
    ["export * from 'aws-cdk-lib';", ['aws-cdk-lib']],
    ["import 'aws-cdk-lib';", ['aws-cdk-lib']],
    ["const sdk = await import('@aws-sdk/client-sqs');", ['@aws-sdk/client-sqs']],
    ["const cdk = require(\"aws-cdk-lib\");", ['aws-cdk-lib']],
  ])('flags %j', (source, expected) => {
    expect(forbiddenImports(source)).toEqual(expected);
  });

  it.each([
    "import * as z from 'zod';",
    "import type { WorkerScoreReport } from './score-report.js';",
    "import { Cron } from 'croner';",
    "import { constructsHelper } from './constructs-helper.js';", // a relative path that merely mentions the name
    "// we never import from 'aws-cdk-lib' here",
    "/* import { App } from 'aws-cdk-lib'; */",
  ])('does not flag %j', (source) => {
    expect(forbiddenImports(source)).toEqual([]);
  });

  it('finds the relative imports of a real domain file (the parser is not blind)', () => {
    const source = readFileSync(join(ROOT, 'lib/domain/recovery.ts'), 'utf8');
    expect(importSpecifiers(source)).toContain('./anomaly-rules.js');
  });
});

describe('lib/domain and lib/registry are pure', () => {
  const files = PURE_DIRS.flatMap((dir) => tsFiles(join(ROOT, dir)));

  it('has files to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files.map((f) => relative(ROOT, f))).toContain('lib/domain/scoring.ts');
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s imports no AWS SDK, Lambda, CDK or Powertools module', (_name, file) => {
    expect(forbiddenImports(readFileSync(file, 'utf8'))).toEqual([]);
  });
});
