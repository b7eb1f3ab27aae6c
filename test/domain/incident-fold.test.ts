/**
 * Inhibition of rate conditions (lib/domain/incident.ts): a worker's rolling-hour rates
 * (HIGH_FAILURE_RATE, ELEVATED_RETRIES) are symptoms of an incident of one of its failing jobs, and
 * ELEVATED_RETRIES of its HIGH_FAILURE_RATE; whichever opened first, one incident stays for people
 * (the fold). Both orders, the race, redelivery, an interrupted fold, resolve then reopen, and a rate
 * with no root. Likewise a job's TIMEOUT_WARNING and its SLOW_EXECUTION (one slow run raises both).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderAlert } from '../../lib/domain/alerting.js';
import {
  applyDetection,
  applyMerge,
  applyResolution,
  buildIncidentAlert,
  explainsRate,
  explainsSymptom,
  explainsTimeoutWarning,
  foldableInto,
  foldIntoRoot,
  foldsWith,
  incidentKeyString,
  inhibitionRank,
  rateParentOf,
  rateWindowHoldsUntilMs,
  RATE_SYMPTOM_CODES,
  recordDetection,
  recordResolution,
  recordSymptom,
  resolvedNoticeDue,
  symptomParentOf,
  SYMPTOM_CODES,
  type Detection,
  type Incident,
  type IncidentKey,
  type IncidentStore,
} from '../../lib/domain/incident.js';
import type { AnomalyCode, Severity } from '../../lib/domain/anomaly-rules.js';
import { InMemoryIncidentStore } from '../support/in-memory-incident-store.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-03-02T00:00:00.000Z');
const W = 'youtube_worker';

const GAMES: IncidentKey = { worker: W, job: 'games', anomaly: 'DEPENDENCY_FAILURE' };
const FAILURE_RATE: IncidentKey = { worker: W, job: null, anomaly: 'HIGH_FAILURE_RATE' };
const RETRIES: IncidentKey = { worker: W, job: null, anomaly: 'ELEVATED_RETRIES' };
const SEVERITY: Partial<Record<AnomalyCode, Severity>> = { HIGH_FAILURE_RATE: 'HIGH', ELEVATED_RETRIES: 'MEDIUM', SLOW_EXECUTION: 'HIGH', TIMEOUT_WARNING: 'MEDIUM', LOCK_CONTENTION: 'HIGH' };

const sighting = (key: IncidentKey, atMs: number, id = `${incidentKeyString(key)}@${atMs}`): Detection => ({
  key,
  severity: SEVERITY[key.anomaly] ?? 'CRITICAL',
  detail: `${key.anomaly} at ${new Date(atMs).toISOString()}`,
  observedAtMs: atMs,
  observationId: id,
  source: 'report',
  // A dependency failure is keyed on the failed upstream job and seen on the dependent it blocked.
  impactedJob: key.anomaly === 'DEPENDENCY_FAILURE' ? 'creator_intel_worker.analyze' : null,
  seenOn: { worker: key.worker, job: key.job ?? 'trending', scheduledTime: new Date(atMs).toISOString(), executionId: null },
});

const opened = (key: IncidentKey, atMs = T0): Incident => {
  const out = applyDetection(undefined, sighting(key, atMs));
  if (out.kind !== 'OPENED') throw new Error('expected OPENED');
  return out.incident;
};

const clear = (atMs: number) => ({ atMs, observationId: `clear@${atMs}`, what: `the ${W}.games run SUCCEEDED` });

/**
 * What the anomaly Lambda does with one sighting (lambdas/anomaly/detector.ts `actOn`): a rate the
 * worker's incidents explain is counted on its parent; anything else is detected on its key, and an
 * opening is folded (read after the write).
 */
async function act(store: IncidentStore, d: Detection): Promise<'SYMPTOM' | 'MERGED' | 'OPENED' | 'UPDATED' | 'DUPLICATE' | 'STALE'> {
  if (SYMPTOM_CODES.includes(d.key.anomaly)) {
    const parent = symptomParentOf(d.key, d.observedAtMs, await store.readWorker(d.key.worker));
    if (parent !== null) {
      const counted = await recordSymptom(store, { ...d, key: parent.key }, { accepts: (p) => explainsSymptom(p, d.key, d.observedAtMs), lagging: RATE_SYMPTOM_CODES.includes(d.key.anomaly) });
      if (counted !== null) return 'SYMPTOM';
    }
  }
  const out = await recordDetection(store, d);
  if (out.kind !== 'OPENED') return out.kind;
  const fold = await foldIntoRoot(store, out.incident, await store.readWorker(d.key.worker), d.observedAtMs);
  return fold.mergedInto === null ? 'OPENED' : 'MERGED';
}

