/**
 * taskpool/queue against raw BullMQ, on a private Redis on loopback, 2 worker processes x
 * concurrency 50 for each side (both sets started once, each on its own queue), in ROUNDS
 * rounds that alternate which side goes first; the figures are each side's medians:
 *
 * 1. 10,000 trivial jobs, each submitted and its outcome awaited: `pool.submit` vs
 *    `Queue.add` + `job.waitUntilFinished(queueEvents)`, every job in flight at once.
 * 2. the same 10,000 as a stream: `pool.map(..., { bufferSize: 1_000 })` vs `Queue.addBulk`
 *    in batches of 1,000, each batch awaited before the next.
 * 3. round-trip latency of one job on an idle queue (200 jobs one after the other): p50/p99.
 *
 * Beside the throughput of (1) and (2), the CPU time each took in every process involved (the client,
 * that side's workers, Redis; read from /proc, so on Linux only), per job: a figure that other
 * work on the machine disturbs less than throughput.
 *
 *   npm run bench:queue                 (builds dist/ and the spec helpers first)
 *   node bench/queue/run.mjs --rounds 5
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { QueueExecutor } from '../../dist/queue.js';
import { startRedis } from '../../build/spec/queue/redis.js';

const option = (name, fallback) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
const ROUNDS = option('rounds', 3);
const JOBS = option('jobs', 10_000);
const WORKERS = 2;
const CONCURRENCY = 50;
const LATENCY_JOBS = 200;
const root = fileURLToPath(new URL('../..', import.meta.url));

const redis = await startRedis();
const children = [];

/** CPU milliseconds used so far by process `pid` (user + system), or NaN where /proc cannot say. */
function cpuOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
const redisPid = (() => {
  try {
    return Number(execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${redis.port}`]).toString().trim().split('\n')[0]);
  } catch {
    return undefined;
  }
})();

/** Runs `body` and returns its CPU milliseconds per job, in this process, `workers` and Redis. */
async function cpuPerJob(workers, body) {
  const cpu = () => workers.reduce((sum, child) => sum + cpuOf(child.pid), redisPid === undefined ? NaN : cpuOf(redisPid));
  const before = cpu();
  const client = process.cpuUsage();
  await body();
  const { user, system } = process.cpuUsage(client);
  return (cpu() - before + (user + system) / 1000) / JOBS;
}

function startWorker(args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      if (text.includes('serving queue')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${text}`)));
  });
}

const connection = { url: redis.url, maxRetriesPerRequest: null };
const range = Array.from({ length: JOBS }, (_, i) => i);
const progress = (text) => process.stderr.write(`${text}\n`);

async function timed(body) {
  const start = performance.now();
  await body();
  return performance.now() - start;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function latency(roundTrip) {
  for (let i = 0; i < 20; i++) await roundTrip(i); // warm-up
  const times = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const start = performance.now();
    await roundTrip(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Raw BullMQ: Queue + QueueEvents, as a BullMQ user writes it. */
async function rawSide() {
  const name = 'raw';
  const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(['bench/queue/raw-worker.mjs', name, redis.url, String(CONCURRENCY)])));
  // BullMQ keeps 10,000 events by default: with 10,000 jobs in flight QueueEvents falls behind the
  // trimming and waitUntilFinished hangs. Both sides keep 100,000 here.
  const queue = new Queue(name, { connection, streams: { events: { maxLen: 100_000 } } });
  // waitUntilFinished adds a listener per job in flight: silence Node's leak warning about them.
  queue.setMaxListeners(0);
  // From the start of the (new) stream: with the default '$', events written before the first
  // XREAD are missed even after waitUntilReady(), and waitUntilFinished then hangs.
  const events = new QueueEvents(name, { connection, lastEventId: '0-0' });
  await events.waitUntilReady();
  const one = async (i) => (await queue.add('add', { a: i, b: 1 })).waitUntilFinished(events);
  await Promise.all(range.slice(0, 200).map(one)); // warm-up
  return {
    name: 'raw BullMQ',
    async round() {
      let submitMs = 0;
      const cpuMs = await cpuPerJob(workers, async () => (submitMs = await timed(() => Promise.all(range.map(one)))));
      let bulkMs = 0;
      const bulkCpuMs = await cpuPerJob(workers, async () => {
        bulkMs = await timed(async () => {
          for (let start = 0; start < JOBS; start += 1_000) {
            const jobs = await queue.addBulk(range.slice(start, start + 1_000).map((i) => ({ name: 'add', data: { a: i, b: 1 } })));
            await Promise.all(jobs.map((job) => job.waitUntilFinished(events)));
          }
        });
      });
      return { submitPerSecond: JOBS / (submitMs / 1000), cpuMs, bulkPerSecond: JOBS / (bulkMs / 1000), bulkCpuMs, ...(await latency(one)) };
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}

/** taskpool/queue: QueueExecutor, workers by `taskpool worker`. */
async function taskpoolSide() {
  const name = 'taskpool';
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, () => startWorker(['dist/cli.js', 'worker', '--queue', name, '--redis', redis.url, '--concurrency', String(CONCURRENCY), 'bench/queue/handlers.mjs'])),
  );
  const pool = new QueueExecutor({ queue: name, connection: redis.url });
  await Promise.all(range.slice(0, 200).map((i) => pool.submit('add', i, 1))); // warm-up
  return {
    name: 'taskpool/queue',
    async round() {
      let submitMs = 0;
      const cpuMs = await cpuPerJob(workers, async () => (submitMs = await timed(() => Promise.all(range.map((i) => pool.submit('add', i, 1))))));
      let mapMs = 0;
      const bulkCpuMs = await cpuPerJob(workers, async () => {
        mapMs = await timed(async () => {
          let total = 0;
          for await (const sum of pool.map('add', range, range.map(() => 1), { bufferSize: 1_000 })) total += sum;
          if (total !== (JOBS * (JOBS + 1)) / 2) throw new Error(`wrong total ${total}`);
        });
      });
      return { submitPerSecond: JOBS / (submitMs / 1000), cpuMs, bulkPerSecond: JOBS / (mapMs / 1000), bulkCpuMs, ...(await latency((i) => pool.submit('add', i, 1))) };
    },
    close: () => pool.shutdown(),
  };
}

const runs = { raw: [], taskpool: [] };
try {
  const sides = { raw: await rawSide(), taskpool: await taskpoolSide() };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['taskpool', 'raw'] : ['raw', 'taskpool'];
    for (const side of order) {
      progress(`round ${round + 1}/${ROUNDS}: ${sides[side].name}`);
      const result = await sides[side].round();
      runs[side].push(result);
      progress(`  ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([key, value]) => [key, Math.round(value * 100) / 100])))}`);
    }
  }
  await sides.raw.close();
  await sides.taskpool.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
  await redis.stop();
}

