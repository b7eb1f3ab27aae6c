/**
 * Runs synthesized state-machine definitions in-process with aws-local-stepfunctions v3.
 *
 * Every Task state is routed to ONE dispatcher (`resolveTask`) supplied by the runtime, except
 * `arn:aws:states:::states:startExecution[.sync[:2]]`, which this runner executes itself so nested
 * state machines run locally too. Library facts this wrapper is built around:
 *
 *  - Overrides (`taskResourceLocalHandlers`, `waitTimeOverrides`, `retryIntervalOverrides`) are
 *    keyed by STATE NAME and shared with Map/Parallel sub-machines. AWS (and the library's
 *    validator) require state names to be unique across the whole machine, so one override per
 *    name is unambiguous; duplicates are rejected with a clear error anyway.
 *  - A task override receives the state's effective input (after InputPath and Parameters), e.g.
 *    `{ FunctionName, Payload }` for `lambda:invoke`, and its return value is the raw task result
 *    (before ResultSelector/ResultPath/OutputPath). So `lambda:invoke` results are wrapped here as
 *    `{ ExecutedVersion, Payload, StatusCode, ... }`; direct function-ARN resources are not.
 *  - Errors: `Retry`/`Catch` match the thrown error's `name`; `Cause` is its `message`.
 *  - The library defaults a Task's timeout to 60 s (AWS: none) and feeds `TimeoutSeconds * 1000`
 *    to `setTimeout`, which fires after 1 ms above 2^31-1 ms (~24.8 days) — so a 30-day machine
 *    timeout would time out immediately. The runner therefore gives Tasks without a timeout, and
 *    clamps any timeout above, {@link MAX_TIMER_SECONDS}.
 *  - The library evaluates a Task's `TimeoutSecondsPath` against the task's parameters, AWS against
 *    the state's input: the runner adds the value to the parameters under its own key (removed
 *    before the task is dispatched) and points the path at it. These are the only changes made to
 *    a definition.
 */
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { JSONPath } from 'jsonpath-plus';
import type { RunOptions, StateMachineDefinition } from 'aws-local-stepfunctions';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkStates } from './asl-walk.js';
import type { JsonObject, JsonValue } from './json.js';
import { isPlainObject, toJsonValue } from './json.js';
import { TaskFailure, toStatesError } from './task-errors.js';
import { assertLocallySupported, LOCAL_ACCOUNT, LOCAL_PARTITION, LOCAL_REGION, localArn, logicalIdFromArn } from './template-asl.js';

/** Largest `TimeoutSeconds` Node's setTimeout can honour (2^31-1 ms). */
export const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);

type Execution = ReturnType<StateMachine['run']>;
/** One entry of the library's execution event log (the type is not exported by the library). */
export type ExecutionEvent = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionOutcome {
  readonly status: Exclude<ExecutionStatus, 'RUNNING'>;
  readonly output?: JsonValue;
  readonly error?: string;
  readonly cause?: string;
}

/** What the runner needs of a state machine: an `ExtractedStateMachine` (template-asl.ts), or hand-written ASL. */
export interface RunnableStateMachine {
  readonly logicalId: string;
  readonly definition: JsonObject;
  readonly arn?: string;
  readonly stateMachineType?: 'STANDARD' | 'EXPRESS';
  readonly roleLogicalId?: string;
  /** Its StateMachineName: an ARN built from the name (lib/registry/naming.ts) finds it too. */
  readonly stateMachineName?: string;
}

export interface TaskContext {
  readonly stateMachineLogicalId: string;
  readonly stateMachineArn: string;
  readonly executionArn: string;
  readonly executionName: string;
  readonly stateName: string;
  readonly resource: string;
}

/**
 * The runtime's single task dispatcher. For `arn:aws:states:::lambda:invoke` it receives
 * `{ FunctionName, Payload, ... }` and must return the function's response payload (the runner
 * wraps it); for a function-ARN resource it receives the payload. A handler error should be thrown
 * (any Error → errorType = its name), or as {@link LambdaFunctionError} for a FunctionError payload.
 * Other integrations return the service response; throw SDK errors or {@link TaskFailure}.
 */
export type ResolveTask = (resource: string, parameters: JsonValue, ctx: TaskContext) => Promise<unknown>;

export interface WaitInfo {
  readonly stateMachineLogicalId: string;
  readonly executionArn: string;
  readonly executionName: string;
  readonly stateName: string;
  readonly state: Readonly<Record<string, unknown>>;
  /** `Seconds` of a static wait. */
  readonly seconds?: number;
  /** `Timestamp` of a static wait. */
  readonly timestamp?: string;
  /**
   * True for `SecondsPath`/`TimestampPath`. The library does not hand a wait override the state's
   * input, so the runner resolves the path itself from the state's entered event and then passes
   * the resolved `seconds` or `timestamp` (see {@link TimingOptions.waitOverride}).
   */
  readonly dynamic: boolean;
}

