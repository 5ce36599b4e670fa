/**
 * Runs the benchmarks: every library in every scenario it takes part in, each run in a
 * fresh `node --expose-gc` process, in rounds (every round runs each library once, in a
 * rotated order, so that drift on a shared machine hits all of them alike). Prints a
 * Markdown report and writes it to bench/results/ (latest.md and latest.json for a full
 * run, partial.* otherwise).
 *
 * Usage: node bench/run.mjs [--quick] [--scenario N[,N]] [--lib ID[,ID]] [--rounds R] [--reps K] [--n N]
 * Build first (`npm run bench` does): the package is imported from dist/, or from
 * TASKPOOL_DIST when set, through a copy made at the start of the run.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIBRARIES, TASKPOOL_URL, findLibrary } from './adapters.mjs';
import { FULL_N, QUICK_N, SCENARIOS } from './scenarios.mjs';

const USAGE = `Usage: node bench/run.mjs [options]
  --quick            ${QUICK_N} tasks, 1 round (a smoke run, under half a minute)
  --scenario N[,N]   only these scenarios (1-5); repeatable
  --lib ID[,ID]      only these libraries (the baselines always run); repeatable
                     ids: ${LIBRARIES.map((library) => library.id).join(', ')}
  --rounds R         processes per library and scenario (default 4, quick 1)
  --reps K           measured runs per process, after one warm-up (default 2)
  --n N              tasks per run (default ${FULL_N})
  --help`;

/**
 * Runs that would take minutes at full size: this many tasks instead, one round.
 * @supercharge/promise-pool waits with `Promise.race` over every active task for each new
 * one, so its cost per task grows with the concurrency (1000 in scenario 3).
 */
const SIZE_CAPS = { 'promise-pool': { 3: 5_000 } };

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function parseArguments(argv) {
  const options = { quick: false, scenarios: [], libs: [], rounds: undefined, reps: 2, n: undefined };
  const list = (value) => value.split(',').map((part) => part.trim()).filter(Boolean);
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    const count = () => {
      const number = Number(value());
      if (!Number.isSafeInteger(number) || number < 1) throw new Error(`${flag} needs a positive integer\n${USAGE}`);
      return number;
    };
    if (flag === '--quick') options.quick = true;
    else if (flag === '--scenario') options.scenarios.push(...list(value()).map(Number));
    else if (flag === '--lib') options.libs.push(...list(value()));
    else if (flag === '--rounds') options.rounds = count();
    else if (flag === '--reps') options.reps = count();
    else if (flag === '--n') options.n = count();
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  for (const id of options.scenarios) {
    if (!(id in SCENARIOS)) throw new Error(`unknown scenario ${id}: known are ${Object.keys(SCENARIOS).join(', ')}`);
  }
  for (const id of options.libs) findLibrary(id);
  options.n ??= options.quick ? QUICK_N : FULL_N;
  options.rounds ??= options.quick ? 1 : 4;
  return options;
}

/**
 * Copies the build under test to a temporary directory, so that a rebuild of dist/ while the
 * benchmarks run (other work on the same checkout) cannot mix two versions in one report.
 * Returns the copy's `index.js` and a function that removes the copy.
 */
async function snapshotBuild() {
  const entry = fileURLToPath(TASKPOOL_URL);
  const copy = await mkdtemp(join(os.tmpdir(), 'taskpool-bench-'));
  await cp(dirname(entry), copy, { recursive: true });
  return { entry: join(copy, entry.slice(dirname(entry).length + 1)), remove: () => rm(copy, { recursive: true, force: true }) };
}

let buildUnderTest;

function runChild(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TASKPOOL_DIST: buildUnderTest },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${job.lib} in scenario ${job.scenario} failed (exit ${code}):\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)).samples);
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), count: values.length };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism?.() ?? cpus.length,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

const format = {
  ns: (value) => (value >= 10_000 ? `${(value / 1000).toFixed(0)} µs` : value >= 1000 ? `${(value / 1000).toFixed(2)} µs` : `${value.toFixed(0)} ns`),
  bytes: (value) => `${value.toFixed(0)} B`,
  kb: (value) => `${(value / 1024).toFixed(0)} KB`,
  mb: (value) => `${(value / 2 ** 20).toFixed(1)} MB`,
  ratio: (value) => (value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}×`),
};

function libraryName(library) {
  return library.ours ? `**${library.label}**` : library.label;
}

/** Runs every job of one scenario, round by round, and returns the samples per library. */
async function runScenario(scenario, libraries, options, log) {
  const samples = new Map(libraries.map((library) => [library.id, []]));
  const sizes = new Map();
  for (let round = 0; round < options.rounds; round++) {
    const order = libraries.map((_, index) => libraries[(index + round) % libraries.length]);
    for (const library of order) {
      const cap = SIZE_CAPS[library.id]?.[scenario.id];
      if (cap !== undefined && round > 0) continue;
      const n = cap === undefined ? options.n : Math.min(cap, options.n);
      sizes.set(library.id, n);
      const started = performance.now();
      const result = await runChild({ scenario: scenario.id, lib: library.id, n, reps: options.reps });
      samples.get(library.id).push(...result);
      log(`  scenario ${scenario.id} round ${round + 1}/${options.rounds} ${library.id.padEnd(16)} ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  return { samples, sizes };
}

