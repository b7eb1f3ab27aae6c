/** A recovery page never reads like an alert: its SNS subject starts with the page prefix. */
import type { SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { PAGE_SUBJECT_PREFIX, SnsAlertPublisher } from '../../lambdas/recovery/adapters.js';

describe('SnsAlertPublisher.page', () => {
  it('publishes to the on-call topic under a subject distinct from alerts', async () => {
    const sent: PublishCommand[] = [];
    const client = { send: (c: PublishCommand) => (sent.push(c), Promise.resolve({})) } as unknown as SNSClient;
    await new SnsAlertPublisher(client, 'arn:aws:sns:eu-west-1:123456789012:oncall').page('[HIGH] WORKER_CRASH on youtube_worker: recovery under way', { severity: 'HIGH' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(PublishCommand);
    expect(sent[0]?.input.Subject).toBe(`${PAGE_SUBJECT_PREFIX} [HIGH] WORKER_CRASH on youtube_worker: recovery under way`);
    // Alerts read `[AuraStream HIGH] ...` (lib/domain/alerting.ts): a page does not.
    expect(sent[0]?.input.Subject).not.toMatch(/^\[AuraStream (CRITICAL|HIGH|MEDIUM|LOW)\]/);
  });
});
