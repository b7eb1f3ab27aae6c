/**
 * An in-process transport from the AWS SDK to dynalite: the SDK client signs and serializes its
 * request exactly as it would for DynamoDB, and this request handler gives the HTTP request to
 * dynalite's own request listener without a socket, then hands dynalite's HTTP response back to
 * the SDK to deserialize. Everything on both sides of the wire is the real code; only the loopback
 * TCP connection and the HTTP parsing in between are gone (they were a third of the local
 * runtime's time). The server still listens, for clients that want a real endpoint.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRequest, HttpResponse } from '@smithy/types';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** What dynalite's listener uses of a request (method, url, headers, data/end events). */
class InProcessRequest extends EventEmitter {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super();
  }
}

/** What dynalite's listener uses of a response (statusCode, setHeader, end). */
class InProcessResponse {
  statusCode = 200;
  contentType: string | undefined;
  readonly headers: Record<string, string> = {};
  constructor(private readonly done: (response: HttpResponse) => void) {}
  setHeader(name: string, value: string | number): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }
  end(body?: string | Uint8Array): void {
    const bytes = body === undefined ? new Uint8Array() : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.done({ statusCode: this.statusCode, headers: this.headers, body: bytes });
  }
}

function bodyBytes(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('the in-process DynamoDB transport takes string or byte bodies only');
}

function queryString(query: HttpRequest['query']): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(value === null ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(value)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** A smithy request handler (the SDK client's `requestHandler`) over dynalite's request listener. */
export function inProcessRequestHandler(listener: RequestListener, onResponse?: ResponseHook) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
        const req = new InProcessRequest(request.method, `${request.path}${queryString(request.query)}`, headers);
        const res = new InProcessResponse((response) => {
          try {
            resolve({ response: onResponse ? onResponse(request, response) : response });
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        try {
          listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
          const body = bodyBytes(request.body);
          if (body !== undefined && body.length > 0) req.emit('data', body);
          req.emit('end');
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
}

/** A response hook: sees the request and dynalite's response, and may replace the response. */
export type ResponseHook = (request: HttpRequest, response: HttpResponse) => HttpResponse;

const DIRECT_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-date': '20200101T000000Z',
  // dynalite checks the shape of the signature, never its value.
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=local',
};

export class DirectCallError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * One DynamoDB API call straight to dynalite's listener, in wire JSON, without the SDK: for the
 * embedded table's own bookkeeping (the stream emulation's image reads), never for handler code.
 */
export async function directCall(listener: RequestListener, operation: string, body: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const { response } = await inProcessRequestHandler(listener).handle({
    method: 'POST',
    protocol: 'http:',
    hostname: 'localhost',
    path: '/',
    query: {},
    headers: { ...DIRECT_HEADERS, 'x-amz-target': `DynamoDB_20120810.${operation}` },
    body: JSON.stringify(body),
  });
  const text = Buffer.from(response.body as Uint8Array).toString('utf8');
  const json = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  if (response.statusCode !== 200) {
    const type = String(json['__type'] ?? 'UnknownError').split('#').pop() ?? 'UnknownError';
    throw new DirectCallError(type, String(json['message'] ?? json['Message'] ?? `${operation} failed with HTTP ${response.statusCode}`));
  }
  return json;
}
