/** Lambda entry point of intel_aggregation_worker; the logic lives in ./logic/intel-aggregation.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { intelAggregationWorker } from './logic/intel-aggregation.js';

export const handler = defineWorker(intelAggregationWorker);
