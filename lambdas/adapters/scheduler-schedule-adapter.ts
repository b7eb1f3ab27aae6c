/**
 * The recovery's ScheduleAdapter on EventBridge Scheduler. UpdateSchedule replaces the schedule
 * whole (fields left out are reset), so an update reads the schedule first and sends every field
 * back with only the expression and description changed. UpdateSchedule passes the target's role
 * to Scheduler again, hence the caller needs iam:PassRole on that role.
 */
import { GetScheduleCommand, UpdateScheduleCommand, type GetScheduleCommandOutput, type SchedulerClient, type UpdateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import type { ScheduleAdapter, ScheduleDetails } from '../recovery/ports.js';

/** The UpdateSchedule input that reproduces a schedule, with the expression and description replaced. */
export function updateInputFrom(current: GetScheduleCommandOutput, groupName: string, change: { expression: string; description: string }): UpdateScheduleCommandInput {
  if (current.Name === undefined || current.Target === undefined || current.FlexibleTimeWindow === undefined) {
    throw new Error(`schedule ${current.Name ?? '(unnamed)'} in group ${groupName}: GetSchedule returned no name, target or time window`);
  }
  return {
    Name: current.Name,
    GroupName: groupName,
    ScheduleExpression: change.expression,
    Description: change.description,
    FlexibleTimeWindow: current.FlexibleTimeWindow,
    Target: current.Target,
    ...(current.ScheduleExpressionTimezone !== undefined ? { ScheduleExpressionTimezone: current.ScheduleExpressionTimezone } : {}),
    ...(current.StartDate !== undefined ? { StartDate: current.StartDate } : {}),
    ...(current.EndDate !== undefined ? { EndDate: current.EndDate } : {}),
    ...(current.State !== undefined ? { State: current.State } : {}),
    ...(current.KmsKeyArn !== undefined ? { KmsKeyArn: current.KmsKeyArn } : {}),
    ...(current.ActionAfterCompletion !== undefined ? { ActionAfterCompletion: current.ActionAfterCompletion } : {}),
  };
}

export class SchedulerScheduleAdapter implements ScheduleAdapter {
  constructor(
    private readonly client: SchedulerClient,
    private readonly groupName: string,
  ) {}

  private read(name: string): Promise<GetScheduleCommandOutput> {
    return this.client.send(new GetScheduleCommand({ Name: name, GroupName: this.groupName }));
  }

  async get(name: string): Promise<ScheduleDetails> {
    const out = await this.read(name);
    if (out.ScheduleExpression === undefined) throw new Error(`schedule ${name} in group ${this.groupName} has no expression`);
    return { name, expression: out.ScheduleExpression, timezone: out.ScheduleExpressionTimezone ?? 'UTC', description: out.Description ?? '' };
  }

  async update(name: string, change: { readonly expression: string; readonly description: string }): Promise<void> {
    const current = await this.read(name);
    await this.client.send(new UpdateScheduleCommand(updateInputFrom(current, this.groupName, change)));
  }
}
