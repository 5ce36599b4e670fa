/// <reference types="node" />
/**
 * Starts `taskpool`'s jobs through long-lived `/bin/sh` processes, one per slot: Node.js's own
 * `spawn` blocks its thread until the child has called `exec` (several milliseconds on a busy
 * machine), while a shell forks in well under one; each shell runs one job at a time. Each job's stdout and stderr go to files of a
 * private temporary directory (as GNU parallel's do), read back once it has ended.
 *
 * The protocol: two lines per job on the shell's stdin (`id groups`, then the command text
 * without newlines); the shell writes stdout and stderr to `id.out` and `id.err` of the
 * directory, and answers on fd 3 with `id p PID` once started (jobs with a group of their
 * own) and `id x STATUS` once ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fs, mkdtempSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { GRACE_PERIOD, type AttemptResult } from './cli-job.js';
import { shellQuote } from './cli-placeholders.js';

/**
 * One starting shell: `$1` is the directory of the output files. It runs one job at a time:
 * in the foreground (one fork, as xargs), or, for a job that leads a group of its own
 * (`setsid`, for timeouts), in the background, to tell its pid.
 */
const HELPER = `NL='
'
while IFS=' ' read -r id p && IFS= read -r cmd; do
  if [ "$p" = 0 ]; then
    eval "$cmd" >"$1/$id.out" 2>"$1/$id.err" </dev/null 3>&-
    echo "$id x $?" >&3
  else
    eval "$cmd" >"$1/$id.out" 2>"$1/$id.err" </dev/null 3>&- &
    echo "$id p $!" >&3
    wait $!
    echo "$id x $?" >&3
  fi
done
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

/** A starting shell, and whether it runs a job now. */
interface Shell {
  readonly child: ChildProcess;
  busy: boolean;
  rest: string;
}

interface Running {
  readonly shell: Shell;
  readonly resolve: (result: LaunchResult) => void;
  readonly startedAt: number;
  readonly started: number;
  readonly out: string;
  readonly err: string;
  pid: number | undefined;
  /** The signal sent to the job by taskpool (timeout, stop), to tell `128 + n` from an exit code. */
  sent: NodeJS.Signals | undefined;
  timedOut: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  grace: ReturnType<typeof setTimeout> | undefined;
}

/** An attempt's result, with the files its stdout and stderr went to. */
export interface LaunchResult extends AttemptResult {
  readonly stdoutFile?: string;
  readonly stderrFile?: string;
}

let liveLaunchers = 0;
const launchers = new Set<Launcher>();
function onExit(): void {
  for (const launcher of launchers) launcher.destroy();
}

/** One shell that starts jobs, and the temporary directory their output goes to. */
export class Launcher {
  readonly #groups: boolean;
  readonly #running = new Map<number, Running>();
  readonly #shells: Shell[] = [];
  #directory: string | undefined;
  #nextId = 0;
  #stopping = false;
  /** Jobs stopped with the run: waited for (up to the grace period), then killed. */
  readonly #stopped = new Set<number>();

  /** With `groups`, each job leads a process group of its own (`setsid`), so that a timeout stops its whole tree. */
  readonly #base: string;

  constructor(groups: boolean, base = tmpdir()) {
    this.#groups = groups;
    this.#base = base;
  }

  /** Whether jobs can be started this way here: `/bin/sh`, and `setsid` when groups are asked for. */
  static available(groups: boolean): boolean {
    return process.platform !== 'win32' && locate('/bin/sh') !== undefined && (!groups || locate('setsid') !== undefined);
  }

  /** Runs one attempt of `argv` (or a `/bin/sh -c` line given as argv). Never rejects. */
  run(argv: readonly string[], timeout: number | undefined, signal: AbortSignal): Promise<LaunchResult> {
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
    const shell = this.#shells.find((candidate) => !candidate.busy) ?? this.#start();
    shell.busy = true;
    const id = ++this.#nextId;
    const out = join(this.#directory!, `${id}.out`);
    const err = join(this.#directory!, `${id}.err`);
    const command = `${this.#groups ? `exec ${oneLine(locate('setsid')!)} ` : ''}${[program, ...argv.slice(1)].map(oneLine).join(' ')}`;
    return new Promise((resolve) => {
      const running: Running = { shell, resolve, startedAt, started, out, err, pid: undefined, sent: undefined, timedOut: false, timer: undefined, grace: undefined };
      this.#running.set(id, running);
      if (timeout !== undefined) {
        running.timer = setTimeout(() => {
          running.timedOut = true;
          this.#stopJob(running);
        }, timeout);
      }
      const onAbort = (): void => this.#stopAll();
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = running.resolve;
      (running as { resolve: (result: LaunchResult) => void }).resolve = (result) => {
        signal.removeEventListener('abort', onAbort);
        settle(result);
      };
      (shell.child.stdin as Writable).write(`${id} ${this.#groups ? 1 : 0}\n${command}\n`);
    });
  }

  /** Ends the shells once their jobs have ended (stopped ones: up to the grace period, then killed), and removes the directory. */
  async close(): Promise<void> {
    await Promise.all(
      this.#shells.map(({ child }) => {
        (child.stdin as Writable).end();
        return child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('close', resolve)) : undefined;
      }),
    );
    if (this.#stopping) {
      const deadline = performance.now() + GRACE_PERIOD;
      while ([...this.#stopped].some(isAlive) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.destroy();
  }

  /** Kills what is left of a stopped run, and removes the directory (also on exit). */
  destroy(): void {
    if (this.#stopping) {
      for (const pid of this.#stopped) signalJob(pid, 'SIGKILL', this.#groups);
      for (const { child } of this.#shells) signalJob(child.pid, 'SIGKILL', true);
    } else {
      // The process exits while jobs run: none outlives it.
      for (const running of this.#running.values()) signalJob(running.pid, 'SIGKILL', this.#groups);
      for (const { child } of this.#shells) if (child.exitCode === null && child.signalCode === null) signalJob(child.pid, 'SIGKILL', true);
    }
    if (this.#directory !== undefined) rmSync(this.#directory, { recursive: true, force: true });
    this.#directory = undefined;
    if (launchers.delete(this) && --liveLaunchers === 0) process.off('exit', onExit);
  }

  /** Stops every job (Ctrl-C, --halt now): SIGTERM to them and to the shells' groups; a shell's end settles its job. */
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
    for (const { child } of this.#shells) signalJob(child.pid, 'SIGTERM', true);
  }

  #start(): Shell {
    if (this.#directory === undefined) {
      this.#directory = mkdtempSync(join(this.#base, 'taskpool-'));
      if (liveLaunchers++ === 0) process.on('exit', onExit);
      launchers.add(this);
    }
    // Each shell leads a process group of its own: jobs without one of their own are in it.
    const child = spawn('/bin/sh', ['-c', HELPER, 'sh', this.#directory], { stdio: ['pipe', 'ignore', 'inherit', 'pipe'], detached: true });
    const shell: Shell = { child, busy: false, rest: '' };
    this.#shells.push(shell);
    (child.stdin as Writable).on('error', () => {});
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (text: string) => this.#onStatus(shell, text));
    child.once('close', () => {
      // The shell is gone (killed): its job was stopped with it.
      for (const [id, running] of this.#running) if (running.shell === shell) this.#finish(id, running, null);
    });
    return shell;
  }

  #onStatus(shell: Shell, text: string): void {
    const lines = (shell.rest + text).split('\n');
    shell.rest = lines.pop()!;
    for (const line of lines) {
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
      } else this.#finish(id, running, Number(value));
    }
  }

  #finish(id: number, running: Running, status: number | null): void {
    this.#running.delete(id);
    running.shell.busy = false;
    clearTimeout(running.timer);
    clearTimeout(running.grace);
    let exitCode: number | null = status;
    let signal: NodeJS.Signals | null = null;
    if (status === null) signal = running.sent ?? 'SIGKILL';
    else if (status > 128 && running.sent !== undefined && constants.signals[running.sent] === status - 128) {
      exitCode = null;
      signal = running.sent;
    } else if (status > 128 && running.sent === 'SIGTERM' && status === 128 + constants.signals.SIGKILL) {
      exitCode = null;
      signal = 'SIGKILL';
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
