import { describe, expect, it } from 'vitest';
import { ALL_WORKERS, scheduledTriggers, workerById } from '../../lib/registry/index.js';
import { hasPipeline, pipelineArn, pipelineArnsOf, pipelineKeys, pipelineName, SCHEDULE_NAME_MAX_LENGTH, scheduleName, scheduleNamesOf, STATE_MACHINE_NAME_MAX_LENGTH } from '../../lib/registry/naming.js';
import { generatedRegistry } from '../../bench/generated-registry.js';

const PREFIX = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AuraStreamOrchestrator-';

describe('naming convention', () => {
  it('gives a pipeline to every scheduled and sub-pipeline job and to the on-demand jobs that fan out, none to a protocol worker', () => {
    const keys = pipelineKeys(ALL_WORKERS);
    expect(keys).toContain('youtube_worker.trending');
    expect(keys).toContain('twitch_worker.pack');
    expect(keys).toContain('intel_orchestrator.cycle');
    expect(keys.some((k) => k.startsWith('graceful_shutdown.'))).toBe(false);
    for (const w of ALL_WORKERS.filter((x) => x.executionModel === 'on-demand')) {
      for (const j of w.jobs) expect(keys.includes(`${w.id}.${j.id}`)).toBe(j.fanOut !== undefined);
    }
    expect(hasPipeline({ executionModel: 'on-demand' }, {})).toBe(false);
    expect(hasPipeline({ executionModel: 'scheduled' }, {})).toBe(true);
    expect(hasPipeline({ executionModel: 'protocol' }, {})).toBe(false);
  });

  it('builds a pipeline ARN from the prefix that ends with the stack name, the same as the state machine name', () => {
    expect(pipelineName('AuraStreamOrchestrator', 'youtube_worker', 'trending')).toBe('AuraStreamOrchestrator-youtube_worker-trending');
    expect(pipelineArn(PREFIX, 'youtube_worker', 'trending')).toBe(`${PREFIX}youtube_worker-trending`);
    const arns = pipelineArnsOf(PREFIX, ALL_WORKERS);
    expect(Object.keys(arns)).toEqual(pipelineKeys(ALL_WORKERS));
    for (const [key, arn] of Object.entries(arns)) {
      const [w = '', j = ''] = key.split('.');
      expect(arn.endsWith(`:stateMachine:${pipelineName('AuraStreamOrchestrator', w, j)}`)).toBe(true);
    }
  });

  it('refuses a name past the service limits instead of cutting it (a cut name could collide)', () => {
    const long = 'w'.repeat(70);
    expect(() => pipelineName('AuraStreamOrchestrator', long, 'job')).toThrow(new RegExp(`worker "${long}" job "job".*more than Step Functions' ${STATE_MACHINE_NAME_MAX_LENGTH}`));
    expect(() => scheduleName(`${long}.job`)).toThrow(new RegExp(`at most ${SCHEDULE_NAME_MAX_LENGTH} characters, got 74`));
  });

  it('names schedules by trigger key, unique, within the limits for the real and a 60-worker registry', () => {
    for (const workers of [ALL_WORKERS, generatedRegistry(60).workers]) {
      const names = scheduledTriggers(workers).map((t) => scheduleName(t.key));
      expect(new Set(names).size).toBe(names.length);
      const pipelines = pipelineKeys(workers).map((k) => {
        const [w = '', j = ''] = k.split('.');
        return pipelineName('AuraStreamOrchestrator', w, j);
      });
      expect(new Set(pipelines).size).toBe(pipelines.length);
    }
    expect(scheduleNamesOf(workerById('youtube_worker'))).toEqual(scheduledTriggers([workerById('youtube_worker')]).map((t) => t.key));
  });
});
