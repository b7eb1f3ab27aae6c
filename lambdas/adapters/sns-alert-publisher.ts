/**
 * The AlertPublisher port on SNS: one alert topic, every message published with
 * `MessageStructure: 'json'` (email subscribers get the text, every other protocol the versioned
 * JSON envelope) and the `type`, `severity`, `worker` and `anomaly` message attributes that the
 * subscriptions' filter policies match (docs/alerting.md, "Topic design").
 */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { snsMessageStructure, type AlertMessageAttributes, type RenderedMessage } from '../../lib/domain/alerting.js';
import type { AlertPublisher } from '../../lib/domain/anomaly-evaluation.js';
import type { OutboxPublisher } from '../../lib/domain/outbox.js';

/** SNS message attributes: a string as `String`, an array as `String.Array` (its JSON). */
export function snsMessageAttributes(attributes: AlertMessageAttributes): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]): [string, MessageAttributeValue] => [
      name,
      typeof value === 'string' ? { DataType: 'String', StringValue: value } : { DataType: 'String.Array', StringValue: JSON.stringify(value) },
    ]),
  );
}

/** A message rendered for people and machines (an alert, a page), as the topics' subscriptions expect it. */
export type PublishableMessage = Pick<RenderedMessage, 'subject' | 'text' | 'body'> & { readonly attributes: AlertMessageAttributes };

/** One Publish: `MessageStructure: 'json'` (email gets the text, other protocols the JSON) and the filterable attributes. */
export async function publishRendered(client: SNSClient, topicArn: string, message: PublishableMessage): Promise<void> {
  await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: message.subject,
      MessageStructure: 'json',
      Message: snsMessageStructure(message),
      MessageAttributes: snsMessageAttributes(message.attributes),
    }),
  );
}

/** The alert topic: alerts (AlertPublisher) and any outbox entry (OutboxPublisher: alerts, incident notifications). */
export class SnsAlertPublisher implements AlertPublisher, OutboxPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(message: RenderedMessage): Promise<void> {
    await publishRendered(this.client, this.topicArn, message);
  }
}
