/**
 * Renders a symphony run for a person: the timeline (one column per hour, one row per job), the
 * score report card per worker with the design's fields, the anomalies, and the circuit states.
 */
import type { WorkerScoreReport } from '../lib/domain/score-report.js';
import { HOUR_MS } from '../lib/domain/window-stats.js';
import type { SymphonyResult } from './symphony.js';


/** The symbol of an hour's runs of one job: the worst outcome wins. */
const SYMBOLS: readonly [string, string][] = [
  ['CRASHED', 'C'],
  ['FAILED', 'F'],
  ['PARTIAL', 'P'],
  ['SKIPPED', 's'],
  ['SUCCEEDED', '.'],
];

export interface WorkerCard {
  readonly worker: string;
  readonly runs: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly avgOverall: number | null;
  readonly avgReliability: number | null;
  readonly avgPerformance: number | null;
  readonly avgDataQuality: number | null;
  readonly avgResource: number | null;
  readonly avgDurationMs: number | null;
  readonly anomalies: Readonly<Record<string, number>>;
  readonly lastRecommendations: readonly string[];
}

const avg = (xs: readonly number[]): number | null => (xs.length === 0 ? null : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10);

export function reportCards(reports: readonly WorkerScoreReport[]): WorkerCard[] {
  const byWorker = new Map<string, WorkerScoreReport[]>();
  for (const r of reports) byWorker.set(r.workerName, [...(byWorker.get(r.workerName) ?? []), r]);
  return [...byWorker.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([worker, rs]) => {
      const scored = rs.filter((r) => r.scores !== null);
      const byStatus: Record<string, number> = {};
      const anomalies: Record<string, number> = {};
      for (const r of rs) {
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        for (const a of r.anomalies) anomalies[a] = (anomalies[a] ?? 0) + 1;
      }
      const withRecommendations = rs.filter((r) => r.recommendations.length > 0);
      return {
        worker,
        runs: rs.length,
        byStatus,
        avgOverall: avg(scored.map((r) => r.scores?.overallScore ?? 0)),
        avgReliability: avg(scored.map((r) => r.scores?.reliabilityScore ?? 0)),
        avgPerformance: avg(scored.map((r) => r.scores?.performanceScore ?? 0)),
        avgDataQuality: avg(scored.map((r) => r.scores?.dataQualityScore ?? 0)),
        avgResource: avg(scored.map((r) => r.scores?.resourceScore ?? 0)),
        avgDurationMs: avg(rs.filter((r) => r.status !== 'SKIPPED').map((r) => r.durationMs)),
        anomalies,
        lastRecommendations: withRecommendations.at(-1)?.recommendations ?? [],
      };
    });
}

export function renderTimeline(result: SymphonyResult): string {
  const hours = Math.ceil((result.endMs - result.startMs) / HOUR_MS);
  const rows = new Map<string, string[][]>();
  for (const t of result.timeline) {
    const key = `${t.worker}.${t.job}`;
    const hour = Math.floor((t.atMs - result.startMs) / HOUR_MS);
    if (hour < 0 || hour >= hours) continue;
    const cells = rows.get(key) ?? Array.from({ length: hours }, () => []);
    cells[hour]?.push(t.status);
    rows.set(key, cells);
  }
  const width = Math.max(...[...rows.keys()].map((k) => k.length), 10) + 2;
  const header = ' '.repeat(width) + Array.from({ length: hours }, (_, h) => String(new Date(result.startMs + h * HOUR_MS).getUTCHours()).padStart(2, '0')).join(' ');
  const lines = [header];
  for (const key of [...rows.keys()].sort()) {
    const cells = rows.get(key) ?? [];
    const symbols = cells.map((statuses) => {
      if (statuses.length === 0) return '  ';
      const worst = SYMBOLS.find(([s]) => statuses.includes(s))?.[1] ?? '?';
      return worst.padStart(2);
    });
    lines.push(key.padEnd(width) + symbols.join(' '));
  }
  lines.push('', "legend: . succeeded  P partial  s skipped  F failed  C crashed (an hour shows its worst run)");
  return lines.join('\n');
}