/** The incidents a person sees: those not merged into another. */
const seen = (store: InMemoryIncidentStore): Incident[] => store.all().filter((i) => i.mergedInto === undefined);

describe('which incident explains a rate', () => {
  it.each<[string, IncidentKey, IncidentKey, boolean]>([
    ['a job of the worker whose dependents it blocked', GAMES, FAILURE_RATE, true],
    ['a crash of one of its jobs', { worker: W, job: 'trending', anomaly: 'WORKER_CRASH' }, FAILURE_RATE, true],
    ['a run past its budget (timeouts fail and are retried)', { worker: W, job: 'trending', anomaly: 'SLOW_EXECUTION' }, RETRIES, true],
    ['its failure rate, for its retries', FAILURE_RATE, RETRIES, true],
    ['not its retries, for its failure rate', RETRIES, FAILURE_RATE, false],
    ['not a job anomaly whose runs do not fail (corrupt output)', { worker: W, job: 'trending', anomaly: 'DATA_CORRUPTION' }, FAILURE_RATE, false],
    ['not a job anomaly whose runs do not fail (timeout warning)', { worker: W, job: 'trending', anomaly: 'TIMEOUT_WARNING' }, RETRIES, false],
    ['not a dependency failure keyed on the blocked job itself (upstream unknown: its runs were skipped, not failed)', { worker: W, job: 'orphan', anomaly: 'DEPENDENCY_FAILURE' }, FAILURE_RATE, false],
    ['not another worker (a dependent failing on its own)', { worker: 'creator_intel_worker', job: 'analyze', anomaly: 'WORKER_CRASH' }, FAILURE_RATE, false],
    ['not a lock contention (skips, not failures)', GAMES, { worker: W, job: null, anomaly: 'LOCK_CONTENTION' }, false],
    ['not a quota', GAMES, { worker: W, job: null, anomaly: 'API_QUOTA_LOW' }, false],
    ['not itself', FAILURE_RATE, FAILURE_RATE, false],
  ])('%s', (_, parent, rate, explains) => {
    const incident = opened(parent);
    // The blocked job's own DEPENDENCY_FAILURE impacts nothing else.
    expect(explainsRate(parent.job === 'orphan' ? { ...incident, impactedJobs: [] } : incident, rate, T0 + MIN)).toBe(explains);
  });

  it('a resolved parent explains it while the rolling hour can hold the runs that failed before it resolved, not after', () => {
    const resolved = applyResolution(opened(GAMES), clear(T0 + 25 * MIN)).incident;
    // Resolved at 00:25: its runs are in the 00:00 bucket, read (weighted) until 02:00.
    expect(rateWindowHoldsUntilMs(T0 + 25 * MIN)).toBe(T0 + 2 * HOUR);
    expect(explainsRate(resolved, FAILURE_RATE, T0 + 2 * HOUR - 1)).toBe(true);
    expect(explainsRate(resolved, FAILURE_RATE, T0 + 2 * HOUR)).toBe(false);
  });

  it('a merged incident explains nothing', () => {
    const merged = applyMerge(opened(FAILURE_RATE), 'youtube_worker~games~DEPENDENCY_FAILURE~1', T0 + MIN);
    expect(explainsRate(merged, RETRIES, T0 + 2 * MIN)).toBe(false);
  });

  it('an unresolved parent before a resolved one, then the most severe, then the oldest', () => {
    const rate = opened(FAILURE_RATE, T0);
    const games = opened(GAMES, T0 + 5 * MIN);
    const crash = opened({ worker: W, job: 'trending', anomaly: 'WORKER_CRASH' }, T0 + 2 * MIN);
    expect(rateParentOf(RETRIES, T0 + 10 * MIN, [rate, games, crash])?.id).toBe(crash.id);
    expect(rateParentOf(RETRIES, T0 + 10 * MIN, [rate, games])?.id).toBe(games.id);
    const gamesResolved = applyResolution(games, clear(T0 + 20 * MIN)).incident;
    expect(rateParentOf(RETRIES, T0 + 30 * MIN, [rate, gamesResolved])?.id).toBe(rate.id);
    expect(rateParentOf(RETRIES, T0 + 30 * MIN, [gamesResolved])?.id).toBe(games.id);
    expect(rateParentOf(FAILURE_RATE, T0 + 30 * MIN, [rate])).toBeNull();
  });

  it('only rates and failing-run roots take part in a fold', () => {
    expect([GAMES, FAILURE_RATE, RETRIES, { worker: W, job: 'trending', anomaly: 'WORKER_CRASH' } as IncidentKey].every(foldsWith)).toBe(true);
    expect(foldsWith({ worker: W, job: null, anomaly: 'STALE_DATA' })).toBe(false);
    expect(foldsWith({ worker: W, job: 'trending', anomaly: 'DATA_CORRUPTION' })).toBe(false);
    expect(foldsWith({ worker: W, job: null, anomaly: 'LOCK_CONTENTION' })).toBe(false);
  });

  it("a report's findings are acted on root causes first, then the worker's rates, its retries last", () => {
    const codes: AnomalyCode[] = ['ELEVATED_RETRIES', 'TIMEOUT_WARNING', 'HIGH_FAILURE_RATE', 'SLOW_EXECUTION', 'WORKER_CRASH'];
    const ordered = [...codes].sort((a, b) => inhibitionRank(a) - inhibitionRank(b));
    expect(ordered.slice(0, 2).sort()).toEqual(['SLOW_EXECUTION', 'WORKER_CRASH']);
    expect(ordered.indexOf('TIMEOUT_WARNING')).toBeGreaterThan(ordered.indexOf('SLOW_EXECUTION'));
    expect(ordered.at(-1)).toBe('ELEVATED_RETRIES');
  });
});

