import { TimeoutError } from './errors.js';
import { internals, type Future } from './future.js';
import { FifoQueue } from './internal/queue.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkBoolean, checkOptions, checkPositiveInteger, checkSignal, checkTimeout, describe } from './internal/validate.js';

/** A sync or async iterable of `T`: what `map()` accepts as input. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/**
 * Options of `map()`.
 *
 * @example
 * ```ts
 * pool.map(work, items, { bufferSize: 64, timeout: 60_000, signal, ordered: false });
 * ```
 */
export interface MapOptions {
  /**
   * The most tasks submitted and not yet yielded (strictly). Without it, sync inputs are
   * consumed and every task submitted at call time, as Python does.
   * @default unbounded
   */
  bufferSize?: number;
  /**
   * One deadline for the whole map, in milliseconds from the call: waiting past it throws a
   * `TimeoutError` and cancels what is outstanding. Results already done are still yielded.
   * @default none
   */
  timeout?: number;
  /** Stops the map: it throws `signal.reason` and cancels what is outstanding. */
  signal?: AbortSignal;
  /**
   * `true`: results in input order. `false`: in completion order.
   * @default true
   */
  ordered?: boolean;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

const MAP_OPTION_KEYS = ['bufferSize', 'timeout', 'signal', 'ordered'] as const;

function isSyncIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function ignore(): void {}

/** Splits `map(fn, ...iterables, options?)`'s rest arguments and checks the iterables. @internal */
export function splitMapArguments(rest: unknown[], action: string): { iterables: AnyIterable<unknown>[]; options: MapOptions | undefined } {
  let iterables = rest;
  let options: MapOptions | undefined;
  const last = rest.at(-1);
  if (rest.length > 0 && (last === undefined || (typeof last === 'object' && last !== null && !isSyncIterable(last) && !isAsyncIterable(last)))) {
    options = last as MapOptions | undefined;
    iterables = rest.slice(0, -1);
  }
  if (iterables.length === 0) {
    throw new TypeError(`Cannot ${action} as 'iterables' must hold at least one iterable: current value is []`);
  }
  iterables.forEach((iterable, index) => {
    if (!isSyncIterable(iterable) && !isAsyncIterable(iterable)) {
      throw new TypeError(`Cannot ${action} as 'iterables[${index}]' must be an iterable or async iterable: current value is ${describe(iterable)}`);
    }
  });
  return { iterables: iterables as AnyIterable<unknown>[], options };
}

/**
 * Runs `submit` over zipped inputs and yields the outcomes in input or completion order,
 * keeping at most `bufferSize` submitted and not yet yielded. Built once on an executor's
 * submit, for every backend. @internal
 */
export function mapIterables<R>(
  submit: (values: unknown[]) => Future<R>,
  iterables: AnyIterable<unknown>[],
  options: MapOptions | undefined,
  action: string,
): AsyncIterableIterator<R> & AsyncDisposable {
  const checked = checkOptions(options, MAP_OPTION_KEYS, action);
  if (checked.bufferSize !== undefined) checkPositiveInteger(checked.bufferSize, action, 'bufferSize');
  checkTimeout(checked.timeout, action, 'timeout');
  checkSignal(checked.signal, action, 'signal');
  checkBoolean(checked.ordered, action, 'ordered');
  return new MapIterator(new MapRun(submit, iterables, checked));
}

class MapIterator<R> implements AsyncIterableIterator<R>, AsyncDisposable {
  readonly #run: MapRun<R>;
  readonly #generator: AsyncGenerator<R, undefined>;

  constructor(run: MapRun<R>) {
    this.#run = run;
    this.#generator = run.consume();
  }

  next(): Promise<IteratorResult<R>> {
    return this.#generator.next();
  }

  return(value?: unknown): Promise<IteratorResult<R>> {
    this.#run.close();
    return this.#generator.return(value as undefined);
  }

  throw(error?: unknown): Promise<IteratorResult<R>> {
    this.#run.close();
    return this.#generator.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  get [Symbol.toStringTag](): string {
    return 'MapIterator';
  }
}

class MapRun<R> {
  readonly #submit: (values: unknown[]) => Future<R>;
  readonly #iterators: AnyIterator[];
  readonly #async: boolean;
  readonly #bufferSize: number;
  readonly #ordered: boolean;
  /** Ordered: submitted and not yielded, in input order. Unordered: settled and not yielded. */
  readonly #queue = new FifoQueue<Future<R>>();
  /** Unordered only: submitted and not yet settled. */
  readonly #unsettled = new Set<Future<R>>();
  /** Submitted and not yet yielded. */
  #count = 0;
  #inputDone = false;
  #inputError: { error: unknown } | undefined;
  #stopped: { error: unknown } | undefined;
  #deadlinePassed = false;
  #closed = false;
  #pulling = false;
  #timer: TimerHandle | undefined;
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  #wake: (() => void) | undefined;
  #watched: Future<R> | undefined;

