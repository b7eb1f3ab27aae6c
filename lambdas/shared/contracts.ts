/**
 * The payload contracts between the state machines, the protocol Lambda and the workers, as zod
 * schemas. Every handler parses its input with these, so a malformed payload gets a clear
 * `InvalidPayloadError` instead of a crash deep inside.
 *
 * Data flow of one pipeline execution (see statemachines/worker-pipeline.ts):
 *
 *   execution input (PipelineInput)
 *     -> Gate   : protocol Lambda, GateRequest  -> GateResult        at $.gate
 *     -> Work   : worker Lambda,   WorkerInvocation -> WorkerResult  at $.work   (single step)
 *        or Plan: worker Lambda,   WorkerInvocation(phase plan) -> PlanResult at $.plan
 *           Map : worker Lambda per item, WorkerInvocation(phase item) -> ItemOutcome, at $.items
 *     -> Record : protocol Lambda, RecordRequest -> RecordResult   at $.record
 *   A Catch on Work/Plan/Map puts `{ Error, Cause }` at $.failure and goes to Record.
 */
import * as z from 'zod';
import { SKIP_REASONS } from '../../lib/domain/score-report.js';

export const TRIGGERS = ['schedule', 'intel_cycle', 'refresh', 'manual', 'recovery', 'backfill'] as const;
export const Trigger = z.enum(TRIGGERS);
export type Trigger = z.infer<typeof Trigger>;

/** ISO-8601 date-time, as `<aws.scheduler.scheduled-time>` gives it (e.g. 2026-01-01T04:00:00Z). */
export const IsoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date-time' });

/** What EventBridge Scheduler (or a parent pipeline, or a recovery) passes to a pipeline. */
export const PipelineInput = z.object({
  worker: z.string().min(1),
  job: z.string().min(1),
  scheduledTime: IsoTime,
  trigger: Trigger,
  /** For on-demand packs: the job's own request. */
  request: z.record(z.string(), z.unknown()).optional(),
  /** For on-demand jobs: the request id, which keeps two jobs enqueued in the same millisecond apart. */
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  /** For backfills: the job's slot claim the API saw when it found the slot missed (lib/domain/gate.ts). */
  seenSlotClaim: IsoTime.nullable().optional(),
});
export type PipelineInput = z.infer<typeof PipelineInput>;

/** Every protocol-Lambda call: the action, the execution's identity and the whole execution state (`$`). */
export const ProtocolCall = z.object({
  action: z.enum(['gate', 'record', 'freshness', 'cycle-record']),
  executionId: z.string().min(1),
  /** `$$.Execution.StartTime`, for bounded waits. */
  startedAt: IsoTime,
  state: z.record(z.string(), z.unknown()),
});
export type ProtocolCall = z.infer<typeof ProtocolCall>;

/** The domain's skip reasons: one list (lib/domain/score-report.ts). */
export const SKIP_REASON_VALUES = SKIP_REASONS;

/**
 * The gate's verdict.
 * - RUN: the lock is held (fence), go ahead. `probe` is true when the circuit is HALF_OPEN.
 * - WAIT: a `not-running` dependency is in progress; wait `waitSeconds` and ask again.
 * - SKIP: write a SKIPPED report with `skipReason`.
 * - DUPLICATE: this slot already ran (a repeated Scheduler delivery): end without a report.
 */
export const GateResult = z.discriminatedUnion('decision', [
  // stepTimeoutSeconds: the Work task's TimeoutSecondsPath (raised by a SLOW_EXECUTION recovery within its bound).
  z.object({ decision: z.literal('RUN'), fence: z.number().int().nonnegative(), owner: z.string(), probe: z.boolean(), scheduledTime: IsoTime, stepTimeoutSeconds: z.number().int().positive().optional() }),
  z.object({ decision: z.literal('WAIT'), waitSeconds: z.number().int().positive(), scheduledTime: IsoTime }),
  z.object({ decision: z.literal('SKIP'), skipReason: z.enum(SKIP_REASON_VALUES), detail: z.string(), scheduledTime: IsoTime }),
  z.object({ decision: z.literal('DUPLICATE'), scheduledTime: IsoTime }),
]);
export type GateResult = z.infer<typeof GateResult>;

