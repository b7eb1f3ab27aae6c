/** Lambda entry point of twitch_streams_worker; the logic lives in ./logic/twitch-streams.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { twitchStreamsWorker } from './logic/twitch-streams.js';

export const handler = defineWorker(twitchStreamsWorker);
