/**
 * Circuit breaker: stops starting tasks against a service that keeps failing, then lets one
 * probe at a time through to find out whether it is back.
 *
 * `closed` (tasks start; failures are counted) → `open` after too many failures (tasks are
 * refused with a `BrokenCircuitError` and never run) → `half-open` once `halfOpenAfter` ms have
 * passed (one probe at a time; the others wait in their queue) → `closed` after
 * `successThreshold` successful probes, or `open` again at the first failed probe.
 *
 * @module
 */
import { BrokenCircuitError, CancelledError } from '../errors.js';
import { reportError } from '../internal/report.js';
import { now as currentTime } from '../internal/timers.js';
import { check, checkFunction, checkOptions, checkPositiveInteger, fail, type Check } from '../internal/validate.js';
import { checkMilliseconds, checkPositiveMilliseconds, checkRequired } from './check.js';

/**
 * The states of a {@link CircuitBreaker}.
 *
 * @example
 * ```ts
 * if (breaker.state === CircuitState.OPEN) showServiceDownBanner();
 * ```
 */
export const CircuitState = {
  /** Tasks start; failures are counted. */
  CLOSED: 'closed',
  /** Tasks are refused with a `BrokenCircuitError` until `halfOpenAfter` has passed. */
  OPEN: 'open',
  /** One probe at a time runs; the other tasks wait in their queue. */
  HALF_OPEN: 'half-open',
} as const;
/** `'closed' | 'open' | 'half-open'`. */
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/**
 * Options of a {@link CircuitBreaker}. Give `consecutiveFailures`, `failureRatio`, or both (it
 * then opens when either says so); `minimumThroughput` and `window` go with `failureRatio`.
 *
 * @example
 * ```ts
 * const byCount = new CircuitBreaker({ consecutiveFailures: 5, halfOpenAfter: 30_000 });
 * const byRatio = new CircuitBreaker({ failureRatio: 0.5, minimumThroughput: 20, window: 10_000, halfOpenAfter: 5_000 });
 * ```
 */
export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row (a positive integer). */
  consecutiveFailures?: number;
  /**
   * Opens when at least this share of the calls that ended in the last `window` ms failed
   * (a number above 0, at most 1), once there were `minimumThroughput` of them.
   */
  failureRatio?: number;
  /**
   * How many calls must have ended in the `window` before `failureRatio` can open the breaker
   * (a positive integer). Only with `failureRatio`.
   * @default 10
   */
  minimumThroughput?: number;
  /**
   * The sliding window of `failureRatio`, in milliseconds. Only with `failureRatio`.
   * @default 30_000
   */
  window?: number;
  /** Milliseconds the breaker stays open before it lets a probe through. Required. */
  halfOpenAfter: number;
  /**
   * Successful probes in a row that close a half-open breaker (a positive integer).
   * @default 1
   */
  successThreshold?: number;
  /**
   * Whether an error counts as a failure of the service. Errors it returns `false` for, like
   * cancellations, count neither as failures nor as successes.
   * @default every error
   */
  isFailure?: (error: unknown) => boolean;
}

/**
 * Called with the new state and the one before it.
 *
 * @example
 * ```ts
 * const listener: CircuitStateListener = (state, previous) => console.log(`breaker ${previous} → ${state}`);
 * ```
 */
export type CircuitStateListener = (state: CircuitState, previous: CircuitState) => void;

/** What {@link CircuitBreaker.acquire} answers. @internal */
export type CircuitPermit = 'start' | 'probe' | 'refuse' | 'wait';

/** How one started task ended, for {@link CircuitBreaker.release}. @internal */
export type CircuitOutcome = 'success' | 'failure' | 'ignore';

const checkRatio: Check = (value, action, name) => check(value, 'number', 'a number above 0 and at most 1', action, name, (ratio: number) => ratio > 0 && ratio <= 1);

const OPTIONS = {
  consecutiveFailures: checkPositiveInteger,
  failureRatio: checkRatio,
  minimumThroughput: checkPositiveInteger,
  window: checkPositiveMilliseconds,
  halfOpenAfter: checkMilliseconds,
  successThreshold: checkPositiveInteger,
  isFailure: checkFunction,
};

const ACTION = 'create CircuitBreaker';

/** What every breaker carries, in the ESM and the CommonJS build alike (see {@link isCircuitBreaker}). */
const BREAKER: unique symbol = Symbol.for('taskpool.CircuitBreaker') as never;

/**
 * Whether `value` is a {@link CircuitBreaker} of this package, from either build (ESM or
 * CommonJS): an executor of one build takes a breaker made by the other. @internal
 */
export function isCircuitBreaker(value: unknown): value is CircuitBreaker {
  return typeof value === 'object' && value !== null && (value as { [BREAKER]?: unknown })[BREAKER] === true;
}

