/**
 * Bursts: one process maps 50,000 trivial async tasks again and again, with a full garbage
 * collection before each burst, and prints the CPU time of every burst. It shows what the
 * benchmark's scenarios 1 and 2 mix together: the first bursts of a process, while V8 is still
 * optimizing the code, and the later ones. Each library runs in its own process.
 *
 * Usage: npm run bench:bursts [-- --bursts N --concurrency C], or node bench/bursts.mjs after a build
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pMap from 'p-map';

const flag = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const BURSTS = flag('bursts', 12);
const CONCURRENCY = flag('concurrency', 16);
const N = 50_000;
const child = process.argv.indexOf('--child');

if (child !== -1) {
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc');
  const library = process.argv[child + 1];
  const { TaskPoolExecutor } = await import('../dist/index.js');
  const mapper = async (i) => i;
  const run = {
    taskpool: async (items) => {
      const pool = new TaskPoolExecutor({ maxWorkers: CONCURRENCY });
      const results = [];
      for await (const value of pool.map(mapper, items)) results.push(value);
      await pool.shutdown();
      return results;
    },
    'p-map': (items) => pMap(items, mapper, { concurrency: CONCURRENCY }),
  }[library];
  const times = [];
  for (let burst = 0; burst < BURSTS; burst++) {
    const items = Array.from({ length: N }, (_, i) => i);
    gc();
    gc();
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const results = await run(items);
    const used = process.cpuUsage(cpu);
    if (results.length !== N || results[N - 1] !== N - 1) throw new Error(`${library}: wrong results`);
    times.push({ cpu: (used.user + used.system) / 1000, wall: performance.now() - wall });
  }
  console.log(JSON.stringify(times));
} else {
  console.log(`${BURSTS} bursts of ${N.toLocaleString('en')} trivial async tasks in one process, concurrency ${CONCURRENCY}, full GC before each; ms per burst, CPU (all threads) and wall:\n`);
  for (const library of ['taskpool', 'p-map']) {
    const script = fileURLToPath(import.meta.url);
    const result = spawnSync(process.execPath, ['--expose-gc', script, '--child', library, '--bursts', String(BURSTS), '--concurrency', String(CONCURRENCY)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    const times = JSON.parse(result.stdout);
    for (const kind of ['cpu', 'wall']) {
      const all = times.map((time) => time[kind]);
      const later = all.slice(3).sort((a, b) => a - b);
      console.log(`${library.padEnd(9)} ${kind.padEnd(4)} ${all.map((ms) => ms.toFixed(0).padStart(4)).join(' ')}   median from the 4th on: ${later[Math.floor(later.length / 2)].toFixed(1)} ms`);
    }
  }
}
