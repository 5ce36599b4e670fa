/**
 * The `taskpool` command against `xargs -P` and, where installed, GNU parallel, in one run:
 *
 * - overhead: 2,000 × `true` at -j 8, and 200 × `sleep 0.05` at -j 20: the same command, the
 *   same -j, one input per job on stdin, stdout to /dev/null and stderr to this process's, for
 *   every tool (taskpool with --quiet: no summary). Rounds are interleaved (each round runs
 *   every tool once per scenario, in a rotated order) and each tool's median wall time is
 *   kept; taskpool's ratio to xargs is of those medians (targets: below 3× and 1.3×);
 * - memory: the peak RSS of `taskpool` passing one job's 600 MB output to a pipe (and of
 *   GNU parallel doing the same), from /usr/bin/time when installed.
 *
 *   npm run bench:cli                 (builds dist/ first)
 *   node bench/cli/run.mjs --no-memory --rounds 5 --only sleep     (the scenarios whose name has 'sleep')
 *
 * Node.js reads the certificates named by NODE_EXTRA_CA_CERTS before it runs any JavaScript
 * (with a system bundle there, 50–100 ms on this 2-core VM, where it is set for every process):
 * when it is set, taskpool also runs with it unset, in the same rounds, as on a machine without
 * it. Both rows are shown; the targets are checked on the second (the start-up of Node.js with
 * that setting is not the command's overhead), and `node -e 0` is timed both ways to show it.
 *
 * bench/cli/timeline.mjs shows where taskpool's time goes, job by job.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { memory: { type: 'boolean', default: true }, 'no-memory': { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' }, only: { type: 'string' } },
});
const ROUNDS = Number(flags.rounds);
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function available(command, args) {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

const hasParallel = available('parallel', ['--version']);
const hasTime = available('/usr/bin/time', ['-f', '%M', 'true']);

const ALL_SCENARIOS = [
  { name: '2,000 × true, -j 8', jobs: 8, count: 2_000, command: ['true'], input: '1', target: 3 },
  { name: '200 × sleep 0.05, -j 20', jobs: 20, count: 200, command: ['sleep'], input: '0.05', target: 1.3 },
];

const SCENARIOS = ALL_SCENARIOS.filter((scenario) => flags.only === undefined || scenario.name.includes(flags.only));

/** The environment without NODE_EXTRA_CA_CERTS, when it is set (else undefined: no extra row). */
const WITHOUT_CERTS = process.env.NODE_EXTRA_CA_CERTS ? Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS')) : undefined;

const TOOLS = {
  xargs: ({ jobs, command }) => ['xargs', ['-P', String(jobs), '-n', '1', ...command]],
  taskpool: ({ jobs, command }) => [process.execPath, [CLI, '--quiet', '-j', String(jobs), ...command]],
  'taskpool-clean': ({ jobs, command }) => [process.execPath, [CLI, '--quiet', '-j', String(jobs), ...command], WITHOUT_CERTS],
  parallel: ({ jobs, command }) => ['parallel', ['-j', String(jobs), ...command]],
};

