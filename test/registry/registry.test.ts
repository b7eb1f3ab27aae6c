import { describe, expect, it } from 'vitest';
import { ALL_WORKERS, CATEGORY_WEIGHTS, jobOf, lambdaWorkers, scheduledTriggers, weightsFor, workerById } from '../../lib/registry/index.js';
import { validateRegistry } from '../../lib/registry/validate.js';

describe('the worker registry encodes the design', () => {
  it('has all 14 entries of the design inventory, once each', () => {
    expect(ALL_WORKERS.map((w) => w.id).sort()).toEqual(
      [
        'analytics_flush_worker',
        'clip_radar_recap_worker',
        'clip_radar_worker',
        'coach_cleanup_worker',
        'creator_intel_worker',
        'generation_worker',
        'graceful_shutdown',
        'intel_aggregation_worker',
        'intel_orchestrator',
        'playbook_worker',
        'thumbnail_intel_worker',
        'twitch_streams_worker',
        'twitch_worker',
        'youtube_worker',
      ].sort(),
    );
    expect(lambdaWorkers()).toHaveLength(12);
  });

  it('passes its own validation', () => {
    expect(validateRegistry(ALL_WORKERS)).toEqual([]);
  });

  it.each([
    ['youtube_worker', 'collection', 'HIGH', 'scheduled'],
    ['twitch_streams_worker', 'collection', 'HIGH', 'scheduled'],
    ['clip_radar_worker', 'collection', 'HIGH', 'scheduled'],
    ['creator_intel_worker', 'intelligence', 'HIGH', 'scheduled'],
    ['thumbnail_intel_worker', 'intelligence', 'HIGH', 'scheduled'],
    ['intel_aggregation_worker', 'aggregation', 'NORMAL', 'scheduled'],
    ['generation_worker', 'generation', 'CRITICAL', 'on-demand'],
    ['twitch_worker', 'generation', 'CRITICAL', 'on-demand'],
    ['playbook_worker', 'reporting', 'NORMAL', 'scheduled'],
    ['analytics_flush_worker', 'maintenance', 'LOW', 'scheduled'],
    ['coach_cleanup_worker', 'maintenance', 'LOW', 'scheduled'],
    ['clip_radar_recap_worker', 'maintenance', 'LOW', 'scheduled'],
  ])('%s is %s, priority %s, %s', (id, category, priority, model) => {
    const w = workerById(id);
    expect([w.category, w.priority, w.executionModel]).toEqual([category, priority, model]);
  });

  // [worker, job, expressions, timezone, timeout seconds]
  it.each([
    ['youtube_worker', 'trending', ['cron(0/30 * * * ? *)'], 300],
    ['youtube_worker', 'games', ['cron(0 5 * * ? *)'], 300],
    ['twitch_streams_worker', 'poll', ['cron(0/15 * * * ? *)'], 300],
    ['clip_radar_worker', 'poll', ['cron(0/5 * * * ? *)'], 240],
    ['thumbnail_intel_worker', 'analyze', ['cron(0 11 * * ? *)'], 1800],
    ['intel_aggregation_worker', 'hourly', ['cron(5 * * * ? *)'], 300],
    ['intel_aggregation_worker', 'daily', ['cron(15 0 * * ? *)'], 600],
    ['analytics_flush_worker', 'flush', ['cron(0 * * * ? *)'], 600],
    ['coach_cleanup_worker', 'cleanup', ['cron(0 * * * ? *)'], 300],
    ['clip_radar_recap_worker', 'recap', ['cron(0 6 * * ? *)'], 3600],
    ['intel_orchestrator', 'cycle', ['cron(0 0/4 * * ? *)'], 3900],
    ['creator_intel_worker', 'analyze', [], 1800],
    ['playbook_worker', 'synthesize', [], 600],
    ['generation_worker', 'generate', [], 300],
    ['twitch_worker', 'asset', [], 600],
    ['twitch_worker', 'pack', [], 1800],
  ] as const)('%s.%s runs on %j in UTC with %i s', (worker, job, expressions, timeout) => {
    const spec = jobOf(worker, job);
    expect(spec.schedules.map((s) => s.expression)).toEqual(expressions);
    expect(spec.schedules.every((s) => s.timezone === 'UTC')).toBe(true);
    expect(spec.timeoutSeconds).toBe(timeout);
  });

  it('has exactly one EventBridge trigger per scheduled job, 11 in all', () => {
    const keys = scheduledTriggers().map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(11);
  });

  it('runs the 4-hourly intel cycle as YouTube games, then creator intel, then playbook', () => {
    expect(workerById('intel_orchestrator').stages).toEqual([
      { worker: 'youtube_worker', job: 'games' },
      { worker: 'creator_intel_worker', job: 'analyze' },
      { worker: 'playbook_worker', job: 'synthesize' },
    ]);
  });

  it('fans out every job whose budget exceeds one Lambda', () => {
    const long = ALL_WORKERS.flatMap((w) => w.jobs.filter((j) => j.timeoutSeconds > 900).map((j) => `${w.id}.${j.id}`));
    expect(long.sort()).toEqual(['clip_radar_recap_worker.recap', 'creator_intel_worker.analyze', 'intel_orchestrator.cycle', 'thumbnail_intel_worker.analyze', 'twitch_worker.pack']);
    for (const id of long.filter((k) => !k.startsWith('intel_orchestrator'))) {
      const [w, j] = id.split('.') as [string, string];
      expect(jobOf(w, j).fanOut?.itemTimeoutSeconds).toBeLessThanOrEqual(900);
    }
  });

  it('encodes the dependency graph and what each worker blocks', () => {
    const deps = Object.fromEntries(ALL_WORKERS.map((w) => [w.id, w.dependencies.map((d) => `${d.on}:${d.kind}:${d.relation}`)]));
    expect(deps['creator_intel_worker']).toEqual(['youtube_worker:hard:data']);
    expect(deps['playbook_worker']).toEqual(['youtube_worker:hard:data', 'twitch_streams_worker:hard:data']);
    expect(deps['intel_aggregation_worker']).toEqual(['creator_intel_worker:optional:not-running']);
    expect(deps['clip_radar_recap_worker']).toEqual(['clip_radar_worker:hard:coverage']);
    expect(workerById('youtube_worker').blocks).toEqual(['playbook_worker', 'creator_intel_worker']);
    expect(workerById('twitch_streams_worker').blocks).toEqual(['playbook_worker']);
    expect(workerById('clip_radar_worker').blocks).toEqual(['clip_radar_recap_worker']);
  });

  it('represents the two non-Lambda entries honestly', () => {
    expect(workerById('intel_orchestrator').executionModel).toBe('sub-pipeline');
    expect(workerById('intel_orchestrator').description).toMatch(/Not a Lambda/);
    expect(workerById('graceful_shutdown').executionModel).toBe('protocol');
    expect(workerById('graceful_shutdown').description).toMatch(/shutdown\/drain protocol/);
    expect(workerById('graceful_shutdown').jobs).toEqual([]);
  });

  it('takes weights from the design table, with a documented Reporting row', () => {
    expect(weightsFor(workerById('generation_worker'))).toEqual({ reliability: 40, performance: 30, dataQuality: 20, resource: 10 });
    expect(weightsFor(workerById('youtube_worker'))).toEqual({ reliability: 30, performance: 20, dataQuality: 40, resource: 10 });
    expect(weightsFor(workerById('creator_intel_worker'))).toEqual({ reliability: 30, performance: 20, dataQuality: 40, resource: 10 });
    expect(weightsFor(workerById('intel_aggregation_worker'))).toEqual({ reliability: 40, performance: 30, dataQuality: 20, resource: 10 });
    expect(weightsFor(workerById('coach_cleanup_worker'))).toEqual({ reliability: 50, performance: 20, dataQuality: 20, resource: 10 });
    expect(weightsFor(workerById('playbook_worker'))).toEqual(CATEGORY_WEIGHTS.reporting);
  });

  it('names the design score metrics of every Lambda worker', () => {
    expect(workerById('youtube_worker').scoreMetrics).toEqual(['categories_fetched', 'quota_used', 'cache_freshness_seconds']);
    expect(workerById('generation_worker').scoreMetrics).toEqual(['jobs_completed', 'failure_rate', 'avg_duration_ms', 'queue_wait_ms']);
    for (const w of lambdaWorkers()) expect(w.scoreMetrics.length).toBeGreaterThan(0);
  });
});