  constructor(submit: (values: unknown[]) => Future<R>, iterables: AnyIterable<unknown>[], options: MapOptions) {
    this.#submit = submit;
    this.#bufferSize = options.bufferSize ?? Infinity;
    this.#ordered = options.ordered ?? true;
    this.#async = iterables.some((iterable) => !isSyncIterable(iterable));
    this.#iterators = iterables.map((iterable) =>
      isSyncIterable(iterable) ? iterable[Symbol.iterator]() : (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator](),
    );
    this.#timeout = options.timeout;
    this.#signal = options.signal;
    if (this.#signal?.aborted) {
      this.#stopped = { error: this.#signal.reason };
      this.close();
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#timeout !== undefined) {
      this.#timer = startTimer(this.#timeout, () => {
        this.#timer = undefined;
        this.#deadlinePassed = true;
        this.#wakeUp();
      });
    }
    this.#fill();
  }

  async *consume(): AsyncGenerator<R, undefined> {
    try {
      for (;;) {
        if (this.#stopped !== undefined) throw this.#stopped.error;
        if (this.#closed) return undefined;
        this.#fill();
        const head = this.#queue.peek();
        if (head === undefined || !head.done()) {
          if (head === undefined && this.#count === 0 && this.#inputDone) {
            if (this.#inputError !== undefined) throw this.#inputError.error;
            return undefined;
          }
          if (this.#deadlinePassed) {
            throw new TimeoutError(`map timed out after ${this.#timeout} ms with ${this.#count} results outstanding`);
          }
          await this.#changed(this.#ordered ? head : undefined);
          continue;
        }
        this.#queue.shift();
        this.#count--;
        const outcome = internals.outcome(head as Future<unknown>);
        if (head.state !== 'fulfilled') throw outcome;
        yield outcome as R;
      }
    } finally {
      this.close();
    }
  }

  /** Stops the map: cancels what is outstanding, closes the inputs, stops timer and listener. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancelTimer(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const future of this.#queue.drain()) future.cancel();
    for (const future of this.#unsettled) future.cancel();
    this.#unsettled.clear();
    this.#count = 0;
    if (!this.#inputDone) {
      this.#inputDone = true;
      this.#closeInputs(undefined);
    }
    this.#wakeUp();
  }

  readonly #onAbort = (): void => {
    this.#stopped = { error: this.#signal!.reason };
    this.close();
  };

  readonly #wakeUp = (): void => {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#watched = undefined;
    wake?.();
  };

  readonly #onSettled = (future: Future<R>): void => {
    if (!this.#unsettled.delete(future)) return;
    this.#queue.push(future);
    this.#wakeUp();
  };

  /** Resolves at the next change worth looking at: `head` settles, input arrives, a stop. */
  #changed(head: Future<R> | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      if (head !== undefined && this.#watched !== head) {
        this.#watched = head;
        head.addDoneCallback(this.#wakeUp);
      }
    });
  }

  /** Submits more work while the buffer allows: synchronously for sync inputs, else via the pump. */
  #fill(): void {
    if (this.#inputDone || this.#closed || this.#deadlinePassed || this.#count >= this.#bufferSize) return;
    if (this.#async) {
      if (!this.#pulling) void this.#pump();
      return;
    }
    while (this.#count < this.#bufferSize) {
      let values: unknown[] | undefined;
      try {
        values = this.#pullSync();
      } catch (error) {
        this.#inputFailed(error);
        return;
      }
      if (values === undefined || !this.#submitOne(values)) return;
    }
  }

  async #pump(): Promise<void> {
    this.#pulling = true;
    try {
      while (!this.#inputDone && !this.#closed && !this.#deadlinePassed && this.#count < this.#bufferSize) {
        let values: unknown[] | undefined;
        try {
          values = await this.#pullAsync();
        } catch (error) {
          if (!this.#closed) this.#inputFailed(error);
          break;
        }
        if (this.#closed || values === undefined || !this.#submitOne(values)) break;
        if (this.#watched === undefined) this.#wakeUp();
      }
    } finally {
      this.#pulling = false;
      this.#wakeUp();
    }
  }

  /** The next zipped tuple, or `undefined` (and the other inputs closed) when one input ends. */
  #pullSync(): unknown[] | undefined {
    const iterators = this.#iterators as Iterator<unknown>[];
    const values = new Array<unknown>(iterators.length);
    for (let index = 0; index < iterators.length; index++) {
      const step = iterators[index]!.next();
      if (step.done) {
        this.#inputEnded(iterators[index]!);
        return undefined;
      }
      values[index] = step.value;
    }
    return values;
  }

  async #pullAsync(): Promise<unknown[] | undefined> {
    const steps = await Promise.all(this.#iterators.map((iterator) => iterator.next()));
    const ended = steps.findIndex((step) => step.done);
    if (ended !== -1) {
      if (!this.#closed) this.#inputEnded(this.#iterators[ended]!);
      return undefined;
    }
    return steps.map((step) => step.value);
  }

  #submitOne(values: unknown[]): boolean {
    let future: Future<R>;
    try {
      future = this.#submit(values);
    } catch (error) {
      this.#inputFailed(error);
      this.#closeInputs(undefined);
      return false;
    }
    this.#count++;
    if (this.#ordered) {
      this.#queue.push(future);
    } else {
      this.#unsettled.add(future);
      future.addDoneCallback(this.#onSettled);
    }
    return true;
  }

  #inputEnded(finished: AnyIterator): void {
    this.#inputDone = true;
    this.#closeInputs(finished);
  }

  /** The input failed (or submission did): yield what was submitted, then throw `error`. */
  #inputFailed(error: unknown): void {
    this.#inputDone = true;
    this.#inputError = { error };
  }

  #closeInputs(except: AnyIterator | undefined): void {
    for (const iterator of this.#iterators) {
      if (iterator === except || typeof iterator.return !== 'function') continue;
      try {
        const closing = iterator.return();
        if (closing instanceof Promise) closing.catch(ignore);
      } catch {
        // An input that fails while being closed has nothing left to give.
      }
    }
  }
}
