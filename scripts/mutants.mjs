/**
 * Checks the checkers: runs a property-based test against copies of the library, each with
 * one deliberate bug, and expects every copy to fail it. The core mutants are checked by
 * spec/property.spec.ts, the policies' by spec/policies-property.spec.ts.
 *
 *   npm run build:test && node scripts/mutants.mjs [--runs N] [--spec policies-property]
 *
 * `--spec` checks only the mutants of that spec; `--against` checks the selected mutants with
 * that spec instead of their own (to see what one spec catches). Each mutant replaces one or more pieces of a
 * source file in lib/; the file is transpiled over a copy of build/, so nothing in the
 * repository changes. A mutant whose text is no longer found (the library changed) is
 * reported, and so is one that survives, and one whose spec fails on the unmutated library:
 * all make the script fail.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

const CORE = 'spec/property.spec.js';
const POLICIES = 'spec/policies-property.spec.js';
/** The policies contract on both backends (a lower bound on retries, which the properties do not check). */
const CONTRACT_POLICIES = 'spec/contract-policies.spec.js';

/** The fixed-window limiter a naive implementation would write: a burst on each side of a boundary. */
const FIXED_WINDOW = `#windowStart = -1;
  #count = 0;
  delay(now) {
    const start = Math.floor(now / this.interval) * this.interval;
    if (start !== this.#windowStart || this.#count < this.limit) return 0;
    return start + this.interval - now;
  }
  take(now) {
    const start = Math.floor(now / this.interval) * this.interval;
    if (start !== this.#windowStart) {
      this.#windowStart = start;
      this.#count = 0;
    }
    this.#count++;
  }
  reserve() {}
  start(now) {
    this.take(now);
    return false;
  }
  release() {}
}`;

/**
 * [name, file, text to find (string or RegExp), replacement, spec (default the core one)];
 * the text to find may instead be a list of [text, replacement] pairs (then the replacement is null).
 */
