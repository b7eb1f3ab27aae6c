/**
 * Worker id -> definition and handler factory, for in-process use by the local runtime.
 * (The Lambda entry points are the `<worker_id>.ts` files next to this one.)
 */
import type { LambdaWorkerId } from '../../lib/registry/index.js';
import { makeWorkerHandler, type WorkerDeps, type WorkerHandler } from '../kit/define-worker.js';
import { generationWorker } from './logic/generation.js';
import { twitchAssetsWorker } from './logic/twitch-assets.js';
import { youtubeWorker } from './logic/youtube.js';
import { twitchStreamsWorker } from './logic/twitch-streams.js';
import { clipRadarWorker } from './logic/clip-radar.js';
import { creatorIntelWorker } from './logic/creator-intel.js';
import { thumbnailIntelWorker } from './logic/thumbnail-intel.js';
import { intelAggregationWorker } from './logic/intel-aggregation.js';
import { playbookWorker } from './logic/playbook.js';
import { analyticsFlushWorker } from './logic/analytics-flush.js';
import { coachCleanupWorker } from './logic/coach-cleanup.js';
import { clipRadarRecapWorker } from './logic/clip-radar-recap.js';

export type WorkerHandlerFactory = (deps: WorkerDeps) => WorkerHandler;

/** Handler factories by worker id: `WORKER_HANDLERS.youtube_worker(deps)(event, context)`. */
export const WORKER_HANDLERS: Readonly<Record<LambdaWorkerId, WorkerHandlerFactory>> = {
  generation_worker: (deps) => makeWorkerHandler(generationWorker, deps),
  twitch_worker: (deps) => makeWorkerHandler(twitchAssetsWorker, deps),
  youtube_worker: (deps) => makeWorkerHandler(youtubeWorker, deps),
  twitch_streams_worker: (deps) => makeWorkerHandler(twitchStreamsWorker, deps),
  clip_radar_worker: (deps) => makeWorkerHandler(clipRadarWorker, deps),
  creator_intel_worker: (deps) => makeWorkerHandler(creatorIntelWorker, deps),
  thumbnail_intel_worker: (deps) => makeWorkerHandler(thumbnailIntelWorker, deps),
  intel_aggregation_worker: (deps) => makeWorkerHandler(intelAggregationWorker, deps),
  playbook_worker: (deps) => makeWorkerHandler(playbookWorker, deps),
  analytics_flush_worker: (deps) => makeWorkerHandler(analyticsFlushWorker, deps),
  coach_cleanup_worker: (deps) => makeWorkerHandler(coachCleanupWorker, deps),
  clip_radar_recap_worker: (deps) => makeWorkerHandler(clipRadarRecapWorker, deps),
};
