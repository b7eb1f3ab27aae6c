/**
 * Signed-webhook delivery of alert messages. Subscribed to the alert topic: for each SNS record it
 * parses the versioned alert envelope, signs the message text (Standard Webhooks, webhook-id =
 * alert or digest id, so receivers dedupe retries) and POSTs it to the target.
 *
 * | outcome                                   | handling                                              |
 * |-------------------------------------------|-------------------------------------------------------|
 * | 2xx                                       | delivered                                             |
 * | 408, 429, 5xx, timeout, network failure   | WebhookDeliveryError (retryable): the invocation fails |
 * |                                           | and Lambda's async retries, then the on-failure       |
 * |                                           | destination / DLQ, take over                          |
 * | other status (3xx is not followed, 4xx)   | permanent: logged, not retried                        |
 * | message not JSON or not a v1 envelope     | logged and counted, not retried                       |
 * | secret missing or malformed               | ConfigurationError thrown: retried, then the DLQ, so  |
 * |                                           | the alert can be redriven once the secret is fixed    |
 */
import type { AlertMessage } from '../../lib/domain/alerting.js';
import { ConfigurationError, RetryableError } from '../../lib/domain/errors.js';
import { signedHeaders } from '../../lib/domain/webhook-signature.js';
import { messageId, parseAlertMessage, SnsEventSchema } from './message.js';
import type { WebhookSecretSource } from './secrets.js';

