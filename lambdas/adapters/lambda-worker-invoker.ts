/**
 * Invokes a worker Lambda synchronously and maps its outcome the way Step Functions would: a
 * function error becomes `{ Error: errorType, Cause }`, so the same error names drive retries.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { InvokeOutcome } from '../on-demand/consume.js';
import type { WorkerInvocation } from '../shared/contracts.js';

export function lambdaWorkerInvoker(client: LambdaClient, functionName: string): (invocation: WorkerInvocation) => Promise<InvokeOutcome> {
  return async (invocation) => {
    const response = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(invocation)) }));
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : 'null';
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return { ok: false, error: { Error: 'InvalidPayloadError', Cause: `worker returned non-JSON: ${text.slice(0, 200)}` } };
    }
    if (response.FunctionError) {
      const body = (payload ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      return { ok: false, error: { Error: typeof body.errorType === 'string' ? body.errorType : 'Lambda.Unknown', Cause: typeof body.errorMessage === 'string' ? body.errorMessage : text.slice(0, 1000) } };
    }
    return { ok: true, payload };
  };
}
