import pDefer from 'p-defer';
import { cancellation, TimeoutError } from './errors.js';
import { reportError } from './internal/report.js';
import { cancelTimer, startTimer } from './internal/timers.js';
import { checkFunction, checkTimeout, fail, isSyncIterable, isThenable } from './internal/validate.js';
import { keepShape } from './internal/shapes.js';

/**
 * The states of a {@link Future}, as constants: `FutureState.PENDING` is `'pending'`, and so on.
 *
 * `pending` (queued, not started) → `running` → `fulfilled` | `rejected`; or `pending` |
 * `running` → `cancelled`. A future settles exactly once.
 *
 * @example
 * ```ts
 * if (future.state === FutureState.RUNNING) console.log('still working');
 * ```
 */
export const FutureState = {
  /** Queued: the task has not started. */
  PENDING: 'pending',
  /** The task is running (or the wrapped promise has not settled). */
  RUNNING: 'running',
  /** The task produced a value. */
  FULFILLED: 'fulfilled',
  /** The task failed (a `timeout` included). */
  REJECTED: 'rejected',
  /** The future was cancelled. */
  CANCELLED: 'cancelled',
} as const;

/** One of the five states of a {@link Future}: see {@link FutureState}. */
export type FutureState = (typeof FutureState)[keyof typeof FutureState];

/**
 * A callback for {@link Future.addDoneCallback}: called once with the settled future.
 *
 * @typeParam T - the future's value type.
 * @example
 * ```ts
 * const log: DoneCallback<number> = (future) => console.log(future.state);
 * future.addDoneCallback(log);
 * ```
 */
export type DoneCallback<T> = (future: Future<T>) => void;

/** What a future tells the work it follows (an executor's work item). @internal */
export interface FutureOwner {
  /** The current attempt, 1-based (0 before the first start); without it, the future's state says (0 or 1). */
  readonly attempt?: number;
  /** The name of the executor the task runs on, for the messages of its errors. */
  readonly executorName?: string;
  /** The future was cancelled with `error` (a CancelledError); `wasRunning` says whether it had started. */
  futureCancelled(future: Future<unknown>, wasRunning: boolean, error: unknown): void;
}

/** The executor's private access to a future. @internal */
export interface FutureInternals {
  create<T>(owner: FutureOwner | undefined): Future<T>;
  /** The value, error or cancellation error of a settled future. */
  outcome(future: Future<unknown>): unknown;
  /** A new attempt begins: the next read of `signal` gives a fresh one. */
  newAttempt(future: Future<unknown>): void;
  /** Aborts the current attempt's signal with `reason`. */
  abortAttempt(future: Future<unknown>, reason: unknown): void;
  /** The work the future follows, if any. */
  owner(future: Future<unknown>): FutureOwner | undefined;
  /** A new future that follows `promise`: never the cached one of `Future.from`. */
  wrap(promise: PromiseLike<unknown>): Future<unknown>;
  /** The start gate: pending → running and `true`; `false` (and the task dropped) otherwise. */
  start(future: Future<unknown>): boolean;
  /** What a subclass keeps beside the state, in the same field (a task item's phase and attempt): a non-negative integer. */
  progress(future: Future<unknown>): number;
  setProgress(future: Future<unknown>, progress: number): void;
  resolve(future: Future<unknown>, value: unknown): boolean;
  reject(future: Future<unknown>, error: unknown): boolean;
  /** Cancels with this very error (a `CancelledError`), as `cancel()` does with one it makes. */
  cancel(future: Future<unknown>, error: unknown): boolean;
  removeDoneCallback(future: Future<unknown>, callback: DoneCallback<never>): void;
}

type AnyCallback = (future: never) => void;

/** A future's states by their code, the low three bits of its `#bits`. */
const STATES: readonly FutureState[] = ['pending', 'running', 'fulfilled', 'rejected', 'cancelled'];
const PENDING = 0;
const RUNNING = 1;
const FULFILLED = 2;
const REJECTED = 3;
const CANCELLED = 4;
/**
 * The state's bits (`bits & STATE`, exact for any integer below 2 ** 53); what a subclass keeps
 * is counted in units of `PROGRESS` above them.
 */
const STATE = 7;
const PROGRESS = 8;

/**
 * What a pending future with done callbacks keeps: its promise's `resolve`, then the callbacks
 * (typed loosely so that `Future<T>` stays covariant in `T`).
 */
