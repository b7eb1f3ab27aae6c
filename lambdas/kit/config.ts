/**
 * Worker configuration from environment variables, read once per handler instance.
 *
 * Endpoints are the only hosts a worker may reach (see `http.ts`). Secrets never live in the
 * environment: only the Secrets Manager ARN does (`WORKER_SECRETS_ARN`, see `secrets.ts`).
 */
import { ConfigurationError } from '../../lib/domain/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Endpoint name -> the environment variable holding its base URL. */
export const ENDPOINT_ENV = {
  youtube: 'YOUTUBE_API_BASE_URL',
  youtubeThumbnails: 'YOUTUBE_THUMBNAIL_BASE_URL',
  twitchApi: 'TWITCH_API_BASE_URL',
  twitchAuth: 'TWITCH_AUTH_URL',
  generation: 'GENERATION_API_URL',
} as const;
export type EndpointName = keyof typeof ENDPOINT_ENV;
export type Endpoints = Readonly<Partial<Record<EndpointName, string>>>;

/** Keys of the JSON secret at `WORKER_SECRETS_ARN` (and of the in-memory source). */
export const SECRET_NAMES = ['youtube_api_key', 'twitch_client_id', 'twitch_client_secret', 'generation_api_key'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export const TABLE_NAME_ENV = 'TABLE_NAME';
export const SECRETS_ARN_ENV = 'WORKER_SECRETS_ARN';
export const MEMORY_SIZE_ENV = 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE';

export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigurationError(`environment variable ${name} is missing`);
  return value.trim();
}

/** An optional positive number from the environment; a malformed value is a configuration error. */
export function numberEnv(env: Env, name: string, defaultValue: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return defaultValue;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`environment variable ${name} must be a positive number, got "${raw}"`);
  return value;
}

/** An optional comma-separated list from the environment. */
export function listEnv(env: Env, name: string, defaultValue: readonly string[]): readonly string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return defaultValue;
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Reads and checks the base URLs a worker declared; each must be an absolute http(s) URL. */
export function readEndpoints(env: Env, names: readonly EndpointName[]): Endpoints {
  const out: Partial<Record<EndpointName, string>> = {};
  for (const name of names) {
    const variable = ENDPOINT_ENV[name];
    const raw = requireEnv(env, variable);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigurationError(`environment variable ${variable} must be an absolute URL, got "${raw}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(`environment variable ${variable} must be http(s), got "${raw}"`);
    out[name] = raw.replace(/\/+$/, '');
  }
  return out;
}

/** The Lambda's memory limit in MB: Lambda's own variable, else the registry's figure. */
export function memoryLimitMb(env: Env, registryMemoryMb: number): number {
  const raw = env[MEMORY_SIZE_ENV];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value > 0 ? value : registryMemoryMb;
}
