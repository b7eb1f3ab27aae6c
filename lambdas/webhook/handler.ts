/**
 * The webhook delivery Lambda's entry point: configuration from the environment (read once, at
 * cold start), the Secrets Manager client and the logger at module scope. See delivery.ts.
 *
 * Environment:
 * - WEBHOOK_URL (required): the receiver, https (http only on a loopback host);
 * - WEBHOOK_SECRET_ARN (required): secret `{ "current": "whsec_...", "previous"?: "whsec_..." }`;
 * - WEBHOOK_TIMEOUT_MS (optional, default 5000): per POST;
 * - WEBHOOK_SECRET_CACHE_SECONDS (optional, default 300): how long a fetched secret is reused;
 * - POWERTOOLS_SERVICE_NAME (optional): the logger's service name.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { positiveNumberEnv, requiredEnv } from '../shared/env.js';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, makeHandler, webhookUrlFrom } from './delivery.js';
import { SecretsManagerWebhookSecrets } from './secrets.js';

export { makeHandler } from './delivery.js';

const env = {
  url: webhookUrlFrom(requiredEnv('WEBHOOK_URL')),
  secretArn: requiredEnv('WEBHOOK_SECRET_ARN'),
  timeoutMs: positiveNumberEnv('WEBHOOK_TIMEOUT_MS', DEFAULT_WEBHOOK_TIMEOUT_MS),
  secretCacheSeconds: positiveNumberEnv('WEBHOOK_SECRET_CACHE_SECONDS', 300),
};

export const handler = makeHandler({
  target: { url: env.url, timeoutMs: env.timeoutMs },
  secrets: new SecretsManagerWebhookSecrets({ client: new SecretsManagerClient({}), secretId: env.secretArn, cacheTtlMs: env.secretCacheSeconds * 1000 }),
  logger: new Logger(), // service name from POWERTOOLS_SERVICE_NAME
});
