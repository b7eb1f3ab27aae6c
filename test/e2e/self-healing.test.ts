/**
 * The self-healing path end to end in the local runtime: a pipeline's report streams to the real
 * anomaly Lambda, which alerts once and starts the synthesized recovery state machine, whose real
 * recovery Lambda restarts the worker and pages on-call.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LocalRuntime } from '../../local/runtime.js';
import { LocalAlertSink } from '../../local/self-healing.js';
import type { CfnTemplate } from '../../local/template-asl.js';

let template: CfnTemplate;
let rt: LocalRuntime | undefined;

beforeAll(() => {
  template = synthesizeTemplate();
});

afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Waits until no execution of the job's pipeline is RUNNING (a bounded number of event-loop turns). */
async function pipelinesIdle(runtime: LocalRuntime, workerId: string, jobId: string): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (!runtime.runner.listExecutions(runtime.pipelineOf(workerId, jobId)).some((e) => e.status === 'RUNNING')) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`${workerId}.${jobId} still has RUNNING executions`);
}

describe('a crashing worker', () => {
  it('raises one WORKER_CRASH alert, restarts the worker once through the recovery state machine, and pages on-call', async () => {
    // Prepare: coach cleanup crashes on every run.
    const sink = new LocalAlertSink();
    let runs = 0;
    rt = await startLocalRuntime({
      clock: new SimulatedClock(Date.parse('2026-03-02T04:00:00Z')),
      template,
      alertSink: sink,
      workerHandlers: {
        coach_cleanup_worker: async () => {
          runs += 1;
          throw new NamedError('Sandbox.Timedout', 'Task timed out after 270 seconds');
        },
      },
    });
    const healing = rt.selfHealing;
    if (!healing) throw new Error('self-healing is off');

    // Act: the scheduled run, then the stream delivered twice (a repeated delivery).
    const outcome = await rt.start('coach_cleanup_worker', 'cleanup', { scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' }).result;
    await healing.flush();
    await healing.flush();
    const recoveries = await Promise.all(healing.recoveries.map((r) => r.result));
    // The restart the recovery started runs on its own: let it end (its report is its Record's last write).
    await pipelinesIdle(rt, 'coach_cleanup_worker', 'cleanup');
    await healing.flush();

    // Assess
    expect(outcome.status).toBe('FAILED');
    // One alert for the one root cause: the crash. The restart crashed too (2 failures in 2 runs): the
    // failure rate those crashes make is a symptom of the crash's incident, counted there (inhibition),
    // with no alert, incident or recovery of its own.
    expect(sink.carried().map((a) => [a.anomaly, a.severity, a.worker])).toEqual([['WORKER_CRASH', 'CRITICAL', 'coach_cleanup_worker']]);
    // The worker crashes on every run, so the restart crashed too: its goal was not met, and the
    // recovery is FAILED, not called healed.
    expect(recoveries.map((r) => r.status)).toEqual(['FAILED']);
    await Promise.all(healing.recoveries.map((r) => r.result));
    // The scheduled run and one restart (WORKER_CRASH); no circuit probe (no HIGH_FAILURE_RATE incident).
    expect(runs).toBe(2);
    expect(sink.pages.length).toBeGreaterThanOrEqual(1);
    expect(sink.pages[0]?.subject).toMatch(/WORKER_CRASH on coach_cleanup_worker/);
    const actions = await documentClient(rt.dynamo.client).send(
      new QueryCommand({ TableName: rt.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `RECOVERY#${sink.carried()[0]?.id}` } }),
    );
    expect((actions.Items ?? []).map((i) => i['sk']).sort()).toEqual(expect.arrayContaining(['SUMMARY']));
    expect((actions.Items ?? []).length).toBeGreaterThanOrEqual(2);
  });
});
