#!/usr/bin/env node
/**
 * `npm start`: the local entry point. Validates the registry and prints the symphony schedule
 * derived from it. (The full local symphony — the synthesized state machines run against the
 * embedded DynamoDB — is what `--simulate` will run once the local runtime lands.)
 */
import { parseArgs } from 'node:util';
import { ALL_WORKERS } from '../lib/registry/index.js';
import { renderSchedule } from '../lib/registry/render.js';
import { assertValidRegistry, RegistryValidationError } from '../lib/registry/validate.js';

const USAGE = `Usage: npm start -- [options]

Validates the worker registry and prints the AuraStream symphony schedule.

Options:
  --json     print the schedule as JSON
  -h, --help show this help`;

function main(): number {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
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
  if (values.json) {
    console.log(JSON.stringify(ALL_WORKERS, null, 2));
  } else {
    console.log(`AuraStream head orchestrator: ${ALL_WORKERS.length} registry entries, valid.\n`);
    console.log(renderSchedule(ALL_WORKERS));
  }
  return 0;
}

process.exitCode = main();
