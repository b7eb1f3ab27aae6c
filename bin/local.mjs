#!/usr/bin/env node
/**
 * `npm start`: a plain-JavaScript entry that answers `--help` and every mistake in the options
 * before anything heavy loads, then runs bin/local.ts (the symphony) through tsx.
 *
 * The options parser is local/cli-options.ts (TypeScript). Loading tsx to run it costs about half a
 * second, so it runs from an esbuild bundle cached under node_modules/.cache/aurastream-cli: the
 * bundle is keyed by a hash of every source file it was built from (esbuild's own list), and is
 * built again when any of them changes. `npm ci` warms it (postinstall: `node bin/local.mjs --warm-cache`);
 * without it, the first run builds it (about 0.1 s). If the cache cannot be written, the parser
 * is loaded through tsx instead: slower, same answers.
 *
 * AURASTREAM_CLI_CACHE_DIR moves the cache (tests).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = 'local/cli-options.ts';
const CACHE_DIR = process.env['AURASTREAM_CLI_CACHE_DIR'] ?? join(ROOT, 'node_modules', '.cache', 'aurastream-cli');
const MANIFEST = join(CACHE_DIR, 'manifest.json');

/** sha256 over the relative paths and contents of `inputs` (relative to the repository). */
function hashOf(inputs) {
  const hash = createHash('sha256');
  for (const file of [...inputs].sort()) hash.update(file).update('\0').update(readFileSync(join(ROOT, file))).update('\0');
  return hash.digest('hex');
}

/** The bundle's path when the manifest's inputs still hash the same, else undefined. */
function cachedBundle() {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    const file = join(CACHE_DIR, manifest.file);
    if (typeof manifest.file === 'string' && Array.isArray(manifest.inputs) && manifest.hash === hashOf(manifest.inputs) && existsSync(file)) return file;
  } catch {
    // No manifest yet, a source gone, or unreadable: built again.
  }
  return undefined;
}

/** Bundles the parser with esbuild and records its inputs and their hash; the bundle's path. */
async function buildBundle() {
  const { build } = await import('esbuild');
  const out = await build({ entryPoints: [join(ROOT, ENTRY)], absWorkingDir: ROOT, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
  const inputs = Object.keys(out.metafile.inputs);
  const hash = hashOf(inputs);
  const name = `cli-options-${hash.slice(0, 16)}.mjs`;
  mkdirSync(CACHE_DIR, { recursive: true });
  const code = out.outputFiles[0]?.text ?? '';
  const tmp = join(CACHE_DIR, `${name}.${process.pid}.tmp`);
  writeFileSync(tmp, code);
  renameSync(tmp, join(CACHE_DIR, name)); // atomic: a concurrent run sees the whole file or none
  const tmpManifest = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(tmpManifest, JSON.stringify({ file: name, inputs, hash }));
  renameSync(tmpManifest, MANIFEST);
  return join(CACHE_DIR, name);
}

let tsxRegistered = false;
async function registerTsx() {
  if (tsxRegistered) return;
  const { register } = await import('tsx/esm/api');
  register();
  tsxRegistered = true;
}

/** local/cli-options.ts's exports: from the cached bundle, else freshly bundled, else through tsx. */
async function loadCliOptions() {
  let file = cachedBundle();
  if (file === undefined) {
    try {
      file = await buildBundle();
    } catch {
      file = undefined;
    }
  }
  if (file !== undefined) return import(pathToFileURL(file).href);
  await registerTsx();
  return import(pathToFileURL(join(ROOT, ENTRY)).href);
}

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--warm-cache') {
  // postinstall: build the bundle now so the first `npm start` answers fast; never fails an install.
  if (cachedBundle() === undefined) await buildBundle().catch(() => undefined);
} else {
  const { answerWithoutRunning } = await loadCliOptions();
  const answer = answerWithoutRunning(argv);
  if (answer !== undefined) {
    if (answer.stdout !== undefined) process.stdout.write(`${answer.stdout}\n`);
    if (answer.stderr !== undefined) process.stderr.write(`${answer.stderr}\n`);
    process.exitCode = answer.exitCode;
  } else {
    await registerTsx();
    await import('./local.ts');
  }
}
