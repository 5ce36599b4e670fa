/**
 * The outcome of a task as plain data. `Result` values survive `postMessage` and JSON (as far
 * as their value and error do), and narrow with `isOk`/`isErr` or by testing `ok`.
 *
 * @typeParam T - the value of a success.
 * @typeParam E - the error of a failure.
 *
 * @example
 * ```ts
 * const result = await settle(pool.submit(fetchJson, url));
 * if (result.ok) use(result.value); else log(result.error);
 * ```
 */
export type Result<T, E = unknown> = Ok<T> | Err<E>;

/**
 * The success branch of {@link Result}.
 *
 * @typeParam T - the value.
 * @example
 * ```ts
 * const success: Ok<number> = { ok: true, value: 1 };
 * ```
 */
export interface Ok<T> {
  /** `true`: this is a success. */
  readonly ok: true;
  /** The value. */
  readonly value: T;
}

/**
 * The failure branch of {@link Result}.
 *
 * @typeParam E - the error.
 * @example
 * ```ts
 * const failure: Err<Error> = { ok: false, error: new Error('boom') };
 * ```
 */
export interface Err<E> {
  /** `false`: this is a failure. */
  readonly ok: false;
  /** The error (any thrown value, falsy ones included). */
  readonly error: E;
}

/**
 * Makes a successful {@link Result}.
 *
 * @typeParam T - the value's type.
 * @param value - the value.
 * @returns `{ ok: true, value }`.
 *
 * @example
 * ```ts
 * ok(3); // { ok: true, value: 3 }
 * ```
 */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/**
 * Makes a failed {@link Result}.
 *
 * @typeParam E - the error's type.
 * @param error - the error (any value: a rejection may be anything).
 * @returns `{ ok: false, error }`.
 *
 * @example
 * ```ts
 * err(new Error('boom')); // { ok: false, error: Error('boom') }
 * ```
 */
export function err<E>(error: E): Err<E> {
  return { ok: false, error };
}

/**
 * Type guard: is this {@link Result} a success?
 *
 * @typeParam T - the value's type.
 * @typeParam E - the error's type.
 * @param result - the result to test.
 * @returns `true` for `{ ok: true }`.
 *
 * @example
 * ```ts
 * const values = results.filter(isOk).map((r) => r.value);
 * ```
 */
export function isOk<T, E>(result: Result<T, E>): result is Ok<T> {
  return result.ok;
}

/**
 * Type guard: is this {@link Result} a failure?
 *
 * @typeParam T - the value's type.
 * @typeParam E - the error's type.
 * @param result - the result to test.
 * @returns `true` for `{ ok: false }`.
 *
 * @example
 * ```ts
 * const errors = results.filter(isErr).map((r) => r.error);
 * ```
 */
export function isErr<T, E>(result: Result<T, E>): result is Err<E> {
  return !result.ok;
}
