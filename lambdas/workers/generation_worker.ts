/** Lambda entry point of generation_worker; the logic lives in ./logic/generation.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { generationWorker } from './logic/generation.js';

export const handler = defineWorker(generationWorker);
