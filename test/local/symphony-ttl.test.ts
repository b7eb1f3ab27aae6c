/**
 * The symphony's TTL emulation: every `ttlSweepEveryHours` of simulated time, items whose TTL
 * attribute has passed are deleted, as DynamoDB's TTL would; items not yet expired stay.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { runSymphony, type SymphonyContext } from '../../local/symphony.js';

const START_MS = Date.parse('2026-03-02T00:00:00Z');
const MINUTE_MS = 60_000;
const seconds = (ms: number): string => String(Math.floor(ms / 1000));

describe('symphony TTL sweep', () => {
  it('deletes expired items every ttlSweepEveryHours and keeps the rest', async () => {
    const seen: string[] = [];
    const present = async (ctx: SymphonyContext, sk: string): Promise<boolean> => {
      const out = await ctx.runtime.dynamo.rawClient.send(new GetItemCommand({ TableName: ctx.runtime.tableName, Key: { pk: { S: 'TTLTEST' }, sk: { S: sk } }, ConsistentRead: true }));
      return out.Item !== undefined;
    };
    const look = async (ctx: SymphonyContext, label: string): Promise<void> => {
      const states = await Promise.all(['past', 'at20', 'later'].map(async (sk) => `${sk}=${(await present(ctx, sk)) ? 'kept' : 'gone'}`));
      seen.push(`${label}: ${states.join(' ')}`);
    };
    const result = await runSymphony({
      startMs: START_MS,
      hours: 0.55,
      seed: 1,
      ttlSweepEveryHours: 0.25,
      prepare: async (ctx) => {
        const attr = ctx.runtime.dynamo.tableInfo(ctx.runtime.tableName)?.ttlAttributeName;
        expect(attr).toBe('expiresAt');
        const put = (sk: string, expiresMs: number) =>
          ctx.runtime.dynamo.rawClient.send(new PutItemCommand({ TableName: ctx.runtime.tableName, Item: { pk: { S: 'TTLTEST' }, sk: { S: sk }, expiresAt: { N: seconds(expiresMs) } } }));
        await put('past', START_MS - 10_000);
        await put('at20', START_MS + 20 * MINUTE_MS);
        await put('later', START_MS + 2 * 3_600_000);
        await look(ctx, 'start');
        ctx.at(START_MS + 16 * MINUTE_MS, (c) => look(c, '16 min'));
        ctx.at(START_MS + 31 * MINUTE_MS, (c) => look(c, '31 min'));
      },
    });
    expect(seen).toEqual(['start: past=kept at20=kept later=kept', '16 min: past=gone at20=kept later=kept', '31 min: past=gone at20=gone later=kept']);
    expect(result.ttlSweeps.length).toBeGreaterThanOrEqual(2);
    expect(result.ttlSweeps.every((s) => s.atMs >= START_MS + 15 * MINUTE_MS)).toBe(true);
    expect(result.ttlSweeps.reduce((n, s) => n + s.deleted, 0)).toBeGreaterThanOrEqual(2);
  });
});
