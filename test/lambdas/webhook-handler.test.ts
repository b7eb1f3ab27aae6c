import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';

// The handler module reads its environment at import: give it one.
vi.hoisted(() => {
  process.env['WEBHOOK_URL'] = 'https://hooks.example.com/aurastream';
  process.env['WEBHOOK_SECRET_ARN'] = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-abc';
});

import { buildAlert, buildDigest, renderAlert, renderDigest, type Alert } from '../../lib/domain/alerting.js';
import { ConfigurationError, RetryableError, TransientUpstreamError } from '../../lib/domain/errors.js';
import { generateSecret, verify } from '../../lib/domain/webhook-signature.js';
import { handler, makeHandler } from '../../lambdas/webhook/handler.js';
import { WebhookDeliveryError, webhookUrlFrom, type WebhookHandlerDeps, type WebhookLogger } from '../../lambdas/webhook/delivery.js';
import { parseAlertMessage } from '../../lambdas/webhook/message.js';
import { SecretsManagerWebhookSecrets, StaticWebhookSecrets, type WebhookSecretSource } from '../../lambdas/webhook/secrets.js';

const T0 = Date.parse('2026-01-02T06:00:00.000Z');
const NOW = T0 + 30_000;
const CURRENT = generateSecret(32, (n) => new Uint8Array(n).fill(1));
const PREVIOUS = generateSecret(32, (n) => new Uint8Array(n).fill(2));
const URL_ = 'https://hooks.example.com/aurastream';

class FakeLogger implements WebhookLogger {
  keys: Record<string, string> = {};
  readonly lines: { level: string; message: string; keys: Record<string, string>; attributes: Record<string, unknown> }[] = [];
  appendKeys(attributes: Record<string, string>): void {
    this.keys = { ...this.keys, ...attributes };
  }
  resetKeys(): void {
    this.keys = {};
  }
  private log(level: string, message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level, message, keys: { ...this.keys }, attributes });
  }
  info(message: string, attributes: Record<string, unknown>): void {
    this.log('info', message, attributes);
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.log('warn', message, attributes);
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.log('error', message, attributes);
  }
}

const crash: Alert = buildAlert({
  finding: { code: 'WORKER_CRASH', severity: 'CRITICAL', worker: 'youtube_worker', detail: 'run crashed: States.Timeout', observed: 'States.Timeout', threshold: 'no crash' },
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:aurastream-youtube_worker:run-1',
  region: 'eu-west-1',
  raisedAtMs: T0,
});

const snsEvent = (...messages: string[]) => ({
  Records: messages.map((Message, i) => ({
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:alerts:sub',
    Sns: { Type: 'Notification', MessageId: `sns-${i}`, TopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts', Subject: 'x', Message, Timestamp: '2026-01-02T06:00:00.000Z', MessageAttributes: {} },
  })),
});

interface Call {
  readonly url: string;
  readonly init: RequestInit;
}

function setup(respond: (call: Call) => Response | Promise<Response>, secrets: WebhookSecretSource = new StaticWebhookSecrets([CURRENT, PREVIOUS]), timeoutMs = 1_000) {
  const calls: Call[] = [];
  const logger = new FakeLogger();
  const fetchFake = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = { url: String(input), init: init ?? {} };
    calls.push(call);
    return respond(call);
  }) as typeof fetch;
  const deps: WebhookHandlerDeps = { target: { url: URL_, timeoutMs }, secrets, fetch: fetchFake, clock: () => NOW, logger };
  return { handle: makeHandler(deps), calls, logger };
}

const headersOf = (call: Call): Record<string, string> => call.init.headers as Record<string, string>;

