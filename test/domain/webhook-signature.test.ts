import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOLERANCE_SECONDS,
  generateSecret,
  InvalidWebhookSecretError,
  parseSecret,
  sign,
  signedHeaders,
  verify,
  WebhookVerificationError,
  type VerificationFailure,
} from '../../lib/domain/webhook-signature.js';

// The Standard Webhooks specification's published test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestampSec: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;

const SECRET_A = generateSecret(32, (n) => new Uint8Array(n).fill(0xa1));
const SECRET_B = generateSecret(32, (n) => new Uint8Array(n).fill(0xb2));
const NOW_SEC = 1_767_225_600; // 2026-01-01T00:00:00Z

function failure(fn: () => unknown): VerificationFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
  throw new Error('expected a WebhookVerificationError');
}

describe('the Standard Webhooks test vector', () => {
  it('signs it byte for byte', () => {
    expect(sign(VECTOR.secret, VECTOR.id, VECTOR.timestampSec, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('verifies it, with or without the whsec_ prefix, as a string or as bytes', () => {
    const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestampSec), 'webhook-signature': VECTOR.signature };
    expect(verify(VECTOR.secret, headers, VECTOR.body, VECTOR.timestampSec)).toEqual({ id: VECTOR.id, timestampSec: VECTOR.timestampSec, secretIndex: 0 });
    expect(verify(VECTOR.secret.slice('whsec_'.length), headers, Buffer.from(VECTOR.body), VECTOR.timestampSec).id).toBe(VECTOR.id);
  });

  it('matches a plain HMAC-SHA256 over "id.timestamp.body" (an independent computation)', () => {
    const key = Buffer.from(VECTOR.secret.slice(6), 'base64');
    const expected = createHmac('sha256', key).update(`${VECTOR.id}.${VECTOR.timestampSec}.${VECTOR.body}`).digest('base64');
    expect(sign(VECTOR.secret, VECTOR.id, VECTOR.timestampSec, VECTOR.body)).toBe(`v1,${expected}`);
  });
});

describe('sign and verify', () => {
  const body = '{"version":1,"type":"aurastream.alert"}';
  const headers = signedHeaders(SECRET_A, 'alert_1', NOW_SEC, body);

  it('round-trips, with Headers or a node:http-style record (any case)', () => {
    expect(verify([SECRET_A], new Headers({ ...headers }), body, NOW_SEC).id).toBe('alert_1');
    expect(verify([SECRET_A], { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'webhook-signature': headers['webhook-signature'] }, body, NOW_SEC).timestampSec).toBe(NOW_SEC);
  });

  it.each<[string, () => unknown, VerificationFailure]>([
    ['a tampered body', () => verify(SECRET_A, headers, body.replace('1', '2'), NOW_SEC), 'NO_MATCHING_SIGNATURE'],
    ['a wrong secret', () => verify(SECRET_B, headers, body, NOW_SEC), 'NO_MATCHING_SIGNATURE'],
    ['another id', () => verify(SECRET_A, { ...headers, 'webhook-id': 'alert_2' }, body, NOW_SEC), 'NO_MATCHING_SIGNATURE'],
    ['a stale timestamp', () => verify(SECRET_A, headers, body, NOW_SEC + DEFAULT_TOLERANCE_SECONDS + 1), 'TIMESTAMP_TOO_OLD'],
    ['a future timestamp', () => verify(SECRET_A, headers, body, NOW_SEC - DEFAULT_TOLERANCE_SECONDS - 1), 'TIMESTAMP_TOO_NEW'],
    ['a re-dated timestamp (signature over the old one)', () => verify(SECRET_A, { ...headers, 'webhook-timestamp': String(NOW_SEC + 1) }, body, NOW_SEC), 'NO_MATCHING_SIGNATURE'],
    ['a non-numeric timestamp', () => verify(SECRET_A, { ...headers, 'webhook-timestamp': '2026-01-01' }, body, NOW_SEC), 'INVALID_TIMESTAMP'],
    ['a missing signature header', () => verify(SECRET_A, { 'webhook-id': 'alert_1', 'webhook-timestamp': String(NOW_SEC) }, body, NOW_SEC), 'MISSING_HEADERS'],
    ['a missing id header', () => verify(SECRET_A, new Headers({ 'webhook-timestamp': String(NOW_SEC), 'webhook-signature': headers['webhook-signature'] }), body, NOW_SEC), 'MISSING_HEADERS'],
    ['a signature of another version only', () => verify(SECRET_A, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }, body, NOW_SEC), 'NO_MATCHING_SIGNATURE'],
    ['a truncated signature', () => verify(SECRET_A, { ...headers, 'webhook-signature': headers['webhook-signature'].slice(0, -2) }, body, NOW_SEC), 'NO_MATCHING_SIGNATURE'],
  ])('rejects %s', (_name, act, reason) => {
    expect(failure(act)).toBe(reason);
  });

  it('accepts timestamps exactly at the tolerance either way', () => {
    expect(verify(SECRET_A, headers, body, NOW_SEC + DEFAULT_TOLERANCE_SECONDS).id).toBe('alert_1');
    expect(verify(SECRET_A, headers, body, NOW_SEC - DEFAULT_TOLERANCE_SECONDS).id).toBe('alert_1');
    expect(failure(() => verify(SECRET_A, headers, body, NOW_SEC + 11, 10))).toBe('TIMESTAMP_TOO_OLD');
  });

  it('names the missing headers', () => {
    expect(() => verify(SECRET_A, {}, body, NOW_SEC)).toThrow(/webhook-id, webhook-timestamp, webhook-signature/);
  });
});

describe('rotation', () => {
  const body = '{"a":1}';
  const both = sign([SECRET_A, SECRET_B], 'alert_r', NOW_SEC, body);
  const headers = { 'webhook-id': 'alert_r', 'webhook-timestamp': String(NOW_SEC), 'webhook-signature': both };

  it('signs with every active secret, space-separated, in order', () => {
    const entries = both.split(' ');
    expect(entries).toEqual([sign(SECRET_A, 'alert_r', NOW_SEC, body), sign(SECRET_B, 'alert_r', NOW_SEC, body)]);
    expect(entries.every((e) => /^v1,[A-Za-z0-9+/]{43}=$/.test(e))).toBe(true);
  });

  it('verifies with either secret, and says which one matched', () => {
    expect(verify([SECRET_A], headers, body, NOW_SEC).secretIndex).toBe(0);
    expect(verify([SECRET_B], headers, body, NOW_SEC).secretIndex).toBe(0);
    expect(verify([SECRET_B, SECRET_A], { ...headers, 'webhook-signature': sign(SECRET_A, 'alert_r', NOW_SEC, body) }, body, NOW_SEC).secretIndex).toBe(1);
  });

  it('ignores unknown and empty entries among valid ones', () => {
    expect(verify(SECRET_B, { ...headers, 'webhook-signature': `v1a,abc  ${both}` }, body, NOW_SEC).id).toBe('alert_r');
  });
});

describe('secrets', () => {
  it.each([
    ['empty', 'whsec_'],
    ['not base64', 'whsec_not base64!'],
    ['too short', `whsec_${Buffer.alloc(16).toString('base64')}`],
  ])('refuses a secret that is %s', (_name, secret) => {
    expect(() => parseSecret(secret)).toThrow(InvalidWebhookSecretError);
    expect(() => sign(secret, 'x', NOW_SEC, '')).toThrow(InvalidWebhookSecretError);
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseSecret(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('refuses to sign without a secret, an id or a whole-second timestamp', () => {
    expect(() => sign([], 'x', NOW_SEC, '')).toThrow(InvalidWebhookSecretError);
    expect(() => sign(SECRET_A, '', NOW_SEC, '')).toThrow(RangeError);
    expect(() => sign(SECRET_A, 'x', NOW_SEC + 0.5, '')).toThrow(RangeError);
  });
});

describe('properties', () => {
  const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);

  it('any body round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), idArb, fc.integer({ min: 0, max: 4_000_000_000 }), (body, id, ts) => {
        const headers = signedHeaders([SECRET_A, SECRET_B], id, ts, body);
        expect(verify(SECRET_B, headers, body, ts).id).toBe(id);
      }),
    );
  });

  it('any single-byte change to the body fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }).chain((body) => fc.tuple(fc.constant(body), fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }))),
        ([body, index, flip]) => {
          const headers = signedHeaders(SECRET_A, 'alert_p', NOW_SEC, body);
          const changed = Uint8Array.from(body);
          changed[index] = (changed[index] ?? 0) ^ flip;
          expect(failure(() => verify(SECRET_A, headers, changed, NOW_SEC))).toBe('NO_MATCHING_SIGNATURE');
        },
      ),
    );
  });
});
