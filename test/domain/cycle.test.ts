import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cycleOutcome, STAGE_FAILED_ERROR } from '../../lib/domain/cycle.js';
import { workerById } from '../../lib/registry/index.js';

const cycle = workerById('intel_orchestrator');
const status = (s: string): { status: string } => ({ status: s });
const stage = (worker: string, job: string, s: string | null) => ({ worker, job, status: s });

describe('cycleOutcome: the intel cycle (youtube games -> creator intel -> playbook)', () => {
  it('all three stages SUCCEEDED -> ran, succeeded 3, skipped 0', () => {
    // Prepare
    const state = { stage_youtube_worker: status('SUCCEEDED'), stage_creator_intel_worker: status('SUCCEEDED'), stage_playbook_worker: status('SUCCEEDED') };

    // Act
    const outcome = cycleOutcome(cycle, state);

    // Assess
    expect(outcome).toEqual({
      kind: 'ran',
      succeeded: 3,
      skipped: 0,
      stages: [stage('youtube_worker', 'games', 'SUCCEEDED'), stage('creator_intel_worker', 'analyze', 'SUCCEEDED'), stage('playbook_worker', 'synthesize', 'SUCCEEDED')],
    });
  });

  it('one stage SKIPPED -> ran, succeeded 2, skipped 1', () => {
    const state = { stage_youtube_worker: status('SUCCEEDED'), stage_creator_intel_worker: status('SKIPPED'), stage_playbook_worker: status('SUCCEEDED') };
    expect(cycleOutcome(cycle, state)).toMatchObject({ kind: 'ran', succeeded: 2, skipped: 1, stages: [{ status: 'SUCCEEDED' }, { worker: 'creator_intel_worker', status: 'SKIPPED' }, { status: 'SUCCEEDED' }] });
  });

  it('a PARTIAL stage counts as succeeded', () => {
    const state = { stage_youtube_worker: status('PARTIAL'), stage_creator_intel_worker: status('PARTIAL'), stage_playbook_worker: status('SUCCEEDED') };
    expect(cycleOutcome(cycle, state)).toMatchObject({ kind: 'ran', succeeded: 3, skipped: 0 });
  });

  it('the stage results sit next to the rest of the execution state, which is ignored', () => {
    const state = { worker: 'intel_orchestrator', gate: { decision: 'RUN' }, freshness_playbook_worker: { stale: {} }, stage_youtube_worker: status('SUCCEEDED'), stage_creator_intel_worker: status('SUCCEEDED'), stage_playbook_worker: status('SKIPPED') };
    expect(cycleOutcome(cycle, state)).toMatchObject({ kind: 'ran', succeeded: 2, skipped: 1 });
  });

  it('stageFailure after stage 1 -> failed with StageFailed naming stage 2 (the first with no result) and the error', () => {
    // Prepare
    const state = { stage_youtube_worker: status('SUCCEEDED'), stageFailure: { Error: 'States.TaskFailed', Cause: 'execution failed: WorkerRunFailed' } };

    // Act
    const outcome = cycleOutcome(cycle, state);

    // Assess
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.failure.Error).toBe(STAGE_FAILED_ERROR);
    expect(STAGE_FAILED_ERROR).toBe('StageFailed');
    expect(outcome.failure.Cause).toBe('stage creator_intel_worker.analyze failed (States.TaskFailed); the later stages were skipped');
    expect(outcome.stages).toEqual([stage('youtube_worker', 'games', 'SUCCEEDED'), stage('creator_intel_worker', 'analyze', null), stage('playbook_worker', 'synthesize', null)]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['the first stage failed', {}, 'youtube_worker.games'],
    ['the last stage failed', { stage_youtube_worker: status('SUCCEEDED'), stage_creator_intel_worker: status('SKIPPED') }, 'playbook_worker.synthesize'],
  ])('%s -> the Cause names the first stage without a result', (_name, results, named) => {
    const outcome = cycleOutcome(cycle, { ...results, stageFailure: { Error: 'States.TaskFailed' } });
    expect(outcome).toMatchObject({ kind: 'failed', failure: { Error: 'StageFailed', Cause: `stage ${named} failed (States.TaskFailed); the later stages were skipped` } });
  });

  it('a stageFailure without an Error name still fails the cycle', () => {
    expect(cycleOutcome(cycle, { stageFailure: {} })).toMatchObject({ kind: 'failed', failure: { Error: 'StageFailed', Cause: expect.stringContaining('(unknown)') } });
  });

  it('a stage result without a string status reads as not run', () => {
    const state = { stage_youtube_worker: { status: 3 }, stage_creator_intel_worker: 'SUCCEEDED', stage_playbook_worker: status('SUCCEEDED') };
    expect(cycleOutcome(cycle, state)).toMatchObject({ kind: 'ran', succeeded: 1, skipped: 2, stages: [{ status: null }, { status: null }, { status: 'SUCCEEDED' }] });
  });

  it('a worker without stages -> ran, nothing counted', () => {
    expect(cycleOutcome(workerById('youtube_worker'), { stage_youtube_worker: status('SUCCEEDED') })).toEqual({ kind: 'ran', stages: [], succeeded: 0, skipped: 0 });
  });

  it('without a stageFailure, succeeded + skipped is the number of stages and succeeded counts SUCCEEDED/PARTIAL', () => {
    const statuses = fc.constantFrom('SUCCEEDED', 'PARTIAL', 'SKIPPED');
    fc.assert(
      fc.property(fc.tuple(statuses, statuses, statuses), (picked) => {
        const state = { stage_youtube_worker: status(picked[0]), stage_creator_intel_worker: status(picked[1]), stage_playbook_worker: status(picked[2]) };
        const outcome = cycleOutcome(cycle, state);
        const ok = picked.filter((s) => s !== 'SKIPPED').length;
        expect(outcome).toMatchObject({ kind: 'ran', succeeded: ok, skipped: 3 - ok });
      }),
    );
  });
});
