import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JsonObject, JsonValue } from '../../local/json.js';
import { isPlainObject } from '../../local/json.js';
import type { ResolveTask, RunnableStateMachine, TaskContext, WaitInfo } from '../../local/step-functions-runner.js';
import { createLocalStateMachineRunner, ExecutionAlreadyExists, ExecutionHistoryNotKept, InvalidName, StateMachineDoesNotExist, VALIDATED_DEFINITIONS_DIR } from '../../local/step-functions-runner.js';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { LambdaFunctionError, TaskFailure } from '../../local/task-errors.js';

const FN = (name: string): string => `arn:aws:lambda:local-1:000000000000:function:${name}`;
const SM = (name: string): string => `arn:aws:states:local-1:000000000000:stateMachine:${name}`;

function machine(logicalId: string, definition: object, extra: Partial<RunnableStateMachine> = {}): RunnableStateMachine {
  return { logicalId, definition: definition as JsonObject, ...extra };
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A resolveTask that dispatches on the function name / resource, recording every call. */
function dispatcher(handlers: Record<string, (input: JsonValue, ctx: TaskContext) => unknown>): { resolveTask: ResolveTask; calls: Array<{ resource: string; input: JsonValue; ctx: TaskContext }> } {
  const calls: Array<{ resource: string; input: JsonValue; ctx: TaskContext }> = [];
  const resolveTask: ResolveTask = async (resource, input, ctx) => {
    calls.push({ resource, input, ctx });
    const key = resource.startsWith('arn:aws:lambda:') ? resource.split(':')[6] ?? '' : resource;
    const fn = handlers[key];
    if (fn === undefined) throw new Error(`no handler for ${resource}`);
    return fn(input, ctx);
  };
  return { resolveTask, calls };
}

/**
 * Runs `promise` on a fake clock and returns its value if it settled within `simulatedMs` of
 * simulated time; fails otherwise. A real sleep in the runner would need the clock to move on.
 */
async function settledWithin<T>(promise: Promise<T>, simulatedMs: number): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  await vi.advanceTimersByTimeAsync(simulatedMs);
  if (!settled) throw new Error(`still running after ${simulatedMs} ms of simulated time`);
  return watched;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('tasks', () => {
  it('runs a function-ARN task with the state input and passes the context', async () => {
    const { resolveTask, calls } = dispatcher({ Double: (i) => ({ doubled: (isPlainObject(i) ? Number(i['n']) : 0) * 2 }) });
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Calc', { StartAt: 'Double', States: { Double: { Type: 'Task', Resource: FN('Double'), ResultPath: '$.r', End: true } } })],
      resolveTask,
    });
    const exec = runner.startExecution('Calc', { n: 21 }, { name: 'run-1' });
    expect(exec.executionArn).toBe('arn:aws:states:local-1:000000000000:execution:Calc:run-1');
    expect(await exec.result).toEqual({ status: 'SUCCEEDED', output: { n: 21, r: { doubled: 42 } } });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.ctx).toMatchObject({ stateName: 'Double', executionName: 'run-1', stateMachineLogicalId: 'Calc', executionArn: exec.executionArn });
    expect(runner.describeExecution(exec.executionArn)).toMatchObject({ status: 'SUCCEEDED', output: '{"n":21,"r":{"doubled":42}}' });
  });

  it('wraps lambda:invoke results as { Payload, StatusCode, ... } and passes { FunctionName, Payload }', async () => {
    const { resolveTask, calls } = dispatcher({ Echo: (i) => (isPlainObject(i) ? i['Payload'] : null) });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('L', {
          StartAt: 'Invoke',
          States: {
            Invoke: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: FN('Echo'), 'Payload.$': '$' },
              ResultSelector: { 'echo.$': '$.Payload', 'code.$': '$.StatusCode' },
              End: true,
            },
          },
        }),
      ],
      resolveTask: (resource, params, ctx) => {
        // The runtime maps lambda:invoke to the function named in the parameters.
        const fn = isPlainObject(params) && typeof params['FunctionName'] === 'string' ? params['FunctionName'] : resource;
        return resolveTask(fn, params, ctx);
      },
    });
    const out = await runner.startExecution('L', { a: 1 }).result;
    expect(out).toEqual({ status: 'SUCCEEDED', output: { echo: { a: 1 }, code: 200 } });
    expect(calls[0]?.input).toEqual({ FunctionName: FN('Echo'), Payload: { a: 1 } });
  });

  it('exposes the Execution and StateMachine context object', async () => {
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Ctx', { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'name.$': '$$.Execution.Name', 'id.$': '$$.Execution.Id', 'sm.$': '$$.StateMachine.Id' }, End: true } } })],
      resolveTask: async () => null,
    });
    const out = await runner.startExecution(SM('Ctx'), {}, { name: 'n1' }).result;
    expect(out.output).toEqual({ name: 'n1', id: 'arn:aws:states:local-1:000000000000:execution:Ctx:n1', sm: SM('Ctx') });
  });
});