export interface TimingOptions {
  /**
   * Milliseconds to pause in a Wait state, evaluated each time the state runs; `undefined` falls
   * back to `waitTimeScale`, then to the real duration. For a dynamic wait (`SecondsPath`,
   * `TimestampPath`) it is called once the path is resolved against the state's input, with
   * `seconds` or `timestamp` set, just before the execution's next task runs (or as it ends).
   */
  readonly waitOverride?: (info: WaitInfo) => number | undefined;
  /**
   * Holds a dynamic wait (resolved, as for `waitOverride`) until the returned promise settles,
   * instead of pausing: the runtime's way to let a wait pass in the world's time (execution-clock.ts
   * `hold`). `undefined` leaves the wait to `waitOverride`. Not asked when the execution is failing.
   */
  readonly holdWait?: (info: WaitInfo) => Promise<void> | undefined;
  /** Multiplies static waits (`Seconds`, `Timestamp`). `0` skips them. Dynamic waits are not scaled (see WaitInfo.dynamic). */
  readonly waitTimeScale?: number;
  /**
   * Fixed pause (ms) before every retry. The library's override replaces the whole
   * IntervalSeconds × BackoffRate^n formula, so backoff cannot be scaled, only replaced.
   */
  readonly retryIntervalMs?: number;
}

/** What the runtime wraps an execution in (see {@link LocalRunnerOptions.scopeExecution}). */
export interface ExecutionScope {
  /**
   * Runs `fn`, the start of the execution: everything the execution does (its tasks, its Waits and
   * all the code they call) runs in the async context `fn` runs in.
   */
  run<T>(fn: () => T): T;
  /** Called once the execution has ended, before whoever awaits it (a `.sync` parent) resumes. */
  ended?(): void;
}

export interface LocalRunnerOptions {
  readonly definitions: ReadonlyMap<string, RunnableStateMachine> | readonly RunnableStateMachine[];
  readonly resolveTask: ResolveTask;
  /** Default timing for every execution (nested executions inherit their parent's). */
  readonly timing?: TimingOptions;
  /**
   * Called as an execution starts, in the async context of whatever starts it; `syncParent` is the
   * execution whose `.sync` task started it. The local runtime gives each execution its own
   * simulated time this way. @default the execution runs in its starter's context
   */
  readonly scopeExecution?: (execution: LocalExecution, syncParent: LocalExecution | undefined) => ExecutionScope;
  /**
   * How many ended executions of each state machine stay describable and listed (the newest);
   * older ones are forgotten, as a long local run would otherwise keep every execution it ran,
   * with its input, output and event log. A forgotten STANDARD execution's name stays reserved
   * (ExecutionAlreadyExists), as in AWS, when its starter gave it; a generated name (a random
   * UUID) is not kept once its execution is forgotten. @default 100
   */
  readonly endedExecutionsKept?: number;
  /**
   * How many ended executions keep their event log (`history`): the newest of all state machines
   * together. An older one is still listed and described (within `endedExecutionsKept`), but its
   * `history` throws ExecutionHistoryNotKept: an event log is tens of KB (hundreds for the intel
   * pipelines), which a long local run would otherwise keep for 100 executions of every machine.
   * @default 20
   */
  readonly historiesKept?: number;
}

export interface StartOptions {
  /** Execution name (unique per state machine, like AWS). Random UUID when omitted. */
  readonly name?: string;
  readonly timing?: TimingOptions;
}

export interface LocalExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachineArn: string;
  readonly stateMachineLogicalId: string;
  readonly input: JsonValue;
  readonly startDate: Date;
  /** Resolves (never rejects) when the execution ends. */
  readonly result: Promise<ExecutionOutcome>;
}

/** An execution as ListExecutions gives it: no input or output (DescribeExecution has those). */
export interface ExecutionListItem {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly stopDate?: Date;
}

export interface ExecutionDescription extends ExecutionListItem {
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface LocalStateMachineRunner {
  startExecution(stateMachineLogicalIdOrArn: string, input?: unknown, options?: StartOptions): LocalExecution;
  describeExecution(executionArn: string): ExecutionDescription;
  /** Aborts a running execution (status ABORTED). No-op when it already ended. */
  stopExecution(executionArn: string): void;
  /** The machine's executions, oldest first, as ListExecutions lists them (no input or output). */
  listExecutions(stateMachineLogicalIdOrArn: string): ExecutionListItem[];
  /** The library's event log of an execution so far (StateEntered/Exited/Failed/Retried/Caught...). */
  history(executionArn: string): readonly ExecutionEvent[];
  /** Constructs (and validates) every StateMachine now instead of on first use. */
  prepare(): void;
  /** Aborts every running execution and resolves once each has ended. */
  stopAll(): Promise<void>;
}

/** The SDK's exception name for a duplicate execution name, as thrown by the real client. */
export class ExecutionAlreadyExists extends Error {
  override readonly name = 'ExecutionAlreadyExists';
}
export class StateMachineDoesNotExist extends Error {
  override readonly name = 'StateMachineDoesNotExist';
}
export class InvalidName extends Error {
  override readonly name = 'InvalidName';
}
/** `history` of an ended execution whose event log is no longer kept (LocalRunnerOptions.historiesKept). */
export class ExecutionHistoryNotKept extends Error {
  override readonly name = 'ExecutionHistoryNotKept';
}

interface ExecutionRecord extends LocalExecution {
  status: ExecutionStatus;
  /** Whether the starter named it (a generated name is not reserved once it is forgotten). */
  readonly named: boolean;
  /**
   * Set as it ends: what the runner keeps of it from then on. The maps hold that record instead;
   * this field serves whoever still holds the running one (a `.sync` parent describing its child).
   */
  ended?: EndedRecord;
  readonly events: ExecutionEvent[];
  readonly abort: () => void;
  /** Resolves when the execution is asked to stop (a held wait gives up then). */
  readonly stopping: Promise<void>;
  /** Running `.sync` children, stopped if this execution ends first (as Step Functions does). */
  readonly syncChildren: Set<ExecutionRecord>;
  /** Dynamic waits entered but not yet resolved against their input (see settleDynamicWaits). */
  readonly pendingWaits: PendingWait[];
  /** Per Wait state name: how many times the execution entered it. */
  readonly waitVisits: Map<string, number>;
}

/**
 * An ended execution as the runner keeps it: what ListExecutions and DescribeExecution give (its
 * input and output as JSON text) and, while it is among the newest, its event log. Nothing of the
 * run itself (the library's execution, the task handlers, the result promise) stays reachable.
 */
interface EndedRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly named: boolean;
  readonly stateMachineArn: string;
  readonly stateMachineLogicalId: string;
  readonly status: Exclude<ExecutionStatus, 'RUNNING'>;
  readonly startDate: Date;
  readonly stopDate: Date;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  /** The execution's event log (the array the library still delivers into); undefined once dropped. */
  events: ExecutionEvent[] | undefined;
}

