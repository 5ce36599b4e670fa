/**
 * Where one library's time and bytes go, per task. Runs in-process through `node:inspector`
 * so that only the measured part is library.
 *
 *   node --expose-gc bench/profile.mjs cpu   [--lib ID] [--scenario 1|2|3] [--n N] [--save FILE]
 *   node --expose-gc bench/profile.mjs alloc [--lib ID] [--scenario 1|2|3] [--n N]
 *   node --expose-gc bench/profile.mjs heap  [--lib ID] [--n N] [--running]
 *
 * - cpu: CPU profile of scenario 1 (default), self time per function, in ns per task.
 * - alloc: sampling heap profile including objects that were collected, so every byte
 *   allocated counts: bytes per task by allocating function.
 * - heap: heap snapshots before and after queueing n tasks behind a gate (scenario 4):
 *   objects and bytes per task by constructor. With `--running`, the concurrency is n, so
 *   every task has started and waits: what a running task holds.
 *
 * `--lib` takes a submit-style or map-style library (default taskpool-submit) for scenarios
 * 1-3, or with `--scenario 5` a streaming one (default taskpool-map); `heap` takes a
 * submit-style one. Like run.mjs, the package comes from dist/ or
 * TASKPOOL_DIST.
 */
import { Session } from 'node:inspector/promises';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { findLibrary } from './adapters.mjs';
import { SCENARIOS, checkResults, count, taskFactories } from './scenarios.mjs';

if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

const [mode = 'cpu', ...rest] = process.argv.slice(2);
const flags = { lib: 'taskpool-submit', scenario: '1', n: undefined, save: undefined, running: false, top: '25' };
for (let index = 0; index < rest.length; index++) {
  const name = rest[index].replace(/^--/, '');
  if (name === 'running') flags.running = true;
  else if (name in flags) flags[name] = rest[++index];
  else throw new Error(`unknown option ${rest[index]}`);
}
if (flags.scenario === '5' && flags.lib === 'taskpool-submit') flags.lib = 'taskpool-map';
const library = findLibrary(flags.lib);
if (flags.scenario === '5' ? !library.scenarios.includes(5) : mode === 'heap' && library.style !== 'submit') {
  throw new Error(`profile.mjs takes a library of scenarios 1-3 (heap: a submit-style one), or a streaming one with --scenario 5, not ${library.id}`);
}
const adapter = await library.load();
const top = Number(flags.top);

const session = new Session();
session.connect();

/**
 * Runs `n` tasks of a scenario as child.mjs does: submit-style libraries submit them all and
 * await `Promise.all`, map-style ones map the array of indices; in scenario 5, a streaming
 * library maps a generator.
 */
async function runSubmit(scenario, n) {
  if (scenario.kind === 'stream') {
    const { mapper } = taskFactories(scenario.body);
    let expected = 0;
    const { concurrency, bufferSize } = scenario;
    for await (const value of adapter.stream(count(n), mapper, { concurrency, bufferSize })) {
      if (value !== expected++) throw new Error(`${library.id}: item ${expected - 1} is ${value}`);
    }
    if (expected !== n) throw new Error(`${library.id}: ${expected} items, expected ${n}`);
    return;
  }
  if (library.style === 'map') {
    const { mapper } = taskFactories(scenario.body);
    checkResults(await adapter.map(Array.from({ length: n }, (_, i) => i), mapper, scenario.concurrency), n, library.id);
    return;
  }
  const { task } = taskFactories(scenario.body);
  const { submit, close } = adapter.createSubmit(scenario.concurrency);
  const handles = [];
  for (let i = 0; i < n; i++) handles.push(submit(task(i)));
  const results = await Promise.all(handles);
  await close();
  checkResults(results, n, library.id);
}

function where(callFrame) {
  const file = callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/');
  return `${callFrame.functionName || '(anonymous)'} ${file ? `${file}:${callFrame.lineNumber + 1}` : ''}`.trim();
}

function printTable(title, rows, unit) {
  console.log(`\n${title}`);
  for (const [name, value, extra] of rows.slice(0, top)) {
    console.log(`${value.toFixed(1).padStart(9)} ${unit}  ${extra ?? ''}${name}`);
  }
}

async function cpu() {
  const scenario = SCENARIOS[flags.scenario];
  const n = Number(flags.n ?? 100_000);
  await runSubmit(scenario, n / 5);
  await runSubmit(scenario, n / 5);
  gc();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  const start = performance.now();
  await runSubmit(scenario, n);
  const elapsed = performance.now() - start;
  const { profile } = await session.post('Profiler.stop');
  if (flags.save) await writeFile(flags.save, JSON.stringify(profile));
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const intervals = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = intervals[index + 1] ?? 0;
    const key = where(byNode.get(id).callFrame);
    self.set(key, (self.get(key) ?? 0) + delta);
    total += delta;
  });
  const scale = (elapsed * 1e6) / total / n;
  const rows = [...self].map(([name, micros]) => [name, micros * scale]).sort((a, b) => b[1] - a[1]);
  console.log(`${library.id}, scenario ${scenario.id}: ${((elapsed * 1e6) / n).toFixed(0)} ns per task over ${n} tasks (profiler on)`);
  printTable('self time per task, by function', rows, 'ns');
}

