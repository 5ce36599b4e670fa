/// <reference types="node" />
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import process from 'node:process';
import { cancelTimer, startTimer, type TimerHandle } from '../internal/timers.js';
import { checkBoolean, checkOptions, checkSignal, checkString, checkTimeout, describe, type OptionChecks } from '../internal/validate.js';
import { ProcessError } from './process-error.js';

/**
 * The outcome of one run of a command: what `runProcess` resolves to, and what a
 * {@link ProcessError} carries. Plain data: it survives `JSON.stringify` and `postMessage`.
 *
 * @example
 * ```ts
 * const { exitCode, stdout, durationMs } = await runProcess('echo', ['hello']);
 * ```
 */
export interface ProcessResult {
  /** The command as given. */
  readonly command: string;
  /** The arguments as given. */
  readonly args: readonly string[];
  /** The child's process id (also its process group id on POSIX). */
  readonly pid: number;
  /** The exit code, or `null` when the child was ended by a signal. */
  readonly exitCode: number | null;
  /** The signal that ended the child (`'SIGTERM'`, `'SIGKILL'`, ...), or `null` when it exited. */
  readonly signal: NodeJS.Signals | null;
  /** What the child wrote to stdout, decoded as UTF-8 (at most `maxOutput` bytes of it). */
  readonly stdout: string;
  /** What the child wrote to stderr, decoded as UTF-8 (at most `maxOutput` bytes of it). */
  readonly stderr: string;
  /** `true` when stdout went past `maxOutput` bytes and the rest was dropped. */
  readonly stdoutTruncated: boolean;
  /** `true` when stderr went past `maxOutput` bytes and the rest was dropped. */
  readonly stderrTruncated: boolean;
  /** Milliseconds from the start of the child to the end of its output. */
  readonly durationMs: number;
  /** `true` when the run was stopped because its `timeout` passed. */
  readonly timedOut: boolean;
}

/**
 * Options of {@link runProcess}.
 *
 * @example
 * ```ts
 * await runProcess('gzip', ['-c'], { input: 'text', timeout: 30_000, cwd: '/tmp', maxOutput: 1 << 20 });
 * ```
 */
export interface RunProcessOptions {
  /**
   * Milliseconds the command may run. Then it is stopped (`killSignal` to its process group,
   * `SIGKILL` after `gracePeriod`) and the call rejects with a {@link ProcessError} whose
   * `result.timedOut` is `true`.
   * @default none
   */
  timeout?: number;
  /**
   * Stops the command when it aborts, as a timeout does; the call then rejects with
   * `signal.reason`, once the child has exited. An already aborted signal starts nothing.
   */
  signal?: AbortSignal;
  /**
   * The working directory of the child.
   * @default process.cwd()
   */
  cwd?: string | URL;
  /**
   * The whole environment of the child (it replaces, not extends, the parent's: pass
   * `{ ...process.env, NAME: 'value' }` to add to it).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Written to the child's stdin, which is then closed. Without it stdin is empty (`/dev/null`).
   * @default none
   */
  input?: string | Uint8Array;
  /**
   * The most bytes kept of each of stdout and stderr. Past it the child keeps running and
   * writing (it is never blocked), the rest is dropped, and `stdoutTruncated` /
   * `stderrTruncated` say so. `Infinity` keeps everything.
   * @default 67108864 (64 MiB)
   */
  maxOutput?: number;
  /**
   * `false`: resolve with the {@link ProcessResult} when the command fails (non-zero exit, a
   * signal, a timeout) instead of rejecting with a {@link ProcessError}. An abort still
   * rejects with `signal.reason`, and a command that cannot start still rejects with its error.
   * @default true
   */
  reject?: boolean;
  /**
   * The signal sent first to stop the command on timeout or abort.
   * @default 'SIGTERM'
   */
  killSignal?: NodeJS.Signals;
  /**
   * Milliseconds between `killSignal` and `SIGKILL` when stopping the command.
   * @default 2000
   */
  gracePeriod?: number;
}

const OPTIONS: OptionChecks = {
  timeout: checkTimeout,
  signal: checkSignal,
  cwd: undefined,
  env: undefined,
  input: undefined,
  maxOutput: undefined,
  reject: checkBoolean,
  killSignal: checkString,
  gracePeriod: checkTimeout,
};
const ACTION = 'run a process';
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const DEFAULT_GRACE_PERIOD = 2_000;
/** Process groups exist on POSIX: the child leads its own, so that the whole tree can be signalled. */
const GROUPS = process.platform !== 'win32';

