/**
 * What carrying the async context (AsyncLocalStorage) of a call over to a later start costs,
 * per task, for each public way Node 20 offers. Each way captures 100,000 contexts (as a
 * queue of 100,000 tasks does), keeps them, then runs a function in each.
 *
 *   node --expose-gc bench/context.mjs [--als]
 *
 * `--als` first creates and enters an AsyncLocalStorage: async hooks are then enabled in the
 * whole process (every promise pays for it) and every capture copies the store.
 * Reported: CPU ns per task to capture, to run, and bytes retained per captured context.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

const N = 100_000;
const ROUNDS = 7;
const withAls = process.argv.includes('--als');
const als = new AsyncLocalStorage();
if (withAls) als.enterWith({ request: 1 });

let sink = 0;
function task(value) {
  sink += value;
  if (withAls && als.getStore()?.request !== 1) throw new Error('context lost');
}
function taskThis() {
  task(this.value);
}

/** Each way: `capture(i)` returns what the queue keeps; `run(kept, i)` runs `task(i)` in it. */
const WAYS = {
  'nothing kept (no propagation)': {
    capture: () => undefined,
    run: (_, i) => task(i),
  },
  'new AsyncResource(type)': {
    capture: () => new AsyncResource('taskpool.Task'),
    run: (resource, i) => resource.runInAsyncScope(task, undefined, i),
  },
  'new AsyncResource(type, { requireManualDestroy: true })': {
    capture: () => new AsyncResource('taskpool.Task', { requireManualDestroy: true }),
    run: (resource, i) => resource.runInAsyncScope(task, undefined, i),
  },
  'AsyncResource, thisArg instead of an argument': {
    capture: () => new AsyncResource('taskpool.Task'),
    run: (resource, i) => resource.runInAsyncScope(taskThis, { value: i }),
  },
  'AsyncLocalStorage.snapshot()': {
    n: N / 20,
    capture: () => AsyncLocalStorage.snapshot(),
    run: (snapshot, i) => snapshot(task, i),
  },
  'AsyncResource.bind(fn)': {
    n: N / 20,
    capture: () => AsyncResource.bind(task),
    run: (bound, i) => bound(i),
  },
  'a promise reaction made at capture (as p-limit)': {
    capture: () => {
      let start;
      const started = new Promise((resolve) => (start = resolve));
      const done = started.then(task);
      return { start, done };
    },
    run: (kept, i) => kept.start(i),
  },
};

function cpuNow() {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function measure(way) {
  const n = way.n ?? N;
  const captureNs = [];
  const runNs = [];
  const bytes = [];
  for (let round = 0; round < ROUNDS; round++) {
    gc();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let start = cpuNow();
    const kept = new Array(n);
    for (let i = 0; i < n; i++) kept[i] = way.capture(i);
    captureNs.push((cpuNow() - start) / n);
    gc();
    gc();
    bytes.push((process.memoryUsage().heapUsed - heapBefore) / n - 8);
    start = cpuNow();
    for (let i = 0; i < n; i++) way.run(kept[i], i);
    await undefined;
    runNs.push((cpuNow() - start) / n);
  }
  // The first rounds warm the code up; keep the later ones.
  const later = (values) => median(values.slice(2));
  return { capture: later(captureNs), run: later(runNs), bytes: later(bytes) };
}

console.log(`Node ${process.version}, ${withAls ? 'with' : 'without'} an AsyncLocalStorage entered; ${N} contexts per round`);
console.log('| way | capture (CPU ns) | run (CPU ns) | bytes kept per context |');
console.log('|---|--:|--:|--:|');
for (const [name, way] of Object.entries(WAYS)) {
  const result = await measure(way);
  console.log(`| ${name} | ${result.capture.toFixed(0)} | ${result.run.toFixed(0)} | ${result.bytes.toFixed(0)} |`);
}
if (sink === 0) console.log('');
