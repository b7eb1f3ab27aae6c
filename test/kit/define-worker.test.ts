import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ConfigurationError, InvalidPayloadError, TransientUpstreamError } from '../../lib/domain/errors.js';
import { InMemoryDataStore } from '../../lambdas/kit/data-store.js';
import { makeWorkerHandler, SHOULD_STOP_SAMPLE_MS, type WorkerDefinition, type WorkerDeps } from '../../lambdas/kit/define-worker.js';
import { InMemorySecretSource } from '../../lambdas/kit/secrets.js';
import { PlanResult, WorkerResult } from '../../lambdas/shared/contracts.js';
import { invocation, RecordingLogger } from '../workers/harness.js';

const NOW = Date.parse('2026-01-05T12:00:00Z');
const Rec = z.object({ n: z.number().int().nonnegative() });

function deps(overrides: Partial<WorkerDeps> = {}): WorkerDeps & { logger: RecordingLogger } {
  const logger = new RecordingLogger();
  return { store: new InMemoryDataStore(() => NOW), secrets: new InMemorySecretSource({}), env: {}, clock: () => NOW, logger, memorySampleMs: 0, ...overrides } as WorkerDeps & { logger: RecordingLogger };
}

const event = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ...invocation('coach_cleanup_worker', 'cleanup', { scheduledTime: new Date(NOW).toISOString() }), ...extra });

function worker(run: WorkerDefinition<z.infer<typeof Rec>, { i: number }>['run'], extra: Partial<WorkerDefinition<z.infer<typeof Rec>, { i: number }>> = {}): WorkerDefinition<z.infer<typeof Rec>, { i: number }> {
  return { id: 'coach_cleanup_worker', output: Rec, run, ...extra };
}