function wall(tool, scenario) {
  const [command, args, env] = TOOLS[tool](scenario);
  const input = `${scenario.input}\n`.repeat(scenario.count);
  const start = performance.now();
  const run = spawnSync(command, args, { input, stdio: ['pipe', 'ignore', 'inherit'], env: env ?? process.env });
  const elapsed = performance.now() - start;
  if (run.status !== 0) throw new Error(`${tool} exited ${run.status} on ${scenario.name}`);
  return elapsed;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const tools = ['xargs', 'taskpool', ...(WITHOUT_CERTS ? ['taskpool-clean'] : []), ...(hasParallel ? ['parallel'] : [])];
/** The row the targets are checked on. */
const checked = WITHOUT_CERTS ? 'taskpool-clean' : 'taskpool';
/** times[scenario][tool] = wall times of every round. */
const times = SCENARIOS.map(() => Object.fromEntries(tools.map((tool) => [tool, []])));
for (let round = 0; round < ROUNDS; round++) {
  SCENARIOS.forEach((scenario, index) => {
    // A rotated order, so that no tool always runs first (or right after another's cleanup).
    const order = tools.map((_, i) => tools[(i + round) % tools.length]);
    for (const tool of order) times[index][tool].push(wall(tool, scenario));
  });
}

console.log(`taskpool command, ${cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}, load ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
console.log(`medians of ${ROUNDS} interleaved ${ROUNDS === 1 ? 'round' : 'rounds'}`);
if (WITHOUT_CERTS) {
  const start = (env) => median(Array.from({ length: 9 }, () => {
    const begin = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
    return performance.now() - begin;
  }));
  console.log(
    `NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): \`node -e 0\` takes ${Math.round(start(process.env))} ms with it, ${Math.round(start(WITHOUT_CERTS))} ms without; ` +
      'taskpool runs both ways, and the targets are checked without it',
  );
}
console.log('');
const cleanColumns = WITHOUT_CERTS ? [' taskpool, NODE_EXTRA_CA_CERTS unset | × xargs |', '--:|--:|'] : ['', ''];
console.log(`| scenario | xargs -P | taskpool | × xargs |${cleanColumns[0]} target | GNU parallel | × xargs |`);
console.log(`|---|--:|--:|--:|${cleanColumns[1]}--:|--:|--:|`);
let passed = 0;
let failed = 0;
SCENARIOS.forEach((scenario, index) => {
  const xargs = median(times[index].xargs);
  const ours = median(times[index].taskpool);
  const clean = WITHOUT_CERTS ? median(times[index]['taskpool-clean']) : undefined;
  const theirs = hasParallel ? median(times[index].parallel) : undefined;
  const ratio = median(times[index][checked]) / xargs;
  const ok = ratio < scenario.target;
  if (ok) passed++;
  else failed++;
  const ms = (value) => `${Math.round(value)} ms`;
  console.log(
    `| ${scenario.name} | ${ms(xargs)} | ${ms(ours)} | ${(ours / xargs).toFixed(2)}× |${clean === undefined ? '' : ` ${ms(clean)} | ${(clean / xargs).toFixed(2)}× |`} < ${scenario.target}× ${ok ? 'ok' : 'MISSED'} | ${theirs === undefined ? 'not installed' : ms(theirs)} | ${theirs === undefined ? '' : `${(theirs / xargs).toFixed(2)}×`} |`,
  );
});
console.log('');
console.log('every round (ms):');
SCENARIOS.forEach((scenario, index) => {
  console.log(`- ${scenario.name}: ${tools.map((tool) => `${tool} ${times[index][tool].map(Math.round).join(', ')}`).join('; ')}`);
});

if (flags.memory && !flags['no-memory']) {
  console.log('');
  if (!hasTime) console.log('memory: /usr/bin/time is not installed, skipped');
  else {
    // The same shell line for both: GNU parallel always runs one, taskpool with --shell.
    const job = ['head -c 600000000 /dev/zero; true', ':::', '1'];
    const peak = (command, args) => {
      const run = spawnSync('sh', ['-c', `/usr/bin/time -f %M "$@" | wc -c`, 'sh', command, ...args], { encoding: 'utf8' });
      const bytes = Number(run.stdout.trim());
      const kb = Number(run.stderr.trim().split('\n').at(-1));
      return { bytes, mb: kb / 1024 };
    };
    const ours = peak(process.execPath, [CLI, '--quiet', '--shell', ...job]);
    console.log(`memory: taskpool passed ${ours.bytes} bytes of one job's output with a peak RSS of ${ours.mb.toFixed(0)} MB`);
    if (hasParallel) {
      const theirs = peak('parallel', job);
      console.log(`memory: GNU parallel passed ${theirs.bytes} bytes with a peak RSS of ${theirs.mb.toFixed(0)} MB`);
    }
  }
}
console.log('');
console.log(`bench-cli: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
