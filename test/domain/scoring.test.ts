import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ComponentScores } from '../../lib/domain/score-report.js';
import {
  dataQualityScore,
  MEMORY_COMFORT_RATIO,
  overallScore,
  performanceScore,
  reliabilityScore,
  resourceScore,
  RETRY_PENALTY_POINTS,
  scoreRun,
  WARNING_PENALTY_POINTS,
  type RunFacts,
  type ScoringBudget,
  type ScoringWeights,
} from '../../lib/domain/scoring.js';
import { CATEGORY_WEIGHTS } from '../../lib/registry/defaults.js';
import type { Category } from '../../lib/registry/types.js';

const facts = (overrides: Partial<RunFacts> = {}): RunFacts => ({
  status: 'SUCCEEDED',
  durationMs: 1_000,
  attempts: 1,
  itemsOk: 10,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 10,
  recordsInvalid: 0,
  validationWarnings: 0,
  peakMemoryMb: 100,
  memoryLimitMb: 1_000,
  ...overrides,
});
const budget: ScoringBudget = { expectedDurationMs: 1_000, timeoutMs: 5_000 };
const EVEN: ScoringWeights = { reliability: 25, performance: 25, dataQuality: 25, resource: 25 };

describe('constants', () => {
  it('are the documented ones (docs/scoring.md)', () => {
    expect({ RETRY_PENALTY_POINTS, WARNING_PENALTY_POINTS, MEMORY_COMFORT_RATIO }).toEqual({ RETRY_PENALTY_POINTS: 10, WARNING_PENALTY_POINTS: 5, MEMORY_COMFORT_RATIO: 0.6 });
  });
});

describe('reliabilityScore', () => {
  it.each<[string, Partial<RunFacts>, number]>([
    ['succeeded first time', {}, 100],
    ['failed', { status: 'FAILED' }, 0],
    ['crashed', { status: 'CRASHED' }, 0],
    ['failed even with no retries and all items ok', { status: 'FAILED', attempts: 1, itemsOk: 5, itemsFailed: 0 }, 0],
    ['one retry', { attempts: 2 }, 90],
    ['two retries', { attempts: 3 }, 80],
    ['ten retries reach 0', { attempts: 11 }, 0],
    ['more retries stay clamped at 0', { attempts: 15 }, 0],
    ['partial: 3 of 4 items ok', { status: 'PARTIAL', itemsOk: 3, itemsFailed: 1 }, 75],
    ['partial with a retry', { status: 'PARTIAL', itemsOk: 3, itemsFailed: 1, attempts: 2 }, 65],
    ['partial with no items counted', { status: 'PARTIAL', itemsOk: 0, itemsFailed: 0 }, 100],
    ['partial with every item failed', { status: 'PARTIAL', itemsOk: 0, itemsFailed: 4 }, 0],
    ['item ratio applies to PARTIAL only', { status: 'SUCCEEDED', itemsOk: 1, itemsFailed: 3 }, 100],
  ])('%s -> %d', (_name, overrides, expected) => {
    expect(reliabilityScore(facts(overrides))).toBe(expected);
  });
});

describe('performanceScore', () => {
  it.each<[number, ScoringBudget, number]>([
    [0, budget, 100],
    [999, budget, 100],
    [1_000, budget, 100], // exactly the expected duration
    [1_001, budget, 99.975],
    [2_000, budget, 75],
    [3_000, budget, 50], // halfway between expected and timeout
    [4_999, budget, 0.025],
    [5_000, budget, 0], // exactly the timeout
    [9_000, budget, 0],
    [1_500, { expectedDurationMs: 1_000, timeoutMs: 1_000 }, 0], // degenerate budget: timeout <= expected
    [1_000, { expectedDurationMs: 1_000, timeoutMs: 500 }, 100],
  ])('%d ms with %j -> %d', (durationMs, b, expected) => {
    expect(performanceScore(durationMs, b)).toBeCloseTo(expected, 10);
  });
});

describe('dataQualityScore', () => {
  it.each<[string, Partial<RunFacts>, number]>([
    ['all records valid', {}, 100],
    ['output failed its schema', { outputValid: false }, 0],
    ['output failed its schema, records all valid', { outputValid: false, recordsValid: 100, recordsInvalid: 0 }, 0],
    ['90 of 100 records valid', { recordsValid: 90, recordsInvalid: 10 }, 90],
    ['no records', { recordsValid: 0, recordsInvalid: 0 }, 100],
    ['one warning', { validationWarnings: 1 }, 95],
    ['ratio and two warnings', { recordsValid: 90, recordsInvalid: 10, validationWarnings: 2 }, 80],
    ['twenty warnings reach 0', { validationWarnings: 20 }, 0],
    ['more warnings stay clamped at 0', { validationWarnings: 50 }, 0],
  ])('%s -> %d', (_name, overrides, expected) => {
    expect(dataQualityScore(facts(overrides))).toBe(expected);
  });
});

