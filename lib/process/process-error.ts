/// <reference types="node" />
import { BrandedError, registerBrand } from '../errors.js';
import type { ProcessResult } from './run-process.js';

/** The longest piece of stderr quoted in a message. */
const STDERR_QUOTE = 200;

/** Renders one argument as a POSIX shell would need it, for messages only. */
function quote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line of a run, quoted for a shell and shortened to `limit` characters: for
 * messages and logs, never to be run.
 *
 * @internal
 */
export function formatCommand(command: string, args: readonly string[], limit = 200): string {
  const line = [command, ...args].map(quote).join(' ');
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

/**
 * What happened to a failed run, as a predicate: "failed with exit code 3", "was killed by
 * signal SIGKILL", "timed out after 100 ms (stopped with SIGTERM)".
 *
 * @internal
 */
export function describeFailure(result: ProcessResult, timeout?: number): string {
  if (result.timedOut) return `timed out${timeout === undefined ? '' : ` after ${timeout} ms`}${result.signal === null ? '' : ` (stopped with ${result.signal})`}`;
  if (result.signal !== null) return `was killed by signal ${result.signal}`;
  return `failed with exit code ${result.exitCode}`;
}

function lastLine(text: string): string {
  const line = text.trimEnd().split('\n').at(-1)!.trim();
  return line.length > STDERR_QUOTE ? `${line.slice(0, STDERR_QUOTE - 1)}…` : line;
}

/**
 * A command failed: it exited with a non-zero code, was killed by a signal, or ran past its
 * `timeout`. `result` holds everything about the run (exit code, signal, output, duration),
 * exactly what `runProcess` resolves to with `reject: false`. Mirrors Python's
 * `subprocess.CalledProcessError` / `TimeoutExpired`.
 *
 * `instanceof` works across the ESM and CommonJS builds; `error.name === 'ProcessError'`
 * works everywhere.
 *
 * @example
 * ```ts
 * try {
 *   await runProcess('sh', ['-c', 'echo oops >&2; exit 3']);
 * } catch (error) {
 *   if (error instanceof ProcessError) console.log(error.result.exitCode, error.result.stderr); // 3 'oops\n'
 * }
 * ```
 */
export class ProcessError extends BrandedError {
  static {
    registerBrand(this, 'ProcessError');
  }

  /** The whole outcome of the run. */
  readonly result: ProcessResult;

  /**
   * @param result - the outcome of the failed run.
   * @param timeout - the `timeout` in force, to name it in the message.
   */
  constructor(result: ProcessResult, timeout?: number) {
    const stderr = lastLine(result.stderr);
    super('ProcessError', `Command ${describeFailure(result, timeout)}: ${formatCommand(result.command, result.args)}${stderr === '' ? '' : `\n${stderr}`}`);
    this.result = result;
  }
}