describe('Retry and Catch', () => {
  const retryDef = (extra: object = {}) => ({
    StartAt: 'Work',
    States: {
      Work: {
        Type: 'Task',
        Resource: FN('Work'),
        Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 30, MaxAttempts: 3, BackoffRate: 2 }],
        Catch: [{ ErrorEquals: ['QuotaExceeded'], ResultPath: '$.error', Next: 'Handled' }],
        End: true,
        ...extra,
      },
      Handled: { Type: 'Pass', End: true },
    },
  });

  it('retries a named error, then succeeds, without sleeping the real 30 s + 60 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let n = 0;
    const { resolveTask, calls } = dispatcher({
      Work: () => {
        if (++n < 3) throw new NamedError('Flaky', `attempt ${n}`);
        return { ok: n };
      },
    });
    const runner = createLocalStateMachineRunner({ definitions: [machine('R', retryDef())], resolveTask, timing: { retryIntervalMs: 0 } });
    const exec = runner.startExecution('R', {});
    // On a fake clock, 1 s of simulated time is far less than the 30 s interval the definition asks for.
    expect(await settledWithin(exec.result, 1_000)).toEqual({ status: 'SUCCEEDED', output: { ok: 3 } });
    expect(calls).toHaveLength(3);
    expect(runner.history(exec.executionArn).filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  });

  it('without an override the library really waits IntervalSeconds × BackoffRate^n (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let n = 0;
    const { resolveTask, calls } = dispatcher({
      Work: () => {
        if (++n < 3) throw new NamedError('Flaky', 'again');
        return 'done';
      },
    });
    const runner = createLocalStateMachineRunner({ definitions: [machine('R', retryDef())], resolveTask });
    const exec = runner.startExecution('R', {});
    await vi.advanceTimersByTimeAsync(29_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(59_999); // second retry waits 30 × 2
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(await exec.result).toMatchObject({ status: 'SUCCEEDED', output: 'done' });
  });

  it('catches a non-retryable custom error by its name; Lambda causes are the error payload JSON', async () => {
    const { resolveTask, calls } = dispatcher({
      Work: () => {
        throw new NamedError('QuotaExceeded', 'too many');
      },
    });
    const runner = createLocalStateMachineRunner({ definitions: [machine('C', retryDef())], resolveTask, timing: { retryIntervalMs: 0 } });
    const out = await runner.startExecution('C', { x: 1 }).result;
    expect(calls).toHaveLength(1); // not retried: the Retry only matches Flaky
    expect(out.status).toBe('SUCCEEDED');
    const error = (out.output as JsonObject)['error'] as JsonObject;
    expect(error['Error']).toBe('QuotaExceeded');
    expect(JSON.parse(String(error['Cause']))).toMatchObject({ errorType: 'QuotaExceeded', errorMessage: 'too many' });
  });

  it('fails the execution with the error name and cause when nothing catches it', async () => {
    const { resolveTask } = dispatcher({ Work: () => Promise.reject(LambdaFunctionError.fromPayload({ errorType: 'Boom', errorMessage: 'bad input' })) });
    const runner = createLocalStateMachineRunner({ definitions: [machine('F', retryDef())], resolveTask });
    const out = await runner.startExecution('F', {}).result;
    expect(out.status).toBe('FAILED');
    expect(out.error).toBe('Boom');
    expect(JSON.parse(out.cause ?? '')).toMatchObject({ errorType: 'Boom', errorMessage: 'bad input' });
  });

  it('prefixes optimized-integration errors (DynamoDB.*) and passes TaskFailure through', async () => {
    const conditional = new NamedError('ConditionalCheckFailedException', 'The conditional request failed');
    const { resolveTask } = dispatcher({
      'arn:aws:states:::dynamodb:putItem': () => {
        throw conditional;
      },
      'arn:aws:states:::sns:publish': () => {
        throw new TaskFailure('Custom.Failure', 'explicit');
      },
    });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('D', {
          StartAt: 'Put',
          States: {
            Put: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Parameters: { TableName: 'T' }, Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.e', Next: 'Publish' }], Next: 'Publish' },
            Publish: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { Message: 'x' }, End: true },
          },
        }),
      ],
      resolveTask,
    });
    const out = await runner.startExecution('D', {}).result;
    expect(out).toEqual({ status: 'FAILED', error: 'Custom.Failure', cause: 'explicit' });
  });
});

