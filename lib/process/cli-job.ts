/// <reference types="node" />
/**
 * One attempt of one `taskpool` job: the child leads a process group of its own, its output
 * goes as bytes to the given sinks, a timeout or a stop signals the whole group (SIGTERM,
 * then SIGKILL after a grace period), and the attempt ends once the child has exited and its
 * output has closed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import process from 'node:process';

/** Milliseconds between SIGTERM and SIGKILL. */
export const GRACE_PERIOD = 2_000;

/** How an attempt ended. */
export interface AttemptResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** Epoch milliseconds at the start. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Why the command could not start, when it could not. */
  readonly error?: NodeJS.ErrnoException;
}

/** A time limit that follows the run (`--timeout N%`): `current()` milliseconds, `undefined` while there is none; `onChange` hears when it changes. */
export interface TimeLimit {
  current(): number | undefined;
  onChange(listener: () => void): () => void;
}

/** An attempt's time limit: milliseconds, one that follows the run, or none. */
export type Timeout = number | TimeLimit | undefined;

/** Calls `expire` once an attempt started at `started` (`performance.now()`) has run past `timeout`; returns what cancels that. */
export function armTimeout(timeout: Timeout, started: number, expire: () => void): () => void {
  if (timeout === undefined) return () => {};
  if (typeof timeout === 'number') {
    const timer = setTimeout(expire, timeout);
    return () => clearTimeout(timer);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    const limit = timeout.current();
    if (limit === undefined) return;
    timer = setTimeout(() => {
      cancel();
      expire();
    }, Math.max(0, started + limit - performance.now()));
  };
  const stopListening = timeout.onChange(arm);
  const cancel = (): void => {
    stopListening();
    clearTimeout(timer);
  };
  arm();
  return cancel;
}

/** The lower median of `values`. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1]!;
}

/**
 * `--timeout N%`, as GNU parallel: N% of the median run time of the jobs that succeeded, none
 * before one has. The median is a remedian (the median of medians of blocks of 999), as GNU
 * parallel's, so that memory stays bounded however many jobs run.
 */
export class MedianLimit implements TimeLimit {
  readonly #fraction: number;
  readonly #levels: [number[], number[], number[]] = [[], [], []];
  readonly #listeners = new Set<() => void>();
  #count = 0;
  #median: number | undefined;

  constructor(percent: number) {
    this.#fraction = percent / 100;
  }

  /** Counts the run time of a job that succeeded. */
  add(milliseconds: number): void {
    const index = this.#count++;
    const [first, second, third] = this.#levels;
    first[index % 999] = milliseconds;
    second[Math.floor(index / 999) % 999] = median(first);
    third[Math.floor(index / 999 / 999) % 999] = median(second);
    this.#median = median(third);
    for (const listener of this.#listeners) listener();
  }

  current(): number | undefined {
    return this.#median === undefined ? undefined : this.#median * this.#fraction;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export interface AttemptOptions {
  readonly timeout: Timeout;
  /** Aborts to stop the attempt (Ctrl-C, `--halt now`). */
  readonly signal: AbortSignal;
  readonly stdout: (chunk: Buffer) => void;
  readonly stderr: (chunk: Buffer) => void;
  /** Called with a function that pauses (`true`) or resumes (`false`) reading the child's output. */
  readonly throttle?: (pause: (paused: boolean) => void) => () => void;
}

const live = new Set<ChildProcess>();

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // ESRCH: the whole group has exited.
  }
}

/** On exit, SIGKILL every group still running: no job outlives `taskpool`. */
function killLive(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
}

/** Runs one attempt of `argv`. Never rejects: a command that cannot start gives `error`. */
export function runAttempt(argv: readonly string[], options: AttemptOptions): Promise<AttemptResult> {
  const startedAt = Date.now();
  const started = performance.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    const failed = (error: NodeJS.ErrnoException): void =>
      resolve({ exitCode: null, signal: null, timedOut: false, startedAt, durationMs: performance.now() - started, error });
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      failed(error as NodeJS.ErrnoException); // an argument with a NUL byte, for one
      return;
    }
    if (child.pid === undefined) {
      child.once('error', failed);
      return;
    }
    child.on('error', () => {}); // after a start, only a failed kill: nothing to do
    if (live.size === 0) process.on('exit', killLive);
    live.add(child);
    child.stdout!.on('data', options.stdout);
    child.stderr!.on('data', options.stderr);
    const unthrottle = options.throttle?.((paused) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        if (paused) stream.pause();
        else stream.resume();
      }
    });
    let timedOut = false;
    let exited = false;
    let killed = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const stop = (): void => {
      if (grace !== undefined) return;
      signalGroup(child, 'SIGTERM');
      grace = setTimeout(() => {
        killed = true;
        signalGroup(child, 'SIGKILL');
        if (exited) closeOutput();
      }, GRACE_PERIOD);
      grace.unref();
    };
    const closeOutput = (): void => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    };
    const cancelTimeout = armTimeout(options.timeout, started, () => ((timedOut = true), stop()));
    const onAbort = (): void => stop();
    if (options.signal.aborted) stop();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    child.once('exit', () => {
      exited = true;
      if (killed) closeOutput();
    });
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      cancelTimeout();
      clearTimeout(grace);
      options.signal.removeEventListener('abort', onAbort);
      unthrottle?.();
      live.delete(child);
      if (live.size === 0) process.off('exit', killLive);
      resolve({ exitCode, signal, timedOut, startedAt, durationMs: performance.now() - started });
    });
  });
}