function ignore(): void {}

function fail(name: string, requirement: string, value: unknown, Kind: typeof TypeError = TypeError): never {
  throw new Kind(`Cannot ${ACTION} as '${name}' must be ${requirement}: current value is ${describe(value)}`);
}

/** Keeps the first `limit` bytes of a stream. */
class Capture {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  readonly add = (chunk: Buffer): void => {
    const room = this.#limit - this.#size;
    if (chunk.length > room) {
      this.truncated = true;
      if (room <= 0) return;
      chunk = chunk.subarray(0, room);
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  };

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }
}

/**
 * Every child started and not yet finished. Each leads a process group of its own, so the
 * terminal's Ctrl-C does not reach it, and it would outlive a parent that ends. While any
 * runs: if the parent exits (`process.exit()`, an uncaught error) they are killed; if it gets
 * SIGINT, SIGTERM or SIGHUP and nothing else listens for that signal (so Node would simply
 * end), the signal is passed on to their groups, as a terminal does to its foreground group,
 * and the parent then ends by it as it would have.
 */
const live = new Set<ChildRun>();
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killLive(): void {
  for (const run of live) run.signalGroup('SIGKILL');
}

function forwardSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the application handles it
  for (const run of live) run.signalGroup(signal);
  unwatchParent();
  process.kill(process.pid, signal);
}

function watchParent(): void {
  process.on('exit', killLive);
  if (GROUPS) for (const signal of FORWARDED_SIGNALS) process.on(signal, forwardSignal);
}

function unwatchParent(): void {
  process.off('exit', killLive);
  for (const signal of FORWARDED_SIGNALS) process.off(signal, forwardSignal);
}

/** One child process, from spawn to settlement. */
class ChildRun {
  readonly #command: string;
  readonly #args: readonly string[];
  readonly #options: RunProcessOptions;
  readonly #resolve: (result: ProcessResult) => void;
  readonly #reject: (error: unknown) => void;
  readonly #stdout: Capture;
  readonly #stderr: Capture;
  readonly #startedAt = performance.now();
  #child: ChildProcess | undefined;
  #timer: TimerHandle | undefined;
  #graceTimer: TimerHandle | undefined;
  #stopping: 'timeout' | 'abort' | undefined;
  #exited = false;
  #killed = false;
  #settled = false;

  constructor(command: string, args: readonly string[], options: RunProcessOptions, resolve: (result: ProcessResult) => void, reject: (error: unknown) => void) {
    this.#command = command;
    this.#args = args;
    this.#options = options;
    this.#resolve = resolve;
    this.#reject = reject;
    const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
    this.#stdout = new Capture(maxOutput);
    this.#stderr = new Capture(maxOutput);
  }

