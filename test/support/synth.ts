/**
 * Synthesizes the real app once per test file: with the cdk-nag packs, without Lambda bundling
 * (the template is the same, the code assets are placeholders) and without CDK's built-in
 * CloudFormation validation (`npm run synth` runs it; here it would only add ~10 s per file).
 */
import { Validations, type App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp, STACK_NAME } from '../../lib/app.js';
import { flattenedTemplate } from '../../local/nested-templates.js';
import { extractStateMachines, type CfnTemplate } from '../../local/template-asl.js';

export interface AslDefinition {
  readonly StartAt: string;
  readonly TimeoutSeconds?: number;
  readonly States: Record<string, unknown>;
}

export interface SynthesizedForTests {
  readonly template: Template;
  readonly json: CfnTemplate;
  /** State machine name → resolved ASL. */
  readonly definitions: ReadonlyMap<string, AslDefinition>;
  definitionOf(workerId: string, jobId: string): AslDefinition;
  /** Unacknowledged cdk-nag findings (messages); empty when synth passed validation. */
  readonly nagFindings: readonly string[];
  readonly acknowledgements: readonly { id: string; reason: string; path: string }[];
}

function collectAcknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  const found: { id: string; reason: string; path: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      // Stored as { "Annotation::<rule id>": "<reason>" }.
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({ id: key.replace(/^Annotation::/, ''), reason: typeof reason === 'string' ? reason : '', path: c.node.path });
      }
    }
  }
  return found;
}

/** Synthesizes an app; returns the validation findings that made synth fail (none when it passed). */
export function synthFindings(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (e) {
    return String((e as Error).message).split('\n').filter((l) => l.trim() !== '');
  }
}

export function synthesizeForTests(context: Record<string, unknown> = {}): SynthesizedForTests {
  process.env['CDK_VALIDATION'] = 'false';
  const { app, stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const nagFindings = synthFindings(app);
  // The parent and its nested worker stacks as one template (what the local runtime runs).
  const assembly = app.synth();
  const json = flattenedTemplate(assembly.getStackByName(stack.stackName).template as CfnTemplate, assembly.directory);
  const template = Template.fromJSON(json as unknown as Record<string, unknown>);
  const definitions = new Map<string, AslDefinition>();
  for (const machine of extractStateMachines(json).values()) {
    definitions.set(machine.stateMachineName ?? machine.logicalId, machine.definition as unknown as AslDefinition);
  }
  return {
    template,
    json,
    definitions,
    definitionOf(workerId, jobId) {
      const asl = definitions.get(`${STACK_NAME}-${workerId}-${jobId}`);
      if (!asl) throw new Error(`no state machine for ${workerId}.${jobId}`);
      return asl;
    },
    nagFindings,
    acknowledgements: collectAcknowledgements(app),
  };
}
