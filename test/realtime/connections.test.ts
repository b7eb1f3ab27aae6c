/** The $connect / $disconnect handler and the AWS adapters, with fake clients. */
import { GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ApiGatewayConnectionPusher, CONNECTION_PK, CONNECTION_TTL_SECONDS, DynamoConnectionStore } from '../../lambdas/realtime/adapters.js';
import { makeHandler } from '../../lambdas/realtime/connections.js';
import type { ConnectionRegistry, RealtimeEvent, RealtimeLogger } from '../../lambdas/realtime/ports.js';

const NOW = Date.parse('2026-01-02T06:00:00.000Z');
const logger: RealtimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

class FakeRegistry implements ConnectionRegistry {
  readonly items = new Map<string, number>();
  async add(id: string, atMs: number): Promise<void> {
    this.items.set(id, atMs);
  }
  async remove(id: string): Promise<void> {
    this.items.delete(id);
  }
}

const wsEvent = (routeKey: string, connectionId = 'abc123=') => ({ requestContext: { routeKey, connectionId, eventType: routeKey === '$connect' ? 'CONNECT' : 'DISCONNECT' } });

describe('connections handler', () => {
  it('$connect stores the connection, $disconnect removes it', async () => {
    const registry = new FakeRegistry();
    const handler = makeHandler({ connections: registry, clock: () => NOW, logger });
    expect(await handler(wsEvent('$connect'))).toEqual({ statusCode: 200 });
    expect([...registry.items]).toEqual([['abc123=', NOW]]);
    expect(await handler(wsEvent('$disconnect'))).toEqual({ statusCode: 200 });
    expect(registry.items.size).toBe(0);
  });

  it('answers the heartbeat ping with a pong carrying the time, and touches no connection', async () => {
    const registry = new FakeRegistry();
    const handler = makeHandler({ connections: registry, clock: () => NOW, logger });
    expect(await handler(wsEvent('ping'))).toEqual({ statusCode: 200, body: JSON.stringify({ type: 'pong', at: new Date(NOW).toISOString() }) });
    expect(registry.items.size).toBe(0);
  });

  it('answers 400 to a malformed event or an unknown route, and stores nothing', async () => {
    const registry = new FakeRegistry();
    const handler = makeHandler({ connections: registry, clock: () => NOW, logger });
    for (const bad of [{}, null, { requestContext: { routeKey: '$connect' } }, { requestContext: { routeKey: '$connect', connectionId: '' } }]) {
      expect((await handler(bad)).statusCode).toBe(400);
    }
    expect(await handler(wsEvent('sendmessage'))).toMatchObject({ statusCode: 400 });
    expect(registry.items.size).toBe(0);
  });

  it('lets a store error through on $connect, so API Gateway refuses the connection', async () => {
    const failing: ConnectionRegistry = { add: () => Promise.reject(new Error('throttled')), remove: () => Promise.resolve() };
    await expect(makeHandler({ connections: failing, clock: () => NOW, logger })(wsEvent('$connect'))).rejects.toThrow(/throttled/);
  });
});

type Sent = { input: Record<string, unknown>; kind: string };
function fakeDoc(pages: Record<string, unknown>[][] = []) {
  const sent: Sent[] = [];
  let page = 0;
  return {
    sent,
    send: async (command: unknown) => {
      const c = command as { input: Record<string, unknown> };
      sent.push({ input: c.input, kind: command instanceof PutCommand ? 'put' : command instanceof DeleteCommand ? 'delete' : command instanceof QueryCommand ? 'query' : 'other' });
      if (command instanceof QueryCommand) {
        const items = pages[page] ?? [];
        page++;
        return { Items: items, ...(page < pages.length ? { LastEvaluatedKey: { pk: CONNECTION_PK, sk: `page-${page}` } } : {}) };
      }
      return {};
    },
  };
}

describe('DynamoConnectionStore', () => {
  it('puts WSCONN/<id> with connectedAt and a 2-hour TTL, and deletes it by key', async () => {
    const doc = fakeDoc();
    const store = new DynamoConnectionStore(doc as never, 'orchestrator', () => NOW);
    await store.add('abc123=', NOW);
    await store.remove('abc123=');
    expect(doc.sent).toEqual([
      { kind: 'put', input: { TableName: 'orchestrator', Item: { pk: 'WSCONN', sk: 'abc123=', entity: 'WSCONN', connectedAt: '2026-01-02T06:00:00.000Z', expiresAt: NOW / 1000 + CONNECTION_TTL_SECONDS } } },
      { kind: 'delete', input: { TableName: 'orchestrator', Key: { pk: 'WSCONN', sk: 'abc123=' } } },
    ]);
    expect(CONNECTION_TTL_SECONDS).toBe(7200);
  });

  it('lists the connections of every page whose TTL has not passed', async () => {
    const nowS = NOW / 1000;
    const doc = fakeDoc([[{ sk: 'a', expiresAt: nowS + 60 }, { sk: 'expired', expiresAt: nowS - 1 }], [{ sk: 'b', expiresAt: nowS + 7200 }]]);
    const store = new DynamoConnectionStore(doc as never, 'orchestrator', () => NOW);
    expect(await store.list()).toEqual(['a', 'b']);
    expect(doc.sent).toHaveLength(2);
    expect(doc.sent[0]?.input).toMatchObject({ KeyConditionExpression: '#pk = :pk', ExpressionAttributeValues: { ':pk': 'WSCONN' } });
    expect(doc.sent[1]?.input).toMatchObject({ ExclusiveStartKey: { pk: 'WSCONN', sk: 'page-1' } });
  });
});

describe('ApiGatewayConnectionPusher', () => {
  const event: RealtimeEvent = { type: 'report', worker: 'youtube_worker', at: '2026-01-02T06:00:25.000Z', data: { status: 'SUCCEEDED' } };

  it('posts the event as JSON to the connection', async () => {
    const sent: { ConnectionId?: string; Data?: Uint8Array }[] = [];
    const pusher = new ApiGatewayConnectionPusher({ send: async (c: { input: { ConnectionId?: string; Data?: Uint8Array } }) => sent.push(c.input) } as never);
    expect(await pusher.push('abc123=', event)).toBe('ok');
    expect(sent[0]?.ConnectionId).toBe('abc123=');
    expect(JSON.parse(new TextDecoder().decode(sent[0]?.Data))).toEqual(event);
  });

  it('answers gone on 410 GoneException and rethrows anything else', async () => {
    const gone = new ApiGatewayConnectionPusher({ send: () => Promise.reject(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } })) } as never);
    expect(await gone.push('c', event)).toBe('gone');
    const plain410 = new ApiGatewayConnectionPusher({ send: () => Promise.reject(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 410 } })) } as never);
    expect(await plain410.push('c', event)).toBe('gone');
    const broken = new ApiGatewayConnectionPusher({ send: () => Promise.reject(Object.assign(new Error('boom'), { name: 'InternalServerErrorException', $metadata: { httpStatusCode: 500 } })) } as never);
    await expect(broken.push('c', event)).rejects.toThrow(/boom/);
  });
});
