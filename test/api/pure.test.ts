/** The API's pure parts: route table, cursor codec, next-run computation, execution names, the pipelines by name and the SFN starter. */
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, hasExactly } from '../../lambdas/api/cursor.js';
import { ApiError } from '../../lambdas/api/http.js';
import { nextFiring, nextRun, upcomingRuns } from '../../lambdas/api/next-run.js';
import { matchRoute, ROUTES } from '../../lambdas/api/routes.js';
import { executionArnOf, manualPipelines, sfnPipelineStarter } from '../../lambdas/api/sfn-pipeline-starter.js';
import { EXECUTION_NAME_MAX_CHARS, executionName } from '../../lambdas/api/trigger.js';
import { workerView } from '../../lambdas/api/views.js';
import { ALL_WORKERS as WORKERS } from '../../lib/registry/index.js';

describe('matchRoute', () => {
  it.each<[string, string, ReturnType<typeof matchRoute>]>([
    ['GET', '/workers', { kind: 'route', route: 'listWorkers', params: {} }],
    ['GET', '/workers/', { kind: 'route', route: 'listWorkers', params: {} }],
    ['GET', '/workers/youtube_worker/reports', { kind: 'route', route: 'listReports', params: { id: 'youtube_worker' } }],
    ['POST', '/workers/a%20b/trigger', { kind: 'route', route: 'triggerWorker', params: { id: 'a b' } }],
    ['put', '/workers/x/config', { kind: 'route', route: 'putWorkerConfig', params: { id: 'x' } }],
    ['POST', '/orchestrator/drain', { kind: 'route', route: 'drain', params: {} }],
    ['POST', '/alerts/alert_1/ack', { kind: 'route', route: 'ackAlert', params: { id: 'alert_1' } }],
    ['GET', '/orchestrator/drain', { kind: 'methodNotAllowed', allow: ['POST'] }],
    ['GET', '/orchestrator/stop', { kind: 'notFound' }],
    ['GET', '/workers//reports', { kind: 'notFound' }],
    ['GET', '/workers/%E0%A4%A/reports', { kind: 'notFound' }],
    ['GET', '/', { kind: 'notFound' }],
  ])('%s %s', (method, path, expected) => {
    expect(matchRoute(method, path)).toEqual(expected);
  });

  it('every route of the table is reachable', () => {
    for (const route of ROUTES) {
      const path = `/${route.pattern.map((p) => (p.startsWith(':') ? 'x' : p)).join('/')}`;
      expect(matchRoute(route.method, path)).toMatchObject({ kind: 'route', route: route.name });
    }
  });
});

describe('cursor', () => {
  const isReportKey = (k: Record<string, string>) => hasExactly(k, ['pk', 'sk']) && k['pk'] === 'WORKER#w';

  it('round-trips any key the listing accepts', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (sk) => {
        const key = { pk: 'WORKER#w', sk };
        expect(decodeCursor(encodeCursor(key), isReportKey)).toEqual(key);
      }),
    );
  });

  it('rejects anything else with a 400, never throwing something else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (cursor) => {
        try {
          decodeCursor(cursor, isReportKey);
        } catch (e) {
          expect(e).toBeInstanceOf(ApiError);
          expect((e as ApiError).status).toBe(400);
        }
      }),
    );
    expect(() => decodeCursor(encodeCursor({ pk: 'WORKER#other', sk: 'x' }), isReportKey)).toThrow(/not a cursor of this listing/);
  });
});

