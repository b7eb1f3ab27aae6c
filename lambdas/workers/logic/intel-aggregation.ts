/**
 * intel_aggregation_worker: rolls intel records up.
 * - mode `hourly`: intel updated in the last full hour before the scheduled time -> `aggregate` / `intel:hourly:<hour>`.
 * - mode `daily`: the previous day's hourly rollups -> `aggregate` / `intel:daily:<day>`.
 */
import * as z from 'zod';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';
import { DAY_MS, dayKey, hourKey, HOUR_MS } from './common.js';

export const CategoryRollup = z.object({
  category: z.string().min(1),
  records: z.number().int().nonnegative(),
  source: z.enum(['creator', 'thumbnail', 'other']),
});
export type CategoryRollup = z.infer<typeof CategoryRollup>;

export const IntelRollup = z.object({
  period: z.enum(['hourly', 'daily']),
  key: z.string(),
  generatedAt: z.iso.datetime(),
  categories: z.array(CategoryRollup),
});

export const AGGREGATE_TTL_SECONDS = 35 * 86_400;

type Ctx = WorkerContext<CategoryRollup, never>;

function sourceOf(id: string): CategoryRollup['source'] {
  return id.startsWith('creator:') ? 'creator' : id.startsWith('thumbnail:') ? 'thumbnail' : 'other';
}

export async function runIntelAggregation(ctx: Ctx): Promise<RunOutcome> {
  const at = ctx.scheduledAtMs;
  const categories = new Map<string, CategoryRollup>();
  let key: string;
  if (ctx.mode === 'daily') {
    const day = dayKey(at - DAY_MS);
    key = `intel:daily:${day}`;
    const hourly = await ctx.store.list('aggregate', { prefix: `intel:hourly:${day}` });
    if (hourly.length === 0) ctx.warn(`no hourly rollups for ${day}`);
    for (const h of hourly) {
      const parsed = IntelRollup.safeParse(h.data);
      if (!parsed.success) {
        ctx.invalid(h.id, 'unreadable hourly rollup');
        continue;
      }
      for (const c of parsed.data.categories) {
        const prev = categories.get(c.category);
        categories.set(c.category, { category: c.category, source: c.source, records: (prev?.records ?? 0) + c.records });
      }
    }
  } else {
    const hourStartMs = Math.floor(at / HOUR_MS) * HOUR_MS - HOUR_MS;
    key = `intel:hourly:${hourKey(hourStartMs)}`;
    for (const item of await ctx.store.list('intel')) {
      if (item.updatedAtMs < hourStartMs || item.updatedAtMs >= hourStartMs + HOUR_MS) continue;
      const category = item.id.split(':').slice(1).join(':') || item.id;
      const prev = categories.get(category);
      categories.set(category, { category, source: sourceOf(item.id), records: (prev?.records ?? 0) + 1 });
    }
  }
  const valid = [...categories.values()].flatMap((c) => {
    const v = ctx.validate(c, c.category);
    return v === undefined ? [] : [v];
  });
  await ctx.store.put('aggregate', key, { period: ctx.mode === 'daily' ? 'daily' : 'hourly', key, generatedAt: new Date(ctx.now()).toISOString(), categories: valid }, { ttlSeconds: AGGREGATE_TTL_SECONDS });
  return { metrics: { categories_aggregated: valid.length } };
}

export const intelAggregationWorker: WorkerDefinition<CategoryRollup, never> = {
  id: 'intel_aggregation_worker',
  output: CategoryRollup,
  run: runIntelAggregation,
};
