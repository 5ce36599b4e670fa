/// <reference types="node" />
/**
 * `taskpool`'s output: each job's bytes held in memory up to a bound, then in a temporary
 * file (removed from the directory as soon as it is created, so nothing is left behind
 * whatever ends the process), and written to stdout/stderr at the pace they are read.
 */
import { closeSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes a single stream of a job keeps in memory before it goes to a file. */
export const SPOOL_MEMORY = 1 << 20;
/** Bytes all spools together keep in memory: past it, every growing spool goes to a file. */
export const SPOOL_BUDGET = 8 << 20;
/** Bytes read back from a file at once. */
const READ_SIZE = 64 << 10;

let inMemory = 0;
let fileCount = 0;

/** Bytes held in memory by all spools now (for the specs). */
export function spooledInMemory(): number {
  return inMemory;
}

/** Opens a temporary file for reading and writing, and removes its name at once. */
function anonymousFile(directory: string): number {
  const path = join(directory, `taskpool-${process.pid}-${++fileCount}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, 'wx+', 0o600);
  unlinkSync(path);
  return fd;
}

/** The output of one stream of one job: in memory while small, then in an unnamed temporary file. */
export class Spool {
  readonly #directory: string;
  readonly #memory: number;
  #chunks: Buffer[] = [];
  #held = 0;
  #fd: number | undefined;
  /** Bytes written in all. */
  size = 0;

  constructor(directory = tmpdir(), memory = SPOOL_MEMORY) {
    this.#directory = directory;
    this.#memory = memory;
  }

  /** A spool of what a job wrote to `path`: the file is opened and its name removed at once. */
  static adopt(path: string): Spool {
    const spool = new Spool();
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return spool; // never created: the job did not start
    }
    unlinkSync(path);
    spool.#fd = fd;
    spool.size = fstatSync(fd).size;
    return spool;
  }

  /** Whether the bytes went to a file. */
  get spilled(): boolean {
    return this.#fd !== undefined;
  }

  readonly write = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.#fd === undefined && this.#held + chunk.length <= this.#memory && inMemory + chunk.length <= SPOOL_BUDGET) {
      this.#chunks.push(chunk);
      this.#held += chunk.length;
      inMemory += chunk.length;
      return;
    }
    if (this.#fd === undefined) {
      this.#fd = anonymousFile(this.#directory);
      for (const held of this.#chunks) writeAll(this.#fd, held);
      this.#release();
    }
    writeAll(this.#fd, chunk);
  };

  /** The bytes, in chunks of at most 64 KiB from a file. */
  *chunks(): Generator<Buffer, undefined> {
    if (this.#fd === undefined) {
      yield* this.#chunks;
      return undefined;
    }
    let position = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_SIZE);
      const read = readSync(this.#fd, buffer, 0, READ_SIZE, position);
      if (read === 0) return undefined;
      position += read;
      yield buffer.subarray(0, read);
    }
  }

  /** The first `limit` bytes, as UTF-8 text (for `--json`), and whether there were more. */
  text(limit: number): { text: string; truncated: boolean } {
    const parts: Buffer[] = [];
    let size = 0;
    for (const chunk of this.chunks()) {
      parts.push(chunk.subarray(0, limit - size));
      size += parts.at(-1)!.length;
      if (size >= limit) break;
    }
    return { text: Buffer.concat(parts).toString('utf8'), truncated: this.size > limit };
  }

  /** Frees the memory and closes the file. */
  dispose(): void {
    this.#release();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #release(): void {
    inMemory -= this.#held;
    this.#held = 0;
    this.#chunks = [];
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done);
}

/** Prefixes every line of a stream with `tag` (for `--tag`), across chunks. */
export class Tagger {
  readonly #tag: Buffer;
  #atLineStart = true;

  constructor(tag: string) {
    this.#tag = Buffer.from(tag);
  }

  tag(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      if (this.#atLineStart) parts.push(this.#tag);
      const end = chunk.indexOf(0x0a, start);
      const stop = end === -1 ? chunk.length : end + 1;
      parts.push(chunk.subarray(start, stop));
      this.#atLineStart = end !== -1;
      start = stop;
    }
    return Buffer.concat(parts);
  }
}

/** Cuts a stream into whole lines (for `--line-buffer`): `push` returns the complete lines, `end` the rest. */
export class LineCutter {
  #rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer | undefined {
    const end = chunk.lastIndexOf(0x0a);
    if (end === -1) {
      this.#rest = Buffer.concat([this.#rest, chunk]);
      return undefined;
    }
    const lines = this.#rest.length === 0 ? chunk.subarray(0, end + 1) : Buffer.concat([this.#rest, chunk.subarray(0, end + 1)]);
    this.#rest = chunk.subarray(end + 1);
    return lines;
  }

  end(): Buffer | undefined {
    const rest = this.#rest;
    this.#rest = Buffer.alloc(0);
    return rest.length === 0 ? undefined : rest;
  }
}

type Stream = NodeJS.WritableStream;

/**
 * Writes to stdout and stderr with their backpressure: `write` resolves once the stream can
 * take more. While a stream is behind, `behind` is `true` and `onChange` listeners hear of
 * it, so that children stop being read and no job starts.
 */
export class Output {
  readonly #waiting = new Set<Stream>();
  readonly #listeners = new Set<(behind: boolean) => void>();
  #broken = new Set<Stream>();

  get behind(): boolean {
    return this.#waiting.size > 0;
  }

  /** Calls `listener(behind)` whenever `behind` changes; returns what stops that. */
  onChange(listener: (behind: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Marks a stream as broken (EPIPE): what is written to it is dropped. */
  broken(stream: Stream): void {
    this.#broken.add(stream);
    if (this.#waiting.delete(stream) && this.#waiting.size === 0) this.#emit(false);
  }

  /** Writes `chunk` now; resolves when the stream has room again. */
  write(stream: Stream, chunk: Buffer | string): Promise<void> | undefined {
    if (chunk.length === 0 || this.#broken.has(stream)) return undefined;
    if (stream.write(chunk)) return undefined;
    return this.#waitFor(stream);
  }

  /** Resolves when `stream` has room (at once if it has). */
  ready(stream: Stream): Promise<void> | undefined {
    if (!this.#waiting.has(stream)) return undefined;
    return this.#waitFor(stream);
  }

  #waitFor(stream: Stream): Promise<void> {
    const wasBehind = this.behind;
    this.#waiting.add(stream);
    if (!wasBehind) this.#emit(true);
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        if (this.#waiting.delete(stream) && this.#waiting.size === 0) this.#emit(false);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  }

  #emit(behind: boolean): void {
    for (const listener of this.#listeners) listener(behind);
  }
}

/** Writes a chunk to a stream (with the run's backpressure and progress line). */
export type WriteTo = (stream: Stream, chunk: Buffer) => void;

/** One job's place in `LineOrder`: whether its lines go out as they come, and what waits meanwhile. */
export class LineTurn {
  readonly #directory: string;
  readonly #held = new Map<Stream, Spool>();
  live = false;
  ended = false;

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** Writes whole lines now if it is this job's turn, else keeps them (in memory, then in a file) for then. */
  emit(stream: Stream, lines: Buffer, write: WriteTo): void {
    if (this.live) {
      write(stream, lines);
      return;
    }
    let spool = this.#held.get(stream);
    if (spool === undefined) this.#held.set(stream, (spool = new Spool(this.#directory)));
    spool.write(lines);
  }

  /** Writes what was kept, then lets lines go out as they come. */
  release(write: WriteTo): void {
    for (const [stream, spool] of this.#held) {
      for (const chunk of spool.chunks()) write(stream, chunk);
      spool.dispose();
    }
    this.#held.clear();
    this.live = true;
  }

  /** Frees what was kept, unwritten (the run stops). */
  dispose(): void {
    for (const spool of this.#held.values()) spool.dispose();
    this.#held.clear();
  }
}

/**
 * `--line-buffer` with `--keep-order`, as GNU parallel: the lines of the oldest job that has not
 * ended go out as they come; a later job's lines wait until every earlier job has ended, then
 * go out, and the job's next lines as they come.
 */
export class LineOrder {
  readonly #turns: LineTurn[] = [];

  /** A turn for the next job, taken in input order. */
  take(directory: string): LineTurn {
    const turn = new LineTurn(directory);
    this.#turns.push(turn);
    if (this.#turns.length === 1) turn.live = true;
    return turn;
  }

  /** The job of `turn` has ended: the next jobs have their turn, in order. */
  end(turn: LineTurn, write: WriteTo): void {
    turn.ended = true;
    while (this.#turns[0]?.ended === true) {
      this.#turns.shift();
      this.#turns[0]?.release(write);
    }
  }
}
