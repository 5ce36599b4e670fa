/// <reference types="node" />
/** `taskpool`: runs a command over many inputs, several at a time. */
import { setMaxListeners } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { CancelledError, TaskPoolExecutor } from '../index.js';
import { jobInputs, opener, InvalidInput, type Input, type Opener } from './cli-inputs.js';
import { MedianLimit, runAttempt, type AttemptResult, type Timeout } from './cli-job.js';
import { Launcher } from './cli-launcher.js';
import { parseArguments, usage, UsageError, type CliOptions } from './cli-options.js';
import { LineCutter, LineOrder, Output, Spool, Tagger, type LineTurn } from './cli-output.js';
import { CommandTemplate } from './cli-placeholders.js';
import { formatBar, formatProgress, formatSummary, ProgressLine, type Tally } from './cli-progress.js';

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
  /** Where output waits (default: the system's temporary directory). */
  readonly tmpdir?: string;
  /**
   * The command-line arguments whose bytes are not UTF-8 (Node.js has replaced those bytes
   * with U+FFFD), each with its bytes: a `:::` input among them is not run.
   */
  readonly invalidArgs?: ReadonlyMap<string, InvalidInput>;
  /** Start jobs with Node.js's own spawn, output through pipes, rather than through one `/bin/sh` (as where there is none). */
  readonly directSpawn?: boolean;
}

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Exit status of a usage error or an error of taskpool itself, as GNU parallel. */
export const USAGE_EXIT = 255;
/** The most bytes of each stream put in a `--json` record. */
const JSON_OUTPUT_LIMIT = 64 << 20;

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
    invalidArgs: invalidArguments(),
  };
}

/** The arguments of this process that are not UTF-8, from `/proc/self/cmdline` where there is one. */
export function invalidArguments(argv: readonly string[] = process.argv, cmdline = '/proc/self/cmdline'): Map<string, InvalidInput> {
  const invalid = new Map<string, InvalidInput>();
  if (!argv.some((arg) => arg.includes('\uFFFD'))) return invalid;
  let raw: Buffer;
  try {
    raw = readFileSync(cmdline);
  } catch {
    return invalid;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(0, start);
    if (end === -1) end = raw.length;
    const bytes = raw.subarray(start, end);
    try {
      decoder.decode(bytes);
    } catch {
      invalid.set(bytes.toString('utf8'), new InvalidInput(Buffer.from(bytes)));
    }
    start = end + 1;
  }
  return invalid;
}

/** One job: its number (from 1) and inputs. */
interface Job {
  readonly seq: number;
  readonly inputs: readonly Input[];
}

interface JobOutcome {
  readonly job: Job;
  readonly status: 'succeeded' | 'failed' | 'interrupted' | 'skipped' | 'dry-run';
  readonly attempts: number;
  /** The command line, for messages and the job log. */
  readonly display: string;
  /** The last attempt, when the command ran. */
  readonly result?: AttemptResult;
  readonly stdout?: Spool;
  readonly stderr?: Spool;
  /** Why the job could not run. */
  readonly error?: string;
}

function isSuccess(result: AttemptResult): boolean {
  return result.error === undefined && result.exitCode === 0 && !result.timedOut;
}

/**
 * GNU parallel's exit value of a job (the job log's Exitval): its exit code, 127/126 when it
 * could not start, -1 when it timed out or was not run, 0 when a signal killed it (the signal
 * goes in the next column).
 */
function exitValue(outcome: JobOutcome): number {
  const { result } = outcome;
  if (result === undefined || result.timedOut) return -1;
  if (result.error !== undefined) return result.error.code === 'ENOENT' ? 127 : 126;
  if (result.signal !== null) return 0;
  return result.exitCode ?? -1;
}

/** The exit status of `--halt ...,fail=1` for the job that failed, as GNU parallel: its exit value, or 128 + n when signal n killed it. */
function haltStatus(outcome: JobOutcome): number {
  const { result } = outcome;
  if (result !== undefined && !result.timedOut && result.error === undefined && result.signal !== null) return 128 + signalNumber(result.signal);
  return exitValue(outcome);
}

function signalNumber(signal: NodeJS.Signals | null | undefined): number {
  return signal == null ? 0 : constants.signals[signal];
}

