/// <reference types="node" />
/**
 * Starts `taskpool`'s jobs through `/bin/sh`: Node.js's own `spawn` blocks its thread until the
 * child has called `exec` (several milliseconds on a busy machine, for each child), while a
 * shell forks in well under one. Node.js starts one shell; it makes one named pipe per slot
 * in a private temporary directory and forks one shell per slot, each reading its jobs from
 * its pipe and running one at a time in its foreground (one fork per job, as xargs; the job
 * keeps the default action of every signal, SIGINT included). Each job's stdout and stderr go
 * to files of that directory (as GNU parallel's do), read back once it has ended.
 *
 * The protocol: two lines per job on its slot's pipe (`id groups`, then the command text
 * without newlines, starting with `exec`); the shells answer on fd 3 with `ready` once the
 * pipes exist, `open` once a slot has opened its pipe, `id p PID` once a job with a group of
 * its own has started, and `id x STATUS` once a job has exited, or `id k STATUS` when it was
 * killed by signal `STATUS - 128`. A slot's shell writes what it has to say (as dash's "Killed"
 * for a job killed by a signal) to a file of its own, never to the job's stderr: a status
 * above 128 with that file not empty is a signal, otherwise an exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fs, openSync, statSync, writeSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import type { Readable } from 'node:stream';
import { armTimeout, GRACE_PERIOD, type AttemptResult, type Timeout } from './cli-job.js';
import { shellQuote } from './cli-placeholders.js';
import { claimDirectory, releaseDirectory } from './cli-tempdir.js';

/**
 * The shell Node.js starts: `$1` is the directory, `$2` the number of slots. It makes the
 * slots' pipes, then runs one shell per slot, all at once, as the stages of one pipeline (the
 * stages of a pipeline run in the foreground: a job started in the background by a shell
 * without job control would ignore SIGINT and SIGQUIT). Once the pipes are made, the shell
 * lets go of taskpool's stderr, so that a reader of it does not wait for the shells.
 *
 * No slot waits for ever if taskpool is killed: a slot opens its pipe for reading and writing
 * (which never waits), says `open` on fd 3 (which kills it with SIGPIPE if taskpool is gone),
 * and waits for taskpool's `go` (written once taskpool has opened the pipe) before it opens
 * the pipe for reading only, whose end it then reads when taskpool is gone. The first stage
 * reads the shell's stdin, which only taskpool writes: at its end (taskpool has closed it, or
 * is gone), it writes `q` to each slot's pipe, which ends a slot still waiting for `go`. A
 * `q` written before its slot has opened the pipe is lost with the pipe's last reader: so the
 * first stage makes the file `quit` first, and a slot that finds it once open ends at once.
 */
export const HELPER = `d=$1
n=$2
set --
i=1
while [ "$i" -le "$n" ]; do set -- "$@" "$d/$i.in"; i=$((i + 1)); done
mkfifo "$@" || exit 1
echo ready >&3
exec 2>/dev/null
NL='
'
slot() {
  exec <>"$d/$1.in" >/dev/null 2>"$d/$1.msg"
  echo open >&3
  [ -e "$d/quit" ] && exit 0
  IFS= read -r go
  [ "$go" = go ] || exit 0
  exec <"$d/$1.in"
  while IFS=' ' read -r id p && IFS= read -r cmd; do
    if [ "$p" = 0 ]; then
      ( eval "$cmd" ) >"$d/$id.out" 2>"$d/$id.err" </dev/null 3>&-
    else
      ( read -r pid rest </proc/self/stat; echo "$id p $pid" >&3; exec 3>&-; eval "$cmd" ) >"$d/$id.out" 2>"$d/$id.err" </dev/null
    fi
    s=$?
    if [ "$s" -gt 128 ] && [ -s "$d/$1.msg" ]; then
      : >"$d/$1.msg"
      echo "$id k $s" >&3
    else
      echo "$id x $s" >&3
    fi
  done
}
watch() {
  while read -r line; do :; done
  : >"$d/quit"
  i=1
  while [ "$i" -le "$n" ]; do
    echo q 1<>"$d/$i.in"
    i=$((i + 1))
  done
}
p='watch | slot 1'
i=2
while [ "$i" -le "$n" ]; do p="$p | slot $i"; i=$((i + 1)); done
eval "$p"
`;

/** A word for the shell's `eval`, on one line: newlines become `$NL` outside the quotes. */
function oneLine(word: string): string {
  return shellQuote(word).replaceAll('\n', `'"$NL"'`);
}

