/**
 * Retry: how many times a task is called, which failures are retried, and how long the
 * scheduler waits before each new attempt (fixed, exponential with jitter, or a function).
 *
 * The scheduler owns the waiting (a task in backoff holds no slot and queues again when the
 * wait ends); this module only decides: {@link RetryPolicy.shouldRetry} and
 * {@link RetryPolicy.delay}.
 *
 * @module
 */
import { BrokenCircuitError, CancelledError } from '../errors.js';
import { check, checkFunction, checkOptions, describe, fail, type Check } from '../internal/validate.js';
import { checkMilliseconds } from './check.js';

/**
 * How the exponential delay `d = min(max, initial * factor ** (attempt - 1))` is randomised:
 * `'full'` waits `random(0, d)`, `'equal'` waits `d / 2 + random(0, d / 2)`, `'none'` waits `d`,
 * and `'decorrelated'` (AWS's formula) waits `min(max, random(initial, previous * 3))`.
 *
 * @example
 * ```ts
 * const jitter: Jitter = 'equal';
 * pool.run(task, { retry: { attempts: 3, backoff: { initial: 50, jitter } } });
 * ```
 */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

/**
 * Exponential backoff with jitter. Every field is optional.
 *
 * @example
 * ```ts
 * const backoff: BackoffOptions = { initial: 200, max: 10_000, factor: 2, jitter: 'full' };
 * ```
 */
export interface BackoffOptions {
  /**
   * Milliseconds before the second attempt (before jitter).
   * @default 100
   */
  initial?: number;
  /**
   * The longest wait in milliseconds, jitter included. At least `initial` when both are given
   * (with one left out, the delay is simply capped: `{ initial: 40_000 }` waits 30 s).
   * @default 30_000
   */
  max?: number;
  /**
   * How much the wait grows from one attempt to the next (1 or more).
   * @default 2
   */
  factor?: number;
  /**
   * How the wait is randomised: see {@link Jitter}.
   * @default 'full'
   */
  jitter?: Jitter;
}

/**
 * What a {@link BackoffFunction} is told: the attempt that just failed (1-based) and its error.
 *
 * @example
 * ```ts
 * const backoff = ({ attempt, error }: BackoffInfo) => (isThrottled(error) ? 1_000 * attempt : undefined);
 * ```
 */
export interface BackoffInfo {
  /** The attempt that just failed, 1 for the first call. */
  readonly attempt: number;
  /** What it failed with. */
  readonly error: unknown;
}

/**
 * Computes the wait before the next attempt in milliseconds, or `undefined` to stop retrying
 * (the future then rejects with `error`). This is how a `Retry-After` is honoured.
 *
 * @example
 * ```ts
 * const honourRetryAfter: BackoffFunction = ({ error }) =>
 *   error instanceof HttpError && error.retryAfter !== undefined ? error.retryAfter * 1_000 : undefined;
 * pool.run(callTheApi, { retry: { attempts: 5, backoff: honourRetryAfter } });
 * ```
 */
export type BackoffFunction = (info: BackoffInfo) => number | undefined;

/**
 * What `onRetry` is told before each wait: the attempt that just failed, its error, and the
 * milliseconds the scheduler is about to wait.
 *
 * @example
 * ```ts
 * const onRetry = ({ attempt, error, delay }: RetryInfo) => console.warn(`attempt ${attempt} failed (${error}); again in ${delay} ms`);
 * ```
 */
export interface RetryInfo {
  /** The attempt that just failed, 1 for the first call. */
  readonly attempt: number;
  /** What it failed with. */
  readonly error: unknown;
  /** Milliseconds until the next attempt is queued again. */
  readonly delay: number;
}

/**
 * The `retry` option of an executor or of `run()`.
 *
 * @example
 * ```ts
 * const pool = new TaskPoolExecutor({ retry: { attempts: 4, backoff: { initial: 200, jitter: 'full' } } });
 * pool.run(() => fetch(url), { retry: { attempts: 2, backoff: 1_000, retryIf: (error) => error instanceof TypeError } });
 * ```
 */
export interface RetryOptions {
  /**
   * How many times the task is called at most, the first call included (1: no retry);
   * `Infinity` retries until a `deadline`, a cancellation or `retryIf` stops it.
   * @default 1
   */
  attempts?: number;
  /**
   * The wait before each new attempt: a number of milliseconds (fixed), {@link BackoffOptions},
   * or a {@link BackoffFunction}.
   * @default the {@link BackoffOptions} defaults: `{ initial: 100, max: 30_000, factor: 2, jitter: 'full' }`
   */
  backoff?: number | BackoffOptions | BackoffFunction;
  /**
   * Whether a failure is retried, given the error and the attempt that just failed. Called
   * synchronously; it must return a boolean (anything else is reported as a `TypeError`, and
   * the task is not retried).
   * @default every failure except a `CancelledError` and a `BrokenCircuitError`
   */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, with the failed attempt, its error and the delay. */
  onRetry?: (info: RetryInfo) => void;
}

const JITTERS: readonly string[] = ['full', 'equal', 'decorrelated', 'none'];

const checkJitter: Check = (value, action, name) => check(value, 'string', `one of '${JITTERS.join("', '")}'`, action, name, (jitter: string) => JITTERS.includes(jitter));

const checkFactor: Check = (value, action, name) => check(value, 'number', 'a finite number of 1 or more', action, name, (factor: number) => factor >= 1 && factor < Infinity);

const BACKOFF_OPTIONS = { initial: checkMilliseconds, max: checkMilliseconds, factor: checkFactor, jitter: checkJitter };

