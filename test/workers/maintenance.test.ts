import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AssetTypeAggregate } from '../../lambdas/workers/logic/analytics-flush.js';
import { setup, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await setup();
});
afterEach(() => h.close());

const iso = (ms: number): string => new Date(ms).toISOString();

describe('analytics_flush_worker', () => {
  it('flushes buffered events into per-asset-type aggregates', async () => {
    const at = iso(h.clock.now - 60_000);
    for (let i = 0; i < 7; i++) await h.store.put('event', `e${i}`, { assetType: i < 4 ? 'emote' : 'banner', action: i % 2 === 0 ? 'view' : 'download', at });
    await h.store.put('event', 'bad', { nope: true });
    const getMany = vi.spyOn(h.store, 'getMany');
    const deleteMany = vi.spyOn(h.store, 'deleteMany');
    const result = await h.run('analytics_flush_worker', 'flush');
    expect(result.metrics).toMatchObject({ events_flushed: 7, asset_types_updated: 2 });
    expect(getMany.mock.calls).toEqual([['aggregate', ['asset_type:emote', 'asset_type:banner']]]);
    expect(deleteMany.mock.calls).toEqual([['event', ['e0', 'e1', 'e2', 'e3']], ['event', ['e4', 'e5', 'e6']]]);
    expect(AssetTypeAggregate.parse((await h.store.get('aggregate', 'asset_type:emote'))?.data)).toMatchObject({ total: 4, byAction: { view: 2, download: 2 } });
    expect(h.store.size('event')).toBe(1);
    expect(result.validationWarnings.some((w) => w.includes('unreadable event bad'))).toBe(true);
    await h.store.put('event', 'e9', { assetType: 'emote', action: 'view', at });
    await h.run('analytics_flush_worker', 'flush');
    expect(AssetTypeAggregate.parse((await h.store.get('aggregate', 'asset_type:emote'))?.data).total).toBe(5);
  });
});

describe('coach_cleanup_worker', () => {
  it('deletes expired sessions and skips expired ones still active', async () => {
    const now = h.clock.now;
    await h.store.put('session', 's-expired', { sessionId: 's-expired', status: 'ended', lastActivityAt: iso(now - 7_200_000), expiresAt: iso(now - 60_000) });
    await h.store.put('session', 's-idle', { sessionId: 's-idle', status: 'active', lastActivityAt: iso(now - 3_600_000), expiresAt: iso(now - 60_000) });
    await h.store.put('session', 's-busy', { sessionId: 's-busy', status: 'active', lastActivityAt: iso(now - 60_000), expiresAt: iso(now - 60_000) });
    await h.store.put('session', 's-live', { sessionId: 's-live', status: 'active', lastActivityAt: iso(now), expiresAt: iso(now + 3_600_000) });
    const result = await h.run('coach_cleanup_worker', 'cleanup');
    expect(result.metrics).toMatchObject({ sessions_cleaned: 2, sessions_skipped: 1 });
    expect((await h.store.list('session')).map((i) => i.id)).toEqual(['s-busy', 's-live']);
    expect(result).toMatchObject({ recordsValid: 4, outputValid: true, validationWarnings: [] });
  });

  it('deletes in batches of at most 25', async () => {
    const now = h.clock.now;
    for (let i = 0; i < 60; i++) await h.store.put('session', `s${String(i).padStart(2, '0')}`, { sessionId: `s${i}`, status: i % 3 === 0 ? 'active' : 'ended', lastActivityAt: iso(now - 60_000), expiresAt: iso(now - 1) });
    const deleteMany = vi.spyOn(h.store, 'deleteMany');
    const result = await h.run('coach_cleanup_worker', 'cleanup');
    expect(result.metrics).toMatchObject({ sessions_cleaned: 40, sessions_skipped: 20 });
    expect(deleteMany.mock.calls.map(([, ids]) => ids.length).filter((n) => n > 0)).toEqual([25, 15]);
    expect(h.store.size('session')).toBe(20);
  });
});
