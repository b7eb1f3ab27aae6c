/**
 * Starts a state machine execution with a deterministic name. Step Functions makes StartExecution
 * idempotent per name for Standard workflows: the same name and input returns the running
 * execution, so a repeated request starts nothing twice.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

export function sfnExecutionStarter(client: SFNClient, stateMachineArnOf: (jobId: string) => string): (jobId: string, name: string, input: Record<string, unknown>) => Promise<void> {
  return async (jobId, name, input) => {
    try {
      await client.send(new StartExecutionCommand({ stateMachineArn: stateMachineArnOf(jobId), name, input: JSON.stringify(input) }));
    } catch (e) {
      // The same name with another input: this request id already ran; nothing more to start.
      if (e instanceof ExecutionAlreadyExists) return;
      throw e;
    }
  };
}