/** A kept execution: running, or ended. */
type KeptExecution = ExecutionRecord | EndedRecord;

interface PendingWait {
  readonly info: WaitInfo;
  /** Which entry of the state this is (1 = the first), to find its StateEntered event. */
  readonly visit: number;
}

interface PreparedMachine {
  readonly source: RunnableStateMachine;
  readonly arn: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  readonly machine: StateMachine;
  readonly tasks: ReadonlyMap<string, string>; // state name → Resource
  readonly waits: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  readonly retryable: readonly string[];
  /** Retry blocks of the Task states whose input reads `$$.State.RetryCount`. */
  readonly retryCounted: ReadonlyMap<string, readonly Retrier[]>;
}

interface Retrier {
  readonly errorEquals: readonly string[];
  readonly maxAttempts: number;
}

/**
 * The library's context object has no `$$.State`. For Task states whose input reads
 * `$$.State.RetryCount`, the runner keeps it itself: a failure that a retrier with attempts left
 * matches (the same first-match rule as Step Functions) counts one retry; a success, or a failure
 * that will be caught, starts the count again. The library resolves a state's input just before
 * each attempt, so it sees the count of that attempt.
 */
class RetryCounter {
  readonly context = { RetryCount: 0 };
  private readonly used = new Map<string, number>();

  succeeded(): void {
    this.context.RetryCount = 0;
    this.used.clear();
  }

  failed(stateName: string, retriers: readonly Retrier[], errorName: string): void {
    const index = retriers.findIndex((r) => r.errorEquals.includes(errorName) || r.errorEquals.includes('States.ALL') || (r.errorEquals.includes('States.TaskFailed') && !errorName.startsWith('States.')));
    const retrier = retriers[index];
    const key = `${stateName}#${index}`;
    const used = this.used.get(key) ?? 0;
    if (retrier !== undefined && used < retrier.maxAttempts) {
      this.used.set(key, used + 1);
      this.context.RetryCount += 1;
    } else {
      this.succeeded();
    }
  }
}

const LAMBDA_INVOKE = /^arn:[^:]+:states:::lambda:invoke$/;
const START_EXECUTION = /^arn:[^:]+:states:::states:startExecution(\.sync(:2)?)?$/;
// StartExecution rejects names with whitespace, brackets, wildcards, special or control characters.
const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u;
function isValidExecutionName(name: string): boolean {
  if (name.length < 1 || name.length > 80 || INVALID_NAME_CHARS.test(name)) return false;
  return ![...name].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c <= 0x1f || (c >= 0x7f && c <= 0x9f);
  });
}

/** Deep copy with every Task given a timeout and every timeout clamped to what setTimeout can honour. */
function withSafeTimeouts(definition: JsonObject): JsonObject {
  const copy = structuredClone(definition);
  const top = copy['TimeoutSeconds'];
  if (typeof top === 'number' && top > MAX_TIMER_SECONDS) copy['TimeoutSeconds'] = MAX_TIMER_SECONDS;
  walkStates(copy, ({ state, type }) => {
    if (type !== 'Task') return;
    const s = state as JsonObject;
    const t = s['TimeoutSeconds'];
    const path = s['TimeoutSecondsPath'];
    if (t === undefined && path === undefined) s['TimeoutSeconds'] = MAX_TIMER_SECONDS;
    else if (typeof t === 'number' && t > MAX_TIMER_SECONDS) s['TimeoutSeconds'] = MAX_TIMER_SECONDS;
    // AWS reads TimeoutSecondsPath from the state's input; the library reads it from the task's
    // parameters. Carry the value in the parameters under a key the runner strips before dispatch.
    if (typeof path === 'string' && isPlainObject(s['Parameters'])) {
      s['Parameters'] = { ...s['Parameters'], [`${TIMEOUT_CARRIER}.$`]: path };
      s['TimeoutSecondsPath'] = `$.${TIMEOUT_CARRIER}`;
    }
  });
  return copy;
}

