/**
 * When a job's schedules fire next, from the registry schedules and lib/domain/schedule-math.ts.
 * The search widens an hour, a day, 8 days, 32 days, then 366 days, so an every-minute cron never
 * enumerates more than MAX_OCCURRENCES and a monthly one is still found. A schedule a recovery
 * slowed (STATE `scheduleSlowedUntilMs`) fires on its slowed expression until then
 * (lib/domain/recovery-actions.ts, the same rewrite the recovery applies). Pure.
 */
import { RECOVERY_BOUNDS } from '../../lib/domain/recovery.js';
import { slowedScheduleExpression } from '../../lib/domain/recovery-actions.js';
import { occurrences } from '../../lib/domain/schedule-math.js';
import type { ScheduleSpec } from '../../lib/registry/types.js';

const HOUR_MS = 3_600_000;
const HORIZONS_MS = [HOUR_MS, 24 * HOUR_MS, 8 * 24 * HOUR_MS, 32 * 24 * HOUR_MS, 366 * 24 * HOUR_MS] as const;

/** The first `count` times (epoch ms) one expression fires strictly after `afterMs`, before `untilMs`. */
function firings(expression: string, timezone: string, afterMs: number, count: number, untilMs = Number.POSITIVE_INFINITY): number[] {
  for (const horizon of HORIZONS_MS) {
    const end = Math.min(afterMs + 1 + horizon, untilMs);
    try {
      const times = occurrences(expression, timezone, afterMs + 1, end);
      if (times.length >= count || end >= untilMs || horizon === HORIZONS_MS[HORIZONS_MS.length - 1]) return times.slice(0, count);
    } catch {
      return [];
    }
  }
  return [];
}

/**
 * The next `count` firings of one schedule after `nowMs`; while slowed (`slowedUntilMs` in the
 * future), the slowed expression's firings until then, the registry's after.
 */
export function upcomingFirings(schedule: ScheduleSpec, nowMs: number, count: number, slowedUntilMs: number | null = null): number[] {
  if (slowedUntilMs !== null && slowedUntilMs > nowMs) {
    const slowed = slowedScheduleExpression(schedule.expression, schedule.timezone, RECOVERY_BOUNDS.scheduleSlowdownFactor, nowMs);
    if (slowed !== null) {
      const during = firings(slowed.expression, schedule.timezone, nowMs, count, slowedUntilMs);
      if (during.length >= count) return during;
      return [...during, ...firings(schedule.expression, schedule.timezone, slowedUntilMs - 1, count - during.length)];
    }
  }
  return firings(schedule.expression, schedule.timezone, nowMs, count);
}

/** The next time (epoch ms) one schedule fires strictly after `nowMs`, or null (none within a year, or unreadable). */
export function nextFiring(schedule: ScheduleSpec, nowMs: number, slowedUntilMs: number | null = null): number | null {
  return upcomingFirings(schedule, nowMs, 1, slowedUntilMs)[0] ?? null;
}

/** The next `count` firings of any of the schedules after `nowMs`, ascending, each once. */
export function upcomingRuns(schedules: readonly ScheduleSpec[], nowMs: number, count: number, slowedUntilMs: number | null = null): number[] {
  const all = new Set<number>();
  for (const s of schedules) for (const t of upcomingFirings(s, nowMs, count, slowedUntilMs)) all.add(t);
  return [...all].sort((a, b) => a - b).slice(0, count);
}

/** The earliest next firing of any of the schedules, or null. */
export function nextRun(schedules: readonly ScheduleSpec[], nowMs: number, slowedUntilMs: number | null = null): number | null {
  return upcomingRuns(schedules, nowMs, 1, slowedUntilMs)[0] ?? null;
}
