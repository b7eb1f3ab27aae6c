/** A fault scenario for the local symphony: what it injects, and when. */
import type { SymphonyContext } from '../local/symphony.js';

export interface Scenario {
  readonly name: string;
  /** What happens, and what the design says should be detected and healed. */
  readonly description: string;
  /** Simulated hours the scenario needs to show its detection and recovery. */
  readonly hours: number;
  /** Injects the faults (sandbox faults, worker faults, table state) before the first slot. */
  prepare(ctx: SymphonyContext): Promise<void> | void;
}

export { HOUR_MS } from '../lib/domain/window-stats.js';