/** The parameter that carries a Task's TimeoutSecondsPath value to the library (see withSafeTimeouts). */
const TIMEOUT_CARRIER = 'localRunnerTimeoutSeconds';

/** The task's parameters as AWS would pass them: without the runner's timeout carrier. */
function withoutTimeoutCarrier(input: JsonValue): JsonValue {
  if (!isPlainObject(input) || !(TIMEOUT_CARRIER in input)) return input;
  const { [TIMEOUT_CARRIER]: _carried, ...rest } = input;
  return rest;
}

/**
 * Construction validates with asl-validator, which builds a fresh Ajv instance and compiles every
 * schema on each call (~100-500 ms). A StateMachine holds no per-run state, so instances are shared
 * process-wide by definition text: every runner (and every test) pays once per distinct definition.
 * Across processes, a definition that passed is remembered on disk (node_modules/.cache, keyed by
 * the definition text and the validator's version): the next `npm start` or test worker constructs
 * it without validating again. A definition that fails is never remembered, so it fails every time.
 * The validator also mutates its input (it adds `QueryLanguage: "JSONPath"` to each state), which
 * is harmless here because the definition passed in is the runner's private copy.
 */
const constructed = new Map<string, StateMachine>();
/** Where definitions that passed validation are remembered (one empty file per definition). */
export const VALIDATED_DEFINITIONS_DIR = fileURLToPath(new URL('../node_modules/.cache/aurastream-asl-validated/', import.meta.url));
const VALIDATOR_VERSION = (() => {
  try {
    return String((createRequire(import.meta.url)('asl-validator/package.json') as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
})();

function validatedMarker(text: string): string {
  return join(VALIDATED_DEFINITIONS_DIR, createHash('sha256').update(VALIDATOR_VERSION).update('\0').update(text).digest('hex'));
}

function rememberValid(marker: string): void {
  try {
    mkdirSync(VALIDATED_DEFINITIONS_DIR, { recursive: true });
    const tmp = `${marker}.${process.pid}.tmp`;
    writeFileSync(tmp, '');
    renameSync(tmp, marker);
  } catch {
    // A read-only or missing node_modules only costs the next process a validation.
  }
}

function constructCached(definition: JsonObject): StateMachine {
  const text = JSON.stringify(definition);
  let machine = constructed.get(text);
  if (machine === undefined) {
    const marker = validatedMarker(text);
    const known = existsSync(marker);
    machine = new StateMachine(definition as unknown as StateMachineDefinition, known ? { validationOptions: { noValidate: true } } : undefined);
    if (!known) rememberValid(marker);
    constructed.set(text, machine);
  }
  return machine;
}

function prepare(source: RunnableStateMachine): PreparedMachine {
  assertLocallySupported(source.definition, source.logicalId);
  const tasks = new Map<string, string>();
  const waits = new Map<string, Readonly<Record<string, unknown>>>();
  const retryable: string[] = [];
  const retryCounted = new Map<string, readonly Retrier[]>();
  const seen = new Map<string, string>();
  walkStates(source.definition, ({ name, state, path, type }) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw new Error(
        `State machine ${source.logicalId}: state name "${name}" is used twice (${first} and ${path}). ` +
          'State names must be unique across the whole machine (AWS rule), and aws-local-stepfunctions keys overrides by name.',
      );
    }
    seen.set(name, path);
    if (type === 'Task') {
      const resource = state['Resource'];
      if (typeof resource !== 'string') throw new Error(`State machine ${source.logicalId}: Task ${path} has no string Resource`);
      tasks.set(name, resource);
      if (JSON.stringify(state['Parameters'] ?? {}).includes('$$.State.RetryCount')) {
        const retry = Array.isArray(state['Retry']) ? (state['Retry'] as Record<string, unknown>[]) : [];
        retryCounted.set(
          name,
          retry.map((r) => ({ errorEquals: Array.isArray(r['ErrorEquals']) ? (r['ErrorEquals'] as string[]) : [], maxAttempts: typeof r['MaxAttempts'] === 'number' ? r['MaxAttempts'] : 3 })),
        );
      }
    }
    if (type === 'Wait') waits.set(name, state);
    if (Array.isArray(state['Retry'])) retryable.push(name);
  });
  const machine = constructCached(withSafeTimeouts(source.definition));
  return {
    source,
    arn: source.arn ?? localArn.stateMachine(source.logicalId),
    type: source.stateMachineType ?? 'STANDARD',
    machine,
    tasks,
    waits,
    retryable,
    retryCounted,
  };
}

function isEnded(r: KeptExecution): r is EndedRecord {
  return !('result' in r);
}

/** What the runner keeps of `r`, which ended with `outcome`. */
function endedRecordOf(r: ExecutionRecord, outcome: ExecutionOutcome): EndedRecord {
  return {
    executionArn: r.executionArn,
    name: r.name,
    named: r.named,
    stateMachineArn: r.stateMachineArn,
    stateMachineLogicalId: r.stateMachineLogicalId,
    status: outcome.status,
    startDate: r.startDate,
    stopDate: new Date(),
    input: JSON.stringify(r.input),
    ...(outcome.output !== undefined ? { output: JSON.stringify(outcome.output) } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(outcome.cause !== undefined ? { cause: outcome.cause } : {}),
    events: r.events,
  };
}

function listItem(k: KeptExecution): ExecutionListItem {
  const r = isEnded(k) ? k : (k.ended ?? k);
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: r.startDate,
    ...('stopDate' in r ? { stopDate: r.stopDate } : {}),
  };
}

function describe(k: KeptExecution): ExecutionDescription {
  const r = isEnded(k) ? k : k.ended;
  if (r === undefined) return { ...listItem(k), input: JSON.stringify(k.input) };
  return {
    ...listItem(r),
    input: r.input,
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.cause !== undefined ? { cause: r.cause } : {}),
  };
}

