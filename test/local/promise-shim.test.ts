import { describe, expect, it } from 'vitest';
import { installPromiseWithResolvers } from '../../local/promise-shim.js';

type WithResolvers = <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e?: unknown) => void };

function getWithResolvers(): WithResolvers {
  const f: unknown = Reflect.get(Promise, 'withResolvers');
  if (typeof f !== 'function') throw new Error('Promise.withResolvers missing');
  return f as WithResolvers;
}

describe('Promise.withResolvers shim', () => {
  it('is installed (Node 20 lacks it) as a non-enumerable method', () => {
    installPromiseWithResolvers();
    expect(typeof Reflect.get(Promise, 'withResolvers')).toBe('function');
    expect(Object.getOwnPropertyDescriptor(Promise, 'withResolvers')).toMatchObject({ enumerable: false, writable: true, configurable: true });
  });

  it('resolves and rejects through the returned functions', async () => {
    const wr = getWithResolvers();
    const a = wr.call(Promise);
    a.resolve(42);
    await expect(a.promise).resolves.toBe(42);
    const b = wr.call(Promise);
    b.reject(new Error('no'));
    await expect(b.promise).rejects.toThrow('no');
  });

  it('uses `this` as the constructor and rejects non-constructors, per spec', () => {
    class Sub<T> extends Promise<T> {}
    const wr = getWithResolvers();
    expect(wr.call(Sub).promise).toBeInstanceOf(Sub);
    expect(() => wr.call({})).toThrow(TypeError);
  });

  it('does not replace an existing implementation', () => {
    const before = Reflect.get(Promise, 'withResolvers');
    installPromiseWithResolvers();
    expect(Reflect.get(Promise, 'withResolvers')).toBe(before);
  });
});