const MUTANTS = [
  ['bound: start at once one task too many', 'lib/executor.ts', 'this.#running < this.maxWorkers && this.#pending === 0 && this.#ungated', 'this.#running <= this.maxWorkers && this.#pending === 0 && this.#ungated'],
  ['bound: the gate lets one task too many start', 'lib/executor.ts', 'while (this.#running < this.maxWorkers && this.#gateWait === undefined) {', 'while (this.#running <= this.maxWorkers && this.#gateWait === undefined) {'],
  ['liveness: a freed slot takes no queued task', 'lib/executor.ts', 'const next = this.#takeNext();', 'const next = undefined;'],
  ['start gate: a cancelled task starts', 'lib/executor.ts', 'if (item.phase !== Phase.QUEUED) {', 'if (item.phase !== Phase.QUEUED && false) {'],
  ['stats: cancellations not counted', 'lib/executor.ts', 'this.#cancelled++;', ''],
  ['shutdown: cancelFutures cancels nothing', 'lib/executor.ts', 'if (item.phase === Phase.QUEUED) item.cancel();', 'void item;'],
  ['timeout: timer left behind', 'lib/executor.ts', /(#attemptEnded\([\s\S]*?)cancelTimer\(state\.timer\);/, '$1'],
  ['timeout: signal not aborted', 'lib/executor.ts', /(#startTimeout\(item: Item[\s\S]*?)item\.abortAttempt\(error\);/, '$1'],
  ['onIdle: not resolved when the last task ends', 'lib/executor.ts', '    this.#notifyIdle();\n    return undefined;\n  }', '    return undefined;\n  }'],
  ['done callbacks: errors swallowed', 'lib/future.ts', "reportError('a done callback threw', error);", ''],
  ['result(timeout): timer left behind', 'lib/future.ts', /(#waitFor\([\s\S]*?)cancelTimer\(timer\);/, '$1'],
  ['priority: lowest first', 'lib/internal/queue.ts', 'buckets[index]!.priority > priority', 'buckets[index]!.priority < priority'],
  ['map: one more than bufferSize', 'lib/map.ts', 'while (!this.#inputDone && !this.#pulling && this.#count < this.#bufferSize) {', 'while (!this.#inputDone && !this.#pulling && this.#count <= this.#bufferSize) {'],
  ['map: inputs not closed when it stops', 'lib/map.ts', /(#stop\(\): void \{[\s\S]*?)this\.#closeInputs\(-1\);/, '$1'],
  ['map: an item read as the map stops is still submitted', 'lib/map.ts', /(#took\([^)]*\): boolean \{[\s\S]*?)if \(this\.#inputDone\) return false;/, '$1'],
  ['map: outstanding tasks not cancelled', 'lib/map.ts', 'for (const item of [...this.#order.drain(), ...this.#queue.drain(), ...this.#unsettled]) item.cancel();', 'this.#order.drain();\n    this.#queue.drain();'],
  ['map: the queued tasks of a map submitted at once not cancelled', 'lib/map.ts', /(#close\(\): void \{[\s\S]*?)this\.#source\?\.cancel\(\);/, '$1'],
  ['map: the tasks a map submitted at once start after shutdown({ cancelFutures })', 'lib/work-item.ts', 'if (this.remaining === 0) return false;', 'return false;'],
  ['wait: timer left behind', 'lib/wait.ts', /(const finish = \(\): void => \{\s*)cancelTimer\(timer\);/, '$1'],
  ['wait: FIRST_EXCEPTION on any settlement', 'lib/wait.ts', "(returnWhen === 'FIRST_EXCEPTION' && future.state === 'rejected')", "(returnWhen === 'FIRST_EXCEPTION' && future.state !== 'pending')"],
  ['wait: FIRST_COMPLETED waits for two', 'lib/wait.ts', "returnWhen === 'FIRST_COMPLETED' ||", "(returnWhen === 'FIRST_COMPLETED' && done.size > 1) ||"],
  ['asCompleted: a settled future dropped', 'lib/as-completed.ts', 'future.addDoneCallback(this.#onDone);', 'void this.#onDone;'],
  ['map (unordered): a settled result dropped', 'lib/map.ts', /(\} else if \(this\.#unsettled\.delete\(item\)\) \{\s*)this\.#queue\.push\(item\);/, '$1'],
  // The policies.
  ['rate limit: fixed windows instead of a sliding one', 'lib/policies/rate-limit.ts', /\n {2}delay\(now: number\): number \{[\s\S]*\n\}\n?$/, `\n  ${FIXED_WINDOW}\n`, POLICIES],
  ['rate limit: a cancelled queued task uses a start', 'lib/executor.ts', 'this.#queuedCancelled--;\n        continue;', 'this.#queuedCancelled--;\n        limiter?.take(now());\n        continue;', POLICIES],
  ['rate limit: retries are not counted as starts', 'lib/executor.ts', 'if (this.#limiter!.start(calledAt)) this.#reopenGate();', 'if (item.attempt === 1 ? this.#limiter!.start(calledAt) : (this.#limiter!.release(), true)) this.#reopenGate();', POLICIES],
  ['rate limit: a place freed by a task cancelled before its call waits for an old timer', 'lib/executor.ts', 'this.#limiter.release();\n          this.#openGate();', 'this.#limiter.release();', CONTRACT_POLICIES],
  [
    'rate limit: a start counted as the task is let through, not as it is called',
    'lib/executor.ts',
    [
      ['limiter?.reserve();', 'limiter?.take(now());'],
      ['if (this.#limiter!.start(calledAt)) this.#reopenGate();', ''],
      ['this.#limiter.release();\n          this.#openGate();', ''],
    ],
    null,
    CONTRACT_POLICIES,
  ],
  ['breaker: a cancelled attempt counts as a failure', 'lib/executor.ts', 'this.#leave(item, phase, undefined, error);', "this.#leave(item, phase, 'failure', error);", POLICIES],
  ['breaker: a retry it refuses loses the error before', 'lib/executor.ts', 'breaker.refusal(this.name, now(), item.policyState?.failure)', 'breaker.refusal(this.name, now())', CONTRACT_POLICIES],
  ['breaker: a task starts while it is open', 'lib/policies/circuit-breaker.ts', "if (this.#state === 'open') return 'refuse';", "if (this.#state === 'open') return 'start';", POLICIES],
  ['breaker: two probes at once while half-open', 'lib/policies/circuit-breaker.ts', "if (this.#probeInFlight) return 'wait';", '', POLICIES],
  ['retry: a task cancelled in its backoff wait is called again', 'lib/executor.ts', 'this.#cancelled++;\n    const phase = item.phase;', 'if (item.phase === Phase.BACKOFF) return;\n    this.#cancelled++;\n    const phase = item.phase;', POLICIES],
  [
    'retry: a task in its backoff wait keeps its slot (counted in running)',
    'lib/executor.ts',
    [
      ['item.phase = Phase.BACKOFF;\n    this.#retrying++;', 'item.phase = Phase.BACKOFF;\n    this.#retrying++;\n    this.#running++;'],
      ['item.policyState!.timer = undefined;\n    this.#leave(item, Phase.BACKOFF);', 'item.policyState!.timer = undefined;\n    this.#running--;\n    this.#leave(item, Phase.BACKOFF);'],
    ],
    null,
    POLICIES,
  ],
  ['retry: the slot of an attempt that will be retried is never freed', 'lib/executor.ts', 'item.phase = Phase.BACKOFF;\n    this.#retrying++;', 'item.phase = Phase.BACKOFF;\n    this.#retrying++;\n    this.#running++;', POLICIES],
  [
    'retry: one attempt more than attempts',
    'lib/executor.ts',
    [
      ['retry.attempts > item.attempt', 'retry.attempts >= item.attempt'],
      ['retry.shouldRetry(error, item.attempt)', 'retry.shouldRetry(error, item.attempt - 1)'],
    ],
    null,
    POLICIES,
  ],
  ['retry: queued again behind the tasks of its priority', 'lib/executor.ts', /(#backoffEnded\([\s\S]*?)this\.#queue\.unshift\(item, item\.policyState\?\.priority\);/, '$1this.#queue.push(item, item.policyState?.priority);', POLICIES],
  ['retry: waiting retries not counted in stats.retrying', 'lib/executor.ts', 'item.phase = Phase.BACKOFF;\n    this.#retrying++;', 'item.phase = Phase.BACKOFF;', POLICIES],
  ['shutdown: cancelFutures leaves the waiting retries', 'lib/executor.ts', 'for (const item of this.#backoff) item.cancel();', '', POLICIES],
  ['deadline: timer left behind', 'lib/executor.ts', 'cancelTimer(state.deadlineTimer);', '', POLICIES],
  ['deadline: a backoff wait outlives the deadline', 'lib/executor.ts', /(#deadlinePassed\([\s\S]*?if \(phase === Phase\.DONE\) return;)/, '$1\n    if (phase === Phase.BACKOFF) return;', POLICIES],
  [
    'breaker: told of an outcome before the attempt settles or waits to retry (the gate it wakes finds the executor idle)',
    'lib/executor.ts',
    [
      ["const verdict = fulfilled ? 'success' : this.#breaker?.classify(outcome);", "const verdict = fulfilled ? 'success' : this.#breaker?.classify(outcome);\n    this.#releasePermit(item, verdict);"],
    ],
    null,
    POLICIES,
  ],
  ["retry: a task given a state for something else (a signal, a breaker's permit) loses the executor's retry", 'lib/executor.ts', 'return (item.policyState ??= this.#newState(this.#defaultPolicy, 0));', 'return (item.policyState ??= this.#newState(undefined, 0));', CONTRACT_POLICIES],
  ['single-flight: the key is never freed', 'lib/policies/single-flight.ts', 'if (key !== undefined && this.#tasks.get(key) === item) this.#tasks.delete(key);', '', POLICIES],
  ['single-flight: a settled follower keeps its abort listener', 'lib/executor.ts', 'if (state.followers !== undefined) for (const follower of state.followers) this.#unwatch(follower);', '', POLICIES],
];

const usage = 'Usage: node scripts/mutants.mjs [--runs N] [--spec property|policies-property|contract-policies] [--against property|policies-property|contract-policies]';
/** `policies-property` -> `spec/policies-property.spec.js`. */
const specPath = (name) => `spec/${name.replace(/^spec\//, '').replace(/\.spec\.(ts|js)$/, '')}.spec.js`;
const args = process.argv.slice(2);
let runs = '2000';
let only;
let against;
for (let index = 0; index < args.length; index += 2) {
  const value = args[index + 1];
  if (args[index] === '--runs' && value !== undefined) runs = value;
  else if (args[index] === '--spec' && value !== undefined) only = specPath(value);
  else if (args[index] === '--against' && value !== undefined) against = specPath(value);
  else {
    console.error(usage);
    process.exit(2);
  }
}
const selected = MUTANTS.filter(([, , , , spec = CORE]) => only === undefined || spec === only).map(([name, file, from, to, spec = CORE]) => ({
  name,
  file,
  pairs: Array.isArray(from) ? from : [[from, to]],
  spec: against ?? spec,
}));
if (selected.length === 0) {
  console.error(`no mutant is checked by ${only}\n${usage}`);
  process.exit(2);
}
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
// Inside the project, so that the copy resolves the project's packages.
const copy = mkdtempSync(join(root, '.build-mutants-'));
// TASKPOOL_BUILD: where the compiled specs are, when not in build/.
cpSync(process.env.TASKPOOL_BUILD ?? join(root, 'build'), copy, { recursive: true });

// The property specs run as long as their runs take; a contract case that waits for a call a
// mutant never makes must fail, not wait for good.
const runSpec = (spec) =>
  spawnSync(process.execPath, [mocha, '--no-config', '--require', join(copy, 'spec/setup.js'), '--timeout', spec === CONTRACT_POLICIES ? '10000' : '0', join(copy, spec)], {
    cwd: root,
    env: { ...process.env, TASKPOOL_FUZZ_RUNS: runs },
    encoding: 'utf8',
  });

/** What a failing run says broke: the violation, else the first error line. */
function reasonOf(output) {
  const violation = /Violation: ([^\n]*)\n\s*(.*)/.exec(output);
  if (violation !== null) return violation[1].endsWith(':') ? violation[2] : violation[1];
  return output.split('\n').find((line) => /^\s*\w*Error\b/.test(line)) ?? output.split('\n').find((line) => line.includes('Error')) ?? '';
}

let failures = 0;
try {
  // The unmutated copy must pass each spec: otherwise every mutant it checks would look caught.
  const broken = new Set();
  for (const spec of new Set(selected.map((mutant) => mutant.spec))) {
    const baseline = runSpec(spec);
    if (baseline.status !== 0) {
      broken.add(spec);
      console.log(`${spec} fails on the unmutated library, so its mutants are not checked:\n${reasonOf(`${baseline.stdout}${baseline.stderr}`).trim()}`);
    }
  }
  for (const { name, file, pairs, spec } of selected) {
    const source = readFileSync(join(root, file), 'utf8');
    let mutated = source;
    const missing = pairs.filter(([from, to]) => {
      const next = mutated.replace(from, to);
      if (next === mutated) return true;
      mutated = next;
      return false;
    });
    if (missing.length > 0) {
      console.log(`NOT FOUND  ${name} (${file})`);
      failures++;
      continue;
    }
    if (broken.has(spec)) {
      console.log(`UNCHECKED  ${name} (${spec} fails without it)`);
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
    const result = runSpec(spec);
    writeFileSync(target, original);
    if (result.status === 0) {
      console.log(`SURVIVED   ${name}`);
      failures++;
    } else {
      console.log(`caught     ${name}: ${reasonOf(`${result.stdout}${result.stderr}`).trim().slice(0, 110)}`);
    }
  }
} finally {
  rmSync(copy, { recursive: true, force: true });
}
console.log(`mutants: ${selected.length - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
