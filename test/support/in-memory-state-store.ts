/**
 * An in-memory StateStore with DynamoDB's single-item semantics (worker-state.evaluateStateCondition
 * / applyStateWrite), counting reads and writes so tests can hold the protocol to its budget.
 */
import type { GateView, GateViewRequest, ReportKey, StateStore, StoredReport } from '../../lib/domain/ports.js';
import { EMPTY_BUCKET, WINDOW_COUNTERS, type WindowBucket, type WindowCounter } from '../../lib/domain/window-stats.js';
import {
  applyStateWrite,
  evaluateStateCondition,
  ORCH_PK,
  parseOrchestratorState,
  parseWorkerState,
  STATE_SK,
  windowSk,
  workerPk,
  type RawItem,
  type StateWrite,
  type WorkerStateItem,
} from '../../lib/domain/worker-state.js';

const key = (pk: string, sk: string): string => `${pk}|${sk}`;

export class InMemoryStateStore implements StateStore {
  readonly items = new Map<string, RawItem>();
  /** Write requests (failed conditional writes count too: they consume capacity). */
  writes = 0;
  /** Read requests (a batch counts once). */
  reads = 0;
  readonly log: string[] = [];
  /** Called before every conditional state write: lets a test interleave a competing writer. */
  beforeStateWrite: ((workerId: string) => void) | undefined;

  put(pk: string, sk: string, item: RawItem): void {
    this.items.set(key(pk, sk), { pk, sk, ...item });
  }

  get(pk: string, sk: string): RawItem | undefined {
    return this.items.get(key(pk, sk));
  }

  workerItem(workerId: string): RawItem | undefined {
    return this.get(workerPk(workerId), STATE_SK);
  }

  reports(workerId: string): RawItem[] {
    return [...this.items.values()].filter((i) => i['pk'] === workerPk(workerId) && String(i['sk']).startsWith('REPORT#'));
  }

  resetCounts(): void {
    this.writes = 0;
    this.reads = 0;
    this.log.length = 0;
  }

  private state(workerId: string): WorkerStateItem | undefined {
    const raw = this.workerItem(workerId);
    return raw === undefined ? undefined : parseWorkerState(raw);
  }

  private bucket(workerId: string, bucketKey: string): WindowBucket {
    const raw = this.get(workerPk(workerId), windowSk(bucketKey));
    if (raw === undefined) return EMPTY_BUCKET;
    const out = { ...EMPTY_BUCKET } as Record<WindowCounter, number>;
    for (const c of WINDOW_COUNTERS) if (typeof raw[c] === 'number') out[c] = raw[c];
    return out;
  }

  async readGateView(request: GateViewRequest): Promise<GateView> {
    this.reads++;
    this.log.push('readGateView');
    return {
      orchestrator: parseOrchestratorState(this.get(ORCH_PK, STATE_SK)),
      worker: this.state(request.workerId),
      dependencies: Object.fromEntries(request.dependencyIds.map((id) => [id, this.state(id)])),
      windows: Object.fromEntries(request.windows.map((w) => [w.workerId, w.bucketKeys.map((b) => this.bucket(w.workerId, b))])),
    };
  }

  async readWorkerState(workerId: string): Promise<WorkerStateItem | undefined> {
    this.reads++;
    this.log.push('readWorkerState');
    return this.state(workerId);
  }

  async updateWorkerState(workerId: string, write: StateWrite): Promise<WorkerStateItem | null> {
    this.beforeStateWrite?.(workerId);
    this.writes++;
    const k = key(workerPk(workerId), STATE_SK);
    const current = this.items.get(k);
    if (!evaluateStateCondition(write.condition, current)) {
      this.log.push('updateWorkerState:conditionFailed');
      return null;
    }
    const next = applyStateWrite(write, current ?? { pk: workerPk(workerId), sk: STATE_SK });
    this.items.set(k, next);
    this.log.push('updateWorkerState');
    return parseWorkerState(next);
  }

  async addWindowCounters(workerId: string, bucketKey: string, delta: Partial<Record<WindowCounter, number>>, expiresAt: number, countKey?: string): Promise<boolean> {
    this.writes++;
    const add = Object.fromEntries(Object.entries(delta).filter((e): e is [string, number] => typeof e[1] === 'number'));
    const k = key(workerPk(workerId), windowSk(bucketKey));
    const existing = this.items.get(k) ?? { pk: workerPk(workerId), sk: windowSk(bucketKey) };
    const counted = Array.isArray(existing['counted']) ? (existing['counted'] as string[]) : [];
    if (countKey !== undefined && counted.includes(countKey)) {
      this.log.push('addWindowCounters:counted');
      return false;
    }
    this.log.push('addWindowCounters');
    const next = applyStateWrite({ condition: { op: 'and', of: [] }, set: { entity: 'WINDOW', expiresAt }, add, remove: [] }, existing);
    this.items.set(k, countKey === undefined ? next : { ...next, counted: [...counted, countKey] });
    return true;
  }

  async hasReport(workerId: string, reportSk: string): Promise<boolean> {
    this.reads++;
    this.log.push('hasReport');
    return this.items.has(key(workerPk(workerId), reportSk));
  }

  async hasReports(keys: readonly ReportKey[]): Promise<boolean[]> {
    this.reads++;
    this.log.push('hasReports');
    return keys.map((k) => this.items.has(key(workerPk(k.workerId), k.reportSk)));
  }

  async putReportOnce(stored: StoredReport): Promise<boolean> {
    this.writes++;
    const { report } = stored;
    const k = key(workerPk(report.workerName), stored.reportSk);
    if (this.items.has(k)) {
      this.log.push('putReportOnce:exists');
      return false;
    }
    this.items.set(k, { pk: workerPk(report.workerName), sk: stored.reportSk, entity: 'REPORT', ...report, expiresAt: stored.expiresAt });
    this.log.push('putReportOnce');
    return true;
  }

  async readWindowBuckets(workerId: string, bucketKeys: readonly string[]): Promise<WindowBucket[]> {
    this.reads++;
    return bucketKeys.map((b) => this.bucket(workerId, b));
  }
}
