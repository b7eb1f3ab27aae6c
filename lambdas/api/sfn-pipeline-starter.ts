/**
 * The PipelineStarter port on Step Functions: StartExecution of the pipeline named by
 * `<workerId>.<jobId>` in PIPELINES, under the request's deterministic name. Standard workflows
 * dedupe by name: the same name and input return the running execution, and an execution of that
 * name that already exists otherwise (closed, or another input) is ExecutionAlreadyExists, which is
 * an answer here (`alreadyExisted`), not an error: that request key already ran.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import type { BackfillStarter, PipelineStarter, StartExecutionRequest } from './ports.js';

/** PIPELINES: `{ "<workerId>.<jobId>": "<state machine ARN>" }`. */
export const PipelinesEnv = z.record(z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/), z.string().startsWith('arn:'));

/** Parses the PIPELINES variable; throws naming the problem (at cold start). */
export function parsePipelines(text: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`PIPELINES must be a JSON object of "<workerId>.<jobId>": state machine ARN, got unparsable JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = PipelinesEnv.safeParse(raw);
  if (!parsed.success) throw new Error(`PIPELINES must be a JSON object of "<workerId>.<jobId>": state machine ARN: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The ARN of execution `name` of a state machine (`...:stateMachine:<sm>` -> `...:execution:<sm>:<name>`). */
export const executionArnOf = (stateMachineArn: string, name: string): string => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export function sfnPipelineStarter(client: Pick<SFNClient, 'send'>, pipelines: Readonly<Record<string, string>>): PipelineStarter {
  return {
    pipelineKeys: Object.keys(pipelines),
    async start(request: StartExecutionRequest) {
      const stateMachineArn = pipelines[request.pipelineKey];
      if (stateMachineArn === undefined) throw new Error(`no pipeline ${request.pipelineKey} in PIPELINES`);
      try {
        const out = await client.send(new StartExecutionCommand({ stateMachineArn, name: request.name, input: JSON.stringify(request.input) }));
        return { executionArn: out.executionArn ?? executionArnOf(stateMachineArn, request.name), alreadyExisted: false };
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists) return { executionArn: executionArnOf(stateMachineArn, request.name), alreadyExisted: true };
        throw e;
      }
    },
  };
}

/**
 * The BackfillStarter port on Step Functions: StartExecution of the backfill state machine with
 * `{ worker, job, runs: [{ stateMachineArn, name, input }] }` (statemachines/backfill.ts); each
 * run's pipeline ARN comes from PIPELINES. The same name is the same backfill (`alreadyExisted`).
 */
export function sfnBackfillStarter(client: Pick<SFNClient, 'send'>, backfillArn: string, pipelines: Readonly<Record<string, string>>): BackfillStarter {
  return {
    async start(request) {
      const runs = request.runs.map((r) => {
        const stateMachineArn = pipelines[r.pipelineKey];
        if (stateMachineArn === undefined) throw new Error(`no pipeline ${r.pipelineKey} in PIPELINES`);
        return { stateMachineArn, name: r.name, input: r.input };
      });
      const input = JSON.stringify({ worker: request.worker, job: request.job, runs });
      try {
        const out = await client.send(new StartExecutionCommand({ stateMachineArn: backfillArn, name: request.name, input }));
        return { executionArn: out.executionArn ?? executionArnOf(backfillArn, request.name), alreadyExisted: false };
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists) return { executionArn: executionArnOf(backfillArn, request.name), alreadyExisted: true };
        throw e;
      }
    },
  };
}
