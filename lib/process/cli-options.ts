/// <reference types="node" />
/** The command line of `taskpool`: options, durations, usage text. GNU parallel's syntax where it has one. */

/** When to stop a run early (`--halt`): `now` kills running jobs, `soon` lets them finish. */
export interface Halt {
  readonly when: 'now' | 'soon';
  readonly why: 'fail' | 'success' | 'done';
  /** A number of jobs, or a percentage of the jobs finished so far when `percent`. */
  readonly count: number;
  readonly percent: boolean;
}

/** Where inputs come from: values after `:::`, a file (`::::`, `-a`), or stdin. */
export type InputSource = { readonly kind: 'values'; readonly values: readonly string[] } | { readonly kind: 'file'; readonly path: string };

/** How often and where the progress display appears. */
export type ProgressMode = 'auto' | 'line' | 'bar' | 'none';

/** What the command line asks for. */
export interface CliOptions {
  /** Jobs run at once. */
  readonly jobs: number;
  /** Milliseconds each attempt may run, or `{ percent }` of the median run time of the jobs that succeeded (`--timeout N%`). */
  readonly timeout: number | { readonly percent: number } | undefined;
  /** Attempts of a failed job in all (`--retries`, as GNU parallel: 0 and 1 both mean one). */
  readonly retries: number;
  /** Print output in input order. */
  readonly keepOrder: boolean;
  /** One JSON line per job on stdout. */
  readonly json: boolean;
  /** When to stop early, if ever. */
  readonly halt: Halt | undefined;
  /** The command and its arguments, replacement strings still in them. */
  readonly command: readonly [string, ...string[]];
  /** The input sources (their product), or none to read stdin. */
  readonly sources: readonly InputSource[];
  /** What separates inputs read from stdin and files: `'\n'` (a CR before it is dropped too), or `-0`/`-d`. */
  readonly delimiter: string;
  /** Inputs per job (`-n`). */
  readonly maxArgs: number;
  /** Run the command line through `/bin/sh -c`. */
  readonly shell: boolean;
  /** Print the command lines, run nothing. */
  readonly dryRun: boolean;
  /** GNU parallel's job log. */
  readonly joblog: string | undefined;
  /** Skip the jobs the job log has (`all`), or those it has as succeeded (`failed`). */
  readonly resume: 'no' | 'all' | 'failed';
  /** Prefix each output line with the job's inputs and a tab. */
  readonly tag: boolean;
  /** Print output line by line as it comes instead of each job's in one piece. */
  readonly lineBuffer: boolean;
  /** No summary line (and no automatic progress line). */
  readonly quiet: boolean;
  /** The progress display. */
  readonly progress: ProgressMode;
}

export type CliRequest = { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly options: CliOptions };

/** A command line that cannot be run: exit status 255, as GNU parallel, with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Separates the command from inputs given on the command line. */
export const INPUTS_MARKER = ':::';
/** Separates the command from files of inputs. */
export const FILES_MARKER = '::::';