describe('one slow run: TIMEOUT_WARNING is a symptom of the job\'s SLOW_EXECUTION', () => {
  const SLOW: IncidentKey = { worker: 'twitch_streams_worker', job: 'poll', anomaly: 'SLOW_EXECUTION' };
  const WARNING: IncidentKey = { worker: 'twitch_streams_worker', job: 'poll', anomaly: 'TIMEOUT_WARNING' };

  it('slow first: the warning is counted on it and moves its last seen (it is not a lagging rate)', async () => {
    const store = new InMemoryIncidentStore();
    expect(await act(store, sighting(SLOW, T0))).toBe('OPENED');
    expect(await act(store, sighting(WARNING, T0))).toBe('SYMPTOM');
    expect(await act(store, sighting(WARNING, T0 + 15 * MIN))).toBe('SYMPTOM');
    expect(seen(store).map((i) => i.id)).toEqual(['twitch_streams_worker~poll~SLOW_EXECUTION~1']);
    expect(await store.read(SLOW)).toMatchObject({ count: 3, lastSeen: new Date(T0 + 15 * MIN).toISOString() });
  });

  it('warning first: the slow incident folds it in when it opens (merged, covered, no RESOLVED message)', async () => {
    const store = new InMemoryIncidentStore();
    expect(await act(store, sighting(WARNING, T0))).toBe('OPENED');
    expect(await act(store, sighting(SLOW, T0))).toBe('OPENED');
    expect(seen(store).map((i) => i.key.anomaly)).toEqual(['SLOW_EXECUTION']);
    const warning = await store.read(WARNING);
    expect(warning).toMatchObject({ state: 'RESOLVED', mergedInto: 'twitch_streams_worker~poll~SLOW_EXECUTION~1' });
    expect((await store.read(SLOW))?.covers).toEqual([warning?.id]);
    expect(resolvedNoticeDue(warning as Incident)).toBe(false);
  });

  it('is its own condition without a slow incident of that job: another job, or the slowness resolved', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting({ ...SLOW, job: 'other' }, T0));
    expect(await act(store, sighting(WARNING, T0))).toBe('OPENED');

    const again = new InMemoryIncidentStore();
    await act(again, sighting(SLOW, T0));
    await recordResolution(again, SLOW, clear(T0 + 30 * MIN));
    expect(await act(again, sighting(WARNING, T0 + 40 * MIN))).toBe('OPENED');
    expect(explainsTimeoutWarning(opened(SLOW), WARNING)).toBe(true);
    expect(explainsTimeoutWarning(opened(SLOW), { ...WARNING, worker: 'clip_radar_worker' })).toBe(false);
    expect(explainsTimeoutWarning(opened({ ...SLOW, anomaly: 'WORKER_CRASH' }), WARNING)).toBe(false);
  });
});