/** What happened to a job that did not succeed, as a predicate. */
function describeFailure(outcome: JobOutcome, timeout: CliOptions['timeout'], command: string | undefined): string {
  const { result, error } = outcome;
  if (result === undefined) return `was not run: ${error!}`;
  if (result.error !== undefined) {
    const hint =
      command !== undefined && result.error.code === 'ENOENT' && /[\s;|&<>$`'"*?()]/.test(command)
        ? `; '${command}' looks like a shell command line: to run it through /bin/sh, as GNU parallel does, add --shell`
        : '';
    return `could not start (${result.error.message})${hint}`;
  }
  if (result.timedOut) {
    const limit = typeof timeout === 'object' ? `${Math.round(result.durationMs)} ms, over --timeout ${timeout.percent}% of the median run time of the jobs that succeeded` : `${timeout} ms`;
    return `timed out after ${limit}${result.signal === null ? '' : ` (stopped with ${result.signal})`}`;
  }
  if (result.signal !== null) return `was killed by signal ${result.signal}`;
  return `failed with exit code ${result.exitCode}`;
}

/** The job log's sequence numbers to skip with `--resume` (all) or `--resume-failed` (those that succeeded). */
function resumeFrom(path: string, mode: 'all' | 'failed'): Set<number> {
  const skip = new Set<number>();
  if (!existsSync(path)) return skip;
  for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
    const columns = line.split('\t');
    if (columns.length < 9) continue;
    const succeeded = columns[6] === '0' && columns[7] === '0';
    if (mode === 'all' || succeeded) skip.add(Number(columns[0]));
  }
  return skip;
}

/** The number of jobs when it is known at once (every combination of the ::: groups, or -n at a time), else `undefined`. */
function knownJobs({ sources, resume, maxArgs }: CliOptions): number | undefined {
  if (sources.length === 0 || resume !== 'no' || !sources.every((source) => source.kind === 'values')) return undefined;
  const counts = sources.map((source) => (source as { values: readonly string[] }).values.length);
  return maxArgs > 1 ? Math.ceil(counts[0]! / maxArgs) : counts.reduce((a, b) => a * b, 1);
}

/** One run of `taskpool` over its inputs. */
class Runner {
  readonly #options: CliOptions;
  readonly #io: CliIO;
  readonly #template: CommandTemplate;
  readonly #tally: Tally = { total: undefined, running: 0, succeeded: 0, failed: 0, interrupted: 0 };
  readonly #stop = new AbortController();
  readonly #output = new Output();
  readonly #progress: ProgressLine | undefined;
  readonly #startedAt = performance.now();
  readonly #slots: boolean[];
  readonly #open: Opener;
  #read = 0;
  #skip = new Set<number>();
  #joblog: number | undefined;
  /** Why no new job starts, once something stops the run. */
  #stopped: { readonly reason: string; readonly exitCode: number } | undefined;
  #inputError: string | undefined;
  #stopReading: (() => void) | undefined;
  /** Starts jobs through one shell, unless output goes out line by line (`--line-buffer`) or there is no `/bin/sh`. */
  readonly #launcher: Launcher | undefined;
  /** Each attempt's time limit: `--timeout`'s milliseconds, or one that follows the median run time (`--timeout N%`). */
  readonly #timeout: Timeout;
  readonly #medianLimit: MedianLimit | undefined;
  /** With `--line-buffer --keep-order`: whose lines go out now. */
  readonly #lineOrder: LineOrder | undefined;

  constructor(options: CliOptions, io: CliIO) {
    this.#options = options;
    this.#io = io;
    this.#template = new CommandTemplate(options.command, options.shell);
    this.#slots = Array.from({ length: options.jobs }, () => false);
    setMaxListeners(0, this.#stop.signal); // one listener per running job
    this.#open = opener(io.stdin as AsyncIterable<Buffer>);
    if (options.lineBuffer && options.keepOrder) this.#lineOrder = new LineOrder();
    if (typeof options.timeout === 'object') this.#timeout = this.#medianLimit = new MedianLimit(options.timeout.percent);
    else this.#timeout = options.timeout;
    const groups = options.timeout !== undefined;
    if (!options.lineBuffer && !options.dryRun && io.directSpawn !== true && Launcher.available(groups)) {
      this.#launcher = new Launcher(groups, io.tmpdir ?? tmpdir(), Math.max(1, Math.min(options.jobs, knownJobs(options) ?? Infinity)));
    }
    const mode = options.progress === 'auto' ? (io.stderr.isTTY === true && !options.quiet && !options.dryRun ? 'line' : 'none') : options.progress;
    if (mode !== 'none') {
      const format = mode === 'bar' ? formatBar : formatProgress;
      this.#progress = new ProgressLine(io.stderr, () => format(this.#tally, performance.now() - this.#startedAt));
    }
  }

  async run(): Promise<number> {
    const { jobs, keepOrder, joblog, resume } = this.#options;
    for (const source of this.#options.sources) {
      if (source.kind === 'file' && source.path !== '-' && !isReadableFile(source.path)) {
        this.#io.stderr.write(`taskpool: cannot read input file '${source.path}'\n`);
        return USAGE_EXIT;
      }
    }
    if (joblog !== undefined && !this.#options.dryRun) {
      try {
        if (resume !== 'no') this.#skip = resumeFrom(joblog, resume);
        const fresh = resume === 'no' || !existsSync(joblog) || statSync(joblog).size === 0;
        this.#joblog = openSync(joblog, fresh ? 'w' : 'a');
        if (fresh) writeSync(this.#joblog, 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n');
      } catch (error) {
        this.#io.stderr.write(`taskpool: cannot write the job log '${joblog}': ${(error as Error).message}\n`);
        return USAGE_EXIT;
      }
    }
    const removeSignalHandler = this.#io.onSignal(this.#onSignal);
    this.#io.stdout.on('error', this.#onStdoutError);
    const pool = new TaskPoolExecutor({ maxWorkers: jobs, name: 'taskpool' });
    const { sources } = this.#options;
    if (this.#io.stdin.isTTY === true && (sources.length === 0 || sources.some((source) => source.kind === 'file' && source.path === '-'))) {
      this.#io.stderr.write('taskpool: reading inputs from the terminal, one per line (end with Ctrl-D)\n');
    }
    this.#tally.total = knownJobs(this.#options);
    try {
      // The shells that start jobs start while the first inputs are read.
      if (this.#tally.total !== 0) this.#launcher?.start();
      this.#draw();
      // A buffer a few times the number of jobs lets fast jobs run on while, with
      // --keep-order, a slow one holds the output back; printing waits for the reader.
      const outcomes = pool.map(this.#runJob, this.#jobs(), { bufferSize: jobs * 2, ordered: keepOrder });
      for await (const outcome of outcomes) await this.#print(outcome);
    } finally {
      this.#progress?.stop();
      removeSignalHandler();
      this.#stopReading?.();
      await pool.shutdown();
      await this.#launcher?.close();
      if (this.#joblog !== undefined) closeSync(this.#joblog);
    }
    const stoppedBy = this.#stopped?.reason ?? (this.#inputError === undefined ? undefined : `cannot read inputs: ${this.#inputError}`);
    if (!this.#options.quiet && !this.#options.dryRun) {
      const jobs = Math.max(this.#read, this.#tally.total ?? 0);
      this.#io.stderr.write(`${formatSummary(this.#tally, jobs, performance.now() - this.#startedAt, stoppedBy)}\n`);
    }
    this.#io.stdout.off('error', this.#onStdoutError);
    if (this.#stopped !== undefined) return this.#stopped.exitCode;
    if (this.#inputError !== undefined) return USAGE_EXIT;
    return Math.min(this.#tally.failed, 101);
  }

  /** The jobs, read only as they are needed, and not while output waits for its reader. */
  async *#jobs(): AsyncGenerator<Job, undefined> {
    const inputs = jobInputs(this.#options, this.#open);
    const stopped = new Promise<IteratorReturnResult<undefined>>((resolve) => {
      this.#stopReading = () => {
        resolve({ done: true, value: undefined });
        (this.#io.stdin as { destroy?: () => void }).destroy?.();
      };
    });
    let seq = 0;
    try {
      for (;;) {
        if (this.#stopped !== undefined) break;
        const next = await Promise.race([inputs.next(), stopped]);
        if (next.done === true || this.#stopped !== undefined) break;
        seq++;
        if (this.#skip.has(seq)) continue;
        this.#read++;
        while (this.#output.behind) {
          await new Promise<void>((resolve) => {
            const off = this.#output.onChange(() => {
              off();
              resolve();
            });
          });
        }
        yield { seq, inputs: next.value };
      }
    } catch (error) {
      this.#inputError = (error as Error).message;
    } finally {
      if (this.#stopped === undefined) this.#tally.total = this.#read;
      void inputs.return(undefined).catch(() => {});
      this.#draw();
    }
    return undefined;
  }

  readonly #runJob = async (job: Job): Promise<JobOutcome> => {
    if (this.#stopped !== undefined) return { job, status: 'skipped', attempts: 0, display: '' };
    const invalid = job.inputs
      .map((input) => (typeof input === 'string' && input.includes('\uFFFD') ? (this.#io.invalidArgs?.get(input) ?? input) : input))
      .find((input) => input instanceof InvalidInput);
    const slot = this.#slots.indexOf(false);
    const values = { inputs: job.inputs.map(String), seq: job.seq, slot: slot + 1 };
    const display = this.#template.display(values);
    if (this.#options.dryRun) return { job, status: 'dry-run', attempts: 0, display };
    if (invalid !== undefined) {
      this.#tally.failed++;
      this.#afterJob();
      return {
        job,
        status: 'failed',
        attempts: 0,
        display,
        error: `input '${String(invalid)}' is not valid UTF-8, and Node.js cannot pass such bytes as an argument`,
      };
    }
    this.#slots[slot] = true;
    const turn = this.#lineOrder?.take(this.#io.tmpdir ?? tmpdir());
    try {
      return await this.#runAttempts(job, slot, values, display, turn);
    } finally {
      if (turn !== undefined) this.#lineOrder!.end(turn, this.#writeNow);
    }
  };

  /** Runs a job's attempts (up to --retries) and counts the outcome. */
  async #runAttempts(job: Job, slot: number, values: { inputs: string[]; seq: number; slot: number }, display: string, turn: LineTurn | undefined): Promise<JobOutcome> {
    const argv = this.#template.argv(values);
    const { signal } = this.#stop;
    this.#tally.running++;
    this.#draw();
    let attempts = 0;
    let result: AttemptResult;
    let stdout: Spool | undefined;
    let stderr: Spool | undefined;
    let status: JobOutcome['status'];
    for (;;) {
      attempts++;
      stdout?.dispose();
      stderr?.dispose();
      if (this.#launcher !== undefined) {
        const launched = await this.#launcher.run(argv, this.#timeout, signal);
        result = launched;
        stdout = launched.stdoutFile === undefined ? new Spool() : Spool.adopt(launched.stdoutFile);
        stderr = launched.stderrFile === undefined ? new Spool() : Spool.adopt(launched.stderrFile);
      } else {
        stdout = new Spool(this.#io.tmpdir ?? tmpdir());
        stderr = new Spool(this.#io.tmpdir ?? tmpdir());
        result = await this.#spawn(argv, values.inputs, stdout, stderr, signal, turn);
      }
      if (signal.aborted) status = 'interrupted';
      else if (isSuccess(result)) status = 'succeeded';
      else if (attempts >= this.#options.retries || this.#stopped !== undefined) status = 'failed';
      else continue;
      break;
    }
    this.#slots[slot] = false;
    this.#tally.running--;
    this.#tally[status]++;
    if (status === 'succeeded') this.#medianLimit?.add(result.durationMs);
    this.#afterJob(status === 'failed' ? haltStatus({ job, status, attempts, display, result }) : undefined);
    return { job, status, attempts, display, result, stdout, stderr };
  }

  /** Writes a chunk out now, at the pace the stream is read (its backpressure stops reading the children). */
  readonly #writeNow = (stream: NodeJS.WritableStream, chunk: Buffer): void => {
    this.#progress?.clear();
    void this.#output.write(stream, chunk);
  };

  /** Runs one attempt with Node.js's own spawn, output through pipes (read only while stdout keeps up). */
  async #spawn(argv: readonly string[], inputs: readonly string[], stdout: Spool, stderr: Spool, signal: AbortSignal, turn: LineTurn | undefined): Promise<AttemptResult> {
    const sinks = this.#options.lineBuffer ? this.#lineSinks(inputs, stdout, stderr, turn) : undefined;
    const result = await runAttempt(argv, {
      timeout: this.#timeout,
      signal,
      stdout: sinks?.stdout ?? stdout.write,
      stderr: sinks?.stderr ?? stderr.write,
      throttle: (pause) => {
        if (this.#output.behind) pause(true);
        return this.#output.onChange(pause);
      },
    });
    sinks?.end();
    return result;
  }

  /** For `--line-buffer`: whole lines go out as they come (tagged with `--tag`); the byte count goes to the spool's size. */
  #lineSinks(
    inputs: readonly string[],
    stdout: Spool,
    stderr: Spool,
    turn: LineTurn | undefined,
  ): { stdout: (chunk: Buffer) => void; stderr: (chunk: Buffer) => void; end(): void } {
    const make = (stream: NodeJS.WritableStream, spool: Spool): { sink: (chunk: Buffer) => void; end(): void } => {
      const cutter = new LineCutter();
      const tagger = this.#options.tag ? new Tagger(`${inputs.join(' ')}\t`) : undefined;
      const emit = (lines: Buffer | undefined): void => {
        if (lines === undefined) return;
        const tagged = tagger?.tag(lines) ?? lines;
        if (turn === undefined) this.#writeNow(stream, tagged);
        else turn.emit(stream, tagged, this.#writeNow);
      };
      return {
        sink: (chunk) => {
          spool.size += chunk.length;
          emit(cutter.push(chunk));
        },
        end: () => emit(cutter.end()),
      };
    };
    const out = make(this.#io.stdout, stdout);
    const err = make(this.#io.stderr, stderr);
    return { stdout: out.sink, stderr: err.sink, end: () => (out.end(), err.end()) };
  }

  /** Checks `--halt` after a job has finished. */
  #afterJob(failedExit?: number): void {
    this.#draw();
    const halt = this.#options.halt;
    if (halt === undefined || this.#stopped !== undefined) return;
    const tally = this.#tally;
    const done = tally.succeeded + tally.failed;
    const count = halt.why === 'fail' ? tally.failed : halt.why === 'success' ? tally.succeeded : done;
    const reached = halt.percent ? done > 0 && (count * 100) / done >= halt.count : count >= halt.count;
    if (!reached) return;
    let exitCode: number;
    if (halt.why === 'success') exitCode = 0;
    else if (halt.why === 'fail' && !halt.percent && halt.count === 1 && failedExit !== undefined) exitCode = failedExit <= 0 ? 1 : failedExit;
    else if (halt.percent) exitCode = Math.round((tally.failed * 100) / Math.max(1, done));
    else exitCode = Math.min(tally.failed, 101);
    const what = halt.why === 'fail' ? 'failed' : halt.why === 'success' ? 'succeeded' : 'finished';
    this.#stopRun(`halted: ${halt.percent ? `${halt.count}%` : halt.count} ${halt.count === 1 && !halt.percent ? 'job' : 'jobs'} ${what}`, exitCode, halt.when === 'now');
  }

  /** Prints one job's outcome (its output in one piece), at the pace stdout is read. */
  async #print(outcome: JobOutcome): Promise<void> {
    const { job, status, attempts, result, stdout, stderr, error } = outcome;
    const io = this.#io;
    try {
      if (status === 'skipped') return;
      if (status === 'dry-run') {
        await this.#write(io.stdout, `${outcome.display}\n`);
        return;
      }
      if (this.#options.json) {
        const out = stdout?.text(JSON_OUTPUT_LIMIT);
        const err = stderr?.text(JSON_OUTPUT_LIMIT);
        const record = {
          seq: job.seq,
          input: job.inputs.length === 1 ? String(job.inputs[0]) : job.inputs.map(String),
          command: outcome.display,
          exitCode: result?.exitCode ?? null,
          signal: result?.signal ?? null,
          timedOut: result?.timedOut ?? false,
          durationMs: result === undefined || result.error !== undefined ? null : Math.round(result.durationMs),
          attempts,
          stdout: out?.text ?? '',
          stderr: err?.text ?? '',
          ...(out?.truncated === true || err?.truncated === true ? { stdoutTruncated: out?.truncated === true, stderrTruncated: err?.truncated === true } : {}),
          error: status === 'interrupted' ? 'interrupted' : (result?.error?.message ?? error ?? null),
        };
        await this.#write(io.stdout, `${JSON.stringify(record)}\n`);
      } else if (!this.#options.lineBuffer) {
        const tag = this.#options.tag ? `${job.inputs.map(String).join(' ')}\t` : undefined;
        for (const [spool, stream] of [
          [stdout, io.stdout],
          [stderr, io.stderr],
        ] as const) {
          if (spool === undefined) continue;
          const tagger = tag === undefined ? undefined : new Tagger(tag);
          for (const chunk of spool.chunks()) await this.#write(stream, tagger?.tag(chunk) ?? chunk);
        }
      }
      if (status === 'failed' && !this.#options.json) {
        const why = describeFailure(outcome, this.#options.timeout, this.#options.shell ? undefined : this.#options.command[0]);
        const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
        await this.#write(io.stderr, `taskpool: job ${job.seq} ${why}${tries}: ${outcome.display.length > 200 ? `${outcome.display.slice(0, 199)}…` : outcome.display}\n`);
      }
      if (this.#joblog !== undefined && status !== 'interrupted') {
        const start = ((result?.startedAt ?? Date.now()) / 1000).toFixed(3);
        const runtime = ((result?.durationMs ?? 0) / 1000).toFixed(3).padStart(10);
        const line = `${job.seq}\t:\t${start}\t${runtime}\t0\t${stdout?.size ?? 0}\t${exitValue(outcome)}\t${signalNumber(result?.signal)}\t${outcome.display.replaceAll('\n', ' ')}\n`;
        writeSync(this.#joblog, line);
      }
    } finally {
      stdout?.dispose();
      stderr?.dispose();
      this.#draw();
    }
  }

  async #write(stream: NodeJS.WritableStream, chunk: Buffer | string): Promise<void> {
    this.#progress?.clear();
    await this.#output.write(stream, chunk);
  }

  #draw(): void {
    this.#progress?.update();
  }

  /** Starts nothing more; with `terminate`, stops the running children too. */
  #stopRun(reason: string, exitCode: number, terminate = false): void {
    if (this.#stopped === undefined) {
      this.#stopped = { reason, exitCode };
      this.#stopReading?.();
    }
    if (terminate && !this.#stop.signal.aborted) this.#stop.abort(new CancelledError(`taskpool was ${reason}`));
  }

  readonly #onSignal = (signal: StopSignal): void => {
    this.#stopRun(`interrupted by ${signal}`, 128 + constants.signals[signal], true);
  };

  readonly #onStdoutError = (error: NodeJS.ErrnoException): void => {
    this.#output.broken(this.#io.stdout);
    this.#stopRun(`cannot write output: ${error.code ?? error.message}`, USAGE_EXIT, true);
  };
}

/** Checks the replacement strings of the command against the inputs each job will have. */
function checkTemplate(options: CliOptions): void {
  const template = new CommandTemplate(options.command, options.shell);
  const inputs = options.maxArgs > 1 ? options.maxArgs : Math.max(1, options.sources.length);
  if (template.maxIndex > inputs) {
    throw new UsageError(`replacement string '{${template.maxIndex}}' names input ${template.maxIndex}, but each job has ${inputs === 1 ? 'one input' : `${inputs} inputs`}`);
  }
}

function isReadableFile(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `taskpool` with `argv` (the arguments after the script) and resolves to its exit
 * status, as GNU parallel's: 0 every job succeeded, 1-100 the number of failed jobs, 101 more,
 * 255 bad usage, 128 + n when stopped by signal n.
 */
export async function main(argv: readonly string[], io: CliIO = nodeIO()): Promise<number> {
  let request;
  try {
    request = parseArguments(argv, io.defaultJobs);
    if (request.kind === 'run') checkTemplate(request.options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`taskpool: ${error.message}\n(taskpool --help lists the options)\n`);
    return USAGE_EXIT;
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