export function usage(defaultJobs: number): string {
  return `Usage: taskpool [options] [--] command [args...] [::: input...]... [:::: file...]

Runs a command once per input, several at a time. Inputs are read from stdin, one per line
(empty lines skipped), or given after ':::' (several ::: groups: every combination, as GNU
parallel). Replacement strings in the command are filled in for each job; without any, the
inputs are added as the last arguments. The command runs directly, not through a shell,
unless --shell is given.

Replacement strings (as GNU parallel):
  {}  the input        {.}  without extension    {/}  basename    {//}  dirname
  {/.} basename without extension    {#} job number    {%} job slot (1..jobs)
  {n} {n.} {n/} {n//} {n/.}   the n-th input of the job (n-th ::: group, or of -n N)

Inputs:
  ::: a b c             inputs on the command line; repeat for every combination
  :::: FILE, -a FILE    inputs from a file, one per line ('-': stdin)
  -0, --null            inputs separated by NUL bytes (find -print0)
  -d, --delimiter X     inputs separated by X (\\n, \\t, \\0 understood)
  -n, --max-args N      N inputs per job (default: 1)

Running:
  -j, --jobs N          run N jobs at once (default: available parallelism, here ${defaultJobs})
      --timeout DUR     stop an attempt after DUR: 500ms, 30s, 2m, 1h, 1m30s, or plain seconds;
                        N% stops one that runs longer than N% of the median run time of
                        the jobs that succeeded so far (none before one has), as GNU parallel
      --retries N       run a failed job up to N times in all (as GNU parallel; default: 1)
      --halt WHEN,WHY   now|soon,fail=N|success=N|done=N, N or N%; also 0, 1, 2, -1, -2, N%
      --halt-on-error   the same as --halt soon,fail=1
      --shell           run the command line through /bin/sh -c, values quoted for the shell
                        (GNU parallel always does; taskpool runs the program directly)
      --dry-run         print the command lines, run nothing
      --joblog FILE     write GNU parallel's job log to FILE
      --resume          skip the jobs already in the job log
      --resume-failed   skip the jobs the job log has as succeeded, run the others again

Output:
  -k, --keep-order      print jobs' output in input order (default: as they complete)
      --tag             prefix each output line with the job's inputs and a tab
      --line-buffer     print output line by line as it comes (lines are never cut); with -k,
                        a job's lines wait until every earlier job has ended (as GNU parallel)
      --json            print one JSON object per job on stdout (taskpool's own)
      --bar             show a progress bar on stderr
      --progress, --eta show the progress line with an ETA on stderr
                        (default: the progress line when stderr is a terminal)
      --quiet           no summary line, and no progress unless asked for
  -h, --help            show this help and exit
  -V, --version         show the version and exit

Each job's output is printed in one piece, never interleaved with another job's, byte for
byte; while the job runs it waits in a temporary file (removed on every exit, Ctrl-C included).
A summary is printed on stderr at the end (GNU parallel prints none: --quiet).
Exit status (as GNU parallel): 0 every job succeeded, 1-100 the number of failed jobs, 101
more than 100 failed, 255 bad usage; with --halt ...fail=1 the failed job's exit code
(128 + n when signal n killed it);
130 interrupted (Ctrl-C), 143 SIGTERM.

Not supported (refused): --pipe, -X, -m, --colsep, --sshlogin, {= perl =}, :::+ and ::::+.

Examples:
  taskpool -j 8 --timeout 30s -- gzip -k {} < files.txt
  taskpool convert {} {.}.png ::: *.jpg
  find . -name '*.log' -print0 | taskpool -0 -k --tag wc -l
  taskpool --shell 'sleep {}; echo {}' ::: 1 2
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

const HALT_SHORT: Readonly<Record<string, string | undefined>> = {
  '0': undefined,
  never: undefined,
  '1': 'soon,fail=1',
  '2': 'now,fail=1',
  '-1': 'soon,success=1',
  '-2': 'now,success=1',
};

/** Parses `--halt`'s value, GNU parallel's forms. */
export function parseHalt(text: string): Halt | undefined {
  let value = text;
  if (Object.hasOwn(HALT_SHORT, value)) {
    const long = HALT_SHORT[value];
    if (long === undefined) return undefined;
    value = long;
  } else if (/^\d+(\.\d+)?%$/.test(value)) value = `soon,fail=${value}`;
  const match = /^(now|soon),(fail|success|done)=(\d+(?:\.\d+)?)(%?)$/.exec(value);
  const count = match === null ? NaN : Number(match[3]);
  const percent = match?.[4] === '%';
  if (match === null || !(count > 0) || (percent ? count > 100 : !Number.isInteger(count))) {
    throw new UsageError(`invalid --halt '${text}': expected now|soon,fail|success|done=N or N% (or 0, 1, 2, -1, -2, N%)`);
  }
  return { when: match[1] as Halt['when'], why: match[2] as Halt['why'], count, percent };
}

/** `-d`'s value with `\n`, `\t`, `\0` and `\\` understood. */
function parseDelimiter(text: string): string {
  const value = text.replace(/\\(.)/g, (whole, char: string) => ({ n: '\n', t: '\t', '0': '\0', r: '\r', '\\': '\\' })[char] ?? whole);
  if (value === '') throw new UsageError(`invalid --delimiter '${text}': expected at least one character`);
  return value;
}

type Setter = (state: MutableOptions, value: string) => void;
type MutableOptions = { -readonly [K in keyof CliOptions]: CliOptions[K] } & { files: string[] };

/** Options that take a value, by every name they have. */
const VALUE_OPTIONS: Readonly<Record<string, readonly [string, Setter]>> = (() => {
  const table: Record<string, readonly [string, Setter]> = {};
  const add = (names: readonly string[], set: Setter): void => {
    for (const name of names) table[name] = [names.find((n) => n.startsWith('--')) ?? names[0]!, set];
  };
  add(['-j', '--jobs'], (s, v) => (s.jobs = parseCount(v, '--jobs', 1)));
  add(['-n', '--max-args'], (s, v) => (s.maxArgs = parseCount(v, '--max-args', 1)));
  add(['--retries'], (s, v) => (s.retries = Math.max(1, parseCount(v, '--retries', 0))));
  add(['--timeout'], (s, v) => {
    const percent = /^(\d+(\.\d+)?)%$/.exec(v);
    const timeout = percent === null ? parseDuration(v) : Number(percent[1]);
    if (timeout === undefined || timeout <= 0) {
      throw new UsageError(`invalid --timeout '${v}': expected a positive duration such as 500ms, 30s, 2m or a number of seconds, or a percentage such as 200%`);
    }
    s.timeout = percent === null ? timeout : { percent: timeout };
  });
  add(['--halt'], (s, v) => (s.halt = parseHalt(v)));
  add(['-a', '--arg-file'], (s, v) => s.files.push(v));
  add(['-d', '--delimiter'], (s, v) => (s.delimiter = parseDelimiter(v)));
  add(['--joblog'], (s, v) => (s.joblog = v));
  return table;
})();

const FLAG_OPTIONS: Readonly<Record<string, (state: MutableOptions) => void>> = {
  '-k': (s) => (s.keepOrder = true),
  '--keep-order': (s) => (s.keepOrder = true),
  '--json': (s) => (s.json = true),
  '--halt-on-error': (s) => (s.halt = parseHalt('soon,fail=1')),
  '-0': (s) => (s.delimiter = '\0'),
  '--null': (s) => (s.delimiter = '\0'),
  '--shell': (s) => (s.shell = true),
  '--dry-run': (s) => (s.dryRun = true),
  '--resume': (s) => (s.resume = 'all'),
  '--resume-failed': (s) => (s.resume = 'failed'),
  '--tag': (s) => (s.tag = true),
  '--line-buffer': (s) => (s.lineBuffer = true),
  '--lb': (s) => (s.lineBuffer = true),
  '--group': () => {}, // GNU parallel's default, and taskpool's
  '--quiet': (s) => (s.quiet = true),
  '--bar': (s) => (s.progress = 'bar'),
  '--progress': (s) => (s.progress = 'line'),
  '--eta': (s) => (s.progress = 'line'),
};

/** GNU parallel's options taskpool refuses rather than run something else. */
const REFUSED: Readonly<Record<string, string>> = {
  '--pipe': 'taskpool does not split stdin into blocks',
  '--pipepart': 'taskpool does not split stdin into blocks',
  '-X': 'taskpool has no context replace: use -n N',
  '-m': 'taskpool has no context replace: use -n N',
  '--xargs': 'use -n N',
  '--colsep': 'taskpool does not split inputs into columns',
  '-C': 'taskpool does not split inputs into columns',
  '-S': 'taskpool runs jobs on this machine only',
  '--sshlogin': 'taskpool runs jobs on this machine only',
  '-q': 'use --shell, which quotes each value for the shell',
  '--plus': 'taskpool has {}, {.}, {/}, {//}, {/.}, {#}, {%} and {n...}',
  '-u': 'use --line-buffer (output of jobs is never interleaved mid-line)',
  '--ungroup': 'use --line-buffer (output of jobs is never interleaved mid-line)',
};

const SHORT_WITH_VALUE = new Set(['j', 'n', 'a', 'd']);
const SHORT_FLAGS = new Set(['k', '0', 'h', 'V']);

/**
 * Parses `taskpool`'s arguments (without `node` and the script). Options come first; the
 * first argument that is not an option, or the one after `--`, starts the command.
 *
 * @throws {UsageError} for an unknown option, a bad value, or no command.
 */
export function parseArguments(argv: readonly string[], defaultJobs: number): CliRequest {
  const state: MutableOptions = {
    jobs: defaultJobs,
    timeout: undefined,
    retries: 1,
    keepOrder: false,
    json: false,
    halt: undefined,
    command: [''],
    sources: [],
    delimiter: '\n',
    maxArgs: 1,
    shell: false,
    dryRun: false,
    joblog: undefined,
    resume: 'no',
    tag: false,
    lineBuffer: false,
    quiet: false,
    progress: 'auto',
    files: [],
  };
  let index = 0;
  const take = (option: string): string => {
    if (index >= argv.length) throw new UsageError(`option '${option}' needs a value`);
    return argv[index++]!;
  };
  while (index < argv.length) {
    const arg = argv[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    index++;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals === -1 ? arg : arg.slice(0, equals);
      const inline = equals === -1 ? undefined : arg.slice(equals + 1);
      if (name === '--help') return { kind: 'help' };
      if (name === '--version') return { kind: 'version' };
      if (Object.hasOwn(REFUSED, name)) throw new UsageError(`option '${name}' is not supported: ${REFUSED[name]}`);
      const flag = FLAG_OPTIONS[name];
      if (flag !== undefined) {
        if (inline === undefined) {
          // GNU parallel's --halt-on-error takes a value: accept it when one follows.
          if (name === '--halt-on-error' && index < argv.length && /^(-?\d+%?|\d+(\.\d+)?%|never|now,.*|soon,.*)$/.test(argv[index]!)) {
            state.halt = parseHalt(argv[index++]!);
          } else flag(state);
          continue;
        }
        if (name === '--halt-on-error') {
          state.halt = parseHalt(inline);
          continue;
        }
        throw new UsageError(`option '${name}' takes no value`);
      }
      const option = VALUE_OPTIONS[name];
      if (option === undefined) throw new UsageError(`unknown option '${name}'`);
      option[1](state, inline ?? take(option[0]));
      continue;
    }
    // Short options, combined as getopt does: -kj2, -k -j 2, -0k.
    for (let at = 1; at < arg.length; at++) {
      const letter = arg[at]!;
      if (letter === 'h') return { kind: 'help' };
      if (letter === 'V') return { kind: 'version' };
      if (SHORT_FLAGS.has(letter)) {
        FLAG_OPTIONS[`-${letter}`]!(state);
        continue;
      }
      if (SHORT_WITH_VALUE.has(letter)) {
        const option = VALUE_OPTIONS[`-${letter}`]!;
        const rest = arg.slice(at + 1);
        option[1](state, rest === '' ? take(option[0]) : rest);
        break;
      }
      if (Object.hasOwn(REFUSED, `-${letter}`)) throw new UsageError(`option '-${letter}' is not supported: ${REFUSED[`-${letter}`]}`);
      throw new UsageError(`unknown option '-${letter}'`);
    }
  }
  const rest = argv.slice(index);
  let end = rest.findIndex((word) => word === INPUTS_MARKER || word === FILES_MARKER || word === ':::+' || word === '::::+');
  if (end === -1) end = rest.length;
  const command = rest.slice(0, end);
  const sources: InputSource[] = state.files.map((path) => ({ kind: 'file', path }));
  let marker: string | undefined;
  for (const word of rest.slice(end)) {
    if (word === ':::+' || word === '::::+') throw new UsageError(`'${word}' (linked inputs) is not supported: give one ::: group per value list, every combination is run`);
    if (word === INPUTS_MARKER) {
      sources.push({ kind: 'values', values: [] });
      marker = word;
    } else if (word === FILES_MARKER) marker = word;
    else if (marker === INPUTS_MARKER) (sources.at(-1) as unknown as { values: string[] }).values.push(word);
    else sources.push({ kind: 'file', path: word });
  }
  if (command.length === 0) throw new UsageError(end === rest.length ? 'no command given' : `no command given before '${rest[end]}'`);
  if (state.maxArgs > 1 && sources.length > 1) throw new UsageError('-n N takes one input source: give one ::: group or one file');
  if (state.resume !== 'no' && state.joblog === undefined) throw new UsageError(`--resume${state.resume === 'failed' ? '-failed' : ''} needs --joblog FILE`);
  if (state.json && (state.tag || state.lineBuffer)) throw new UsageError(`--json cannot be combined with ${state.tag ? '--tag' : '--line-buffer'}`);
  const { files: _files, ...options } = state;
  return { kind: 'run', options: { ...options, command: command as [string, ...string[]], sources } };
}
