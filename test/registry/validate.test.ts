import { describe, expect, it } from 'vitest';
import { ALL_WORKERS, CATEGORY_WEIGHTS } from '../../lib/registry/index.js';
import type { WorkerSpec } from '../../lib/registry/types.js';
import { assertValidRegistry, formatIssue, RegistryValidationError, validateRegistry } from '../../lib/registry/validate.js';

type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Registry = Mutable<WorkerSpec>[];

const copy = (): Registry => structuredClone(ALL_WORKERS) as Registry;
const find = (r: Registry, id: string): Mutable<WorkerSpec> => {
  const w = r.find((x) => x.id === id);
  if (!w) throw new Error(id);
  return w;
};
const firstJob = (r: Registry, id: string) => {
  const job = find(r, id).jobs[0];
  if (!job) throw new Error(`${id} has no job`);
  return job;
};

// [case, mutation, worker, field, value as it appears in the message]
const cases: [string, (r: Registry) => void, string, string, string][] = [
  ['duplicate worker id', (r) => r.push(structuredClone(find(r, 'coach_cleanup_worker'))), 'coach_cleanup_worker', 'id', '"coach_cleanup_worker"'],
  ['duplicate job id', (r) => find(r, 'youtube_worker').jobs.push(structuredClone(firstJob(r, 'youtube_worker'))), 'youtube_worker', 'jobs.trending', '"trending"'],
  ['unknown dependency', (r) => find(r, 'playbook_worker').dependencies.push({ on: 'tiktok_worker', job: 'poll', kind: 'hard', relation: 'data', freshnessSeconds: 60 }), 'playbook_worker', 'dependencies[2].on', '"tiktok_worker"'],
  ['self dependency', (r) => { find(r, 'coach_cleanup_worker').dependencies.push({ on: 'coach_cleanup_worker', job: 'cleanup', kind: 'hard', relation: 'data', freshnessSeconds: 60 }); find(r, 'coach_cleanup_worker').blocks.push('coach_cleanup_worker'); }, 'coach_cleanup_worker', 'dependencies[0].on', '"coach_cleanup_worker"'],
  ['dependency cycle', (r) => { find(r, 'youtube_worker').dependencies.push({ on: 'playbook_worker', kind: 'hard', relation: 'data', freshnessSeconds: 60 }); find(r, 'playbook_worker').blocks.push('youtube_worker'); }, 'youtube_worker', 'dependencies', '"youtube_worker -> playbook_worker -> youtube_worker"'],
  ['blocks not mirrored by a dependency', (r) => find(r, 'coach_cleanup_worker').blocks.push('analytics_flush_worker'), 'coach_cleanup_worker', 'blocks', '"analytics_flush_worker"'],
  ['dependency not mirrored by blocks', (r) => { find(r, 'youtube_worker').blocks = ['playbook_worker']; }, 'creator_intel_worker', 'dependencies[0].on', '"youtube_worker"'],
  ['data dependency without freshness', (r) => { find(r, 'playbook_worker').dependencies[1] = { on: 'twitch_streams_worker', job: 'poll', kind: 'hard', relation: 'data' }; }, 'playbook_worker', 'dependencies[1].freshnessSeconds', 'undefined'],
  ['data dependency that names no job', (r) => { find(r, 'creator_intel_worker').dependencies[0] = { on: 'youtube_worker', kind: 'hard', relation: 'data', freshnessSeconds: 3600 }; }, 'creator_intel_worker', 'dependencies[0].job', 'undefined'],
  ['dependency on a job the upstream does not have', (r) => { find(r, 'creator_intel_worker').dependencies[0] = { on: 'youtube_worker', job: 'shorts', kind: 'hard', relation: 'data', freshnessSeconds: 3600 }; }, 'creator_intel_worker', 'dependencies[0].job', '"shorts"'],
  ['cron with 5 fields', (r) => { firstJob(r, 'clip_radar_worker').schedules[0] = { expression: 'cron(0/5 * * * ?)', timezone: 'UTC' }; }, 'clip_radar_worker', 'jobs.poll.schedules[0].expression', '"cron(0/5 * * * ?)"'],
  ['cron without ?', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'cron(0 * * * * *)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"cron(0 * * * * *)"'],
  ['cron with two ?', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'cron(0 * ? * ? *)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"cron(0 * ? * ? *)"'],
  ['cron minute out of range', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'cron(60 * * * ? *)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"cron(60 * * * ? *)"'],
  ['rate with plural for 1', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'rate(1 hours)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"rate(1 hours)"'],
  ['rate of zero', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'rate(0 minutes)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"rate(0 minutes)"'],
  ['at with an impossible date', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'at(2026-02-30T10:00:00)', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"at(2026-02-30T10:00:00)"'],
  ['unknown expression kind', (r) => { firstJob(r, 'coach_cleanup_worker').schedules[0] = { expression: 'every 5 minutes', timezone: 'UTC' }; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules[0].expression', '"every 5 minutes"'],
  ['unknown timezone', (r) => { firstJob(r, 'thumbnail_intel_worker').schedules[0] = { expression: 'cron(0 6 * * ? *)', timezone: 'America/Gotham' }; }, 'thumbnail_intel_worker', 'jobs.analyze.schedules[0].timezone', '"America/Gotham"'],
  ['single Lambda step over 900 s', (r) => { firstJob(r, 'analytics_flush_worker').timeoutSeconds = 1200; find(r, 'analytics_flush_worker').lockLeaseSeconds = 1300; }, 'analytics_flush_worker', 'jobs.flush.timeoutSeconds', '1200'],
  ['fan-out item over 900 s', (r) => { const j = firstJob(r, 'clip_radar_recap_worker'); if (j.fanOut) j.fanOut.itemTimeoutSeconds = 1000; }, 'clip_radar_recap_worker', 'jobs.recap.fanOut.itemTimeoutSeconds', '1000'],
  ['budget eaten by the protocol reserve and waits', (r) => { const j = find(r, 'intel_aggregation_worker').jobs[0]; if (j) { j.timeoutSeconds = 150; j.expectedDurationSeconds = 10; } }, 'intel_aggregation_worker', 'jobs.hourly.timeoutSeconds', '150'],
  ['lock lease shorter than the timeout', (r) => { find(r, 'creator_intel_worker').lockLeaseSeconds = 900; }, 'creator_intel_worker', 'lockLeaseSeconds', '900'],
  ['scheduled worker without a lease', (r) => { find(r, 'coach_cleanup_worker').lockLeaseSeconds = 0; }, 'coach_cleanup_worker', 'lockLeaseSeconds', '0'],
  ['weights not summing to 100', (r) => { find(r, 'playbook_worker').weights = { reliability: 30, performance: 30, dataQuality: 30, resource: 30 }; }, 'playbook_worker', 'weights', '120'],
  ['negative weight', (r) => { find(r, 'playbook_worker').weights = { reliability: 120, performance: -20, dataQuality: 0, resource: 0 }; }, 'playbook_worker', 'weights.performance', '-20'],
  ['expected duration above timeout', (r) => { firstJob(r, 'coach_cleanup_worker').expectedDurationSeconds = 301; }, 'coach_cleanup_worker', 'jobs.cleanup.expectedDurationSeconds', '301'],
  ['memory above Lambda max', (r) => { find(r, 'thumbnail_intel_worker').memoryMb = 20_000; }, 'thumbnail_intel_worker', 'memoryMb', '20000'],
  ['on-demand job with a schedule', (r) => { firstJob(r, 'generation_worker').schedules.push({ expression: 'cron(0 * * * ? *)', timezone: 'UTC' }); }, 'generation_worker', 'jobs.generate.schedules', '["cron(0 * * * ? *)"]'],
  ['scheduled job that never runs', (r) => { firstJob(r, 'coach_cleanup_worker').schedules = []; }, 'coach_cleanup_worker', 'jobs.cleanup.schedules', '[]'],
  ['stage that runs before its dependency', (r) => { const s = find(r, 'intel_orchestrator').stages ?? []; [s[0], s[1]] = [s[1] as (typeof s)[0], s[0] as (typeof s)[0]]; }, 'intel_orchestrator', 'stages[0]', '"creator_intel_worker:analyze"'],
  ['unknown stage', (r) => { (find(r, 'intel_orchestrator').stages ?? []).push({ worker: 'youtube_worker', job: 'shorts' }); }, 'intel_orchestrator', 'stages[3]', '"youtube_worker:shorts"'],
  ['sub-pipeline budget below its stages', (r) => { firstJob(r, 'intel_orchestrator').timeoutSeconds = 1000; firstJob(r, 'intel_orchestrator').expectedDurationSeconds = 500; }, 'intel_orchestrator', 'jobs.cycle.timeoutSeconds', '1000'],
  ['fan-out whose rounds overrun the job (pack: 50 items / 5 at 600 s)', (r) => { const j = find(r, 'twitch_worker').jobs.find((x) => x.id === 'pack'); if (j?.fanOut) { j.fanOut.maxConcurrency = 5; j.fanOut.itemTimeoutSeconds = 600; } }, 'twitch_worker', 'jobs.pack.timeoutSeconds', '1800'],
  ['fan-out without a bound on its items', (r) => { const j = firstJob(r, 'clip_radar_recap_worker'); if (j.fanOut) j.fanOut.maxItems = 0; }, 'clip_radar_recap_worker', 'jobs.recap.fanOut.maxItems', '0'],
  ['plan step over 900 s', (r) => { const j = firstJob(r, 'clip_radar_recap_worker'); if (j.fanOut) j.fanOut.planTimeoutSeconds = 901; }, 'clip_radar_recap_worker', 'jobs.recap.fanOut.planTimeoutSeconds', '901'],
  ['cycle whose timeout is exactly its stages (no headroom)', (r) => { firstJob(r, 'intel_orchestrator').timeoutSeconds = 3000; }, 'intel_orchestrator', 'jobs.cycle.timeoutSeconds', '3000'],
  ['circuit that cannot close', (r) => { find(r, 'coach_cleanup_worker').circuit = { failuresToOpen: 3, openTimeoutSeconds: 60, successesToClose: 2, halfOpenMaxProbes: 1 }; }, 'coach_cleanup_worker', 'circuit.halfOpenMaxProbes', '1'],
  ['bad worker id', (r) => { find(r, 'coach_cleanup_worker').id = 'Coach-Cleanup'; }, 'Coach-Cleanup', 'id', '"Coach-Cleanup"'],
];

describe('registry validation', () => {
  it('accepts the real registry', () => {
    expect(validateRegistry(ALL_WORKERS).map(formatIssue)).toEqual([]);
  });

  it('names the worker, the job and the numbers of a fan-out that does not fit', () => {
    const registry = copy();
    const pack = find(registry, 'twitch_worker').jobs.find((j) => j.id === 'pack');
    if (pack?.fanOut) Object.assign(pack.fanOut, { maxConcurrency: 5, itemTimeoutSeconds: 600 });
    const messages = validateRegistry(registry).map(formatIssue);
    expect(messages).toContain(
      'worker "twitch_worker": jobs.pack.timeoutSeconds: job "pack" does not fit its worst case of 6150 s (plan 120 s + ceil(50 items / 5 concurrent) = 10 rounds x 600 s + protocol 30 s): raise the timeout or maxConcurrency, or lower maxItems or the item timeout, got 1800',
    );
  });

  it('names the cycle, its stages and the headroom when the timeout has none', () => {
    const registry = copy();
    firstJob(registry, 'intel_orchestrator').timeoutSeconds = 3600;
    const messages = validateRegistry(registry).map(formatIssue);
    expect(messages).toContain(
      'worker "intel_orchestrator": jobs.cycle.timeoutSeconds: cycle "cycle" does not fit its worst case of 3300 s (gate 20 s + youtube_worker.games 360 s + creator_intel_worker.analyze 1860 s + freshness 20 s + refresh twitch_streams_worker.poll 360 s + playbook_worker.synthesize 660 s + record 20 s) with 10 % headroom: it needs at least 3630 s, got 3600',
    );
  });

  it.each(cases)('rejects %s, naming the worker, the field and the value', (_name, mutate, worker, field, value) => {
    const registry = copy();
    mutate(registry);
    const issues = validateRegistry(registry);
    const messages = issues.map(formatIssue);
    expect(messages.some((m) => m.startsWith(`worker "${worker}": ${field}: `) && m.endsWith(`got ${value}`)), messages.join('\n')).toBe(true);
  });

  it('rejects a category weight row that does not sum to 100', () => {
    const issues = validateRegistry(ALL_WORKERS, { ...CATEGORY_WEIGHTS, maintenance: { reliability: 50, performance: 20, dataQuality: 20, resource: 20 } });
    expect(issues.map(formatIssue)).toContain('worker "(category maintenance)": weights: weights must sum to 100, got 110');
  });

  it('throws one error listing every issue', () => {
    const registry = copy();
    find(registry, 'creator_intel_worker').lockLeaseSeconds = 10;
    firstJob(registry, 'clip_radar_worker').schedules[0] = { expression: 'cron(bad)', timezone: 'UTC' };
    expect(() => assertValidRegistry(registry)).toThrow(RegistryValidationError);
    try {
      assertValidRegistry(registry);
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryValidationError);
      const err = e as RegistryValidationError;
      expect(err.issues.length).toBeGreaterThanOrEqual(2);
      expect(err.message).toContain('worker "creator_intel_worker": lockLeaseSeconds');
      expect(err.message).toContain('worker "clip_radar_worker": jobs.poll.schedules[0].expression');
    }
  });
});
