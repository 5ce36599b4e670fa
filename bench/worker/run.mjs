/**
 * Throughput of WorkerPoolExecutor against piscina, tinypool and workerpool: the same fib
 * function, 2 workers each, pools warmed up first (workers started, module loaded), then
 * N tasks submitted at once and awaited. Rounds alternate between the libraries; the figure
 * is the median of 5 rounds, in tasks per second.
 *
 *   npm run bench:worker            (builds dist/ first)
 *   node bench/worker/run.mjs --rounds 9 --json
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import Piscina from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { WorkerPoolExecutor } from '../../dist/worker.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const ROUNDS = Number(flags.rounds);
const WORKERS = 2;
const fibFile = new URL('./fib.mjs', import.meta.url);
const workerpoolFile = new URL('./workerpool-worker.mjs', import.meta.url);

const CASES = [
  { name: 'fib(22) x 2,000', n: 22, tasks: 2_000 },
  { name: 'fib(30) x 200', n: 30, tasks: 200 },
];

/** Each library: how to make a warm pool, run one task, and close it. */
const LIBRARIES = {
  'taskpool/worker': {
    create: () => new WorkerPoolExecutor({ filename: fibFile, maxWorkers: WORKERS, minWorkers: WORKERS }),
    run: (pool, n) => pool.submit('fib', n),
    close: (pool) => pool.shutdown(),
  },
  piscina: {
    create: () => new Piscina({ filename: fibFile.href, name: 'fib', minThreads: WORKERS, maxThreads: WORKERS, idleTimeout: 60_000 }),
    run: (pool, n) => pool.run(n),
    close: (pool) => pool.destroy(),
  },
  tinypool: {
    create: () => new Tinypool({ filename: fibFile.href, name: 'fib', minThreads: WORKERS, maxThreads: WORKERS, idleTimeout: 60_000 }),
    run: (pool, n) => pool.run(n),
    close: (pool) => pool.destroy(),
  },
  workerpool: {
    create: () => workerpool.pool(workerpoolFile.pathname, { minWorkers: WORKERS, maxWorkers: WORKERS, workerType: 'thread' }),
    run: (pool, n) => pool.exec('fib', [n]),
    close: (pool) => pool.terminate(),
  },
};

const root = new URL('../../', import.meta.url);
const readVersion = (path) => JSON.parse(readFileSync(new URL(path, root), 'utf8')).version;
const version = (name) => readVersion(name === 'taskpool/worker' ? 'package.json' : `node_modules/${name}/package.json`);

const names = Object.keys(LIBRARIES).filter((name) => flags.only === undefined || flags.only.split(',').includes(name));

async function measure(library, { n, tasks }) {
  const pool = library.create();
  try {
    // Warm-up: every worker started and the module loaded, the JIT has seen fib.
    await Promise.all(Array.from({ length: WORKERS * 4 }, () => library.run(pool, n)));
    const start = performance.now();
    const pending = new Array(tasks);
    for (let i = 0; i < tasks; i++) pending[i] = library.run(pool, n);
    await Promise.all(pending);
    const elapsed = performance.now() - start;
    return (tasks / elapsed) * 1000;
  } finally {
    await library.close(pool);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const results = {};
for (const testCase of CASES) {
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so that no library always runs first (or last).
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length];
      samples[name].push(await measure(LIBRARIES[name], testCase));
    }
  }
  results[testCase.name] = Object.fromEntries(names.map((name) => [name, { median: median(samples[name]), samples: samples[name] }]));
}

if (flags.json) {
  const versions = Object.fromEntries(names.map((name) => [name, version(name)]));
  console.log(JSON.stringify({ node: process.version, cpus: availableParallelism(), versions, results }, null, 2));
} else {
  console.log(`Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${WORKERS} workers, median of ${ROUNDS} rounds\n`);
  const header = ['library', ...CASES.map((c) => `${c.name} (tasks/s)`)];
  const rows = names.map((name) => [`${name} ${version(name)}`, ...CASES.map((c) => Math.round(results[c.name][name].median).toLocaleString('en-US'))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
