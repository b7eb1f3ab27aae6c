/**
 * `Promise.withResolvers` (ES2024) for Node 20, which lacks it; aws-local-stepfunctions v3 calls it
 * for every Task state. Installed only when missing, following the spec: it uses `this` as the
 * constructor (NewPromiseCapability(C)), so subclasses get instances of themselves, and throws a
 * TypeError when `this` is not a constructor. Import this module before aws-local-stepfunctions.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

function withResolvers<T>(this: unknown): Resolvers<T> {
  if (typeof this !== 'function') throw new TypeError('Promise.withResolvers called on a non-constructor');
  const C = this as PromiseConstructor;
  let resolve: Resolvers<T>['resolve'] | undefined;
  let reject: Resolvers<T>['reject'] | undefined;
  const promise = new C<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  if (resolve === undefined || reject === undefined) throw new TypeError('Promise executor was not called');
  return { promise, resolve, reject };
}

export function installPromiseWithResolvers(): void {
  if (typeof Reflect.get(Promise, 'withResolvers') === 'function') return;
  // Same property attributes as built-in methods: writable, non-enumerable, configurable.
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, enumerable: false, configurable: true });
}

installPromiseWithResolvers();
