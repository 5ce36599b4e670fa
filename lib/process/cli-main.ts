/// <reference types="node" />
/** `taskpool`: runs a command over many inputs, several at a time. */
import { readFileSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CancelledError, TaskPoolExecutor } from '../index.js';
import { FifoQueue } from '../internal/queue.js';
import { commandFor, parseArguments, usage, UsageError, type CliOptions } from './cli-options.js';
import { formatProgress, formatSummary, ProgressLine, type Tally } from './cli-progress.js';
import { describeFailure, formatCommand } from './process-error.js';
import { runProcess, type ProcessResult } from './run-process.js';

/** The signals that stop a run: no new job starts, running ones are terminated. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** What `taskpool` talks to: the process's streams and signals, or stand-ins. */
export interface CliIO {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Calls `handler` on SIGINT, SIGTERM and SIGHUP; returns what stops that. */
  onSignal(handler: (signal: StopSignal) => void): () => void;
  /** The package version. */
  version(): string;
  /** `--jobs` when not given. */
  readonly defaultJobs: number;
}

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The version of the `taskpool` package this file belongs to: the nearest package.json of that name above it. */
export function packageVersion(from: string): string {
  let dir = dirname(from);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'taskpool' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no readable package.json here: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** The real process's streams, signals and package version. */
export function nodeIO(): CliIO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onSignal(handler) {
      for (const signal of STOP_SIGNALS) process.on(signal, handler);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, handler);
      };
    },
    version: () => packageVersion(fileURLToPath(import.meta.url)),
    defaultJobs: availableParallelism(),
  };
}

/** One input and its position (1-based). */
interface Job {
  readonly seq: number;
  readonly input: string;
}

interface JobOutcome {
  readonly job: Job;
  readonly status: 'succeeded' | 'failed' | 'interrupted' | 'skipped';
  readonly attempts: number;
  /** The last attempt's result, when the command ran. */
  readonly result?: ProcessResult;
  /** Why the command could not start. */
  readonly error?: string;
}

/** Inputs as they arrive (from stdin or `:::`), read by the pool's `map` as an async iterable. */
class InputQueue implements AsyncIterable<Job> {
  readonly #items = new FifoQueue<Job>();
  #ended = false;
  #wake: (() => void) | undefined;
  /** Inputs received so far. */
  count = 0;

  /** `true` once every input has arrived (and none will be added). */
  get ended(): boolean {
    return this.#ended;
  }

