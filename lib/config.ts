/**
 * Deployment configuration from CDK context (`cdk deploy -c key=value` or cdk.json). Parsed and
 * validated at synth: a bad value fails with a message naming the field and the value.
 */

export interface OrchestratorConfig {
  /** Email address subscribed to the alert topics. */
  readonly alertEmail?: string;
  /** Email address paged on escalations (unacknowledged critical incidents, recoveries that failed or keep failing). */
  readonly oncallEmail?: string;
  /** HTTPS endpoint that receives signed webhooks. */
  readonly alertWebhookUrl?: string;
  /** How long score reports are kept, in days. */
  readonly reportRetentionDays: number;
  /** Base URLs of the APIs the workers call; nothing else is reachable. */
  readonly endpoints: {
    readonly youtubeApiBaseUrl: string;
    readonly youtubeThumbnailBaseUrl: string;
    readonly twitchApiBaseUrl: string;
    readonly twitchAuthUrl: string;
    readonly generationApiUrl?: string;
  };
}

export const DEFAULT_REPORT_RETENTION_DAYS = 30;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type ContextReader = (key: string) => unknown;

function optionalString(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ConfigError(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  return value.trim();
}

function url(read: ContextReader, key: string, fallback?: string, httpsOnly = true): string | undefined {
  const value = optionalString(read, key) ?? fallback;
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`context "${key}" must be a URL, got ${JSON.stringify(value)}`);
  }
  if (httpsOnly && parsed.protocol !== 'https:') throw new ConfigError(`context "${key}" must be an https URL, got ${JSON.stringify(value)}`);
  return value;
}

export function readConfig(read: ContextReader): OrchestratorConfig {
  const alertEmail = optionalString(read, 'alertEmail');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail)) {
    throw new ConfigError(`context "alertEmail" must be an email address, got ${JSON.stringify(alertEmail)}`);
  }
  const oncallEmail = optionalString(read, 'oncallEmail');
  if (oncallEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(oncallEmail)) {
    throw new ConfigError(`context "oncallEmail" must be an email address, got ${JSON.stringify(oncallEmail)}`);
  }
  const retentionRaw = read('reportRetentionDays') ?? DEFAULT_REPORT_RETENTION_DAYS;
  const reportRetentionDays = typeof retentionRaw === 'string' ? Number(retentionRaw) : retentionRaw;
  if (typeof reportRetentionDays !== 'number' || !Number.isInteger(reportRetentionDays) || reportRetentionDays < 1 || reportRetentionDays > 3650) {
    throw new ConfigError(`context "reportRetentionDays" must be a whole number of days from 1 to 3650, got ${JSON.stringify(retentionRaw)}`);
  }
  const alertWebhookUrl = url(read, 'alertWebhookUrl');
  const generationApiUrl = url(read, 'generationApiUrl');
  return {
    ...(alertEmail !== undefined ? { alertEmail } : {}),
    ...(oncallEmail !== undefined ? { oncallEmail } : {}),
    ...(alertWebhookUrl !== undefined ? { alertWebhookUrl } : {}),
    reportRetentionDays,
    endpoints: {
      youtubeApiBaseUrl: url(read, 'youtubeApiBaseUrl', 'https://www.googleapis.com') as string,
      youtubeThumbnailBaseUrl: url(read, 'youtubeThumbnailBaseUrl', 'https://i.ytimg.com') as string,
      twitchApiBaseUrl: url(read, 'twitchApiBaseUrl', 'https://api.twitch.tv') as string,
      twitchAuthUrl: url(read, 'twitchAuthUrl', 'https://id.twitch.tv') as string,
      ...(generationApiUrl !== undefined ? { generationApiUrl } : {}),
    },
  };
}