/** Maps the library's rejection to a terminal outcome. */
function outcomeOfError(e: unknown): ExecutionOutcome {
  if (e instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds)' };
  if (e instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  const inner: unknown = e instanceof ExecutionError ? e.cause : e;
  if (inner instanceof Error) return { status: 'FAILED', error: inner.name, cause: inner.message };
  return { status: 'FAILED', error: 'States.Runtime', cause: String(inner) };
}

function waitMs(info: WaitInfo, timing: TimingOptions | undefined): number | undefined {
  const override = timing?.waitOverride?.(info);
  if (override !== undefined) return Math.max(0, override);
  const scale = timing?.waitTimeScale;
  if (scale === undefined || info.dynamic) return undefined;
  if (info.seconds !== undefined) return info.seconds * 1000 * scale;
  if (info.timestamp !== undefined) return Math.max(0, Date.parse(info.timestamp) - Date.now()) * scale;
  return undefined;
}

/** The value of a JSONPath (`$...`) in a state's input, as Step Functions reads a Wait's `SecondsPath`/`TimestampPath`. */
function readPath(path: string, input: unknown): unknown {
  return JSONPath({ path, json: input as JsonValue, wrap: false }) as unknown;
}

/** A dynamic wait resolved against the input it entered with: `seconds` or `timestamp`. */
function resolveDynamicWait(info: WaitInfo, enteredInput: unknown): WaitInfo {
  const inputPath = info.state['InputPath'];
  const input = typeof inputPath === 'string' ? readPath(inputPath, enteredInput) : enteredInput;
  const secondsPath = info.state['SecondsPath'];
  const timestampPath = info.state['TimestampPath'];
  if (typeof secondsPath === 'string') {
    const seconds = readPath(secondsPath, input);
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw new TaskFailure('States.Runtime', `Wait ${info.stateName}: SecondsPath ${secondsPath} must name a non-negative integer, got ${JSON.stringify(seconds ?? null)}`);
    }
    return { ...info, seconds };
  }
  if (typeof timestampPath === 'string') {
    const timestamp = readPath(timestampPath, input);
    if (typeof timestamp !== 'string' || !Number.isFinite(Date.parse(timestamp))) {
      throw new TaskFailure('States.Runtime', `Wait ${info.stateName}: TimestampPath ${timestampPath} must name an RFC 3339 timestamp, got ${JSON.stringify(timestamp ?? null)}`);
    }
    return { ...info, timestamp };
  }
  return info;
}

/** Macrotask turns to wait for the library's event log to deliver a StateEntered event (it is delivered in microtasks). */
const EVENT_DELIVERY_TURNS_MAX = 100;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Resolves the dynamic waits the execution entered since its last task: each one's input comes
 * from its StateEntered event (the event log delivers it within microtasks; the runner waits for
 * it a few turns at most), and the timing override decides what the wait takes. A wait the
 * override answers with more than 0 ms is slept here, before the next task.
 */
