import { TimeoutError } from './errors.js';
import { internals, toFutureSet, type Future } from './future.js';
import { FifoQueue } from './internal/queue.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkOptions, checkTimeout } from './internal/validate.js';
import type { Result } from './result.js';
import { resultOf } from './settle.js';

/**
 * One item of {@link asCompleted}: the future and its outcome as a {@link Result}.
 *
 * @typeParam T - the future's value type.
 * @example
 * ```ts
 * for await (const { future, result } of asCompleted(futures)) console.log(future.state, result);
 * ```
 */
export interface Completion<T> {
  /** The settled future. */
  readonly future: Future<T>;
  /** Its outcome; a cancelled future gives `Err` with its `CancelledError`. */
  readonly result: Result<T>;
}

/**
 * Options of {@link asCompleted}.
 *
 * @example
 * ```ts
 * asCompleted(futures, { timeout: 30_000 });
 * ```
 */
export interface AsCompletedOptions {
  /**
   * Milliseconds from the call; waiting past them throws a `TimeoutError` (the futures still
   * pending are not cancelled).
   * @default none
   */
  timeout?: number;
}

/**
 * Yields each future as it settles, as Python's `concurrent.futures.as_completed`: those
 * already settled first, then in completion order; each future once (duplicates count once).
 *
 * It yields `{ future, result }` rather than the future itself: a future is a thenable, so an
 * async iterator's `yield` (and TypeScript's `for await` typing) would unwrap it into its
 * value. Plain promises are accepted and wrapped with `Future.from`. Breaking out of the loop
 * leaves nothing attached to the futures.
 *
 * @typeParam T - the futures' value type.
 * @param futures - futures or promises.
 * @param options - `{ timeout }`.
 * @returns an async iterator of {@link Completion}s.
 * @throws {TypeError} for an item that is not a future or promise, or bad options.
 * @throws {RangeError} for a negative `timeout`.
 * @throws {TimeoutError} (from the iterator) when the deadline passes with futures pending.
 * @example
 * ```ts
 * for await (const { future, result } of asCompleted(futures, { timeout: 60_000 })) {
 *   if (result.ok) console.log('got', result.value);
 *   else console.error(result.error);
 * }
 * ```
 */
export function asCompleted<T>(futures: Iterable<Future<T> | PromiseLike<T>>, options?: AsCompletedOptions): AsyncIterableIterator<Completion<T>> & AsyncDisposable {
  const { timeout } = checkOptions(options, ['timeout'], 'iterate futures as completed');
  checkTimeout(timeout, 'iterate futures as completed', 'timeout');
  return new AsCompletedIterator(toFutureSet(futures, 'iterate futures as completed'), timeout);
}

class AsCompletedIterator<T> implements AsyncIterableIterator<Completion<T>>, AsyncDisposable {
  readonly #ready = new FifoQueue<Future<T>>();
  readonly #pending = new Set<Future<T>>();
  readonly #total: number;
  readonly #timeout: number | undefined;
  readonly #generator: AsyncGenerator<Completion<T>, undefined>;
  #timer: TimerHandle | undefined;
  #deadlinePassed = false;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(futures: Set<Future<T>>, timeout: number | undefined) {
    this.#total = futures.size;
    this.#timeout = timeout;
    for (const future of futures) {
      if (future.done()) this.#ready.push(future);
      else this.#pending.add(future);
    }
    for (const future of this.#pending) future.addDoneCallback(this.#onDone);
    if (timeout !== undefined && this.#pending.size > 0) {
      this.#timer = startTimer(timeout, () => {
        this.#timer = undefined;
        this.#deadlinePassed = true;
        this.#wakeUp();
      });
    }
    this.#generator = this.#consume();
  }

  next(): Promise<IteratorResult<Completion<T>>> {
    return this.#generator.next();
  }

  return(value?: unknown): Promise<IteratorResult<Completion<T>>> {
    this.#close();
    return this.#generator.return(value as undefined);
  }

  throw(error?: unknown): Promise<IteratorResult<Completion<T>>> {
    this.#close();
    return this.#generator.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  get [Symbol.toStringTag](): string {
    return 'AsCompletedIterator';
  }

  async *#consume(): AsyncGenerator<Completion<T>, undefined> {
    try {
      for (;;) {
        if (this.#closed) return undefined;
        const future = this.#ready.shift();
        if (future !== undefined) {
          yield { future, result: resultOf(future) };
          continue;
        }
        if (this.#pending.size === 0) return undefined;
        if (this.#deadlinePassed) {
          throw new TimeoutError(`${this.#pending.size} (of ${this.#total}) futures unfinished after ${this.#timeout} ms`);
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.#close();
    }
  }

  readonly #onDone = (future: Future<T>): void => {
    if (!this.#pending.delete(future)) return;
    this.#ready.push(future);
    if (this.#pending.size === 0) {
      // Nothing can time out any more: the timer need not outlive the last settlement.
      cancelTimer(this.#timer);
      this.#timer = undefined;
    }
    this.#wakeUp();
  };

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancelTimer(this.#timer);
    for (const future of this.#pending) internals.removeDoneCallback(future as Future<unknown>, this.#onDone);
    this.#pending.clear();
    this.#ready.drain();
    this.#wakeUp();
  }
}