type PendingSlot = [(value: unknown) => void, ...AnyCallback[]];

const wrappers = new WeakMap<object, Future<unknown>>();

/** @internal */
export let internals: FutureInternals;

/** Takes the `resolve` of a future's own promise out of the Promise constructor. */
let capturedResolve: ((value: unknown) => void) | undefined;
function captureResolve(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
}
function ignore(): void {}
const promiseThen = Promise.prototype.then;

/**
 * A handle on one task's outcome, as Python's `concurrent.futures.Future`.
 *
 * It is a native `Promise` (settled by the executor, never by the caller): `await future`,
 * `Promise.all([...futures])`, `Promise.race`, `allSettled` and `any` work unchanged and take
 * the engine's fast path; promises derived with `then`/`catch`/`finally` are plain promises. A failed future that nobody observes never raises
 * an `unhandledRejection`: its error is stored in the future and becomes a rejection only
 * for whoever awaits it.
 *
 * Futures are made by executors (`submit`, `run`) and by {@link Future.from}.
 *
 * @typeParam T - the value the task produces.
 *
 * @example
 * ```ts
 * const future = pool.submit(async (a: number, b: number) => a + b, 1, 2);
 * future.state;          // 'running' (or 'pending' while queued)
 * await future;          // 3
 * future.done();         // true
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Future<T> extends Promise<T> {
  static {
    internals = {
      create: <T>(owner: FutureOwner | undefined) => new Future<T>(owner),
      outcome: (future) => (future.done() ? future.#slot : undefined),
      newAttempt: (future) => {
        if (!future.done()) future.#controller = undefined;
      },
      abortAttempt: (future, reason) => (future.#controller ??= new AbortController()).abort(reason),
      wrap: (promise) => Future.#wrap(promise),
      owner: (future) => future.#owner,
      start: (future) => {
        const bits = future.#bits;
        if ((bits & STATE) !== PENDING) return false;
        future.#bits = bits + RUNNING;
        return true;
      },
      // Arithmetic rather than shifts above the state's bits, so that no count can overflow 32 bits.
      progress: (future) => {
        const bits = future.#bits;
        return (bits - (bits & STATE)) / PROGRESS;
      },
      setProgress: (future, progress) => {
        future.#bits = progress * PROGRESS + (future.#bits & STATE);
      },
      resolve: (future, value) => Future.#settle(future, FULFILLED, value),
      reject: (future, error) => Future.#settle(future, REJECTED, error),
      cancel: (future, error) => Future.#settle(future, CANCELLED, error),
      removeDoneCallback: (future, callback) => {
        const slot = future.#slot;
        if (future.done() || typeof slot === 'function') return;
        const pending = slot as PendingSlot;
        const index = pending.indexOf(callback, 1);
        if (index !== -1) pending.splice(index, 1);
      },
    };
  }

  static {
    // See internal/shapes.ts.
    keepShape(new Future(undefined));
  }

  /**
   * Its state (the low three bits: an index in `STATES`) and, above them, what a subclass keeps
   * of a task's progress (a task item's phase and attempt). One field for both: a queued task
   * costs 8 bytes less.
   */
  #bits: number = PENDING;
  /**
   * Until settled, the `resolve` of the promise this future is, or, once somebody has added a
   * done callback, an array of that `resolve` followed by the callbacks (a {@link PendingSlot});
   * then the value, the error or the `CancelledError`. One field for the three: a queued task
   * costs 16 bytes less.
   */
  #slot: unknown;
  #controller: AbortController | undefined;
  /** The work this future follows: told of a cancellation, asked for the attempt. */
  readonly #owner: FutureOwner | undefined;

  private constructor(owner?: FutureOwner) {
    // The statics inherited from Promise (`resolve`, `all`, `withResolvers`...) construct with an
    // executor: they get a plain promise. (Derived promises, `then`/`catch`/`finally`, are plain
    // already: they are built by `constructor`, which is Promise.)
    if (typeof owner === 'function') return new Promise(owner as never) as never;
    super(captureResolve as never);
    this.#slot = capturedResolve;
    capturedResolve = undefined;
    this.#owner = owner;
  }

  /**
   * Wraps a promise or any thenable in a future whose state follows it (`running` until it
   * settles). `cancel()` settles the wrapper as cancelled but cannot stop the promise; a
   * later rejection of the promise is then ignored, never reported as unhandled. The same
   * promise always gives the same wrapper, and a future is returned as it is.
   *
   * @typeParam T - the promise's value type.
   * @param promise - a promise, a thenable or a future.
   * @returns a future that follows `promise`.
   * @throws {TypeError} when `promise` is not a thenable.
   *
   * @example
   * ```ts
   * const future = Future.from(fetch(url));
   * const { done } = await wait([future, pool.submit(work)], { returnWhen: FIRST_COMPLETED });
   * ```
   */
  static from<T>(promise: PromiseLike<T>): Future<Awaited<T>> {
    if (promise instanceof Future) return promise as Future<Awaited<T>>;
    if (!isThenable(promise)) {
      fail(TypeError, 'a promise or thenable', 'wrap a value in a future', 'promise', promise);
    }
    let future = wrappers.get(promise) as Future<Awaited<T>> | undefined;
    if (future === undefined) wrappers.set(promise, (future = Future.#wrap(promise)) as Future<unknown>);
    return future;
  }

  /** A new future that follows `promise` (never a cached one). */
  static #wrap<T>(promise: PromiseLike<T>): Future<Awaited<T>> {
    const future = new Future<Awaited<T>>();
    future.#bits = RUNNING;
    Promise.resolve(promise).then(
      (value) => Future.#settle(future, FULFILLED, value),
      (error: unknown) => Future.#settle(future, REJECTED, error),
    );
    return future;
  }

  /**
   * The current state: `'pending'`, `'running'`, `'fulfilled'`, `'rejected'` or `'cancelled'`.
   *
   * @example
   * ```ts
   * if (future.state === 'rejected') console.error(await future.exception());
   * ```
   */
  get state(): FutureState {
    return STATES[this.#bits & STATE]!;
  }

  /**
   * The task's current attempt, 1-based (the last one once settled; 0 before it first starts).
   * Above 1 only for a task with a `retry` policy.
   *
   * @example
   * ```ts
   * const future = pool.run(flakyFetch, { retry: { attempts: 3 } });
   * await settle(future);
   * console.log(`took ${future.attempt} attempt(s)`);
   * ```
   */
  get attempt(): number {
    return this.#owner?.attempt ?? ((this.#bits & STATE) === PENDING ? 0 : 1);
  }

  /** `'Future'`, for `Object.prototype.toString`. */
  override get [Symbol.toStringTag](): string {
    return 'Future';
  }

  /**
   * The `AbortSignal` handed to the task. It aborts when the future is cancelled while its
   * task runs (reason: the cancellation reason, a `CancelledError` by default) and when the
   * task's `timeout` passes (reason: the `TimeoutError`). Created on first use: a task that
   * never reads it costs no `AbortController`.
   *
   * @example
   * ```ts
   * const future = pool.submit(longJob);
   * future.signal.addEventListener('abort', () => console.log('asked to stop'));
   * ```
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if ((this.#bits & STATE) === CANCELLED) this.#controller.abort(this.#slot);
    }
    return this.#controller.signal;
  }

  /**
   * Whether the future has settled (fulfilled, rejected or cancelled). Python's `done()`.
   *
   * @returns `true` once settled.
   * @example
   * ```ts
   * if (future.done()) console.log(await future);
   * ```
   */
  done(): boolean {
    return (this.#bits & STATE) > RUNNING;
  }

  /**
   * Whether the future was cancelled. Python's `cancelled()`.
   *
   * @returns `true` when the state is `'cancelled'`.
   * @example
   * ```ts
   * future.cancel();
   * future.cancelled(); // true unless it had already settled
   * ```
   */
  cancelled(): boolean {
    return (this.#bits & STATE) === CANCELLED;
  }

  /**
   * Whether the task is running now. Python's `running()`.
   *
   * @returns `true` when the state is `'running'`.
   * @example
   * ```ts
   * const future = pool.submit(work);
   * future.running(); // true when a slot was free
   * ```
   */
  running(): boolean {
    return (this.#bits & STATE) === RUNNING;
  }

  /**
   * Cancels the future, as Python's `cancel()` — and, unlike Python, a running one too.
   *
   * - pending: the task never starts; the future becomes `cancelled`; returns `true`.
   * - running: the task's {@link Future.signal} aborts, the future settles as `cancelled` at
   *   once and returns `true`; the executor's slot stays occupied until the task's own
   *   promise settles, so `maxWorkers` is never exceeded.
   * - already cancelled: `true`; fulfilled or rejected: `false`, nothing changes.
   *
   * A cancelled future always rejects with a {@link CancelledError}: `reason`, when given,
   * becomes its `cause` (and its message, when it is a string), as asyncio's `cancel(msg)`;
   * otherwise the message names the executor of the task and says whether it had started. The
   * task's signal aborts with that same error.
   *
   * @param reason - why; kept as the error's `cause`.
   * @returns whether the future is now cancelled.
   * @example
   * ```ts
   * const future = pool.submit(work);
   * future.cancel('no longer needed'); // true
   * await settle(future); // { ok: false, error: CancelledError { message: 'no longer needed', cause: 'no longer needed' } }
   * ```
   */
  cancel(reason?: unknown): boolean {
    if (!this.done()) {
      Future.#settle(this as Future<unknown>, CANCELLED, cancellation(reason, this.running(), this.#owner?.executorName));
    }
    return this.cancelled();
  }

  /**
   * The task's value, as Python's `result(timeout)`.
   *
   * @param timeout - how many milliseconds to wait; the task is NOT cancelled when they pass.
   * @returns a promise of the value.
   * @throws (rejects) the task's error; the cancellation reason ({@link CancelledError}); a
   *   {@link TimeoutError} when `timeout` passes first (its message names the executor, and
   *   says that the task goes on). `RangeError`/`TypeError` (thrown) for
   *   a bad `timeout`.
   * @example
   * ```ts
   * const value = await future.result(1_000); // TimeoutError after a second
   * ```
   */
  result(timeout?: number): Promise<T> {
    checkTimeout(timeout, 'wait for the result', 'timeout');
    return Future.#waitFor(this as Future<unknown>, timeout).then(() => ((this.#bits & STATE) === FULFILLED ? (this.#slot as T) : Promise.reject(this.#slot)));
  }

  /**
   * The task's error, as Python's `exception(timeout)`: `undefined` when it fulfilled.
   *
   * @param timeout - how many milliseconds to wait; the task is NOT cancelled when they pass.
   * @returns a promise of the error (any thrown value, falsy ones included) or `undefined`.
   * @throws (rejects) the cancellation reason when cancelled; {@link TimeoutError} when
   *   `timeout` passes first.
   * @example
   * ```ts
   * const error = await future.exception();
   * if (error !== undefined) console.error(error);
   * ```
   */
  exception(timeout?: number): Promise<unknown> {
    checkTimeout(timeout, 'wait for the exception', 'timeout');
    return Future.#waitFor(this as Future<unknown>, timeout).then(() => {
      const state = this.#bits & STATE;
      if (state === CANCELLED) return Promise.reject(this.#slot);
      return state === REJECTED ? this.#slot : undefined;
    });
  }

  /**
   * Calls `callback(future)` once when the future settles, synchronously at settlement and in
   * registration order; at once (synchronously) if it has already settled. Python's
   * `add_done_callback`. A throwing callback breaks neither the others nor the executor: its
   * error is written to `console.error`.
   *
   * @param callback - called with this future.
   * @throws {TypeError} when `callback` is not a function.
   * @example
   * ```ts
   * future.addDoneCallback((f) => console.log('settled as', f.state));
   * ```
   */
  addDoneCallback(callback: DoneCallback<T>): void {
    checkFunction(callback, 'add a done callback', 'callback');
    if (this.done()) {
      Future.#invoke(this as Future<unknown>, callback as DoneCallback<unknown>);
      return;
    }
    const slot = this.#slot as ((value: unknown) => void) | PendingSlot;
    if (typeof slot === 'function') this.#slot = [slot, callback as AnyCallback] satisfies PendingSlot;
    else slot.push(callback as AnyCallback);
  }

  // The helpers below are static: a private instance method would cost every future a slot.

  /** Resolves once `future` has settled, or rejects with a TimeoutError after `timeout` ms. */
  static #waitFor(future: Future<unknown>, timeout: number | undefined): Promise<void> {
    if (future.done()) return Promise.resolve();
    const settled = pDefer<void>();
    const onDone: DoneCallback<unknown> = () => {
      cancelTimer(timer);
      settled.resolve();
    };
    const timer =
      timeout === undefined
        ? undefined
        : startTimer(timeout, () => {
            internals.removeDoneCallback(future, onDone);
            const executor = future.#owner?.executorName;
            const what = executor === undefined ? 'future' : `task on executor '${executor}': it goes on (cancel() stops it)`;
            settled.reject(new TimeoutError(`Timed out after ${timeout} ms waiting for a ${future.state} ${what}`));
          });
    future.addDoneCallback(onDone);
    return settled.promise;
  }

  /**
   * Settles once. A cancellation aborts the task's signal (when somebody has asked for it; the
   * getter aborts a later one for a cancelled future) with `outcome`, and is reported to the
   * owner, before the done callbacks run: they see the signal aborted and the executor's stats
   * up to date.
   */
  static #settle(future: Future<unknown>, state: typeof FULFILLED | typeof REJECTED | typeof CANCELLED, outcome: unknown): boolean {
    const bits = future.#bits;
    const current = bits & STATE;
    if (current > RUNNING) return false;
    const slot = future.#slot as ((value: unknown) => void) | PendingSlot;
    const resolve = typeof slot === 'function' ? slot : slot[0];
    future.#bits = bits - current + state;
    future.#slot = outcome;
    if (state === CANCELLED) {
      future.#controller?.abort(outcome);
      future.#owner?.futureCancelled(future, current === RUNNING, outcome);
    }
    if (state === FULFILLED) resolve(outcome);
    else {
      // Marked as handled first: a failed future that nobody awaits raises no unhandledRejection.
      promiseThen.call(future, undefined, ignore);
      const rejected = Promise.reject(outcome);
      promiseThen.call(rejected, undefined, ignore);
      resolve(rejected);
    }
    if (typeof slot !== 'function') for (let index = 1; index < slot.length; index++) Future.#invoke(future, slot[index] as DoneCallback<unknown>);
    return true;
  }

  static #invoke(future: Future<unknown>, callback: DoneCallback<unknown>): void {
    try {
      callback(future);
    } catch (error) {
      reportError('a done callback threw', error);
    }
  }
}

