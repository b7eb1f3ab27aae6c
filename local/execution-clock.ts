/**
 * Simulated time for the local runtime, per execution.
 *
 * The clock has a global time, the symphony's: between schedule slots it jumps (`set`), within a
 * slot it flows at real speed, so a run measures the real time its handlers take; `advance` adds
 * time that passes for everybody (a scenario's slow upstream). It never goes back.
 *
 * Each execution runs on its own {@link ExecutionTime}: the time it started at, plus the real time
 * since, plus its own Waits, plus what `advance` added since. Neither another execution's Wait nor
 * the symphony's jump to the next slot moves it: a run in flight while another one waits 300 s, or
 * while the symphony jumps 5 minutes on (a pipeline a recovery started is not awaited by the slot),
 * still measures the few hundred milliseconds it really took. So an execution can be ahead of the
 * global time (it waited) or behind it (it started before a jump and is still running); the global
 * time goes on regardless, and neither moves the other.
 *
 * A wait can also be held (`hold`): it then passes in the world's time, the waiter resuming only once
 * the global time has reached its end. The symphony holds the waits of the executions no slot
 * awaits (recoveries: a circuit's 15-minute open timeout, an upstream retry's backoff, a quota
 * reset at midnight), so the sweeps and the runs in between see the world as it is meanwhile.
 *
 * Which time code reads is the context it runs in (node's AsyncLocalStorage): the runtime runs each
 * execution, and so every task handler, worker, DynamoDB write and stream consumer it triggers, in
 * the execution's context; code outside any execution (the symphony's loop, the sweep, the queues,
 * the sandbox's server) reads the global time.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** One execution's time (see the module docs). */
export class ExecutionTime {
  private ownMs: number;
  private anchor = performance.now();
  /** The clock's `advancedMs` when `ownMs` was set. */
  private advancedBase: number;
  /** The simulated time the execution started at. */
  readonly startMs: number;

  constructor(
    readonly clock: SimulatedClock,
    startMs: number,
  ) {
    this.ownMs = startMs;
    this.startMs = startMs;
    this.advancedBase = clock.advancedMs;
  }

  now(): number {
    return Math.floor(this.ownMs + (performance.now() - this.anchor) + (this.clock.advancedMs - this.advancedBase));
  }

  /** A Wait: this execution's time moves `ms` on; nobody else's does. */
  advance(ms: number): void {
    if (ms > 0) this.reset(this.now() + ms);
  }

  /** Makes this execution's time at least `ms` (a parent, once its `.sync` child has ended). */
  catchUp(ms: number): void {
    if (ms > this.now()) this.reset(ms);
  }

  private reset(ms: number): void {
    this.ownMs = ms;
    this.anchor = performance.now();
    this.advancedBase = this.clock.advancedMs;
  }
}

const context = new AsyncLocalStorage<ExecutionTime | undefined>();

/**
 * Simulated time. Between schedule slots it jumps; within a slot it flows at real speed, so a run
 * measures the real time its handlers take. Wait states advance the waiting execution's time only
 * (see the module docs): `now()` is the time of the execution the caller runs in, or the global time.
 */
export class SimulatedClock {
  private baseMs: number;
  private anchor = performance.now();
  private advanced = 0;
  /** Held waits, by the global time they are due (see `hold`). */
  private held: { readonly untilMs: number; readonly key: string; readonly release: () => void }[] = [];
  /** Who waits for a key to hold next (see `nextHold`). */
  private readonly holdListeners = new Map<string, (() => void)[]>();
  constructor(startMs: number) {
    this.baseMs = startMs;
  }

