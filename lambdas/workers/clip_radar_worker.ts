/** Lambda entry point of clip_radar_worker; the logic lives in ./logic/clip-radar.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { clipRadarWorker } from './logic/clip-radar.js';

export const handler = defineWorker(clipRadarWorker);
