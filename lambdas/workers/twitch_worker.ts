/** Lambda entry point of twitch_worker; the logic lives in ./logic/twitch-assets.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { twitchAssetsWorker } from './logic/twitch-assets.js';

export const handler = defineWorker(twitchAssetsWorker);
