/// <reference types="node" />
/**
 * `taskpool`'s replacement strings, as GNU parallel's: `{}`, `{.}`, `{/}`, `{//}`, `{/.}`,
 * `{#}`, `{%}`, and `{n}`, `{n.}`, `{n/}`, `{n//}`, `{n/.}` for the n-th input of a job.
 */
import { posix } from 'node:path';
import { UsageError } from './cli-options.js';

/** How a value is changed before it is put in: none, `.` (no extension), `/` (basename), `//` (dirname), `/.`. */
type Transform = '' | '.' | '/' | '//' | '/.';

type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'all'; readonly transform: Transform }
  | { readonly kind: 'input'; readonly index: number; readonly transform: Transform }
  | { readonly kind: 'seq' }
  | { readonly kind: 'slot' };

/** One word of the command, cut into text and replacement strings. */
type Word = readonly Part[];

/** What one job's command line is made from. */
export interface JobValues {
  /** The inputs of the job: one per input source, or `-n` of them. */
  readonly inputs: readonly string[];
  /** The job number, from 1. */
  readonly seq: number;
  /** The slot the job runs in, from 1 to `--jobs`. */
  readonly slot: number;
}

const BRACES = /\{([^{}]*)\}/g;
const SUPPORTED = /^(\d*)(|\.|\/|\/\/|\/\.)$/;
/** GNU parallel's replacement strings that taskpool does not have: refused, never left as text. */
const UNSUPPORTED = /^(\d*)(\.\.|\.\.\.|\/\.\.|\/\.\.\.|\+\/|\+\.|\+\.\.|\+\.\.\.|#\d*|%\d*|=.*)$/;

function parseWord(word: string): Word {
  if (word.includes('{=')) throw new UsageError(`unsupported replacement string in '${word}': taskpool has no {= perl expression =}`);
  const parts: Part[] = [];
  let last = 0;
  for (const match of word.matchAll(BRACES)) {
    const inner = match[1]!;
    let part: Part | undefined;
    if (inner === '#') part = { kind: 'seq' };
    else if (inner === '%') part = { kind: 'slot' };
    else {
      const supported = SUPPORTED.exec(inner);
      if (supported !== null) {
        const transform = supported[2] as Transform;
        if (supported[1] === '') part = { kind: 'all', transform };
        else {
          const index = Number(supported[1]);
          if (index < 1) throw new UsageError(`invalid replacement string '{${inner}}': inputs are numbered from 1`);
          part = { kind: 'input', index, transform };
        }
      } else if (UNSUPPORTED.test(inner)) {
        throw new UsageError(`unsupported replacement string '{${inner}}': taskpool has {}, {.}, {/}, {//}, {/.}, {#}, {%} and {n}, {n.}, {n/}, {n//}, {n/.}`);
      }
    }
    if (part === undefined) continue; // `{x}`, `{a,b}`: text, as in GNU parallel
    if (match.index > last) parts.push({ kind: 'text', text: word.slice(last, match.index) });
    parts.push(part);
    last = match.index + match[0].length;
  }
  if (last < word.length) parts.push({ kind: 'text', text: word.slice(last) });
  return parts;
}

/** GNU parallel's transformations of a value (its Perl regular expressions, and Perl's dirname). */
export function transform(value: string, how: Transform): string {
  switch (how) {
    case '':
      return value;
    case '.':
      return value.replace(/\.[^/.]+$/, '');
    case '/':
      return value.replace(/^.*\//s, '');
    case '//':
      return posix.dirname(value);
    case '/.':
      return value.replace(/^.*\//s, '').replace(/\.[^/.]+$/, '');
  }
}

/** Quotes a value for `/bin/sh`: as it is when safe, else in single quotes. */
export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A command with replacement strings, ready to be filled in for each job: as the words of a
 * program and its arguments (run directly), or as one `/bin/sh` command line (`--shell`).
 */
export class CommandTemplate {
  readonly #words: readonly Word[];
  readonly #shell: boolean;
  /** Whether any replacement string appears (`{#}` and `{%}` too, as GNU parallel): if not, the inputs are appended. */
  readonly #usesInputs: boolean;
  /** The highest `{n}`, to check it against the inputs of each job. */
  readonly maxIndex: number;

  constructor(command: readonly string[], shell: boolean) {
    this.#words = command.map(parseWord);
    this.#shell = shell;
    const parts = this.#words.flat();
    this.#usesInputs = parts.some((part) => part.kind !== 'text');
    this.maxIndex = Math.max(0, ...parts.map((part) => (part.kind === 'input' ? part.index : 0)));
  }

  /** The program and its arguments of one job (with `--shell`: `/bin/sh -c <line>`). */
  argv(values: JobValues): string[] {
    if (this.#shell) return ['/bin/sh', '-c', this.shellLine(values)];
    const words: string[] = [];
    for (const word of this.#words) words.push(...this.#fill(word, values, (value) => value));
    if (!this.#usesInputs) words.push(...values.inputs);
    return words;
  }

  /** The `/bin/sh` command line of one job: the words joined by spaces, the values quoted for the shell. */
  shellLine(values: JobValues): string {
    const words = this.#words.map((word) => this.#fill(word, values, shellQuote).join(' '));
    if (!this.#usesInputs) words.push(...values.inputs.map(shellQuote));
    return words.join(' ');
  }

  /** For messages, the dry run and the job log: the shell line, or the words quoted for a shell. */
  display(values: JobValues): string {
    return this.#shell ? this.shellLine(values) : this.argv(values).map(shellQuote).join(' ');
  }

  /**
   * One word filled in: one word, or, when it holds exactly one replacement string of all the
   * inputs and the job has several, one word per input (the text before it joined to the
   * first, the text after it to the last), as GNU parallel's quoting gives.
   */
  #fill(word: Word, values: JobValues, quote: (value: string) => string): string[] {
    const render = (part: Part): string => {
      switch (part.kind) {
        case 'text':
          return part.text;
        case 'seq':
          return String(values.seq);
        case 'slot':
          return String(values.slot);
        case 'input':
          return quote(transform(values.inputs[part.index - 1] ?? '', part.transform));
        case 'all':
          return values.inputs.map((value) => quote(transform(value, part.transform))).join(' ');
      }
    };
    const multi = word.filter((part) => part.kind === 'all');
    if (multi.length !== 1 || values.inputs.length < 2 || this.#shell) return [word.map(render).join('')];
    const at = word.indexOf(multi[0]!);
    const all = multi[0] as Extract<Part, { kind: 'all' }>;
    const pieces = values.inputs.map((value) => quote(transform(value, all.transform)));
    pieces[0] = word.slice(0, at).map(render).join('') + pieces[0]!;
    pieces[pieces.length - 1] += word.slice(at + 1).map(render).join('');
    return pieces;
  }
}
