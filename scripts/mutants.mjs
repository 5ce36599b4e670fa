/**
 * Checks the checker: runs the property-based test (spec/property.spec.ts) against copies of
 * the library, each with one deliberate bug, and expects every copy to fail it.
 *
 *   npm run build:test && node scripts/mutants.mjs [--runs N]
 *
 * Each mutant replaces one piece of a source file in lib/; the file is transpiled over a copy
 * of build/, so nothing in the repository changes. A mutant whose text is no longer found (the
 * library changed) is reported, and so is one that survives: both make the script fail.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

/** [name, file, text to find (string or RegExp), replacement]. */
const MUTANTS = [
  ['bound: start at once one task too many', 'lib/executor.ts', 'signal === undefined && this.#running < this.maxWorkers && this.#pending === 0', 'signal === undefined && this.#running <= this.maxWorkers && this.#pending === 0'],
  ['bound: a worker loop too many', 'lib/executor.ts', 'while (this.#running < this.maxWorkers) {', 'while (this.#running <= this.maxWorkers) {'],
  ['liveness: a freed slot takes no queued task', 'lib/executor.ts', 'const next = this.#takeNext();', 'const next: Future<unknown> | undefined = undefined;'],
  ['start gate: a cancelled task starts', 'lib/executor.ts', 'if (internals.start(future)) {', 'if (internals.start(future) || true) {'],
  ['stats: cancellations not counted', 'lib/executor.ts', 'this.#cancelled++;', ''],
  ['shutdown: cancelFutures cancels nothing', 'lib/executor.ts', 'future = this.#queue.shift()) future.cancel();', 'future = this.#queue.shift()) void future;'],
  ['timeout: timer left behind', 'lib/executor.ts', /(#work\([\s\S]*?)cancelTimer\(timer\);/, '$1'],
  ['timeout: signal not aborted', 'lib/executor.ts', 'internals.reject(future, error, true)', 'internals.reject(future, error, false)'],
  ['onIdle: not resolved when the last task ends', 'lib/executor.ts', /(if \(next === undefined\) \{\s*)this\.#notifyIdle\(\);/, '$1'],
  ['done callbacks: errors swallowed', 'lib/future.ts', "reportError('a done callback threw', error);", ''],
  ['result(timeout): timer left behind', 'lib/future.ts', /(#waitFor\([\s\S]*?)cancelTimer\(timer\);/, '$1'],
  ['priority: lowest first', 'lib/internal/queue.ts', 'buckets[index]!.priority > priority', 'buckets[index]!.priority < priority'],
  ['map: one more than bufferSize', 'lib/map.ts', 'while (!this.#inputDone && !this.#pulling && this.#count < this.#bufferSize) {', 'while (!this.#inputDone && !this.#pulling && this.#count <= this.#bufferSize) {'],
  ['map: inputs not closed when it stops', 'lib/map.ts', /(#stop\(\): void \{[\s\S]*?)this\.#closeInputs\(-1\);/, '$1'],
  ['map: an item read as the map stops is still submitted', 'lib/map.ts', /(#took\([^)]*\): boolean \{[\s\S]*?)if \(this\.#inputDone\) return false;/, '$1'],
  ['map: outstanding tasks not cancelled', 'lib/map.ts', 'for (const item of [...this.#queue.drain(), ...this.#unsettled]) item.cancel();', 'this.#queue.drain();'],
  ['wait: timer left behind', 'lib/wait.ts', /(const finish = \(\): void => \{\s*)cancelTimer\(timer\);/, '$1'],
  ['wait: FIRST_EXCEPTION on any settlement', 'lib/wait.ts', "(returnWhen === 'FIRST_EXCEPTION' && future.state === 'rejected')", "(returnWhen === 'FIRST_EXCEPTION' && future.state !== 'pending')"],
  ['wait: FIRST_COMPLETED waits for two', 'lib/wait.ts', "returnWhen === 'FIRST_COMPLETED' ||", "(returnWhen === 'FIRST_COMPLETED' && done.size > 1) ||"],
  ['asCompleted: a settled future dropped', 'lib/as-completed.ts', 'future.addDoneCallback(onDone);', 'void onDone;'],
  ['map (unordered): a settled result dropped', 'lib/map.ts', /(\} else if \(this\.#unsettled\.delete\(item\)\) \{\s*)this\.#queue\.push\(item\);/, '$1'],
];

const args = process.argv.slice(2);
const runs = args[0] === '--runs' && args[1] !== undefined ? args[1] : '2000';
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
// Inside the project, so that the copy resolves the project's packages.
const copy = mkdtempSync(join(root, '.build-mutants-'));
// TASKPOOL_BUILD: where the compiled specs are, when not in build/.
cpSync(process.env.TASKPOOL_BUILD ?? join(root, 'build'), copy, { recursive: true });

const runProperties = () =>
  spawnSync(process.execPath, [mocha, '--no-config', '--require', join(copy, 'spec/setup.js'), '--timeout', '0', join(copy, 'spec/property.spec.js')], {
    cwd: root,
    env: { ...process.env, TASKPOOL_FUZZ_RUNS: runs },
    encoding: 'utf8',
  });

let failures = 0;
try {
  // The unmutated copy must pass: otherwise every mutant would look caught.
  const baseline = runProperties();
  if (baseline.status !== 0) {
    console.log(`the property tests fail on the unmutated library:\n${baseline.stdout}${baseline.stderr}`);
    console.log(`mutants: 0 passed, ${MUTANTS.length} failed`);
    process.exit(1);
  }
  for (const [name, file, from, to] of MUTANTS) {
    const source = readFileSync(join(root, file), 'utf8');
    const mutated = source.replace(from, to);
    if (mutated === source) {
      console.log(`NOT FOUND  ${name} (${file})`);
      failures++;
      continue;
    }
    const target = join(copy, file.replace(/\.ts$/, '.js'));
    const original = readFileSync(target, 'utf8');
    const { outputText } = ts.transpileModule(mutated, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, useDefineForClassFields: true },
      fileName: file,
    });
    writeFileSync(target, outputText);
    const result = runProperties();
    writeFileSync(target, original);
    const output = `${result.stdout}${result.stderr}`;
    if (result.status === 0) {
      console.log(`SURVIVED   ${name}`);
      failures++;
    } else {
      const reason = /Violation: [^\n]*\n\s*(.*)/.exec(output)?.[1] ?? output.split('\n').find((line) => line.includes('Error')) ?? '';
      console.log(`caught     ${name}: ${reason.trim().slice(0, 110)}`);
    }
  }
} finally {
  rmSync(copy, { recursive: true, force: true });
}
console.log(`mutants: ${MUTANTS.length - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
