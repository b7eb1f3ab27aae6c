/**
 * Environment configuration, read once at module scope. A missing or malformed variable throws
 * ConfigurationError naming it, so a misconfigured function fails at cold start, not mid-run.
 */
import { ConfigurationError } from '../../lib/domain/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable that must be set and non-empty. */
export function requiredEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigurationError(`environment variable ${name} is required but not set`);
  return value;
}

/** A variable that may be unset (then `fallback`); when set it must be a positive number. */
export function positiveNumberEnv(name: string, fallback: number, env: Env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`environment variable ${name} must be a positive number, got "${raw}"`);
  return value;
}