/**
 * Where `command` is found, as `execvp` looks (a path, or the first executable of that name in
 * `PATH`), or `undefined`. The shell is given that path, so that it never runs a builtin of
 * its own (`echo`, `printf`, `test`) in place of the program.
 */
const found = new Map<string, string | undefined>();
function locate(command: string): string | undefined {
  if (found.has(command)) return found.get(command);
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((dir) => join(dir || '.', command));
  const path = candidates.find((candidate) => {
    try {
      accessSync(candidate, fs.X_OK);
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
  found.set(command, path);
  return path;
}

/** One slot: its shell's pipe, whether it runs a job now, and what waits to be written to it. */
interface Slot {
  readonly index: number;
  fd: number | undefined;
  busy: boolean;
  pending: Buffer | undefined;
}

interface Running {
  readonly slot: Slot;
  readonly resolve: (result: LaunchResult) => void;
  readonly startedAt: number;
  readonly started: number;
  readonly out: string;
  readonly err: string;
  pid: number | undefined;
  /** The signal sent to the job by taskpool (timeout, stop), to tell `128 + n` from an exit code. */
  sent: NodeJS.Signals | undefined;
  timedOut: boolean;
  cancelTimeout: () => void;
  grace: ReturnType<typeof setTimeout> | undefined;
}

/** An attempt's result, with the files its stdout and stderr went to. */
export interface LaunchResult extends AttemptResult {
  readonly stdoutFile?: string;
  readonly stderrFile?: string;
}

/** Signal names by number. */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

let liveLaunchers = 0;
const launchers = new Set<Launcher>();
function onExit(): void {
  for (const launcher of launchers) launcher.destroy();
}

/** The shells that start jobs, one per slot, and the temporary directory their output goes to. */
export class Launcher {
  readonly #groups: boolean;
  readonly #slotCount: number;
  readonly #running = new Map<number, Running>();
  readonly #slots: Slot[] = [];
  /** Jobs waiting for a slot's pipe to open. */
  readonly #queued: (() => void)[] = [];
  #shell: ChildProcess | undefined;
  #rest = '';
  #opened = 0;
  #ready = false;
  #gone = false;
  #whenOpen: (() => void) | undefined;
  #directory: string | undefined;
  #nextId = 0;
  #stopping = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Jobs stopped with the run: waited for (up to the grace period), then killed. */
  readonly #stopped = new Set<number>();

  /** With `groups`, each job leads a process group of its own (`setsid`), so that a timeout stops its whole tree. */
  readonly #base: string;

  constructor(groups: boolean, base = tmpdir(), slots = 1) {
    this.#groups = groups;
    this.#base = base;
    this.#slotCount = slots;
  }

  /** Whether jobs can be started this way here: `/bin/sh` and `mkfifo`, and `setsid` and `/proc` when groups are asked for. */
  static available(groups: boolean): boolean {
    return (
      process.platform !== 'win32' &&
      locate('/bin/sh') !== undefined &&
      locate('mkfifo') !== undefined &&
      (!groups || (locate('setsid') !== undefined && isFile('/proc/self/stat')))
    );
  }

  /** Starts the shells now (they are otherwise started by the first job). */
  start(): void {
    if (this.#shell !== undefined) return;
    this.#directory = claimDirectory(this.#base);
    if (liveLaunchers++ === 0) process.on('exit', onExit);
    launchers.add(this);
    // The shell leads a process group of its own: the slots' shells and their jobs are in it,
    // except jobs with a group of their own.
    const child = spawn('/bin/sh', ['-c', HELPER, 'sh', this.#directory, String(this.#slotCount)], { stdio: ['pipe', 'ignore', 'inherit', 'pipe'], detached: true });
    this.#shell = child;
    child.stdin!.on('error', () => {}); // EPIPE once the shells are gone
    for (let index = 1; index <= this.#slotCount; index++) this.#slots.push({ index, fd: undefined, busy: false, pending: undefined });
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (text: string) => this.#onStatus(text));
    child.once('close', () => {
      // The shells are gone (killed): their jobs were stopped with them.
      this.#gone = true;
      this.#whenOpen?.();
      for (const [id, running] of this.#running) this.#finish(id, running, null, false);
      for (const start of this.#queued.splice(0)) start();
    });
  }

  /** Runs one attempt of `argv` (or a `/bin/sh -c` line given as argv). Never rejects. */
  run(argv: readonly string[], timeout: Timeout, signal: AbortSignal): Promise<LaunchResult> {
    const startedAt = Date.now();
    const started = performance.now();
    const failed = (error: NodeJS.ErrnoException): Promise<LaunchResult> =>
      Promise.resolve({ exitCode: null, signal: null, timedOut: false, startedAt, durationMs: performance.now() - started, error });
    if (argv.some((word) => word.includes('\0'))) {
      return failed(Object.assign(new TypeError(`an argument holds a NUL byte, which no program can be given`), { code: 'ERR_INVALID_ARG_VALUE' }));
    }
    const program = locate(argv[0]!);
    if (program === undefined) return failed(Object.assign(new Error(`spawn ${argv[0]} ENOENT`), { code: 'ENOENT', syscall: `spawn ${argv[0]}`, path: argv[0] }));
    if (signal.aborted) return Promise.resolve({ exitCode: null, signal: 'SIGTERM', timedOut: false, startedAt, durationMs: 0 });
    this.start();
    const command = `exec ${this.#groups ? `${oneLine(locate('setsid')!)} ` : ''}${[program, ...argv.slice(1)].map(oneLine).join(' ')}`;
    return new Promise((resolve) => {
      const begin = (): void => {
        const slot = this.#slots.find((candidate) => !candidate.busy && candidate.fd !== undefined);
        if (this.#gone || slot === undefined) {
          if (this.#gone) resolve({ exitCode: null, signal: 'SIGKILL', timedOut: false, startedAt, durationMs: performance.now() - started });
          else this.#queued.push(begin);
          return;
        }
        slot.busy = true;
        const id = ++this.#nextId;
        const running: Running = {
          slot,
          resolve,
          startedAt,
          started,
          out: join(this.#directory!, `${id}.out`),
          err: join(this.#directory!, `${id}.err`),
          pid: undefined,
          sent: undefined,
          timedOut: false,
          cancelTimeout: () => {},
          grace: undefined,
        };
        this.#running.set(id, running);
        running.cancelTimeout = armTimeout(timeout, performance.now(), () => {
          running.timedOut = true;
          this.#stopJob(running);
        });
        const onAbort = (): void => this.#stopAll();
        signal.addEventListener('abort', onAbort, { once: true });
        (running as { resolve: (result: LaunchResult) => void }).resolve = (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        };
        this.#send(slot, `${id} ${this.#groups ? 1 : 0}\n${command}\n`);
      };
      begin();
    });
  }

  /** Ends the shells once their jobs have ended (stopped ones: up to the grace period, then killed), and removes the directory. */
  async close(): Promise<void> {
    const shell = this.#shell;
    // Every job has ended: the shells only wait for their next line, and are ended with the directory.
    if (this.#running.size > 0 && shell !== undefined && !this.#gone) {
      // A slot's shell that has not opened its pipe yet would wait for a writer for ever.
      if (this.#opened < this.#slotCount) await new Promise<void>((resolve) => (this.#whenOpen = resolve));
      clearTimeout(this.#retry);
      for (const slot of this.#slots) {
        if (slot.fd !== undefined) closeSync(slot.fd);
        slot.fd = undefined;
      }
      shell.stdin!.end();
      if (!this.#gone) await new Promise((resolve) => shell.once('close', resolve));
    }
    if (this.#stopping) {
      const deadline = performance.now() + GRACE_PERIOD;
      while ([...this.#stopped].some(isAlive) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.destroy();
  }

  /** Kills what is left of a stopped run, and removes the directory (also on exit). */
  destroy(): void {
    const shell = this.#shell;
    if (this.#stopping) for (const pid of this.#stopped) signalJob(pid, 'SIGKILL', this.#groups);
    else for (const running of this.#running.values()) signalJob(running.pid, 'SIGKILL', this.#groups); // the process exits while jobs run: none outlives it
    if (shell !== undefined && shell.exitCode === null && shell.signalCode === null) signalJob(shell.pid, 'SIGKILL', true);
    clearTimeout(this.#retry);
    for (const slot of this.#slots) {
      if (slot.fd !== undefined) closeSync(slot.fd);
      slot.fd = undefined;
    }
    if (this.#directory !== undefined) releaseDirectory(this.#directory);
    this.#directory = undefined;
    if (launchers.delete(this) && --liveLaunchers === 0) process.off('exit', onExit);
  }

  /** Writes to a slot's pipe, the rest later if the pipe is full. */
  #send(slot: Slot, text: string): void {
    slot.pending = slot.pending === undefined ? Buffer.from(text) : Buffer.concat([slot.pending, Buffer.from(text)]);
    this.#flush();
  }

  #flush(): void {
    let blocked = false;
    for (const slot of this.#slots) {
      while (slot.pending !== undefined && slot.fd !== undefined) {
        let written: number;
        try {
          written = writeSync(slot.fd, slot.pending);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
          blocked = true;
          break;
        }
        slot.pending = written === slot.pending.length ? undefined : slot.pending.subarray(written);
      }
    }
    if (blocked && this.#retry === undefined) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#flush();
      }, 1);
    }
  }

  /** Stops every job (Ctrl-C, --halt now): SIGTERM to them and to the shells' group; the shells' end settles their jobs. */
  #stopAll(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const running of this.#running.values()) {
      running.sent = 'SIGTERM';
      if (running.pid !== undefined) {
        this.#stopped.add(running.pid);
        signalJob(running.pid, 'SIGTERM', this.#groups);
      }
    }
    signalJob(this.#shell?.pid, 'SIGTERM', true);
  }

  /** Opens the slots' pipes (read and write, so that opening never waits), once the shell has made them. */
  #openSlots(): void {
    this.#ready = true;
    for (const slot of this.#slots) {
      slot.fd = openSync(join(this.#directory!, `${slot.index}.in`), fs.O_RDWR | fs.O_NONBLOCK);
      this.#send(slot, 'go\n');
    }
    for (const start of this.#queued.splice(0)) start();
  }

  #onStatus(text: string): void {
    const lines = (this.#rest + text).split('\n');
    this.#rest = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') {
        if (!this.#ready && this.#directory !== undefined) this.#openSlots();
        continue;
      }
      if (line === 'open') {
        if (++this.#opened === this.#slotCount) this.#whenOpen?.();
        continue;
      }
      const [idText, kind, value] = line.split(' ');
      const id = Number(idText);
      const running = this.#running.get(id);
      if (running === undefined) continue;
      if (kind === 'p') {
        running.pid = Number(value);
        if (this.#stopping) {
          running.sent = 'SIGTERM';
          this.#stopped.add(running.pid);
          signalJob(running.pid, 'SIGTERM', this.#groups);
        } else if (running.sent !== undefined) this.#stopJob(running);
      } else this.#finish(id, running, Number(value), kind === 'k');
    }
  }

  #finish(id: number, running: Running, status: number | null, killed: boolean): void {
    this.#running.delete(id);
    running.slot.busy = false;
    running.cancelTimeout();
    clearTimeout(running.grace);
    let exitCode: number | null = status;
    let signal: NodeJS.Signals | null = null;
    const name = status !== null && status > 128 ? SIGNAL_NAMES.get(status - 128) : undefined;
    if (status === null) signal = running.sent ?? 'SIGKILL';
    else if (name !== undefined && (killed || name === running.sent || (running.sent === 'SIGTERM' && name === 'SIGKILL'))) {
      // dash says nothing of SIGINT and SIGPIPE: those count as signals only when taskpool sent them.
      exitCode = null;
      signal = name;
    }
    running.resolve({
      exitCode,
      signal,
      timedOut: running.timedOut,
      startedAt: running.startedAt,
      durationMs: performance.now() - running.started,
      stdoutFile: running.out,
      stderrFile: running.err,
    });
    const next = this.#queued.shift();
    next?.();
  }

  /** SIGTERM to the job (its group with `setsid`), SIGKILL after the grace period. */
  #stopJob(running: Running): void {
    if (running.sent === undefined) running.sent = 'SIGTERM';
    if (running.pid === undefined) return; // stopped once the shell says it has started
    if (running.grace !== undefined) return;
    signalJob(running.pid, 'SIGTERM', this.#groups);
    running.grace = setTimeout(() => {
      running.sent = 'SIGKILL';
      signalJob(running.pid, 'SIGKILL', this.#groups);
    }, GRACE_PERIOD);
    running.grace.unref();
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalJob(pid: number | undefined, signal: NodeJS.Signals, group: boolean): void {
  if (pid === undefined) return;
  try {
    if (group) process.kill(-pid, signal);
  } catch {
    // not yet a group leader (setsid has not run), or the group has exited
  }
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: it has exited
  }
}
