import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../lambdas/adapters/dynamo-state-store.js';
import { lockAttrsFor } from '../lib/domain/lock.js';
import { workerPk, STATE_SK } from '../lib/domain/worker-state.js';
import { HOUR_MS, type Scenario } from './types.js';

/**
 * A stuck run of clip radar holds its lock with a lease that ends 30 s before the 02:00 poll (a
 * lease ending exactly on a slot would make that poll's outcome depend on a millisecond of real
 * time: the lock is free only once its expiry is past). Every poll before then is skipped
 * with SKIP_DUE_TO_LOCK (logged), and more than 3 failed acquisitions in an hour raise
 * LOCK_CONTENTION (high), whose recovery lengthens the lease within its bound.
 */
export const stuckLock: Scenario = {
  name: 'stuck-lock',
  description: 'clip_radar_worker.poll is locked by a stuck run for 2 hours: SKIP_DUE_TO_LOCK, LOCK_CONTENTION, lease recovery.',
  hours: 3,
  prepare: async ({ runtime, startMs }) => {
    const a = lockAttrsFor('poll');
    await documentClient(runtime.dynamo.client).send(
      new PutCommand({ TableName: runtime.tableName, Item: { pk: workerPk('clip_radar_worker'), sk: STATE_SK, [a.holder]: 'stuck-execution', [a.fence]: 1, [a.expiresAt]: startMs + 2 * HOUR_MS - 30_000 } }),
    );
  },
};
