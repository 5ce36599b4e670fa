/**
 * Error classes raised by executors and futures.
 *
 * Each class has a fixed `name`, and `instanceof` works across the ESM and CommonJS builds of
 * the same version (the check looks for a brand registered with `Symbol.for`, not for the class
 * object), so `error instanceof CancelledError` holds even when both builds are loaded.
 * Checking `error.name === 'CancelledError'` works everywhere too.
 *
 * @module
 */

const brand: unique symbol = Symbol.for('taskpool.error.brand') as never;

type Branded = { [brand]?: Record<string, true> };

/** Our error classes and the name each one brands its instances with. */
const brandNames = new WeakMap<object, string>();

/**
 * The base of the library's errors (not exported from the package): sets `name` and a brand that the
 * ESM and CommonJS copies of each class recognise. `instanceof` on one of our classes checks
 * the brand; on a user's subclass of it, the ordinary prototype chain.
 */
export abstract class BrandedError extends Error {
  /**
   * `instanceof` that also recognises errors made by the other build (ESM or CommonJS) of
   * this package.
   *
   * @param value - what is tested.
   * @returns whether `value` is an instance of this class.
   * @example
   * ```ts
   * const error = await future.exception().catch((reason) => reason);
   * error instanceof CancelledError; // true for a cancelled future, whichever build made it
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    const name = brandNames.get(this);
    if (name === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && (value as Branded | null)?.[brand]?.[name] === true;
  }

  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
    Object.defineProperty(this, brand, { value: { [name]: true }, configurable: true });
  }
}

/**
 * Makes `instanceof type` check the brand `name`, which instances of `type` (a subclass of
 * {@link BrandedError} that passes `name` to it) carry, in every build. @internal
 */
export function registerBrand(type: abstract new (...args: never[]) => BrandedError, name: string): void {
  brandNames.set(type, name);
}

/**
 * The future was cancelled before it produced an outcome. Mirrors Python's
 * `concurrent.futures.CancelledError`.
 *
 * @example
 * ```ts
 * const future = pool.submit(() => 1);
 * future.cancel();
 * await future.result().catch((error) => error instanceof CancelledError); // true if it had not started
 * ```
 */
export class CancelledError extends BrandedError {
  static {
    registerBrand(this, 'CancelledError');
  }

  /**
   * @param message - what was cancelled; a default is used when omitted.
   * @param options - `{ cause }`, the reason given to `cancel()` when there was one.
   */
  constructor(message = 'Cancelled', options?: ErrorOptions) {
    super('CancelledError', message, options);
  }
}

/**
 * The error `cancel(reason)` settles with: `reason` is its `cause`, and its message when it is a
 * string; otherwise the message names the executor, when there is one, and says whether the
 * task had started. @internal
 */
export function cancellation(reason: unknown, running: boolean, executor?: string): CancelledError {
  const message =
    typeof reason === 'string'
      ? reason
      : `${executor === undefined ? 'Cancelled' : `Task on executor '${executor}' cancelled`} ${running ? 'while running' : 'before it started'}`;
  return new CancelledError(message, reason === undefined ? undefined : { cause: reason });
}

/**
 * A deadline passed: a task's `timeout`, or the `timeout` of `result()`, `exception()`,
 * `map()` or `asCompleted()`. Mirrors Python's `TimeoutError`.
 *
 * @example
 * ```ts
 * const future = pool.run(() => new Promise(() => {}), { timeout: 10 });
 * await future.exception(); // TimeoutError
 * ```
 */
export class TimeoutError extends BrandedError {
  static {
    registerBrand(this, 'TimeoutError');
  }

  /**
   * @param message - what timed out; a default is used when omitted.
   * @param options - standard `ErrorOptions`.
   */
  constructor(message = 'Timed out', options?: ErrorOptions) {
    super('TimeoutError', message, options);
  }
}

/**
 * An operation is not allowed in the object's current state. Mirrors Python's
 * `concurrent.futures.InvalidStateError`.
 *
 * @example
 * ```ts
 * class Job {
 *   #finished = false;
 *   finish(): void {
 *     if (this.#finished) throw new InvalidStateError('Cannot finish the job as it has already finished');
 *     this.#finished = true;
 *   }
 * }
 * const job = new Job();
 * job.finish();
 * try { job.finish(); } catch (error) { error instanceof InvalidStateError; } // true
 * ```
 */
export class InvalidStateError extends BrandedError {
  static {
    registerBrand(this, 'InvalidStateError');
  }

  /**
   * @param message - what was attempted and why it is not allowed.
   * @param options - standard `ErrorOptions`.
   */
  constructor(message = 'Invalid state', options?: ErrorOptions) {
    super('InvalidStateError', message, options);
  }
}

/**
 * Work was submitted to an executor after `shutdown()` was called. Python raises a
 * `RuntimeError` here.
 *
 * @example
 * ```ts
 * await pool.shutdown();
 * try { pool.submit(() => 1); } catch (error) { error instanceof ExecutorShutdownError; } // true
 * ```
 */
export class ExecutorShutdownError extends BrandedError {
  static {
    registerBrand(this, 'ExecutorShutdownError');
  }

  /**
   * @param message - names the executor and what to do instead.
   * @param options - standard `ErrorOptions`.
   */
  constructor(message = 'The executor has been shut down', options?: ErrorOptions) {
    super('ExecutorShutdownError', message, options);
  }
}

/** The error of a submit to executor `name` after its `shutdown()`. @internal */
export function submittedAfterShutdown(name: string): ExecutorShutdownError {
  return new ExecutorShutdownError(`Cannot submit to executor '${name}' as it has been shut down: submit before shutdown(), or create a new executor`);
}

/**
 * The executor can no longer run tasks (for example a worker could not start). Every queued
 * future fails with it. Mirrors Python's `BrokenExecutor`.
 *
 * @example
 * ```ts
 * const outcome = await settle(future);
 * if (!outcome.ok && outcome.error instanceof BrokenExecutorError) replaceThePool();
 * ```
 */
export class BrokenExecutorError extends BrandedError {
  static {
    registerBrand(this, 'BrokenExecutorError');
  }

  /**
   * @param message - what broke and what to do next.
   * @param options - `{ cause }`: the underlying failure.
   */
  constructor(message = 'The executor is broken', options?: ErrorOptions) {
    super('BrokenExecutorError', message, options);
  }
}

/**
 * A task was refused because its circuit breaker is open (or a half-open breaker's probe has
 * just failed): the task never ran. The default `retryIf` of a retry policy does not retry it.
 * Cockatiel and Polly name the same condition `BrokenCircuitError`.
 *
 * @example
 * ```ts
 * const outcome = await settle(pool.run(() => callTheService()));
 * if (!outcome.ok && outcome.error instanceof BrokenCircuitError) serveFromCache();
 * ```
 */
export class BrokenCircuitError extends BrandedError {
  static {
    registerBrand(this, 'BrokenCircuitError');
  }

  /**
   * @param message - which executor refused the task and when the breaker lets a probe through.
   * @param options - standard `ErrorOptions`.
   */
  constructor(message = 'The circuit is open', options?: ErrorOptions) {
    super('BrokenCircuitError', message, options);
  }
}