describe('root first: the rate is a symptom', () => {
  it('is counted on the root (count, observation), opens nothing, and does not keep the root from resolving', async () => {
    const store = new InMemoryIncidentStore();
    expect(await act(store, sighting(GAMES, T0))).toBe('OPENED');
    expect(await act(store, sighting(FAILURE_RATE, T0 + 5 * MIN))).toBe('SYMPTOM');
    expect(await act(store, sighting(RETRIES, T0 + 5 * MIN))).toBe('SYMPTOM');
    expect(store.all().map((i) => i.id)).toEqual(['youtube_worker~games~DEPENDENCY_FAILURE~1']);
    const root = await store.read(GAMES);
    // Counted, but the rate lags its root: its last seen is the root's own, so the next good run resolves it.
    expect(root).toMatchObject({ count: 3, lastSeen: new Date(T0).toISOString(), state: 'OPEN' });
    expect((await recordResolution(store, GAMES, clear(T0 + 25 * MIN)))?.kind).toBe('RESOLVED');
  });

  it('a redelivered rate sighting counts nothing', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(GAMES, T0));
    const rate = sighting(FAILURE_RATE, T0 + 5 * MIN);
    await act(store, rate);
    const once = await store.read(GAMES);
    expect(await act(store, rate)).toBe('SYMPTOM');
    expect(await store.read(GAMES)).toEqual(once);
  });
});

describe('rate first: the root folds it in', () => {
  it('the rate incident is resolved as merged (no RESOLVED message), the root covers it (count, observations), and its OPENED message says so', async () => {
    const store = new InMemoryIncidentStore();
    expect(await act(store, sighting(RETRIES, T0))).toBe('OPENED');
    expect(await act(store, sighting(RETRIES, T0 + MIN))).toBe('UPDATED');
    expect(await act(store, sighting(GAMES, T0 + 2 * MIN))).toBe('OPENED');

    const rate = await store.read(RETRIES);
    const root = await store.read(GAMES);
    expect(rate).toMatchObject({ state: 'RESOLVED', mergedInto: root?.id, resolution: expect.stringMatching(/^merged into youtube_worker~games~DEPENDENCY_FAILURE~1/) });
    expect(rate !== undefined && resolvedNoticeDue(rate)).toBe(false);
    expect(root).toMatchObject({ state: 'OPEN', covers: [rate?.id], count: 3 });
    expect(seen(store).map((i) => i.id)).toEqual([root?.id]);
    if (root === undefined) throw new Error('no root');
    const message = buildIncidentAlert({ incident: root, transition: 'OPENED', region: 'eu-west-1' });
    expect(message.incident?.covers).toEqual(['youtube_worker~-~ELEVATED_RETRIES~1']);
    expect(renderAlert(message).text).toMatch(/Covers: +youtube_worker~-~ELEVATED_RETRIES~1 \(merged into this incident/);
    // A sighting of the merged rate redelivered later is already counted on the root.
    expect(await act(store, sighting(RETRIES, T0 + MIN))).toBe('SYMPTOM');
    expect((await store.read(GAMES))?.count).toBe(3);
  });

  it("a failure rate folds its worker's retries in; the root then folds the failure rate, and the retries land on the root", async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(RETRIES, T0));
    expect(await act(store, sighting(FAILURE_RATE, T0 + MIN))).toBe('OPENED');
    expect(await store.read(RETRIES)).toMatchObject({ mergedInto: 'youtube_worker~-~HIGH_FAILURE_RATE~1' });
    await act(store, sighting(GAMES, T0 + 2 * MIN));
    expect(await store.read(FAILURE_RATE)).toMatchObject({ state: 'RESOLVED', mergedInto: 'youtube_worker~games~DEPENDENCY_FAILURE~1' });
    expect(seen(store).map((i) => i.id)).toEqual(['youtube_worker~games~DEPENDENCY_FAILURE~1']);
    expect(await act(store, sighting(RETRIES, T0 + 3 * MIN))).toBe('SYMPTOM');
    expect(await store.read(GAMES)).toMatchObject({ count: 4, covers: ['youtube_worker~-~HIGH_FAILURE_RATE~1'] });
  });

  it('folding again (a redelivered opening, a concurrent fold of the same pair) writes nothing', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(FAILURE_RATE, T0));
    await act(store, sighting(GAMES, T0 + MIN));
    const before = store.all();
    const root = await store.read(GAMES);
    if (root === undefined) throw new Error('no root');
    const again = await foldIntoRoot(store, root, await store.readWorker(W), T0 + MIN);
    // Named again (so a held notification of it is withdrawn again, if the first try died before that), but nothing is written.
    expect(again.folded.map((i) => i.id)).toEqual(['youtube_worker~-~HIGH_FAILURE_RATE~1']);
    expect(again.mergedInto).toBeNull();
    expect(store.all()).toEqual(before);
  });

  it('a fold cut short after the merge (the cover not written) is finished by the next try', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(FAILURE_RATE, T0));
    const root = await recordDetection(store, sighting(GAMES, T0 + MIN));
    // The merge was written, then the Lambda died before the cover.
    const rate = await store.read(FAILURE_RATE);
    if (rate === undefined) throw new Error('no rate');
    await store.write(applyMerge(rate, root.incident.id, T0 + MIN));
    expect(foldableInto(root.incident, await store.readWorker(W)).map((i) => i.id)).toEqual([rate.id]);
    const fold = await foldIntoRoot(store, root.incident, await store.readWorker(W), T0 + MIN);
    expect(fold.incident).toMatchObject({ covers: [rate.id], count: 2 });
  });

  it('a rate incident resolved on its own before the root opened is not merged', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(FAILURE_RATE, T0));
    await recordResolution(store, FAILURE_RATE, clear(T0 + 10 * MIN));
    await act(store, sighting(GAMES, T0 + 20 * MIN));
    expect(await store.read(FAILURE_RATE)).toMatchObject({ state: 'RESOLVED', resolution: expect.not.stringMatching(/merged/) });
    expect((await store.read(FAILURE_RATE))?.mergedInto).toBeUndefined();
    expect((await store.read(GAMES))?.covers).toBeUndefined();
  });
});

