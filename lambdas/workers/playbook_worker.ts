/** Lambda entry point of playbook_worker; the logic lives in ./logic/playbook.ts. */
import { defineWorker } from '../kit/define-worker.js';
import { playbookWorker } from './logic/playbook.js';

export const handler = defineWorker(playbookWorker);