describe('Map, Parallel and Wait', () => {
  it('maps over items with ItemSelector and the Map context, preserving order', async () => {
    const { resolveTask } = dispatcher({
      Square: async (i) => {
        const v = isPlainObject(i) ? Number(i['v']) : 0;
        await new Promise((r) => setTimeout(r, (5 - v) * 2)); // finish out of order
        return { idx: isPlainObject(i) ? i['idx'] : null, sq: v * v };
      },
    });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('M', {
          StartAt: 'Each',
          States: {
            Each: {
              Type: 'Map',
              ItemsPath: '$.values',
              MaxConcurrency: 2,
              ItemSelector: { 'v.$': '$$.Map.Item.Value', 'idx.$': '$$.Map.Item.Index' },
              ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Square', States: { Square: { Type: 'Task', Resource: FN('Square'), End: true } } },
              End: true,
            },
          },
        }),
      ],
      resolveTask,
    });
    const out = await runner.startExecution('M', { values: [1, 2, 3, 4] }).result;
    expect(out.output).toEqual([1, 2, 3, 4].map((v, idx) => ({ idx, sq: v * v })));
  });

  it('runs Parallel branches and skips waits through the timing options', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const waits: WaitInfo[] = [];
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('P', {
          StartAt: 'Par',
          States: {
            Par: {
              Type: 'Parallel',
              End: true,
              Branches: [
                { StartAt: 'LongWait', States: { LongWait: { Type: 'Wait', Seconds: 3600, Next: 'A' }, A: { Type: 'Pass', Result: 'a', End: true } } },
                { StartAt: 'PathWait', States: { PathWait: { Type: 'Wait', SecondsPath: '$.delay', Next: 'B' }, B: { Type: 'Pass', Result: 'b', End: true } } },
              ],
            },
          },
        }),
      ],
      resolveTask: async () => null,
      timing: {
        waitTimeScale: 0,
        waitOverride: (info) => {
          waits.push(info);
          return info.dynamic ? 0 : undefined; // static waits fall back to waitTimeScale
        },
      },
    });
    const out = await settledWithin(runner.startExecution('P', { delay: 7200 }).result, 1_000);
    expect(out).toEqual({ status: 'SUCCEEDED', output: ['a', 'b'] });
    expect(waits.map((w) => [w.stateName, w.seconds, w.dynamic]).sort()).toEqual([
      ['LongWait', 3600, false],
      ['PathWait', 7200, true],
    ]);
  });

  it('resolves SecondsPath and TimestampPath against the wait\'s input before the next task runs', async () => {
    const T0 = Date.parse('2026-03-02T04:00:00.000Z');
    let now = T0;
    const seenAt: Record<string, number> = {};
    const { resolveTask } = dispatcher({
      plan: () => ({ waitSeconds: 900, resumeAt: '2026-03-02T08:00:00.000Z' }),
      afterSeconds: () => {
        seenAt['afterSeconds'] = now;
        return null;
      },
      afterTimestamp: () => {
        seenAt['afterTimestamp'] = now;
        return null;
      },
    });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('W', {
          StartAt: 'Plan',
          States: {
            Plan: { Type: 'Task', Resource: FN('plan'), ResultPath: '$.plan', Next: 'Check' },
            Check: { Type: 'Choice', Choices: [{ Variable: '$.plan.waitSeconds', NumericGreaterThan: 0, Next: 'OpenTimeout' }], Default: 'AfterSeconds' },
            OpenTimeout: { Type: 'Wait', SecondsPath: '$.plan.waitSeconds', Next: 'AfterSeconds' },
            AfterSeconds: { Type: 'Task', Resource: FN('afterSeconds'), ResultPath: null, Next: 'QuotaReset' },
            QuotaReset: { Type: 'Wait', InputPath: '$.plan', TimestampPath: '$.resumeAt', Next: 'AfterTimestamp' },
            AfterTimestamp: { Type: 'Task', Resource: FN('afterTimestamp'), ResultPath: null, End: true },
          },
        }),
      ],
      resolveTask,
      timing: {
        // A simulated clock, as the local runtime keeps one: the wait moves it and takes no real time.
        waitOverride: (info) => {
          if (info.timestamp !== undefined) now = Math.max(now, Date.parse(info.timestamp));
          else now += (info.seconds ?? 0) * 1000;
          return 0;
        },
      },
    });
    const out = await runner.startExecution('W', {}).result;
    expect(out.status).toBe('SUCCEEDED');
    expect(seenAt['afterSeconds']).toBe(T0 + 900_000);
    expect(seenAt['afterTimestamp']).toBe(Date.parse('2026-03-02T08:00:00.000Z'));
  });
});

