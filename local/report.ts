/**
 * Renders a symphony run for a person, as a story: the timeline (one column per hour, one row per
 * job), the score report card per worker with the design's fields, every anomaly (from the score
 * reports and from the health sweep), the alerts, pages and recoveries, the circuit transitions and
 * the schedule changes with their times, and the circuits at the end. Everything printed is a
 * function of the run's seed and options except the "avg ms" column and the scores that weigh
 * duration (workers take the real time they take). The wall time is the CLI's to print.
 */
import type { WorkerScoreReport } from '../lib/domain/score-report.js';
import { RULE_BY_CODE, type AnomalyCode } from '../lib/domain/anomaly-rules.js';
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

const fmt = (n: number | null): string => (n === null ? '-' : n.toFixed(1));

/**
 * Lays rows out in columns as wide as their widest cell: text columns padded on the right, the
 * columns named in `right` (numbers) on the left. The last column is not padded.
 */
export function columns(rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        if (right.has(i)) return cell.padStart(w);
        return i === row.length - 1 ? cell : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd(),
  );
}

/** A time in the run: HH:MM, with the UTC date in front when the run spans more than one day. */
export function clockTime(result: Pick<SymphonyResult, 'startMs' | 'endMs'>, atMs: number): string {
  const iso = new Date(atMs).toISOString();
  return result.endMs - result.startMs > 24 * HOUR_MS ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

export function renderCards(cards: readonly WorkerCard[]): string {
  const header = ['worker', 'runs', 'ok', 'part', 'fail', 'crash', 'skip', 'overall', 'reliab', 'perf', 'dataQ', 'resrc', 'avg ms'];
  const rows = cards.map((c) => {
    const s = (k: string): string => String(c.byStatus[k] ?? 0);
    return [c.worker, String(c.runs), s('SUCCEEDED'), s('PARTIAL'), s('FAILED'), s('CRASHED'), s('SKIPPED'), fmt(c.avgOverall), fmt(c.avgReliability), fmt(c.avgPerformance), fmt(c.avgDataQuality), fmt(c.avgResource), c.avgDurationMs === null ? '-' : String(Math.round(c.avgDurationMs))];
  });
  return columns([header, ...rows], new Set(header.map((_, i) => i).filter((i) => i > 0))).join('\n');
}

/**
 * One line per worker and anomaly, wherever it was seen: on the score reports (a run's own rules),
 * in the health sweep's findings, and in the alerts the anomaly Lambda sent (which include the
 * window rules, such as HIGH_FAILURE_RATE, that no single report carries). LOW anomalies are never
 * alerted, so their alerts column is 0.
 */
export function renderAnomalies(result: Pick<SymphonyResult, 'startMs' | 'endMs' | 'reports' | 'sweepAnomalies' | 'alerts'>): string {
  interface Seen { worker: string; anomaly: string; reports: number; sweep: number; alerts: number; firstMs: number; lastMs: number }
  const seen = new Map<string, Seen>();
  const add = (worker: string, anomaly: string, source: 'reports' | 'sweep' | 'alerts', atMs: number): void => {
    const key = `${worker} ${anomaly}`;
    const s = seen.get(key) ?? { worker, anomaly, reports: 0, sweep: 0, alerts: 0, firstMs: atMs, lastMs: atMs };
    s[source]++;
    s.firstMs = Math.min(s.firstMs, atMs);
    s.lastMs = Math.max(s.lastMs, atMs);
    seen.set(key, s);
  };
  for (const r of result.reports) for (const a of r.anomalies) add(r.workerName, a, 'reports', Date.parse(r.scheduledTime));
  for (const f of result.sweepAnomalies) add(f.worker, f.anomaly, 'sweep', f.atMs);
  for (const a of result.alerts) add(a.worker, a.anomaly, 'alerts', a.atMs);
  if (seen.size === 0) return '(none)';
  const lastRecommendation = new Map<string, string>();
  for (const r of result.reports) if (r.recommendations.length > 0) lastRecommendation.set(r.workerName, r.recommendations.join('; '));
  const entries = [...seen.values()].sort((a, b) => a.worker.localeCompare(b.worker) || a.firstMs - b.firstMs || a.anomaly.localeCompare(b.anomaly));
  const rows = [
    ['worker', 'anomaly', 'severity', 'reports', 'sweep', 'alerts', 'first', 'last'],
    ...entries.map((e) => [e.worker, e.anomaly, RULE_BY_CODE[e.anomaly as AnomalyCode]?.severity ?? '?', String(e.reports), String(e.sweep), String(e.alerts), clockTime(result, e.firstMs), clockTime(result, e.lastMs)]),
  ];
  const lines = columns(rows, new Set([3, 4, 5]));
  const out = [lines[0] ?? ''];
  let previous = '';
  entries.forEach((e, i) => {
    if (previous !== '' && previous !== e.worker) pushRecommendation(out, previous, lastRecommendation);
    out.push(lines[i + 1] ?? '');
    previous = e.worker;
  });
  pushRecommendation(out, previous, lastRecommendation);
  return out.join('\n');
}

function pushRecommendation(out: string[], worker: string, recommendations: ReadonlyMap<string, string>): void {
  const r = recommendations.get(worker);
  if (r !== undefined) out.push(`  -> ${worker}: ${r}`);
}

export function renderCircuitTransitions(result: Pick<SymphonyResult, 'startMs' | 'endMs' | 'circuitTransitions'>): string {
  if (result.circuitTransitions.length === 0) return '(none: every circuit stayed CLOSED)';
  const what = (t: SymphonyResult['circuitTransitions'][number]): string => {
    if (t.to === 'OPEN') return t.from === 'HALF_OPEN' ? 'the probe failed: open again' : `opened: runs are skipped${t.consecutiveFailures > 0 ? ` (${t.consecutiveFailures} consecutive failures)` : ''}`;
    if (t.to === 'HALF_OPEN') return 'half-open: the next run is a probe';
    if (t.to === 'CLOSED') return t.from === 'HALF_OPEN' ? 'the probe succeeded: closed' : 'closed';
    return '';
  };
  return columns(result.circuitTransitions.map((t) => [clockTime(result, t.atMs), `${t.worker}.${t.job}`, `${t.from} -> ${t.to}`, what(t)])).join('\n');
}

export function renderSymphony(result: SymphonyResult): string {
  const cards = reportCards(result.reports);
  const span = `${new Date(result.startMs).toISOString()} .. ${new Date(result.endMs).toISOString()}`;
  const at = (ms: number): string => clockTime(result, ms);
  const sweepAlerted = result.sweepAnomalies.length;
  return [
    `== AuraStream symphony ${span}`,
    `${result.firings} schedule firings, ${result.reports.length} score reports, ${sweepAlerted} health-sweep findings; executions: ${result.executions.succeeded} succeeded, ${result.executions.failed} failed, ${result.executions.other} other`,
    '',
    '== Timeline (UTC hours)',
    renderTimeline(result),
    '',
    '== Score report card (averages over the run; SKIPPED runs are not scored)',
    renderCards(cards),
    '',
    "== Anomalies (counted in the score reports, the health sweep's findings and the alerts; -> the design's recommended recovery)",
    renderAnomalies(result),
    // Incidents (anomalies grouped by root cause) belong here, between the anomalies and the alerts, once they exist.
    '',
    `== Alerts sent (${result.alerts.length}; LOW anomalies are logged, not alerted)`,
    result.alerts.length === 0 ? '(none)' : columns(result.alerts.map((a) => [at(a.atMs), a.severity, a.worker, a.anomaly])).join('\n'),
    '',
    `== On-call pages (${result.pages.length})`,
    result.pages.length === 0 ? '(none)' : result.pages.map((p) => `${at(p.atMs)}  ${p.subject}`).join('\n'),
    '',
    `== Recoveries (${result.recoveries.length})`,
    result.recoveries.length === 0 ? '(none)' : columns(result.recoveries.map((r) => [at(r.atMs), r.anomaly, r.worker, r.status])).join('\n'),
    '',
    `== Circuit transitions (${result.circuitTransitions.length})`,
    renderCircuitTransitions(result),
    '',
    `== Schedule changes by recoveries (${result.scheduleChanges.length})`,
    result.scheduleChanges.length === 0 ? '(none)' : columns(result.scheduleChanges.map((c) => [at(c.atMs), c.job, c.expression])).join('\n'),
    '',
    '== Circuits at the end',
    columns(
      Object.entries(result.circuits)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([w, s]) => [w, s]),
    ).join('\n'),
  ].join('\n');
}