  start(): void {
    const { cwd, env, input, timeout, signal } = this.#options;
    // Watched before the child exists: a signal that comes while it starts (the child may run
    // before spawn() returns here) is handled once this turn ends, when the child is in `live`.
    if (live.size === 0) watchParent();
    let child: ChildProcess;
    try {
      child = spawn(this.#command, this.#args, {
        cwd,
        env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: GROUPS,
        windowsHide: true,
      });
    } catch (error) {
      // Node throws at once for some failures (a cwd that is a file: ENOTDIR).
      if (live.size === 0) unwatchParent();
      this.#reject(spawnError(error, this.#command, cwd));
      return;
    }
    this.#child = child;
    child.on('error', this.#onError);
    if (child.pid === undefined) {
      // Could not start: 'error' follows.
      if (live.size === 0) unwatchParent();
      return;
    }
    live.add(this);
    child.stdout!.on('data', this.#stdout.add);
    child.stderr!.on('data', this.#stderr.add);
    if (input !== undefined) {
      child.stdin!.on('error', ignore); // the child may exit without reading it
      child.stdin!.end(input);
    }
    child.once('exit', this.#onExit);
    child.once('close', this.#onClose);
    if (timeout !== undefined) this.#timer = startTimer(timeout, () => this.#stop('timeout'));
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Sends `signal` to the child's whole process group (to the child alone on Windows). */
  signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child!.pid!;
    try {
      if (GROUPS) process.kill(-pid, signal);
      /* c8 ignore next */ else this.#child!.kill(signal);
    } catch {
      // ESRCH: every process of the group has already exited.
    }
  }

  readonly #onAbort = (): void => this.#stop('abort');

  #stop(cause: 'timeout' | 'abort'): void {
    if (this.#stopping !== undefined || this.#settled) return;
    this.#stopping = cause;
    cancelTimer(this.#timer);
    this.signalGroup(this.#options.killSignal ?? 'SIGTERM');
    this.#graceTimer = startTimer(this.#options.gracePeriod ?? DEFAULT_GRACE_PERIOD, this.#kill);
  }

  /** The grace period is over: SIGKILL the group, and stop waiting for output held open by a process outside it. */
  readonly #kill = (): void => {
    this.#graceTimer = undefined;
    this.#killed = true;
    this.signalGroup('SIGKILL');
    if (this.#exited) this.#closeOutput();
  };

  readonly #onExit = (): void => {
    this.#exited = true;
    if (this.#killed) this.#closeOutput();
  };

  #closeOutput(): void {
    this.#child!.stdout!.destroy();
    this.#child!.stderr!.destroy();
  }

  readonly #onError = (error: Error): void => {
    if (this.#child!.pid !== undefined) return; // not a spawn failure: the run goes on
    this.#settle();
    this.#reject(spawnError(error, this.#command, this.#options.cwd));
  };

  readonly #onClose = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
    this.#settle();
    const result: ProcessResult = {
      command: this.#command,
      args: this.#args,
      pid: this.#child!.pid!,
      exitCode,
      signal,
      stdout: this.#stdout.text(),
      stderr: this.#stderr.text(),
      stdoutTruncated: this.#stdout.truncated,
      stderrTruncated: this.#stderr.truncated,
      durationMs: performance.now() - this.#startedAt,
      timedOut: this.#stopping === 'timeout',
    };
    if (this.#stopping === 'abort') this.#reject(this.#options.signal!.reason);
    else if (result.exitCode === 0 && !result.timedOut) this.#resolve(result);
    else if (this.#options.reject === false) this.#resolve(result);
    else this.#reject(new ProcessError(result, this.#options.timeout));
  };

  #settle(): void {
    this.#settled = true;
    cancelTimer(this.#timer);
    cancelTimer(this.#graceTimer);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    if (live.delete(this) && live.size === 0) unwatchParent();
  }
}

/** Whether `cwd` names an existing directory. */
function isDirectory(cwd: string | URL): boolean {
  try {
    return statSync(cwd).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Node's error for a child that could not start, or, when the reason is a `cwd` that is not
 * an existing directory (Node then blames the command: `spawn echo ENOENT`), an error that
 * names the cwd, with the same `code` and Node's error as its `cause`.
 */
function spawnError(error: unknown, command: string, cwd: string | URL | undefined): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (cwd === undefined || (code !== 'ENOENT' && code !== 'ENOTDIR') || isDirectory(cwd)) return error;
  const path = cwd instanceof URL ? fileURLToPath(cwd) : cwd;
  const why = code === 'ENOENT' ? 'does not exist' : 'is not a directory';
  return Object.assign(new Error(`Cannot run '${command}' as its working directory 'cwd' ${why}: current value is ${describe(path)}`, { cause: error }), {
    code,
    syscall: 'spawn',
    path,
  });
}

function checkOptionsOf(options: RunProcessOptions | undefined): RunProcessOptions {
  const checked = checkOptions(options, OPTIONS, ACTION);
  if (checked.cwd !== undefined && typeof checked.cwd !== 'string' && !(checked.cwd instanceof URL)) fail('cwd', 'a string or URL', checked.cwd);
  if (checked.env !== undefined && (typeof checked.env !== 'object' || checked.env === null)) fail('env', 'an object', checked.env);
  if (checked.input !== undefined && typeof checked.input !== 'string' && !(checked.input instanceof Uint8Array)) {
    fail('input', 'a string or Uint8Array', checked.input);
  }
  if (checked.maxOutput !== undefined) {
    if (typeof checked.maxOutput !== 'number') fail('maxOutput', 'a non-negative number of bytes', checked.maxOutput);
    if (!(checked.maxOutput >= 0)) fail('maxOutput', 'a non-negative number of bytes', checked.maxOutput, RangeError);
  }
  if (checked.killSignal !== undefined && !Object.hasOwn(constants.signals, checked.killSignal)) {
    fail('killSignal', 'a signal name such as "SIGTERM"', checked.killSignal, RangeError);
  }
  return { ...checked };
}

/**
 * Runs a command (no shell) and resolves to its {@link ProcessResult}: exit code, signal,
 * stdout and stderr as text, duration. Python's `subprocess.run(check=True, capture_output=True)`
 * as a promise, made to be a task of any executor:
 * `pool.submit(runProcess, 'gzip', ['-k', file])`, or
 * `pool.run(({ signal }) => runProcess(cmd, args, { signal }))` so that cancelling the future
 * (or its `timeout`) stops the child.
 *
 * - A non-zero exit code, a signal or a `timeout` rejects with a {@link ProcessError} that
 *   carries the whole result; `reject: false` resolves with the result instead.
 * - The child leads a process group of its own (POSIX): on timeout or abort the whole group
 *   (the child and whatever it started) gets `killSignal`, then `SIGKILL` after
 *   `gracePeriod` ms. The promise settles only once the child has exited, so a pool slot
 *   stays occupied while it runs. If the parent process exits first, running children are
 *   killed with `SIGKILL`; a SIGINT (Ctrl-C), SIGTERM or SIGHUP that the application does not
 *   handle is passed on to them before the parent ends.
 * - The promise settles when the child has exited and its stdout and stderr have closed: a
 *   background process that keeps them open keeps the call waiting (until its `timeout`).
 * - stdin is empty unless `input` is given; output past `maxOutput` bytes is dropped and flagged.
 * - A command that cannot start (not found, not executable) rejects with Node's error
 *   (`code` `'ENOENT'`, `'EACCES'`), whatever `reject` says. A `cwd` that does not exist (or
 *   is not a directory) rejects with an error that names the cwd, not the command (same
 *   `code`, Node's error as its `cause`).
 * - Bad arguments never throw: the returned promise rejects, as for any other failure.
 *
 * @param command - the program: a path, or a name looked up in `PATH`.
 * @param args - its arguments, passed as they are (no shell, no globbing, no quoting needed).
 * @param options - see {@link RunProcessOptions}.
 * @returns a promise of the {@link ProcessResult}.
 * @throws {TypeError} (as a rejection of the returned promise) when `command` is not a
 *   non-empty string, `args` not an array of strings, or an option has the wrong type or is unknown.
 * @throws {RangeError} (as a rejection of the returned promise) for a negative `timeout`,
 *   `maxOutput` or `gracePeriod`, or an unknown `killSignal`.
 * @example
 * ```ts
 * import { TaskPoolExecutor, settle } from 'taskpool';
 * import { runProcess } from 'taskpool/process';
 *
 * const { stdout } = await runProcess('echo', ['hello']); // 'hello\n'
 *
 * await using pool = new TaskPoolExecutor({ maxWorkers: 4 });
 * for await (const r of pool.map(settle((n: string) => runProcess('sh', ['-c', `exit ${n}`])), ['0', '3'])) {
 *   console.log(r.ok ? 'ok' : String(r.error)); // 'ok', then 'Command failed with exit code 3: sh -c ...'
 * }
 * ```
 */
export function runProcess(command: string, args?: readonly string[], options?: RunProcessOptions): Promise<ProcessResult> {
  let checked: RunProcessOptions;
  try {
    [args, checked] = checkArguments(command, args, options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (checked.signal?.aborted) return Promise.reject(checked.signal.reason);
  const argv = args;
  return new Promise((resolve, reject) => new ChildRun(command, argv, checked, resolve, reject).start());
}

/** Checks `runProcess`'s arguments: a copy of `args` (`[]` when omitted) and the checked options. */
function checkArguments(command: string, args: readonly string[] | undefined, options: RunProcessOptions | undefined): [readonly string[], RunProcessOptions] {
  if (typeof command !== 'string' || command === '') fail('command', 'a non-empty string', command);
  if (args === undefined) args = [];
  else if (!Array.isArray(args)) fail('args', 'an array of strings', args);
  else {
    args.forEach((arg, index) => {
      if (typeof arg !== 'string') fail(`args[${index}]`, 'a string', arg);
    });
    args = [...args];
  }
  return [args, checkOptionsOf(options)];
}
