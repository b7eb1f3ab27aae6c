/**
 * A flaky worker in the local runtime (the synthesized pipeline, the real protocol and anomaly
 * Lambdas, the emulated stream): the report that takes the rolling failure rate above 10 % raises
 * HIGH_FAILURE_RATE itself, inside the HIGH deadline, because the Record step writes the window
 * counters before the report. 55 simulated minutes, one bucket.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { ALERT_DEADLINE_SECONDS, THRESHOLDS } from '../../lib/domain/anomaly-rules.js';
import { startLocalRuntime, SimulatedClock, synthesizeTemplate, type LocalRuntime } from '../../local/runtime.js';
import { LocalAlertSink } from '../../local/self-healing.js';
import type { CfnTemplate } from '../../local/template-asl.js';
import { workerResult } from '../support/worker-result.js';

const T0 = Date.parse('2026-03-02T04:00:00.000Z');
const SLOT_MS = 5 * 60_000;
let template: CfnTemplate;
let rt: LocalRuntime | undefined;

class UpstreamRejected extends Error {
  override readonly name = 'UpstreamRejectedError';
}

beforeAll(() => {
  template = synthesizeTemplate();
});

afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('a flaky worker', () => {
  it('raises HIGH_FAILURE_RATE on the report that crosses 10 %, within the HIGH deadline', async () => {
    // 9 runs succeed, the 10th fails (1 of 10: 10 %, and one failure is below the minimum sample), the 11th fails (2 of 11: 18 %).
    const failing = new Set([10, 11]);
    const clock = new SimulatedClock(T0);
    const sink = new LocalAlertSink();
    let run = 0;
    rt = await startLocalRuntime({
      clock,
      template,
      alertSink: sink,
      workerHandlers: {
        coach_cleanup_worker: async (event: unknown) => {
          run += 1;
          if (failing.has(run)) throw new UpstreamRejected('upstream said 400');
          return workerResult(event, { sessions_cleaned: 1 });
        },
      },
    });
    const healing = rt.selfHealing;
    if (!healing) throw new Error('self-healing is off');

    const alertsAfterRun: string[][] = [];
    for (let k = 0; k < 11; k++) {
      const slot = new Date(T0 + k * SLOT_MS).toISOString();
      clock.set(T0 + k * SLOT_MS);
      await rt.start('coach_cleanup_worker', 'cleanup', { scheduledTime: slot, trigger: 'schedule' }).result;
      await healing.flush();
      alertsAfterRun.push(sink.carried().map((a) => a.anomaly).filter((code) => code === 'HIGH_FAILURE_RATE'));
    }

    expect(THRESHOLDS.failureRateMinFailures).toBe(2);
    // Quiet through the 10th report, raised by the 11th: the report that crossed the threshold.
    expect(alertsAfterRun.slice(0, 10).every((codes) => codes.length === 0)).toBe(true);
    expect(alertsAfterRun[10]).toEqual(['HIGH_FAILURE_RATE']);
    const alert = sink.carried().find((a) => a.anomaly === 'HIGH_FAILURE_RATE');
    expect(alert).toMatchObject({ severity: 'HIGH', worker: 'coach_cleanup_worker' });
    const crossing = await documentClient(rt.dynamo.client).send(
      new GetCommand({ TableName: rt.tableName, Key: { pk: 'WORKER#coach_cleanup_worker', sk: `REPORT#${new Date(T0 + 10 * SLOT_MS).toISOString()}#cleanup` } }),
    );
    expect(crossing.Item).toMatchObject({ status: 'FAILED' });
    const crossingReportAt = Date.parse(String(crossing.Item?.['completedAt']));
    const lateBySeconds = (Date.parse(alert?.raisedAt ?? '') - crossingReportAt) / 1000;
    expect(lateBySeconds).toBeGreaterThanOrEqual(0);
    expect(lateBySeconds).toBeLessThanOrEqual(ALERT_DEADLINE_SECONDS.HIGH ?? 0);
    // The incident's recovery (open the circuit, wait out its timeout, probe) runs on: let it end before
    // the runtime and its table close under it.
    await Promise.all(healing.recoveries.map((r) => r.result));
    for (let turn = 0; turn < 10_000 && rt.runner.listExecutions(rt.pipelineOf('coach_cleanup_worker', 'cleanup')).some((e) => e.status === 'RUNNING'); turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await healing.flush();
  });
});