async function settleDynamicWaits(record: ExecutionRecord, timing: TimingOptions | undefined, hold = true): Promise<void> {
  while (record.pendingWaits.length > 0) {
    const pending = record.pendingWaits[0] as PendingWait;
    let entered: ExecutionEvent | undefined;
    for (let turn = 0; entered === undefined; turn++) {
      let seen = 0;
      entered = record.events.find((e) => e.type === 'StateEntered' && e.state.name === pending.info.stateName && ++seen === pending.visit);
      if (entered !== undefined) break;
      if (turn >= EVENT_DELIVERY_TURNS_MAX) throw new Error(`${record.executionArn}: no StateEntered event for Wait ${pending.info.stateName} (visit ${pending.visit})`);
      await nextTurn();
    }
    record.pendingWaits.shift();
    const input = entered.type === 'StateEntered' ? entered.state.input : undefined;
    const resolved = resolveDynamicWait(pending.info, input);
    const held = hold ? timing?.holdWait?.(resolved) : undefined;
    if (held !== undefined) {
      const stopped = await Promise.race([held.then(() => false), record.stopping.then(() => true)]);
      if (stopped) return;
      continue;
    }
    const ms = waitMs(resolved, timing) ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export function createLocalStateMachineRunner(options: LocalRunnerOptions): LocalStateMachineRunner {
  const sources = new Map<string, RunnableStateMachine>();
  const list = Array.isArray(options.definitions) ? options.definitions : [...(options.definitions as ReadonlyMap<string, RunnableStateMachine>).values()];
  for (const d of list) sources.set(d.logicalId, d);
  const byMachineName = new Map<string, string>(); // StateMachineName → logical ID
  for (const d of list) if (d.stateMachineName !== undefined) byMachineName.set(d.stateMachineName, d.logicalId);
  const prepared = new Map<string, PreparedMachine>();
  const executions = new Map<string, KeptExecution>();
  const byMachine = new Map<string, Map<string, KeptExecution>>(); // logicalId → arn → its executions kept, oldest first
  const byName = new Map<string, Map<string, KeptExecution>>(); // logicalId → name → record
  const endedKept = options.endedExecutionsKept ?? 100;
  const historiesKept = options.historiesKept ?? 20;
  const ended = new Map<string, EndedRecord[]>(); // logicalId → its ended executions, oldest first
  const withHistory: EndedRecord[] = []; // the ended executions that keep their event log, oldest first
  const retiredNames = new Map<string, Set<string>>(); // logicalId → names of forgotten STANDARD executions

  /**
   * Keeps `r` (ended) in place of its running record, forgets its machine's oldest ended
   * executions beyond `endedKept` and drops the event logs beyond `historiesKept`.
   */
  const retire = (running: ExecutionRecord, r: EndedRecord): void => {
    if (executions.get(r.executionArn) === running) executions.set(r.executionArn, r);
    const ofMachine = byMachine.get(r.stateMachineLogicalId);
    // Map.set on a present key keeps its place: the list stays in start order.
    if (ofMachine?.get(r.executionArn) === running) ofMachine.set(r.executionArn, r);
    const named = byName.get(r.stateMachineLogicalId);
    if (named?.get(r.name) === running) named.set(r.name, r);
    withHistory.push(r);
    while (withHistory.length > historiesKept) {
      const old = withHistory.shift();
      if (old !== undefined) old.events = undefined;
    }
    let list = ended.get(r.stateMachineLogicalId);
    if (list === undefined) {
      list = [];
      ended.set(r.stateMachineLogicalId, list);
    }
    list.push(r);
    while (list.length > endedKept) {
      const old = list.shift();
      if (old === undefined) break;
      if (executions.get(old.executionArn) === old) executions.delete(old.executionArn);
      byMachine.get(old.stateMachineLogicalId)?.delete(old.executionArn);
      const names = byName.get(old.stateMachineLogicalId);
      if (names?.get(old.name) === old) {
        names.delete(old.name);
        if (!old.named) continue;
        let retired = retiredNames.get(old.stateMachineLogicalId);
        if (retired === undefined) {
          retired = new Set();
          retiredNames.set(old.stateMachineLogicalId, retired);
        }
        retired.add(old.name);
      }
    }
  };

  const machineFor = (idOrArn: string): PreparedMachine => {
    const fromArn = sources.has(idOrArn) ? idOrArn : logicalIdFromArn(idOrArn);
    const id = fromArn !== undefined && !sources.has(fromArn) ? (byMachineName.get(fromArn) ?? fromArn) : fromArn;
    const source = id === undefined ? undefined : sources.get(id);
    if (source === undefined) throw new StateMachineDoesNotExist(`State Machine Does Not Exist: '${idOrArn}'`);
    let p = prepared.get(source.logicalId);
    if (p === undefined) {
      p = prepare(source);
      prepared.set(source.logicalId, p);
    }
    return p;
  };

  const recordOf = (executionArn: string): KeptExecution => {
    const r = executions.get(executionArn);
    if (r === undefined) {
      const e = new Error(`Execution Does Not Exist: '${executionArn}'`);
      e.name = 'ExecutionDoesNotExist';
      throw e;
    }
    return r;
  };

  /** Built-in `states:startExecution` integration: runs the child through this runner. */
  const startExecutionTask = async (resource: string, params: JsonValue, parent: ExecutionRecord, timing: TimingOptions | undefined): Promise<JsonValue> => {
    if (!isPlainObject(params) || typeof params['StateMachineArn'] !== 'string') {
      throw new TaskFailure('States.Runtime', `${resource}: Parameters.StateMachineArn must be a string`);
    }
    const rawInput = params['Input'];
    // Input may be given as JSON text or as a JSON value.
    let input: JsonValue;
    try {
      input = typeof rawInput === 'string' ? (JSON.parse(rawInput) as JsonValue) : (rawInput ?? {});
    } catch {
      throw new TaskFailure('States.Runtime', `${resource}: Parameters.Input is not valid JSON text`);
    }
    const name = typeof params['Name'] === 'string' ? params['Name'] : undefined;
    const sync = resource.endsWith('.sync') ? 1 : resource.endsWith('.sync:2') ? 2 : 0;
    let child: ExecutionRecord;
    try {
      child = start(params['StateMachineArn'], input, { ...(name !== undefined ? { name } : {}), ...(timing !== undefined ? { timing } : {}) }, sync === 0 ? undefined : parent);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      // Optimized-integration error names: StepFunctions.<SdkExceptionName>Exception.
      const sdkName = err.name.endsWith('Exception') ? err.name : `${err.name}Exception`;
      throw new TaskFailure(`StepFunctions.${sdkName}`, err.message);
    }
    if (sync === 0) return { ExecutionArn: child.executionArn, StartDate: child.startDate.getTime() };

    parent.syncChildren.add(child);
    const outcome = await child.result;
    parent.syncChildren.delete(child);
    const d = describe(child);
    const description: JsonObject = {
      ExecutionArn: d.executionArn,
      StateMachineArn: d.stateMachineArn,
      Name: d.name,
      Status: d.status,
      StartDate: d.startDate.getTime(),
      StopDate: (d.stopDate ?? new Date()).getTime(),
      Input: d.input,
      InputDetails: { Included: true },
    };
    if (outcome.status !== 'SUCCEEDED') {
      // The parent task fails with States.TaskFailed; the cause is the child's DescribeExecution JSON.
      if (d.error !== undefined) description['Error'] = d.error;
      if (d.cause !== undefined) description['Cause'] = d.cause;
      throw new TaskFailure('States.TaskFailed', JSON.stringify(description));
    }
    // `.sync` returns Output as JSON text; `.sync:2` returns it as parsed JSON.
    description['Output'] = sync === 2 ? (outcome.output ?? null) : (d.output ?? 'null');
    description['OutputDetails'] = { Included: true };
    return description;
  };

  const buildRunOptions = (p: PreparedMachine, record: ExecutionRecord, timing: TimingOptions | undefined): RunOptions => {
    const taskResourceLocalHandlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    const retries = new RetryCounter();
    for (const [stateName, resource] of p.tasks) {
      const counted = p.retryCounted.get(stateName);
      const ctx: TaskContext = {
        stateMachineLogicalId: p.source.logicalId,
        stateMachineArn: p.arn,
        executionArn: record.executionArn,
        executionName: record.name,
        stateName,
        resource,
      };
      taskResourceLocalHandlers[stateName] = async (input) => {
        await settleDynamicWaits(record, timing);
        input = withoutTimeoutCarrier(input);
        if (START_EXECUTION.test(resource)) return startExecutionTask(resource, input, record, timing);
        let result: unknown;
        try {
          result = await options.resolveTask(resource, input, ctx);
        } catch (e) {
          const error = toStatesError(resource, e);
          if (counted) retries.failed(stateName, counted, error.name);
          throw error;
        }
        if (counted) retries.succeeded();
        const payload = toJsonValue(result);
        if (LAMBDA_INVOKE.test(resource)) {
          // The optimized Lambda integration's response; CDK's LambdaInvoke selects `$.Payload`.
          return {
            ExecutedVersion: '$LATEST',
            Payload: payload,
            SdkHttpMetadata: { HttpStatusCode: 200 },
            SdkResponseMetadata: { RequestId: randomUUID() },
            StatusCode: 200,
          };
        }
        return payload;
      };
    }

    // Getters: evaluated by the library each time the Wait state runs, so the caller's function
    // (e.g. a simulated clock) decides per execution and per visit.
    const waitTimeOverrides: Record<string, number> = {};
    for (const [stateName, state] of p.waits) {
      const info: WaitInfo = {
        stateMachineLogicalId: p.source.logicalId,
        executionArn: record.executionArn,
        executionName: record.name,
        stateName,
        state,
        ...(typeof state['Seconds'] === 'number' ? { seconds: state['Seconds'] } : {}),
        ...(typeof state['Timestamp'] === 'string' ? { timestamp: state['Timestamp'] } : {}),
        dynamic: state['SecondsPath'] !== undefined || state['TimestampPath'] !== undefined,
      };
      const get = (): number | undefined => {
        const visit = (record.waitVisits.get(stateName) ?? 0) + 1;
        record.waitVisits.set(stateName, visit);
        // Without an override the library waits the real duration of the path itself.
        if (!info.dynamic || (timing?.waitOverride === undefined && timing?.holdWait === undefined)) return waitMs(info, timing);
        // The input is in the StateEntered event just dispatched: resolved before the next task.
        record.pendingWaits.push({ info, visit });
        return 0;
      };
      Object.defineProperty(waitTimeOverrides, stateName, { enumerable: true, get });
    }

    const retryIntervalOverrides: Record<string, number> = {};
    if (timing?.retryIntervalMs !== undefined) {
      for (const name of p.retryable) retryIntervalOverrides[name] = timing.retryIntervalMs;
    }

    return {
      overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RedriveCount: 0, ...(p.source.roleLogicalId !== undefined ? { RoleArn: localArn.iamRole(p.source.roleLogicalId) } : {}) },
        StateMachine: { Id: p.arn, Name: p.source.logicalId },
        // Shared by reference: the library spreads this object into each run's context.
        State: retries.context,
      },
    };
  };

  const publicView = (r: ExecutionRecord): LocalExecution => ({
    executionArn: r.executionArn,
    name: r.name,
    stateMachineArn: r.stateMachineArn,
    stateMachineLogicalId: r.stateMachineLogicalId,
    input: r.input,
    startDate: r.startDate,
    result: r.result,
  });

  const start = (idOrArn: string, rawInput: unknown, startOptions: StartOptions = {}, syncParent?: ExecutionRecord): ExecutionRecord => {
    const p = machineFor(idOrArn);
    const input = toJsonValue(rawInput ?? {});
    const name = startOptions.name ?? randomUUID();
    if (!isValidExecutionName(name)) throw new InvalidName(`Invalid Name: '${name}'`);

    let names = byName.get(p.source.logicalId);
    if (names === undefined) {
      names = new Map();
      byName.set(p.source.logicalId, names);
    }
    const existing = p.type === 'STANDARD' ? names.get(name) : undefined;
    if (existing !== undefined) {
      // StartExecution is idempotent for STANDARD machines only while the execution with that name
      // is running AND the input is identical; otherwise ExecutionAlreadyExists (names are
      // reserved for 90 days after the execution closes).
      if (!isEnded(existing) && existing.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(input)) return existing;
      throw new ExecutionAlreadyExists(`Execution Already Exists: '${existing.executionArn}'`);
    }
    if (p.type === 'STANDARD' && retiredNames.get(p.source.logicalId)?.has(name) === true) {
      throw new ExecutionAlreadyExists(`Execution Already Exists: 'arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${p.source.logicalId}:${name}'`);
    }

    const executionArn =
      p.type === 'EXPRESS'
        ? `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:express:${p.source.logicalId}:${name}:${randomUUID()}`
        : `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${p.source.logicalId}:${name}`;
    const timing = startOptions.timing ?? options.timing;
    let abort: () => void = () => undefined;
    let stop: () => void = () => undefined;
    let stopRequested = false;
    const stopping = new Promise<void>((resolve) => {
      stop = resolve;
    });
    let settle: (o: ExecutionOutcome) => void = () => undefined;
    const result = new Promise<ExecutionOutcome>((resolve) => {
      settle = resolve;
    });
    const record: ExecutionRecord = {
      executionArn,
      name,
      stateMachineArn: p.arn,
      stateMachineLogicalId: p.source.logicalId,
      input,
      startDate: new Date(),
      result,
      status: 'RUNNING',
      named: startOptions.name !== undefined,
      events: [],
      abort: () => {
        stopRequested = true;
        stop();
        abort();
      },
      stopping,
      syncChildren: new Set(),
      pendingWaits: [],
      waitVisits: new Map(),
    };
    executions.set(executionArn, record);
    let ofMachine = byMachine.get(record.stateMachineLogicalId);
    if (ofMachine === undefined) {
      ofMachine = new Map();
      byMachine.set(record.stateMachineLogicalId, ofMachine);
    }
    ofMachine.set(executionArn, record);
    if (p.type === 'STANDARD') names.set(name, record);

    const scope = options.scopeExecution?.(publicView(record), syncParent === undefined ? undefined : publicView(syncParent));
    const runOptions = buildRunOptions(p, record, timing);
    const launch = (): Execution => p.machine.run(input as Parameters<StateMachine['run']>[0], runOptions);
    const run: Execution = scope ? scope.run(launch) : launch();
    abort = run.abort;
    void (async () => {
      for await (const event of run.eventLogs) record.events.push(event);
    })();
    // A dynamic wait just before the end still counts its time (on the execution's clock) first.
    // A failing (or aborted) execution ends at once: its last wait is counted, never held.
    const settled = (hold: boolean): Promise<void> => settleDynamicWaits(record, timing, hold).catch(() => undefined);
    run.result.then(
      async (output) => {
        await settled(true);
        // Stopped while its last wait was held: it never got past the wait.
        finish(record, stopRequested ? { status: 'ABORTED' } : { status: 'SUCCEEDED', output: toJsonValue(output) });
      },
      async (e: unknown) => {
        await settled(false);
        finish(record, outcomeOfError(e));
      },
    );

    function finish(r: ExecutionRecord, outcome: ExecutionOutcome): void {
      r.status = outcome.status;
      r.ended = endedRecordOf(r, outcome);
      for (const child of r.syncChildren) if (child.status === 'RUNNING') child.abort();
      retire(r, r.ended);
      try {
        scope?.ended?.();
      } finally {
        settle(outcome);
      }
    }
    return record;
  };

  return {
    startExecution: (idOrArn, input, startOptions) => publicView(start(idOrArn, input, startOptions)),
    describeExecution: (arn) => describe(recordOf(arn)),
    stopExecution: (arn) => {
      const r = recordOf(arn);
      if (!isEnded(r) && r.status === 'RUNNING') r.abort();
    },
    listExecutions: (idOrArn) => {
      const id = machineFor(idOrArn).source.logicalId;
      return [...(byMachine.get(id)?.values() ?? [])].map(listItem);
    },
    history: (arn) => {
      const r = recordOf(arn);
      if (r.events === undefined) throw new ExecutionHistoryNotKept(`The event log of '${arn}' is no longer kept: only the newest ${historiesKept} ended executions keep theirs`);
      return [...r.events];
    },
    prepare: () => {
      for (const id of sources.keys()) machineFor(id);
    },
    stopAll: async () => {
      // An execution's end may start no new one (the runtime refuses tasks while closing), but loop to be sure.
      const runningNow = (): ExecutionRecord[] => [...executions.values()].filter((r): r is ExecutionRecord => !isEnded(r) && r.status === 'RUNNING');
      for (let running = runningNow(); running.length > 0; running = runningNow()) {
        for (const r of running) r.abort();
        await Promise.all(running.map((r) => r.result));
      }
    },
  };
}
