/**
 * In-memory implementations of the recovery ports: the reference semantics for the AWS adapters,
 * used by the handler tests and the local end-to-end runs.
 */
import { RECOVERY_SUMMARY_SK, recoveryActionSk, recoveryPk, recoveryStreakSk, type RecoveryActionRecord } from '../../lib/domain/recovery-actions.js';
import type { RawItem } from '../../lib/domain/worker-state.js';
import type { AlertPublisher, PipelineStarter, QueueAdapter, RecoveryStore, RecoverySummary, ScheduleAdapter, ScheduleDetails, StartedExecution } from './ports.js';

export class InMemoryRecoveryStore implements RecoveryStore {
  readonly items = new Map<string, Record<string, unknown>>();

  constructor(private readonly rawState: (workerId: string) => RawItem | undefined = () => undefined) {}

  private put(pk: string, sk: string, item: Record<string, unknown>): void {
    this.items.set(`${pk}|${sk}`, { pk, sk, ...item });
  }

  get(pk: string, sk: string): Record<string, unknown> | undefined {
    return this.items.get(`${pk}|${sk}`);
  }

  /** The action items of one recovery, by step. */
  actions(alertId: string): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const item of this.items.values()) {
      if (item['pk'] === recoveryPk(alertId) && String(item['sk']).startsWith('ACTION#')) out[String(item['step'])] = item;
    }
    return out;
  }

  async recordAction(entry: RecoveryActionRecord, expiresAt: number): Promise<void> {
    this.put(recoveryPk(entry.alertId), recoveryActionSk(entry.step), { entity: 'RECOVERY_ACTION', ...entry, expiresAt });
  }

  async finish(summary: RecoverySummary, expiresAt: number): Promise<number> {
    this.put(recoveryPk(summary.alertId), RECOVERY_SUMMARY_SK, { entity: 'RECOVERY', ...summary, expiresAt });
    const pk = `WORKER#${summary.worker}`;
    const sk = recoveryStreakSk(summary.anomaly);
    const streak = this.get(pk, sk);
    const current = typeof streak?.['consecutiveFailures'] === 'number' ? streak['consecutiveFailures'] : 0;
    if (summary.outcome === 'NOT_APPLICABLE') return current;
    if (summary.outcome === 'FAILED' && streak?.['lastAlertId'] === summary.alertId && streak['lastOutcome'] === 'FAILED') return current;
    const next = summary.outcome === 'SUCCEEDED' ? 0 : current + 1;
    this.put(pk, sk, { entity: 'RECOVERY_STREAK', consecutiveFailures: next, lastAlertId: summary.alertId, lastOutcome: summary.outcome, updatedAt: summary.at });
    return next;
  }

  async readRawWorkerState(workerId: string): Promise<RawItem | undefined> {
    return this.rawState(workerId);
  }
}

export class InMemoryScheduleAdapter implements ScheduleAdapter {
  readonly schedules = new Map<string, ScheduleDetails>();
  /** Every update, with the time (`clock`) at which it was made. */
  readonly updates: { name: string; expression: string; description: string; atMs: number }[] = [];

  constructor(
    schedules: readonly ScheduleDetails[] = [],
    private readonly clock: () => number = Date.now,
  ) {
    for (const s of schedules) this.schedules.set(s.name, s);
  }

  async get(name: string): Promise<ScheduleDetails> {
    const s = this.schedules.get(name);
    if (s === undefined) {
      const e = new Error(`Schedule ${name} does not exist.`);
      e.name = 'ResourceNotFoundException';
      throw e;
    }
    return s;
  }

  async update(name: string, change: { readonly expression: string; readonly description: string }): Promise<void> {
    const current = await this.get(name);
    this.schedules.set(name, { ...current, expression: change.expression, description: change.description });
    this.updates.push({ name, ...change, atMs: this.clock() });
  }
}

export class RecordingPipelineStarter implements PipelineStarter {
  readonly started: { stateMachineArn: string; name: string; input: Readonly<Record<string, unknown>> }[] = [];

  async start(stateMachineArn: string, name: string, input: Readonly<Record<string, unknown>>): Promise<StartedExecution> {
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const alreadyStarted = this.started.some((s) => s.stateMachineArn === stateMachineArn && s.name === name);
    if (!alreadyStarted) this.started.push({ stateMachineArn, name, input });
    return { executionArn, alreadyStarted };
  }
}

export class InMemoryQueueAdapter implements QueueAdapter {
  constructor(readonly concurrency: Map<string, number> = new Map()) {}

  async maxConcurrency(workerId: string): Promise<number | null> {
    return this.concurrency.get(workerId) ?? null;
  }

  async setMaxConcurrency(workerId: string, maximumConcurrency: number): Promise<void> {
    this.concurrency.set(workerId, maximumConcurrency);
  }
}

export class RecordingAlertPublisher implements AlertPublisher {
  readonly pages: { subject: string; message: Readonly<Record<string, unknown>> }[] = [];

  async page(subject: string, message: Readonly<Record<string, unknown>>): Promise<void> {
    this.pages.push({ subject, message });
  }
}