describe('resourceScore', () => {
  it.each<[number, number, number]>([
    [0, 1_000, 100],
    [600, 1_000, 100], // exactly 60 %
    [601, 1_000, 99.75],
    [700, 1_000, 75],
    [800, 1_000, 50],
    [900, 1_000, 25],
    [1_000, 1_000, 0], // exactly the limit
    [1_500, 1_000, 0],
  ])('%d MB of %d MB -> %d', (peak, limit, expected) => {
    expect(resourceScore(peak, limit)).toBeCloseTo(expected, 10);
  });
});

describe('overallScore per category weight row', () => {
  // Fixed vector: reliability 100, performance 50, data quality 0, resource 100.
  const vector = { reliabilityScore: 100, performanceScore: 50, dataQualityScore: 0, resourceScore: 100 };
  it.each<[Category, ScoringWeights, number]>([
    // expected = (100*R + 50*P + 0*D + 100*S) / 100
    ['generation', { reliability: 40, performance: 30, dataQuality: 20, resource: 10 }, 65], // 40 + 15 + 0 + 10
    ['collection', { reliability: 30, performance: 20, dataQuality: 40, resource: 10 }, 50], // 30 + 10 + 0 + 10
    ['intelligence', { reliability: 30, performance: 20, dataQuality: 40, resource: 10 }, 50],
    ['aggregation', { reliability: 40, performance: 30, dataQuality: 20, resource: 10 }, 65],
    ['maintenance', { reliability: 50, performance: 20, dataQuality: 20, resource: 10 }, 70], // 50 + 10 + 0 + 10
    ['reporting', { reliability: 30, performance: 20, dataQuality: 40, resource: 10 }, 50],
    ['meta', { reliability: 60, performance: 30, dataQuality: 10, resource: 0 }, 75], // 60 + 15 + 0 + 0
  ])('%s: weights %j -> %d', (category, weights, expected) => {
    // Prepare
    const row = CATEGORY_WEIGHTS[category];
    // Act
    const overall = overallScore(vector, row);
    // Assess
    expect(row).toEqual(weights);
    expect(overall).toBe(expected);
  });

  it('covers every category', () => {
    expect(Object.keys(CATEGORY_WEIGHTS).sort()).toEqual(['aggregation', 'collection', 'generation', 'intelligence', 'maintenance', 'meta', 'reporting']);
  });

  it('rounds to one decimal', () => {
    // (33.33*25 + 0 + 0 + 0)/100 = 8.3325
    expect(overallScore({ reliabilityScore: 33.33, performanceScore: 0, dataQualityScore: 0, resourceScore: 0 }, EVEN)).toBe(8.3);
  });
});

