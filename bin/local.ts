#!/usr/bin/env node
/**
 * `npm start`: the local symphony. Synthesizes the app, starts the embedded runtime (dynalite with
 * an emulated stream, the real handlers in-process, aws-local-stepfunctions running the synthesized
 * state machines, the workers' sandbox APIs on loopback), drives every EventBridge schedule in the
 * template on a simulated clock, and prints the timeline, the score report card, the anomalies and
 * the circuits. With `--serve` it runs in real time and serves the HTTP API, the dashboard page and
 * its live updates on 127.0.0.1 (local/api-server.ts) until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { ALL_WORKERS } from '../lib/registry/index.js';
import { renderSchedule } from '../lib/registry/render.js';
import { assertValidRegistry, RegistryValidationError } from '../lib/registry/validate.js';
import { reportCards, renderSymphony } from '../local/report.js';
import { silent } from '../local/self-healing.js';
import { runSymphony, type SymphonyContext } from '../local/symphony.js';
import { startLocalApiServer, type LocalApiServer } from '../local/api-server.js';
import { SCENARIOS, scenarioByName, type Scenario } from '../scenarios/index.js';
import type { AlertEnvelope, RenderedMessage } from '../lib/domain/alerting.js';
import { generateSecret } from '../lib/domain/webhook-signature.js';
import { makeHandler as makeWebhookHandler } from '../lambdas/webhook/delivery.js';
import { StaticWebhookSecrets } from '../lambdas/webhook/secrets.js';


const DEFAULT_START = '2026-03-02T00:00:00Z';
/** Port of `--serve` without `--port`. */
const DEFAULT_PORT = 8787;
/** Span of `--serve` without `--hours`: the longest allowed, i.e. until Ctrl-C in practice. */
const SERVE_HOURS = 24 * 31;

