/**
 * The README's sample outputs, kept true: each sample is a marked block
 *
 *     <!-- sample: npm start -- ARGS | SECTION, SECTION -->
 *     ```
 *     ...what `npm start -- ARGS` prints, those sections only...
 *     ```
 *     <!-- /sample -->
 *
 * and the scenario table is the block between `<!-- scenarios -->` and `<!-- /scenarios -->`.
 * `npm run docs` (bin/docs.ts) runs the real CLI for each and rewrites the blocks; a test compares
 * the README with what the same run prints today. Sections are the report's `== Title` parts; a
 * sample names the ones it shows by the start of their title (the score card's "avg ms" column and
 * the wall time vary from run to run, so samples leave them out).
 */

export interface SampleBlock {
  /** The `npm start` arguments. */
  readonly args: readonly string[];
  /** Titles (prefixes) of the report sections shown, in the report's order. */
  readonly sections: readonly string[];
  /** The block's current body (between the markers). */
  readonly body: string;
}

const SAMPLE = /<!-- sample: npm start -- (.*?) \| (.*?) -->\n([\s\S]*?)<!-- \/sample -->/g;
const SCENARIOS = /<!-- scenarios -->\n([\s\S]*?)<!-- \/scenarios -->/;

export function sampleBlocks(readme: string): SampleBlock[] {
  return [...readme.matchAll(SAMPLE)].map((m) => ({
    args: (m[1] ?? '').split(/\s+/).filter((a) => a.length > 0),
    sections: (m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    body: m[3] ?? '',
  }));
}

/** The report's sections whose titles start with one of `titles`, in the report's order, as a fenced block. */
export function sampleBody(report: string, titles: readonly string[]): string {
  const parts = report.split(/\n(?=== )/);
  const chosen = parts.filter((p) => titles.some((t) => p.startsWith(`== ${t}`)));
  const missing = titles.filter((t) => !parts.some((p) => p.startsWith(`== ${t}`)));
  if (missing.length > 0) throw new Error(`the report has no section titled ${missing.map((t) => JSON.stringify(t)).join(', ')}`);
  return ['```', ...chosen.map((p) => p.trimEnd()).join('\n\n').split('\n'), '```', ''].join('\n');
}

/** The README with every sample block's body replaced by `render(block)`. */
export async function withSamples(readme: string, render: (block: SampleBlock) => Promise<string>): Promise<string> {
  const blocks = sampleBlocks(readme);
  const bodies = await Promise.all(blocks.map(render));
  let i = 0;
  return readme.replace(SAMPLE, (_all, args: string, sections: string) => `<!-- sample: npm start -- ${args} | ${sections} -->\n${bodies[i++] ?? ''}<!-- /sample -->`);
}

export function scenarioTable(readme: string): string | undefined {
  return SCENARIOS.exec(readme)?.[1];
}

export function withScenarioTable(readme: string, table: string): string {
  if (!SCENARIOS.test(readme)) throw new Error('the README has no <!-- scenarios --> block');
  return readme.replace(SCENARIOS, () => `<!-- scenarios -->\n${table}<!-- /scenarios -->`);
}

/** What a run shows, in one table cell: alerts by anomaly, pages, recoveries, circuit transitions, schedule changes. */
export interface RunSummaryInput {
  readonly startMs: number;
  readonly endMs: number;
  readonly alerts: readonly { readonly anomaly: string }[];
  readonly pages: readonly unknown[];
  readonly recoveries: readonly { readonly anomaly: string; readonly status: string }[];
  readonly circuitTransitions: readonly { readonly atMs: number; readonly worker: string; readonly to: string }[];
  readonly scheduleChanges: readonly { readonly atMs: number; readonly job: string; readonly expression: string }[];
  readonly sweepAnomalies: readonly { readonly anomaly: string }[];
}

const counted = (names: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts.entries()].map(([n, c]) => (c === 1 ? n : `${n} x${c}`)).join(', ');
};

/** Per worker, the circuit's story in a few words: when it first opened, how many probes, and whether and when it closed again. */
function circuitStory(transitions: RunSummaryInput['circuitTransitions'], hhmm: (ms: number) => string): string {
  const workers = [...new Set(transitions.map((t) => t.worker))];
  return workers
    .map((w) => {
      const mine = transitions.filter((t) => t.worker === w);
      const opened = mine.find((t) => t.to === 'OPEN');
      const probes = mine.filter((t) => t.to === 'HALF_OPEN').length;
      const last = mine.at(-1);
      const end = last?.to === 'CLOSED' ? `closed ${hhmm(last.atMs)}` : `still ${last?.to ?? '?'}`;
      return `${w} circuit opened ${opened ? hhmm(opened.atMs) : '-'}, ${probes} HALF_OPEN probe${probes === 1 ? '' : 's'}, ${end}`;
    })
    .join('; ');
}

export function runSummary(r: RunSummaryInput): string {
  const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
  const changedJobs = counted(r.scheduleChanges.map((c) => c.job));
  const parts = [
    r.alerts.length === 0 ? 'no alert' : `${r.alerts.length} alert${r.alerts.length === 1 ? '' : 's'} (${counted(r.alerts.map((a) => a.anomaly))})`,
    ...(r.sweepAnomalies.length > 0 ? [`the sweep found ${counted(r.sweepAnomalies.map((a) => a.anomaly))}`] : []),
    `${r.pages.length} page${r.pages.length === 1 ? '' : 's'}`,
    r.recoveries.length === 0 ? 'no recovery' : `${r.recoveries.length} recover${r.recoveries.length === 1 ? 'y' : 'ies'} (${counted(r.recoveries.map((x) => `${x.anomaly} ${x.status}`))})`,
    r.circuitTransitions.length === 0 ? 'circuits stay CLOSED' : circuitStory(r.circuitTransitions, hhmm),
    ...(r.scheduleChanges.length > 0 ? [`schedule changes: ${changedJobs} (first ${hhmm(Math.min(...r.scheduleChanges.map((c) => c.atMs)))})`] : []),
  ];
  return parts.join('; ');
}
