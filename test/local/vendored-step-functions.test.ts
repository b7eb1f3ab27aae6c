/**
 * aws-local-stepfunctions comes from vendor/ (see vendor/README.md): upstream 3.0.0 with its one
 * Node 22 call, Promise.withResolvers, spelled out, and engines that say Node 20.19 (the project's floor). These tests hold
 * the vendored copy to that: a Task with a timeout (the code path that called it) runs and times out
 * with Promise.withResolvers absent, and the engines range is the one the project declares.
 */
import { readFileSync } from 'node:fs';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const definition = {
  StartAt: 'Work',
  States: { Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:work', TimeoutSeconds: 1, End: true } },
} as const;

describe('the vendored aws-local-stepfunctions', () => {
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    saved = Object.getOwnPropertyDescriptor(Promise, 'withResolvers');
    Reflect.deleteProperty(Promise, 'withResolvers');
  });
  afterEach(() => {
    if (saved) Object.defineProperty(Promise, 'withResolvers', saved);
  });

  it('runs a Task with a timeout without Promise.withResolvers (absent on Node 20)', async () => {
    expect(Reflect.get(Promise, 'withResolvers')).toBeUndefined();
    const machine = new StateMachine(definition);
    const result = await machine.run({ n: 1 }, { overrides: { taskResourceLocalHandlers: { Work: async (input) => ({ doubled: Number((input as { n: number }).n) * 2 }) } } }).result;
    expect(result).toEqual({ doubled: 2 });
  });

  it('times a Task out without Promise.withResolvers', async () => {
    const machine = new StateMachine(definition);
    const never = new Promise<never>(() => undefined);
    const run = machine.run({}, { overrides: { taskResourceLocalHandlers: { Work: async () => never } } });
    const error = await run.result.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionError);
    expect((error as ExecutionError).message).toMatch(/States\.Timeout/);
  });

  it('declares Node 20.19 as its floor, the project\'s own (set by vite, the test runner\'s bundler)', () => {
    const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    const vendored = JSON.parse(readFileSync(new URL('../../node_modules/aws-local-stepfunctions/package.json', import.meta.url), 'utf8')) as { version: string; engines: { node: string } };
    expect(vendored.version).toBe('3.0.0-node20.0');
    expect(vendored.engines.node).toBe('>=20.19.0');
    expect(own.engines.node.startsWith('^20.19.0 ')).toBe(true);
  });
});
