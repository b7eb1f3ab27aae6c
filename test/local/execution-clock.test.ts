/**
 * Per-execution simulated time: a Wait moves only the waiting execution's time, so the runs in
 * flight next to it measure their own duration (a 300 s dependency wait used to make every other
 * run of the slot look 300 s long). No assertion here depends on how long the test takes: the
 * waits are minutes of simulated time, the real runs milliseconds, the bounds a minute apart.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { ExecutionTimes, SimulatedClock } from '../../local/execution-clock.js';
import type { JsonObject } from '../../local/json.js';
import { startLocalRuntime, synthesizeTemplate, type LambdaHandler, type LocalRuntime } from '../../local/runtime.js';
import { createLocalStateMachineRunner, type RunnableStateMachine } from '../../local/step-functions-runner.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const MINUTE = 60_000;

/** A promise and its resolver (the test's handshakes between executions). */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

describe('SimulatedClock and ExecutionTime', () => {
  it('a Wait moves the waiting execution only; the global time and the other executions keep theirs', () => {
    const clock = new SimulatedClock(T0);
    const a = clock.startExecution();
    const b = clock.startExecution();
    a.advance(300_000);
    expect(a.now()).toBeGreaterThanOrEqual(T0 + 300_000);
    expect(b.now()).toBeLessThan(T0 + MINUTE);
    expect(clock.now()).toBeLessThan(T0 + MINUTE);
    expect(clock.runIn(a, () => clock.now())).toBeGreaterThanOrEqual(T0 + 300_000);
    expect(clock.runIn(b, () => clock.now())).toBeLessThan(T0 + MINUTE);
  });

  it("the symphony's jump to the next slot does not move the executions in flight; time that passes for everybody does", () => {
    const clock = new SimulatedClock(T0);
    const inFlight = clock.startExecution();
    const ahead = clock.startExecution();
    ahead.advance(10 * MINUTE);
    clock.set(T0 + 5 * MINUTE);
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 5 * MINUTE);
    expect(inFlight.now()).toBeLessThan(T0 + MINUTE);
    expect(ahead.now()).toBeGreaterThanOrEqual(T0 + 10 * MINUTE);
    expect(ahead.now()).toBeLessThan(T0 + 11 * MINUTE);
    // An execution started now starts at the global time.
    expect(clock.startExecution().now()).toBeGreaterThanOrEqual(T0 + 5 * MINUTE);
    // `advance` (a slow upstream) is time that passes for everybody.
    clock.advance(2 * MINUTE);
    expect(inFlight.now()).toBeGreaterThanOrEqual(T0 + 2 * MINUTE);
    expect(inFlight.now()).toBeLessThan(T0 + 3 * MINUTE);
    expect(ahead.now()).toBeGreaterThanOrEqual(T0 + 12 * MINUTE);
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 7 * MINUTE);
    // The global time never goes back.
    clock.set(T0);
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 7 * MINUTE);
  });

  it('the context flows through awaits and timers to everything an execution starts', async () => {
    const clock = new SimulatedClock(T0);
    const a = clock.startExecution();
    a.advance(300_000);
    const seen = await clock.runIn(a, async () => {
      await Promise.resolve();
      return new Promise<number>((resolve) => setImmediate(() => resolve(clock.now())));
    });
    expect(seen).toBeGreaterThanOrEqual(T0 + 300_000);
    // Outside, and inside another clock's execution, the global time.
    const other = new SimulatedClock(T0 + 3_600_000).startExecution();
    expect(other.clock.runIn(other, () => clock.now())).toBeLessThan(T0 + MINUTE);
  });
});

