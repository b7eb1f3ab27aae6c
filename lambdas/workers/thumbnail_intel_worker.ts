/** Lambda entry point of thumbnail_intel_worker; the logic lives in ./logic/thumbnail-intel.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { thumbnailIntelWorker } from './logic/thumbnail-intel.js';

export const handler = defineWorker(thumbnailIntelWorker);
