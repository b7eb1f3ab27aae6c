/**
 * The anomaly Lambda's event source filter, alone in a module (plain data, no CDK): the construct
 * (lib/constructs/anomaly-detector.ts) and the local stream emulation use the same pattern.
 *
 * Inserts of score reports (`sk` begins with `REPORT#`) and of the health sweep's findings
 * (`HEALTH#`, written once per key) only. STATE, WINDOW and ALERT writes, modifications and TTL
 * removals never invoke the function.
 */
export const REPORT_INSERT_PATTERN = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { sk: { S: [{ prefix: 'REPORT#' }, { prefix: 'HEALTH#' }] } } },
} as const;
