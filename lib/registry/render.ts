/**
 * Human-readable rendering of the registry: the symphony schedule `npm start -- --schedule` prints.
 */
import { scheduledTriggers, type ScheduledTrigger } from './index.js';
import type { WorkerSpec } from './types.js';

const pad = (s: string, n: number): string => s.padEnd(n);

export function renderSchedule(workers: readonly WorkerSpec[]): string {
  const triggers: ScheduledTrigger[] = scheduledTriggers(workers);
  const lines = [
    `${pad('worker.job', 36)}${pad('schedule', 24)}${pad('tz', 6)}timeout`,
    ...triggers.map((t) => `${pad(t.key, 36)}${pad(t.schedule.expression, 24)}${pad(t.schedule.timezone, 6)}${t.job.timeoutSeconds}s${t.job.fanOut ? ` (fan-out by ${t.job.fanOut.itemKind})` : ''}`),
  ];
  for (const w of workers) {
    if (w.stages) lines.push('', `${w.id}: ${w.stages.map((s) => `${s.worker}:${s.job}`).join(' -> ')}`);
    if (w.executionModel === 'on-demand') lines.push(`${w.id}: on demand (${w.jobs.map((j) => `${j.id} ${j.timeoutSeconds}s`).join(', ')})`);
  }
  return lines.join('\n');
}
