/** The recovery Lambda's configuration helpers (pure; handler.ts reads the environment with them). */
import { ConfigurationError } from '../../lib/domain/errors.js';

/** A JSON object of strings from the environment; ConfigurationError naming the variable otherwise. */
export function jsonMapEnv(name: string, raw: string | undefined): Readonly<Record<string, string>> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`environment variable ${name} must be a JSON object, got "${raw.slice(0, 80)}"`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw new ConfigurationError(`environment variable ${name} must be a JSON object of strings`);
  }
  return parsed as Record<string, string>;
}

/** The schedules of a worker among the trigger keys `<worker>.<job>[.<n>]`. */
export const scheduleNamesOf =
  (names: Readonly<Record<string, string>>) =>
  (worker: string): string[] =>
    Object.entries(names)
      .filter(([key]) => key.split('.')[0] === worker)
      .map(([, name]) => name);
