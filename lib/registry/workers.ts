/**
 * The worker registry: every entry of the design's inventory (docs/design.md, "The workers").
 *
 * This is the single source of truth. Adding a worker is one entry here plus one handler under
 * `lambdas/workers/`. Schedules are AWS EventBridge Scheduler expressions: six-field cron with the
 * `?` rule, in the stated IANA timezone.
 */
import type { WorkerSpec } from './types.js';

const UTC = 'UTC';

/** Every hour at :00 (analytics flush, coach cleanup). */
const HOURLY_AT_00 = { expression: 'cron(0 * * * ? *)', timezone: UTC } as const;

export const WORKERS = [
  {
    id: 'generation_worker',
    category: 'generation',
    executionModel: 'on-demand',
    priority: 'CRITICAL',
    description: 'Generates assets on API request (the design\'s RQ job), through an image-generation provider.',
    designSource: 'generation_worker.py',
    jobs: [{ id: 'generate', mode: 'generate', timeoutSeconds: 300, expectedDurationSeconds: 60, schedules: [] }],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['jobs_completed', 'failure_rate', 'avg_duration_ms', 'queue_wait_ms'],
    memoryMb: 1024,
    lockLeaseSeconds: 0,
  },
  {
    id: 'twitch_worker',
    category: 'generation',
    executionModel: 'on-demand',
    priority: 'CRITICAL',
    description: 'Twitch asset jobs on API request; packs fan out per asset.',
    designSource: 'twitch_worker.py',
    jobs: [
      { id: 'asset', mode: 'asset', timeoutSeconds: 600, expectedDurationSeconds: 120, schedules: [] },
      {
        id: 'pack',
        mode: 'pack',
        timeoutSeconds: 1800,
        expectedDurationSeconds: 600,
        schedules: [],
        // A pack holds at most 50 assets: 5 rounds of 10 at 300 s each fit the 1,800 s budget (1,650 s at worst).
        fanOut: { itemKind: 'asset', itemTimeoutSeconds: 300, maxConcurrency: 10, maxItems: 50 },
      },
    ],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['jobs_completed', 'failure_rate', 'avg_duration_ms'],
    memoryMb: 1024,
    lockLeaseSeconds: 0,
  },
  {
    id: 'youtube_worker',
    category: 'collection',
    executionModel: 'scheduled',
    priority: 'HIGH',
    description: 'Polls the YouTube Data API: trending every 30 minutes; the games fetch daily at 05:00 UTC and every 4 hours as the first stage of the intel cycle.',
    designSource: 'youtube_worker.py',
    jobs: [
      { id: 'trending', mode: 'trending', timeoutSeconds: 300, expectedDurationSeconds: 60, schedules: [{ expression: 'cron(0/30 * * * ? *)', timezone: UTC }] },
      // Every 4 h the games fetch runs as the intel cycle's first stage (see intel_orchestrator).
      { id: 'games', mode: 'games', timeoutSeconds: 300, expectedDurationSeconds: 120, schedules: [{ expression: 'cron(0 5 * * ? *)', timezone: UTC }] },
    ],
    dependencies: [],
    blocks: ['playbook_worker', 'creator_intel_worker'],
    scoreMetrics: ['categories_fetched', 'quota_used', 'cache_freshness_seconds'],
    memoryMb: 512,
    lockLeaseSeconds: 360,
  },
  {
    id: 'twitch_streams_worker',
    category: 'collection',
    executionModel: 'scheduled',
    priority: 'HIGH',
    description: 'Polls Twitch Helix for top games and their streams every 15 minutes.',
    designSource: 'twitch_streams_worker.py',
    jobs: [{ id: 'poll', mode: 'poll', timeoutSeconds: 300, expectedDurationSeconds: 90, schedules: [{ expression: 'cron(0/15 * * * ? *)', timezone: UTC }] }],
    dependencies: [],
    blocks: ['playbook_worker'],
    scoreMetrics: ['games_fetched', 'total_streams', 'total_viewers'],
    memoryMb: 512,
    lockLeaseSeconds: 360,
  },
  {
    id: 'clip_radar_worker',
    category: 'collection',
    executionModel: 'scheduled',
    priority: 'HIGH',
    description: 'Polls Twitch clips every 5 minutes and detects viral clips by view velocity.',
    designSource: 'clip_radar_worker.py',
    jobs: [{ id: 'poll', mode: 'poll', timeoutSeconds: 240, expectedDurationSeconds: 60, schedules: [{ expression: 'cron(0/5 * * * ? *)', timezone: UTC }] }],
    dependencies: [],
    blocks: ['clip_radar_recap_worker'],
    scoreMetrics: ['clips_scanned', 'viral_detected', 'poll_duration_ms'],
    memoryMb: 512,
    lockLeaseSeconds: 300,
  },
  {
    id: 'creator_intel_worker',
    category: 'intelligence',
    executionModel: 'scheduled',
    priority: 'HIGH',
    description: 'Analyses fresh YouTube data per game every 4 hours, as the intel cycle\'s second stage; sets the in-progress flag aggregation waits on.',
    designSource: 'creator_intel_worker.py',
    jobs: [
      {
        id: 'analyze',
        mode: 'analyze',
        timeoutSeconds: 1800,
        expectedDurationSeconds: 900,
        schedules: [],
        // At most 20 games (CREATOR_INTEL_MAX_GAMES): 2 rounds of 10 at 600 s fit the 1,800 s budget (1,350 s at worst).
        fanOut: { itemKind: 'game', itemTimeoutSeconds: 600, maxConcurrency: 10, maxItems: 20 },
      },
    ],
    // Creator intel analyses the games snapshot (the cycle's first stage), not the trending list.
    dependencies: [{ on: 'youtube_worker', job: 'games', kind: 'hard', relation: 'data', freshnessSeconds: 3600 }],
    blocks: ['intel_aggregation_worker'],
    scoreMetrics: ['games_processed', 'analyzers_succeeded', 'duration_ms'],
    memoryMb: 1024,
    lockLeaseSeconds: 1860,
  },
  {
    id: 'thumbnail_intel_worker',
    category: 'intelligence',
    executionModel: 'scheduled',
    priority: 'HIGH',
    description: 'Analyses the thumbnails of top videos per category daily at 11:00 UTC (6am EST); fetches its own data.',
    designSource: 'thumbnail_intel_worker.py',
    jobs: [
      {
        id: 'analyze',
        mode: 'analyze',
        timeoutSeconds: 1800,
        expectedDurationSeconds: 900,
        schedules: [{ expression: 'cron(0 11 * * ? *)', timezone: UTC }],
        // Six trending categories by default, at most 8: 2 rounds of 4 at 600 s (1,350 s at worst).
        fanOut: { itemKind: 'category', itemTimeoutSeconds: 600, maxConcurrency: 4, maxItems: 8 },
      },
    ],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['categories_analyzed', 'thumbnails_processed', 'duration_ms', 'peak_memory_mb'],
    memoryMb: 2048,
    lockLeaseSeconds: 1860,
  },
  {
    id: 'intel_aggregation_worker',
    category: 'aggregation',
    executionModel: 'scheduled',
    priority: 'NORMAL',
    description: 'Rolls intel up hourly at :05 and daily at 00:15 UTC; waits (bounded) while creator intel is in progress.',
    designSource: 'intel_aggregation_worker.py',
    jobs: [
      { id: 'hourly', mode: 'hourly', timeoutSeconds: 300, expectedDurationSeconds: 60, schedules: [{ expression: 'cron(5 * * * ? *)', timezone: UTC }], gatedBy: ['creator_intel_worker'] },
      // The daily rollup checks the hourly rollups' coverage of the day (its own hourly job).
      { id: 'daily', mode: 'daily', timeoutSeconds: 600, expectedDurationSeconds: 180, schedules: [{ expression: 'cron(15 0 * * ? *)', timezone: UTC }], gatedBy: ['intel_aggregation_worker'] },
    ],
    dependencies: [
      { on: 'creator_intel_worker', job: 'analyze', kind: 'optional', relation: 'not-running', maxWaitSeconds: 120 },
    ],
    blocks: [],
    scoreMetrics: ['categories_aggregated', 'duration_ms'],
    memoryMb: 512,
    lockLeaseSeconds: 660,
  },
  {
    id: 'playbook_worker',
    category: 'reporting',
    executionModel: 'scheduled',
    priority: 'NORMAL',
    description: 'Synthesises the playbook report every 4 hours as the intel cycle\'s last stage, from fresh YouTube and Twitch data.',
    designSource: 'playbook_worker.py',
    jobs: [{ id: 'synthesize', mode: 'synthesize', timeoutSeconds: 600, expectedDurationSeconds: 180, schedules: [] }],
    dependencies: [
      // The playbook synthesises the games snapshot the cycle has just fetched, and the latest streams poll.
      { on: 'youtube_worker', job: 'games', kind: 'hard', relation: 'data', freshnessSeconds: 3600 },
      { on: 'twitch_streams_worker', job: 'poll', kind: 'hard', relation: 'data', freshnessSeconds: 1800 },
    ],
    blocks: [],
    scoreMetrics: ['report_generated', 'data_freshness_seconds', 'duration_ms'],
    memoryMb: 512,
    lockLeaseSeconds: 660,
  },
  {
    id: 'analytics_flush_worker',
    category: 'maintenance',
    executionModel: 'scheduled',
    priority: 'LOW',
    description: 'Flushes buffered analytics events into per-asset-type aggregates every hour at :00.',
    designSource: 'analytics_flush_worker.py',
    jobs: [{ id: 'flush', mode: 'flush', timeoutSeconds: 600, expectedDurationSeconds: 120, schedules: [HOURLY_AT_00] }],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['events_flushed', 'asset_types_updated', 'duration_ms'],
    memoryMb: 512,
    lockLeaseSeconds: 660,
  },
  {
    id: 'coach_cleanup_worker',
    category: 'maintenance',
    executionModel: 'scheduled',
    priority: 'LOW',
    description: 'Deletes expired coach sessions every hour at :00 and skips active ones.',
    designSource: 'coach_cleanup_worker.py',
    jobs: [{ id: 'cleanup', mode: 'cleanup', timeoutSeconds: 300, expectedDurationSeconds: 60, schedules: [HOURLY_AT_00] }],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['sessions_cleaned', 'sessions_skipped', 'duration_ms'],
    memoryMb: 256,
    lockLeaseSeconds: 360,
  },
  {
    id: 'clip_radar_recap_worker',
    category: 'maintenance',
    executionModel: 'scheduled',
    priority: 'LOW',
    description: 'Compresses the previous day\'s clips into a recap daily at 06:00 UTC; fans out by hour.',
    designSource: 'clip_radar_recap_worker.py',
    jobs: [
      {
        id: 'recap',
        mode: 'recap',
        timeoutSeconds: 3600,
        expectedDurationSeconds: 1200,
        schedules: [{ expression: 'cron(0 6 * * ? *)', timezone: UTC }],
        // 24 hours of a day: 4 rounds of 6 at 600 s (2,550 s at worst).
        fanOut: { itemKind: 'hour', itemTimeoutSeconds: 600, maxConcurrency: 6, maxItems: 24 },
      },
    ],
    dependencies: [{ on: 'clip_radar_worker', job: 'poll', kind: 'hard', relation: 'coverage', minCoveragePercent: 80 }],
    blocks: [],
    scoreMetrics: ['clips_compressed', 'viral_clips', 'duration_ms'],
    memoryMb: 1024,
    lockLeaseSeconds: 3660,
  },
  {
    id: 'intel_orchestrator',
    category: 'meta',
    executionModel: 'sub-pipeline',
    priority: 'HIGH',
    description: 'Not a Lambda: the intel sub-orchestrator becomes the intel cycle, a nested state machine run every 4 hours at 00/04/08/12/16/20 UTC: YouTube games, then creator intel, then playbook. The head sees its health through its own score reports.',
    designSource: 'intel/orchestrator.py',
    jobs: [{ id: 'cycle', mode: 'cycle', timeoutSeconds: 3900, expectedDurationSeconds: 1200, schedules: [{ expression: 'cron(0 0/4 * * ? *)', timezone: UTC }] }],
    stages: [
      { worker: 'youtube_worker', job: 'games' },
      { worker: 'creator_intel_worker', job: 'analyze' },
      { worker: 'playbook_worker', job: 'synthesize' },
    ],
    dependencies: [],
    blocks: [],
    scoreMetrics: ['stages_succeeded', 'stages_skipped', 'duration_ms'],
    memoryMb: 0,
    lockLeaseSeconds: 0,
  },
  {
    id: 'graceful_shutdown',
    category: 'meta',
    executionModel: 'protocol',
    priority: 'NORMAL',
    description: 'Not a worker: the shutdown/drain protocol. An orchestrator-wide RUNNING/PAUSED/DRAINING flag honoured by every gate, and a worker kit that stops before the Lambda deadline, reports partial results and releases its lock.',
    designSource: 'graceful_shutdown.py',
    jobs: [],
    dependencies: [],
    blocks: [],
    scoreMetrics: [],
    memoryMb: 0,
    lockLeaseSeconds: 0,
  },
] as const satisfies readonly WorkerSpec[];

export type WorkerId = (typeof WORKERS)[number]['id'];
/** A Lambda-backed worker (the twelve that run code). */
export type LambdaWorkerId = Extract<(typeof WORKERS)[number], { executionModel: 'scheduled' | 'on-demand' }>['id'];