  push(input: string): void {
    if (this.#ended) return;
    this.count++;
    this.#items.push({ seq: this.count, input });
    this.#wakeUp();
  }

  /** No more inputs: those queued are still handed out. */
  end(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  /** Stops handing out inputs: those queued are dropped (they count as not started). */
  close(): void {
    this.#ended = true;
    this.#items.drain();
    this.#wakeUp();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Job, undefined> {
    for (;;) {
      const job = this.#items.shift();
      if (job !== undefined) {
        yield job;
      } else if (this.#ended) {
        return undefined;
      } else {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function isSuccess(result: ProcessResult | undefined): boolean {
  return result !== undefined && result.exitCode === 0 && !result.timedOut;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One run of `taskpool` over its inputs. */
class Runner {
  readonly #options: CliOptions;
  readonly #io: CliIO;
  readonly #tally: Tally = { total: undefined, running: 0, succeeded: 0, failed: 0, interrupted: 0 };
  readonly #inputs = new InputQueue();
  readonly #stop = new AbortController();
  readonly #progress: ProgressLine | undefined;
  readonly #startedAt = performance.now();
  /** Why no new job starts, once something stops the run. */
  #stopped: { readonly reason: string; readonly exitCode: number } | undefined;
  #inputError: string | undefined;
  #stdoutBroken = false;

  constructor(options: CliOptions, io: CliIO) {
    this.#options = options;
    this.#io = io;
    if (io.stderr.isTTY === true) {
      this.#progress = new ProgressLine(io.stderr, () => formatProgress(this.#tally, performance.now() - this.#startedAt));
    }
  }

  async run(): Promise<number> {
    const { jobs, keepOrder } = this.#options;
    const removeSignalHandler = this.#io.onSignal(this.#onSignal);
    this.#io.stdout.on('error', this.#onStdoutError);
    const stopReading = this.#readInputs();
    const pool = new TaskPoolExecutor({ maxWorkers: jobs, name: 'taskpool' });
    try {
      this.#draw();
      // A buffer a few times the number of jobs lets fast jobs run on while, with
      // --keep-order, a slow one holds the output back.
      for await (const outcome of pool.map(this.#runJob, this.#inputs, { bufferSize: jobs * 4, ordered: keepOrder })) this.#report(outcome);
    } finally {
      this.#progress?.stop();
      removeSignalHandler();
      this.#io.stdout.off('error', this.#onStdoutError);
      stopReading();
      await pool.shutdown();
    }
    const stoppedBy = this.#stopped?.reason ?? (this.#inputError === undefined ? undefined : `cannot read inputs: ${this.#inputError}`);
    this.#io.stderr.write(`${formatSummary(this.#tally, this.#inputs.count, performance.now() - this.#startedAt, stoppedBy)}\n`);
    if (this.#stopped !== undefined) return this.#stopped.exitCode;
    return this.#tally.failed > 0 || this.#inputError !== undefined ? 1 : 0;
  }

  /** Queues the inputs: those given after `:::`, or stdin's lines. Returns what stops reading. */
  #readInputs(): () => void {
    const given = this.#options.inputs;
    if (given !== undefined) {
      for (const input of given) this.#inputs.push(input);
      this.#inputEnded();
      return () => {};
    }
    const { stdin } = this.#io;
    if (stdin.isTTY === true) this.#io.stderr.write('taskpool: reading inputs from the terminal, one per line (end with Ctrl-D)\n');
    const lines = createInterface({ input: stdin, crlfDelay: Infinity, terminal: false });
    lines.on('line', (line: string) => {
      if (line !== '') this.#inputs.push(line);
    });
    lines.on('close', () => this.#inputEnded());
    const onError = (error: unknown): void => {
      this.#inputError = errorMessage(error);
      this.#inputEnded();
    };
    lines.on('error', onError); // readline passes on stdin's errors
    return () => {
      lines.close();
      lines.off('error', onError);
      (stdin as { destroy?: () => void }).destroy?.();
    };
  }

  #inputEnded(): void {
    if (this.#inputs.ended) return;
    this.#inputs.end();
    if (this.#stopped === undefined) this.#tally.total = this.#inputs.count;
    this.#draw();
  }

  readonly #runJob = async (job: Job): Promise<JobOutcome> => {
    if (this.#stopped !== undefined) return { job, status: 'skipped', attempts: 0 };
    const [command, ...args] = commandFor(this.#options.command, job.input) as [string, ...string[]];
    const { signal } = this.#stop;
    this.#tally.running++;
    this.#draw();
    let attempts = 0;
    let result: ProcessResult | undefined;
    let error: string | undefined;
    let status: JobOutcome['status'];
    for (;;) {
      attempts++;
      try {
        result = await runProcess(command, args, { timeout: this.#options.timeout, signal, reject: false, maxOutput: Infinity });
        error = undefined;
      } catch (thrown) {
        result = undefined;
        error = errorMessage(thrown);
      }
      if (signal.aborted) {
        status = 'interrupted';
        break;
      }
      if (isSuccess(result)) {
        status = 'succeeded';
        break;
      }
      if (attempts > this.#options.retries || this.#stopped !== undefined) {
        status = 'failed';
        break;
      }
    }
    this.#tally.running--;
    this.#tally[status]++;
    if (status === 'failed' && this.#options.haltOnError) this.#stopRun('halted after a failure', 1);
    this.#draw();
    return result === undefined ? { job, status, attempts, error: error! } : { job, status, attempts, result };
  };

  /** Prints one job's outcome, in one piece. */
  #report(outcome: JobOutcome): void {
    const { job, status, attempts, result, error } = outcome;
    if (status === 'skipped') return;
    if (this.#options.json) {
      const record = {
        seq: job.seq,
        input: job.input,
        exitCode: result?.exitCode ?? null,
        signal: result?.signal ?? null,
        timedOut: result?.timedOut ?? false,
        durationMs: result === undefined ? null : Math.round(result.durationMs),
        attempts,
        stdout: result?.stdout ?? '',
        stderr: result?.stderr ?? '',
        error: status === 'interrupted' ? 'interrupted' : (error ?? null),
      };
      this.#write(this.#io.stdout, `${JSON.stringify(record)}\n`);
    } else if (result !== undefined) {
      this.#write(this.#io.stdout, result.stdout);
      this.#write(this.#io.stderr, result.stderr);
    }
    if (status === 'failed' && !this.#options.json) {
      const [command, ...args] = commandFor(this.#options.command, job.input) as [string, ...string[]];
      const line = formatCommand(command, args);
      const why = result === undefined ? `could not start (${error})` : describeFailure(result, this.#options.timeout);
      const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
      this.#write(this.#io.stderr, `taskpool: job ${job.seq} ${why}${tries}: ${line}\n`);
    }
    this.#draw();
  }

  #write(stream: NodeJS.WritableStream, text: string): void {
    if (text === '' || (stream === this.#io.stdout && this.#stdoutBroken)) return;
    this.#progress?.clear();
    stream.write(text);
  }

  #draw(): void {
    this.#progress?.update();
  }

  /** Starts nothing more; with `terminate`, stops the running children too. */
  #stopRun(reason: string, exitCode: number, terminate = false): void {
    if (this.#stopped === undefined) {
      this.#stopped = { reason, exitCode };
      this.#inputs.close();
    }
    if (terminate && !this.#stop.signal.aborted) this.#stop.abort(new CancelledError(`taskpool was ${reason}`));
  }

  readonly #onSignal = (signal: StopSignal): void => {
    this.#stopRun(`interrupted by ${signal}`, 128 + constants.signals[signal], true);
  };

  readonly #onStdoutError = (error: NodeJS.ErrnoException): void => {
    this.#stdoutBroken = true;
    this.#stopRun(`cannot write output: ${error.code ?? error.message}`, 1, true);
  };
}

/**
 * Runs `taskpool` with `argv` (the arguments after the script) and resolves to its exit
 * status: 0 every job succeeded, 1 some failed, 2 bad usage, 128 + n when stopped by signal n.
 */
export async function main(argv: readonly string[], io: CliIO = nodeIO()): Promise<number> {
  let request;
  try {
    request = parseArguments(argv, io.defaultJobs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`taskpool: ${error.message}\n\n${usage(io.defaultJobs)}`);
    return 2;
  }
  if (request.kind === 'help') {
    io.stdout.write(usage(io.defaultJobs));
    return 0;
  }
  if (request.kind === 'version') {
    io.stdout.write(`taskpool ${io.version()}\n`);
    return 0;
  }
  return new Runner(request.options, io).run();
}
