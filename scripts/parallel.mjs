/**
 * Runs npm scripts at the same time and waits for all of them: `node scripts/parallel.mjs lint build`.
 *
 * `npm test` uses it twice: the rollup build (then the examples check) beside the tsc build of the
 * specs, then lint beside the specs, so that a machine with several cores runs them side by side. Each
 * script's output is held and printed whole when it ends, so that outputs do not interleave.
 * Exits with the first non-zero status, after every script has ended.
 */
import { spawn } from 'node:child_process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  console.error('usage: node scripts/parallel.mjs SCRIPT [SCRIPT...]');
  process.exit(2);
}

const npm = process.env.npm_execpath;
const runs = scripts.map(
  (script) =>
    new Promise((resolve) => {
      // Through the npm that runs us when there is one (npm_execpath), else `npm` on PATH.
      const child = npm
        ? spawn(process.execPath, [npm, 'run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
      const chunks = [];
      child.stdout.on('data', (chunk) => chunks.push(chunk));
      child.stderr.on('data', (chunk) => chunks.push(chunk));
      const started = performance.now();
      child.on('error', (error) => {
        chunks.push(Buffer.from(`${error.message}\n`));
        resolve({ script, code: 1, chunks, started });
      });
      child.on('close', (code, signal) => resolve({ script, code: code ?? (signal ? 1 : 0), chunks, started }));
    }).then((run) => {
      const seconds = ((performance.now() - run.started) / 1000).toFixed(1);
      process.stdout.write(Buffer.concat(run.chunks));
      console.log(`> ${run.script}: ${run.code === 0 ? 'ok' : `exited ${run.code}`} in ${seconds} s`);
      return run.code;
    }),
);

const codes = await Promise.all(runs);
process.exitCode = codes.find((code) => code !== 0) ?? 0;