describe('delivered', () => {
  it('POSTs the SNS message verbatim, signed with both secrets, with the alert id as webhook-id', async () => {
    // Prepare
    const { handle, calls, logger } = setup(() => new Response(null, { status: 204 }));
    const message = renderAlert(crash).body;
    // Act
    const summary = await handle(snsEvent(message));
    // Assess
    expect(summary).toEqual({ records: 1, delivered: 1, rejected: 0, malformed: 0 });
    const [call] = calls;
    expect(call?.url).toBe(URL_);
    expect(call?.init).toMatchObject({ method: 'POST', body: message, redirect: 'manual' });
    expect(call?.init.signal).toBeInstanceOf(AbortSignal);
    const headers = headersOf(call as Call);
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': crash.id, 'webhook-timestamp': String(Math.floor(NOW / 1000)) });
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify([PREVIOUS], headers, message, Math.floor(NOW / 1000)).id).toBe(crash.id);
    const delivered = logger.lines.find((l) => l.message === 'webhook delivered');
    expect(delivered?.keys).toMatchObject({ alertId: crash.id, worker: 'youtube_worker', anomaly: 'WORKER_CRASH', severity: 'CRITICAL', snsMessageId: 'sns-0' });
  });

  it('delivers a digest with the digest id as webhook-id', async () => {
    const { handle, calls, logger } = setup(() => new Response('ok', { status: 200 }));
    const medium = (worker: string) =>
      buildAlert({ finding: { code: 'CACHE_MISS', severity: 'MEDIUM', worker, detail: 'miss', observed: true, threshold: false }, region: 'eu-west-1', raisedAtMs: T0 });
    const digest = buildDigest([medium('a'), medium('b')], T0 + 14 * 60_000).digest;
    if (digest === null) throw new Error('expected a digest');
    expect(await handle(snsEvent(renderDigest(digest).body))).toMatchObject({ delivered: 1 });
    expect(headersOf(calls[0] as Call)['webhook-id']).toBe(digest.id);
    expect(logger.lines.find((l) => l.message === 'webhook delivered')?.keys).toMatchObject({ worker: 'a,b', anomaly: 'CACHE_MISS' });
  });
});

describe('retryable failures', () => {
  it.each([500, 502, 503, 429, 408])('HTTP %i throws a retryable WebhookDeliveryError', async (status) => {
    const { handle } = setup(() => new Response('busy', { status, headers: status === 429 ? { 'retry-after': '30' } : {} }));
    const error = await handle(snsEvent(renderAlert(crash).body)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ name: 'WebhookDeliveryError', status, retryable: true });
    if (status === 429) expect((error as Error).message).toContain('retry-after 30');
  });

  it('a network failure or a timeout throws a retryable WebhookDeliveryError', async () => {
    const refused = setup(() => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })));
    await expect(refused.handle(snsEvent(renderAlert(crash).body))).rejects.toMatchObject({ name: 'WebhookDeliveryError', status: null });
    const hanging = (call: Call) => new Promise<Response>((_resolve, reject) => call.init.signal?.addEventListener('abort', () => reject(call.init.signal?.reason)));
    const slow = setup(hanging, undefined, 20);
    await expect(slow.handle(snsEvent(renderAlert(crash).body))).rejects.toThrow(/timed out after 20 ms/);
  });

  it('attempts every record before failing the invocation', async () => {
    let n = 0;
    const { handle, calls } = setup(() => new Response(null, { status: n++ === 0 ? 503 : 204 }));
    await expect(handle(snsEvent(renderAlert(crash).body, renderAlert(crash).body))).rejects.toBeInstanceOf(WebhookDeliveryError);
    expect(calls).toHaveLength(2);
  });

  it('a secret that cannot be read fails the invocation (Lambda retries, then the DLQ)', async () => {
    const broken: WebhookSecretSource = { signingSecrets: () => Promise.reject(new ConfigurationError('secret missing')) };
    const { handle, calls } = setup(() => new Response(null, { status: 204 }), broken);
    await expect(handle(snsEvent(renderAlert(crash).body))).rejects.toBeInstanceOf(ConfigurationError);
    expect(calls).toHaveLength(0);
  });
});

describe('permanent failures and malformed messages', () => {
  it.each([400, 401, 403, 404, 410, 422, 301])('HTTP %i is logged and not retried', async (status) => {
    const { handle, logger } = setup(() => new Response('nope', { status, headers: status === 301 ? { location: 'https://elsewhere' } : {} }));
    expect(await handle(snsEvent(renderAlert(crash).body))).toEqual({ records: 1, delivered: 0, rejected: 1, malformed: 0 });
    expect(logger.lines.find((l) => l.level === 'error')).toMatchObject({ message: 'webhook rejected permanently: not retried', attributes: { status, body: 'nope' }, keys: { alertId: crash.id } });
  });

  it.each([
    ['not JSON', 'hello'],
    ['JSON but not an envelope', '{"a":1}'],
    ['an unknown version', JSON.stringify({ ...renderAlert(crash).json, version: 2 })],
    ['an alert with a bad severity', JSON.stringify({ ...renderAlert(crash).json, alert: { ...crash, severity: 'URGENT' } })],
  ])('a message that is %s is logged and counted, and the rest of the batch is delivered', async (_name, bad) => {
    const { handle, calls, logger } = setup(() => new Response(null, { status: 204 }));
    expect(await handle(snsEvent(bad, renderAlert(crash).body))).toEqual({ records: 2, delivered: 1, rejected: 0, malformed: 1 });
    expect(calls).toHaveLength(1);
    expect(logger.lines.find((l) => l.message === 'malformed alert message')).toMatchObject({ level: 'error', keys: { snsMessageId: 'sns-0' }, attributes: { malformedMessages: 1 } });
  });

  it.each([undefined, {}, { Records: [{ Sns: {} }] }, 'x'])('an event that is not an SNS event (%j) does not crash', async (event) => {
    const { handle, calls } = setup(() => new Response(null, { status: 204 }));
    expect(await handle(event)).toMatchObject({ malformed: 1, delivered: 0 });
    expect(calls).toHaveLength(0);
  });
});

