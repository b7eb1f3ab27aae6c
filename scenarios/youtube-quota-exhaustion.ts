import { documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { DynamoDataStore } from '../lambdas/kit/data-store.js';
import { DEFAULT_YOUTUBE_DAILY_QUOTA_UNITS, recordYoutubeQuota } from '../lambdas/workers/logic/common.js';
import type { Scenario } from './types.js';

/** Share of today's YouTube units spent before the run: 85% spent leaves 15%, under API_QUOTA_LOW's 20%. */
export const QUOTA_SPENT_PERCENT = 85;

/**
 * Earlier in the Pacific day a backfill on the same Google project spent 85% of the YouTube Data
 * API units. The sandbox's accounting is charged that share, and the spend is in the table where
 * the workers record theirs (the worker reports what is left from those records: YouTube exposes no
 * remaining-quota header). Every youtube_worker run then reports ~15% left: API_QUOTA_LOW (high),
 * whose recovery slows the YouTube schedules 4x (cron(0/30 ...) -> cron(0 0/2 ...)) until the
 * quota resets at midnight America/Los_Angeles, then restores them.
 *
 * Run it across the reset to see the new day's quota: `--start 2026-03-02T07:00:00Z` (midnight
 * Pacific is 08:00 UTC then). Local limitation: the recovery's Wait on `TimestampPath` is a dynamic
 * wait, which the local runtime skips in 0 ms without advancing the clock, so locally the restore
 * follows the slowdown in the same slot; in AWS the schedules stay slow until the reset.
 */
export const youtubeQuotaExhaustion: Scenario = {
  name: 'youtube-quota-exhaustion',
  description:
    'YouTube quota 85% spent at the start (sandbox and the workers\' quota record): youtube_worker reports <20% left, API_QUOTA_LOW, the YouTube schedules slowed 4x until the midnight-Pacific reset, then restored. The reset (08:00 UTC) lies past the default 2 h, so the recovery is still waiting at the end; --start 2026-03-02T07:00:00Z shows the restore at 08:00.',
  hours: 2,
  prepare: async ({ runtime, sandbox, clock, startMs }) => {
    sandbox.faults.spendYoutubeQuota(QUOTA_SPENT_PERCENT);
    const store = new DynamoDataStore({ client: documentClient(runtime.dynamo.client), tableName: runtime.tableName, clock: () => clock.now() });
    await recordYoutubeQuota(store, startMs, Math.round((DEFAULT_YOUTUBE_DAILY_QUOTA_UNITS * QUOTA_SPENT_PERCENT) / 100));
  },
};
