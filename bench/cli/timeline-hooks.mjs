/**
 * Loaded with `node --import` by bench/cli/timeline.mjs: records, from inside the `taskpool`
 * process, when each job is handed to its slot's shell (taken), when the shell says it has
 * ended, and each write to stdout, then writes them as JSON to $TASKPOOL_TIMELINE on exit.
 * It only wraps Node.js functions (fs.openSync, fs.writeSync, child_process.spawn,
 * process.stdout.write); the command itself is not changed.
 */
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import process from 'node:process';

const marks = [{ what: 'loaded', t: now() }];
const slotOfFd = new Map();

function now() {
  return performance.timeOrigin + performance.now();
}

const { openSync, writeSync, writeFileSync } = fs;
fs.openSync = function (path, ...rest) {
  const fd = openSync.call(this, path, ...rest);
  const slot = /\/(\d+)\.in$/.exec(String(path));
  if (slot !== null) slotOfFd.set(fd, Number(slot[1]));
  return fd;
};
fs.writeSync = function (fd, data, ...rest) {
  if (slotOfFd.has(fd)) {
    const id = /^(\d+) /.exec(String(data));
    if (id !== null) marks.push({ what: 'taken', t: now(), id: Number(id[1]), slot: slotOfFd.get(fd) });
  }
  return writeSync.call(this, fd, data, ...rest);
};
const { spawn } = childProcess;
childProcess.spawn = function (...args) {
  marks.push({ what: 'spawn', t: now() });
  const child = spawn.apply(this, args);
  marks.push({ what: 'spawned', t: now() });
  const status = child.stdio[3];
  if (status) {
    let rest = '';
    status.on('data', (data) => {
      const t = now();
      const lines = (rest + String(data)).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const ended = /^(\d+) [xk] /.exec(line);
        if (ended !== null) marks.push({ what: 'ended', t, id: Number(ended[1]) });
        else if (line === 'ready') marks.push({ what: 'ready', t });
      }
    });
  }
  return child;
};
syncBuiltinESMExports();
const write = process.stdout.write;
process.stdout.write = function (chunk, ...rest) {
  marks.push({ what: 'written', t: now(), bytes: chunk.length });
  return write.call(this, chunk, ...rest);
};
process.on('exit', () => {
  marks.push({ what: 'exit', t: now() });
  marks.unshift({ what: 'process', t: performance.timeOrigin });
  writeFileSync(process.env.TASKPOOL_TIMELINE, JSON.stringify(marks));
});
