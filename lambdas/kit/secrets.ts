/**
 * The `SecretSource` port: API keys and client secrets come from here, never from environment
 * variables. On AWS one JSON secret (`WORKER_SECRETS_ARN`) holds every key the workers use;
 * locally and in tests an in-memory source stands in.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, TransientUpstreamError } from '../../lib/domain/errors.js';

/**
 * Reads a secret's string from Secrets Manager: throttling and outages are TransientUpstreamError
 * (retried), anything else (missing secret, no permission) is ConfigurationError.
 */
export async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return out.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    if (/Throttling|InternalServiceError|TimeoutError|NetworkingError/.test(name)) {
      throw new TransientUpstreamError(`Secrets Manager unavailable (${name})`, { cause: error });
    }
    throw new ConfigurationError(`cannot read secret ${secretId} (${name})`, { cause: error });
  }
}

export interface SecretSource {
  /** The secret's value; a missing secret is a `ConfigurationError`. */
  get(name: string): Promise<string>;
}

export class InMemorySecretSource implements SecretSource {
  private readonly values: ReadonlyMap<string, string>;
  constructor(values: Readonly<Record<string, string>>) {
    this.values = new Map(Object.entries(values));
  }
  get(name: string): Promise<string> {
    const value = this.values.get(name);
    if (value === undefined) return Promise.reject(new ConfigurationError(`secret "${name}" is not configured`));
    return Promise.resolve(value);
  }
}

export interface SecretsManagerSourceProps {
  readonly client: SecretsManagerClient;
  /** ARN (or name) of a secret whose `SecretString` is a JSON object of name -> value. */
  readonly secretId: string;
  /** How long a fetched secret is reused, in ms. @default 300_000 */
  readonly cacheTtlMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Secrets Manager adapter: one GetSecretValue per cache period, shared by warm invocations. */
export class SecretsManagerSecretSource implements SecretSource {
  private cached: { values: Readonly<Record<string, unknown>>; fetchedAtMs: number } | undefined;
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(private readonly props: SecretsManagerSourceProps) {
    this.ttlMs = props.cacheTtlMs ?? 300_000;
    this.clock = props.clock ?? Date.now;
  }

  async get(name: string): Promise<string> {
    const values = await this.load();
    const value = values[name];
    if (typeof value !== 'string' || value === '') throw new ConfigurationError(`secret "${name}" is missing from ${this.props.secretId}`);
    return value;
  }

  private async load(): Promise<Readonly<Record<string, unknown>>> {
    const now = this.clock();
    if (this.cached !== undefined && now - this.cached.fetchedAtMs < this.ttlMs) return this.cached.values;
    const secretString = await readSecretString(this.props.client, this.props.secretId);
    let parsed: unknown;
    try {
      parsed = JSON.parse(secretString ?? '');
    } catch {
      throw new ConfigurationError(`secret ${this.props.secretId} is not a JSON object`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigurationError(`secret ${this.props.secretId} is not a JSON object`);
    this.cached = { values: parsed as Record<string, unknown>, fetchedAtMs: now };
    return this.cached.values;
  }
}
