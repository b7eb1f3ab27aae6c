/**
 * The protocol Lambda's run metrics: one sample per newly stored report of an executed run, through
 * the optional `metrics` dep; the Powertools adapter writes them as EMF with the Worker dimension only.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env['TABLE_NAME'] = 'protocol-metrics-test';
});

import { makeHandler, type ProtocolLogger } from '../../lambdas/protocol/handler.js';
import { PowertoolsRunMetrics } from '../../lambdas/protocol/powertools-run-metrics.js';
import { RUN_METRICS_NAMESPACE, runMetricValues, type RunMetrics, type RunSample } from '../../lambdas/protocol/run-metrics.js';
import type { GateResult, PipelineState, WorkerResult } from '../../lambdas/shared/contracts.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';

const STARTED = Date.parse('2026-01-02T06:00:00.000Z');
const silent: ProtocolLogger = { appendKeys: () => undefined, resetKeys: () => undefined, info: () => undefined, warn: () => undefined };
const work = (over: Partial<WorkerResult> = {}): WorkerResult => ({
  status: 'SUCCEEDED',
  durationMs: 20_000,
  attempts: 1,
  itemsOk: 5,
  itemsFailed: 0,
  outputValid: true,
  recordsValid: 5,
  recordsInvalid: 0,
  validationWarnings: [],
  peakMemoryMb: 128,
  memoryLimitMb: 512,
  metrics: {},
  health: {},
  stoppedEarly: false,
  ...over,
});
type Input = Pick<PipelineState, 'worker' | 'job' | 'scheduledTime' | 'trigger'>;
const trending: Input = { worker: 'youtube_worker', job: 'trending', scheduledTime: '2026-01-02T06:00:00Z', trigger: 'schedule' };

class RecordingMetrics implements RunMetrics {
  readonly samples: RunSample[] = [];
  record(sample: RunSample): void {
    this.samples.push(sample);
  }
}

let metrics: RecordingMetrics;
let call: (action: 'gate' | 'record', state: Record<string, unknown>, executionId?: string) => Promise<unknown>;

beforeEach(() => {
  metrics = new RecordingMetrics();
  const handler = makeHandler({ store: new InMemoryStateStore(), clock: () => STARTED + 30_000, logger: silent, metrics });
  call = (action, state, executionId = 'exec-1') => handler({ action, executionId, startedAt: new Date(STARTED).toISOString(), state });
});

describe('protocol handler: run metrics', () => {
  it('records one sample per stored report, with the worker, status, score and the report duration', async () => {
    const gate = (await call('gate', { ...trending })) as GateResult;
    await call('record', { ...trending, gate, work: work() });
    expect(metrics.samples).toHaveLength(1);
    expect(metrics.samples[0]).toMatchObject({ worker: 'youtube_worker', status: 'SUCCEEDED', durationMs: 20_000 });
    expect(metrics.samples[0]?.overallScore).toBeGreaterThan(90);
  });

  it('a retried Record adds no second sample', async () => {
    const gate = (await call('gate', { ...trending })) as GateResult;
    const state = { ...trending, gate, work: work() };
    await call('record', state);
    await call('record', state);
    expect(metrics.samples).toHaveLength(1);
  });

  it('a caught failure is a FAILED sample', async () => {
    const gate = (await call('gate', { ...trending })) as GateResult;
    await call('record', { ...trending, gate, failure: { Error: 'UpstreamRejectedError', Cause: '403' } });
    expect(metrics.samples).toEqual([expect.objectContaining({ worker: 'youtube_worker', status: 'FAILED' })]);
    expect(runMetricValues(metrics.samples[0] as RunSample)).toContainEqual({ name: 'Failures', unit: 'Count', value: 1 });
  });

  it('without a metrics dep the handler records as before (the local runtime)', async () => {
    const handler = makeHandler({ store: new InMemoryStateStore(), clock: () => STARTED + 30_000, logger: silent });
    const at = new Date(STARTED).toISOString();
    const gate = (await handler({ action: 'gate', executionId: 'e', startedAt: at, state: trending })) as GateResult;
    await expect(handler({ action: 'record', executionId: 'e', startedAt: at, state: { ...trending, gate, work: work() } })).resolves.toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('runMetricValues', () => {
  const sample = (over: Partial<RunSample>): RunSample => ({ worker: 'youtube_worker', status: 'SUCCEEDED', overallScore: 88.5, durationMs: 1200, ...over });
  it.each([
    ['SUCCEEDED', 0],
    ['PARTIAL', 0],
    ['FAILED', 1],
    ['CRASHED', 1],
  ] as const)('%s counts %i failures and one run', (status, failures) => {
    const values = runMetricValues(sample({ status }));
    expect(values).toContainEqual({ name: 'Runs', unit: 'Count', value: 1 });
    expect(values).toContainEqual({ name: 'Failures', unit: 'Count', value: failures });
  });

  it('emits the score only when the run was scored, and nothing for a SKIPPED run', () => {
    expect(runMetricValues(sample({})).map((v) => v.name)).toEqual(['Runs', 'Failures', 'DurationMs', 'Score']);
    expect(runMetricValues(sample({ overallScore: null })).map((v) => v.name)).toEqual(['Runs', 'Failures', 'DurationMs']);
    expect(runMetricValues(sample({ status: 'SKIPPED' }))).toEqual([]);
    expect(runMetricValues(sample({ durationMs: Number.NaN })).map((v) => v.name)).not.toContain('DurationMs');
  });
});

describe('PowertoolsRunMetrics', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const documents = () => lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } });

  it('writes one EMF document per sample, in the orchestrator namespace, with the Worker dimension only', () => {
    const adapter = new PowertoolsRunMetrics();
    adapter.record({ worker: 'youtube_worker', status: 'CRASHED', overallScore: 12.5, durationMs: 900 });
    adapter.record({ worker: 'twitch_worker', status: 'SUCCEEDED', overallScore: 97, durationMs: 100 });
    adapter.record({ worker: 'twitch_worker', status: 'SKIPPED', overallScore: null, durationMs: 0 });
    const docs = documents();
    expect(docs).toHaveLength(2);
    const [first, second] = docs;
    expect(first?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: RUN_METRICS_NAMESPACE,
        Dimensions: [['Worker']],
        Metrics: [
          { Name: 'Runs', Unit: 'Count' },
          { Name: 'Failures', Unit: 'Count' },
          { Name: 'DurationMs', Unit: 'Milliseconds' },
          { Name: 'Score', Unit: 'None' },
        ],
      },
    ]);
    expect(first).toMatchObject({ Worker: 'youtube_worker', Runs: 1, Failures: 1, DurationMs: 900, Score: 12.5 });
    // The second document carries only its own worker: dimensions do not leak between samples.
    expect(second).toMatchObject({ Worker: 'twitch_worker', Failures: 0, Score: 97 });
    expect(second?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Worker']]);
  });
});
