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

export interface AttemptOptions {
  readonly timeout: number | undefined;
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
    const timer = options.timeout === undefined ? undefined : setTimeout(() => ((timedOut = true), stop()), options.timeout);
    const onAbort = (): void => stop();
    if (options.signal.aborted) stop();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    child.once('exit', () => {
      exited = true;
      if (killed) closeOutput();
    });
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearTimeout(grace);
      options.signal.removeEventListener('abort', onAbort);
      unthrottle?.();
      live.delete(child);
      if (live.size === 0) process.off('exit', killLive);
      resolve({ exitCode, signal, timedOut, startedAt, durationMs: performance.now() - started });
    });
  });
}