describe('message contract', () => {
  it('accepts what renderAlert produces', () => {
    expect(parseAlertMessage(renderAlert(crash).body)).toEqual({ ok: true, message: renderAlert(crash).json });
  });
});

describe('configuration', () => {
  it('accepts https, and http only on a loopback host', () => {
    expect(webhookUrlFrom('https://hooks.example.com/x')).toBe('https://hooks.example.com/x');
    expect(webhookUrlFrom('http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080/x');
    expect(() => webhookUrlFrom('http://hooks.example.com/x')).toThrow(ConfigurationError);
    expect(() => webhookUrlFrom('not a url')).toThrow(/WEBHOOK_URL must be an absolute URL/);
  });

  it('wires a module-scope handler from the environment', () => {
    expect(typeof handler).toBe('function');
  });
});

describe('SecretsManagerWebhookSecrets', () => {
  const client = (...answers: (string | Error)[]) => {
    const send = vi.fn(() => {
      const next = answers.shift();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve({ SecretString: next });
    });
    return { send, client: { send } as unknown as SecretsManagerClient };
  };

  it('reads current and previous, and caches them for the TTL', async () => {
    let now = 0;
    const fake = client(JSON.stringify({ current: CURRENT, previous: PREVIOUS }), JSON.stringify({ current: PREVIOUS }));
    const source = new SecretsManagerWebhookSecrets({ client: fake.client, secretId: 'arn:s', cacheTtlMs: 1_000, clock: () => now });
    expect(await source.signingSecrets()).toEqual([CURRENT, PREVIOUS]);
    now = 999;
    expect(await source.signingSecrets()).toEqual([CURRENT, PREVIOUS]);
    expect(fake.send).toHaveBeenCalledTimes(1);
    now = 1_000;
    expect(await source.signingSecrets()).toEqual([PREVIOUS]);
    expect(fake.send).toHaveBeenCalledTimes(2);
  });

  it('treats an empty previous as absent', async () => {
    const source = new SecretsManagerWebhookSecrets({ client: client(JSON.stringify({ current: CURRENT, previous: '' })).client, secretId: 'arn:s' });
    expect(await source.signingSecrets()).toEqual([CURRENT]);
  });

  it.each([
    ['not JSON', 'whsec_abc', /is not JSON/],
    ['without current', JSON.stringify({ previous: CURRENT }), /must be \{"current"/],
    ['with a malformed secret', JSON.stringify({ current: 'whsec_short' }), /webhook secret arn:s: webhook secret must/],
  ])('refuses a value %s with a ConfigurationError', async (_name, value, message) => {
    const source = new SecretsManagerWebhookSecrets({ client: client(value).client, secretId: 'arn:s' });
    const error = await source.signingSecrets().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });

  it('maps throttling to a retryable error and access denied to a configuration error', async () => {
    const throttled = new SecretsManagerWebhookSecrets({ client: client(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })).client, secretId: 'arn:s' });
    await expect(throttled.signingSecrets()).rejects.toBeInstanceOf(TransientUpstreamError);
    const denied = new SecretsManagerWebhookSecrets({ client: client(Object.assign(new Error('no'), { name: 'AccessDeniedException' })).client, secretId: 'arn:s' });
    await expect(denied.signingSecrets()).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('StaticWebhookSecrets refuses malformed or no secrets', () => {
    expect(() => new StaticWebhookSecrets([])).toThrow(ConfigurationError);
    expect(() => new StaticWebhookSecrets(['whsec_x'])).toThrow(ConfigurationError);
  });
});