/** Summaries and ratios of one scenario. */
function analyse(scenario, libraries, { samples, sizes }) {
  const rows = libraries.map((library) => {
    const raw = samples.get(library.id);
    const row = { library, n: sizes.get(library.id), raw };
    if (scenario.kind === 'time') {
      row.time = summary(raw.map((sample) => sample.cpu));
      row.wall = summary(raw.map((sample) => sample.wall));
    } else if (scenario.kind === 'memory') {
      row.held = summary(raw.map((sample) => sample.held));
      row.awaited = summary(raw.map((sample) => sample.awaited));
    } else {
      const timed = raw.filter((sample) => sample.cpu !== undefined);
      const retained = raw.filter((sample) => sample.retained !== undefined).map((sample) => sample.retained);
      row.time = summary(timed.map((sample) => sample.cpu));
      row.wall = summary(timed.map((sample) => sample.wall));
      row.peak = summary(timed.map((sample) => sample.peak));
      row.at10 = median(retained.map((sample) => sample.at10));
      row.at90 = median(retained.map((sample) => sample.at90));
    }
    return row;
  });
  const byId = (id) => rows.find((row) => row.library.id === id);
  const floor = byId('floor');
  const floorSubmit = byId('floor-submit');
  for (const row of rows) {
    if (row.time !== undefined) {
      row.vsFloor = floor?.time ? row.time.median / floor.time.median : undefined;
      row.vsFloorSubmit = floorSubmit?.time ? row.time.median / floorSubmit.time.median : undefined;
    }
    if (row.held !== undefined && floorSubmit?.held) {
      row.heldVsFloorSubmit = row.held.median / floorSubmit.held.median;
      row.awaitedVsFloorSubmit = row.awaited.median / floorSubmit.awaited.median;
    }
  }
  return rows;
}