const medians = (results) => Object.fromEntries(Object.keys(results[0]).map((key) => [key, median(results.map((result) => result[key]))]));
const raw = medians(runs.raw);
const taskpool = medians(runs.taskpool);
const ratios = runs.taskpool.map((result, round) => (result.submitPerSecond / runs.raw[round].submitPerSecond).toFixed(2));
const f = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => `${n.toFixed(2)} ms`;
const us = (n) => `${Math.round(n * 1000)} µs`;
console.log(
  `taskpool/queue vs raw BullMQ: ${JOBS.toLocaleString('en-US')} trivial jobs, ${WORKERS} worker processes x concurrency ${CONCURRENCY}, Redis on loopback, medians of ${ROUNDS} interleaved rounds`,
);
console.log('');
console.log('| | raw BullMQ | taskpool/queue | ratio |');
console.log('|---|---|---|---|');
console.log(`| submit + await each, jobs/s | ${f(raw.submitPerSecond)} (Queue.add + QueueEvents) | ${f(taskpool.submitPerSecond)} (submit) | ${(taskpool.submitPerSecond / raw.submitPerSecond).toFixed(2)}x |`);
console.log(`| submit + await each, CPU per job (client, workers, Redis) | ${us(raw.cpuMs)} | ${us(taskpool.cpuMs)} | ${(taskpool.cpuMs / raw.cpuMs).toFixed(2)}x |`);
console.log(`| batches of 1,000, jobs/s | ${f(raw.bulkPerSecond)} (addBulk) | ${f(taskpool.bulkPerSecond)} (map, bufferSize 1,000) | ${(taskpool.bulkPerSecond / raw.bulkPerSecond).toFixed(2)}x |`);
console.log(`| batches of 1,000, CPU per job (client, workers, Redis) | ${us(raw.bulkCpuMs)} | ${us(taskpool.bulkCpuMs)} | ${(taskpool.bulkCpuMs / raw.bulkCpuMs).toFixed(2)}x |`);
console.log(`| round trip on an idle queue, p50 | ${ms(raw.p50)} | ${ms(taskpool.p50)} | |`);
console.log(`| round trip on an idle queue, p99 | ${ms(raw.p99)} | ${ms(taskpool.p99)} | |`);
console.log('');
console.log(`submit + await, ratio per round: ${ratios.join(', ')}`);
console.log(`batches of 1,000, ratio per round: ${runs.taskpool.map((result, round) => (result.bulkPerSecond / runs.raw[round].bulkPerSecond).toFixed(2)).join(', ')}`);
console.log(`submit + await, CPU per job per round: raw ${runs.raw.map((result) => us(result.cpuMs)).join(', ')}; taskpool ${runs.taskpool.map((result) => us(result.cpuMs)).join(', ')}`);
