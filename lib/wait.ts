import { toFutureSet, internals, type Future, type DoneCallback } from './future.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkOptions, checkTimeout, fail, type OptionChecks } from './internal/validate.js';

/**
 * When {@link wait} returns, as Python's `return_when` constants.
 *
 * @example
 * ```ts
 * await wait(futures, { returnWhen: ReturnWhen.FIRST_EXCEPTION });
 * ```
 */
export const ReturnWhen = {
  /** As soon as any future settles (or is cancelled). */
  FIRST_COMPLETED: 'FIRST_COMPLETED',
  /** As soon as any future rejects; if none does, when all have settled. */
  FIRST_EXCEPTION: 'FIRST_EXCEPTION',
  /** When every future has settled. */
  ALL_COMPLETED: 'ALL_COMPLETED',
} as const;

/** One of `'FIRST_COMPLETED'`, `'FIRST_EXCEPTION'`, `'ALL_COMPLETED'`: see {@link ReturnWhen}. */
export type ReturnWhen = (typeof ReturnWhen)[keyof typeof ReturnWhen];

/** `wait()` returns as soon as any future settles. @example `await wait(fs, { returnWhen: FIRST_COMPLETED })` */
export const FIRST_COMPLETED = ReturnWhen.FIRST_COMPLETED;
/** `wait()` returns as soon as any future rejects. @example `await wait(fs, { returnWhen: FIRST_EXCEPTION })` */
export const FIRST_EXCEPTION = ReturnWhen.FIRST_EXCEPTION;
/** `wait()` returns when every future has settled. @example `await wait(fs, { returnWhen: ALL_COMPLETED })` */
export const ALL_COMPLETED = ReturnWhen.ALL_COMPLETED;

/**
 * Options of {@link wait}.
 *
 * @example
 * ```ts
 * await wait(futures, { timeout: 5_000, returnWhen: 'FIRST_COMPLETED' });
 * ```
 */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most; then `wait` resolves with what is done so far.
   * @default none
   */
  timeout?: number;
  /**
   * When to return.
   * @default 'ALL_COMPLETED'
   */
  returnWhen?: ReturnWhen;
}

/**
 * What {@link wait} resolves to: the futures that are done and those that are not.
 *
 * @typeParam T - the futures' value type.
 * @example
 * ```ts
 * const { done, notDone } = await wait(futures);
 * ```
 */
export interface WaitResult<T> {
  /** Settled futures (fulfilled, rejected or cancelled). */
  readonly done: Set<Future<T>>;
  /** Futures still pending or running. */
  readonly notDone: Set<Future<T>>;
}

const WAIT_OPTIONS: OptionChecks = {
  timeout: checkTimeout,
  returnWhen: (value, action, name) => {
    if (!Object.hasOwn(ReturnWhen, value as string)) fail(TypeError, "'FIRST_COMPLETED', 'FIRST_EXCEPTION' or 'ALL_COMPLETED'", action, name, value);
  },
};

/**
 * Waits for futures, as Python's `concurrent.futures.wait`. Resolves with the futures that
 * are done and those that are not, when `returnWhen` is met or `timeout` ms pass (a timeout
 * resolves, it does not reject, and cancels nothing). Plain promises are accepted and
 * wrapped with `Future.from`. Nothing is left attached to the futures afterwards.
 *
 * Futures of different types, mixed with promises, give the union of their value types
 * (`Set<Future<A | B>>`) without any annotation.
 *
 * `FIRST_EXCEPTION` counts rejections only: a cancelled future is not an exception (as Python).
 *
 * @typeParam T - the futures' value type.
 * @param futures - futures or promises (duplicates count once).
 * @param options - `{ timeout, returnWhen = 'ALL_COMPLETED' }`.
 * @returns `{ done, notDone }`.
 * @throws {TypeError} for an item that is not a future or promise, or bad options.
 * @throws {RangeError} for a negative `timeout`.
 * @example
 * ```ts
 * const { done, notDone } = await wait(futures, { returnWhen: FIRST_EXCEPTION, timeout: 10_000 });
 * for (const future of notDone) future.cancel();
 * ```
 */
export function wait<T>(futures: Iterable<Future<T> | PromiseLike<T>>, options?: WaitOptions): Promise<WaitResult<T>>;
export function wait<F>(futures: Iterable<F & PromiseLike<unknown>>, options?: WaitOptions): Promise<WaitResult<Awaited<F>>>;
export function wait<T>(futures: Iterable<Future<T> | PromiseLike<T>>, options?: WaitOptions): Promise<WaitResult<T>> {
  const { timeout, returnWhen = 'ALL_COMPLETED' } = checkOptions(options, WAIT_OPTIONS, 'wait for futures');
  const done = new Set<Future<T>>();
  const notDone = new Set<Future<T>>();
  for (const future of toFutureSet(futures, 'wait for futures')) (future.done() ? done : notDone).add(future);
  /** Whether `returnWhen` is met once `future` is done (and no longer in `notDone`). */
  const isMetBy = (future: Future<T>): boolean =>
    notDone.size === 0 || returnWhen === 'FIRST_COMPLETED' || (returnWhen === 'FIRST_EXCEPTION' && future.state === 'rejected');
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const finish = (): void => {
      cancelTimer(timer);
      for (const future of notDone) internals.removeDoneCallback(future as Future<unknown>, onDone);
      resolve({ done, notDone });
    };
    const onDone: DoneCallback<T> = (future) => {
      notDone.delete(future);
      done.add(future);
      if (isMetBy(future)) finish();
    };
    if (notDone.size === 0 || timeout === 0 || [...done].some(isMetBy)) return finish();
    if (timeout !== undefined) timer = startTimer(timeout, finish);
    // A pending future does not call back at once: none leaves `notDone` during this loop.
    for (const future of notDone) future.addDoneCallback(onDone);
  });
}