describe('nextRun', () => {
  const NOW = Date.parse('2026-03-02T06:10:00.000Z');

  it.each<[string, string, string]>([
    ['every 5 minutes', 'cron(0/5 * * * ? *)', '2026-03-02T06:15:00.000Z'],
    ['every minute (needs no more than an hour)', 'cron(* * * * ? *)', '2026-03-02T06:11:00.000Z'],
    ['daily at 05:00', 'cron(0 5 * * ? *)', '2026-03-03T05:00:00.000Z'],
    ['weekly on Sunday', 'cron(0 3 ? * SUN *)', '2026-03-08T03:00:00.000Z'],
    ['monthly on the 1st', 'cron(0 0 1 * ? *)', '2026-04-01T00:00:00.000Z'],
    ['rate(1 hour)', 'rate(1 hour)', '2026-03-02T07:00:00.000Z'],
  ])('%s', (_name, expression, expected) => {
    expect(new Date(nextFiring({ expression, timezone: 'UTC' }, NOW) ?? 0).toISOString()).toBe(expected);
  });

  it('strictly after now; the earliest of several; null for none, a past at(), or an unreadable one', () => {
    expect(nextFiring({ expression: 'cron(10 6 * * ? *)', timezone: 'UTC' }, NOW)).toBe(NOW + 24 * 3_600_000);
    expect(nextRun([{ expression: 'cron(0 5 * * ? *)', timezone: 'UTC' }, { expression: 'cron(0/30 * * * ? *)', timezone: 'UTC' }], NOW)).toBe(Date.parse('2026-03-02T06:30:00.000Z'));
    expect(nextRun([], NOW)).toBeNull();
    expect(nextFiring({ expression: 'at(2020-01-01T00:00:00)', timezone: 'UTC' }, NOW)).toBeNull();
    expect(nextFiring({ expression: 'cron(bad)', timezone: 'UTC' }, NOW)).toBeNull();
  });

  it('the next firings in order, in the schedule\'s timezone', () => {
    const iso = (ts: number[]) => ts.map((t) => new Date(t).toISOString());
    expect(iso(upcomingRuns([{ expression: 'cron(0/30 * * * ? *)', timezone: 'UTC' }], NOW, 3))).toEqual(['2026-03-02T06:30:00.000Z', '2026-03-02T07:00:00.000Z', '2026-03-02T07:30:00.000Z']);
    // 09:00 in Tokyo (UTC+9) is 00:00 UTC.
    expect(iso(upcomingRuns([{ expression: 'cron(0 9 * * ? *)', timezone: 'Asia/Tokyo' }], NOW, 2))).toEqual(['2026-03-03T00:00:00.000Z', '2026-03-04T00:00:00.000Z']);
  });

  it('a slowed schedule fires on its slowed expression until the slowdown ends, then on the registry\'s', () => {
    const iso = (ts: number[]) => ts.map((t) => new Date(t).toISOString());
    const every15 = { expression: 'cron(0/15 * * * ? *)', timezone: 'UTC' };
    const until = Date.parse('2026-03-02T08:00:00.000Z');
    // Slowed 4x: every hour at :00 until 08:00, then every 15 minutes again.
    expect(iso(upcomingRuns([every15], NOW, 4, until))).toEqual(['2026-03-02T07:00:00.000Z', '2026-03-02T08:00:00.000Z', '2026-03-02T08:15:00.000Z', '2026-03-02T08:30:00.000Z']);
    expect(nextRun([every15], NOW, until)).toBe(Date.parse('2026-03-02T07:00:00.000Z'));
    // A slowdown that is over changes nothing.
    expect(nextRun([every15], NOW, NOW - 1)).toBe(Date.parse('2026-03-02T06:15:00.000Z'));
  });
});

describe('executionName', () => {
  it('is deterministic, fits Step Functions (≤ 80 of [A-Za-z0-9-_]) and differs per worker, job and key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.string({ minLength: 1, maxLength: 128 }), (job, key) => {
        const name = executionName('youtube_worker', job, key);
        expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(name.length).toBeLessThanOrEqual(EXECUTION_NAME_MAX_CHARS);
        expect(executionName('youtube_worker', job, key)).toBe(name);
      }),
    );
    const names = new Set([executionName('a', 'j', 'k'), executionName('b', 'j', 'k'), executionName('a', 'i', 'k'), executionName('a', 'j', 'l')]);
    expect(names.size).toBe(4);
  });
});

