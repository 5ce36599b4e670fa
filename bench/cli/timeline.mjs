/**
 * A per-job timeline of one run of the `taskpool` command (by default the overhead benchmark's
 * 200 × `sleep 0.05` at -j 20, inputs on stdin, output to /dev/null): for each job, when it
 * was handed to its slot's shell (taken), when its process started (exec) and exited, when
 * taskpool heard that it had ended, and the writes to stdout; then where the wall time went.
 * Marks inside taskpool come from bench/cli/timeline-hooks.mjs; the processes' exec and exit
 * from `strace -f` (only those system calls stop the process), when installed.
 *
 *   npm run build && node bench/cli/timeline.mjs [--jobs 20] [--count 200] [--csv FILE] [--no-strace] [-- command...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags, positionals } = parseArgs({
  options: { jobs: { type: 'string', default: '20' }, count: { type: 'string', default: '200' }, input: { type: 'string', default: '0.05' }, csv: { type: 'string' }, 'no-strace': { type: 'boolean', default: false } },
  allowPositionals: true,
});
const command = positionals.length > 0 ? positionals : ['sleep'];
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const HOOKS = fileURLToPath(new URL('./timeline-hooks.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'timeline-'));
const marksFile = join(work, 'marks.json');
const traceFile = join(work, 'trace.txt');
const hasStrace = !flags['no-strace'] && spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
const input = `${flags.input}\n`.repeat(Number(flags.count));
const node = [process.execPath, '--import', HOOKS, CLI, '--quiet', '-j', flags.jobs, ...command];
const argv = hasStrace ? ['strace', '-f', '--seccomp-bpf', '-ttt', '-e', 'trace=openat,execve,exit_group,clone,clone3,vfork,fork', '-o', traceFile, ...node] : node;
const start = Date.now();
const run = spawnSync(argv[0], argv.slice(1), { input, stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, TASKPOOL_TIMELINE: marksFile } });
const wall = Date.now() - start;
if (run.status !== 0) throw new Error(`taskpool exited ${run.status}`);
const marks = JSON.parse(readFileSync(marksFile, 'utf8'));
const origin = marks.find((mark) => mark.what === 'process').t;
const at = (t) => t - origin;

/** Job id → { taken, slot, ended, exec, exit } in ms since the process started. */
const jobs = new Map();
for (const mark of marks) {
  if (mark.id === undefined) continue;
  const job = jobs.get(mark.id) ?? { id: mark.id };
  jobs.set(mark.id, job);
  if (mark.what === 'taken') Object.assign(job, { taken: at(mark.t), slot: mark.slot });
  else job.ended = at(mark.t);
}

