/**
 * SigV4 for the console: every request to the deployed status API and the live-updates `$connect`
 * is signed here, in the console's own process, from the standard AWS credential chain. Nothing
 * signed or secret goes to the browser: the page talks to the console, the console to AWS.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';

/** API Gateway's signing name (HTTP and WebSocket APIs alike). */
export const EXECUTE_API = 'execute-api';

export interface SignableRequest {
  readonly method: string;
  /** The full URL (https://... or wss://...). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface Signer {
  /** The request's headers plus `authorization`, `x-amz-date` (and `x-amz-security-token`, `x-amz-content-sha256`). */
  sign(request: SignableRequest, signingDate?: Date): Promise<Record<string, string>>;
}

export function makeSigner(options: { readonly region: string; readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider; readonly service?: string }): Signer {
  const signer = new SignatureV4({ service: options.service ?? EXECUTE_API, region: options.region, credentials: options.credentials, sha256: Hash.bind(null, 'sha256') });
  return {
    async sign(request, signingDate) {
      const url = new URL(request.url);
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
      headers['host'] = url.host;
      const http: HttpRequest = {
        method: request.method.toUpperCase(),
        protocol: url.protocol.replace(/^ws/, 'http'),
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers,
        ...(request.body !== undefined && request.body.length > 0 ? { body: request.body } : {}),
      };
      const signed = await signer.sign(http, signingDate ? { signingDate } : {});
      return { ...(signed.headers as Record<string, string>) };
    },
  };
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header, or null. */
export function parseAuthorization(value: string | undefined): { accessKeyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } | null {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(value ?? '');
  if (!m) return null;
  return { accessKeyId: m[1] as string, date: m[2] as string, region: m[3] as string, service: m[4] as string, signedHeaders: (m[5] as string).split(';'), signature: m[6] as string };
}