describe('the pipelines and the Step Functions starter', () => {
  const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Pipeline-youtube-trending';

  it('names the manually triggerable pipelines from PIPELINE_ARN_PREFIX and WORKER_IDS, or throws naming an unknown worker', () => {
    const prefix = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AuraStreamOrchestrator-';
    expect(manualPipelines(prefix, 'youtube_worker,generation_worker')).toEqual({ 'youtube_worker.trending': `${prefix}youtube_worker-trending`, 'youtube_worker.games': `${prefix}youtube_worker-games` });
    const all = manualPipelines(prefix, undefined);
    expect(Object.keys(all)).toContain('intel_orchestrator.cycle');
    expect(Object.keys(all).some((k) => k.startsWith('twitch_worker.') || k.startsWith('generation_worker.'))).toBe(false);
    expect(() => manualPipelines(prefix, 'youtube_worker,nope')).toThrow(/unknown worker "nope"/);
  });

  it('starts with the name and input; an existing execution of that name is an answer, not an error', async () => {
    const sent: StartExecutionCommand[] = [];
    let exists = false;
    const client = {
      send: async (command: StartExecutionCommand) => {
        sent.push(command);
        if (exists) throw new ExecutionAlreadyExists({ message: 'exists', $metadata: {} });
        return { executionArn: executionArnOf(SM, command.input.name ?? ''), startDate: new Date() };
      },
    };
    const starter = sfnPipelineStarter(client as never, { 'youtube_worker.trending': SM });
    expect(starter.pipelineKeys).toEqual(['youtube_worker.trending']);
    const request = { pipelineKey: 'youtube_worker.trending', name: 'manual-trending-abc', input: { worker: 'youtube_worker' } };
    expect(await starter.start(request)).toEqual({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:Pipeline-youtube-trending:manual-trending-abc', alreadyExisted: false });
    expect(sent[0]?.input).toEqual({ stateMachineArn: SM, name: 'manual-trending-abc', input: '{"worker":"youtube_worker"}' });
    exists = true;
    expect(await starter.start(request)).toMatchObject({ alreadyExisted: true });
    await expect(starter.start({ ...request, pipelineKey: 'x.y' })).rejects.toThrow(/no pipeline x\.y/);
  });
});

describe('workerView: jobs that run inside the intel cycle', () => {
  it('names the cycle job and gives its next run; scheduled jobs keep their own; on-demand jobs have none', () => {
    const nowMs = Date.parse('2026-03-02T01:10:00Z');
    const byId = (id: string) => {
      const w = WORKERS.find((x) => x.id === id);
      if (!w) throw new Error(`no ${id}`);
      return w;
    };
    const cycle = byId('intel_orchestrator');
    const cycleNext = nextRun(cycle.jobs.flatMap((j) => j.schedules), nowMs);
    expect(cycleNext).not.toBeNull();
    for (const id of (cycle.stages ?? []).filter((s) => byId(s.worker).jobs.find((j) => j.id === s.job)?.schedules.length === 0).map((s) => s.worker)) {
      const view = workerView(byId(id), undefined, null, new Set(), nowMs, WORKERS);
      const job = view.jobs.find((j) => j.runsIn !== null);
      expect(job?.runsIn, id).toBe(`intel_orchestrator.${cycle.jobs[0]?.id}`);
      expect(view.nextRunAt, id).toBe(new Date(cycleNext ?? 0).toISOString());
    }
    const youtube = workerView(byId('youtube_worker'), undefined, null, new Set(), nowMs, WORKERS);
    expect(youtube.jobs.every((j) => j.runsIn === null && j.nextRunAt !== null)).toBe(true);
    const generation = workerView(byId('generation_worker'), undefined, null, new Set(), nowMs, WORKERS);
    expect(generation.nextRunAt).toBeNull();
  });
});
