/** Lambda entry point of clip_radar_recap_worker; the logic lives in ./logic/clip-radar-recap.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { clipRadarRecapWorker } from './logic/clip-radar-recap.js';

export const handler = defineWorker(clipRadarRecapWorker);
