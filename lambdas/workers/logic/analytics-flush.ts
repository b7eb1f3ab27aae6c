/**
 * analytics_flush_worker: moves buffered analytics events (`event` items written by the app)
 * into per-asset-type aggregates (`aggregate` / `asset_type:<type>`), then deletes them.
 * Stops taking events near the deadline; the rest wait for the next hour.
 */
import * as z from 'zod';
import type { RunOutcome, WorkerContext, WorkerDefinition } from '../../kit/define-worker.js';

export const AnalyticsEvent = z.object({ assetType: z.string().min(1), action: z.string().min(1), at: z.iso.datetime() });
export type AnalyticsEvent = z.infer<typeof AnalyticsEvent>;

export const AssetTypeAggregate = z.object({
  assetType: z.string().min(1),
  total: z.number().int().nonnegative(),
  byAction: z.record(z.string(), z.number().int().nonnegative()),
  lastEventAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type AssetTypeAggregate = z.infer<typeof AssetTypeAggregate>;

export const assetTypeAggregateId = (assetType: string): string => `asset_type:${assetType}`;
/** Events are read in batches of this many. */
export const FLUSH_BATCH = 500;

type Ctx = WorkerContext<AssetTypeAggregate, never>;

export async function runAnalyticsFlush(ctx: Ctx): Promise<RunOutcome> {
  const events = await ctx.store.list('event', { limit: FLUSH_BATCH * 20 });
  const byType = new Map<string, { events: AnalyticsEvent[]; ids: string[] }>();
  let stoppedEarly = false;
  let unreadable = 0;
  for (const item of events) {
    if (ctx.shouldStop()) {
      stoppedEarly = true;
      break;
    }
    const parsed = AnalyticsEvent.safeParse(item.data);
    if (!parsed.success) {
      unreadable++;
      ctx.warn(`unreadable event ${item.id}: left in the buffer`);
      continue;
    }
    const group = byType.get(parsed.data.assetType) ?? { events: [], ids: [] };
    group.events.push(parsed.data);
    group.ids.push(item.id);
    byType.set(parsed.data.assetType, group);
  }
  let flushed = 0;
  let updated = 0;
  const prevs = await ctx.store.getMany('aggregate', [...byType.keys()].map(assetTypeAggregateId));
  for (const [assetType, group] of byType) {
    const prev = AssetTypeAggregate.safeParse(prevs.get(assetTypeAggregateId(assetType))?.data);
    const byAction: Record<string, number> = { ...(prev.success ? prev.data.byAction : {}) };
    for (const e of group.events) byAction[e.action] = (byAction[e.action] ?? 0) + 1;
    const last = group.events.reduce((m, e) => (e.at > m ? e.at : m), prev.success ? prev.data.lastEventAt : '');
    const aggregate = ctx.validate({ assetType, total: (prev.success ? prev.data.total : 0) + group.events.length, byAction, lastEventAt: last, updatedAt: new Date(ctx.now()).toISOString() }, assetType);
    if (aggregate === undefined) continue;
    // Write the aggregate first: a crash in between double-counts nothing that is not then deleted.
    // One type at a time, so a failure leaves the types before it fully flushed.
    await ctx.store.put('aggregate', assetTypeAggregateId(assetType), aggregate);
    await ctx.store.deleteMany('event', group.ids);
    flushed += group.ids.length;
    updated++;
  }
  if (unreadable > 0) ctx.warn(`${unreadable} unreadable event(s)`);
  return { metrics: { events_flushed: flushed, asset_types_updated: updated }, stoppedEarly };
}

export const analyticsFlushWorker: WorkerDefinition<AssetTypeAggregate, never> = {
  id: 'analytics_flush_worker',
  output: AssetTypeAggregate,
  run: runAnalyticsFlush,
};
