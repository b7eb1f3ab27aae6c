/**
 * Worker scoring: four component scores (0..100) from measured facts, and their weighted average.
 * The formulas are written out in docs/scoring.md. Pure.
 */
import type { ComponentScores, ExecutedStatus } from './score-report.js';

export interface ScoringWeights {
  readonly reliability: number;
  readonly performance: number;
  readonly dataQuality: number;
  readonly resource: number;
}

/** What a run measured. Everything is untrusted: it may come from a malformed worker result. */
export interface RunFacts {
  readonly status: ExecutedStatus;
  readonly durationMs: number;
  /** Invocations, retries included (1 means no retry). */
  readonly attempts: number;
  readonly itemsOk: number;
  readonly itemsFailed: number;
  /** Did the output pass its schema? */
  readonly outputValid: boolean;
  readonly recordsValid: number;
  readonly recordsInvalid: number;
  /** Non-critical validation warnings. */
  readonly validationWarnings: number;
  readonly peakMemoryMb: number;
  readonly memoryLimitMb: number;
}

export interface ScoringBudget {
  readonly expectedDurationMs: number;
  readonly timeoutMs: number;
}

export interface ScoringResult {
  readonly scores: ComponentScores;
  /** Facts that were NaN, infinite, negative, above Number.MAX_SAFE_INTEGER or missing (or an unknown status); each scored its component 0. Feeds MINOR_VALIDATION_ISSUE. */
  readonly invalidFacts: readonly string[];
}

/** Points taken from reliability per retry. */
export const RETRY_PENALTY_POINTS = 10;
/** Points taken from data quality per validation warning. */
export const WARNING_PENALTY_POINTS = 5;
/** Memory use up to this fraction of the limit scores 100; the score falls linearly to 0 at the limit. */
export const MEMORY_COMFORT_RATIO = 0.6;

const clamp = (n: number): number => Math.min(100, Math.max(0, n));
const round1 = (n: number): number => Math.round(n * 10) / 10;

const EXECUTED_STATUSES: readonly ExecutedStatus[] = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'CRASHED'];

type FactName = keyof Omit<RunFacts, 'status' | 'outputValid'>;

function readFacts(facts: RunFacts): { bad: Set<FactName | 'status'>; invalid: string[] } {
  const bad = new Set<FactName | 'status'>();
  const invalid: string[] = [];
  const numeric: FactName[] = ['durationMs', 'attempts', 'itemsOk', 'itemsFailed', 'recordsValid', 'recordsInvalid', 'validationWarnings', 'peakMemoryMb', 'memoryLimitMb'];
  for (const name of numeric) {
    const value: unknown = facts[name];
    // Past MAX_SAFE_INTEGER no count or duration is real, and 100 * value overflows to Infinity (then NaN).
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
      bad.add(name);
      invalid.push(`${name}=${String(value)}`);
    }
  }
  if (!bad.has('attempts') && facts.attempts < 1) {
    bad.add('attempts');
    invalid.push(`attempts=${facts.attempts}`);
  }
  if (!bad.has('memoryLimitMb') && facts.memoryLimitMb === 0) {
    bad.add('memoryLimitMb');
    invalid.push('memoryLimitMb=0');
  }
  if (!(EXECUTED_STATUSES as readonly unknown[]).includes(facts.status)) {
    bad.add('status');
    invalid.push(`status=${String(facts.status)}`);
  }
  if (typeof facts.outputValid !== 'boolean') invalid.push(`outputValid=${String(facts.outputValid)}`);
  return { bad, invalid };
}

export function reliabilityScore(facts: RunFacts): number {
  if (facts.status === 'FAILED' || facts.status === 'CRASHED') return 0;
  const items = facts.itemsOk + facts.itemsFailed;
  const base = facts.status === 'PARTIAL' && items > 0 ? (100 * facts.itemsOk) / items : 100;
  return clamp(base - RETRY_PENALTY_POINTS * (facts.attempts - 1));
}

export function performanceScore(durationMs: number, budget: ScoringBudget): number {
  const { expectedDurationMs: e, timeoutMs: t } = budget;
  if (durationMs <= e) return 100;
  if (durationMs >= t || t <= e) return 0;
  return clamp((100 * (t - durationMs)) / (t - e));
}

export function dataQualityScore(facts: RunFacts): number {
  if (facts.outputValid !== true) return 0;
  const records = facts.recordsValid + facts.recordsInvalid;
  const base = records > 0 ? (100 * facts.recordsValid) / records : 100;
  return clamp(base - WARNING_PENALTY_POINTS * facts.validationWarnings);
}

export function resourceScore(peakMemoryMb: number, memoryLimitMb: number): number {
  const ratio = peakMemoryMb / memoryLimitMb;
  if (ratio <= MEMORY_COMFORT_RATIO) return 100;
  if (ratio >= 1) return 0;
  return clamp((100 * (1 - ratio)) / (1 - MEMORY_COMFORT_RATIO));
}

export function overallScore(parts: Omit<ComponentScores, 'overallScore'>, weights: ScoringWeights): number {
  const weighted =
    parts.reliabilityScore * weights.reliability +
    parts.performanceScore * weights.performance +
    parts.dataQualityScore * weights.dataQuality +
    parts.resourceScore * weights.resource;
  return round1(clamp(weighted / 100));
}

/**
 * Scores a run. Never returns NaN: a fact that is NaN, infinite, negative, above
 * Number.MAX_SAFE_INTEGER or missing (or a status that is not an executed one) scores the
 * component that needs it 0 and is listed in `invalidFacts`.
 */
export function scoreRun(facts: RunFacts, budget: ScoringBudget, weights: ScoringWeights): ScoringResult {
  const { bad, invalid } = readFacts(facts);
  const anyBad = (...names: (FactName | 'status')[]): boolean => names.some((n) => bad.has(n));
  const parts = {
    reliabilityScore: round1(anyBad('status', 'attempts', 'itemsOk', 'itemsFailed') ? 0 : reliabilityScore(facts)),
    performanceScore: round1(anyBad('durationMs') ? 0 : performanceScore(facts.durationMs, budget)),
    dataQualityScore: round1(anyBad('recordsValid', 'recordsInvalid', 'validationWarnings') ? 0 : dataQualityScore(facts)),
    resourceScore: round1(anyBad('peakMemoryMb', 'memoryLimitMb') ? 0 : resourceScore(facts.peakMemoryMb, facts.memoryLimitMb)),
  };
  return { scores: { ...parts, overallScore: overallScore(parts, weights) }, invalidFacts: invalid };
}