/** Throws unless `value` is a future or a thenable, and returns it as a future. @internal */
export function toFuture<T>(value: Future<T> | PromiseLike<T>, action: string, name: string): Future<T> {
  // A fresh wrapper: one that somebody cancelled through `Future.from(promise)` must not change what this caller sees.
  if (value instanceof Future) return value;
  if (isThenable(value)) return internals.wrap(value) as Future<T>;
  return fail(TypeError, 'a future or promise', action, name, value);
}

/**
 * Throws unless `futures` is an iterable of futures or thenables, and returns them as a set of
 * futures (duplicates count once). @internal
 */
export function toFutureSet<T>(futures: Iterable<Future<T> | PromiseLike<T>>, action: string): Set<Future<T>> {
  if (!isSyncIterable(futures)) fail(TypeError, 'an iterable', action, 'futures', futures);
  const set = new Set<Future<T>>();
  // Each promise is wrapped once per call: one given twice is one future.
  let wrapped: Map<unknown, Future<T>> | undefined;
  let index = 0;
  for (const item of futures) {
    let future = item instanceof Future ? item : wrapped?.get(item);
    if (future === undefined) (wrapped ??= new Map()).set(item, (future = toFuture(item, action, `futures[${index}]`)));
    index++;
    set.add(future);
  }
  return set;
}

// `await future` and `Promise.all([future])` take the engine's fast path for native promises,
// which requires `constructor === Promise`.
// (An assignment keeps the property's attributes: writable, configurable, not enumerable.)
Future.prototype.constructor = Promise;

/**
 * The promise methods of a future, typed with `unknown` for the rejection reason (a thrown
 * value can be anything). Only types are merged here: the methods are Promise's own.
 */
 
export interface Future<T> {
  /**
   * Promise's `then`, typed with `unknown` for the reason.
   *
   * @typeParam R1 - what `onfulfilled` returns.
   * @typeParam R2 - what `onrejected` returns.
   * @param onfulfilled - called with the value.
   * @param onrejected - called with the error or the cancellation reason.
   * @returns a plain promise.
   * @example
   * ```ts
   * future.then((value) => console.log(value), (error) => console.error(error));
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  /**
   * Promise's `catch`, typed with `unknown` for the reason.
   *
   * @typeParam R - what `onrejected` returns.
   * @param onrejected - called with the error or the cancellation reason.
   * @returns a plain promise.
   * @example
   * ```ts
   * const value = await future.catch(() => fallback);
   * ```
   */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R>;
}
