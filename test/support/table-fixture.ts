/**
 * The orchestrator table exactly as its construct declares it (keys, index, stream, TTL), on an
 * embedded DynamoDB, for the adapter tests: one embedded server per test file, a fresh table per
 * test, and a client that counts the requests the code under test sends.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/adapters/dynamo-state-store.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../local/embedded-dynamodb.js';
import { orchestratorTableProperties } from '../../local/runtime.js';
import { LOCAL_REGION } from '../../local/template-asl.js';

export interface TableFixture {
  readonly db: EmbeddedDynamo;
  /** A client without stream emulation, over the real endpoint; every command it sends is pushed to `requests`. */
  readonly raw: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /** Command names (`GetItem`, `Query`, ...) sent through `raw` since the last `newTable`. */
  readonly requests: string[];
  /** Creates a fresh table named `<prefix><n>`, clears `requests`, and returns the name. */
  newTable(prefix: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTableFixture(clock: () => number): Promise<TableFixture> {
  const properties = orchestratorTableProperties();
  const db = await startEmbeddedDynamo({ clock });
  const raw = new DynamoDBClient({ endpoint: db.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const requests: string[] = [];
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  let count = 0;
  return {
    db,
    raw,
    doc: documentClient(raw),
    requests,
    newTable: async (prefix) => {
      const name = `${prefix}${++count}`;
      await db.createTableFromTemplate(properties, name);
      requests.length = 0;
      return name;
    },
    close: async () => {
      raw.destroy();
      await db.close();
    },
  };
}
