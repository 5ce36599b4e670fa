/**
 * `memoize(fn, { ttl })`: one call per key while it is in flight, and its fulfilled promise
 * reused for `ttl` milliseconds. Python's `functools.cache` pattern for async functions, with
 * an expiry and an LRU bound.
 *
 * @module
 */
import { now } from '../internal/timers.js';
import { checkFunction, checkOptions, checkPositiveInteger, checkTimeout } from '../internal/validate.js';
import { checkRequired } from './check.js';

/**
 * Options of {@link memoize}.
 *
 * @typeParam A - the parameters of the memoized function.
 * @example
 * ```ts
 * const options: MemoizeOptions<[string, number]> = { ttl: 60_000, maxSize: 1_000, key: (sku, quantity) => `${sku}x${quantity}` };
 * ```
 */
export interface MemoizeOptions<A extends unknown[] = unknown[]> {
  /**
   * Milliseconds a fulfilled promise is reused, from when it fulfils (`0`: only calls in flight
   * are shared; `Infinity`: until evicted). Required.
   */
  ttl: number;
  /**
   * How many fulfilled results are kept at most; past it the least recently used goes (a
   * positive integer). Calls in flight are not counted, and always shared.
   * @default no limit
   */
  maxSize?: number;
  /**
   * Computes the cache key of a call, compared as a `Map` key (objects by identity).
   * @default the first argument
   */
  key?: (...args: A) => unknown;
}

/** A fulfilled result and when it expires. */
type Entry = readonly [promise: Promise<unknown>, expires: number];

const ACTION = 'memoize a function';

/** How many least recently used entries each call looks at to drop expired ones. */
const SWEEP = 2;

/**
 * Wraps `fn` so that calls with the same key share one promise: the call in flight, then its
 * fulfilled result for `ttl` ms. A rejection is never cached (the next call calls `fn` again).
 * The wrapper always returns a promise: a synchronous throw becomes a rejection. It starts no
 * timer: an entry expires when it is next looked at (each call also drops a few expired
 * entries), and `maxSize` bounds how many fulfilled results are kept (a call in flight is
 * shared whatever `maxSize` is, and enters the cache as it fulfils).
 *
 * @typeParam A - `fn`'s parameters, kept as they are (optional ones stay optional), and inferred
 *   from `fn` alone: the `key` option is typed from them, never the other way (written
 *   `[A][A extends unknown ? 0 : never]`, so that `key: (a, b) => ...` cannot make an optional
 *   `b` of `fn` required).
 * @typeParam R - what `fn` returns; the wrapper returns `Promise<Awaited<R>>`.
 * @param fn - the function to memoize, sync or async.
 * @param options - `{ ttl, maxSize?, key? }`: see {@link MemoizeOptions}.
 * @returns a function with `fn`'s parameters.
 * @throws {TypeError} when `fn` is no function, `ttl` is missing, or an option has the wrong
 *   type or an unknown key; `RangeError` for a negative `ttl` or a `maxSize` that is not a
 *   positive integer.
 * @example
 * ```ts
 * const cachedPrice = memoize(fetchPrice, { ttl: 60_000, maxSize: 1_000 });
 * const [a, b] = await Promise.all([cachedPrice('sku-1'), cachedPrice('sku-1')]); // one fetchPrice call
 * ```
 */
export function memoize<A extends unknown[], R>(fn: (...args: A) => R, options: MemoizeOptions<[A][A extends unknown ? 0 : never]>): (...args: A) => Promise<Awaited<R>> {
  checkFunction(fn, ACTION, 'fn');
  checkRequired(options, 'an object', ACTION, 'options');
  const { ttl, maxSize = Infinity, key } = checkOptions(options, { ttl: checkTimeout, maxSize: checkPositiveInteger, key: checkFunction }, ACTION);
  checkRequired(ttl, 'a non-negative number of milliseconds', ACTION, 'ttl');
  /** Fulfilled results, least recently used first. */
  const cache = new Map<unknown, Entry>();
  /** Calls in flight. */
  const flights = new Map<unknown, Promise<unknown>>();

  return function memoized(this: unknown, ...args: A): Promise<Awaited<R>> {
    let cacheKey: unknown;
    try {
      cacheKey = key === undefined ? args[0] : (key as (...args: A) => unknown)(...args);
    } catch (error) {
      return Promise.reject(error);
    }
    const flight = flights.get(cacheKey);
    if (flight !== undefined) return flight as Promise<Awaited<R>>;
    const time = now();
    const cached = cache.get(cacheKey);
    if (cached !== undefined) {
      cache.delete(cacheKey);
      if (time < cached[1]) {
        // Most recently used: to the end of the Map's order.
        cache.set(cacheKey, cached);
        return cached[0] as Promise<Awaited<R>>;
      }
    }
    // A few of the least recently used entries go, when expired.
    let looked = 0;
    for (const [oldKey, entry] of cache) {
      if (looked++ === SWEEP) break;
      if (entry[1] <= time) cache.delete(oldKey);
    }
    let promise: Promise<Awaited<R>>;
    try {
      promise = Promise.resolve(fn.apply(this, args)) as Promise<Awaited<R>>;
    } catch (error) {
      promise = Promise.reject(error);
    }
    flights.set(cacheKey, promise);
    const land = (): void => void flights.delete(cacheKey);
    promise.then(() => {
      land();
      if (ttl === 0) return;
      cache.set(cacheKey, [promise, now() + ttl]);
      if (cache.size > maxSize) cache.delete(cache.keys().next().value);
    }, land);
    return promise;
  };
}
