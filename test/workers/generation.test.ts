import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPayloadError, TransientUpstreamError, UpstreamRejectedError } from '../../lib/domain/errors.js';
import { PlanResult } from '../../lambdas/shared/contracts.js';
import { AssetRecord } from '../../lambdas/workers/logic/generation.js';
import { setup, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await setup();
});
afterEach(() => h.close());

describe('generation_worker', () => {
  it('generates one asset through the provider and stores it', async () => {
    const request = { jobId: 'job-1', prompt: 'neon fox logo', width: 256, height: 256, enqueuedAt: new Date(h.clock.now - 4_000).toISOString() };
    const result = await h.run('generation_worker', 'generate', { request });
    expect(result).toMatchObject({ status: 'SUCCEEDED', recordsValid: 1, metrics: { jobs_completed: 1, failure_rate: 0, queue_wait_ms: 4_000 } });
    expect(AssetRecord.parse((await h.store.get('asset', 'job-1'))?.data)).toMatchObject({ width: 256, height: 256, mimeType: 'image/png' });
  });

  it('maps provider answers to the named errors', async () => {
    await expect(h.run('generation_worker', 'generate', { request: { jobId: 'j', prompt: 'forbidden thing' } })).rejects.toBeInstanceOf(UpstreamRejectedError);
    await expect(h.run('generation_worker', 'generate', { request: { prompt: 'x' } })).rejects.toBeInstanceOf(InvalidPayloadError);
    h.sandbox.faults.outage('generation');
    await expect(h.run('generation_worker', 'generate', { request: { jobId: 'j', prompt: 'ok' } })).rejects.toBeInstanceOf(TransientUpstreamError);
  });
});

describe('twitch_worker', () => {
  const pack = { packId: 'p1', theme: 'cozy cats', assets: ['emote', 'badge', 'panel'] };

  it('asset mode makes one asset', async () => {
    const result = await h.run('twitch_worker', 'asset', { request: { jobId: 'a1', assetType: 'emote', prompt: 'cat emote' } });
    expect(result.metrics).toMatchObject({ jobs_completed: 1, failure_rate: 0 });
    expect(AssetRecord.parse((await h.store.get('asset', 'a1'))?.data)).toMatchObject({ width: 112, height: 112, assetType: 'twitch_emote' });
  });

  it('pack mode plans one item per asset, makes an item, or the whole pack', async () => {
    const plan = PlanResult.parse(await h.invoke('twitch_worker', 'pack', { phase: 'plan', request: pack }));
    expect(plan.items).toEqual([
      { jobId: 'p1:1:emote', assetType: 'emote', prompt: 'cozy cats Twitch emote' },
      { jobId: 'p1:2:badge', assetType: 'badge', prompt: 'cozy cats Twitch badge' },
      { jobId: 'p1:3:panel', assetType: 'panel', prompt: 'cozy cats Twitch panel' },
    ]);
    const item = await h.run('twitch_worker', 'pack', { phase: 'item', item: plan.items[1], request: pack });
    expect(item.metrics).toMatchObject({ jobs_completed: 1 });
    const whole = await h.run('twitch_worker', 'pack', { request: pack });
    expect(whole).toMatchObject({ itemsOk: 3, metrics: { jobs_completed: 3, failure_rate: 0 } });
    expect(h.store.size('asset')).toBe(3);
  });
});
