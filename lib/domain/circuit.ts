/**
 * The circuit breaker as a pure transition function.
 *
 *   CLOSED --(failuresToOpen consecutive failures)--> OPEN
 *   OPEN --(openTimeout expires, next admission)--> HALF_OPEN
 *   HALF_OPEN --(successesToClose successes)--> CLOSED
 *   HALF_OPEN --(any failure)--> OPEN
 *
 * HALF_OPEN admits at most `halfOpenMaxProbes` probes. If the probes never report (a lost run),
 * HALF_OPEN re-admits after another open timeout so the worker cannot be stuck forever.
 */

export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface CircuitState {
  readonly state: CircuitStateName;
  readonly consecutiveFailures: number;
  /** When the circuit last opened or went half-open (epoch ms), or null when CLOSED. */
  readonly changedAtMs: number | null;
  readonly probesAdmitted: number;
  readonly halfOpenSuccesses: number;
}

export interface CircuitSettings {
  readonly failuresToOpen: number;
  readonly openTimeoutSeconds: number;
  readonly successesToClose: number;
  readonly halfOpenMaxProbes: number;
}

export type Admission = 'RUN' | 'PROBE' | 'SKIP';

export const CLOSED_CIRCUIT: CircuitState = Object.freeze({ state: 'CLOSED', consecutiveFailures: 0, changedAtMs: null, probesAdmitted: 0, halfOpenSuccesses: 0 });

const open = (nowMs: number): CircuitState => ({ state: 'OPEN', consecutiveFailures: 0, changedAtMs: nowMs, probesAdmitted: 0, halfOpenSuccesses: 0 });

/** Decides whether a run may start now, and the state after admitting it. */
export function admit(circuit: CircuitState, nowMs: number, settings: CircuitSettings): { admission: Admission; next: CircuitState } {
  const timeoutMs = settings.openTimeoutSeconds * 1000;
  const expired = circuit.changedAtMs !== null && nowMs - circuit.changedAtMs >= timeoutMs;
  switch (circuit.state) {
    case 'CLOSED':
      return { admission: 'RUN', next: circuit };
    case 'OPEN':
      if (!expired) return { admission: 'SKIP', next: circuit };
      return { admission: 'PROBE', next: { state: 'HALF_OPEN', consecutiveFailures: 0, changedAtMs: nowMs, probesAdmitted: 1, halfOpenSuccesses: 0 } };
    case 'HALF_OPEN':
      if (circuit.probesAdmitted < settings.halfOpenMaxProbes) {
        return { admission: 'PROBE', next: { ...circuit, probesAdmitted: circuit.probesAdmitted + 1 } };
      }
      if (expired) {
        return { admission: 'PROBE', next: { ...circuit, changedAtMs: nowMs, probesAdmitted: 1, halfOpenSuccesses: 0 } };
      }
      return { admission: 'SKIP', next: circuit };
  }
}

/** Applies a finished run's outcome. PARTIAL counts as a success; skips are not outcomes. */
export function recordOutcome(circuit: CircuitState, outcome: 'success' | 'failure', nowMs: number, settings: CircuitSettings): CircuitState {
  switch (circuit.state) {
    case 'CLOSED': {
      if (outcome === 'success') return circuit.consecutiveFailures === 0 ? circuit : CLOSED_CIRCUIT;
      const failures = circuit.consecutiveFailures + 1;
      return failures >= settings.failuresToOpen ? open(nowMs) : { ...circuit, consecutiveFailures: failures };
    }
    case 'HALF_OPEN': {
      if (outcome === 'failure') return open(nowMs);
      const successes = circuit.halfOpenSuccesses + 1;
      return successes >= settings.successesToClose ? CLOSED_CIRCUIT : { ...circuit, halfOpenSuccesses: successes };
    }
    case 'OPEN':
      // A run admitted before the circuit opened finished late: a failure keeps it open longer.
      return outcome === 'failure' ? open(nowMs) : circuit;
  }
}

/** Opens the circuit now, whatever its state (the HIGH_FAILURE_RATE recovery). */
export function trip(nowMs: number): CircuitState {
  return open(nowMs);
}

/** Moves an OPEN circuit straight to HALF_OPEN so the next run probes (a recovery's probe step). */
export function halfOpen(circuit: CircuitState, nowMs: number): CircuitState {
  return circuit.state === 'OPEN' ? { state: 'HALF_OPEN', consecutiveFailures: 0, changedAtMs: nowMs, probesAdmitted: 0, halfOpenSuccesses: 0 } : circuit;
}
