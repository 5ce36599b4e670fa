/**
 * Futures in every state, as CPython's `test_concurrent_futures/util.py` (`PENDING_FUTURE`,
 * `RUNNING_FUTURE`, `CANCELLED_FUTURE`, `EXCEPTION_FUTURE`, `SUCCESSFUL_FUTURE`).
 *
 * Each fixture is a function that makes a fresh future (futures change state, so sharing one
 * between tests would couple them). The futures belong to no executor: they are driven by hand
 * through the library's internal access, or through {@link controlledFuture}.
 */
import { type Future, type FutureState } from '../lib/index.js';
import { internals } from '../lib/future.js';
import { flush } from './helpers.js';

/** The error stored in {@link rejectedFuture} unless another is given (Python's `OSError()`). */
export class FixtureError extends Error {
  constructor(message = 'fixture failure') {
    super(message);
    this.name = 'FixtureError';
  }
}

/** The value of {@link fulfilledFuture} unless another is given (Python's `42`). */
export const FIXTURE_VALUE = 42;

/** A future that has not started: `'pending'`. */
export function pendingFuture<T = number>(): Future<T> {
  return internals.create<T>(undefined);
}

/** A future whose task has started and not settled: `'running'`. */
export function runningFuture<T = number>(): Future<T> {
  const future = pendingFuture<T>();
  internals.start(future as Future<unknown>);
  return future;
}

/** A future cancelled before it started; `reason` becomes its rejection when given. */
export function cancelledFuture<T = number>(reason?: unknown): Future<T> {
  const future = pendingFuture<T>();
  future.cancel(reason);
  return future;
}

/** A future cancelled while it was running. */
export function cancelledRunningFuture<T = number>(reason?: unknown): Future<T> {
  const future = runningFuture<T>();
  future.cancel(reason);
  return future;
}

/** A future whose task failed with `error` (any value, `undefined` too); a {@link FixtureError} when none is given. */
export function rejectedFuture<T = number>(...error: [error?: unknown]): Future<T> {
  const future = runningFuture<T>();
  internals.reject(future as Future<unknown>, error.length === 0 ? new FixtureError() : error[0]);
  return future;
}

/** A future whose task produced `value`. */
export function fulfilledFuture<T = number>(value: T = FIXTURE_VALUE as T): Future<T> {
  const future = runningFuture<T>();
  internals.resolve(future as Future<unknown>, value);
  return future;
}

/** A fresh future in `state` (with the fixture value or error). */
export function futureIn<T = number>(state: FutureState): Future<T> {
  switch (state) {
    case 'pending':
      return pendingFuture<T>();
    case 'running':
      return runningFuture<T>();
    case 'cancelled':
      return cancelledFuture<T>();
    case 'rejected':
      return rejectedFuture<T>();
    case 'fulfilled':
      return fulfilledFuture<T>();
  }
}

/** Every state, each with a fresh future maker, for table-driven tests. */
export const FUTURE_FIXTURES: readonly { readonly state: FutureState; readonly make: () => Future<number> }[] = [
  { state: 'pending', make: pendingFuture },
  { state: 'running', make: runningFuture },
  { state: 'cancelled', make: cancelledFuture },
  { state: 'rejected', make: rejectedFuture },
  { state: 'fulfilled', make: fulfilledFuture },
];

/** A future driven by hand: `start()`, then `resolve(value)` or `reject(error)`. */
export interface ControlledFuture<T> {
  readonly future: Future<T>;
  /** pending → running; `false` if it was not pending (cancelled). */
  start(): boolean;
  /** Settles it as fulfilled; `false` if it had already settled. */
  resolve(value: T): boolean;
  /** Settles it as rejected; `false` if it had already settled. */
  reject(error: unknown): boolean;
}

/** A pending future with its controls, for tests that settle futures at chosen moments. */
export function controlledFuture<T = number>(): ControlledFuture<T> {
  const future = pendingFuture<T>();
  const handle = future as Future<unknown>;
  return {
    future,
    start: () => internals.start(handle),
    resolve: (value) => internals.resolve(handle, value),
    reject: (error) => internals.reject(handle, error),
  };
}

// Test utilities shared by the specs.

/** Runs `body` with `console.error` replaced by a recorder; returns what it was called with. */
export async function capturingConsoleError(body: () => void | Promise<void>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void calls.push(args);
  try {
    await body();
  } finally {
    console.error = original;
  }
  return calls;
}

/** Runs `body`, lets the event loop turn, and returns every unhandled rejection seen meanwhile. */
export async function unhandledRejectionsDuring(body: () => void | Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    await flush(5);
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

/** Whatever `promise` rejects with (fails the test if it fulfills). */
export async function rejectionOf(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** How many `AbortController`s the library makes while `body` runs. */
export function countingAbortControllers<R>(body: () => R): { result: R; made: number } {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    const result = body();
    return { result, made };
  } finally {
    globalThis.AbortController = Original;
  }
}

