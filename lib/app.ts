/**
 * Builds the CDK app: validates the registry and the configuration, creates the stack, and adds
 * the cdk-nag rule packs. `bin/app.ts` (the CDK entry point), the tests and the local runtime all
 * build the app through here, so they synthesize the same template.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readConfig } from './config.js';
import { acknowledgeNagFindings } from './nag-acknowledgements.js';
import { ALL_WORKERS, type WorkerSpec } from './registry/index.js';
import { assertValidRegistry } from './registry/validate.js';
import { STACK_NAME } from './stack-name.js';
import { OrchestratorStack } from './stacks/orchestrator-stack.js';

export { STACK_NAME };

export interface BuildAppOptions extends AppProps {
  readonly workers?: readonly WorkerSpec[];
  /** @default true */
  readonly nag?: boolean;
  /** @default - `lambdas/workers/<worker id>.ts` (OrchestratorStackProps.workerEntry) */
  readonly workerEntry?: (worker: WorkerSpec) => string;
}

export function buildApp(options: BuildAppOptions = {}): { app: App; stack: OrchestratorStack } {
  const { workers = ALL_WORKERS, nag = true, workerEntry, ...appProps } = options;
  assertValidRegistry(workers);
  const app = new App(appProps);
  const config = readConfig((key) => app.node.tryGetContext(key));
  const stack = new OrchestratorStack(app, STACK_NAME, {
    config,
    workers,
    ...(workerEntry ? { workerEntry } : {}),
    description: 'AuraStream head orchestrator: 14 workers as one symphony (schedules, pipelines, scoring, anomalies, self-healing).',
  });
  acknowledgeNagFindings(stack);
  if (nag) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  }
  return { app, stack };
}
