/** Lambda entry point of coach_cleanup_worker; the logic lives in ./logic/coach-cleanup.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { coachCleanupWorker } from './logic/coach-cleanup.js';

export const handler = defineWorker(coachCleanupWorker);
