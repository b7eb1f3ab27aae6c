/**
 * docs/adding-a-worker.md walks through one example worker. This holds the guide to the code: its
 * entry is test/registry/example-worker.ts verbatim, the validator accepts it next to the real
 * registry, the derived views pick it up, and the mistakes the guide shows give the lines it shows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { circuitFor, functionTimeoutSeconds, lambdaWorkers, scheduledTriggers, weightsFor, WORKERS, workStepTimeoutSeconds, type WorkerSpec } from '../../lib/registry/index.js';
import { formatIssue, validateRegistry } from '../../lib/registry/validate.js';
import { assetExpiryWorker } from './example-worker.js';

const guide = readFileSync(new URL('../../docs/adding-a-worker.md', import.meta.url), 'utf8');
const fixture = readFileSync(new URL('./example-worker.ts', import.meta.url), 'utf8');
const withExample = (example: WorkerSpec = assetExpiryWorker): WorkerSpec[] => [...WORKERS, example];

describe("the guide's example worker", () => {
  it('is the entry the guide shows, line for line', () => {
    const entry = fixture.split('// guide:entry:start\n')[1]?.split('// guide:entry:end')[0] ?? '';
    const body = entry.split('\n').slice(1, -2); // the fields, without the const line and the closing line
    expect(body.length).toBeGreaterThan(10);
    for (const line of body) expect(guide).toContain(line);
  });

  it('is accepted by the registry validator next to every real worker', () => {
    expect(validateRegistry(withExample()).map(formatIssue)).toEqual([]);
  });

  it('gets what the guide says is derived: a Lambda, one schedule, a 405 s function (a 270 s work step raised at most 1.5x), maintenance weights, the default circuit', () => {
    expect(lambdaWorkers(withExample()).map((w) => w.id)).toContain('asset_expiry_worker');
    const triggers = scheduledTriggers(withExample()).filter((t) => t.worker.id === 'asset_expiry_worker');
    expect(triggers.map((t) => [t.key, t.schedule.expression, t.schedule.timezone])).toEqual([['asset_expiry_worker.expire', 'cron(30 3 * * ? *)', 'UTC']]);
    expect(workStepTimeoutSeconds(assetExpiryWorker, assetExpiryWorker.jobs[0])).toBe(270);
    expect(functionTimeoutSeconds(assetExpiryWorker)).toBe(405);
    expect(weightsFor(assetExpiryWorker)).toEqual({ reliability: 50, performance: 20, dataQuality: 20, resource: 10 });
    expect(circuitFor(assetExpiryWorker)).toMatchObject({ failuresToOpen: 3, openTimeoutSeconds: 900 });
    expect(guide).toContain('(256 MB, 405 s,');
  });

  it.each([
    { name: 'a lease shorter than the timeout', change: { lockLeaseSeconds: 100 } },
    { name: 'a five-field cron', change: { jobs: [{ ...assetExpiryWorker.jobs[0], schedules: [{ expression: 'cron(30 3 * * *)', timezone: 'UTC' }] }] } },
    { name: 'an unknown dependency', change: { dependencies: [{ on: 'nope_worker', job: 'run', kind: 'hard', relation: 'data', freshnessSeconds: 60 }] } },
  ] as const)('refuses $name with the line the guide shows', ({ change }) => {
    const issues = validateRegistry(withExample({ ...assetExpiryWorker, ...change } as WorkerSpec)).map(formatIssue);
    expect(issues).toHaveLength(1);
    expect(guide).toContain(issues[0]);
  });
});