/**
 * A circuit breaker, given to an executor as its `breaker` option (or to `run()`); one
 * instance may be shared by several executors, which then see the same service health.
 *
 * The open → half-open transition happens when it is next looked at (`state`, or an executor
 * about to start a task) once `halfOpenAfter` ms have passed: the breaker starts no timer, so
 * it never keeps a process alive. Listeners hear of it then.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ consecutiveFailures: 5, halfOpenAfter: 30_000 });
 * const pool = new TaskPoolExecutor({ maxWorkers: 8, breaker });
 * breaker.onStateChange((state, previous) => console.log(`payments API: ${previous} → ${state}`));
 * ```
 */
export class CircuitBreaker {
  readonly #consecutiveFailures: number;
  readonly #failureRatio: number;
  readonly #minimumThroughput: number;
  readonly #window: number;
  readonly #halfOpenAfter: number;
  readonly #successThreshold: number;
  readonly #isFailure: ((error: unknown) => boolean) | undefined;

  #state: CircuitState = 'closed';
  /** When the state last changed (while open: when the breaker opened). */
  #changedAt = 0;
  /** Failures in a row while closed. */
  #failuresInARow = 0;
  /** Successful probes in a row while half-open. */
  #probeSuccesses = 0;
  #probeInFlight = false;
  /**
   * The calls in the ratio's window, oldest first from `#head`: for each, its end time then its
   * outcome (1 = failed).
   */
  #calls: number[] = [];
  #head = 0;
  /** The failed calls in the window. */
  #failures = 0;
  readonly #listeners: Callbacks = new Set();
  readonly #wakers: Callbacks = new Set();

  /** @internal See {@link isCircuitBreaker}. */
  get [BREAKER](): true {
    return true;
  }

  /**
   * @param options - see {@link CircuitBreakerOptions}.
   * @throws {TypeError} for a missing `halfOpenAfter`, neither `consecutiveFailures` nor
   *   `failureRatio`, `minimumThroughput` or `window` without `failureRatio`, a mistyped value or
   *   an unknown key; `RangeError` for a value out of range.
   */
  constructor(options: CircuitBreakerOptions) {
    checkRequired(options, 'an object', ACTION, 'options');
    const checked = checkOptions(options, OPTIONS, ACTION);
    const { consecutiveFailures, failureRatio, minimumThroughput, window, halfOpenAfter } = checked;
    // Required: left out, it fails its check.
    checkMilliseconds(halfOpenAfter, ACTION, 'halfOpenAfter');
    if (consecutiveFailures === undefined && failureRatio === undefined) fail(TypeError, 'given', ACTION, "consecutiveFailures' or 'failureRatio", undefined);
    if (failureRatio === undefined) {
      for (const name of ['minimumThroughput', 'window'] as const) if (checked[name] !== undefined) fail(TypeError, "given only with 'failureRatio'", ACTION, name, checked[name]);
    }
    this.#consecutiveFailures = consecutiveFailures ?? Infinity;
    this.#failureRatio = failureRatio ?? Infinity;
    this.#minimumThroughput = minimumThroughput ?? 10;
    this.#window = window ?? 30_000;
    this.#halfOpenAfter = halfOpenAfter;
    this.#successThreshold = checked.successThreshold ?? 1;
    this.#isFailure = checked.isFailure;
  }

  /**
   * `'closed'`, `'open'` or `'half-open'`. Reading it moves an open breaker whose
   * `halfOpenAfter` has passed to `'half-open'`.
   *
   * @example
   * ```ts
   * if (breaker.state !== 'closed') console.warn('the service is unhealthy');
   * ```
   */
  get state(): CircuitState {
    this.#halfOpenIfDue(currentTime());
    return this.#state;
  }

