/**
 * Entry point for a child runtime (Node, Deno, Bun): loads the built package from the URL given
 * as first argument, runs the portable suite, and prints one result line:
 * `TASKPOOL_RESULT {"runtime":…,"passed":…,"failed":…,"failures":[…],"skipped":[…]}`.
 *
 * Flags: `--using=required` runs the `await using` checks and fails when the runtime cannot
 * parse them (Deno, Bun); `--using=auto` (the default) skips them on a SyntaxError (Node 20).
 * `--require` loads the package with CommonJS `require` (Node).
 */
import { runSuite } from './portable-suite.mjs';

const args = globalThis.Deno?.args ?? globalThis.process.argv.slice(2);
const libUrl = args.find((arg) => !arg.startsWith('--'));
const usingMode = args.find((arg) => arg.startsWith('--using='))?.slice('--using='.length) ?? 'auto';
const viaRequire = args.includes('--require');

function runtimeName() {
  if (globalThis.Deno !== undefined) return `deno ${globalThis.Deno.version.deno}`;
  if (globalThis.Bun !== undefined) return `bun ${globalThis.Bun.version}`;
  return `node ${globalThis.process.versions.node}`;
}

let results;
try {
  let lib;
  if (viaRequire) {
    const { createRequire } = globalThis.process.getBuiltinModule('node:module');
    const { fileURLToPath } = globalThis.process.getBuiltinModule('node:url');
    lib = createRequire(import.meta.url)(fileURLToPath(libUrl));
  } else {
    lib = await import(libUrl);
  }
  const extra = [];
  let usingSkipped;
  try {
    extra.push((await import('./using-suite.mjs')).usingChecks);
  } catch (error) {
    if (usingMode === 'required' || !(error instanceof SyntaxError)) throw error;
    usingSkipped = `await using: this runtime cannot parse it (${error.message})`;
  }
  results = await runSuite(lib, { extra });
  if (usingSkipped !== undefined) results.skipped.push(usingSkipped);
} catch (error) {
  results = { passed: 0, failed: 1, failures: [`could not run the suite: ${error?.stack ?? error}`], skipped: [] };
}
console.log(`TASKPOOL_RESULT ${JSON.stringify({ runtime: runtimeName(), ...results })}`);