function scenarioTable(scenario, rows, options) {
  const unit = scenario.kind === 'stream' ? 'items' : 'tasks';
  const lines = [`### ${scenario.id}. ${scenario.title}`, '', `${options.n.toLocaleString('en-US')} ${unit}; ${scenario.detail}.`, ''];
  const sized = (row) => (row.n !== options.n ? ` (${row.n.toLocaleString('en-US')} tasks)` : '');
  if (scenario.kind === 'time') {
    lines.push('| library | API | CPU per task (median) | min – max | × floor | × floor-submit | wall per task (median) |', '|---|---|--:|--:|--:|--:|--:|');
    for (const row of rows) {
      lines.push(
        `| ${libraryName(row.library)}${sized(row)} | ${row.library.api} | ${format.ns(row.time.median)} | ${format.ns(row.time.min)} – ${format.ns(row.time.max)} | ${format.ratio(row.vsFloor)} | ${format.ratio(row.vsFloorSubmit)} | ${format.ns(row.wall.median)} |`,
      );
    }
  } else if (scenario.kind === 'memory') {
    lines.push(
      '| library | API | bytes per queued task (median) | min – max | × floor-submit | with `Promise.all(handles)` | × floor-submit |',
      '|---|---|--:|--:|--:|--:|--:|',
    );
    for (const row of rows) {
      lines.push(
        `| ${libraryName(row.library)} | ${row.library.api} | ${format.bytes(row.held.median)} | ${format.bytes(row.held.min)} – ${format.bytes(row.held.max)} | ${format.ratio(row.heldVsFloorSubmit)} | ${format.bytes(row.awaited.median)} | ${format.ratio(row.awaitedVsFloorSubmit)} |`,
      );
    }
  } else {
    lines.push(
      '| library | API | CPU per item (median) | min – max | × floor | wall per item (median) | peak heap (median) | retained at 10% / 90% |',
      '|---|---|--:|--:|--:|--:|--:|--:|',
    );
    for (const row of rows) {
      lines.push(
        `| ${libraryName(row.library)} | ${row.library.streamApi ?? row.library.api} | ${format.ns(row.time.median)} | ${format.ns(row.time.min)} – ${format.ns(row.time.max)} | ${format.ratio(row.vsFloor)} | ${format.ns(row.wall.median)} | ${format.mb(row.peak.median)} | ${format.kb(row.at10)} / ${format.kb(row.at90)} |`,
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** The targets, checked against this run. */
function targetLines(results) {
  const lines = [];
  const get = (scenarioId, id) => results.get(scenarioId)?.find((row) => row.library.id === id);
  const check = (label, pass, detail) => lines.push(`- ${pass ? 'met' : '**not met**'}: ${label} (${detail})`);
  for (const scenarioId of [1, 2, 3]) {
    const ours = get(scenarioId, 'taskpool-submit');
    const floorSubmit = get(scenarioId, 'floor-submit');
    const pLimit = get(scenarioId, 'p-limit');
    if (ours && floorSubmit) {
      const ratio = ours.time.median / floorSubmit.time.median;
      check(`(${scenarioId}) submit ≤ 1.2× floor-submit`, ratio <= 1.2, `${ratio.toFixed(2)}×`);
    }
    if (ours && pLimit) {
      const ratio = ours.time.median / pLimit.time.median;
      check(`(${scenarioId}) submit ≤ 0.5× p-limit`, ratio <= 0.5, `${ratio.toFixed(2)}×`);
    }
  }
  const oursMemory = get(4, 'taskpool-submit');
  const floorMemory = get(4, 'floor-submit');
  if (oursMemory && floorMemory) {
    check('(4) bytes per queued task ≤ 1.0× floor-submit', oursMemory.heldVsFloorSubmit <= 1, `${oursMemory.heldVsFloorSubmit.toFixed(2)}×`);
    check(
      '(4) the same, with the handles awaited by `Promise.all`',
      oursMemory.awaitedVsFloorSubmit <= 1,
      `${oursMemory.awaitedVsFloorSubmit.toFixed(2)}×`,
    );
  }
  const oursStream = get(5, 'taskpool-map');
  const floorStream = get(5, 'floor');
  const pMapStream = get(5, 'p-map');
  if (oursStream && floorStream) {
    const ratio = oursStream.time.median / floorStream.time.median;
    check('(5) map ≤ 1.2× floor', ratio <= 1.2, `${ratio.toFixed(2)}×`);
  }
  if (oursStream && pMapStream) {
    const ratio = oursStream.time.median / pMapStream.time.median;
    check('(5) map faster than p-map', ratio < 1, `${ratio.toFixed(2)}× p-map`);
  }
  if (oursStream) {
    const growth = oursStream.at90 - oursStream.at10;
    check('(5) heap independent of n (retained growth from 10% to 90% under 256 KB)', growth < 256 * 1024, `${format.kb(growth)}`);
  }
  return lines;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const log = (line) => process.stderr.write(`${line}\n`);
  const info = machine();
  const scenarioIds = options.scenarios.length > 0 ? [...new Set(options.scenarios)].sort() : Object.keys(SCENARIOS).map(Number);
  const wanted = (library) => options.libs.length === 0 || options.libs.includes(library.id) || library.id.startsWith('floor');
  const started = performance.now();
  const results = new Map();
  const raw = {};
  const snapshot = await snapshotBuild();
  buildUnderTest = snapshot.entry;
  try {
    for (const scenarioId of scenarioIds) {
      const scenario = SCENARIOS[scenarioId];
      const libraries = LIBRARIES.filter((library) => library.scenarios.includes(scenarioId) && wanted(library));
      log(`scenario ${scenarioId}: ${scenario.title}`);
      const measured = await runScenario(scenario, libraries, options, log);
      results.set(scenarioId, analyse(scenario, libraries, measured));
      raw[scenarioId] = Object.fromEntries(measured.samples);
    }
  } finally {
    await snapshot.remove();
  }
  const seconds = (performance.now() - started) / 1000;

  const full = !options.quick && options.scenarios.length === 0 && options.libs.length === 0;
  const report = [
    '## Benchmark results',
    '',
    `${info.cpu}, ${info.cores} cores, ${info.memory}; Node ${info.node} (${info.platform}); ${info.date}.`,
    `${options.rounds} process${options.rounds > 1 ? 'es' : ''} per library and scenario, ${options.reps} measured runs each after a warm-up; whole run ${seconds.toFixed(0)} s.` +
      (full ? '' : ` Partial run (${process.argv.slice(2).join(' ')}).`),
    'Times are CPU time (user + system, GC threads included) per task, which other load on a shared machine barely moves; wall-clock medians are shown too.',
    'Ratios are between medians of this run. floor and floor-submit are the baselines in bench/floor.mjs.',
    '',
    ...[...results].map(([scenarioId, rows]) => scenarioTable(SCENARIOS[scenarioId], rows, options)),
    '### Targets',
    '',
    ...targetLines(results),
    '',
  ].join('\n');
  process.stdout.write(report);

  await mkdir(RESULTS_DIR, { recursive: true });
  const name = full ? 'latest' : 'partial';
  await writeFile(`${RESULTS_DIR}${name}.md`, report);
  await writeFile(`${RESULTS_DIR}${name}.json`, `${JSON.stringify({ machine: info, options, taskpool: TASKPOOL_URL, seconds, samples: raw }, null, 1)}\n`);
  log(`written to bench/results/${name}.md and ${name}.json (${seconds.toFixed(0)} s)`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
