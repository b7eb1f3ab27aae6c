/**
 * The webhook signing secrets port. On AWS one Secrets Manager secret (`WEBHOOK_SECRET_ARN`)
 * holds `{ "current": "whsec_...", "previous"?: "whsec_..." }`; during a rotation both are
 * active, so every delivery carries two signatures and receivers may switch keys at their own
 * pace. Locally and in tests a static source stands in.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { ConfigurationError } from '../../lib/domain/errors.js';
import { InvalidWebhookSecretError, parseSecret } from '../../lib/domain/webhook-signature.js';
import { readSecretString } from '../kit/secrets.js';

export interface WebhookSecretSource {
  /** The active secrets, current first; never empty. Malformed configuration is a `ConfigurationError`. */
  signingSecrets(): Promise<readonly string[]>;
}

export const WebhookSecretValue = z.object({
  current: z.string().min(1),
  /** Kept during a rotation; absent or empty otherwise. */
  previous: z.string().optional(),
});

/** The active secrets of a secret's JSON value, validated (each must be `whsec_<base64>`). */
export function secretsFromJson(secretString: string | undefined, where: string): readonly string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString ?? '');
  } catch {
    throw new ConfigurationError(`webhook secret ${where} is not JSON`);
  }
  const parsed = WebhookSecretValue.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`webhook secret ${where} must be {"current": "whsec_...", "previous"?: "whsec_..."}`);
  return checked([parsed.data.current, parsed.data.previous ?? ''].filter((s) => s !== ''), where);
}

function checked(secrets: readonly string[], where: string): readonly string[] {
  if (secrets.length === 0) throw new ConfigurationError(`no webhook secret in ${where}`);
  for (const secret of secrets) {
    try {
      parseSecret(secret);
    } catch (error) {
      if (error instanceof InvalidWebhookSecretError) throw new ConfigurationError(`webhook secret ${where}: ${error.message}`, { cause: error });
      throw error;
    }
  }
  return secrets;
}

export class StaticWebhookSecrets implements WebhookSecretSource {
  private readonly secrets: readonly string[];
  constructor(secrets: readonly string[]) {
    this.secrets = checked([...secrets], 'static configuration');
  }
  signingSecrets(): Promise<readonly string[]> {
    return Promise.resolve(this.secrets);
  }
}

export interface SecretsManagerWebhookSecretsProps {
  readonly client: SecretsManagerClient;
  /** ARN (or name) of the secret. */
  readonly secretId: string;
  /** How long a fetched value is reused, in ms; a rotation reaches warm functions within this time. @default 300_000 */
  readonly cacheTtlMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Secrets Manager adapter: one GetSecretValue per cache period, shared by warm invocations. */
export class SecretsManagerWebhookSecrets implements WebhookSecretSource {
  private cached: { secrets: readonly string[]; fetchedAtMs: number } | undefined;
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(private readonly props: SecretsManagerWebhookSecretsProps) {
    this.ttlMs = props.cacheTtlMs ?? 300_000;
    this.clock = props.clock ?? Date.now;
  }

  async signingSecrets(): Promise<readonly string[]> {
    const now = this.clock();
    if (this.cached !== undefined && now - this.cached.fetchedAtMs < this.ttlMs) return this.cached.secrets;
    const secretString = await readSecretString(this.props.client, this.props.secretId);
    const secrets = secretsFromJson(secretString, this.props.secretId);
    this.cached = { secrets, fetchedAtMs: now };
    return secrets;
  }
}
