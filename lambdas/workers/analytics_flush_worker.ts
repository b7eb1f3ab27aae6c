/** Lambda entry point of analytics_flush_worker; the logic lives in ./logic/analytics-flush.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { analyticsFlushWorker } from './logic/analytics-flush.js';

export const handler = defineWorker(analyticsFlushWorker);