/** Default time allowed for one POST, response body included, in ms. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;

export const WEBHOOK_USER_AGENT = 'AuraStream-Alerts/1';

/** The webhook could not be delivered for now (throttled, server error, timeout, network). */
export class WebhookDeliveryError extends RetryableError {
  override readonly name = 'WebhookDeliveryError';
  constructor(
    message: string,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The part of the Powertools Logger the handler uses (tests pass a fake). */
export interface WebhookLogger {
  appendKeys(attributes: Record<string, string>): void;
  resetKeys(): void;
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface WebhookTarget {
  readonly url: string;
  /** @default DEFAULT_WEBHOOK_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export interface WebhookHandlerDeps {
  readonly target: WebhookTarget;
  readonly secrets: WebhookSecretSource;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Epoch ms, for the webhook-timestamp. @default Date.now */
  readonly clock?: () => number;
  readonly logger: WebhookLogger;
}

export interface WebhookBatchSummary {
  readonly records: number;
  readonly delivered: number;
  /** Answered with a permanent (non-retryable) status. */
  readonly rejected: number;
  /** Not an alert message: logged, never delivered. */
  readonly malformed: number;
}

export type DeliveryResult = { readonly outcome: 'delivered'; readonly status: number } | { readonly outcome: 'rejected'; readonly status: number; readonly bodyExcerpt: string };

/** The target URL from configuration: https, or http on a loopback host (local runs and tests). */
export function webhookUrlFrom(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`WEBHOOK_URL must be an absolute URL, got "${raw}"`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigurationError(`WEBHOOK_URL must use https (http only on a loopback host), got "${url.protocol}//${url.host}"`);
  }
  return url.toString();
}

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

async function bodyExcerpt(response: Response): Promise<string> {
  try {
    return (await response.text()).slice(0, 300);
  } catch {
    return '';
  }
}

/** POSTs one signed message. Throws WebhookDeliveryError when a retry may help. */
export async function deliverWebhook(
  deps: Pick<WebhookHandlerDeps, 'target' | 'fetch' | 'clock'>,
  secrets: readonly string[],
  id: string,
  body: string,
): Promise<DeliveryResult> {
  const timeoutMs = deps.target.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const timestampSec = Math.floor((deps.clock ?? Date.now)() / 1000);
  let response: Response;
  let excerpt: string;
  try {
    response = await (deps.fetch ?? globalThis.fetch)(deps.target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': WEBHOOK_USER_AGENT, ...signedHeaders(secrets, id, timestampSec, body) },
      body,
      // A signed alert is never forwarded to wherever a redirect points: 3xx is a permanent failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    excerpt = await bodyExcerpt(response);
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const why = timedOut ? `timed out after ${timeoutMs} ms` : `failed (${error instanceof Error ? error.message : String(error)})`;
    throw new WebhookDeliveryError(`webhook POST ${why}`, null, { cause: error });
  }
  if (response.status >= 200 && response.status < 300) return { outcome: 'delivered', status: response.status };
  if (isRetryableStatus(response.status)) {
    const retryAfter = response.headers.get('retry-after');
    throw new WebhookDeliveryError(`webhook answered ${response.status}${retryAfter === null ? '' : ` (retry-after ${retryAfter})`}: ${excerpt}`, response.status);
  }
  return { outcome: 'rejected', status: response.status, bodyExcerpt: excerpt };
}

function logKeys(message: AlertMessage, snsMessageId: string): Record<string, string> {
  if (message.type === 'aurastream.alert') {
    const { alert } = message;
    return { alertId: alert.id, worker: alert.worker, anomaly: alert.anomaly, severity: alert.severity, snsMessageId };
  }
  const { digest } = message;
  return { alertId: digest.id, worker: digest.workers.join(','), anomaly: digest.anomalies.join(','), severity: digest.severity, snsMessageId };
}

/**
 * The SNS-subscribed handler. Every record is attempted; when any failed retryably the invocation
 * then fails with a WebhookDeliveryError (records already delivered are re-sent on the retry with
 * the same webhook-id, which receivers dedupe). SNS hands Lambda one record per invocation.
 */
export const makeHandler =
  (deps: WebhookHandlerDeps) =>
  async (event: unknown): Promise<WebhookBatchSummary> => {
    const { logger } = deps;
    const parsedEvent = SnsEventSchema.safeParse(event);
    if (!parsedEvent.success) {
      logger.resetKeys();
      logger.error('malformed alert message', { reason: 'event is not an SNS event', malformedMessages: 1 });
      return { records: 0, delivered: 0, rejected: 0, malformed: 1 };
    }
    const records = parsedEvent.data.Records;
    let delivered = 0;
    let rejected = 0;
    let malformed = 0;
    const failures: WebhookDeliveryError[] = [];
    for (const { Sns: sns } of records) {
      logger.resetKeys();
      logger.appendKeys({ snsMessageId: sns.MessageId });
      const parsed = parseAlertMessage(sns.Message);
      if (!parsed.ok) {
        malformed++;
        logger.error('malformed alert message', { reason: parsed.reason, excerpt: sns.Message.slice(0, 200), malformedMessages: 1 });
        continue;
      }
      logger.appendKeys(logKeys(parsed.message, sns.MessageId));
      // A missing or malformed secret throws ConfigurationError: the whole invocation fails, to be redriven from the DLQ.
      const secrets = await deps.secrets.signingSecrets();
      try {
        const result = await deliverWebhook(deps, secrets, messageId(parsed.message), sns.Message);
        if (result.outcome === 'delivered') {
          delivered++;
          logger.info('webhook delivered', { status: result.status, signatures: secrets.length });
        } else {
          rejected++;
          logger.error('webhook rejected permanently: not retried', { status: result.status, body: result.bodyExcerpt });
        }
      } catch (error) {
        if (!(error instanceof WebhookDeliveryError)) throw error;
        failures.push(error);
        logger.warn('webhook delivery failed: will be retried', { status: error.status, error: error.message });
      }
    }
    logger.resetKeys();
    const summary = { records: records.length, delivered, rejected, malformed };
    const [first] = failures;
    if (first !== undefined) {
      logger.warn('webhook batch has retryable failures', { ...summary, retryable: failures.length });
      if (failures.length === 1) throw first;
      throw new WebhookDeliveryError(`${failures.length} of ${records.length} webhook deliveries failed; first: ${first.message}`, first.status, { cause: first });
    }
    logger.info('webhook batch done', { ...summary });
    return summary;
  };
