/**
 * coach_cleanup_worker: deletes expired coach sessions (`session` items) and skips expired ones
 * still in use (activity within the grace period).
 */
import * as z from 'zod';
import { numberEnv } from '../../kit/config.js';
import { BATCH_WRITE_MAX } from '../../kit/data-store.js';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { MINUTE_MS } from './common.js';

export const CoachSession = z.object({
  sessionId: z.string().min(1),
  status: z.enum(['active', 'ended']),
  lastActivityAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type CoachSession = z.infer<typeof CoachSession>;

/** An expired session with activity this recent is still in use. @default 15 minutes */
export const DEFAULT_ACTIVE_GRACE_MINUTES = 15;

type Ctx = WorkerContext<CoachSession, never>;

export async function runCoachCleanup(ctx: Ctx): Promise<RunOutcome> {
  const now = ctx.now();
  const graceMs = numberEnv(ctx.env, 'COACH_ACTIVE_GRACE_MINUTES', DEFAULT_ACTIVE_GRACE_MINUTES) * MINUTE_MS;
  let cleaned = 0;
  let skipped = 0;
  let stoppedEarly = false;
  // Deletes go out in batches of BATCH_WRITE_MAX, so the deadline check still sees their time.
  const pending: string[] = [];
  const flush = async (): Promise<void> => {
    await ctx.store.deleteMany('session', pending.splice(0));
  };
  for (const item of await ctx.store.list('session')) {
    if (ctx.shouldStop()) {
      stoppedEarly = true;
      break;
    }
    const session = ctx.validate(item.data, item.id);
    if (session === undefined || Date.parse(session.expiresAt) > now) continue;
    if (session.status === 'active' && now - Date.parse(session.lastActivityAt) < graceMs) {
      skipped++;
      continue;
    }
    pending.push(item.id);
    cleaned++;
    if (pending.length >= BATCH_WRITE_MAX) await flush();
  }
  await flush();
  return { metrics: { sessions_cleaned: cleaned, sessions_skipped: skipped }, stoppedEarly };
}

export const coachCleanupWorker: WorkerDefinition<CoachSession, never> = {
  id: 'coach_cleanup_worker',
  output: CoachSession,
  run: runCoachCleanup,
};
