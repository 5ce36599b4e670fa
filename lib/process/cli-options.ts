/// <reference types="node" />
/** The command line of `taskpool`: options, durations, usage text. */

/** What the command line asks for. */
export interface CliOptions {
  /** Jobs run at once. */
  readonly jobs: number;
  /** Milliseconds each attempt may run. */
  readonly timeout: number | undefined;
  /** Extra attempts for a failed job. */
  readonly retries: number;
  /** Print output in input order. */
  readonly keepOrder: boolean;
  /** One JSON line per job on stdout. */
  readonly json: boolean;
  /** Start nothing more after a failure. */
  readonly haltOnError: boolean;
  /** The command and its arguments, `{}` still in them. */
  readonly command: readonly [string, ...string[]];
  /** The inputs given after `:::`, or `undefined` to read them from stdin. */
  readonly inputs: readonly string[] | undefined;
}

export type CliRequest = { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly options: CliOptions };

/** A command line that cannot be run: exit status 2, with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Replaced by the input in the command's arguments. */
export const PLACEHOLDER = '{}';
/** Separates the command from inputs given on the command line. */
export const INPUTS_MARKER = ':::';

export function usage(defaultJobs: number): string {
  return `Usage: taskpool [options] [--] command [args...] [::: input...]

Runs a command once per input, several at a time. Inputs are read from stdin, one per
line (empty lines skipped), or given after ':::'. '{}' in the command or its arguments is
replaced by the input; without '{}' the input is added as the last argument. The command
runs directly, not through a shell: use sh -c '...' for pipes and redirections.

Options:
  -j, --jobs N          run N jobs at once (default: available parallelism, here ${defaultJobs})
      --timeout DUR     stop an attempt after DUR: 500ms, 30s, 2m, 1h, 1m30s, or plain seconds
      --retries N       run a failed job up to N more times (default: 0)
  -k, --keep-order      print jobs' output in input order (default: as they complete)
      --json            print one JSON object per job on stdout
      --halt-on-error   after a failure start nothing more; running jobs finish
  -h, --help            show this help and exit
  -V, --version         show the version and exit

Each job's output is printed in one piece, never interleaved with another job's. A progress
line is shown on stderr when it is a terminal; a summary is printed at the end.
Exit status: 0 every job succeeded, 1 some failed, 2 bad usage, 130 interrupted (Ctrl-C).

Examples:
  taskpool -j 8 --timeout 30s -- gzip -k {} < files.txt
  taskpool -j 4 --json -- curl -sf {} ::: https://example.com https://example.org
`;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds: `500ms`, `30s`, `2m`, `1h`, combinations such as
 * `1m30s`, or a plain number of seconds (`1.5`). Returns `undefined` for anything else.
 */
export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1_000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * UNITS[unit!]!;
  return total;
}

function parseCount(text: string, option: string, min: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`invalid ${option} '${text}': expected ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
  }
  return value;
}

const VALUE_OPTIONS: Readonly<Record<string, string>> = { '-j': '--jobs', '--jobs': '--jobs', '--timeout': '--timeout', '--retries': '--retries' };
const FLAG_OPTIONS: Readonly<Record<string, string>> = {
  '-k': '--keep-order',
  '--keep-order': '--keep-order',
  '--json': '--json',
  '--halt-on-error': '--halt-on-error',
  '-h': '--help',
  '--help': '--help',
  '-V': '--version',
  '--version': '--version',
};

/**
 * Parses `taskpool`'s arguments (without `node` and the script). Options come first; the
 * first argument that is not an option, or the one after `--`, starts the command.
 *
 * @throws {UsageError} for an unknown option, a bad value, or no command.
 */
export function parseArguments(argv: readonly string[], defaultJobs: number): CliRequest {
  let jobs = defaultJobs;
  let timeout: number | undefined;
  let retries = 0;
  let keepOrder = false;
  let json = false;
  let haltOnError = false;
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    index++;
    let name = arg;
    let value: string | undefined;
    const equals = arg.indexOf('=');
    if (arg.startsWith('--') && equals !== -1) {
      name = arg.slice(0, equals);
      value = arg.slice(equals + 1);
    } else if (arg.startsWith('-j') && arg.length > 2) {
      name = '-j';
      value = arg.slice(2);
    }
    const flag = FLAG_OPTIONS[name];
    if (flag !== undefined && value === undefined) {
      if (flag === '--help') return { kind: 'help' };
      if (flag === '--version') return { kind: 'version' };
      if (flag === '--keep-order') keepOrder = true;
      else if (flag === '--json') json = true;
      else haltOnError = true;
      continue;
    }
    const option = VALUE_OPTIONS[name];
    if (option === undefined) {
      throw new UsageError(flag === undefined ? `unknown option '${name}'` : `option '${flag}' takes no value`);
    }
    if (value === undefined) {
      if (index >= argv.length) throw new UsageError(`option '${option}' needs a value`);
      value = argv[index++]!;
    }
    if (option === '--jobs') jobs = parseCount(value, option, 1);
    else if (option === '--retries') retries = parseCount(value, option, 0);
    else {
      timeout = parseDuration(value);
      if (timeout === undefined || timeout <= 0) {
        throw new UsageError(`invalid --timeout '${value}': expected a positive duration such as 500ms, 30s, 2m or a number of seconds`);
      }
    }
  }
  const rest = argv.slice(index);
  const marker = rest.indexOf(INPUTS_MARKER);
  const command = marker === -1 ? rest : rest.slice(0, marker);
  const inputs = marker === -1 ? undefined : rest.slice(marker + 1);
  if (command.length === 0) throw new UsageError(marker === -1 ? 'no command given' : `no command given before '${INPUTS_MARKER}'`);
  return {
    kind: 'run',
    options: { jobs, timeout, retries, keepOrder, json, haltOnError, command: command as [string, ...string[]], inputs },
  };
}

/** The command line of one job: `{}` replaced by `input` everywhere, or `input` appended. */
export function commandFor(command: readonly string[], input: string): string[] {
  if (!command.some((word) => word.includes(PLACEHOLDER))) return [...command, input];
  return command.map((word) => word.replaceAll(PLACEHOLDER, input));
}
