/** The recovery Lambda's configuration helpers (pure; handler.ts reads the environment with them). */
import { ConfigurationError } from '../../lib/domain/errors.js';
import { isWorkerId, workerById } from '../../lib/registry/index.js';
import { hasPipeline, pipelineArn, scheduleNamesOf as scheduleNamesOfWorker } from '../../lib/registry/naming.js';

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

/**
 * The pipeline ARN of a registry worker's job, by the naming convention (PIPELINE_ARN_PREFIX);
 * undefined for an unknown worker or job, or a job without a pipeline (an on-demand job).
 */
export const pipelineArnOf =
  (prefix: string) =>
  (workerId: string, jobId: string): string | undefined => {
    if (!isWorkerId(workerId)) return undefined;
    const worker = workerById(workerId);
    const job = worker.jobs.find((j) => j.id === jobId);
    return job !== undefined && hasPipeline(worker, job) ? pipelineArn(prefix, workerId, jobId) : undefined;
  };

/** A registry worker's schedule names (its trigger keys); none for an unknown worker. */
export const registryScheduleNamesOf = (workerId: string): string[] => (isWorkerId(workerId) ? scheduleNamesOfWorker(workerById(workerId)) : []);
