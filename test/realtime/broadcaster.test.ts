/** The broadcaster with fake adapters: fan-out, 410 Gone, malformed records, failing stores. */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/realtime/broadcaster.js';
import type { ConnectionPusher, ConnectionStore, RealtimeEvent, RealtimeLogger } from '../../lambdas/realtime/ports.js';
import { alertWrite, reportInsert, streamRecord } from './records.js';

class FakeConnections implements ConnectionStore {
  readonly removed: string[] = [];
  listCalls = 0;
  failList = false;
  failRemove = false;
  constructor(public ids: string[]) {}
  async list(): Promise<string[]> {
    this.listCalls++;
    if (this.failList) throw new Error('ProvisionedThroughputExceededException');
    return [...this.ids];
  }
  async remove(id: string): Promise<void> {
    if (this.failRemove) throw new Error('network down');
    this.removed.push(id);
    this.ids = this.ids.filter((c) => c !== id);
  }
}

class FakePusher implements ConnectionPusher {
  readonly sent: { connectionId: string; event: RealtimeEvent }[] = [];
  constructor(
    private readonly gone: ReadonlySet<string> = new Set(),
    private readonly broken: ReadonlySet<string> = new Set(),
  ) {}
  async push(connectionId: string, event: RealtimeEvent): Promise<'ok' | 'gone'> {
    if (this.broken.has(connectionId)) throw new Error('InternalServerError');
    if (this.gone.has(connectionId)) return 'gone';
    this.sent.push({ connectionId, event });
    return 'ok';
  }
}

class FakeLogger implements RealtimeLogger {
  readonly lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, attributes });
  }
}

let logger: FakeLogger;
beforeEach(() => {
  logger = new FakeLogger();
});

describe('broadcaster', () => {
  it('pushes every event to every connection, in record order', async () => {
    // Prepare
    const connections = new FakeConnections(['c1', 'c2', 'c3']);
    const pusher = new FakePusher();
    const handler = makeHandler({ connections, push: pusher, logger });

    // Act
    const response = await handler({ Records: [reportInsert('youtube_worker'), alertWrite('INSERT')] });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(pusher.sent).toHaveLength(6);
    for (const id of ['c1', 'c2', 'c3']) {
      expect(pusher.sent.filter((s) => s.connectionId === id).map((s) => s.event.type)).toEqual(['report', 'alert']);
    }
    expect(connections.listCalls).toBe(1);
  });

  it('removes a connection that is gone (410) and sends it nothing more', async () => {
    const connections = new FakeConnections(['c1', 'stale', 'c2']);
    const pusher = new FakePusher(new Set(['stale']));
    const handler = makeHandler({ connections, push: pusher, logger });
    await handler({ Records: [reportInsert('youtube_worker'), reportInsert('twitch_worker')] });
    expect(connections.removed).toEqual(['stale']);
    expect(pusher.sent.map((s) => s.connectionId).sort()).toEqual(['c1', 'c1', 'c2', 'c2']);
    expect(logger.lines.at(-1)?.attributes).toMatchObject({ gone: 1, pushed: 4 });
  });

  it('skips a malformed record with an error log naming it, and still delivers the rest of the batch', async () => {
    const connections = new FakeConnections(['c1']);
    const pusher = new FakePusher();
    const handler = makeHandler({ connections, push: pusher, logger });
    const bad = reportInsert('youtube_worker', { completedAt: 'not a time' });
    const response = await handler({ Records: [bad, { garbage: true }, alertWrite('MODIFY')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(pusher.sent.map((s) => s.event.type)).toEqual(['alert']);
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.attributes).toMatchObject({ eventID: bad.eventID, sequenceNumber: bad.dynamodb.SequenceNumber, reason: expect.stringMatching(/completedAt/) });
    expect(logger.lines.at(-1)?.attributes).toMatchObject({ invalid: 2, events: 1 });
  });

  it('reports the batch from its first record with events when the connections cannot be listed', async () => {
    const connections = new FakeConnections(['c1']);
    connections.failList = true;
    const handler = makeHandler({ connections, push: new FakePusher(), logger });
    const window = streamRecord('INSERT', { pk: 'WORKER#youtube_worker', sk: 'WINDOW#2026-01-02T06' }, { runs: 1 });
    const report = reportInsert('youtube_worker');
    const alert = alertWrite('INSERT');
    const response = await handler({ Records: [window, report, alert] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: report.dynamodb.SequenceNumber }, { itemIdentifier: alert.dynamodb.SequenceNumber }]);
    expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('cannot be listed'))).toBe(true);
  });

  it('a failing push to one connection is logged, and the others still get the event; no retry', async () => {
    const connections = new FakeConnections(['c1', 'broken']);
    const pusher = new FakePusher(new Set(), new Set(['broken']));
    const handler = makeHandler({ connections, push: pusher, logger });
    const response = await handler({ Records: [reportInsert('youtube_worker')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(pusher.sent.map((s) => s.connectionId)).toEqual(['c1']);
    expect(connections.removed).toEqual([]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([expect.objectContaining({ attributes: expect.objectContaining({ connectionId: 'broken', type: 'report' }) })]);
  });

  it('a gone connection that cannot be removed is logged (its TTL removes it) and the batch succeeds', async () => {
    const connections = new FakeConnections(['stale']);
    connections.failRemove = true;
    const handler = makeHandler({ connections, push: new FakePusher(new Set(['stale'])), logger });
    expect(await handler({ Records: [reportInsert('youtube_worker')] })).toEqual({ batchItemFailures: [] });
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('not removed'))).toBe(true);
  });

  it('reads no connections for a batch without events, and survives an event that is not a stream event', async () => {
    const connections = new FakeConnections(['c1']);
    const handler = makeHandler({ connections, push: new FakePusher(), logger });
    expect(await handler({ Records: [streamRecord('REMOVE', { pk: 'WSCONN', sk: 'c9' })] })).toEqual({ batchItemFailures: [] });
    expect(await handler({ nothing: 1 })).toEqual({ batchItemFailures: [] });
    expect(connections.listCalls).toBe(0);
    expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('not a stream event'))).toBe(true);
  });
});
