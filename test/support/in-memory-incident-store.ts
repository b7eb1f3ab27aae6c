/**
 * The IncidentStore port in memory, with the DynamoDB adapter's write condition (version 1 only
 * when absent, else the stored version is `next.version - 1`). Items are deep-copied in and out,
 * as a table would.
 */
import { incidentKeyString, type Incident, type IncidentKey, type IncidentStore } from '../../lib/domain/incident.js';

const copy = <T>(x: T): T => structuredClone(x);

export class InMemoryIncidentStore implements IncidentStore {
  readonly items = new Map<string, Incident>();
  /** Conditional writes that lost. */
  lostWrites = 0;
  /** Runs before each write: a test may race another writer in here. */
  beforeWrite: ((next: Incident) => Promise<void> | void) | undefined;

  async read(key: IncidentKey): Promise<Incident | undefined> {
    const item = this.items.get(incidentKeyString(key));
    return item === undefined ? undefined : copy(item);
  }

  async readWorker(worker: string): Promise<Incident[]> {
    return [...this.items.values()].filter((i) => i.key.worker === worker).map(copy);
  }

  async listUnresolved(): Promise<Incident[]> {
    return [...this.items.values()].filter((i) => i.state !== 'RESOLVED').map(copy);
  }

  async write(next: Incident): Promise<boolean> {
    await this.beforeWrite?.(next);
    const key = incidentKeyString(next.key);
    const stored = this.items.get(key);
    const ok = next.version <= 1 ? stored === undefined : stored?.version === next.version - 1;
    if (!ok) {
      this.lostWrites++;
      return false;
    }
    this.items.set(key, copy(next));
    return true;
  }

  all(): Incident[] {
    return [...this.items.values()].map(copy);
  }
}