describe('scoreRun', () => {
  it('combines all four components with the category weights', () => {
    // Prepare: reliability 75-10 = 65, performance 50, data quality 90-10 = 80, resource 50.
    const run = facts({ status: 'PARTIAL', itemsOk: 3, itemsFailed: 1, attempts: 2, durationMs: 3_000, recordsValid: 90, recordsInvalid: 10, validationWarnings: 2, peakMemoryMb: 800 });
    // Act
    const result = scoreRun(run, budget, CATEGORY_WEIGHTS.generation);
    // Assess: (40*65 + 30*50 + 20*80 + 10*50) / 100 = (2600 + 1500 + 1600 + 500) / 100 = 62
    expect(result).toEqual({
      scores: { reliabilityScore: 65, performanceScore: 50, dataQualityScore: 80, resourceScore: 50, overallScore: 62 },
      invalidFacts: [],
    });
  });

  it('rounds components to one decimal', () => {
    // 99.975 -> 100, 99.75 -> 99.8
    const { scores } = scoreRun(facts({ durationMs: 1_001, peakMemoryMb: 601 }), budget, EVEN);
    expect(scores.performanceScore).toBe(100);
    expect(scores.resourceScore).toBe(99.8);
  });

  it.each<[string, Partial<RunFacts>, keyof Omit<ComponentScores, 'overallScore'>, string]>([
    ['NaN duration', { durationMs: Number.NaN }, 'performanceScore', 'durationMs=NaN'],
    ['negative duration', { durationMs: -1 }, 'performanceScore', 'durationMs=-1'],
    ['infinite duration', { durationMs: Number.POSITIVE_INFINITY }, 'performanceScore', 'durationMs=Infinity'],
    ['zero attempts', { attempts: 0 }, 'reliabilityScore', 'attempts=0'],
    ['missing attempts', { attempts: undefined as unknown as number }, 'reliabilityScore', 'attempts=undefined'],
    ['string itemsOk', { itemsOk: '3' as unknown as number }, 'reliabilityScore', 'itemsOk=3'],
    ['huge itemsFailed', { status: 'PARTIAL', itemsOk: 1e308, itemsFailed: 1e308 }, 'reliabilityScore', 'itemsFailed=1e+308'],
    ['unknown status', { status: 'BOGUS' as unknown as RunFacts['status'] }, 'reliabilityScore', 'status=BOGUS'],
    ['SKIPPED is not an executed status', { status: 'SKIPPED' as unknown as RunFacts['status'] }, 'reliabilityScore', 'status=SKIPPED'],
    ['NaN recordsInvalid', { recordsInvalid: Number.NaN }, 'dataQualityScore', 'recordsInvalid=NaN'],
    ['huge recordsValid', { recordsValid: 1e308, recordsInvalid: 1e308 }, 'dataQualityScore', 'recordsValid=1e+308'],
    ['negative warnings', { validationWarnings: -2 }, 'dataQualityScore', 'validationWarnings=-2'],
    ['null peak memory', { peakMemoryMb: null as unknown as number }, 'resourceScore', 'peakMemoryMb=null'],
    ['zero memory limit', { memoryLimitMb: 0 }, 'resourceScore', 'memoryLimitMb=0'],
  ])('%s: scores %s 0 and lists %s', (_name, overrides, component, listed) => {
    // Act
    const { scores, invalidFacts } = scoreRun(facts(overrides), budget, EVEN);
    // Assess
    expect(scores[component]).toBe(0);
    expect(invalidFacts).toContain(listed);
    // The other components are unaffected (the base facts score 100 everywhere).
    for (const other of ['reliabilityScore', 'performanceScore', 'dataQualityScore', 'resourceScore'] as const) {
      if (other !== component) expect(scores[other]).toBe(100);
    }
    expect(scores.overallScore).toBe(75);
  });

  it('a non-boolean outputValid is listed and scores data quality 0', () => {
    const { scores, invalidFacts } = scoreRun(facts({ outputValid: 'yes' as unknown as boolean }), budget, EVEN);
    expect(scores.dataQualityScore).toBe(0);
    expect(invalidFacts).toEqual(['outputValid=yes']);
  });
});