describe('timeouts', () => {
  it('Task TimeoutSeconds raises States.Timeout, catchable', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('T', {
          StartAt: 'Slow',
          States: {
            Slow: { Type: 'Task', Resource: FN('Slow'), TimeoutSeconds: 5, Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }], End: true },
            TimedOut: { Type: 'Pass', Result: 'caught', End: true },
          },
        }),
      ],
      resolveTask: () => new Promise(() => undefined), // never settles
    });
    const exec = runner.startExecution('T', {});
    await vi.advanceTimersByTimeAsync(5000);
    expect(await exec.result).toEqual({ status: 'SUCCEEDED', output: 'caught' });
  });

  it('machine TimeoutSeconds ends the execution as TIMED_OUT', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = createLocalStateMachineRunner({
      definitions: [machine('MT', { TimeoutSeconds: 10, StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 100, End: true } } })],
      resolveTask: async () => null,
    });
    const exec = runner.startExecution('MT', {});
    await vi.advanceTimersByTimeAsync(9_999);
    expect(runner.describeExecution(exec.executionArn).status).toBe('RUNNING');
    await vi.advanceTimersByTimeAsync(1);
    expect(await exec.result).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });

  it('does not time out a 30-day machine at once, nor a task without TimeoutSeconds after 60 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Long', { TimeoutSeconds: 2_592_000, StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: FN('Slow'), End: true } } })],
      resolveTask: () => new Promise((resolve) => setTimeout(() => resolve('slow but fine'), 90_000)),
    });
    const exec = runner.startExecution('Long', {});
    await vi.advanceTimersByTimeAsync(90_000);
    expect(await exec.result).toEqual({ status: 'SUCCEEDED', output: 'slow but fine' });
  });
});