const checkBackoff: Check = (value, action, name) => {
  if (typeof value === 'number') return checkMilliseconds(value, action, name);
  if (typeof value === 'function') return;
  if (typeof value !== 'object' || value === null) fail(TypeError, 'a number of milliseconds, an object or a function', action, name, value);
  checkOptions(value, BACKOFF_OPTIONS, action, name);
  // Both given, max below initial is a mistake. With one left out, the delay is capped (d = min(max, ...)):
  // the comparison, with `undefined`, is false.
  const { initial, max } = value as { initial: number; max: number };
  if (max < initial) fail(RangeError, `at least '${name}.initial' (${initial})`, action, `${name}.max`, max);
};

/** `retry.attempts`: a positive integer, or `Infinity` (retry until a `deadline`, a cancellation or `retryIf` stops it). @internal */
export const checkAttempts: Check = (value, action, name) => check(value, 'number', 'a positive integer or Infinity', action, name, (attempts: number) => attempts === Infinity || (Number.isSafeInteger(attempts) && attempts > 0));

const RETRY_OPTIONS = { attempts: checkAttempts, backoff: checkBackoff, retryIf: checkFunction, onRetry: checkFunction };

/**
 * Checks a `retry` option: an object with only the keys of {@link RetryOptions}, each valid.
 * Messages name the nested option, e.g. `'retry.attempts'` or `'retry.backoff.jitter'` when
 * called with the name `'retry'`.
 *
 * @throws {TypeError} for a value of the wrong type or an unknown key; `RangeError` for a
 *   value out of range (`attempts` neither a positive integer nor `Infinity`, a negative delay, `factor` below 1,
 *   `max` below `initial`).
 */
export const checkRetry: Check = (value, action, name) => void checkOptions(value as object, RETRY_OPTIONS, action, name);

/** The default `retryIf`: every failure except a cancellation and a refusal by an open breaker. */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof CancelledError) && !(error instanceof BrokenCircuitError);
}

/** The backoff options with the defaults in place of those left out; the queue's workers read a job's backoff with it too. @internal */
export function withDefaults({ initial = 100, max = 30_000, factor = 2, jitter = 'full' }: BackoffOptions = {}): Required<BackoffOptions> {
  return { initial, max, factor, jitter };
}

/**
 * A checked retry policy, built once per `retry` option and shared by the tasks that use it.
 * It holds no state of its own: what one task has done so far (its attempt, its last delay)
 * is the scheduler's.
 *
 * @internal
 */
export class RetryPolicy {
  /** How many calls at most, the first included. */
  readonly attempts: number;
  /** The user's `onRetry`, for the scheduler to call before each wait. */
  readonly onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #retryIf: (error: unknown, attempt: number) => boolean;
  readonly #backoff: number | Required<BackoffOptions> | BackoffFunction;
  readonly #random: () => number;

  /**
   * @param options - a `retry` option, checked with {@link checkRetry} beforehand.
   * @param random - the random source of jitter, `[0, 1)` as `Math.random` (tests pass their own).
   */
  constructor(options: RetryOptions = {}, random: () => number = Math.random) {
    this.attempts = options.attempts ?? 1;
    this.onRetry = options.onRetry;
    this.#retryIf = options.retryIf ?? isRetryable;
    const { backoff } = options;
    this.#backoff = typeof backoff === 'number' || typeof backoff === 'function' ? backoff : withDefaults(backoff);
    this.#random = random;
  }

  /**
   * Whether attempt `attempt` (1-based, the one that just failed with `error`) is followed by
   * another: only when attempts remain and `retryIf(error, attempt)` says so.
   *
   * @throws what `retryIf` throws; a `TypeError` when it returns anything but a boolean (a
   *   promise, say: it is called synchronously), so that the task is not retried.
   */
  shouldRetry(error: unknown, attempt: number): boolean {
    if (attempt >= this.attempts) return false;
    const verdict = this.#retryIf(error, attempt);
    if (typeof verdict !== 'boolean') throw new TypeError(`'retryIf' must return a boolean: it returned ${describe(verdict)}`);
    return verdict;
  }

  /**
   * Milliseconds to wait after attempt `attempt` failed with `error`, or `undefined` when a
   * backoff function says to stop. `previousDelay` is what this method returned after the
   * attempt before (`undefined` after the first), which `'decorrelated'` jitter grows from.
   *
   * @throws what a backoff function throws; a `TypeError`/`RangeError` when it returns
   *   something other than `undefined` or a non-negative finite number.
   */
  delay(attempt: number, error: unknown, previousDelay: number | undefined): number | undefined {
    const backoff = this.#backoff;
    if (typeof backoff === 'number') return backoff;
    if (typeof backoff === 'function') {
      const ms = backoff({ attempt, error });
      if (ms !== undefined) checkReturnedDelay(ms);
      return ms;
    }
    const { initial, max, factor, jitter } = backoff;
    if (jitter === 'decorrelated') {
      const previous = previousDelay ?? initial;
      const upper = Math.max(initial, previous * 3);
      return Math.min(max, initial + this.#random() * (upper - initial));
    }
    const exponential = Math.min(max, initial * factor ** (attempt - 1));
    if (jitter === 'none') return exponential;
    if (jitter === 'equal') return exponential / 2 + this.#random() * (exponential / 2);
    return this.#random() * exponential;
  }
}

function checkReturnedDelay(ms: unknown): void {
  if (typeof ms === 'number' && ms >= 0 && ms < Infinity) return;
  const ErrorType = typeof ms === 'number' ? RangeError : TypeError;
  throw new ErrorType(
    `Cannot wait before the next attempt as the value returned by 'retry.backoff' must be undefined or a non-negative finite number of milliseconds: current value is ${describe(ms)}`,
  );
}
