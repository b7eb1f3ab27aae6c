/**
 * The broadcaster: a DynamoDB stream handler (report inserts, alert writes, STATE modifications;
 * the event source's filter, lib/constructs/live-updates.ts) that pushes each record's events
 * (events.ts) to every open WebSocket connection.
 *
 * | failure                                  | handling                                                   |
 * |------------------------------------------|------------------------------------------------------------|
 * | a record that cannot be read             | logged at error level with its eventID and sequence number,|
 * |                                          | skipped: retrying cannot fix it                            |
 * | listing the connections fails            | batchItemFailures from the first record with events on:    |
 * |                                          | the event source retries (bounded), then its on-failure    |
 * |                                          | queue                                                      |
 * | a connection is gone (410)               | the connection is removed                                  |
 * | a push or a removal fails otherwise      | logged at warn level; the other connections still get the  |
 * |                                          | event (a retry would send it twice to them)                |
 *
 * Live updates are best effort by design: a page that missed an event reads the HTTP API again.
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { readRecord, type ReadRecord } from './events.js';
import type { ConnectionPusher, ConnectionStore, RealtimeEvent, RealtimeLogger } from './ports.js';

export { eventsFromRecords, readRecord } from './events.js';

export interface BroadcasterDeps {
  readonly connections: ConnectionStore;
  readonly push: ConnectionPusher;
  readonly logger: RealtimeLogger;
}

export interface BroadcastSummary {
  records: number;
  events: number;
  ignored: number;
  invalid: number;
  pushed: number;
  gone: number;
  pushFailures: number;
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

export function makeHandler(deps: BroadcasterDeps): (event: unknown) => Promise<DynamoDBBatchResponse> {
  const { logger } = deps;

  async function fanOut(event: RealtimeEvent, live: Set<string>, summary: BroadcastSummary): Promise<void> {
    await Promise.all(
      [...live].map(async (connectionId) => {
        try {
          if ((await deps.push.push(connectionId, event)) === 'ok') {
            summary.pushed++;
            return;
          }
        } catch (error) {
          summary.pushFailures++;
          logger.warn('push to a connection failed: event not delivered to it', { connectionId, type: event.type, worker: event.worker, error: errorText(error) });
          return;
        }
        summary.gone++;
        live.delete(connectionId);
        try {
          await deps.connections.remove(connectionId);
        } catch (error) {
          logger.warn('gone connection not removed (its TTL will)', { connectionId, error: errorText(error) });
        }
      }),
    );
  }

  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const raw = (event as { Records?: unknown } | null | undefined)?.Records;
    if (!Array.isArray(raw)) {
      logger.error('not a stream event: nothing to broadcast', { event: typeof event });
      return { batchItemFailures: [] };
    }
    const records: ReadRecord[] = raw.map(readRecord);
    const summary: BroadcastSummary = { records: records.length, events: 0, ignored: 0, invalid: 0, pushed: 0, gone: 0, pushFailures: 0 };
    for (const r of records) {
      if (r.reading.kind === 'invalid') {
        summary.invalid++;
        logger.error('stream record cannot be read: skipped', { eventID: r.eventID, sequenceNumber: r.sequenceNumber, reason: r.reading.reason });
      } else if (r.reading.kind === 'ignored') {
        summary.ignored++;
      } else {
        summary.events += r.reading.events.length;
      }
    }
    if (summary.events === 0) {
      logger.info('batch broadcast', { ...summary });
      return { batchItemFailures: [] };
    }

    let live: Set<string>;
    try {
      live = new Set(await deps.connections.list());
    } catch (error) {
      const first = records.findIndex((r) => r.reading.kind === 'events');
      const failed = records.slice(first).flatMap((r) => (r.sequenceNumber !== null ? [{ itemIdentifier: r.sequenceNumber }] : []));
      logger.error('connections cannot be listed: batch retried', { error: errorText(error), failed: failed.length });
      return { batchItemFailures: failed };
    }
    for (const r of records) {
      if (r.reading.kind !== 'events') continue;
      for (const e of r.reading.events) {
        if (live.size === 0) break;
        await fanOut(e, live, summary);
      }
    }
    logger.info('batch broadcast', { ...summary, connections: live.size });
    return { batchItemFailures: [] };
  };
}