describe('the race: rate and root opening at once', () => {
  it('a rate incident written before it could see the root merges itself into it on its read after the write', async () => {
    const store = new InMemoryIncidentStore();
    // The rate's look for a parent found none; the root opened before the rate's opening write.
    await act(store, sighting(GAMES, T0));
    const rate = await recordDetection(store, sighting(FAILURE_RATE, T0 + 1));
    expect(rate.kind).toBe('OPENED');
    const fold = await foldIntoRoot(store, rate.incident, await store.readWorker(W), T0 + 1);
    expect(fold.mergedInto?.id).toBe('youtube_worker~games~DEPENDENCY_FAILURE~1');
    expect(seen(store).map((i) => i.id)).toEqual(['youtube_worker~games~DEPENDENCY_FAILURE~1']);
    expect(await store.read(GAMES)).toMatchObject({ covers: ['youtube_worker~-~HIGH_FAILURE_RATE~1'], count: 2 });
  });

  it('property: any order and interleaving of one root and rate sightings (redeliveries included) leaves one incident for people, linked to every merged one, counting each sighting at most once (exactly once in sequence)', async () => {
    const sightings = [
      sighting(GAMES, T0 + 3 * MIN),
      sighting(FAILURE_RATE, T0 + 1 * MIN),
      sighting(RETRIES, T0),
      sighting(RETRIES, T0 + 4 * MIN),
      sighting(FAILURE_RATE, T0 + 5 * MIN),
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: sightings.length - 1 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4 }), async (order, lanes) => {
        if (!order.includes(0)) order.push(0);
        const store = new InMemoryIncidentStore();
        // `lanes` concurrent workers take the sightings in order: their reads and writes interleave.
        const queue = [...order];
        await Promise.all(
          Array.from({ length: lanes }, async () => {
            for (let next = queue.shift(); next !== undefined; next = queue.shift()) await act(store, sightings[next] as Detection);
          }),
        );
        const visible = seen(store);
        expect(visible.map((i) => i.id)).toEqual(['youtube_worker~games~DEPENDENCY_FAILURE~1']);
        // Every merged incident is resolved, and leads to the root through what it was merged into,
        // which covers it (retries folded into the failure rate, the failure rate into the root).
        const all = store.all();
        const merged = all.filter((i) => i.mergedInto !== undefined);
        for (const child of merged) {
          expect(child.state).toBe('RESOLVED');
          const parent = all.find((i) => i.id === child.mergedInto);
          expect(parent?.covers).toContain(child.id);
          expect(parent?.mergedInto ?? parent?.id).toBe(parent?.mergedInto === undefined ? visible[0]?.id : parent.mergedInto);
        }
        expect(all.flatMap((i) => i.covers ?? []).sort()).toEqual(merged.map((i) => i.id).sort());
        // Each sighting counted once; in a three-way race a chain's cover may miss the root's count (documented), never count twice.
        if (lanes === 1) expect(visible[0]?.count).toBe(new Set(order).size);
        else expect(visible[0]?.count).toBeLessThanOrEqual(new Set(order).size);
      }),
      { numRuns: 200 },
    );
  });
});

