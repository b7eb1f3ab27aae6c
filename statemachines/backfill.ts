/**
 * The backfill state machine: runs the missed slots of one job, one after the other, each as the
 * job's own pipeline (`startExecution.sync:2`), so every slot goes through the same Gate (pause,
 * circuit, dependencies, lock, slot claim) and Record as a scheduled run.
 *
 *   input  { worker, job, runs: [{ stateMachineArn, name, input }] }   (ascending slots)
 *   RunSlots (Map, MaxConcurrency 1) ─► RunSlot (startExecution.sync:2) ─► Ran
 *                                              └─ Catch States.ALL ─► NotRun (recorded, next slot)
 *
 * A child name is per slot (`backfill-<slot>`): Step Functions refuses a second execution of that
 * name on the pipeline (ExecutionAlreadyExists, caught as NotRun), so a re-driven backfill never
 * runs a slot twice. A failed slot does not stop the others; its report says why it failed.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** How long one backfilled slot's pipeline may take (the longest pipeline budget is 2 h). */
export const BACKFILL_SLOT_TIMEOUT_SECONDS = 2 * 3600;

export function buildBackfill(scope: Construct): sfn.IChainable {
  const runSlot = new sfn.CustomState(scope, 'RunSlot', {
    stateJson: {
      Type: 'Task',
      Comment: 'The job\'s pipeline for one missed slot (trigger backfill), waited for.',
      Resource: `arn:${Aws.PARTITION}:states:::states:startExecution.sync:2`,
      Parameters: {
        'StateMachineArn.$': '$.stateMachineArn',
        'Name.$': '$.name',
        'Input.$': '$.input',
      },
      ResultSelector: { 'executionArn.$': '$.ExecutionArn', 'status.$': '$.Status' },
      ResultPath: '$.run',
      TimeoutSeconds: BACKFILL_SLOT_TIMEOUT_SECONDS,
    },
  });
  const notRun = new sfn.Pass(scope, 'NotRun', { comment: 'The slot\'s pipeline failed or already existed: its error is kept, the next slot runs.' });
  runSlot.addCatch(notRun, { errors: ['States.ALL'], resultPath: '$.failure' });
  const ran = new sfn.Pass(scope, 'Ran');
  runSlot.next(ran);
  const map = new sfn.Map(scope, 'RunSlots', {
    comment: 'The missed slots in order, one at a time.',
    itemsPath: '$.runs',
    maxConcurrency: 1,
    resultPath: '$.results',
  });
  map.itemProcessor(runSlot);
  return map;
}

/** The backfill's overall budget: BACKFILL_MAX_SLOTS slots of a short job, or a few long ones. */
export const BACKFILL_TIMEOUT = Duration.hours(24);
