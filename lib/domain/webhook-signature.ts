/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1): three headers,
 *
 *   webhook-id         a unique message id (receivers dedupe retries on it)
 *   webhook-timestamp  unix seconds when the request was signed
 *   webhook-signature  space-separated `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`
 *
 * Secrets are `whsec_<base64 key>`; the key is the decoded base64. During a rotation the sender
 * signs with every active secret (one `v1,` entry each) and the receiver accepts a match with any
 * of its secrets. Verification compares in constant time and rejects timestamps outside a
 * tolerance either way (replay and clock-skew protection). Pure: node:crypto only.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** How far a timestamp may lie from the receiver's clock, either way, in seconds (the spec's default). */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** The spec asks for keys of 24 to 64 bytes; we refuse shorter ones and accept longer ones. */
export const MIN_SECRET_BYTES = 24;

export type WebhookBody = string | Uint8Array;

/** The three headers a signed request carries (a type literal, so it is also a `HeaderSource`). */
export type WebhookHeaders = {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
};

/** Headers as fetch gives them (`Headers`) or as node:http gives them (lower-case record). */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export const VERIFICATION_FAILURES = ['MISSING_HEADERS', 'INVALID_TIMESTAMP', 'TIMESTAMP_TOO_OLD', 'TIMESTAMP_TOO_NEW', 'NO_MATCHING_SIGNATURE'] as const;
export type VerificationFailure = (typeof VERIFICATION_FAILURES)[number];

/** A request that does not carry a valid signature. `reason` says which check failed. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** A secret that is not `whsec_<base64>` of at least MIN_SECRET_BYTES bytes. */
export class InvalidWebhookSecretError extends Error {
  override readonly name = 'InvalidWebhookSecretError';
}

export interface VerifiedWebhook {
  readonly id: string;
  readonly timestampSec: number;
  /** Index into the secrets given to `verify` of the one that matched (0 = the current one). */
  readonly secretIndex: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The HMAC key of a `whsec_<base64>` secret. The prefix is optional, as in the reference libraries. */
export function parseSecret(secret: string): Buffer {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  if (encoded === '' || !BASE64.test(encoded)) throw new InvalidWebhookSecretError(`webhook secret must be ${WEBHOOK_SECRET_PREFIX}<base64>, got a malformed value`);
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES) throw new InvalidWebhookSecretError(`webhook secret must decode to at least ${MIN_SECRET_BYTES} bytes, got ${key.length}`);
  return key;
}

/** A fresh random secret, `whsec_` + base64 of `bytes` random bytes. */
export function generateSecret(bytes = 32, random: (size: number) => Uint8Array = randomBytes): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES) throw new InvalidWebhookSecretError(`a webhook secret needs at least ${MIN_SECRET_BYTES} bytes, got ${bytes}`);
  return `${WEBHOOK_SECRET_PREFIX}${Buffer.from(random(bytes)).toString('base64')}`;
}

function checkTimestamp(timestampSec: number): void {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError(`webhook timestamp must be whole unix seconds, got ${timestampSec}`);
}

function hmacBase64(key: Buffer, id: string, timestampSec: number, body: WebhookBody): string {
  return createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest('base64');
}

const asList = (secrets: string | readonly string[]): readonly string[] => (typeof secrets === 'string' ? [secrets] : secrets);

/** The `webhook-signature` value: one `v1,<base64>` entry per secret, in the order given. */
export function sign(secrets: string | readonly string[], id: string, timestampSec: number, body: WebhookBody): string {
  const list = asList(secrets);
  if (list.length === 0) throw new InvalidWebhookSecretError('at least one webhook secret is needed to sign');
  if (id === '') throw new RangeError('webhook id must not be empty');
  checkTimestamp(timestampSec);
  return list.map((secret) => `v1,${hmacBase64(parseSecret(secret), id, timestampSec, body)}`).join(' ');
}

/** All three headers of a signed request. */
export function signedHeaders(secrets: string | readonly string[], id: string, timestampSec: number, body: WebhookBody): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': sign(secrets, id, timestampSec, body),
  };
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(' ');
}

function constantTimeEquals(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Length is no secret (every v1 signature is 44 characters); only equal lengths are compared.
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Verifies a request against every secret; the body must be the raw bytes received. Throws
 * WebhookVerificationError (missing headers, bad or out-of-tolerance timestamp, no matching
 * signature) or InvalidWebhookSecretError (a malformed secret of our own).
 */
export function verify(secrets: string | readonly string[], headers: HeaderSource, body: WebhookBody, nowSec: number, toleranceSec = DEFAULT_TOLERANCE_SECONDS): VerifiedWebhook {
  const keys = asList(secrets).map(parseSecret);
  if (keys.length === 0) throw new InvalidWebhookSecretError('at least one webhook secret is needed to verify');
  const id = header(headers, WEBHOOK_HEADERS.id);
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp);
  const signature = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestamp || !signature) {
    const missing = Object.values(WEBHOOK_HEADERS).filter((name) => !header(headers, name));
    throw new WebhookVerificationError('MISSING_HEADERS', `missing webhook header(s): ${missing.join(', ')}`);
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('INVALID_TIMESTAMP', `webhook-timestamp must be unix seconds, got "${timestamp.slice(0, 32)}"`);
  const timestampSec = Number(timestamp);
  if (timestampSec < nowSec - toleranceSec) throw new WebhookVerificationError('TIMESTAMP_TOO_OLD', `webhook-timestamp ${timestampSec} is more than ${toleranceSec} s before now (${nowSec})`);
  if (timestampSec > nowSec + toleranceSec) throw new WebhookVerificationError('TIMESTAMP_TOO_NEW', `webhook-timestamp ${timestampSec} is more than ${toleranceSec} s after now (${nowSec})`);

  // Entries of other versions (e.g. v1a, asymmetric) are skipped, as the spec asks.
  const candidates = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
  for (const [secretIndex, key] of keys.entries()) {
    const expected = hmacBase64(key, id, timestampSec, body);
    // Every candidate is compared (no early exit inside one key) so timing says nothing about position.
    let matched = false;
    for (const candidate of candidates) matched = constantTimeEquals(candidate, expected) || matched;
    if (matched) return { id, timestampSec, secretIndex };
  }
  throw new WebhookVerificationError('NO_MATCHING_SIGNATURE', 'no webhook-signature entry matches any of our secrets');
}
