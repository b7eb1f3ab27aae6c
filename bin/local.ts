#!/usr/bin/env node
/**
 * `npm start`: the local symphony. Synthesizes the app, starts the embedded runtime (dynalite with
 * an emulated stream, the real handlers in-process, aws-local-stepfunctions running the synthesized
 * state machines, the workers' sandbox APIs on loopback), drives every EventBridge schedule in the
 * template on a simulated clock, and prints the timeline, the score report card, the anomalies and
 * the circuits.
 */
import { parseArgs } from 'node:util';
import { ALL_WORKERS } from '../lib/registry/index.js';
import { renderSchedule } from '../lib/registry/render.js';
import { assertValidRegistry, RegistryValidationError } from '../lib/registry/validate.js';
import { reportCards, renderSymphony } from '../local/report.js';
import { silent } from '../local/self-healing.js';
import { runSymphony } from '../local/symphony.js';
import { SCENARIOS, scenarioByName, type Scenario } from '../scenarios/index.js';
import type { AlertEnvelope, RenderedMessage } from '../lib/domain/alerting.js';
import { generateSecret } from '../lib/domain/webhook-signature.js';
import { makeHandler as makeWebhookHandler } from '../lambdas/webhook/delivery.js';
import { StaticWebhookSecrets } from '../lambdas/webhook/secrets.js';


const DEFAULT_START = '2026-03-02T00:00:00Z';

const USAGE = `Usage: npm start -- [options]

Runs the AuraStream symphony locally: every schedule of the synthesized template on a simulated
clock, the synthesized state machines in aws-local-stepfunctions, the real handlers in-process
against an embedded DynamoDB, the real workers against sandbox APIs on loopback.

Options:
  --hours N       simulated span in hours (default 24)
  --start ISO     simulated start time, UTC (default ${DEFAULT_START})
  --seed N        seed of the sandbox data (default 1)
  --scenario NAME inject a fault scenario (${SCENARIOS.map((s) => s.name).join(', ')});
                  --hours defaults to the scenario's own span
  --webhook URL   also deliver every alert as a signed webhook (Standard Webhooks) to a
                  loopback URL; the signing secret is printed so the receiver can verify
  --realtime      wait in real time between schedule slots instead of jumping
  --json          print the result as JSON instead of text
  --schedule      only validate the registry and print the symphony schedule
  -h, --help      show this help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      hours: { type: 'string' },
      scenario: { type: 'string' },
      start: { type: 'string', default: DEFAULT_START },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      webhook: { type: 'string' },
      realtime: { type: 'boolean', default: false },
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
  const hours = Number(values.hours ?? scenario?.hours ?? 24);
  const startMs = Date.parse(values.start);
  const seed = Number(values.seed);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 31) return usageError(`--hours must be a number of hours from 0 to 744, got ${JSON.stringify(values.hours)}`);
  if (Number.isNaN(startMs)) return usageError(`--start must be an ISO-8601 time, got ${JSON.stringify(values.start)}`);
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
  const result = await runSymphony({
    startMs,
    hours,
    seed,
    realtime: values.realtime,
    ...(onAlert ? { onAlert } : {}),
    ...(scenario ? { prepare: (ctx) => scenario.prepare(ctx) } : {}),
    onProgress: (done, total, atMs) => {
      if (interactive) process.stderr.write(`\r  ${new Date(atMs).toISOString().slice(0, 16).replace('T', ' ')}  ${done}/${total} schedule firings`);
      else if (!values.json && (Math.floor(done / 100) > Math.floor(lastReported / 100) || done === total)) console.error(`  ${done}/${total} schedule firings (${new Date(atMs).toISOString()})`);
      lastReported = done;
    },
  });
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