describe('scoreRun properties', () => {
  const NUMERIC = ['durationMs', 'attempts', 'itemsOk', 'itemsFailed', 'recordsValid', 'recordsInvalid', 'validationWarnings', 'peakMemoryMb', 'memoryLimitMb'] as const;
  const anyValue = fc.oneof(
    fc.double(), // includes NaN, +-Infinity, -0 and huge values
    fc.integer({ min: -5, max: 2_000 }),
    fc.double({ min: 0, max: 2_000, noNaN: true }),
    fc.constantFrom<unknown>(undefined, null, '12', true, {}),
  );
  const anyFacts = fc.record({
    status: fc.constantFrom<unknown>('SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED', 'SKIPPED', undefined, 'bogus'),
    outputValid: fc.constantFrom<unknown>(true, false, undefined, 'true', 1),
    durationMs: anyValue,
    attempts: anyValue,
    itemsOk: anyValue,
    itemsFailed: anyValue,
    recordsValid: anyValue,
    recordsInvalid: anyValue,
    validationWarnings: anyValue,
    peakMemoryMb: anyValue,
    memoryLimitMb: anyValue,
  });
  const validBudget = fc
    .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 }))
    .map(([a, b]): ScoringBudget => ({ expectedDurationMs: Math.min(a, b), timeoutMs: Math.max(a, b) }));
  const weightRow = fc.constantFrom(...Object.values(CATEGORY_WEIGHTS));

  /** The model of fact validity, written independently of the implementation. */
  const expectedInvalid = (raw: Record<string, unknown>): string[] => {
    const names: string[] = [];
    for (const name of NUMERIC) {
      const v = raw[name];
      const okNumber = typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
      if (!okNumber || (name === 'attempts' && v < 1) || (name === 'memoryLimitMb' && v === 0)) names.push(name);
    }
    if (!['SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED'].includes(raw['status'] as string)) names.push('status');
    if (typeof raw['outputValid'] !== 'boolean') names.push('outputValid');
    return names.sort();
  };

  it('every score is a finite number within 0..100, and invalid facts are listed', () => {
    fc.assert(
      fc.property(anyFacts, validBudget, weightRow, (raw, b, weights) => {
        // Act
        const { scores, invalidFacts } = scoreRun(raw as unknown as RunFacts, b, weights);
        // Assess
        for (const value of Object.values(scores)) {
          expect(Number.isFinite(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(100);
        }
        const listed = invalidFacts.map((f) => f.slice(0, f.indexOf('='))).sort();
        expect(listed).toEqual(expectedInvalid(raw));
      }),
      { numRuns: 300 },
    );
  });

  it('a component that needs an invalid fact scores 0', () => {
    fc.assert(
      fc.property(anyFacts, validBudget, (raw, b) => {
        const { scores } = scoreRun(raw as unknown as RunFacts, b, EVEN);
        const bad = new Set(expectedInvalid(raw));
        const needs = {
          reliabilityScore: ['status', 'attempts', 'itemsOk', 'itemsFailed'],
          performanceScore: ['durationMs'],
          dataQualityScore: ['outputValid', 'recordsValid', 'recordsInvalid', 'validationWarnings'],
          resourceScore: ['peakMemoryMb', 'memoryLimitMb'],
        } as const;
        for (const [component, names] of Object.entries(needs) as [keyof typeof needs, readonly string[]][]) {
          if (names.some((n) => bad.has(n))) expect(scores[component]).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  const validFacts = fc.record({
    status: fc.constantFrom('SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED') as fc.Arbitrary<RunFacts['status']>,
    durationMs: fc.integer({ min: 0, max: 2_000_000 }),
    attempts: fc.integer({ min: 1, max: 20 }),
    itemsOk: fc.integer({ min: 0, max: 1_000 }),
    itemsFailed: fc.integer({ min: 0, max: 1_000 }),
    outputValid: fc.boolean(),
    recordsValid: fc.integer({ min: 0, max: 1_000 }),
    recordsInvalid: fc.integer({ min: 0, max: 1_000 }),
    validationWarnings: fc.integer({ min: 0, max: 30 }),
    peakMemoryMb: fc.integer({ min: 0, max: 12_000 }),
    memoryLimitMb: fc.integer({ min: 1, max: 10_240 }),
  });

  it('valid facts list nothing invalid', () => {
    fc.assert(
      fc.property(validFacts, validBudget, (f, b) => {
        expect(scoreRun(f, b, EVEN).invalidFacts).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('more retries never raise reliability', () => {
    fc.assert(
      fc.property(validFacts, fc.integer({ min: 0, max: 20 }), (f, extra) => {
        const fewer = scoreRun(f, budget, EVEN).scores.reliabilityScore;
        const more = scoreRun({ ...f, attempts: f.attempts + extra }, budget, EVEN).scores.reliabilityScore;
        expect(more).toBeLessThanOrEqual(fewer);
      }),
      { numRuns: 300 },
    );
  });

  it('a retry costs exactly RETRY_PENALTY_POINTS until the floor', () => {
    fc.assert(
      fc.property(validFacts, (f) => {
        const once = reliabilityScore(f);
        const retried = reliabilityScore({ ...f, attempts: f.attempts + 1 });
        expect(retried).toBe(Math.max(0, once - RETRY_PENALTY_POINTS));
      }),
      { numRuns: 300 },
    );
  });

  it('a longer duration never raises performance', () => {
    fc.assert(
      fc.property(validFacts, validBudget, fc.integer({ min: 0, max: 2_000_000 }), (f, b, extra) => {
        const shorter = scoreRun(f, b, EVEN).scores.performanceScore;
        const longer = scoreRun({ ...f, durationMs: f.durationMs + extra }, b, EVEN).scores.performanceScore;
        expect(longer).toBeLessThanOrEqual(shorter);
      }),
      { numRuns: 300 },
    );
  });

  it('more memory never raises the resource score', () => {
    fc.assert(
      fc.property(validFacts, fc.integer({ min: 0, max: 5_000 }), (f, extra) => {
        expect(resourceScore(f.peakMemoryMb + extra, f.memoryLimitMb)).toBeLessThanOrEqual(resourceScore(f.peakMemoryMb, f.memoryLimitMb));
      }),
      { numRuns: 300 },
    );
  });

  it('the overall score lies between the lowest and highest component (within rounding)', () => {
    fc.assert(
      fc.property(validFacts, validBudget, weightRow, (f, b, weights) => {
        const { scores } = scoreRun(f, b, weights);
        const used = [
          [scores.reliabilityScore, weights.reliability],
          [scores.performanceScore, weights.performance],
          [scores.dataQualityScore, weights.dataQuality],
          [scores.resourceScore, weights.resource],
        ]
          .filter(([, w]) => (w as number) > 0)
          .map(([s]) => s as number);
        expect(scores.overallScore).toBeGreaterThanOrEqual(Math.min(...used) - 0.05);
        expect(scores.overallScore).toBeLessThanOrEqual(Math.max(...used) + 0.05);
      }),
      { numRuns: 300 },
    );
  });
});
