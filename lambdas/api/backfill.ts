/**
 * The backfill route's pieces that are not the domain's (lib/domain/backfill.ts): its body, the
 * batch execution's deterministic name, and each slot's pipeline input. Pure.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { BACKFILL_RUN_ID, backfillExecutionName } from '../../lib/domain/backfill.js';
import type { BackfillRun } from './ports.js';
import { EXECUTION_NAME_MAX_CHARS, pipelineKeyOf } from './trigger.js';

export const BackfillBody = z.strictObject({
  from: z.string().min(1).max(64),
  to: z.string().min(1).max(64),
});

/** How long a backfill claim lives (TTL): as long as reports do by default, 30 days. */
export const BACKFILL_CLAIM_TTL_SECONDS = 30 * 24 * 3600;

/** `backfill-<jobId>-<hash of worker, job and slots>`: the same slots of one job name the same execution. */
export function backfillBatchName(workerId: string, jobId: string, slots: readonly string[]): string {
  const hash = createHash('sha256').update(JSON.stringify([workerId, jobId, slots])).digest('hex').slice(0, 20);
  const room = EXECUTION_NAME_MAX_CHARS - 'backfill-'.length - 1 - 20;
  return `backfill-${jobId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, room)}-${hash}`;
}

/** The pipeline run of one missed slot: trigger `backfill`, its report under `#backfill`. */
export function backfillRun(workerId: string, jobId: string, slot: string, seenSlotClaim: string | null): BackfillRun {
  return {
    pipelineKey: pipelineKeyOf(workerId, jobId),
    name: backfillExecutionName(slot),
    input: { worker: workerId, job: jobId, scheduledTime: slot, trigger: 'backfill', runId: BACKFILL_RUN_ID, seenSlotClaim },
  };
}
