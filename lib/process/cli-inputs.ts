/// <reference types="node" />
/** `taskpool`'s inputs: records read as bytes, checked as UTF-8, combined into jobs. Read only as fast as jobs start. */
import { createReadStream } from 'node:fs';
import type { CliOptions, InputSource } from './cli-options.js';

/** An input that is not valid UTF-8: Node.js cannot pass it as an argument. */
export class InvalidInput {
  readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  /** The bytes as text, each byte outside printable ASCII as `\xNN`. */
  toString(): string {
    let text = '';
    for (const byte of this.bytes) text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
    return text;
  }
}

/** One input value: text, or bytes that are not UTF-8. */
export type Input = string | InvalidInput;

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): Input {
  try {
    return decoder.decode(bytes);
  } catch {
    return new InvalidInput(Buffer.from(bytes));
  }
}

/**
 * The records of a byte stream, separated by `delimiter`; with `'\n'`, a CR right before the
 * LF is dropped too (and only there). Empty records are skipped. Reads a chunk only when
 * the records of the previous one have been taken.
 */
export async function* records(stream: AsyncIterable<Buffer | string>, delimiter: string): AsyncGenerator<Input, undefined> {
  const separator = Buffer.from(delimiter);
  let pending: Buffer = Buffer.alloc(0);
  const record = (bytes: Buffer): Input | undefined => {
    if (delimiter === '\n' && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
    return bytes.length === 0 ? undefined : decode(bytes);
  };
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    let start = 0;
    for (;;) {
      const at = pending.indexOf(separator, start);
      if (at === -1) break;
      const value = record(pending.subarray(start, at));
      start = at + separator.length;
      if (value !== undefined) yield value;
    }
    pending = pending.subarray(start);
  }
  const value = record(pending);
  if (value !== undefined) yield value;
  return undefined;
}

/** Where a source's bytes come from: stdin, or a file opened on first read. */
export type Opener = (source: InputSource | 'stdin') => AsyncIterable<Buffer | string>;

/** Reads files with `createReadStream`; `-` and no source at all are `stdin`. */
export function opener(stdin: AsyncIterable<Buffer | string>): Opener {
  return (source) => {
    if (source === 'stdin' || (source.kind === 'file' && source.path === '-')) return stdin;
    if (source.kind === 'file') return createReadStream(source.path);
    throw new Error('values are not opened');
  };
}

async function* valuesOf(source: InputSource | 'stdin', open: Opener, delimiter: string): AsyncGenerator<Input, undefined> {
  if (source !== 'stdin' && source.kind === 'values') yield* source.values;
  else yield* records(open(source), delimiter);
  return undefined;
}

/**
 * The inputs of each job, in GNU parallel's order: every combination of the sources, the
 * last varying fastest (the first source is streamed, the others read in full first), or
 * `-n` inputs of one source at a time.
 */
export async function* jobInputs(options: Pick<CliOptions, 'sources' | 'delimiter' | 'maxArgs'>, open: Opener): AsyncGenerator<Input[], undefined> {
  const sources: readonly (InputSource | 'stdin')[] = options.sources.length === 0 ? ['stdin'] : options.sources;
  const rest: Input[][] = [];
  for (const source of sources.slice(1)) {
    const values: Input[] = [];
    for await (const value of valuesOf(source, open, options.delimiter)) values.push(value);
    if (values.length === 0) return undefined;
    rest.push(values);
  }
  let batch: Input[] = [];
  for await (const first of valuesOf(sources[0]!, open, options.delimiter)) {
    if (options.maxArgs > 1) {
      batch.push(first);
      if (batch.length === options.maxArgs) {
        yield batch;
        batch = [];
      }
      continue;
    }
    // An odometer over the other sources.
    const at = rest.map(() => 0);
    for (;;) {
      yield [first, ...rest.map((values, i) => values[at[i]!]!)];
      let i = rest.length - 1;
      while (i >= 0 && ++at[i]! === rest[i]!.length) at[i--] = 0;
      if (i < 0) break;
    }
  }
  if (batch.length > 0) yield batch;
  return undefined;
}