async function alloc() {
  const scenario = SCENARIOS[flags.scenario];
  const n = Number(flags.n ?? 20_000);
  await runSubmit(scenario, n);
  gc();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await runSubmit(scenario, n);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    if (node.selfSize > 0) {
      const key = where(node.callFrame);
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    node.children.forEach(walk);
  };
  walk(profile.head);
  const rows = [...bySite].map(([name, bytes]) => [name, bytes / n]).sort((a, b) => b[1] - a[1]);
  console.log(`${library.id}, scenario ${scenario.id}: ${(total / n).toFixed(0)} bytes allocated per task (sampled every 64 B, collected objects included), ${n} tasks`);
  printTable('bytes allocated per task, by allocating function', rows, 'B');
}

/** Writes a heap snapshot after GC; parse it later with {@link census}, once every snapshot is taken. */
function snapshot(label) {
  gc();
  gc();
  return v8.writeHeapSnapshot(join(tmpdir(), `taskpool-bench-${process.pid}-${label}.heapsnapshot`));
}

/** Object counts and self sizes by `type: name` in a heap snapshot file (deleted afterwards). */
async function census(file) {
  const snapshot = JSON.parse(await readFile(file, 'utf8'));
  await rm(file);
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const typeIndex = fields.indexOf('type');
  const nameIndex = fields.indexOf('name');
  const sizeIndex = fields.indexOf('self_size');
  const counts = new Map();
  const { nodes, strings } = snapshot;
  for (let offset = 0; offset < nodes.length; offset += fields.length) {
    const type = types[nodes[offset + typeIndex]];
    let name = strings[nodes[offset + nameIndex]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'number') name = 'heap number';
    const key = `${type}: ${name.slice(0, 60)}`;
    const entry = counts.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[offset + sizeIndex];
    counts.set(key, entry);
  }
  return counts;
}

async function heap() {
  const n = Number(flags.n ?? 10_000);
  const concurrency = flags.running ? n : SCENARIOS[4].concurrency;
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const { task } = taskFactories('gate', gate);
  const { submit, close } = adapter.createSubmit(concurrency);
  // Warm every path once, on another instance.
  {
    const warm = adapter.createSubmit(concurrency);
    await Promise.all(Array.from({ length: 100 }, (_, i) => warm.submit(taskFactories('trivial').task(i))));
    await warm.close();
  }
  const beforeFile = snapshot('before');
  const handles = new Array(n);
  for (let i = 0; i < n; i++) handles[i] = submit(task(i));
  const heldFile = snapshot('held');
  const all = Promise.all(handles);
  await new Promise((resolve) => setImmediate(resolve));
  const awaitedFile = snapshot('awaited');
  const before = await census(beforeFile);
  const held = await census(heldFile);
  const awaited = await census(awaitedFile);
  const diff = (after, base) =>
    [...after]
      .map(([key, { count, bytes }]) => [key, (bytes - (base.get(key)?.bytes ?? 0)) / n, (count - (base.get(key)?.count ?? 0)) / n])
      .filter(([, bytes, count]) => Math.abs(bytes) >= 0.5 || Math.abs(count) >= 0.05)
      .sort((a, b) => b[1] - a[1]);
  const report = (title, rows) => {
    const total = rows.reduce((sum, [, bytes]) => sum + bytes, 0);
    console.log(`\n${title}: ${total.toFixed(0)} B per task`);
    for (const [key, bytes, count] of rows.slice(0, top)) {
      console.log(`${bytes.toFixed(1).padStart(8)} B ${count.toFixed(2).padStart(6)} objects  ${key}`);
    }
  };
  console.log(`${library.id}: ${n} tasks ${flags.running ? 'running (concurrency n)' : `queued (concurrency ${concurrency})`}, waiting on a gate; the caller holds the handles`);
  report('handles held, by type: constructor (heap snapshot diff)', diff(held, before));
  report('added by Promise.all(handles), once its jobs have run', diff(awaited, held));
  release();
  checkResults(await all, n, library.id);
  await close();
}

if (mode === 'cpu') await cpu();
else if (mode === 'alloc') await alloc();
else if (mode === 'heap') await heap();
else throw new Error(`unknown mode ${mode}: cpu, alloc or heap`);
session.disconnect();
