/**
 * The synthesized recovery state machine, run locally: the app's own template with the
 * RecoveryPipeline added (as the stack will wire it), its definitions run by aws-local-stepfunctions.
 * The recovery Lambda and the protocol Lambda are the real handlers in-process over one in-memory
 * StateStore; the worker is a test double; the Scheduler, SNS and SQS ports are in-memory fakes.
 * Wait states skip ahead on a simulated clock.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, STACK_NAME } from '../../lib/app.js';
import type { AnomalyCode } from '../../lib/domain/anomaly-rules.js';
import { ALL_WORKERS, type WorkerSpec } from '../../lib/registry/index.js';
import { circuitAttr, STATE_SK, workerPk } from '../../lib/domain/worker-state.js';
import { CLOSED_CIRCUIT } from '../../lib/domain/circuit.js';
import { makeHandler as makeRecoveryHandler } from '../../lambdas/recovery/recover.js';
import { InMemoryQueueAdapter, InMemoryRecoveryStore, InMemoryScheduleAdapter, RecordingAlertPublisher, RecordingPipelineStarter } from '../../lambdas/recovery/in-memory.js';
import { SimulatedClock, type LambdaHandler } from '../../local/runtime.js';
import { createLocalStateMachineRunner, type LocalStateMachineRunner, type ResolveTask } from '../../local/step-functions-runner.js';
import { flattenedTemplate } from '../../local/nested-templates.js';
import { extractStateMachines, logicalIdFromArn, type CfnTemplate, type ExtractedStateMachine } from '../../local/template-asl.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const silent = { appendKeys: () => undefined, resetKeys: () => undefined, info: () => undefined, warn: () => undefined };

let template: CfnTemplate;
let machines: Map<string, ExtractedStateMachine>;
let protocolModule: typeof import('../../lambdas/protocol/handler.js');

beforeAll(async () => {
  process.env['CDK_VALIDATION'] = 'false';
  process.env['TABLE_NAME'] ??= 'local';
  process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
  // The stack wires the recovery state machine itself (lib/stacks/orchestrator-stack.ts).
  const { app } = buildApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
  // The parent and its nested worker stacks as one template (what the local runtime runs).
  const assembly = app.synth();
  template = flattenedTemplate(assembly.getStackByName(STACK_NAME).template as CfnTemplate, assembly.directory);
  machines = extractStateMachines(template);
  protocolModule = await import('../../lambdas/protocol/handler.js');
});

interface World {
  clock: SimulatedClock;
  store: InMemoryStateStore;
  recoveries: InMemoryRecoveryStore;
  schedules: InMemoryScheduleAdapter;
  starter: RecordingPipelineStarter;
  alerts: RecordingAlertPublisher;
  runner: LocalStateMachineRunner;
  workerCalls: unknown[];
  recoveryId: string;
}

let world: World;

function machineByName(name: string): ExtractedStateMachine {
  const m = [...machines.values()].find((x) => x.stateMachineName === name);
  if (!m) throw new Error(`no state machine ${name}`);
  return m;
}

type Role = 'protocol' | 'recovery' | `worker:${string}`;

function roles(): Map<string, Role> {
  const out = new Map<string, Role>();
  for (const [id, r] of Object.entries(template.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = ((r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const service = String(vars['POWERTOOLS_SERVICE_NAME'] ?? '');
    if (service === 'protocol' || service === 'recovery') out.set(id, service);
    else if (typeof vars['WORKER_ID'] === 'string' && service === vars['WORKER_ID']) out.set(id, `worker:${service}`);
  }
  return out;
}

beforeEach(() => {
  const clock = new SimulatedClock(T0);
  const store = new InMemoryStateStore();
  const recoveries = new InMemoryRecoveryStore((w) => store.workerItem(w));
  const schedules = new InMemoryScheduleAdapter([
    { name: 'sched-youtube-trending', expression: 'cron(0/30 * * * ? *)', timezone: 'UTC', description: 'youtube_worker.trending' },
    { name: 'sched-youtube-games', expression: 'cron(0 5 * * ? *)', timezone: 'UTC', description: 'youtube_worker.games' },
    { name: 'sched-coach-cleanup', expression: 'cron(0 * * * ? *)', timezone: 'UTC', description: 'coach_cleanup_worker.cleanup' },
  ]);
  const scheduleKeys: Record<string, string> = {
    'youtube_worker.trending': 'sched-youtube-trending',
    'youtube_worker.games': 'sched-youtube-games',
    'coach_cleanup_worker.cleanup': 'sched-coach-cleanup',
  };
  const starter = new RecordingPipelineStarter();
  const alerts = new RecordingAlertPublisher();
  const workerCalls: unknown[] = [];
  const protocol = protocolModule.makeHandler({ store, clock: () => clock.now(), logger: silent }) as LambdaHandler;
  const recovery = makeRecoveryHandler({
    store,
    recoveries,
    schedules,
    pipelines: starter,
    queues: new InMemoryQueueAdapter(),
    alerts,
    clock: () => clock.now(),
    pipelineArnOf: (worker, job) => [...machines.values()].find((m) => m.stateMachineName === `${STACK_NAME}-${worker}-${job}`)?.arn,
    scheduleNamesOf: (worker) => Object.entries(scheduleKeys).filter(([k]) => k.startsWith(`${worker}.`)).map(([, v]) => v),
    logger: { info: () => undefined, warn: () => undefined },
  }) as LambdaHandler;

  const byId = roles();
  const resolveTask: ResolveTask = async (resource, parameters) => {
    const isInvoke = resource.endsWith(':states:::lambda:invoke');
    const target = isInvoke ? String((parameters as { FunctionName?: unknown }).FunctionName ?? '') : resource;
    const id = logicalIdFromArn(target) ?? '';
    const role = byId.get(id);
    const event = JSON.parse(JSON.stringify(isInvoke ? (parameters as { Payload?: unknown }).Payload : parameters)) as Record<string, unknown>;
    if (role === 'protocol') return protocol(event);
    if (role === 'recovery') {
      const result = (await recovery(event)) as Record<string, unknown>;
      return JSON.parse(JSON.stringify(result)) as unknown;
    }
    if (role?.startsWith('worker:')) {
      workerCalls.push(event);
      // A fan-out job's plan lists one item; every run or item succeeds.
      if (event['phase'] === 'plan') return { items: ['one'] };
      return workerResult(event, { sessions_cleaned: 1 });
    }
    throw Object.assign(new Error(`no local handler for ${resource}`), { name: 'States.Runtime' });
  };
  const runner = createLocalStateMachineRunner({
    definitions: [...machines.values()],
    resolveTask,
    timing: {
      // Every wait moves the simulated clock by what the state asks: `SecondsPath` and `TimestampPath`
      // arrive resolved against the wait's input (the runner reads them from the state's input).
      waitOverride: (info) => {
        if (info.timestamp !== undefined) clock.set(Math.max(clock.now(), Date.parse(info.timestamp)));
        else clock.advance((info.seconds ?? 0) * 1000);
        return 0;
      },
      retryIntervalMs: 0,
    },
  });
  world = { clock, store, recoveries, schedules, starter, alerts, runner, workerCalls, recoveryId: machineByName(`${STACK_NAME}-recovery`).logicalId };
});

const start = (input: Record<string, unknown>, name: string) => world.runner.startExecution(world.recoveryId, input, { name });

describe('API_QUOTA_LOW', () => {
  it('slows the schedules (x4), waits for the quota reset at midnight Pacific, then restores them', async () => {
    const exec = start({ alertId: 'alert-quota-1', worker: 'youtube_worker', job: 'trending', anomaly: 'API_QUOTA_LOW', actions: ['SLOW_SCHEDULE'], scheduledTime: '2026-03-02T04:00:00Z', severity: 'MEDIUM' }, 'alert-quota-1');
    const outcome = await exec.result;
    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');

    const updates = world.schedules.updates.map((u) => [u.name, u.expression]);
    expect(updates).toEqual([
      ['sched-youtube-trending', 'cron(0 0/2 * * ? *)'],
      ['sched-youtube-games', 'rate(4 days)'],
      ['sched-youtube-trending', 'cron(0/30 * * * ? *)'],
      ['sched-youtube-games', 'cron(0 5 * * ? *)'],
    ]);
    // While slowed, the original stays in the schedule's description; after, the description is clean again.
    expect(world.schedules.updates[0]?.description).toContain('original cron(0/30 * * * ? *)');
    expect(world.schedules.schedules.get('sched-youtube-trending')?.description).toBe('youtube_worker.trending');
    // Midnight America/Los_Angeles after 2026-03-02T04:00Z (PST, UTC-8) is 08:00Z.
    // (The simulated clock flows at real speed between jumps: allow the run's own milliseconds.)
    expect(world.clock.now() - Date.parse('2026-03-02T08:00:00.000Z')).toBeGreaterThanOrEqual(0);
    expect(world.clock.now() - Date.parse('2026-03-02T08:00:00.000Z')).toBeLessThan(5_000);

    const actions = world.recoveries.actions('alert-quota-1');
    expect(actions['slow-schedule']).toMatchObject({ result: 'APPLIED', action: 'SLOW_SCHEDULE', anomaly: 'API_QUOTA_LOW' });
    expect((actions['slow-schedule']?.['changes'] as { schedules: unknown[] }).schedules).toContainEqual({ name: 'sched-youtube-trending', original: 'cron(0/30 * * * ? *)', slowed: 'cron(0 0/2 * * ? *)', slowedHere: true });
    expect(actions['restore-schedule']).toMatchObject({ result: 'APPLIED' });
    expect(world.recoveries.get('RECOVERY#alert-quota-1', 'SUMMARY')).toMatchObject({ outcome: 'SUCCEEDED', verified: true, action: 'SLOW_SCHEDULE' });
  });
});

describe('HIGH_FAILURE_RATE', () => {
  it('opens the circuit, waits the open timeout, probes HALF_OPEN through the pipeline, and the probe closes the circuit', async () => {
    world.store.put(workerPk('coach_cleanup_worker'), STATE_SK, { circuit_cleanup: circuitAttr(CLOSED_CIRCUIT), version: 1 });
    const exec = start({ alertId: 'alert-hfr-1', worker: 'coach_cleanup_worker', job: 'cleanup', anomaly: 'HIGH_FAILURE_RATE', actions: ['OPEN_CIRCUIT', 'REDUCE_RATE'], scheduledTime: '2026-03-02T04:00:00Z', severity: 'HIGH' }, 'alert-hfr-1');
    const outcome = await exec.result;
    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');

    const actions = world.recoveries.actions('alert-hfr-1');
    expect(actions['open-circuit']).toMatchObject({ result: 'APPLIED', action: 'OPEN_CIRCUIT' });
    expect((actions['open-circuit']?.['changes'] as { circuit: { state: string } }).circuit.state).toBe('OPEN');
    expect(actions['half-open']?.['detail']).toMatch(/^circuit HALF_OPEN; probing with rcv-probe-coach_cleanup_worker-cleanup-/);
    expect(actions['record-circuit']).toMatchObject({ result: 'APPLIED', detail: 'circuit CLOSED after the probe' });

    // The probe ran the real pipeline once, as a recovery run, after the 900 s open timeout.
    expect(world.workerCalls).toHaveLength(1);
    const probeMachine = machineByName(`${STACK_NAME}-coach_cleanup_worker-cleanup`);
    const probes = world.runner.listExecutions(probeMachine.logicalId);
    expect(probes).toHaveLength(1);
    expect(probes[0]?.status).toBe('SUCCEEDED');
    expect(JSON.parse(world.runner.describeExecution(probes[0]?.executionArn ?? '').input)).toMatchObject({ worker: 'coach_cleanup_worker', job: 'cleanup', trigger: 'recovery' });
    // The open timeout's SecondsPath wait took the circuit's 900 s: HALF_OPEN came 900 s after OPEN.
    const openedAt = Date.parse(String(actions['open-circuit']?.['at']));
    const halfOpenAt = Date.parse(String(actions['half-open']?.['at']));
    expect(halfOpenAt - openedAt).toBeGreaterThanOrEqual(900_000);
    expect(halfOpenAt - openedAt).toBeLessThan(905_000);

    // The pipeline's Record closed the circuit; the schedule was slowed meanwhile and is restored.
    const state = world.store.workerItem('coach_cleanup_worker');
    expect((state?.['circuit_cleanup'] as { state: string }).state).toBe('CLOSED');
    expect(world.schedules.updates.map((u) => u.expression)).toEqual(['cron(0 0/4 * * ? *)', 'cron(0 * * * ? *)']);
    // Verified: the probe run recorded SUCCEEDED and the circuit closed.
    expect(world.recoveries.get('RECOVERY#alert-hfr-1', 'SUMMARY')).toMatchObject({ outcome: 'SUCCEEDED', verified: true, action: 'OPEN_CIRCUIT', target: 'coach_cleanup_worker.cleanup', reason: 'the probe of coach_cleanup_worker.cleanup SUCCEEDED and closed the circuit' });
  });

  it('a failing probe leaves the circuit OPEN, fails the recovery, and the second failure in a row escalates to on-call', async () => {
    const failing = async (alertId: string) => {
      const exec = start({ alertId, worker: 'coach_cleanup_worker', job: 'cleanup', anomaly: 'HIGH_FAILURE_RATE', actions: [], scheduledTime: '2026-03-02T04:00:00Z', severity: 'HIGH' }, alertId);
      return exec.result;
    };
    // Any run of the worker fails.
    world.store.put(workerPk('coach_cleanup_worker'), STATE_SK, { version: 1 });
    const original = world.workerCalls.push.bind(world.workerCalls);
    world.workerCalls.push = (...items: unknown[]) => {
      original(...items);
      throw Object.assign(new Error('upstream said no'), { name: 'UpstreamRejectedError' });
    };
    const first = await failing('alert-hfr-a');
    expect(first.status).toBe('FAILED');
    expect(first.error).toBe('RecoveryFailed');
    expect((world.store.workerItem('coach_cleanup_worker')?.['circuit_cleanup'] as { state: string }).state).toBe('OPEN');
    expect(world.recoveries.actions('alert-hfr-a')['record-circuit']).toMatchObject({ result: 'FAILED' });
    expect(world.alerts.pages).toHaveLength(0);

    const second = await failing('alert-hfr-b');
    expect(second.status).toBe('FAILED');
    expect(world.alerts.pages).toHaveLength(1);
    expect(world.alerts.pages[0]?.message).toMatchObject({ type: 'aurastream.recovery-escalation', reason: 'RECOVERY_FAILED_REPEATEDLY', consecutiveFailures: 2 });
  });
});

describe('every recovery action against every pipeline it can target', () => {
  const NO_RUN = 'RecoveryFailed';
  // Each anomaly whose action runs or changes a pipeline, with the outcomes it may honestly reach here
  // (no schedule runs in this harness: a lease check finds no later run; nothing is stale unless made so).
  // A job with dependencies may honestly FAIL here: its upstream never ran, so its run SKIPS (DEPENDENCY_FAILED).
  const hasDeps = (w: WorkerSpec): boolean => w.dependencies.length > 0 || w.executionModel === 'sub-pipeline' || w.blocks.length > 0;
  const cases: [AnomalyCode, (w: WorkerSpec) => readonly string[]][] = [
    // The restart budget is per worker and hour: a worker's second job finds it spent (NOT_APPLICABLE, with that reason).
    ['WORKER_CRASH', (w) => (w.executionModel === 'on-demand' ? ['NOT_APPLICABLE'] : hasDeps(w) ? ['SUCCEEDED', 'NOT_APPLICABLE', 'FAILED'] : ['SUCCEEDED', 'NOT_APPLICABLE'])],
    ['HIGH_FAILURE_RATE', (w) => (w.executionModel === 'on-demand' ? ['NOT_APPLICABLE'] : hasDeps(w) ? ['SUCCEEDED', 'FAILED'] : ['SUCCEEDED'])],
    ['SLOW_EXECUTION', () => ['SUCCEEDED', 'NOT_APPLICABLE']],
    ['STALE_DATA', (w) => (hasDeps(w) ? ['SUCCEEDED', 'NOT_APPLICABLE', 'FAILED'] : ['SUCCEEDED', 'NOT_APPLICABLE'])],
    ['DEPENDENCY_FAILURE', (w) => (hasDeps(w) ? ['SUCCEEDED', 'NOT_APPLICABLE', 'FAILED'] : ['SUCCEEDED', 'NOT_APPLICABLE'])],
    // No schedule runs in this harness: no later run takes the lock, so the lease change is not verified.
    ['LOCK_CONTENTION', (w) => (w.lockLeaseSeconds > 0 ? ['FAILED', 'NOT_APPLICABLE'] : ['NOT_APPLICABLE'])],
  ];
  const seen = new Map<string, Set<string>>();
  const pipelines = ALL_WORKERS.flatMap((w) => w.jobs.map((j) => ({ w, j })));

  it.each(cases)('%s: never a runtime error; SUCCEEDED only when verified, else FAILED or NOT_APPLICABLE with a reason', async (anomaly, allowed) => {
    for (const { w, j } of pipelines) {
      // Only jobs with a pipeline (on-demand single-step jobs run from their queue, not a state machine).
      if ([...machines.values()].every((m) => m.stateMachineName !== `${STACK_NAME}-${w.id}-${j.id}`)) continue;
      const alertId = `m-${anomaly}-${w.id}-${j.id}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 80);
      const outcome = await start({ alertId, worker: w.id, job: j.id, anomaly, actions: [], scheduledTime: '2026-03-02T04:00:00Z', severity: 'HIGH' }, alertId).result;
      const what = `${anomaly} on ${w.id}.${j.id}: ${outcome.error ?? ''} ${outcome.cause ?? ''}`;
      expect(outcome.error === undefined || outcome.error === NO_RUN, what).toBe(true);
      const summary = world.recoveries.get(`RECOVERY#${alertId}`, 'SUMMARY');
      expect(allowed(w), what).toContain(summary?.['outcome']);
      expect(summary?.['verified'], what).toBe(summary?.['outcome'] === 'SUCCEEDED');
      expect(String(summary?.['reason'] ?? ''), what).not.toBe('');
      // A recovery that fails is a failed execution; the others end Recovered.
      expect(outcome.status, what).toBe(summary?.['outcome'] === 'FAILED' ? 'FAILED' : 'SUCCEEDED');
      if (summary?.['outcome'] === 'NOT_APPLICABLE' && anomaly === 'WORKER_CRASH') expect(String(summary['reason']), what).toMatch(/restart budget spent|on demand/);
      const outcomes = seen.get(anomaly) ?? new Set<string>();
      outcomes.add(String(summary?.['outcome']));
      seen.set(anomaly, outcomes);
    }
    // Restart, probe and the timeout raise reach a verified success on the pipelines that need nothing upstream.
    if (anomaly === 'WORKER_CRASH' || anomaly === 'HIGH_FAILURE_RATE' || anomaly === 'SLOW_EXECUTION') expect(seen.get(anomaly)).toContain('SUCCEEDED');
  }, 120_000);
});