const fmt = (n: number | null): string => (n === null ? '   -' : n.toFixed(1).padStart(5));

export function renderCards(cards: readonly WorkerCard[]): string {
  const lines = [`${'worker'.padEnd(26)} runs   ok  part  fail crash  skip  overall  reliab  perf  dataQ  resrc  avg ms`];
  for (const c of cards) {
    const s = (k: string): string => String(c.byStatus[k] ?? 0).padStart(5);
    lines.push(
      `${c.worker.padEnd(26)}${String(c.runs).padStart(5)}${s('SUCCEEDED')}${s('PARTIAL')}${s('FAILED')}${s('CRASHED')}${s('SKIPPED')}   ${fmt(c.avgOverall)}   ${fmt(c.avgReliability)} ${fmt(c.avgPerformance)}  ${fmt(c.avgDataQuality)}  ${fmt(c.avgResource)}  ${c.avgDurationMs === null ? '-' : Math.round(c.avgDurationMs)}`,
    );
  }
  return lines.join('\n');
}

export function renderAnomalies(cards: readonly WorkerCard[]): string {
  const lines: string[] = [];
  for (const c of cards) {
    const entries = Object.entries(c.anomalies);
    if (entries.length === 0) continue;
    lines.push(`${c.worker.padEnd(26)}${entries.map(([a, n]) => `${a} x${n}`).join(', ')}`);
    if (c.lastRecommendations.length > 0) lines.push(`${''.padEnd(26)}-> ${c.lastRecommendations.join('; ')}`);
  }
  return lines.length === 0 ? '(none)' : lines.join('\n');
}

export function renderSymphony(result: SymphonyResult): string {
  const cards = reportCards(result.reports);
  const span = `${new Date(result.startMs).toISOString()} .. ${new Date(result.endMs).toISOString()}`;
  return [
    `== AuraStream symphony ${span}`,
    `${result.firings} schedule firings, ${result.reports.length} score reports; executions: ${result.executions.succeeded} succeeded, ${result.executions.failed} failed, ${result.executions.other} other; ${(result.wallMs / 1000).toFixed(1)} s wall time`,
    '',
    '== Timeline (UTC hours)',
    renderTimeline(result),
    '',
    '== Score report card (averages over the run; SKIPPED runs are not scored)',
    renderCards(cards),
    '',
    '== Anomalies raised (with the design\'s recommended recovery)',
    renderAnomalies(cards),
    '',
    `== Alerts sent (${result.alerts.length}; LOW anomalies are logged, not alerted)`,
    result.alerts.length === 0
      ? '(none)'
      : result.alerts.map((a) => `${new Date(a.atMs).toISOString().slice(11, 16)}  ${a.severity.padEnd(8)} ${a.worker.padEnd(26)}${a.anomaly}`).join('\n'),
    ...(result.pages.length > 0 ? ['', '== On-call pages', ...result.pages.map((p) => `${new Date(p.atMs).toISOString().slice(11, 16)}  ${p.subject}`)] : []),
    '',
    `== Recoveries (${result.recoveries.length})`,
    result.recoveries.length === 0
      ? '(none)'
      : result.recoveries.map((r) => `${new Date(r.atMs).toISOString().slice(11, 16)}  ${r.anomaly.padEnd(20)} ${r.worker.padEnd(26)}${r.status}`).join('\n'),
    ...(result.scheduleChanges.length > 0 ? ['', '== Schedule changes by recoveries', ...result.scheduleChanges.map((c) => `${c.name}: ${c.expression}`)] : []),
    '',
    '== Circuits',
    Object.entries(result.circuits)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([w, s]) => `${w.padEnd(26)}${s}`)
      .join('\n'),
  ].join('\n');
}
