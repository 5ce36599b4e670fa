import { internals, toFutureSet, type Future } from './future.js';
import { checkOptions, checkTimeout } from './internal/validate.js';
import { MapResultsIterator } from './map.js';
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
  // An unordered map over the futures, each seen through a future of its completion: the
  // map's deadline and `return()` cancel those, never the futures themselves.
  return new AsCompletedIterator<T>({ submit: completionOf }, [toFutureSet(futures, action)], { timeout, ordered: false }, action);
}

/** Settles with the completion of `values[0]`; drops its callback there once cancelled. */
function completionOf<T>(values: unknown[]): Future<Completion<T>> {
  const future = values[0] as Future<T>;
  const completion = internals.create<Completion<T>>(undefined);
  const onDone = (): void => void internals.resolve(completion, { future, result: resultOf(future) });
  future.addDoneCallback(onDone);
  completion.addDoneCallback(() => internals.removeDoneCallback(future as Future<unknown>, onDone));
  return completion;
}

class AsCompletedIterator<T> extends MapResultsIterator<Completion<T>> {
  override get [Symbol.toStringTag](): string {
    return 'AsCompletedIterator';
  }
}
