/** The stack's name, alone in a module: the local runtime names pipelines by it without loading the CDK. */
export const STACK_NAME = 'AuraStreamOrchestrator';
