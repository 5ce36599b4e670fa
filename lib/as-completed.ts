import { TimeoutError } from './errors.js';
import { internals, toFutureSet, type Future } from './future.js';
import { FifoQueue } from './internal/queue.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkOptions, checkTimeout } from './internal/validate.js';
import { SerialIterator } from './map.js';
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
 * Futures of different types, mixed with promises, give the union of their value types
 * (`Completion<A | B>`) without any annotation.
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
export function asCompleted<T>(futures: Iterable<Future<T> | PromiseLike<T>>, options?: AsCompletedOptions): AsyncIterableIterator<Completion<T>> & AsyncDisposable;
export function asCompleted<F>(futures: Iterable<F & PromiseLike<unknown>>, options?: AsCompletedOptions): AsyncIterableIterator<Completion<Awaited<F>>> & AsyncDisposable;
export function asCompleted<T>(futures: Iterable<Future<T> | PromiseLike<T>>, options?: AsCompletedOptions): AsyncIterableIterator<Completion<T>> & AsyncDisposable {
  const action = 'iterate futures as completed';
  const { timeout } = checkOptions(options, { timeout: checkTimeout }, action);
  return new AsCompletedIterator(toFutureSet(futures, action), timeout, action);
}

/**
 * The iterator {@link asCompleted} returns. `#settled` holds the futures settled and not yet
 * yielded, in completion order; `#pending` the others, each with `#onDone` attached. Closing
 * it (or the deadline) detaches every callback: the futures themselves are never cancelled.
 */
class AsCompletedIterator<T> extends SerialIterator<Completion<T>> {
  readonly #pending = new Set<Future<T>>();
  readonly #settled = new FifoQueue<Future<T>>();
  readonly #timeout: number | undefined;
  readonly #action: string;
  #timer: TimerHandle | undefined;
  #deadline: TimeoutError | undefined;
  #closed = false;

  constructor(futures: Set<Future<T>>, timeout: number | undefined, action: string) {
    super();
    this.#timeout = timeout;
    this.#action = action;
    for (const future of futures) {
      if (future.done()) this.#settled.push(future);
      else this.#pending.add(future);
    }
    if (timeout !== undefined && this.#pending.size > 0) this.#timer = startTimer(timeout, this.#onDeadline);
    // A pending future does not call back at once: none leaves `#pending` during this loop.
    for (const future of this.#pending) future.addDoneCallback(this.#onDone);
  }

  get [Symbol.toStringTag](): string {
    return 'AsCompletedIterator';
  }

  protected step(): IteratorResult<Completion<T>> | undefined {
    if (!this.#closed) {
      const future = this.#settled.shift();
      if (future !== undefined) return { value: { future, result: resultOf(future) }, done: false };
      const deadline = this.#deadline;
      if (deadline !== undefined) {
        this.close();
        throw deadline;
      }
      if (this.#pending.size > 0) return undefined;
      this.close();
    }
    return { value: undefined, done: true };
  }

  protected end(): void {
    this.close();
  }

  /** Detaches from every future still pending and stops the timer. */
  protected close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    this.#settled.drain();
    this.wake();
  }

  #detach(): void {
    cancelTimer(this.#timer);
    for (const future of this.#pending) internals.removeDoneCallback(future as Future<unknown>, this.#onDone);
    this.#pending.clear();
  }

  readonly #onDone = (future: Future<T>): void => {
    if (!this.#pending.delete(future)) return;
    this.#settled.push(future);
    if (this.#pending.size === 0) cancelTimer(this.#timer);
    this.wake();
  };

  /** The futures settled by then are still yielded, then the `TimeoutError` is thrown. */
  readonly #onDeadline = (): void => {
    this.#deadline = new TimeoutError(`Cannot ${this.#action} beyond its 'timeout' of ${this.#timeout} ms: ${this.#pending.size} unfinished`);
    this.#detach();
    this.wake();
  };
}