  /**
   * A wait that passes in the world's time: resolves once the global time has reached `untilMs`
   * and a driver released it (`releaseDue`). `key` names the holder (its execution ARN, for
   * `nextHold`). Only a driver that moves the global time on (the symphony) may let code hold:
   * with nobody releasing, the holder waits for ever.
   */
  hold(key: string, untilMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.held.push({ untilMs, key, release: resolve });
      const listeners = this.holdListeners.get(key);
      this.holdListeners.delete(key);
      for (const l of listeners ?? []) l();
    });
  }

  /** Resolves as soon as `key` holds a wait: at once when it holds one now. */
  nextHold(key: string): Promise<void> {
    if (this.held.some((h) => h.key === key)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const listeners = this.holdListeners.get(key) ?? [];
      listeners.push(resolve);
      this.holdListeners.set(key, listeners);
    });
  }

  /** The earliest global time a held wait is due at, or undefined when none is held. */
  nextHeldMs(): number | undefined {
    let next: number | undefined;
    for (const h of this.held) if (next === undefined || h.untilMs < next) next = h.untilMs;
    return next;
  }

  /** Releases the held waits the global time has reached, oldest due first; how many. */
  releaseDue(): number {
    const now = this.globalNow();
    const due = this.held.filter((h) => h.untilMs <= now).sort((a, b) => a.untilMs - b.untilMs);
    this.held = this.held.filter((h) => h.untilMs > now);
    for (const h of due) h.release();
    return due.length;
  }

  /** Releases every held wait, due or not (the runtime is closing). */
  releaseAll(): void {
    const all = this.held;
    this.held = [];
    for (const h of all) h.release();
  }

  /** The time `advance` has added so far (every execution counts it too). */
  get advancedMs(): number {
    return this.advanced;
  }

  /** The caller's time: its execution's inside one, the global time otherwise. */
  now(): number {
    return this.current()?.now() ?? this.globalNow();
  }

  /** The global time: the symphony's, and that of code outside executions. */
  globalNow(): number {
    return Math.floor(this.baseMs + (performance.now() - this.anchor));
  }

  /** Time passes for everybody: the global time and every execution's move `ms` on. */
  advance(ms: number): void {
    if (ms <= 0) return;
    this.baseMs += ms;
    this.advanced += ms;
  }

  /** Jumps the global time to `ms` (never backwards); the executions' times do not jump with it. */
  set(ms: number): void {
    const now = this.globalNow();
    this.baseMs = Math.max(ms, now);
    this.anchor = performance.now();
  }

  /** A new execution time starting at `startMs`, by default the caller's time. */
  startExecution(startMs: number = this.now()): ExecutionTime {
    return new ExecutionTime(this, startMs);
  }

  /** The execution time the caller runs on, if any (of this clock). */
  current(): ExecutionTime | undefined {
    const time = context.getStore();
    return time?.clock === this ? time : undefined;
  }

  /** Runs `fn`, and everything it starts, on `time`; on the global time when `time` is undefined. */
  runIn<T>(time: ExecutionTime | undefined, fn: () => T): T {
    if (time !== undefined && time.clock !== this) throw new Error('runIn: an execution time of another clock');
    return context.run(time, fn);
  }
}

/**
 * The times of the running executions, by execution ARN: the runner's `scopeExecution`
 * (step-functions-runner.ts) gives each execution its time as it starts.
 *  - A `.sync` child starts at its parent's time, and its parent resumes no earlier than the time
 *    the child ended (it waited for it).
 *  - Any other execution starts at its starter's time: the global time outside executions, the
 *    starting execution's inside one (a recovery the anomaly Lambda starts on a run's report, a
 *    pipeline a recovery starts, a fire-and-forget child).
 */
export class ExecutionTimes {
  private readonly running = new Map<string, ExecutionTime>();
  constructor(readonly clock: SimulatedClock) {}

  /** The time of a running execution. */
  of(executionArn: string): ExecutionTime | undefined {
    return this.running.get(executionArn);
  }

  /** The runner's `scopeExecution`. */
  readonly scopeExecution = (execution: { readonly executionArn: string }, syncParent: { readonly executionArn: string } | undefined): { run<T>(fn: () => T): T; ended(): void } => {
    const parent = syncParent === undefined ? undefined : this.running.get(syncParent.executionArn);
    const time = this.clock.startExecution(parent?.now() ?? this.clock.now());
    this.running.set(execution.executionArn, time);
    return {
      run: (fn) => this.clock.runIn(time, fn),
      ended: () => {
        parent?.catchUp(time.now());
        this.running.delete(execution.executionArn);
      },
    };
  };
}
