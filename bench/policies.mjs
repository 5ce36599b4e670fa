/**
 * Policies benchmark, in rounds (each round runs every variant once, in a rotated order):
 *
 * 1. Overhead of a policy that never triggers: 100,000 trivial async tasks at concurrency 16
 *    (scenario 1), on a plain TaskPoolExecutor and on one with a `retry` policy whose tasks
 *    all succeed. CPU time per task, medians.
 * 2. A flaky downstream: 10,000 calls at concurrency 16, 20% of them fail once; retried with a
 *    1 ms backoff by taskpool's `retry`, by p-retry inside p-limit, and by cockatiel's retry
 *    inside p-limit. Throughput, and how busy the slots are: the average number of calls in
 *    flight at the downstream (the rest of the 16 slots sleep through a backoff, or wait).
 *
 * Usage: node bench/policies.mjs [--rounds R] (build first: `npm run bench:policies` does)
 */
import { ConstantBackoff, handleAll, retry as cockatielRetry } from 'cockatiel';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { TaskPoolExecutor } from '../dist/index.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const OVERHEAD_N = 100_000;
const FLAKY_N = 10_000;
const CONCURRENCY = 16;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

// ---------------------------------------------------------------------------------------
// 1. A policy that never triggers
// ---------------------------------------------------------------------------------------

async function overhead(options) {
  const pool = new TaskPoolExecutor({ maxWorkers: CONCURRENCY, ...options });
  const futures = new Array(OVERHEAD_N);
  globalThis.gc?.();
  const start = cpuMicros();
  for (let i = 0; i < OVERHEAD_N; i++) futures[i] = pool.submit(async () => i);
  await Promise.all(futures);
  const micros = cpuMicros() - start;
  await pool.shutdown();
  return (micros * 1000) / OVERHEAD_N; // ns per task
}

// ---------------------------------------------------------------------------------------
// 2. A flaky downstream
// ---------------------------------------------------------------------------------------

/** The downstream: one event-loop turn per call; every 5th id fails on its first call. */
function downstream() {
  const failedOnce = new Set();
  let inFlight = 0;
  let busy = 0; // sum of in-flight counts sampled at every call start and end
  let samples = 0;
  let calls = 0;
  const call = async (id) => {
    calls++;
    inFlight++;
    busy += inFlight;
    samples++;
    try {
      await new Promise((resolve) => setImmediate(resolve));
      if (id % 5 === 0 && !failedOnce.has(id)) {
        failedOnce.add(id);
        throw new Error(`call ${id} failed`);
      }
      return id;
    } finally {
      busy += inFlight;
      samples++;
      inFlight--;
    }
  };
  return { call, stats: () => ({ calls, averageInFlight: busy / samples }) };
}

const FLAKY = {
  taskpool: async (call) => {
    const pool = new TaskPoolExecutor({ maxWorkers: CONCURRENCY, retry: { attempts: 2, backoff: 1 } });
    const futures = Array.from({ length: FLAKY_N }, (_, id) => pool.submit(call, id));
    await Promise.all(futures);
    await pool.shutdown();
  },
  'p-retry in p-limit': async (call) => {
    const limit = pLimit(CONCURRENCY);
    await Promise.all(Array.from({ length: FLAKY_N }, (_, id) => limit(() => pRetry(() => call(id), { retries: 1, minTimeout: 1, factor: 1, randomize: false }))));
  },
  'cockatiel in p-limit': async (call) => {
    const limit = pLimit(CONCURRENCY);
    const policy = cockatielRetry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(1) });
    await Promise.all(Array.from({ length: FLAKY_N }, (_, id) => limit(() => policy.execute(() => call(id)))));
  },
};

async function flaky(name) {
  const { call, stats } = downstream();
  const started = performance.now();
  await FLAKY[name](call);
  const ms = performance.now() - started;
  return { perSecond: (FLAKY_N / ms) * 1000, ...stats() };
}

// ---------------------------------------------------------------------------------------

const overheadVariants = { 'no policy': {}, 'retry, never triggered': { retry: { attempts: 3 } } };
const overheadResults = Object.fromEntries(Object.keys(overheadVariants).map((name) => [name, []]));
const flakyResults = Object.fromEntries(Object.keys(FLAKY).map((name) => [name, []]));

for (let round = 0; round < rounds; round++) {
  const names = Object.keys(overheadVariants);
  for (let k = 0; k < names.length; k++) {
    const name = names[(round + k) % names.length];
    overheadResults[name].push(await overhead(overheadVariants[name]));
  }
  const flakyNames = Object.keys(FLAKY);
  for (let k = 0; k < flakyNames.length; k++) {
    const name = flakyNames[(round + k) % flakyNames.length];
    flakyResults[name].push(await flaky(name));
  }
}

const base = median(overheadResults['no policy']);
console.log(`\n1. A policy that never triggers: ${OVERHEAD_N.toLocaleString('en')} trivial tasks, concurrency ${CONCURRENCY}, median of ${rounds} (CPU time)\n`);
console.log('| executor | ns per task | vs no policy |\n|---|---:|---:|');
for (const [name, values] of Object.entries(overheadResults)) console.log(`| ${name} | ${median(values).toFixed(0)} | ${(median(values) / base).toFixed(2)}× |`);

console.log(`\n2. A flaky downstream: ${FLAKY_N.toLocaleString('en')} calls, 20% fail once, retried after 1 ms, concurrency ${CONCURRENCY}, median of ${rounds}\n`);
console.log('| retry | calls/s | downstream calls | average calls in flight (of 16 slots) |\n|---|---:|---:|---:|');
for (const [name, results] of Object.entries(flakyResults)) {
  const pick = (key) => median(results.map((result) => result[key]));
  console.log(`| ${name} | ${pick('perSecond').toFixed(0)} | ${pick('calls')} | ${pick('averageInFlight').toFixed(1)} |`);
}