describe('held waits: a wait that passes in the world\'s time', () => {
  it('resolves only once the global time has reached it and a driver released it, earliest first', async () => {
    const clock = new SimulatedClock(T0);
    const woke: string[] = [];
    const late = clock.hold('late', T0 + 15 * MINUTE).then(() => woke.push('late'));
    const soon = clock.hold('soon', T0 + MINUTE).then(() => woke.push('soon'));
    expect(clock.nextHeldMs()).toBe(T0 + MINUTE);
    await clock.nextHold('soon'); // holds now: answers at once

    expect(clock.releaseDue()).toBe(0); // not due yet: nothing resolves
    await Promise.resolve();
    expect(woke).toEqual([]);

    clock.set(T0 + 5 * MINUTE);
    expect(clock.releaseDue()).toBe(1);
    await soon;
    expect(woke).toEqual(['soon']);
    expect(clock.nextHeldMs()).toBe(T0 + 15 * MINUTE);

    clock.releaseAll(); // closing: due or not
    await late;
    expect(woke).toEqual(['soon', 'late']);
    expect(clock.nextHeldMs()).toBeUndefined();
  });

  it('nextHold waits for the key\'s next hold', async () => {
    const clock = new SimulatedClock(T0);
    let held = false;
    const next = clock.nextHold('k').then(() => {
      held = true;
    });
    await Promise.resolve();
    expect(held).toBe(false);
    void clock.hold('other', T0 + MINUTE);
    await Promise.resolve();
    expect(held).toBe(false);
    void clock.hold('k', T0 + MINUTE);
    await next;
    expect(held).toBe(true);
  });

  it('the runner holds a dynamic wait (SecondsPath) until the driver moves the world on; the execution resumes at the wait\'s end', async () => {
    const clock = new SimulatedClock(T0);
    const times = new ExecutionTimes(clock);
    const FN = 'arn:aws:lambda:local-1:000000000000:function:now';
    const runner = createLocalStateMachineRunner({
      definitions: [
        {
          logicalId: 'Recovery',
          definition: {
            StartAt: 'Wait',
            States: {
              Wait: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'After' },
              After: { Type: 'Task', Resource: FN, ResultPath: '$.after', End: true },
            },
          } as unknown as JsonObject,
        },
      ],
      resolveTask: () => Promise.resolve({ task: clock.now(), world: clock.globalNow() }),
      timing: {
        holdWait: (info) => {
          const time = times.of(info.executionArn);
          const until = (time?.now() ?? clock.now()) + (info.seconds ?? 0) * 1000;
          return clock.hold(info.executionArn, until).then(() => time?.catchUp(until));
        },
      },
      scopeExecution: times.scopeExecution,
    });
    const execution = runner.startExecution('Recovery', { seconds: 900 });
    await clock.nextHold(execution.executionArn);
    expect(runner.describeExecution(execution.executionArn).status).toBe('RUNNING');
    // Due 900 s after the execution's time at the wait (which flows with the real time it took to get there).
    const due = clock.nextHeldMs() ?? Number.NaN;
    expect(due).toBeGreaterThanOrEqual(T0 + 15 * MINUTE);
    expect(due).toBeLessThan(T0 + 16 * MINUTE);

    clock.set(T0 + 10 * MINUTE);
    expect(clock.releaseDue()).toBe(0);
    clock.set(due);
    expect(clock.releaseDue()).toBe(1);
    const outcome = await execution.result;
    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');
    const after = (outcome.output as { after: { task: number; world: number } }).after;
    expect(after.task).toBeGreaterThanOrEqual(T0 + 15 * MINUTE);
    expect(after.task).toBeLessThan(T0 + 16 * MINUTE);
    expect(after.world).toBeGreaterThanOrEqual(T0 + 15 * MINUTE);
  });

  it('an aborted execution holding a wait ends at once', async () => {
    const clock = new SimulatedClock(T0);
    const runner = createLocalStateMachineRunner({
      definitions: [
        {
          logicalId: 'Recovery',
          definition: { StartAt: 'Wait', States: { Wait: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'After' }, After: { Type: 'Pass', End: true } } } as unknown as JsonObject,
        },
      ],
      resolveTask: () => Promise.resolve(null),
      timing: { holdWait: (info) => clock.hold(info.executionArn, T0 + (info.seconds ?? 0) * 1000) },
    });
    const execution = runner.startExecution('Recovery', { seconds: 900 });
    await clock.nextHold(execution.executionArn);
    await runner.stopAll();
    expect((await execution.result).status).toBe('ABORTED');
  });
});