describe('resolve then reopen', () => {
  it('after the root resolved, its rates are still counted on it while the rolling hour holds its failures, without reopening it; after that a rate is its own incident', async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(GAMES, T0));
    await recordResolution(store, GAMES, clear(T0 + 25 * MIN));
    expect(await act(store, sighting(FAILURE_RATE, T0 + 90 * MIN))).toBe('SYMPTOM');
    expect(await store.read(GAMES)).toMatchObject({ state: 'RESOLVED', count: 2, generation: 1 });
    expect(await store.read(FAILURE_RATE)).toBeUndefined();
    // 02:00: the failures before 00:25 are out of the window: a rate now is a condition of its own.
    expect(await act(store, sighting(FAILURE_RATE, T0 + 2 * HOUR))).toBe('OPENED');
    expect(seen(store).filter((i) => i.state !== 'RESOLVED').map((i) => i.id)).toEqual(['youtube_worker~-~HIGH_FAILURE_RATE~1']);
  });

  it("the root's next generation takes the rates, and folds the rate incident opened in between", async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(GAMES, T0));
    await recordResolution(store, GAMES, clear(T0 + 25 * MIN));
    await act(store, sighting(FAILURE_RATE, T0 + 3 * HOUR));
    expect(await act(store, sighting(GAMES, T0 + 3 * HOUR + MIN))).toBe('OPENED');
    expect(await store.read(GAMES)).toMatchObject({ id: 'youtube_worker~games~DEPENDENCY_FAILURE~2', covers: ['youtube_worker~-~HIGH_FAILURE_RATE~1'] });
    expect(await act(store, sighting(RETRIES, T0 + 3 * HOUR + 2 * MIN))).toBe('SYMPTOM');
    expect(seen(store).filter((i) => i.state !== 'RESOLVED').map((i) => i.id)).toEqual(['youtube_worker~games~DEPENDENCY_FAILURE~2']);
  });
});

describe('no root', () => {
  it('a flaky worker: its failure rate with no failing-job incident is an incident of its own, and stays one', async () => {
    const store = new InMemoryIncidentStore();
    expect(await act(store, sighting(FAILURE_RATE, T0))).toBe('OPENED');
    expect(await act(store, sighting(FAILURE_RATE, T0 + 5 * MIN))).toBe('UPDATED');
    // Its retries are symptoms of it.
    expect(await act(store, sighting(RETRIES, T0 + 5 * MIN))).toBe('SYMPTOM');
    expect(seen(store).map((i) => [i.id, i.state, i.count])).toEqual([['youtube_worker~-~HIGH_FAILURE_RATE~1', 'OPEN', 3]]);
  });

  it("a dependent's own failure is its own incident, and another worker's incident never takes a rate", async () => {
    const store = new InMemoryIncidentStore();
    await act(store, sighting(GAMES, T0));
    const own: IncidentKey = { worker: 'creator_intel_worker', job: 'analyze', anomaly: 'WORKER_CRASH' };
    expect(await act(store, sighting(own, T0 + MIN))).toBe('OPENED');
    expect(await act(store, sighting({ worker: 'creator_intel_worker', job: null, anomaly: 'HIGH_FAILURE_RATE' }, T0 + 2 * MIN))).toBe('SYMPTOM');
    expect(await act(store, sighting({ worker: 'twitch_streams_worker', job: null, anomaly: 'HIGH_FAILURE_RATE' }, T0 + 2 * MIN))).toBe('OPENED');
    expect(seen(store).map((i) => i.id).sort()).toEqual(['creator_intel_worker~analyze~WORKER_CRASH~1', 'twitch_streams_worker~-~HIGH_FAILURE_RATE~1', 'youtube_worker~games~DEPENDENCY_FAILURE~1']);
    expect((await store.read(own))?.count).toBe(2);
  });
});
