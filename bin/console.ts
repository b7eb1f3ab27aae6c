/**
 * `npm run console -- --stack AuraStreamOrchestrator [--region R] [--profile P] [--port N] [--operator NAME]`:
 * the orchestrator page for a deployed stack, on http://127.0.0.1:<port>. Credentials come from the
 * standard AWS chain (environment, profile, SSO, instance role) and stay in this process: every API
 * call and the live-updates `$connect` are signed here (local/console/).
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { startConsoleServer } from '../local/console/server.js';
import { makeSigner } from '../local/console/signing.js';
import { stackEndpoints } from '../local/console/stack-outputs.js';

const USAGE = 'usage: npm run console -- --stack <stack name> [--region <region>] [--profile <profile>] [--port <port>] [--operator <name acknowledgements carry; default: your login>]';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stack: { type: 'string' }, region: { type: 'string' }, profile: { type: 'string' }, port: { type: 'string' }, operator: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.stack) throw new Error(`--stack is required\n${USAGE}`);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  const credentials = fromNodeProviderChain(values.profile ? { profile: values.profile } : {});
  const cloudFormation = new CloudFormationClient({ credentials, ...(values.region ? { region: values.region } : {}) });
  const region = await cloudFormation.config.region();
  const endpoints = await stackEndpoints(cloudFormation, values.stack);
  const server = await startConsoleServer({
    apiUrl: endpoints.apiUrl,
    liveUrl: endpoints.liveUrl,
    signer: makeSigner({ region, credentials }),
    environment: endpoints.stackName,
    region,
    port,
    ...(values.operator ? { operator: values.operator } : {}),
  });
  console.log(`AuraStream console for ${endpoints.stackName} (${region}): ${server.url}`);
  console.log(`  status API ${endpoints.apiUrl}; live updates ${endpoints.liveUrl ?? 'none'}; requests signed with SigV4 here, no credential reaches the browser`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