describe('nested executions', () => {
  const child = machine('Child', {
    StartAt: 'Check',
    States: {
      Check: {
        Type: 'Choice',
        // Like AWS, a Choice on a missing path is a States.Runtime error, hence IsPresent first.
        Choices: [{ And: [{ Variable: '$.fail', IsPresent: true }, { Variable: '$.fail', BooleanEquals: true }], Next: 'Fail' }],
        Default: 'Done',
      },
      Fail: { Type: 'Fail', Error: 'ChildBroke', Cause: 'asked to fail' },
      Done: { Type: 'Pass', Parameters: { 'doubled.$': 'States.MathAdd($.n, $.n)' }, End: true },
    },
  });
  const parent = (resource: string, extra: object = {}) =>
    machine('Parent', {
      StartAt: 'Run',
      States: {
        Run: {
          Type: 'Task',
          Resource: resource,
          Parameters: { StateMachineArn: SM('Child'), 'Input.$': '$', 'Name.$': '$.childName' },
          Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Failed' }],
          End: true,
          ...extra,
        },
        Failed: { Type: 'Pass', End: true },
      },
    });

  it('.sync:2 runs the child locally and returns Output as JSON', async () => {
    const runner = createLocalStateMachineRunner({ definitions: [child, parent('arn:aws:states:::states:startExecution.sync:2')], resolveTask: async () => null });
    const out = await runner.startExecution('Parent', { n: 4, childName: 'c1' }).result;
    expect(out.status).toBe('SUCCEEDED');
    expect(out.output).toMatchObject({
      Status: 'SUCCEEDED',
      Name: 'c1',
      ExecutionArn: 'arn:aws:states:local-1:000000000000:execution:Child:c1',
      StateMachineArn: SM('Child'),
      Output: { doubled: 8 },
      Input: '{"n":4,"childName":"c1"}',
    });
    expect(runner.listExecutions('Child').map((e) => e.name)).toEqual(['c1']);
  });

  it('.sync returns Output as a JSON string; plain startExecution does not wait', async () => {
    const runner = createLocalStateMachineRunner({ definitions: [child, parent('arn:aws:states:::states:startExecution.sync')], resolveTask: async () => null });
    const out = await runner.startExecution('Parent', { n: 1, childName: 'c2' }).result;
    expect((out.output as JsonObject)['Output']).toBe('{"doubled":2}');

    const fire = createLocalStateMachineRunner({ definitions: [child, parent('arn:aws:states:::states:startExecution')], resolveTask: async () => null });
    const fired = await fire.startExecution('Parent', { n: 1, childName: 'c3' }).result;
    expect(Object.keys(fired.output as JsonObject).sort()).toEqual(['ExecutionArn', 'StartDate']);
  });

  it('a failed child fails the parent task with States.TaskFailed and the child description as cause', async () => {
    const runner = createLocalStateMachineRunner({ definitions: [child, parent('arn:aws:states:::states:startExecution.sync:2')], resolveTask: async () => null });
    const out = await runner.startExecution('Parent', { fail: true, childName: 'c4' }).result;
    const error = (out.output as JsonObject)['error'] as JsonObject;
    expect(error['Error']).toBe('States.TaskFailed');
    expect(JSON.parse(String(error['Cause']))).toMatchObject({ Status: 'FAILED', Error: 'ChildBroke', Cause: 'asked to fail' });
  });
});

describe('execution names', () => {
  const gated = () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('Slot', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('Work'), End: true } } }),
        machine('Other', { StartAt: 'Work2', States: { Work2: { Type: 'Task', Resource: FN('Work'), End: true } } }),
        machine('Fast', { StartAt: 'Work3', States: { Work3: { Type: 'Task', Resource: FN('Work'), End: true } } }, { stateMachineType: 'EXPRESS' }),
      ],
      resolveTask: async () => {
        await gate;
        return 'ok';
      },
    });
    return { runner, open };
  };

  it('is idempotent for the same name and input while running; otherwise ExecutionAlreadyExists', async () => {
    const { runner, open } = gated();
    const a = runner.startExecution('Slot', { slot: 1 }, { name: 'slot-2030-01-01T00-00' });
    const b = runner.startExecution('Slot', { slot: 1 }, { name: 'slot-2030-01-01T00-00' });
    expect(b.executionArn).toBe(a.executionArn);
    expect(b.result).toBe(a.result);
    expect(() => runner.startExecution('Slot', { slot: 2 }, { name: 'slot-2030-01-01T00-00' })).toThrow(ExecutionAlreadyExists);
    // Names are per state machine.
    expect(runner.startExecution('Other', { slot: 2 }, { name: 'slot-2030-01-01T00-00' }).stateMachineLogicalId).toBe('Other');
    open();
    expect(await a.result).toMatchObject({ status: 'SUCCEEDED' });
    // Closed: the name stays taken, even with the same input.
    expect(() => runner.startExecution('Slot', { slot: 1 }, { name: 'slot-2030-01-01T00-00' })).toThrow(ExecutionAlreadyExists);
    expect(runner.listExecutions('Slot')).toHaveLength(1);
  });

  it('does not dedupe EXPRESS executions, validates names and unknown machines', async () => {
    const { runner, open } = gated();
    const x = runner.startExecution('Fast', {}, { name: 'same' });
    const y = runner.startExecution('Fast', {}, { name: 'same' });
    expect(x.executionArn).not.toBe(y.executionArn);
    expect(x.executionArn).toMatch(/^arn:aws:states:local-1:000000000000:express:Fast:same:/);
    expect(() => runner.startExecution('Slot', {}, { name: 'has space' })).toThrow(InvalidName);
    expect(() => runner.startExecution('Slot', {}, { name: 'x'.repeat(81) })).toThrow(InvalidName);
    expect(() => runner.startExecution('Nope', {})).toThrow(StateMachineDoesNotExist);
    open();
    await Promise.all([x.result, y.result]);
  });
});

