import { internals, toFutureSet, type Future } from './future.js';
import { checkOptions, checkTimeout } from './internal/validate.js';
import { cancellation } from './errors.js';
import { MapResultsIterator, type MapItem, type MapListener } from './map.js';
import type { Result } from './result.js';
import { resultOf } from './settle.js';
import { Settled } from './work-item.js';

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
  // An unordered map over the futures, each seen through its completion: the map's deadline
  // and `return()` cancel those, never the futures themselves.
  return new AsCompletedIterator<T>({ submit: (values) => new CompletionItem(values[0] as Future<T>) }, [toFutureSet(futures, action)], { timeout, ordered: false }, action);
}

/**
 * The completion of one future, as the map sees an item: it settles once the future has.
 * Cancelling it (the map's deadline, `return()`) only lets go of the future.
 */
class CompletionItem<T> implements MapItem {
  settled: Settled = Settled.NOT_YET;
  outcome: unknown;
  position = 0;
  #map: MapListener | undefined;
  readonly #future: Future<T>;
  readonly #onDone = (): void => this.#end(Settled.FULFILLED, { future: this.#future, result: resultOf(this.#future) });

  constructor(future: Future<T>) {
    this.#future = future;
    future.addDoneCallback(this.#onDone);
  }

  done(): boolean {
    return this.settled !== Settled.NOT_YET;
  }

  cancel(reason?: unknown): boolean {
    if (this.done()) return this.settled === Settled.CANCELLED;
    internals.removeDoneCallback(this.#future as Future<unknown>, this.#onDone);
    this.#end(Settled.CANCELLED, cancellation(reason, false));
    return true;
  }

  whenDone(map: MapListener): void {
    if (this.done()) map.itemSettled(this);
    else this.#map = map;
  }

  #end(settled: Settled, outcome: unknown): void {
    this.settled = settled;
    this.outcome = outcome;
    this.#map?.itemSettled(this);
    this.#map = undefined;
  }
}

class AsCompletedIterator<T> extends MapResultsIterator<Completion<T>> {
  override get [Symbol.toStringTag](): string {
    return 'AsCompletedIterator';
  }
}
