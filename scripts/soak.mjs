/**
 * `npm run soak`: the soak and leak test (spec/soak.spec.ts) at full size, a million tasks
 * and a million map items, in a process started with --expose-gc; prints the figures.
 *
 *   npm run soak
 *   npm run soak -- --tasks 5000000
 *
 * Expects the specs compiled to build/ (the npm script runs `npm run build:test` first).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const tasks = args[0] === '--tasks' && args[1] !== undefined ? args[1] : args.length === 0 ? '1000000' : undefined;
if (tasks === undefined || !(Number(tasks) >= 100)) {
  console.error('Usage: npm run soak -- [--tasks N]   (N >= 100)');
  process.exit(2);
}
const env = { ...process.env, TASKPOOL_SOAK_TASKS: tasks, TASKPOOL_SOAK_REPORT: '1' };
const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const result = spawnSync(process.execPath, ['--expose-gc', mocha, '--no-config', '--require', 'build/spec/setup.js', '--timeout', '0', 'build/spec/soak.spec.js'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
