/**
 * When a job's schedules fire next, from the registry schedules and lib/domain/schedule-math.ts.
 * The search widens an hour, a day, 8 days, 32 days, then 366 days, so an every-minute cron never
 * enumerates more than MAX_OCCURRENCES and a monthly one is still found. Pure.
 */
import { occurrences } from '../../lib/domain/schedule-math.js';
import type { ScheduleSpec } from '../../lib/registry/types.js';

const HOUR_MS = 3_600_000;
const HORIZONS_MS = [HOUR_MS, 24 * HOUR_MS, 8 * 24 * HOUR_MS, 32 * 24 * HOUR_MS, 366 * 24 * HOUR_MS] as const;

/** The next time (epoch ms) one schedule fires strictly after `nowMs`, or null (none within a year, or unreadable). */
export function nextFiring(schedule: ScheduleSpec, nowMs: number): number | null {
  for (const horizon of HORIZONS_MS) {
    try {
      const times = occurrences(schedule.expression, schedule.timezone, nowMs + 1, nowMs + 1 + horizon);
      if (times.length > 0) return times[0] ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The earliest next firing of any of the schedules, or null. */
export function nextRun(schedules: readonly ScheduleSpec[], nowMs: number): number | null {
  let best: number | null = null;
  for (const s of schedules) {
    const t = nextFiring(s, nowMs);
    if (t !== null && (best === null || t < best)) best = t;
  }
  return best;
}
