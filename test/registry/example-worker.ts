/**
 * The example of docs/adding-a-worker.md, as code: the guide shows the entry between the markers
 * verbatim, and test/registry/adding-a-worker.test.ts holds the guide to it.
 */
import type { WorkerSpec } from '../../lib/registry/index.js';

// guide:entry:start
export const assetExpiryWorker = {
  id: 'asset_expiry_worker',
  category: 'maintenance',
  executionModel: 'scheduled',
  priority: 'LOW',
  description: 'Deletes generated assets past their retention daily at 03:30 UTC.',
  designSource: 'asset_expiry_worker.py',
  jobs: [{ id: 'expire', mode: 'expire', timeoutSeconds: 300, expectedDurationSeconds: 60, schedules: [{ expression: 'cron(30 3 * * ? *)', timezone: 'UTC' }] }],
  dependencies: [],
  blocks: [],
  scoreMetrics: ['assets_expired', 'duration_ms'],
  memoryMb: 256,
  lockLeaseSeconds: 360,
} as const satisfies WorkerSpec;
// guide:entry:end
