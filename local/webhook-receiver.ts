/**
 * A local webhook receiver (127.0.0.1, ephemeral port) for the local symphony and the tests. It
 * verifies every request's Standard Webhooks signature with the same secrets the sender uses and
 * records what it accepted.
 *
 * | request                                   | answer |
 * |-------------------------------------------|--------|
 * | not POST                                  | 405    |
 * | signature missing, stale or wrong         | 401    |
 * | a status queued with `failNext`           | that   |
 * | verified, body not JSON                   | 400    |
 * | verified (a repeated webhook-id included) | 204    |
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_TOLERANCE_SECONDS, verify, WebhookVerificationError, type VerificationFailure, type VerifiedWebhook } from '../lib/domain/webhook-signature.js';

export interface WebhookReceiverOptions {
  /** Secrets to verify with (any may match). */
  readonly secrets: readonly string[];
  /** @default DEFAULT_TOLERANCE_SECONDS */
  readonly toleranceSec?: number;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
}

export interface ReceivedWebhook {
  readonly id: string;
  readonly timestampSec: number;
  /** Which of the receiver's secrets matched. */
  readonly secretIndex: number;
  /** The raw body as received. */
  readonly body: string;
  /** The parsed body (an alert envelope when the sender is ours). */
  readonly json: unknown;
  /** True when an earlier request carried the same webhook-id (a retry). */
  readonly duplicate: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

export interface RejectedWebhook {
  readonly status: number;
  readonly reason: VerificationFailure | 'METHOD_NOT_ALLOWED' | 'NOT_JSON' | 'INJECTED_FAILURE';
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/webhook`. */
  readonly url: string;
  /** Every verified request, in arrival order (retries included, flagged `duplicate`). */
  readonly received: readonly ReceivedWebhook[];
  /** The first delivery of each webhook-id. */
  unique(): readonly ReceivedWebhook[];
  readonly rejected: readonly RejectedWebhook[];
  /** Answers the next `times` verified requests with `status` (e.g. 503 or 400) instead of accepting them. */
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const clock = options.clock ?? Date.now;
  const received: ReceivedWebhook[] = [];
  const rejected: RejectedWebhook[] = [];
  const injected: number[] = [];
  const seen = new Set<string>();

  const answer = (res: ServerResponse, status: number, reason?: RejectedWebhook['reason'], message = ''): void => {
    if (reason !== undefined) rejected.push({ status, reason });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') return answer(res, 405, 'METHOD_NOT_ALLOWED');
      const raw = await readBody(req);
      let verified: VerifiedWebhook;
      try {
        verified = verify(options.secrets, req.headers, raw, Math.floor(clock() / 1000), options.toleranceSec ?? DEFAULT_TOLERANCE_SECONDS);
      } catch (error) {
        if (error instanceof WebhookVerificationError) return answer(res, 401, error.reason, error.message);
        throw error;
      }
      const status = injected.shift();
      if (status !== undefined) return answer(res, status, 'INJECTED_FAILURE', 'injected failure');
      const body = raw.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return answer(res, 400, 'NOT_JSON', 'body is not JSON');
      }
      received.push({ ...verified, body, json, duplicate: seen.has(verified.id), headers: flatHeaders(req) });
      seen.add(verified.id);
      return answer(res, 204);
    })().catch((error: unknown) => answer(res, 500, undefined, error instanceof Error ? error.message : String(error)));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhook`,
    received,
    unique: () => received.filter((r) => !r.duplicate),
    rejected,
    failNext(status: number, times = 1): void {
      for (let i = 0; i < times; i++) injected.push(status);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
