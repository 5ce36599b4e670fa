// taskpool/queue demo: 600 jobs on a Redis queue, three worker processes, one killed with
// SIGKILL in the middle. Its jobs come back to the queue (delivery is at least once) and the
// two others finish them: every job is accounted for.
//
//   npm run demo:queue            (builds dist/, then runs this file)
//   REDIS_URL=redis://host:6379 node examples/queue-demo.mjs   (an existing Redis; else a private one is started)
//
// Needs redis-server (for the private Redis) and the bullmq and ioredis packages.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asCompleted } from 'taskpool';
import { QueueExecutor } from 'taskpool/queue';

const JOBS = 600;
const WORKERS = 3;
const CONCURRENCY = 10;
const KILL_AT = 200;
const root = fileURLToPath(new URL('..', import.meta.url));
const queue = `demo-${process.pid}`;

// --- A private Redis on a free loopback port, unless REDIS_URL is given ------------------
async function privateRedis() {
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'taskpool-demo-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.once('error', () => reject(new Error('redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL')));
    child.stdout.on('data', (chunk) => String(chunk).includes('Ready to accept connections') && resolve());
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => (child.kill(), rmSync(dir, { recursive: true, force: true })) };
}
const redis = process.env.REDIS_URL ? { url: process.env.REDIS_URL, stop() {} } : await privateRedis();

// --- Three worker processes: `taskpool worker` ---------------------------------------------
function startWorker() {
  const child = spawn(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'worker', '--queue', queue, '--redis', redis.url, '--concurrency', String(CONCURRENCY), '--lock-duration', '2000', '--stalled-interval', '1000', '--quiet', join(root, 'examples', 'queue-handlers.mjs')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      if (text.includes('serving queue')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${text}`)));
  });
}
const workers = await Promise.all(Array.from({ length: WORKERS }, startWorker));
const killed = workers[1];
console.log(`Redis at ${redis.url}; ${WORKERS} workers (pids ${workers.map((w) => w.pid).join(', ')}) x concurrency ${CONCURRENCY} on queue '${queue}'`);
console.log(`${JOBS} jobs of 100-300 ms; worker ${killed.pid} is killed with SIGKILL after ${KILL_AT} results\n`);

// --- The client -----------------------------------------------------------------------------
const started = performance.now();
const results = [];
const failures = [];
{
  const pool = new QueueExecutor({ queue, connection: redis.url });
  const futures = Array.from({ length: JOBS }, (_, frame) => pool.submit('render', frame));
  const line = () => {
    const { pending, running, completed, failed } = pool.stats;
    return `${completed + failed}/${JOBS} done, ${running} running, ${pending} waiting, ${failed} failed, ${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  const progress = setInterval(() => (process.stdout.isTTY ? process.stdout.write(`\r${line()}   `) : console.log(line())), process.stdout.isTTY ? 100 : 1000);
  let killedAt;
  for await (const { result } of asCompleted(futures)) {
    if (result.ok) results.push(result.value);
    else failures.push(result.error);
    if (results.length + failures.length === KILL_AT) {
      killed.kill('SIGKILL');
      killedAt = line();
      if (process.stdout.isTTY) process.stdout.write('\n');
      console.log(`killed worker ${killed.pid} (SIGKILL) at ${killedAt}: its jobs go back to the queue within ~3 s`);
    }
  }
  clearInterval(progress);
  if (process.stdout.isTTY) process.stdout.write(`\r${line()}   \n`);
  await pool.shutdown();
}

// --- Summary --------------------------------------------------------------------------------
const byWorker = new Map(workers.map((w) => [w.pid, 0]));
for (const { pid } of results) byWorker.set(pid, (byWorker.get(pid) ?? 0) + 1);
const frames = new Set(results.map(({ frame }) => frame));
const retried = results.filter(({ attempt }) => attempt > 1).length;
console.log(`\nSummary after ${((performance.now() - started) / 1000).toFixed(1)} s:`);
for (const [pid, count] of byWorker) console.log(`  worker ${pid}${pid === killed.pid ? ' (killed)' : ''}: ${count} jobs`);
console.log(`  ${results.length} fulfilled, ${failures.length} failed, ${frames.size} distinct frames of ${JOBS}${retried ? `, ${retried} after a retry` : ''}`);
const ok = frames.size === JOBS && failures.length === 0;
console.log(ok ? `  every job accounted for.` : `  MISSING: ${JOBS - frames.size} frames; failures: ${failures.map(String).join('; ')}`);

for (const worker of workers) if (worker !== killed) worker.kill('SIGTERM');
await Promise.all(workers.filter((w) => w !== killed).map((w) => (w.exitCode === null ? new Promise((resolve) => w.once('exit', resolve)) : undefined)));
redis.stop();
process.exitCode = ok ? 0 : 1;