describe('defineWorker: input', () => {
  it.each([
    ['not an object', 'nope'],
    ['missing executionId', { ...event(), executionId: undefined }],
    ['bad scheduledTime', event({ scheduledTime: 'yesterday' })],
    ['another worker', event({ worker: 'youtube_worker' })],
    ['unknown job', event({ job: 'nope' })],
    ['wrong mode', event({ mode: 'poll' })],
    ['phase item on a job without fan-out', event({ phase: 'item' })],
  ])('rejects %s with InvalidPayloadError', async (_name, input) => {
    const handler = makeWorkerHandler(worker(() => Promise.resolve({ metrics: {} })), deps());
    await expect(handler(input)).rejects.toBeInstanceOf(InvalidPayloadError);
  });

  it('fails every invocation with ConfigurationError when a declared endpoint is missing', async () => {
    const handler = makeWorkerHandler(worker(() => Promise.resolve({ metrics: {} }), { endpoints: ['youtube'] }), deps());
    await expect(handler(event())).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('defineWorker: measured facts', () => {
  it('reports attempts, duration, memory, records and checks metric names against the registry', async () => {
    let now = NOW;
    let rss = 100 * 1024 * 1024;
    const d = deps({ clock: () => now, memoryRss: () => rss, env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256' } });
    const handler = makeWorkerHandler(
      worker((ctx) => {
        ctx.validate({ n: 1 });
        ctx.validate({ n: -1 }, 'r2');
        ctx.invalid('r3', 'broken');
        ctx.validate({ n: 3 });
        rss = 180 * 1024 * 1024;
        ctx.sampleMemory();
        rss = 120 * 1024 * 1024;
        now += 1234;
        return Promise.resolve({ metrics: { sessions_cleaned: 2, bogus: 1 } });
      }),
      d,
    );
    const result = WorkerResult.parse(await handler(event({ retryCount: 2 })));
    expect(result).toMatchObject({ status: 'SUCCEEDED', attempts: 3, durationMs: 1234, peakMemoryMb: 180, memoryLimitMb: 256, recordsValid: 2, recordsInvalid: 2, outputValid: true, itemsOk: 1, itemsFailed: 0, stoppedEarly: false });
    expect(result.metrics).toEqual({ sessions_cleaned: 2, duration_ms: 1234 });
    expect(result.validationWarnings).toEqual(expect.arrayContaining([expect.stringContaining('r2'), expect.stringContaining('r3: broken'), 'unexpected metric "bogus" (not a score metric of coach_cleanup_worker)', 'missing metric "sessions_skipped"']));
  });

  it('reads the memory at most every SHOULD_STOP_SAMPLE_MS from shouldStop, and at once on sampleMemory()', async () => {
    let reads = 0;
    let rss = 100 * 1024 * 1024;
    const d = deps({ memoryRss: () => (reads++, rss), env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256' } });
    let readsInLoop = 0;
    const handler = makeWorkerHandler(
      worker((ctx) => {
        const before = reads;
        const startedAt = performance.now();
        let calls = 0;
        while (calls < 5_000) {
          ctx.shouldStop();
          calls++;
        }
        const elapsed = performance.now() - startedAt;
        readsInLoop = reads - before;
        // One read at the first call, then one per elapsed window at most.
        expect(readsInLoop).toBeGreaterThanOrEqual(1);
        expect(readsInLoop).toBeLessThanOrEqual(Math.floor(elapsed / SHOULD_STOP_SAMPLE_MS) + 1);
        rss = 200 * 1024 * 1024;
        ctx.sampleMemory();
        rss = 110 * 1024 * 1024;
        return Promise.resolve({ metrics: { sessions_cleaned: 0, sessions_skipped: 0 } });
      }),
      d,
    );
    const result = WorkerResult.parse(await handler(event()));
    expect(readsInLoop).toBeLessThan(5_000);
    expect(result.peakMemoryMb).toBe(200);
  });

  it('marks the output invalid when more than half of the records are', async () => {
    const handler = makeWorkerHandler(worker((ctx) => {
      ctx.validate({ n: 1 });
      ctx.validate({ n: 'x' });
      ctx.validate({});
      return Promise.resolve({ metrics: { sessions_cleaned: 0, sessions_skipped: 0 } });
    }), deps());
    const result = WorkerResult.parse(await handler(event()));
    expect(result.outputValid).toBe(false);
    expect(result.recordsInvalid).toBe(2);
  });

  it('uses the registry memory when Lambda does not say', async () => {
    const result = WorkerResult.parse(await makeWorkerHandler(worker(() => Promise.resolve({ metrics: { sessions_cleaned: 0, sessions_skipped: 0 } })), deps())(event()));
    expect(result.memoryLimitMb).toBe(256);
    expect(result.validationWarnings).toEqual([]);
  });
});

describe('defineWorker: deadline and items', () => {
  it('stops taking items near the deadline and reports partial results', async () => {
    let now = NOW;
    const d = deps({ clock: () => now });
    // 60 s left at the start; each item takes 10 s; margin = max(15 s, 6 s) = 15 s.
    const context = { getRemainingTimeInMillis: () => 60_000 - (now - NOW) };
    const handler = makeWorkerHandler(
      worker(async (ctx) => {
        const loop = await ctx.forEachItem([1, 2, 3, 4, 5, 6, 7, 8], (i) => {
          now += 10_000;
          ctx.validate({ n: i });
          return Promise.resolve(i);
        });
        return { metrics: { sessions_cleaned: loop.ok, sessions_skipped: loop.skipped } };
      }),
      d,
    );
    const result = WorkerResult.parse(await handler(event(), context));
    expect(result).toMatchObject({ status: 'PARTIAL', stoppedEarly: true, itemsOk: 5, itemsFailed: 0, metrics: { sessions_cleaned: 5, sessions_skipped: 3 } });
  });

  it('counts failed items and goes on; throws when every item failed', async () => {
    const failing = (fail: (i: number) => boolean) =>
      makeWorkerHandler(
        worker(async (ctx) => {
          await ctx.forEachItem([1, 2, 3], (i) => (fail(i) ? Promise.reject(new TransientUpstreamError(`item ${i}`)) : Promise.resolve(i)));
          return { metrics: { sessions_cleaned: 0, sessions_skipped: 0 } };
        }),
        deps(),
      );
    expect(WorkerResult.parse(await failing((i) => i === 2)(event()))).toMatchObject({ status: 'PARTIAL', itemsOk: 2, itemsFailed: 1 });
    await expect(failing(() => true)(event())).rejects.toBeInstanceOf(TransientUpstreamError);
  });

  it('answers phase plan with the items and phase item with one item', async () => {
    const d = deps();
    const fanOut = { ...event(), worker: 'creator_intel_worker', job: 'analyze', mode: 'analyze' };
    const handler = makeWorkerHandler(
      {
        id: 'creator_intel_worker',
        output: Rec,
        item: z.object({ game: z.string() }),
        plan: () => Promise.resolve([{ game: 'a' }, { game: 'b' }]),
        run: (ctx) => Promise.resolve({ metrics: { games_processed: ctx.item === undefined ? 0 : 1, analyzers_succeeded: 3 } }),
      },
      d,
    );
    expect(PlanResult.parse(await handler({ ...fanOut, phase: 'plan' }))).toEqual({ items: [{ game: 'a' }, { game: 'b' }] });
    expect(WorkerResult.parse(await handler({ ...fanOut, phase: 'item', item: { game: 'a' } })).metrics['games_processed']).toBe(1);
    await expect(handler({ ...fanOut, phase: 'item', item: { nope: 1 } })).rejects.toBeInstanceOf(InvalidPayloadError);
  });
});

describe('defineWorker: logs', () => {
  it('puts worker, executionId and scheduledTime on every line, and clears them after', async () => {
    const d = deps();
    const handler = makeWorkerHandler(worker((ctx) => {
      ctx.logger.info('doing work');
      return Promise.resolve({ metrics: { sessions_cleaned: 0, sessions_skipped: 0 } });
    }), d);
    await handler(event());
    expect(d.logger.lines.length).toBeGreaterThanOrEqual(3);
    for (const line of d.logger.lines) expect(line.keys).toMatchObject({ worker: 'coach_cleanup_worker', executionId: 'exec-coach_cleanup_worker-cleanup', scheduledTime: '2026-01-05T12:00:00.000Z' });
    d.logger.info('after');
    expect(d.logger.lines.at(-1)?.keys).toEqual({});
  });

  it('logs the error name of a failure and rethrows it', async () => {
    const d = deps();
    const handler = makeWorkerHandler(worker(() => Promise.reject(new TransientUpstreamError('down'))), d);
    await expect(handler(event())).rejects.toBeInstanceOf(TransientUpstreamError);
    expect(d.logger.lines.find((l) => l.level === 'ERROR')?.keys).toMatchObject({ errorName: 'TransientUpstreamError', retryable: true, worker: 'coach_cleanup_worker' });
  });
});