describe('the runner with per-execution times', () => {
  const SM = (name: string): string => `arn:aws:states:local-1:000000000000:stateMachine:${name}`;
  const FN = (name: string): string => `arn:aws:lambda:local-1:000000000000:function:${name}`;
  const machine = (logicalId: string, definition: object): RunnableStateMachine => ({ logicalId, definition: definition as JsonObject });

  it('a .sync child starts at its parent time, waits on its own, and its parent resumes after it; a run next to them keeps its time', async () => {
    const clock = new SimulatedClock(T0);
    const times = new ExecutionTimes(clock);
    const child = machine('Child', {
      StartAt: 'Before',
      States: {
        Before: { Type: 'Task', Resource: FN('now'), ResultPath: '$.before', Next: 'Sleep' },
        Sleep: { Type: 'Wait', Seconds: 600, Next: 'After' },
        After: { Type: 'Task', Resource: FN('now'), ResultPath: '$.after', End: true },
      },
    });
    const parent = machine('Parent', {
      StartAt: 'First',
      States: {
        First: { Type: 'Wait', Seconds: 60, Next: 'Run' },
        Run: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Parameters: { StateMachineArn: SM('Child'), Input: {} }, ResultSelector: { 'child.$': '$.Output' }, ResultPath: '$.run', Next: 'Then' },
        Then: { Type: 'Task', Resource: FN('now'), ResultPath: '$.then', End: true },
      },
    });
    const other = machine('Other', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('block'), ResultPath: '$.at', End: true } } });
    const inOther = signal();
    const release = signal();
    const runner = createLocalStateMachineRunner({
      definitions: [child, parent, other],
      resolveTask: async (resource) => {
        if (resource === FN('block')) {
          inOther.fire();
          await release.promise;
        }
        return clock.now();
      },
      timing: {
        waitOverride: (info) => {
          times.of(info.executionArn)?.advance((info.seconds ?? 0) * 1000);
          return 0;
        },
      },
      scopeExecution: times.scopeExecution,
    });

    const running = runner.startExecution('Other', {});
    await inOther.promise;
    const outcome = await runner.startExecution('Parent', {}).result;
    release.fire();
    const otherOutcome = await running.result;

    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');
    const out = outcome.output as { run: { child: { before: number; after: number } }; then: number };
    // The child starts after its parent's 60 s wait, waits 600 s of its own; the parent resumes after it.
    expect(out.run.child.before).toBeGreaterThanOrEqual(T0 + MINUTE);
    expect(out.run.child.after).toBeGreaterThanOrEqual(T0 + 11 * MINUTE);
    expect(out.then).toBeGreaterThanOrEqual(out.run.child.after);
    // The run in flight next to them, and the global time, did not move.
    expect(otherOutcome.status).toBe('SUCCEEDED');
    expect((otherOutcome.output as { at: number }).at).toBeLessThan(T0 + MINUTE);
    expect(clock.now()).toBeLessThan(T0 + MINUTE);
  });
});

