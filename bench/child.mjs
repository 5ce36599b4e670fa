/**
 * Runs one library in one scenario, in a fresh process started by run.mjs with
 * `node --expose-gc bench/child.mjs '<json>'`: one warm-up run (20,000 tasks, or n when
 * smaller), then `reps` measured runs.
 * Prints one JSON line `{ samples: [...] }` on stdout; any failed check exits non-zero.
 */
import { findLibrary } from './adapters.mjs';
import { SCENARIOS, checkResults, count, range, taskFactories } from './scenarios.mjs';

if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

const { scenario: scenarioId, lib: libId, n, reps } = JSON.parse(process.argv[2]);
const scenario = SCENARIOS[scenarioId];
const library = findLibrary(libId);
const adapter = await library.load();
const label = `${library.id} in scenario ${scenario.id}`;
const WARM_UP = 20_000;

function heapUsed() {
  return process.memoryUsage().heapUsed;
}

/** A full collection, twice: the second one frees what the first one's finalisation released. */
function collect() {
  gc();
  gc();
}

/**
 * Wall-clock and CPU time (user + system, every thread of the process: GC helpers
 * included) from now to `stop(count)`, in nanoseconds per item. CPU time barely moves when
 * other processes compete for the cores; wall-clock time does.
 */
function startClock() {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  return {
    stop(count) {
      const wallNs = (performance.now() - wall) * 1e6;
      const used = process.cpuUsage(cpu);
      return { wall: wallNs / count, cpu: ((used.user + used.system) * 1000) / count };
    },
  };
}

/** Scenarios 1–3: nanoseconds per task. */
async function timeOnce(size) {
  const { task, mapper } = taskFactories(scenario.body);
  const { concurrency } = scenario;
  if (library.style === 'submit') {
    const { submit, close } = adapter.createSubmit(concurrency);
    collect();
    const clock = startClock();
    const handles = [];
    for (let i = 0; i < size; i++) handles.push(submit(task(i)));
    const results = await Promise.all(handles);
    const elapsed = clock.stop(size);
    await close();
    checkResults(results, size, label);
    return elapsed;
  }
  const items = range(size);
  collect();
  const clock = startClock();
  const results = await adapter.map(items, mapper, concurrency);
  const elapsed = clock.stop(size);
  checkResults(results, size, label);
  return elapsed;
}

/**
 * Scenario 4: heap bytes per queued task, after GC. `held`: the caller keeps every handle;
 * `awaited`: the caller has also called `Promise.all(handles)` and its jobs have run (what
 * awaiting them costs while they are queued).
 */
async function memoryOnce(size) {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const { task, mapper } = taskFactories('gate', gate);
  const { concurrency } = scenario;
  if (library.style === 'submit') {
    const { submit, close } = adapter.createSubmit(concurrency);
    collect();
    const before = heapUsed();
    const handles = [];
    for (let i = 0; i < size; i++) handles.push(submit(task(i)));
    collect();
    const held = heapUsed();
    const all = Promise.all(handles);
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    const awaited = heapUsed();
    release();
    const results = await all;
    await close();
    checkResults(results, size, label);
    return { held: (held - before) / size, awaited: (awaited - before) / size };
  }
  const items = range(size);
  collect();
  const before = heapUsed();
  const iterator = adapter.mapIterator(items, mapper, concurrency);
  collect();
  const held = heapUsed();
  release();
  const results = await iterator.collect();
  checkResults(results, size, label);
  return { held: (held - before) / size, awaited: (held - before) / size };
}

/**
 * Scenario 5: nanoseconds per item, and heap. Timed runs sample `heapUsed` every 1024 items
 * (peak above the post-GC baseline, garbage included); with `retained`, the run is not
 * timed and the heap is measured after GC at 10% and at 90% of the stream instead.
 */
async function streamOnce(size, retained = false) {
  const { mapper } = taskFactories('shuffle');
  const { concurrency, bufferSize } = scenario;
  const at10 = Math.floor(size / 10);
  const at90 = Math.floor((size * 9) / 10);
  collect();
  const base = heapUsed();
  let peak = base;
  const marks = {};
  const clock = startClock();
  let expected = 0;
  let sum = 0;
  for await (const value of adapter.stream(count(size), mapper, { concurrency, bufferSize })) {
    if (value !== expected) throw new Error(`${label}: item ${expected} is ${value} (order or value wrong)`);
    expected++;
    sum += value;
    if (retained) {
      if (expected === at10 || expected === at90) {
        collect();
        marks[expected === at10 ? 'at10' : 'at90'] = heapUsed() - base;
      }
    } else if ((expected & 1023) === 0) {
      const used = heapUsed();
      if (used > peak) peak = used;
    }
  }
  const elapsed = clock.stop(size);
  if (expected !== size) throw new Error(`${label}: ${expected} items, expected ${size}`);
  if (sum !== (size * (size - 1)) / 2) throw new Error(`${label}: sum ${sum}, expected ${(size * (size - 1)) / 2}`);
  if (retained) return marks;
  return { ...elapsed, peak: peak - base };
}

const samples = [];
if (scenario.kind === 'time') {
  await timeOnce(Math.min(n, WARM_UP));
  for (let rep = 0; rep < reps; rep++) samples.push(await timeOnce(n));
} else if (scenario.kind === 'memory') {
  await memoryOnce(1000);
  for (let rep = 0; rep < reps; rep++) samples.push(await memoryOnce(n));
} else {
  await streamOnce(Math.min(n, WARM_UP));
  for (let rep = 0; rep < reps; rep++) samples.push(await streamOnce(n));
  samples.push({ retained: await streamOnce(n, true) });
}
process.stdout.write(`${JSON.stringify({ samples })}\n`);