export const PHASES = ['run', 'plan', 'item'] as const;

/** What a worker Lambda receives. */
export const WorkerInvocation = z.object({
  worker: z.string().min(1),
  job: z.string().min(1),
  mode: z.string().min(1),
  phase: z.enum(PHASES),
  scheduledTime: IsoTime,
  executionId: z.string().min(1),
  fence: z.number().int().nonnegative(),
  /** `$$.State.RetryCount`: 0 on the first attempt. */
  retryCount: z.number().int().nonnegative().default(0),
  /** For phase `item`: the work item from the plan. */
  item: z.unknown().optional(),
  request: z.record(z.string(), z.unknown()).optional(),
});
export type WorkerInvocation = z.infer<typeof WorkerInvocation>;

const MetricValue = z.union([z.number(), z.string(), z.boolean()]);

/** The measured facts a worker run reports; the protocol Lambda scores them. */
export const WorkerResult = z.object({
  status: z.enum(['SUCCEEDED', 'PARTIAL']),
  durationMs: z.number(),
  attempts: z.number(),
  itemsOk: z.number(),
  itemsFailed: z.number(),
  outputValid: z.boolean(),
  recordsValid: z.number(),
  recordsInvalid: z.number(),
  validationWarnings: z.array(z.string()),
  peakMemoryMb: z.number(),
  memoryLimitMb: z.number(),
  metrics: z.record(z.string(), MetricValue),
  /** Health facts the worker observed: quota left, cache misses. */
  health: z
    .object({
      quotaRemainingPercent: z.number().optional(),
      cacheMiss: z.boolean().optional(),
    })
    .default({}),
  /** True when the worker stopped early at its deadline (graceful shutdown) and reports partial results. */
  stoppedEarly: z.boolean().default(false),
});
export type WorkerResult = z.infer<typeof WorkerResult>;

/** Phase `plan` of a fan-out job: the work items. */
export const PlanResult = z.object({ items: z.array(z.unknown()).max(1000) });
export type PlanResult = z.infer<typeof PlanResult>;

/** One Map iteration's outcome: the item's result, or the error that its Catch caught. */
export const ItemOutcome = z.union([
  z.object({ ok: z.literal(true), result: WorkerResult }),
  z.object({ ok: z.literal(false), error: z.object({ Error: z.string(), Cause: z.string().optional() }) }),
]);
export type ItemOutcome = z.infer<typeof ItemOutcome>;

export const StepFailure = z.object({ Error: z.string(), Cause: z.string().optional() });
export type StepFailure = z.infer<typeof StepFailure>;

/**
 * The execution state the Record step sees (`$`): the input plus whatever the steps added.
 * `gate` is absent when the gate itself failed; `failure` is present when a Catch fired.
 */
export const PipelineState = PipelineInput.extend({
  gate: GateResult.optional(),
  work: WorkerResult.optional(),
  plan: PlanResult.optional(),
  items: z.array(ItemOutcome).optional(),
  failure: StepFailure.optional(),
});
export type PipelineState = z.infer<typeof PipelineState>;

export const RecordResult = z.object({
  status: z.enum(['SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED', 'SKIPPED']),
  overallScore: z.number().nullable(),
  reportKey: z.string(),
  lockReleased: z.boolean(),
});
export type RecordResult = z.infer<typeof RecordResult>;

/** An on-demand job on a worker's SQS queue (the design's RQ job). */
export const OnDemandJob = z.object({
  /** The caller's idempotency key; also the pack execution's name. */
  requestId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"'),
  job: z.string().min(1),
  request: z.record(z.string(), z.unknown()).default({}),
  enqueuedAt: IsoTime,
});
export type OnDemandJob = z.infer<typeof OnDemandJob>;

/** The `freshness` action's answer: per data dependency, whether it is stale and how old it is. */
export const FreshnessResult = z.object({
  stale: z.record(z.string(), z.boolean()),
  ageSeconds: z.record(z.string(), z.number().nullable()),
});
export type FreshnessResult = z.infer<typeof FreshnessResult>;