describe('ended executions kept', () => {
  const runnerKeeping = (kept: number) =>
    createLocalStateMachineRunner({
      definitions: [
        machine('Slot', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('Work'), End: true } } }),
        machine('Other', { StartAt: 'Work2', States: { Work2: { Type: 'Task', Resource: FN('Work'), End: true } } }),
      ],
      resolveTask: async () => 'ok',
      endedExecutionsKept: kept,
    });

  it('keeps only the newest ended executions of each machine; a forgotten name stays reserved', async () => {
    const runner = runnerKeeping(2);
    const slots: string[] = [];
    for (let i = 1; i <= 5; i += 1) {
      const e = runner.startExecution('Slot', { i }, { name: `slot-${i}` });
      slots.push(e.executionArn);
      await e.result;
    }
    const other = runner.startExecution('Other', {}, { name: 'slot-1' });
    await other.result;
    expect(runner.listExecutions('Slot').map((d) => d.name)).toEqual(['slot-4', 'slot-5']);
    expect(runner.listExecutions('Other').map((d) => d.name)).toEqual(['slot-1']);
    // As ListExecutions: arn, name, status and dates, no input or output (DescribeExecution has them).
    expect(Object.keys(runner.listExecutions('Slot')[0] ?? {}).sort()).toEqual(['executionArn', 'name', 'startDate', 'stateMachineArn', 'status', 'stopDate']);
    expect(runner.describeExecution(slots[4] ?? '').status).toBe('SUCCEEDED');
    expect(() => runner.describeExecution(slots[0] ?? '')).toThrow(/Execution Does Not Exist/);
    expect(() => runner.history(slots[0] ?? '')).toThrow(/Execution Does Not Exist/);
    expect(() => runner.startExecution('Slot', { i: 1 }, { name: 'slot-1' })).toThrow(ExecutionAlreadyExists);
  });

  it('keeps the event logs of the newest ended executions of all machines; an older one is still described', async () => {
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('Slot', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('Work'), End: true } } }),
        machine('Other', { StartAt: 'Work2', States: { Work2: { Type: 'Task', Resource: FN('Work'), End: true } } }),
      ],
      resolveTask: async (_resource, input) => ({ echoed: input }),
      historiesKept: 2,
    });
    const arns: string[] = [];
    for (const [id, i] of [['Slot', 1], ['Other', 2], ['Slot', 3]] as const) {
      const e = runner.startExecution(id, { i }, { name: `run-${i}` });
      arns.push(e.executionArn);
      await e.result;
    }
    const [first, second, third] = arns as [string, string, string];
    expect(() => runner.history(first)).toThrow(ExecutionHistoryNotKept);
    expect(runner.history(second).map((e) => e.type)).toContain('StateEntered');
    expect(runner.history(third).map((e) => e.type)).toContain('StateEntered');
    // Described as before: its input and output as JSON text, its dates.
    const d = runner.describeExecution(first);
    expect(d).toMatchObject({ name: 'run-1', status: 'SUCCEEDED', input: '{"i":1}', output: '{"echoed":{"i":1}}' });
    expect(d.stopDate?.getTime()).toBeGreaterThanOrEqual(d.startDate.getTime());
    expect(runner.listExecutions('Slot').map((e) => `${e.name}:${e.status}`)).toEqual(['run-1:SUCCEEDED', 'run-3:SUCCEEDED']);
  });

  it('keeps a failed execution described with its error once its record is compacted', async () => {
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Slot', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('Work'), End: true } } })],
      resolveTask: async () => {
        throw new NamedError('Boom', 'it broke');
      },
      historiesKept: 0,
    });
    const e = runner.startExecution('Slot', { a: [1, 2] }, { name: 'bad' });
    const outcome = await e.result;
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'Boom' });
    expect(outcome.cause).toContain('it broke');
    expect(runner.describeExecution(e.executionArn)).toMatchObject({ status: 'FAILED', input: '{"a":[1,2]}', error: 'Boom', cause: outcome.cause });
    expect(runner.describeExecution(e.executionArn).output).toBeUndefined();
    expect(() => runner.history(e.executionArn)).toThrow(/no longer kept/);
    // Still reserved while kept.
    expect(() => runner.startExecution('Slot', {}, { name: 'bad' })).toThrow(ExecutionAlreadyExists);
  });

  it('never forgets a running execution', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let first = true;
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Slot', { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: FN('Work'), End: true } } })],
      resolveTask: async () => {
        if (first) {
          first = false;
          await gate;
        }
        return 'ok';
      },
      endedExecutionsKept: 1,
    });
    const slow = runner.startExecution('Slot', {}, { name: 'slow' });
    for (let i = 1; i <= 3; i += 1) await runner.startExecution('Slot', {}, { name: `quick-${i}` }).result;
    expect(runner.listExecutions('Slot').map((d) => `${d.name}:${d.status}`)).toEqual(['slow:RUNNING', 'quick-3:SUCCEEDED']);
    open();
    await slow.result;
    expect(runner.listExecutions('Slot').map((d) => d.name)).toEqual(['slow']);
  });
});

