/**
 * `npm run fuzz`: the property-based tests (spec/property.spec.ts, then the policies'
 * spec/policies-property.spec.ts) over many more generated programs than `npm test` runs,
 * with a fresh random seed unless one is given.
 *
 *   npm run fuzz                         # 50,000 programs each, random seed
 *   npm run fuzz -- --runs 200000 --max-ops 60
 *   npm run fuzz -- --minutes 10         # as many programs as fit in 10 minutes, for each spec
 *   npm run fuzz -- --spec policies-property --runs 100000   # one spec only
 *   npm run fuzz -- --spec property --seed 42 --path "17:3:0"   # replay what a failure printed
 *
 * Expects the specs compiled to build/ (the npm script runs `npm run build:test` first).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SPECS = ['property', 'policies-property'];
const flags = { '--runs': 'TASKPOOL_FUZZ_RUNS', '--minutes': 'TASKPOOL_FUZZ_MINUTES', '--seed': 'TASKPOOL_FUZZ_SEED', '--path': 'TASKPOOL_FUZZ_PATH', '--max-ops': 'TASKPOOL_FUZZ_MAX_OPS' };
const usage = `Usage: npm run fuzz -- [--spec ${SPECS.join('|')}] [${Object.keys(flags).map((flag) => `${flag} N`).join('] [')}]`;
const env = { ...process.env, TASKPOOL_FUZZ_RUNS: '50000', TASKPOOL_FUZZ_SEED: 'random', TASKPOOL_FUZZ_REPORT: '1' };
const args = process.argv.slice(2);
let specs = SPECS;
for (let index = 0; index < args.length; index += 2) {
  const value = args[index + 1];
  if (args[index] === '--spec' && SPECS.includes(value)) {
    specs = [value];
    continue;
  }
  const name = flags[args[index]];
  if (name === undefined || value === undefined) {
    console.error(usage);
    process.exit(2);
  }
  env[name] = value;
}
if (env.TASKPOOL_FUZZ_PATH !== undefined && specs.length > 1) {
  console.error(`A --path replays one spec's failure: say which with --spec.\n${usage}`);
  process.exit(2);
}
if (env.TASKPOOL_FUZZ_MINUTES !== undefined && !args.includes('--runs')) env.TASKPOOL_FUZZ_RUNS = String(Number.MAX_SAFE_INTEGER);
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
let status = 0;
for (const spec of specs) {
  const result = spawnSync(process.execPath, [mocha, '--no-config', '--require', 'build/spec/setup.js', '--timeout', '0', `build/spec/${spec}.spec.js`], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
