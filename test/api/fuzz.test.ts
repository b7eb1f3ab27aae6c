/**
 * Fuzzing the API: arbitrary methods, paths, headers, query strings and bodies (junk JSON, huge
 * strings, wrong types, non-string bodies) never produce a 5xx, and bad input never starts an
 * execution.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../lambdas/api/app.js';
import { ALL_WORKERS } from '../../lib/registry/index.js';
import { InMemoryStatusStore, PIPELINE_KEYS, RecordingLogger, RecordingStarter } from './fakes.js';

const NOW = Date.parse('2026-03-02T06:10:00.000Z');
const RUNS = 400;

const workerIds = ALL_WORKERS.map((w) => w.id);
const segment = fc.oneof(fc.constantFrom(...workerIds), fc.string({ maxLength: 40 }), fc.constantFrom('', '..', '%', '%E0%A4%A', 'alert_0', '%2F', ' '));
const knownPath = fc.oneof(
  fc.constant('/workers'),
  segment.map((s) => `/workers/${s}/reports`),
  segment.map((s) => `/workers/${s}/trigger`),
  segment.map((s) => `/workers/${s}/config`),
  fc.constant('/alerts'),
  segment.map((s) => `/alerts/${s}/ack`),
  fc.constantFrom('/orchestrator/pause', '/orchestrator/resume', '/orchestrator/drain'),
);
const path = fc.oneof(knownPath, fc.webPath(), fc.string({ maxLength: 200 }), fc.constant(`/${'a/'.repeat(3000)}`));
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'get', 'post'), fc.string({ maxLength: 10 }));
const huge = fc.constantFrom('x'.repeat(70_000), JSON.stringify({ enabled: true, note: 'n'.repeat(100_000) }), `[${'1,'.repeat(50_000)}1]`);
const jsonish = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ enabled: fc.anything(), thresholds: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? ''),
  fc.record({ job: fc.anything(), reason: fc.anything(), by: fc.anything(), note: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? ''),
);
const body = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 300 }), jsonish, huge, fc.anything());
const headers = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 200 }), { maxKeys: 5 }),
  fc.record({ 'idempotency-key': fc.oneof(fc.string({ maxLength: 200 }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/)) }),
  fc.anything(),
);
const query = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom('limit', 'cursor', 'x'), fc.oneof(fc.string({ maxLength: 3000 }), fc.integer().map(String), fc.base64String({ maxLength: 400 }))),
  fc.anything(),
);
const event = fc.record({
  rawPath: path,
  headers,
  queryStringParameters: query,
  body,
  isBase64Encoded: fc.oneof(fc.boolean(), fc.anything()),
  requestContext: fc.oneof(fc.record({ requestId: fc.string(), stage: fc.constantFrom('$default', 'prod', ''), http: fc.record({ method, path }) }), fc.anything()),
});

const VALID_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const jobIds = new Set(ALL_WORKERS.flatMap((w) => w.jobs.map((j) => j.id)));
/** Bodies a trigger must reject whatever the key. */
const invalidTriggerBody = fc.oneof(
  fc.string({ maxLength: 50 }).map((s) => `{"job":${s.replace(/}/g, '')}`),
  fc.anything().filter((v) => typeof v !== 'string' && v !== undefined && v !== null),
  fc.anything().filter((v) => typeof v !== 'string' && v !== undefined).map((job) => JSON.stringify({ job }) ?? '[]'),
  fc.string({ maxLength: 64 }).filter((j) => !jobIds.has(j)).map((job) => JSON.stringify({ job })),
  fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== 'job'), fc.jsonValue(), { minKeys: 1, maxKeys: 3 }).map((d) => JSON.stringify(d)),
  fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
  huge,
);
/** Trigger requests that are bad by construction: a bad or missing key with any body, or a valid key with a bad body. */
const badTrigger = fc.oneof(
  fc.record({ worker: fc.constantFrom(...workerIds), key: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }).filter((k) => !VALID_KEY.test(k))), body }),
  fc.record({ worker: fc.constantFrom(...workerIds), key: fc.stringMatching(VALID_KEY), body: invalidTriggerBody }),
);

function setup() {
  const store = new InMemoryStatusStore();
  const starter = new RecordingStarter(PIPELINE_KEYS);
  const handle = makeHandler({ store, pipelines: starter, clock: () => NOW, logger: new RecordingLogger() });
  return { store, starter, handle };
}

describe('fuzzed requests', () => {
  it('never answer 5xx; every started execution belongs to a 202 trigger response', async () => {
    const { starter, handle } = setup();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const response = await handle(e);
        expect(response.statusCode).toBeLessThan(500);
        expect(() => JSON.parse(response.body) as unknown).not.toThrow();
        if (response.statusCode === 202) accepted++;
        expect(starter.started).toHaveLength(accepted);
      }),
      { numRuns: RUNS },
    );
  });

  it('bad trigger requests (bad or missing key, junk body, wrong types) start 0 executions and get a 4xx', async () => {
    const { starter, store, handle } = setup();
    await fc.assert(
      fc.asyncProperty(badTrigger, async (t) => {
        const response = await handle({
          rawPath: `/workers/${t.worker}/trigger`,
          headers: t.key === undefined ? {} : { 'idempotency-key': t.key },
          body: t.body,
          requestContext: { requestId: 'fuzz', http: { method: 'POST', path: `/workers/${t.worker}/trigger` } },
        });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
    expect(starter.started).toHaveLength(0);
    expect(store.triggers.size).toBe(0);
  });
});