describe('construction', () => {
  it('validates a definition once and remembers only definitions that passed', async () => {
    const markers = (): number => (existsSync(VALIDATED_DEFINITIONS_DIR) ? readdirSync(VALIDATED_DEFINITIONS_DIR).filter((f) => !f.endsWith('.tmp')).length : 0);
    const unique = `validated ${randomUUID()}`;
    const before = markers();
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Valid', { Comment: unique, StartAt: 'A', States: { A: { Type: 'Task', Resource: FN('A'), End: true } } })],
      resolveTask: async () => 1,
    });
    runner.prepare();
    expect(markers()).toBe(before + 1);
    expect(await runner.startExecution('Valid', {}).result).toMatchObject({ status: 'SUCCEEDED' });
    // An invalid definition (a Next to nowhere) fails every time and is never remembered.
    const invalid = () =>
      createLocalStateMachineRunner({
        definitions: [machine('Invalid', { Comment: `invalid ${randomUUID()}`, StartAt: 'A', States: { A: { Type: 'Task', Resource: FN('A'), Next: 'Nowhere' } } })],
        resolveTask: async () => 1,
      }).prepare();
    expect(invalid).toThrow(/invalid/i);
    expect(invalid).toThrow(/invalid/i);
    expect(markers()).toBe(before + 1);
  });

  it('rejects duplicate state names across branches with a clear error', () => {
    const runner = createLocalStateMachineRunner({
      definitions: [
        machine('Dup', {
          StartAt: 'P',
          States: {
            P: {
              Type: 'Parallel',
              End: true,
              Branches: [
                { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: FN('A'), End: true } } },
                { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: FN('B'), End: true } } },
              ],
            },
          },
        }),
      ],
      resolveTask: async () => null,
    });
    expect(() => runner.prepare()).toThrow(/state name "Call" is used twice/);
  });
});

describe('$$.State.RetryCount', () => {
  it('counts the retries of a task that reads it, and starts again after a success', async () => {
    // Prepare: Flaky fails twice with a retried error, then succeeds; Again succeeds at once.
    let flakyCalls = 0;
    const seen: JsonValue[] = [];
    const { resolveTask } = dispatcher({
      Flaky: (i) => {
        seen.push(isPlainObject(i) ? (i['attempt'] ?? null) : null);
        flakyCalls += 1;
        if (flakyCalls <= 2) throw new NamedError('TransientUpstreamError', 'try again');
        return { ok: true };
      },
    });
    const task = (next: string | null) => ({
      Type: 'Task',
      Resource: FN('Flaky'),
      Parameters: { 'attempt.$': '$$.State.RetryCount' },
      Retry: [{ ErrorEquals: ['TransientUpstreamError'], MaxAttempts: 3, IntervalSeconds: 1 }],
      ResultPath: null,
      ...(next ? { Next: next } : { End: true }),
    });
    const runner = createLocalStateMachineRunner({
      definitions: [machine('Count', { StartAt: 'First', States: { First: task('Second'), Second: task(null) } })],
      resolveTask,
      timing: { retryIntervalMs: 0 },
    });
    // Act
    const outcome = await runner.startExecution('Count', {}).result;
    // Assess: attempts 0, 1, 2 of First, then 0 for Second.
    expect(outcome.status).toBe('SUCCEEDED');
    expect(seen).toEqual([0, 1, 2, 0]);
  });
});
