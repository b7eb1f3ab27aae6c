/**
 * Manual triggers: the Idempotency-Key, the deterministic execution name and the TRIGGER record.
 * The name is `manual-<jobId>-<hash>`: 20 hex chars (80 bits) of SHA-256 over (worker, job,
 * request key), so one key of one worker always names the same execution. Step Functions allows 80
 * characters of [A-Za-z0-9-_]; the job id is cut to fit.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { TriggerRecord } from './ports.js';

/** The Idempotency-Key header: 1..128 of letters, digits and `._:-` (a UUID fits). */
export const IdempotencyKey = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1 to 128 characters of A-Z a-z 0-9 . _ : -' });

export const TriggerBody = z.strictObject({ job: z.string().min(1).max(64).optional() });

/** How long a TRIGGER item lives (TTL): 24 h. */
export const TRIGGER_TTL_SECONDS = 24 * 3600;
/**
 * A claim not marked started after this long was left by a request that failed between the claim
 * and StartExecution: a retry with the same key starts it (under the same name, so never twice).
 */
export const TRIGGER_STALE_MS = 30_000;

export const EXECUTION_NAME_MAX_CHARS = 80;
const HASH_CHARS = 20;

export function executionName(workerId: string, jobId: string, requestKey: string): string {
  const hash = createHash('sha256').update(JSON.stringify([workerId, jobId, requestKey])).digest('hex').slice(0, HASH_CHARS);
  const room = EXECUTION_NAME_MAX_CHARS - 'manual-'.length - 1 - HASH_CHARS;
  const job = jobId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, room);
  return `manual-${job}-${hash}`;
}

export const pipelineKeyOf = (workerId: string, jobId: string): string => `${workerId}.${jobId}`;

/** The TRIGGER record of a new manual run at `nowMs`. */
export function newTriggerRecord(workerId: string, jobId: string, requestKey: string, nowMs: number): TriggerRecord {
  const scheduledTime = new Date(nowMs).toISOString();
  return {
    workerId,
    jobId,
    requestKey,
    executionName: executionName(workerId, jobId, requestKey),
    pipelineKey: pipelineKeyOf(workerId, jobId),
    input: { worker: workerId, job: jobId, scheduledTime, trigger: 'manual', requestKey },
    createdAt: scheduledTime,
    startedAt: null,
    executionArn: null,
    expiresAt: Math.floor(nowMs / 1000) + TRIGGER_TTL_SECONDS,
  };
}
