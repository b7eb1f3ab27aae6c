#!/usr/bin/env node
/**
 * `npm start`: the local symphony. Synthesizes the app, starts the embedded runtime (dynalite with
 * an emulated stream, the real handlers in-process, aws-local-stepfunctions running the synthesized
 * state machines, the workers' sandbox APIs on loopback), drives every EventBridge schedule in the
 * template on a simulated clock, and prints the timeline, the score report card, the anomalies and
 * the circuits. With `--serve` it runs in real time and serves the HTTP API, the dashboard page and
 * its live updates on 127.0.0.1 (local/api-server.ts) until Ctrl-C.
 *
 * The options are parsed and checked first (local/cli-options.ts imports nothing heavy): a mistake
 * prints one line and a short usage and exits 2, and `--help` answers, before the app loads.
 * `npm start` runs bin/local.mjs, which gives those answers without even loading tsx, and only
 * then imports this file.
 */
import { answerWithoutRunning, DEFAULT_START, parseLocalArgs, type LocalOptions } from '../local/cli-options.js';


async function run(options: LocalOptions): Promise<number> {
  const [{ ALL_WORKERS }, { assertValidRegistry, RegistryValidationError }] = await Promise.all([import('../lib/registry/index.js'), import('../lib/registry/validate.js')]);
  try {
    assertValidRegistry(ALL_WORKERS);
  } catch (e) {
    if (e instanceof RegistryValidationError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  if (options.schedule) {
    const { renderSchedule } = await import('../lib/registry/render.js');
    console.log(renderSchedule(ALL_WORKERS));
    return 0;
  }
  const [{ reportCards, renderSymphony }, { silent }, { runSymphony }, { startLocalApiServer }, { scenarioByName }, { generateSecret }, { makeHandler: makeWebhookHandler }, { StaticWebhookSecrets }] = await Promise.all([
    import('../local/report.js'),
    import('../local/self-healing.js'),
    import('../local/symphony.js'),
    import('../local/api-server.js'),
    import('../scenarios/index.js'),
    import('../lib/domain/webhook-signature.js'),
    import('../lambdas/webhook/delivery.js'),
    import('../lambdas/webhook/secrets.js'),
  ]);
  type SymphonyContext = import('../local/symphony.js').SymphonyContext;
  type RenderedAlert = import('../lib/domain/alerting.js').RenderedMessage;

  const scenario = options.scenario === undefined ? undefined : scenarioByName(options.scenario);
  const hours = options.hours ?? scenario?.hours ?? 24;
  const startMs = options.startMs ?? (options.serve ? Date.now() : Date.parse(DEFAULT_START));
  const { seed, port } = options;

  let onAlert: ((message: RenderedAlert) => Promise<void>) | undefined;
  if (options.webhook !== undefined) {
    const url = options.webhook;
    const secret = generateSecret();
    console.error(`Alerts are POSTed to ${url.href}, signed with ${secret}`);
    const deliver = makeWebhookHandler({ target: { url: url.href }, secrets: new StaticWebhookSecrets([secret]), logger: silent });
    onAlert = async (message) => {
      await deliver({ Records: [{ Sns: { MessageId: message.json.type === 'aurastream.alert-digest' ? message.json.digest.id : message.json.alert.id, Message: message.body } }] }).catch((e: unknown) => {
        console.error(`webhook delivery failed: ${e instanceof Error ? e.message : String(e)}`);
      });
    };
  }
  const interactive = !options.json && process.stderr.isTTY;
  let lastReported = 0;
  const span = Number.isFinite(hours) ? `${hours} h from ${new Date(startMs).toISOString()}` : `from ${new Date(startMs).toISOString()} until Ctrl-C`;
  if (!options.json) console.error(`Synthesizing the app and starting the local runtime (${span}, seed ${seed})...`);
  if (scenario && !options.json) console.error(`Scenario ${scenario.name}: ${scenario.description}`);
  // --serve: the API and the page come up over the runtime before the first slot, and stay up until Ctrl-C.
  let server: Awaited<ReturnType<typeof startLocalApiServer>> | undefined;
  const serve = async (ctx: SymphonyContext): Promise<void> => {
    server = await startLocalApiServer({ runtime: ctx.runtime, clock: () => ctx.clock.now(), port });
    console.error(`Dashboard: ${server.url}/  (API on the same origin, live updates at ${server.url.replace('http', 'ws')}/live; no authentication, loopback only). Ctrl-C stops.`);
    process.once('SIGINT', () => {
      console.error('\nStopping.');
      void (server?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  };
  const prepare =
    scenario || options.serve
      ? async (ctx: SymphonyContext): Promise<void> => {
          await scenario?.prepare(ctx);
          if (options.serve) await serve(ctx);
        }
      : undefined;
  let result: Awaited<ReturnType<typeof runSymphony>>;
  try {
    result = await runSymphony({
      startMs,
      hours,
      seed,
      realtime: options.realtime || options.serve,
      ...(onAlert ? { onAlert } : {}),
      ...(prepare ? { prepare } : {}),
      onProgress: (done, total, atMs) => {
        if (interactive) process.stderr.write(`\r  ${new Date(atMs).toISOString().slice(0, 16).replace('T', ' ')}  ${done}/${total} schedule firings`);
        else if (!options.json && (Math.floor(done / 100) > Math.floor(lastReported / 100) || done === total)) console.error(`  ${done}/${total} schedule firings (${new Date(atMs).toISOString()})`);
        lastReported = done;
      },
    });
  } catch (e) {
    if (options.serve && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`--serve: port ${port} is in use on 127.0.0.1; pick another with --port (0 picks a free one)`);
      return 1;
    }
    throw e;
  } finally {
    await server?.close();
  }
  if (interactive) process.stderr.write('\n');
  if (!options.json) console.error(`Done in ${(result.wallMs / 1000).toFixed(1)} s wall time.`);
  if (options.json) {
    console.log(JSON.stringify({ ...result, cards: reportCards(result.reports) }, null, 2));
  } else {
    console.log(renderSymphony(result));
  }
  return 0;
}

function main(argv: readonly string[]): Promise<number> | number {
  const answer = answerWithoutRunning(argv);
  if (answer !== undefined) {
    if (answer.stdout !== undefined) console.log(answer.stdout);
    if (answer.stderr !== undefined) console.error(answer.stderr);
    return answer.exitCode;
  }
  const command = parseLocalArgs(argv);
  if (command.kind !== 'run') throw new Error('unreachable: answered above');
  return run(command.options);
}

process.exitCode = await main(process.argv.slice(2));