const USAGE = `Usage: npm start -- [options]

Runs the AuraStream symphony locally: every schedule of the synthesized template on a simulated
clock, the synthesized state machines in aws-local-stepfunctions, the real handlers in-process
against an embedded DynamoDB, the real workers against sandbox APIs on loopback.

Options:
  --hours N       simulated span in hours (default 24; ${SERVE_HOURS} with --serve)
  --start ISO     simulated start time, UTC (default ${DEFAULT_START}; now with --serve)
  --seed N        seed of the sandbox data (default 1)
  --scenario NAME inject a fault scenario (${SCENARIOS.map((s) => s.name).join(', ')});
                  --hours defaults to the scenario's own span
  --webhook URL   also deliver every alert as a signed webhook (Standard Webhooks) to a
                  loopback URL; the signing secret is printed so the receiver can verify
  --realtime      wait in real time between schedule slots instead of jumping
  --serve         keep the runtime up in real time (from now, unless --start is given) and
                  serve the HTTP API and the dashboard page on 127.0.0.1, with live updates
                  over a WebSocket, until Ctrl-C; no authentication: loopback only
  --port N        port of --serve (default ${DEFAULT_PORT}; 0 picks a free one)
  --json          print the result as JSON instead of text
  --schedule      only validate the registry and print the symphony schedule
  -h, --help      show this help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      hours: { type: 'string' },
      scenario: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      webhook: { type: 'string' },
      realtime: { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
      port: { type: 'string' },
      schedule: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    assertValidRegistry(ALL_WORKERS);
  } catch (e) {
    if (e instanceof RegistryValidationError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  if (values.schedule) {
    console.log(renderSchedule(ALL_WORKERS));
    return 0;
  }
  let scenario: Scenario | undefined;
  try {
    scenario = values.scenario === undefined ? undefined : scenarioByName(values.scenario);
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.serve && values.json) return usageError('--serve and --json cannot be used together');
  if (values.port !== undefined && !values.serve) return usageError('--port needs --serve');
  const port = Number(values.port ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return usageError(`--port must be a port number from 0 to 65535, got ${JSON.stringify(values.port)}`);
  const hours = Number(values.hours ?? scenario?.hours ?? (values.serve ? SERVE_HOURS : 24));
  const start = values.start ?? (values.serve ? new Date().toISOString() : DEFAULT_START);
  const startMs = Date.parse(start);
  const seed = Number(values.seed);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 31) return usageError(`--hours must be a number of hours from 0 to 744, got ${JSON.stringify(values.hours)}`);
  if (Number.isNaN(startMs)) return usageError(`--start must be an ISO-8601 time, got ${JSON.stringify(start)}`);
  if (!Number.isInteger(seed)) return usageError(`--seed must be an integer, got ${JSON.stringify(values.seed)}`);

  let onAlert: ((message: RenderedMessage<AlertEnvelope>) => Promise<void>) | undefined;
  if (values.webhook !== undefined) {
    let url: URL;
    try {
      url = new URL(values.webhook);
    } catch {
      return usageError(`--webhook must be a URL, got ${JSON.stringify(values.webhook)}`);
    }
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.')) {
      return usageError(`--webhook must be a loopback URL (127.0.0.1, localhost or [::1]), got ${JSON.stringify(values.webhook)}`);
    }
    const secret = generateSecret();
    console.error(`Alerts are POSTed to ${url.href}, signed with ${secret}`);
    const deliver = makeWebhookHandler({ target: { url: url.href }, secrets: new StaticWebhookSecrets([secret]), logger: silent });
    onAlert = async (message) => {
      await deliver({ Records: [{ Sns: { MessageId: message.json.alert.id, Message: message.body } }] }).catch((e: unknown) => {
        console.error(`webhook delivery failed: ${e instanceof Error ? e.message : String(e)}`);
      });
    };
  }
  const interactive = !values.json && process.stderr.isTTY;
  let lastReported = 0;
  if (!values.json) console.error(`Synthesizing the app and starting the local runtime (${hours} h from ${new Date(startMs).toISOString()}, seed ${seed})...`);
  if (scenario && !values.json) console.error(`Scenario ${scenario.name}: ${scenario.description}`);
  // --serve: the API and the page come up over the runtime before the first slot, and stay up until Ctrl-C.
  let server: LocalApiServer | undefined;
  const serve = async (ctx: SymphonyContext): Promise<void> => {
    server = await startLocalApiServer({ runtime: ctx.runtime, clock: () => ctx.clock.now(), port });
    console.error(`Dashboard: ${server.url}/  (API on the same origin, live updates at ${server.url.replace('http', 'ws')}/live; no authentication, loopback only). Ctrl-C stops.`);
    process.once('SIGINT', () => {
      console.error('\nStopping.');
      void (server?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  };
  const prepare = scenario || values.serve
    ? async (ctx: SymphonyContext): Promise<void> => {
        await scenario?.prepare(ctx);
        if (values.serve) await serve(ctx);
      }
    : undefined;
  let result: Awaited<ReturnType<typeof runSymphony>>;
  try {
    result = await runSymphony({
      startMs,
      hours,
      seed,
      realtime: values.realtime || values.serve,
      ...(onAlert ? { onAlert } : {}),
      ...(prepare ? { prepare } : {}),
      onProgress: (done, total, atMs) => {
        if (interactive) process.stderr.write(`\r  ${new Date(atMs).toISOString().slice(0, 16).replace('T', ' ')}  ${done}/${total} schedule firings`);
        else if (!values.json && (Math.floor(done / 100) > Math.floor(lastReported / 100) || done === total)) console.error(`  ${done}/${total} schedule firings (${new Date(atMs).toISOString()})`);
        lastReported = done;
      },
    });
  } catch (e) {
    if (values.serve && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`--serve: port ${port} is in use on 127.0.0.1; pick another with --port (0 picks a free one)`);
      return 1;
    }
    throw e;
  } finally {
    await server?.close();
  }
  if (interactive) process.stderr.write('\n');
  if (values.json) {
    console.log(JSON.stringify({ ...result, cards: reportCards(result.reports) }, null, 2));
  } else {
    console.log(renderSymphony(result));
  }
  return 0;
}

function usageError(message: string): number {
  console.error(`${message}\n\n${USAGE}`);
  return 2;
}

process.exitCode = await main();
