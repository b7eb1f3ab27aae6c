/**
 * The real app for the phase 5 construct tests, synthesized without cdk-nag (template.test.ts
 * checks the packs on the whole stack) and without bundling: the template plus the stack, so tests
 * can name resources by their constructs instead of generated logical IDs.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { flattenedTemplate } from '../../local/nested-templates.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app.js';
import type { OrchestratorStack } from '../../lib/stacks/orchestrator-stack.js';

export type Resource = { Type: string; Properties: Record<string, unknown> };
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

export interface Phase5Synth {
  readonly stack: OrchestratorStack;
  readonly template: Template;
  /** The logical ID of a construct's CloudFormation resource. */
  idOf(construct: IConstruct): string;
  resourcesOf(type: string): [string, Resource][];
  /** Every statement of the policies attached to the role of `fn` (a Lambda function construct). */
  statementsOfFunctionRole(fn: IConstruct): Statement[];
}

export function synthPhase5(context: Record<string, unknown> = {}): Phase5Synth {
  process.env['CDK_VALIDATION'] = 'false';
  const { app, stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context }, nag: false });
  // The parent and its nested worker stacks as one template (a resource keeps its logical ID in its own stack).
  const assembly = app.synth();
  const template = Template.fromJSON(flattenedTemplate(assembly.getStackByName(stack.stackName).template as CfnTemplate, assembly.directory) as unknown as Record<string, unknown>);
  const idOf = (c: IConstruct): string => {
    const el = (c.node.defaultChild ?? c) as CfnElement;
    return Stack.of(el).getLogicalId(el);
  };
  const resourcesOf = (type: string): [string, Resource][] => Object.entries(template.findResources(type)) as [string, Resource][];
  return {
    stack,
    template,
    idOf,
    resourcesOf,
    statementsOfFunctionRole(fn) {
      const role = (template.findResources('AWS::Lambda::Function')[idOf(fn)] as Resource | undefined)?.Properties['Role'] as { 'Fn::GetAtt': [string, string] } | undefined;
      const roleId = role?.['Fn::GetAtt'][0];
      if (roleId === undefined) throw new Error(`no role for ${fn.node.path}`);
      return resourcesOf('AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties['Roles']) === JSON.stringify([{ Ref: roleId }]))
        .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
    },
  };
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOfStatement = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/**
 * A `Fn::Join` (or plain string) as text, its tokens replaced by `placeholder`: enough to parse a
 * JSON document with references inside its strings (PIPELINES, a dashboard body).
 */
export function joinedText(value: unknown, placeholder = 'TOKEN'): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) return placeholder;
  return join[1].map((part) => (typeof part === 'string' ? part : placeholder)).join(join[0]);
}
