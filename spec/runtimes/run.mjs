/**
 * `npm run test:runtimes`: the built package, tested for real in every runtime it supports.
 *
 * - Node (this one): the core bundle imports no Node built-in (static check of the ESM and
 *   CommonJS builds and their chunks); the portable suite against the ESM build and, through
 *   `require`, the CommonJS build.
 * - Deno and Bun (the binaries of the dev dependencies `@deno/linux-x64-glibc` and
 *   `@oven/bun-linux-x64`): the portable suite plus the real `await using` checks.
 * - Headless Chromium (the system binary, driven by playwright-core): the same suite in a
 *   page served from 127.0.0.1.
 *
 * The package is located as a user's `import 'taskpool'` would be (through `exports`).
 * Prints one line per runtime, then `runtimes: N passed, N failed`; exits 1 on any failure.
 * Build first (`npm run build`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPage } from '../../scripts/browser-runner.mjs';
import { checkCoreImports } from './core-imports.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./runtime-entry.mjs', import.meta.url));
const CHILD_TIMEOUT_MS = 60_000;
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const totals = { passed: 0, failed: 0 };

function report(label, { passed, failed, failures = [], skipped = [] }, notes = []) {
  totals.passed += passed;
  totals.failed += failed;
  const skippedText = skipped.length > 0 ? `, ${skipped.length} skipped` : '';
  console.log(`${label}: ${passed} passed, ${failed} failed${skippedText}`);
  for (const failure of failures) console.log(`  FAIL ${failure}`);
  for (const skip of skipped) console.log(`  skip ${skip}`);
  for (const note of notes) console.log(`  note ${note}`);
}

function failure(message) {
  return { passed: 0, failed: 1, failures: [message], skipped: [] };
}

/** The binary of an npm platform package, or a fallback from the environment / PATH. */
function binary(packageName, pathInPackage, envName, command) {
  if (process.env[envName]) return process.env[envName];
  try {
    const path = join(dirname(require.resolve(`${packageName}/package.json`)), pathInPackage);
    if (existsSync(path)) return path;
  } catch {
    // Not installed for this platform: fall back to the command on PATH.
  }
  return command;
}

/** Runs a child runtime on runtime-entry.mjs and parses its TASKPOOL_RESULT line. */
function runChild(command, args, env = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ label: command, results: failure(`cannot start ${command}: ${error.message}`) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith('TASKPOOL_RESULT '));
      if (line === undefined) {
        const why = signal === 'SIGKILL' ? `no result within ${CHILD_TIMEOUT_MS} ms` : `exit code ${code}, no result line`;
        resolvePromise({ label: command, results: failure(`${why}\n${stdout}${stderr}`.trim()) });
        return;
      }
      const { runtime, ...results } = JSON.parse(line.slice('TASKPOOL_RESULT '.length));
      if (code !== 0) {
        results.failed++;
        results.failures.push(`exit code ${code}: ${stderr.trim()}`);
      }
      resolvePromise({ label: runtime, results });
    });
  });
}

// Where `import 'taskpool'` and `require('taskpool')` lead (self-reference through `exports`).
const esmUrl = import.meta.resolve('taskpool');
const cjsUrl = pathToFileURL(require.resolve('taskpool')).href;
const show = (url) => relative(ROOT, fileURLToPath(url));

const core = await checkCoreImports(ROOT, pkg.exports);
report(
  `node ${process.versions.node}: core imports no node:* module (${core.files.join(', ')})`,
  core,
  core.lookups.map((lookup) => `guarded run-time lookup ${lookup}`),
);

for (const [args, what] of [
  [[esmUrl], `ESM ${show(esmUrl)}`],
  [[cjsUrl, '--require'], `CommonJS ${show(cjsUrl)} via require`],
]) {
  const { label, results } = await runChild(process.execPath, [ENTRY, ...args]);
  report(`${label} (${what})`, results);
}

const denoDir = mkdtempSync(join(tmpdir(), 'taskpool-deno-'));
try {
  const deno = binary('@deno/linux-x64-glibc', 'deno', 'DENO_PATH', 'deno');
  const { label, results } = await runChild(
    deno,
    ['run', '--no-config', '--no-lock', '--no-prompt', `--allow-read=${ROOT}`, ENTRY, esmUrl, '--using=required'],
    { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1' },
  );
  report(`${label} (ESM ${show(esmUrl)}, await using)`, results);
} finally {
  rmSync(denoDir, { recursive: true, force: true });
}

{
  const bun = binary('@oven/bun-linux-x64', 'bin/bun', 'BUN_PATH', 'bun');
  const { label, results } = await runChild(bun, ['--no-install', ENTRY, esmUrl, '--using=required']);
  report(`${label} (ESM ${show(esmUrl)}, await using)`, results);
}

try {
  const libPath = `/${show(esmUrl)}`;
  const { result, version, errors } = await runPage({ page: `/spec/runtimes/browser.html?lib=${encodeURIComponent(libPath)}` });
  if (errors.length > 0) {
    result.failed++;
    result.failures.push(...errors);
  }
  report(`chromium ${version} (ESM ${libPath} over http://127.0.0.1)`, result);
} catch (error) {
  report('chromium', failure(error.message));
}

console.log(`runtimes: ${totals.passed} passed, ${totals.failed} failed`);
process.exitCode = totals.failed > 0 ? 1 : 0;
