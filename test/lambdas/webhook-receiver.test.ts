import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildAlert, renderAlert } from '../../lib/domain/alerting.js';
import { generateSecret, signedHeaders } from '../../lib/domain/webhook-signature.js';
import { makeHandler, WebhookDeliveryError, type WebhookLogger } from '../../lambdas/webhook/delivery.js';
import { StaticWebhookSecrets } from '../../lambdas/webhook/secrets.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../local/webhook-receiver.js';

const T0 = Date.parse('2026-01-02T06:00:00.000Z');
const NOW = T0 + 10_000;
const CURRENT = generateSecret();
const PREVIOUS = generateSecret();
const OTHER = generateSecret();

const silent: WebhookLogger = { appendKeys: () => undefined, resetKeys: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const alert = buildAlert({
  finding: { code: 'STALE_DATA', severity: 'HIGH', worker: 'twitch_worker', detail: 'data is 7200 s old, threshold 3600 s', observed: 7200, threshold: 3600 },
  region: 'us-east-1',
  raisedAtMs: T0,
});
const message = renderAlert(alert).body;
const snsEvent = (...messages: string[]) => ({ Records: messages.map((Message, i) => ({ Sns: { MessageId: `m-${i}`, Message } })) });

describe('the webhook Lambda against the local receiver', () => {
  let receiver: WebhookReceiver;
  // The receiver has rotated to CURRENT but still accepts PREVIOUS.
  beforeEach(async () => {
    receiver = await startWebhookReceiver({ secrets: [CURRENT, PREVIOUS], clock: () => NOW });
  });
  afterEach(async () => {
    await receiver.close();
  });

  const handlerWith = (secrets: readonly string[], clockMs = NOW) =>
    makeHandler({ target: { url: receiver.url, timeoutMs: 2_000 }, secrets: new StaticWebhookSecrets(secrets), clock: () => clockMs, logger: silent });

  it('delivers a signed alert the receiver verifies and records', async () => {
    expect(await handlerWith([CURRENT, PREVIOUS])(snsEvent(message))).toMatchObject({ delivered: 1 });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ id: alert.id, timestampSec: Math.floor(NOW / 1000), secretIndex: 0, body: message, json: { version: 1, type: 'aurastream.alert', alert }, duplicate: false });
    expect(receiver.received[0]?.headers['content-type']).toBe('application/json');
  });

  it('a sender still on the previous secret is accepted during the rotation', async () => {
    await handlerWith([PREVIOUS])(snsEvent(message));
    expect(receiver.received[0]?.secretIndex).toBe(1);
  });

  it('a 5xx is retryable, and the retry (same webhook-id) is flagged as a duplicate only if the first got through', async () => {
    receiver.failNext(503);
    const handle = handlerWith([CURRENT]);
    await expect(handle(snsEvent(message))).rejects.toBeInstanceOf(WebhookDeliveryError);
    expect(receiver.received).toHaveLength(0);
    await handle(snsEvent(message)); // Lambda's async retry
    await handle(snsEvent(message)); // a redelivery after success
    expect(receiver.received.map((r) => r.duplicate)).toEqual([false, true]);
    expect(receiver.unique().map((r) => r.id)).toEqual([alert.id]);
  });

  it('a 4xx is permanent: logged, not thrown', async () => {
    receiver.failNext(422);
    expect(await handlerWith([CURRENT])(snsEvent(message))).toEqual({ records: 1, delivered: 0, rejected: 1, malformed: 0 });
  });

  it('a sender with the wrong secret is refused with 401 (a permanent failure for the sender)', async () => {
    expect(await handlerWith([OTHER])(snsEvent(message))).toMatchObject({ rejected: 1 });
    expect(receiver.rejected).toEqual([{ status: 401, reason: 'NO_MATCHING_SIGNATURE' }]);
  });

  it('a stale signature is refused', async () => {
    expect(await handlerWith([CURRENT], NOW - 301_000)(snsEvent(message))).toMatchObject({ rejected: 1 });
    expect(receiver.rejected[0]?.reason).toBe('TIMESTAMP_TOO_OLD');
  });

  it('a malformed SNS message never reaches the receiver and does not crash the batch', async () => {
    expect(await handlerWith([CURRENT])(snsEvent('{"broken"', message))).toEqual({ records: 2, delivered: 1, rejected: 0, malformed: 1 });
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses a tampered body and a non-POST request', async () => {
    const ts = Math.floor(NOW / 1000);
    const tampered = await fetch(receiver.url, { method: 'POST', headers: { ...signedHeaders(CURRENT, 'x', ts, message) }, body: message.replace('7200', '7201') });
    expect(tampered.status).toBe(401);
    expect((await fetch(receiver.url)).status).toBe(405);
    expect(receiver.rejected.map((r) => r.reason)).toEqual(['NO_MATCHING_SIGNATURE', 'METHOD_NOT_ALLOWED']);
  });
});
