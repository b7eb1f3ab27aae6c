/**
 * The app synthesized in-process, as `cdk synth` would but without bundling or cdk-nag, and the
 * orchestrator table's properties alone. This module loads aws-cdk-lib (about 2-3 s of CPU); the
 * local runtime only reaches it when the template cache (template-cache.ts) misses, and then in a
 * child process (`node --import tsx local/synthesize.ts template|table-properties` prints the JSON),
 * so a run from the cache never loads the CDK.
 */
import { App, Stack } from 'aws-cdk-lib';
import { pathToFileURL } from 'node:url';
import { buildApp, STACK_NAME } from '../lib/app.js';
import { OrchestratorTable } from '../lib/constructs/orchestrator-table.js';
import { flattenedTemplate } from './nested-templates.js';
import type { CfnTemplate } from './template-asl.js';

function withoutValidation<T>(fn: () => T): T {
  const previous = process.env['CDK_VALIDATION'];
  process.env['CDK_VALIDATION'] = 'false';
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env['CDK_VALIDATION'];
    else process.env['CDK_VALIDATION'] = previous;
  }
}

/** The app synthesized now, whatever the cache holds: the parent and its nested worker stacks as one template (nested-templates.ts). */
export function synthesizeFresh(): CfnTemplate {
  return withoutValidation(() => {
    const { app } = buildApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
    const assembly = app.synth();
    // One template: the nested worker stacks' resources inlined into the parent's (nested-templates.ts).
    return flattenedTemplate(assembly.getStackByName(STACK_NAME).template as CfnTemplate, assembly.directory);
  });
}

/** The `Properties` of the orchestrator table alone, as its construct synthesizes them. */
export function tablePropertiesFresh(): Record<string, unknown> {
  return withoutValidation(() => {
    const app = new App();
    new OrchestratorTable(new Stack(app, 'TableOnly'), 'State');
    const resources = (app.synth().getStackByName('TableOnly').template as CfnTemplate).Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    const table = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table');
    if (!table?.Properties) throw new Error('no table in the template');
    return table.Properties;
  });
}

export const SYNTHESIZED = { template: synthesizeFresh, 'table-properties': tablePropertiesFresh } as const;
export type Synthesized = keyof typeof SYNTHESIZED;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.argv[2] as Synthesized;
  const make = SYNTHESIZED[name] as (() => unknown) | undefined;
  if (make === undefined) {
    console.error(`usage: node --import tsx local/synthesize.ts ${Object.keys(SYNTHESIZED).join('|')}`);
    process.exitCode = 2;
  } else {
    process.stdout.write(JSON.stringify(make()));
  }
}
