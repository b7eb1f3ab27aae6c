/** Lambda entry point of youtube_worker; the logic lives in ./logic/youtube.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { youtubeWorker } from './logic/youtube.js';

export const handler = defineWorker(youtubeWorker);