describe('the local runtime', () => {
  let template: CfnTemplate;
  let rt: LocalRuntime | undefined;
  beforeAll(() => {
    template = synthesizeTemplate();
  });
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });
  const reportOf = async (workerId: string): Promise<Record<string, unknown> | undefined> => {
    const out = await documentClient((rt as LocalRuntime).dynamo.client).send(
      new QueryCommand({ TableName: rt?.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)', ExpressionAttributeValues: { ':pk': `WORKER#${workerId}`, ':r': 'REPORT#' } }),
    );
    return out.Items?.[0] as Record<string, unknown> | undefined;
  };

  it('a run next to a waiting one measures only its own duration; the waiting one counts its wait', async () => {
    const clock = new SimulatedClock(T0);
    const inItem = signal();
    const release = signal();
    let itemSawMs = 0;
    const workers: Record<string, LambdaHandler> = {
      // A fan-out run (its duration is measured by the protocol, from its gate to its record),
      // held in its item until the other run has waited and ended.
      thumbnail_intel_worker: async (event) => {
        const e = event as { phase: string };
        if (e.phase === 'plan') return { items: ['gaming'] };
        inItem.fire();
        await release.promise;
        itemSawMs = clock.now();
        return workerResult(event, { categories_analyzed: 1, thumbnails_processed: 10, duration_ms: 100, peak_memory_mb: 300 });
      },
      intel_aggregation_worker: async (event) => workerResult(event, { categories_aggregated: 4, duration_ms: 10 }),
    };
    rt = await startLocalRuntime({ clock, template, workerHandlers: workers });
    const doc = documentClient(rt.dynamo.client);
    // Creator intel holds its lock: the hourly aggregation waits for it (bounded, 120 s), then skips.
    await doc.send(new PutCommand({ TableName: rt.tableName, Item: { pk: 'WORKER#creator_intel_worker', sk: 'STATE', lockHolder_analyze: 'intel-run', lockFence_analyze: 3, lockExpiresAtMs_analyze: T0 + 3_600_000 } }));

    const busy = rt.start('thumbnail_intel_worker', 'analyze', { scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });
    await inItem.promise;
    const waiting = rt.start('intel_aggregation_worker', 'hourly', { scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });
    const waited = await waiting.result;
    release.fire();
    const busyOutcome = await busy.result;

    expect(waited.status, waited.cause).toBe('SUCCEEDED');
    const waitedReport = await reportOf('intel_aggregation_worker');
    expect(waitedReport).toMatchObject({ status: 'SKIPPED', skipReason: 'LOCK_HELD' });
    const waitedMs = Date.parse(String(waitedReport?.['completedAt'])) - Date.parse(String(waitedReport?.['startedAt']));
    expect(waitedMs).toBeGreaterThanOrEqual(120_000);

    expect(busyOutcome.status, busyOutcome.cause).toBe('SUCCEEDED');
    const busyReport = await reportOf('thumbnail_intel_worker');
    expect(busyReport).toMatchObject({ status: 'SUCCEEDED' });
    expect(busyReport?.['durationMs']).toBeLessThan(MINUTE);
    expect(busyReport?.['anomalies']).not.toContain('SLOW_EXECUTION');
    expect(Date.parse(String(busyReport?.['completedAt'])) - Date.parse(String(busyReport?.['startedAt']))).toBeLessThan(MINUTE);
    // The worker of the busy run read its own time, and the global time did not move either.
    expect(itemSawMs).toBeGreaterThanOrEqual(T0);
    expect(itemSawMs).toBeLessThan(T0 + MINUTE);
    expect(clock.now()).toBeLessThan(T0 + MINUTE);
  });

  it("a run in flight when the symphony jumps to the next slot measures only its own duration", async () => {
    const clock = new SimulatedClock(T0);
    const inWork = signal();
    const release = signal();
    const workers: Record<string, LambdaHandler> = {
      thumbnail_intel_worker: async (event) => {
        const e = event as { phase: string };
        if (e.phase === 'plan') return { items: ['gaming'] };
        inWork.fire();
        await release.promise;
        return workerResult(event, { categories_analyzed: 1, thumbnails_processed: 10, duration_ms: 100, peak_memory_mb: 300 });
      },
    };
    rt = await startLocalRuntime({ clock, template, workerHandlers: workers });
    // A pipeline a recovery started is not awaited by its slot: the symphony may move on meanwhile.
    const run = rt.start('thumbnail_intel_worker', 'analyze', { scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });
    await inWork.promise;
    clock.set(T0 + 5 * MINUTE);
    release.fire();
    const outcome = await run.result;
    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');
    const report = await reportOf('thumbnail_intel_worker');
    expect(report?.['durationMs']).toBeLessThan(MINUTE);
    expect(report?.['anomalies']).not.toContain('SLOW_EXECUTION');
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 5 * MINUTE);
  });

  it('close() stops the running executions and waits for the handlers in flight before it closes the table', async () => {
    const clock = new SimulatedClock(T0);
    const inWork = signal();
    const release = signal();
    let lateWrite: unknown = 'not attempted';
    const workers: Record<string, LambdaHandler> = {
      thumbnail_intel_worker: async (event) => {
        const e = event as { phase: string };
        if (e.phase === 'plan') return { items: ['gaming'] };
        inWork.fire();
        await release.promise;
        // A handler still writing when the runtime closes (it used to fail with "Database is closed").
        lateWrite = await documentClient((runtime as LocalRuntime).dynamo.client)
          .send(new PutCommand({ TableName: runtime?.tableName, Item: { pk: 'LATE', sk: 'WRITE' } }))
          .then(
            () => 'written',
            (error: unknown) => error,
          );
        return workerResult(event, { categories_analyzed: 1, thumbnails_processed: 10, duration_ms: 100, peak_memory_mb: 300 });
      },
    };
    const runtime: LocalRuntime | undefined = await startLocalRuntime({ clock, template, workerHandlers: workers });
    const run = runtime.start('thumbnail_intel_worker', 'analyze', { scheduledTime: '2026-03-02T04:00:00Z', trigger: 'schedule' });
    await inWork.promise;

    let closed = false;
    const closing = runtime.close().then(() => {
      closed = true;
    });
    // The execution is stopped at once; the close waits for its handler.
    expect((await run.result).status).toBe('ABORTED');
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release.fire();
    await closing;
    expect(lateWrite).toBe('written');
    expect(runtime.runner.listExecutions(run.stateMachineArn).every((e) => e.status !== 'RUNNING')).toBe(true);
  });
});
