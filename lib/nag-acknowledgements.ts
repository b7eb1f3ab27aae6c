/**
 * cdk-nag findings accepted for the stack as a whole design decision, each on the narrowest
 * construct with its reason. Constructs acknowledge their own findings where they are created
 * (orchestrator-function.ts, pipeline.ts, ...); this file holds the rest.
 */
import { Validations } from 'aws-cdk-lib';
import type { OrchestratorStack } from './stacks/orchestrator-stack.js';

export function acknowledgeNagFindings(stack: OrchestratorStack): void {
  Validations.of(stack.workerSecrets).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: 'Third-party API credentials (YouTube, Twitch, the generation provider): they are rotated in those providers\' consoles, which no rotation Lambda can do.',
  });
}
