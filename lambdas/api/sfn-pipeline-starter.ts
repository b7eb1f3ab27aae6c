/**
 * The PipelineStarter port on Step Functions: StartExecution of the pipeline named by
 * `<workerId>.<jobId>` (manualPipelines), under the request's deterministic name. Standard workflows
 * dedupe by name: the same name and input return the running execution, and an execution of that
 * name that already exists otherwise (closed, or another input) is ExecutionAlreadyExists, which is
 * an answer here (`alreadyExisted`), not an error: that request key already ran.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ALL_WORKERS, isWorkerId, workerById } from '../../lib/registry/index.js';
import { pipelineArn } from '../../lib/registry/naming.js';
import type { BackfillStarter, PipelineStarter, StartExecutionRequest } from './ports.js';

/**
 * The pipelines a manual trigger or a backfill may start: every job of the scheduled and
 * sub-pipeline workers among WORKER_IDS (comma-separated; default every registry worker), by the
 * naming convention (PIPELINE_ARN_PREFIX + `<worker>-<job>`). Throws naming an unknown worker.
 */
export function manualPipelines(prefix: string, workerIds: string | undefined): Record<string, string> {
  const ids = (workerIds ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const workers = ids.length === 0 ? ALL_WORKERS : ids.map((id) => {
    if (!isWorkerId(id)) throw new Error(`WORKER_IDS names an unknown worker "${id}"`);
    return workerById(id);
  });
  const manual = workers.filter((w) => w.executionModel === 'scheduled' || w.executionModel === 'sub-pipeline');
  return Object.fromEntries(manual.flatMap((w) => w.jobs.map((j) => [`${w.id}.${j.id}`, pipelineArn(prefix, w.id, j.id)])));
}

/** The ARN of execution `name` of a state machine (`...:stateMachine:<sm>` -> `...:execution:<sm>:<name>`). */
export const executionArnOf = (stateMachineArn: string, name: string): string => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export function sfnPipelineStarter(client: Pick<SFNClient, 'send'>, pipelines: Readonly<Record<string, string>>): PipelineStarter {
  return {
    pipelineKeys: Object.keys(pipelines),
    async start(request: StartExecutionRequest) {
      const stateMachineArn = pipelines[request.pipelineKey];
      if (stateMachineArn === undefined) throw new Error(`no pipeline ${request.pipelineKey} among the manually triggerable pipelines`);
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
 * run's pipeline ARN comes from the same map. The same name is the same backfill (`alreadyExisted`).
 */
export function sfnBackfillStarter(client: Pick<SFNClient, 'send'>, backfillArn: string, pipelines: Readonly<Record<string, string>>): BackfillStarter {
  return {
    async start(request) {
      const runs = request.runs.map((r) => {
        const stateMachineArn = pipelines[r.pipelineKey];
        if (stateMachineArn === undefined) throw new Error(`no pipeline ${r.pipelineKey} among the manually triggerable pipelines`);
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
