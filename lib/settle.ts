import { internals, toFuture, type Future } from './future.js';
import { err, ok, type Result } from './result.js';

/** The {@link Result} of a settled future (cancelled: `Err` with the cancellation reason). @internal */
export function resultOf<T>(future: Future<T>): Result<T> {
  const outcome = internals.outcome(future as Future<unknown>);
  return future.state === 'fulfilled' ? ok(outcome as T) : err(outcome);
}

/**
 * Turns an outcome into a {@link Result} that never rejects.
 *
 * - `settle(futureOrPromise)`: a promise of `{ ok: true, value }` or `{ ok: false, error }`
 *   (a cancelled future gives `Err` with its `CancelledError`).
 * - `settle(fn)`: a function with `fn`'s parameters that returns such a promise, so that
 *   `pool.map(settle(fn), items)` yields one `Result` per item and never stops on an error.
 *
 * @typeParam T - the value type.
 * @param future - a future, a promise or any thenable.
 * @returns a promise of its {@link Result}; it never rejects.
 * @throws {TypeError} when given neither a thenable nor a function.
 * @example
 * ```ts
 * const result = await settle(pool.submit(fetchJson, url));
 * if (result.ok) console.log(result.value); else console.error(result.error);
 *
 * for await (const r of pool.map(settle(fetchJson), urls, { bufferSize: 8 })) {
 *   if (isErr(r)) console.error(r.error);
 * }
 * ```
 */
export function settle<T>(future: PromiseLike<T>): Promise<Result<Awaited<T>>>;
/**
 * @typeParam A - `fn`'s parameters.
 * @typeParam R - what `fn` returns.
 * @param fn - a sync or async function.
 * @returns `fn` wrapped to resolve to a {@link Result} instead of throwing or rejecting.
 */
export function settle<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Result<Awaited<R>>>;
export function settle(target: unknown): unknown {
  if (typeof target === 'function' && typeof (target as { then?: unknown }).then !== 'function') {
    const fn = target as (...args: unknown[]) => unknown;
    return async function settled(this: unknown, ...args: unknown[]): Promise<Result<unknown>> {
      try {
        return ok(await Reflect.apply(fn, this, args));
      } catch (error) {
        return err(error);
      }
    };
  }
  const future = toFuture(target as PromiseLike<unknown>, 'settle', 'future');
  // Called at once when the future has settled already.
  return new Promise((resolve) => future.addDoneCallback((settled) => resolve(resultOf(settled))));
}
