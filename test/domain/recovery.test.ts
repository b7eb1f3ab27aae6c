import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANOMALY_CODES, type AnomalyCode, type Severity } from '../../lib/domain/anomaly-rules.js';
import { boundedIncrease, escalationFor, RECOVERY_BOUNDS, RECOVERY_TABLE, recoveryFor, routingFor, type EscalationInput, type RecoveryAction } from '../../lib/domain/recovery.js';
import { LAMBDA_MAX_TIMEOUT_SECONDS } from '../../lib/registry/defaults.js';

describe('recoveryFor: the design table, row by row', () => {
  it.each<[AnomalyCode, RecoveryAction[], string]>([
    ['WORKER_CRASH', ['RESTART_WORKER', 'PAGE_ONCALL'], 'Restart worker, alert on-call'],
    ['QUEUE_OVERFLOW', ['SCALE_CONSUMERS', 'PAUSE_NEW_JOBS'], 'Scale workers, pause new jobs'],
    ['HIGH_FAILURE_RATE', ['OPEN_CIRCUIT', 'REDUCE_RATE'], 'Enable circuit breaker, reduce rate'],
    ['SLOW_EXECUTION', ['RAISE_TIMEOUT'], 'Increase timeout, check resources'],
    ['STALE_DATA', ['FORCE_REFRESH_UPSTREAM'], 'Force refresh upstream worker'],
    ['API_QUOTA_LOW', ['SLOW_SCHEDULE'], 'Reduce fetch frequency'],
    ['LOCK_CONTENTION', ['EXTEND_LEASE'], 'Increase lock timeout'],
    ['DEPENDENCY_FAILURE', ['RETRY_UPSTREAM', 'SKIP_IF_OPTIONAL'], 'Retry with backoff, skip if optional'],
  ])('%s -> %j', (code, actions, summary) => {
    expect(recoveryFor(code)).toEqual({ anomaly: code, actions, summary });
  });

  const WITHOUT_ROW: AnomalyCode[] = ['DATA_CORRUPTION', 'RESOURCE_EXHAUSTION', 'ELEVATED_RETRIES', 'PARTIAL_SUCCESS', 'CACHE_MISS', 'TIMEOUT_WARNING', 'SKIP_DUE_TO_LOCK', 'SKIP_DUE_TO_FRESHNESS', 'MINOR_VALIDATION_ISSUE'];

  it.each(WITHOUT_ROW)('%s has no row: alert or log only (null)', (code) => {
    expect(recoveryFor(code)).toBeNull();
  });

  it('the table has exactly the design rows (8 with, 9 without, 17 in all)', () => {
    expect(Object.keys(RECOVERY_TABLE).sort()).toEqual(ANOMALY_CODES.filter((c) => !WITHOUT_ROW.includes(c)).sort());
    expect(Object.keys(RECOVERY_TABLE)).toHaveLength(8);
    expect(WITHOUT_ROW.length + 8).toBe(ANOMALY_CODES.length);
  });
});