if (hasStrace) {
  // Slot shell pid ← the pid that opened `N.in`; a job's process ← the first child that slot forks after it was taken.
  const slotPid = new Map();
  const forks = new Map(); // pid → [{ t, child }]
  const execs = new Map(); // pid → t of its last execve
  const exits = new Map(); // pid → t
  for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
    const match = /^(\d+) +(\d+\.\d+) (.*)$/.exec(line);
    if (match === null) continue;
    const [, pidText, time, call] = match;
    const pid = Number(pidText);
    const t = at(Number(time) * 1000);
    const slot = /^openat\(.*\/(\d+)\.in", O_RDONLY/.exec(call);
    if (slot !== null) slotPid.set(Number(slot[1]), pid);
    const fork = /^(?:clone3?|vfork|fork)\(.*= (\d+)$/.exec(call) ?? /^<\.\.\. (?:clone3?|vfork|fork) resumed>.*= (\d+)$/.exec(call);
    if (fork !== null) forks.set(pid, [...(forks.get(pid) ?? []), { t, child: Number(fork[1]) }]);
    if (/^execve\(/.test(call) && !/= -1/.test(call)) execs.set(pid, t);
    if (/^exit_group\(/.test(call)) exits.set(pid, t);
  }
  for (const job of jobs.values()) {
    const pid = slotPid.get(job.slot);
    const fork = (forks.get(pid) ?? []).find((candidate) => candidate.t >= job.taken - 1 && !candidate.used);
    if (fork === undefined) continue;
    fork.used = true;
    Object.assign(job, { pid: fork.child, exec: execs.get(fork.child), exit: exits.get(fork.child) });
  }
}

const list = [...jobs.values()].sort((a, b) => a.id - b.id);
const ms = (value) => (value === undefined ? '' : value.toFixed(1));
const writes = marks.filter((mark) => mark.what === 'written');
const csv = ['id,slot,taken,exec,exit,ended', ...list.map((job) => [job.id, job.slot, ms(job.taken), ms(job.exec), ms(job.exit), ms(job.ended)].join(','))];
if (flags.csv) writeFileSync(flags.csv, `${csv.join('\n')}\n`);
const median = (values) => {
  if (values.every((value) => value === undefined || Number.isNaN(value))) return NaN;
  const sorted = values.filter((value) => value !== undefined && !Number.isNaN(value)).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};
const first = list[0];
const last = list.reduce((a, b) => (b.ended > a.ended ? b : a));
const loaded = at(marks.find((mark) => mark.what === 'loaded').t);
const ready = marks.find((mark) => mark.what === 'ready');
const spawnCall = marks.find((mark) => mark.what === 'spawn');
const spawned = marks.find((mark) => mark.what === 'spawned');
const exit = at(marks.find((mark) => mark.what === 'exit').t);
// The gap between a job's end as taskpool heard it and the next job taken in the same slot.
const bySlot = new Map();
for (const job of list) bySlot.set(job.slot, [...(bySlot.get(job.slot) ?? []), job]);
const refill = [];
for (const slotJobs of bySlot.values()) for (let i = 1; i < slotJobs.length; i++) refill.push(slotJobs[i].taken - slotJobs[i - 1].ended);

console.log(`taskpool ${command.join(' ')} × ${list.length} at -j ${flags.jobs}: wall ${wall} ms${hasStrace ? ' (under strace -f: slower than without)' : ''}`);
console.log('');
console.log('| id | slot | taken | exec | exit | ended (heard) |');
console.log('|--:|--:|--:|--:|--:|--:|');
for (const job of list.slice(0, 25)) console.log(`| ${job.id} | ${job.slot} | ${ms(job.taken)} | ${ms(job.exec)} | ${ms(job.exit)} | ${ms(job.ended)} |`);
if (list.length > 25) console.log(`| … ${list.length - 25} more${flags.csv ? ` in ${flags.csv}` : ''} | | | | | |`);
console.log('');
console.log('where the time goes (ms since the process started, medians over jobs):');
console.log(`- Node.js started (its first line of JavaScript): ${loaded.toFixed(1)}; taskpool loaded, its shell spawned: ${spawnCall === undefined ? '-' : `${at(spawnCall.t).toFixed(1)} → ${at(spawned.t).toFixed(1)}`}; the shells' pipes made: ${ready === undefined ? '-' : at(ready.t).toFixed(1)}; first job taken: ${first.taken.toFixed(1)}, its exec: ${ms(first.exec)}`);
console.log(`- taken → exec: ${median(list.map((job) => job.exec - job.taken)).toFixed(2)}; exec → exit (the job itself): ${median(list.map((job) => job.exit - job.exec)).toFixed(2)}; exit → heard: ${median(list.map((job) => job.ended - job.exit)).toFixed(2)}; heard → next taken in the slot: ${median(refill).toFixed(2)}`);
console.log(`- taken → heard (the round trip of one job): ${median(list.map((job) => job.ended - job.taken)).toFixed(2)}`);
console.log(`- last job heard: ${last.ended.toFixed(1)}; process exit: ${exit.toFixed(1)}; writes to stdout: ${writes.length}`);
rmSync(work, { recursive: true, force: true });
