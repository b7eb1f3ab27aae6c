/** The text report (local/report.ts) from a made-up run: what each section tells, and how it is laid out. */
import { describe, expect, it } from 'vitest';
import type { WorkerScoreReport } from '../../lib/domain/score-report.js';
import { columns, renderAnomalies, renderCards, renderCircuitTransitions, renderSymphony, reportCards } from '../../local/report.js';
import type { SymphonyResult } from '../../local/symphony.js';

const START = Date.parse('2026-03-02T00:00:00Z');
const at = (hhmm: string): number => Date.parse(`2026-03-02T${hhmm}:00Z`);

function report(worker: string, hhmm: string, over: Partial<WorkerScoreReport> = {}): WorkerScoreReport {
  const scheduledTime = new Date(at(hhmm)).toISOString();
  return {
    workerName: worker, jobId: 'flush', executionId: `x-${hhmm}`, scheduledTime, startedAt: scheduledTime, completedAt: scheduledTime,
    status: 'SUCCEEDED', skipReason: null, success: true, durationMs: 120, attempts: 1, lockFence: 1,
    scores: { overallScore: 100, reliabilityScore: 100, performanceScore: 100, dataQualityScore: 100, resourceScore: 100 },
    anomalies: [], recommendations: [], metrics: {}, error: null, ...over,
  } as WorkerScoreReport;
}

function run(over: Partial<SymphonyResult> = {}): SymphonyResult {
  return {
    startMs: START, endMs: START + 3 * 3_600_000, firings: 0, firedSlots: [], executions: { succeeded: 0, failed: 0, other: 0 },
    timeline: [], reports: [], circuits: {}, circuitTransitions: [], sweepAnomalies: [], alerts: [], pages: [], incidents: [], recoveries: [], scheduleChanges: [], sweeps: [],
    queues: { polls: [], depths: {}, waiting: {}, deadLettered: {}, concurrency: {} }, ttlSweeps: [], wallMs: 1234, ...over,
  };
}

describe('the report', () => {
  it('lists every anomaly, from the score reports, the health sweep and the alerts, with counts and first and last time', () => {
    const result = run({
      reports: [
        report('analytics_flush_worker', '01:00', { status: 'CRASHED', anomalies: ['WORKER_CRASH'], recommendations: ['restart the worker'] }),
        report('analytics_flush_worker', '02:00', { status: 'CRASHED', anomalies: ['WORKER_CRASH'] }),
      ],
      sweepAnomalies: [{ atMs: at('02:05'), worker: 'clip_radar_worker', job: 'poll', anomaly: 'STALE_DATA', severity: 'HIGH', detail: 'clips older than 15 min' }],
      alerts: [
        { atMs: at('01:00'), severity: 'CRITICAL', worker: 'analytics_flush_worker', anomaly: 'WORKER_CRASH', subject: 's', transition: 'OPENED', incidentId: 'analytics_flush_worker~flush~WORKER_CRASH~1', sentAtMs: at('01:00'), digestId: null },
        { atMs: at('02:01'), severity: 'HIGH', worker: 'analytics_flush_worker', anomaly: 'HIGH_FAILURE_RATE', subject: 's', transition: 'OPENED', incidentId: 'analytics_flush_worker~-~HIGH_FAILURE_RATE~1', sentAtMs: at('02:01'), digestId: null },
      ],
    });
    const text = renderAnomalies(result).split('\n');
    expect(text[0]).toMatch(/^worker\s+anomaly\s+severity\s+reports\s+sweep\s+alerts\s+first\s+last$/);
    expect(text.find((l) => l.includes('WORKER_CRASH'))).toMatch(/^analytics_flush_worker\s+WORKER_CRASH\s+CRITICAL\s+2\s+0\s+1\s+01:00\s+02:00$/);
    // A window rule no report carries still shows, from its alert.
    expect(text.find((l) => l.includes('HIGH_FAILURE_RATE'))).toMatch(/HIGH\s+0\s+0\s+1\s+02:01\s+02:01$/);
    expect(text.find((l) => l.includes('STALE_DATA'))).toMatch(/^clip_radar_worker\s+STALE_DATA\s+HIGH\s+0\s+1\s+0\s+02:05\s+02:05$/);
    expect(text).toContain('  -> analytics_flush_worker: restart the worker');
    expect(renderAnomalies(run())).toBe('(none)');
  });

  it('tells the circuit story: opened, half-open for a probe, closed, each with its time', () => {
    const text = renderCircuitTransitions(run({
      circuitTransitions: [
        { atMs: at('01:00'), worker: 'analytics_flush_worker', job: 'flush', from: 'CLOSED', to: 'OPEN', consecutiveFailures: 2 },
        { atMs: at('01:30'), worker: 'analytics_flush_worker', job: 'flush', from: 'OPEN', to: 'HALF_OPEN', consecutiveFailures: 2 },
        { atMs: at('01:31'), worker: 'analytics_flush_worker', job: 'flush', from: 'HALF_OPEN', to: 'CLOSED', consecutiveFailures: 0 },
      ],
    })).split('\n');
    expect(text).toEqual([
      '01:00  analytics_flush_worker.flush  CLOSED -> OPEN       opened: runs are skipped (2 consecutive failures)',
      '01:30  analytics_flush_worker.flush  OPEN -> HALF_OPEN    half-open: the next run is a probe',
      '01:31  analytics_flush_worker.flush  HALF_OPEN -> CLOSED  the probe succeeded: closed',
    ]);
  });

  it('names changed schedules by job, with their time, and gives dates when the run spans days', () => {
    const oneDay = renderSymphony(run({ scheduleChanges: [{ atMs: at('07:05'), name: 'YoutubeWorkerTrendingSchedule1A2B3C', job: 'youtube_worker.trending', expression: 'rate(2 hours)' }] }));
    expect(oneDay).toContain('== Schedule changes by recoveries (1)\n07:05  youtube_worker.trending  rate(2 hours)');
    expect(oneDay).not.toContain('YoutubeWorkerTrendingSchedule1A2B3C');
    const twoDays = renderSymphony(run({ endMs: START + 48 * 3_600_000, scheduleChanges: [{ atMs: at('07:05'), name: 'S', job: 'youtube_worker.trending', expression: 'rate(2 hours)' }] }));
    expect(twoDays).toContain('03-02 07:05  youtube_worker.trending');
  });

  it('keeps the score card columns aligned whatever the widths of the values', () => {
    const cards = reportCards([report('a_worker', '00:00', { durationMs: 5 }), report('a_much_longer_worker_name', '00:00', { durationMs: 123_456_789 })]);
    const lines = renderCards(cards).split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines.find((l) => l.startsWith('a_much_longer_worker_name'))).toMatch(/ 123456789$/);
    expect(lines.find((l) => l.startsWith('a_worker '))).toMatch(/ {9}5$/);
  });

  it('prints no wall time (the CLI does), so a run renders the same every time', () => {
    expect(renderSymphony(run({ wallMs: 1 }))).toBe(renderSymphony(run({ wallMs: 99_999 })));
    expect(renderSymphony(run())).toContain('== Circuit transitions (0)\n(none: every circuit stayed CLOSED)');
  });
});

describe('columns', () => {
  it('pads text left-aligned and numbers right-aligned to the widest cell, with the last column unpadded', () => {
    expect(columns([['a', '1', 'x'], ['bbb', '100', 'yy']], new Set([1]))).toEqual(['a      1  x', 'bbb  100  yy']);
  });
});