describe('boundedIncrease', () => {
  it.each<[string, number, number, number, number, number | null]>([
    // [case, current, original, factorMax, cap, expected]
    ['first raise: x1.25, rounded up', 300, 300, 1.5, 900, 375],
    ['second raise stops at the factor bound', 375, 300, 1.5, 900, 450],
    ['at the factor bound: null', 450, 300, 1.5, 900, null],
    ['the absolute cap wins over the factor', 800, 800, 1.5, 900, 900],
    ['at the cap: null', 900, 800, 1.5, LAMBDA_MAX_TIMEOUT_SECONDS, null],
    ['already above the bound: null', 1_000, 300, 1.5, 900, null],
    ['lease x2 bound', 60, 60, 2, Number.MAX_SAFE_INTEGER, 75],
    ['fractional bound floors', 7, 7, 1.5, 900, 9], // floor(10.5) = 10; ceil(8.75) = 9
  ])('%s', (_name, current, original, factor, cap, expected) => {
    expect(boundedIncrease(current, original, factor, cap)).toBe(expected);
  });

  it('never exceeds its bounds and always moves up (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.constantFrom(RECOVERY_BOUNDS.timeoutRaiseFactorMax, RECOVERY_BOUNDS.leaseExtendFactorMax, 1, 3.7),
        fc.integer({ min: 1, max: 10_000 }),
        (original, current, factor, cap) => {
          const limit = Math.min(Math.floor(original * factor), cap);
          const next = boundedIncrease(current, original, factor, cap);
          if (next === null) {
            expect(current).toBeGreaterThanOrEqual(limit);
          } else {
            expect(next).toBeGreaterThan(current);
            expect(next).toBeLessThanOrEqual(limit);
            expect(next).toBeLessThanOrEqual(cap);
            expect(next).toBeLessThanOrEqual(original * factor);
            expect(Number.isInteger(next)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('repeated raises reach the bound in finitely many steps and stop (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 900 }), (original) => {
        let current = original;
        let steps = 0;
        for (let next = boundedIncrease(current, original, 1.5, LAMBDA_MAX_TIMEOUT_SECONDS); next !== null; next = boundedIncrease(current, original, 1.5, LAMBDA_MAX_TIMEOUT_SECONDS)) {
          current = next;
          steps += 1;
          expect(steps).toBeLessThan(10);
        }
        expect(current).toBe(Math.max(original, Math.min(Math.floor(original * 1.5), LAMBDA_MAX_TIMEOUT_SECONDS)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('escalationFor', () => {
  const T = 1_700_000_000_000;
  const MIN = 60_000;
  const base: EscalationInput = { severity: 'CRITICAL', raisedAtMs: T, acknowledged: false, consecutiveRecoveryFailures: 0, nowMs: T };

  it.each<[string, Partial<EscalationInput>, ReturnType<typeof escalationFor>]>([
    ['fresh critical alert', {}, null],
    ['critical unacknowledged for 15 min - 1 ms', { nowMs: T + 15 * MIN - 1 }, null],
    ['critical unacknowledged for exactly 15 min', { nowMs: T + 15 * MIN }, 'UNACKNOWLEDGED_CRITICAL'],
    ['critical unacknowledged for an hour', { nowMs: T + 60 * MIN }, 'UNACKNOWLEDGED_CRITICAL'],
    ['critical acknowledged, an hour old', { acknowledged: true, nowMs: T + 60 * MIN }, null],
    ['high unacknowledged for an hour', { severity: 'HIGH', nowMs: T + 60 * MIN }, null],
    ['one failed recovery', { consecutiveRecoveryFailures: 1 }, null],
    ['two failed recoveries', { consecutiveRecoveryFailures: 2 }, 'RECOVERY_FAILED_REPEATEDLY'],
    ['two failed recoveries on a low anomaly', { severity: 'LOW', acknowledged: true, consecutiveRecoveryFailures: 2 }, 'RECOVERY_FAILED_REPEATEDLY'],
    ['both reasons: failed recoveries win', { consecutiveRecoveryFailures: 3, nowMs: T + 60 * MIN }, 'RECOVERY_FAILED_REPEATEDLY'],
  ])('%s -> %s', (_name, overrides, expected) => {
    expect(escalationFor({ ...base, ...overrides })).toBe(expected);
  });
});

describe('routingFor', () => {
  it.each<[AnomalyCode, Severity, number | null, boolean]>([
    ['WORKER_CRASH', 'CRITICAL', 0, false],
    ['HIGH_FAILURE_RATE', 'HIGH', 300, false],
    ['CACHE_MISS', 'MEDIUM', 900, false],
    ['SKIP_DUE_TO_LOCK', 'LOW', null, true],
  ])('%s routes as %s (deadline %s s, log only %s)', (code, severity, deadlineSeconds, logOnly) => {
    expect(routingFor(code)).toEqual({ severity, deadlineSeconds, logOnly });
  });

  it.each(ANOMALY_CODES)('%s: log only exactly when LOW', (code) => {
    const routing = routingFor(code);
    expect(routing.logOnly).toBe(routing.severity === 'LOW');
  });
});
