/** Lambda entry point of creator_intel_worker; the logic lives in ./logic/creator-intel.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { creatorIntelWorker } from './logic/creator-intel.js';

export const handler = defineWorker(creatorIntelWorker);
