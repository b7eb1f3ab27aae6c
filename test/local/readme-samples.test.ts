/** The README's generated blocks (local/readme-samples.ts): finding them, cutting sections, writing them back, the scenario summary. */
import { describe, expect, it } from 'vitest';
import { runSummary, sampleBlocks, sampleBody, scenarioTable, withSamples, withScenarioTable } from '../../local/readme-samples.js';

const REPORT = ['== AuraStream symphony x', 'summary', '', '== Timeline (UTC hours)', 'row', '', '== Score report card (averages)', 'avg ms varies', '', '== Alerts sent (1; LOW ...)', '01:00  HIGH  w  A'].join('\n');
const README = ['intro', '<!-- sample: npm start -- --hours 3 --seed 1 | Timeline, Alerts sent -->', 'stale', '<!-- /sample -->', 'middle', '<!-- scenarios -->', 'old table', '<!-- /scenarios -->', 'end'].join('\n');

describe('README samples', () => {
  it('finds each block with its npm start arguments and sections', () => {
    expect(sampleBlocks(README)).toEqual([{ args: ['--hours', '3', '--seed', '1'], sections: ['Timeline', 'Alerts sent'], body: 'stale\n' }]);
  });

  it('keeps only the named sections, in the report\'s order, fenced', () => {
    expect(sampleBody(REPORT, ['Alerts sent', 'Timeline'])).toBe(['```', '== Timeline (UTC hours)', 'row', '', '== Alerts sent (1; LOW ...)', '01:00  HIGH  w  A', '```', ''].join('\n'));
    expect(() => sampleBody(REPORT, ['Incidents'])).toThrow('the report has no section titled "Incidents"');
  });

  it('rewrites the blocks and the scenario table and leaves the rest alone', async () => {
    const updated = withScenarioTable(await withSamples(README, async (b) => `new ${b.args.join(' ')}\n`), '| new table |\n');
    expect(updated).toBe(['intro', '<!-- sample: npm start -- --hours 3 --seed 1 | Timeline, Alerts sent -->', 'new --hours 3 --seed 1', '<!-- /sample -->', 'middle', '<!-- scenarios -->', '| new table |', '<!-- /scenarios -->', 'end'].join('\n'));
    expect(scenarioTable(updated)).toBe('| new table |\n');
  });
});

describe('runSummary', () => {
  const at = (hhmm: string): number => Date.parse(`2026-03-02T${hhmm}:00Z`);
  it('tells alerts, pages, recoveries, each circuit\'s story and the schedule changes in one cell', () => {
    expect(runSummary({
      startMs: at('00:00'), endMs: at('06:00'),
      alerts: [{ anomaly: 'WORKER_CRASH' }, { anomaly: 'WORKER_CRASH' }, { anomaly: 'HIGH_FAILURE_RATE' }],
      sweepAnomalies: [],
      pages: [{}],
      recoveries: [{ anomaly: 'WORKER_CRASH', status: 'SUCCEEDED' }],
      circuitTransitions: [
        { atMs: at('01:00'), worker: 'w', to: 'OPEN' }, { atMs: at('01:15'), worker: 'w', to: 'HALF_OPEN' }, { atMs: at('01:15'), worker: 'w', to: 'OPEN' },
        { atMs: at('02:00'), worker: 'w', to: 'HALF_OPEN' }, { atMs: at('02:00'), worker: 'w', to: 'CLOSED' },
      ],
      scheduleChanges: [{ atMs: at('01:00'), job: 'w.j', expression: 'rate(1 hour)' }, { atMs: at('02:00'), job: 'w.j', expression: 'cron(0 * * * ? *)' }],
    })).toBe('3 alerts (WORKER_CRASH x2, HIGH_FAILURE_RATE); 1 page; 1 recovery (WORKER_CRASH SUCCEEDED); w circuit opened 01:00, 2 HALF_OPEN probes, closed 02:00; schedule changes: w.j x2 (first 01:00)');
  });
});