  /**
   * Calls `listener(state, previousState)` at every change of state, until the returned
   * function is called. A throwing listener is reported and does not stop the others.
   *
   * @param listener - called synchronously at each change.
   * @returns a function that removes the listener.
   * @example
   * ```ts
   * const unsubscribe = breaker.onStateChange((state, previous) => metrics.gauge('breaker', state));
   * unsubscribe();
   * ```
   */
  onStateChange(listener: CircuitStateListener): () => void {
    checkFunction(listener, 'listen to a CircuitBreaker', 'listener');
    return subscribe(this.#listeners, listener);
  }

  /**
   * Asks whether a task may start at `now`: `'start'` (closed), `'probe'` (half-open, and the
   * task is the probe: the caller must {@link CircuitBreaker.release} it with `'probe'`),
   * `'refuse'` (open: reject the task with {@link CircuitBreaker.refusal}), or `'wait'`
   * (half-open with the probe in flight: keep the task queued until a waker is called).
   *
   * @internal
   */
  acquire(now: number): CircuitPermit {
    this.#halfOpenIfDue(now);
    if (this.#state === 'closed') return 'start';
    if (this.#state === 'open') return 'refuse';
    if (this.#probeInFlight) return 'wait';
    this.#probeInFlight = true;
    return 'probe';
  }

  /**
   * Reports how a task that {@link CircuitBreaker.acquire} let start ended. `permit` is what
   * `acquire` returned for it (`'start'` or `'probe'`); `outcome` is `'success'`, `'failure'`,
   * or `'ignore'` (see {@link CircuitBreaker.classify}). An ended probe frees the probe slot
   * and wakes the waiting executors.
   *
   * @internal
   */
  release(permit: 'start' | 'probe', outcome: CircuitOutcome, now: number): void {
    if (permit === 'probe') {
      // Still half-open: only the probe in flight, this one, can move the breaker on from there.
      this.#probeInFlight = false;
      if (outcome === 'failure') return this.#transition('open', now);
      if (outcome === 'success' && ++this.#probeSuccesses >= this.#successThreshold) return this.#transition('closed', now);
      return this.#wake();
    }
    // A call that started while closed and ends after the breaker changed state: only the
    // probes decide a half-open breaker, and an open one has already decided.
    if (this.#state !== 'closed' || outcome === 'ignore') return;
    const failed = outcome === 'failure' ? 1 : 0;
    this.#failuresInARow = failed ? this.#failuresInARow + 1 : 0;
    this.#record(now, failed);
    if (!failed) return;
    const calls = (this.#calls.length - this.#head) / 2;
    const tripped =
      this.#failuresInARow >= this.#consecutiveFailures || (calls >= this.#minimumThroughput && this.#failures / calls >= this.#failureRatio);
    if (tripped) this.#transition('open', now);
  }

  /**
   * How an error counts: `'ignore'` for a `CancelledError` and for errors `isFailure` rejects,
   * `'failure'` otherwise (a throwing `isFailure` is reported, and the error counts as a failure).
   *
   * @internal
   */
  classify(error: unknown): CircuitOutcome {
    try {
      return error instanceof CancelledError || this.#isFailure?.(error) === false ? 'ignore' : 'failure';
    } catch (thrown) {
      reportError("the 'isFailure' of a CircuitBreaker threw", thrown);
      return 'failure';
    }
  }

  /**
   * The error a refused task rejects with, naming the executor and when a probe may go through;
   * `cause`, for a retry refused, is the error of the attempt before.
   *
   * @internal
   */
  refusal(executorName: string, now: number, cause?: unknown): BrokenCircuitError {
    const remaining = Math.ceil(Math.max(0, this.#changedAt + this.#halfOpenAfter - now));
    return new BrokenCircuitError(
      `Cannot start a task on executor '${executorName}' as its circuit breaker is open: it lets a probe through in ${remaining} ms`,
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * Calls `wake` whenever a task told to `'wait'` may be asked about again: the probe slot
   * freed, or the state changed. Several executors sharing the breaker each subscribe.
   *
   * @returns a function that removes the subscription.
   * @internal
   */
  subscribeWake(wake: () => void): () => void {
    return subscribe(this.#wakers, wake);
  }

  #halfOpenIfDue(now: number): void {
    if (this.#state === 'open' && now - this.#changedAt >= this.#halfOpenAfter) this.#transition('half-open', now);
  }

  /** Adds a call that ended at `now` to the ratio's window and drops those older than it. */
  #record(now: number, failed: 0 | 1): void {
    if (this.#failureRatio === Infinity) return;
    const calls = this.#calls;
    calls.push(now, failed);
    this.#failures += failed;
    const since = now - this.#window;
    while (calls[this.#head]! <= since) {
      this.#failures -= calls[this.#head + 1]!;
      this.#head += 2;
    }
    if (this.#head > 2_048 && this.#head * 2 > calls.length) {
      calls.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /**
   * Moves to `state` (always a change: each caller checks the state it leaves) at `now`. The
   * counts start again from zero: each state counts only its own calls.
   */
  #transition(state: CircuitState, now: number): void {
    const previous = this.#state;
    this.#state = state;
    this.#changedAt = now;
    this.#failuresInARow = 0;
    this.#probeSuccesses = 0;
    this.#calls = [];
    this.#head = 0;
    this.#failures = 0;
    callEach(this.#listeners, 'state listener', state, previous);
    this.#wake();
  }

  #wake(): void {
    callEach(this.#wakers, 'waker');
  }
}

/** Listeners or wakers: each is called with the new state and the one before (wakers ignore them). */
type Callbacks = Set<(state: CircuitState, previous: CircuitState) => void>;

/** Adds `callback` to `callbacks` until the returned function is called. */
function subscribe(callbacks: Callbacks, callback: (state: CircuitState, previous: CircuitState) => void): () => void {
  // A wrapper per subscription: the same function subscribed twice is called twice.
  const subscription: CircuitStateListener = (state, previous) => callback(state, previous);
  callbacks.add(subscription);
  return () => void callbacks.delete(subscription);
}

/** Calls each of `callbacks` (a copy: one may unsubscribe another), reporting those that throw. */
function callEach(callbacks: Callbacks, what: string, state?: CircuitState, previous?: CircuitState): void {
  for (const callback of [...callbacks]) {
    try {
      callback(state!, previous!);
    } catch (error) {
      reportError(`a CircuitBreaker ${what} threw`, error);
    }
  }
}
