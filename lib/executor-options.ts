/** The options and counts of every executor: what `new`, `run()`, `shutdown()` and `stats` take and give. */
import type { CircuitBreaker } from './policies/circuit-breaker.js';
import type { RateLimitOptions } from './policies/rate-limit.js';
import type { RetryOptions } from './policies/retry.js';

/**
 * Counts kept by every executor.
 *
 * @example
 * ```ts
 * const { pending, running, completed, failed, cancelled } = pool.stats;
 * ```
 */
export interface ExecutorStats {
  /** Queued tasks that have not started (cancelled ones excluded). */
  readonly pending: number;
  /** Task functions in flight: the slots in use, a cancelled or timed-out task included until it really settles. */
  readonly running: number;
  /** Futures fulfilled. */
  readonly completed: number;
  /** Futures rejected (a task `timeout` included). */
  readonly failed: number;
  /** Futures cancelled. */
  readonly cancelled: number;
  /** Tasks waiting out a retry's backoff: they hold no slot. */
  readonly retrying: number;
}

/**
 * Options of {@link Executor.shutdown}, as Python's `shutdown(wait, cancel_futures)`.
 *
 * @example
 * ```ts
 * await pool.shutdown({ wait: true, cancelFutures: true });
 * ```
 */
export interface ShutdownOptions {
  /**
   * Resolve only when every started task, and every queued task not cancelled, has settled.
   * @default true
   */
  wait?: boolean;
  /**
   * Cancel every task that has not started.
   * @default false
   */
  cancelFutures?: boolean;
}

/**
 * Per-task options of `run()`.
 *
 * @example
 * ```ts
 * pool.run(({ signal }) => fetch(url, { signal }), { timeout: 5_000, priority: 1, signal: request.signal });
 * ```
 */
export interface RunOptions {
  /**
   * Cancels the future when it aborts (already aborted included): a queued task never starts,
   * a running one sees its own signal abort. The future rejects with a `CancelledError`
   * whose `cause` is `signal.reason`. One listener per signal and executor, however many tasks share it.
   */
  signal?: AbortSignal;
  /**
   * Milliseconds from the task's start; then its signal aborts with a `TimeoutError` and
   * the future rejects with it. Overrides the executor's `taskTimeout`.
   * @default the executor's `taskTimeout` (none)
   */
  timeout?: number;
  /**
   * Queued tasks start highest priority first, in submission order within a priority.
   * @default 0
   */
  priority?: number;
  /**
   * Calls again after a failure, with a backoff between attempts: see {@link RetryOptions}.
   * Overrides the executor's `retry`.
   * @default the executor's `retry` (one attempt)
   */
  retry?: RetryOptions;
  /**
   * Milliseconds from the task's first start for the whole task, attempts and backoff waits
   * included: then the running attempt's signal aborts and the future rejects with a
   * `TimeoutError`.
   * @default none
   */
  deadline?: number;
  /**
   * Single-flight: while a task with the same key is pending or running on this executor,
   * this call starts nothing and its future follows that task (same outcome). Cancelling one
   * follower cancels only it; the task is cancelled when every follower is.
   * @default none
   */
  key?: string;
}

/**
 * Options shared by every executor's constructor.
 *
 * @example
 * ```ts
 * new TaskPoolExecutor({ maxWorkers: 8, name: 'fetchers', taskTimeout: 30_000 });
 * ```
 */
export interface ExecutorOptions {
  /**
   * How many task functions may be in flight at once (a positive integer).
   * @default depends on the executor
   */
  maxWorkers?: number;
  /**
   * Names the executor in error messages and diagnostics.
   * @default `'<ClassName>-<n>'`
   */
  name?: string;
  /**
   * Default `timeout` of every task, in milliseconds from its start.
   * @default none
   */
  taskTimeout?: number;
  /**
   * Default `retry` of every task: see {@link RetryOptions}.
   * @default one attempt
   */
  retry?: RetryOptions;
  /**
   * Never more than `limit` task starts in any window of `interval` ms (retries count).
   * @default none
   */
  rateLimit?: RateLimitOptions;
  /**
   * A circuit breaker every task goes through (it may be shared by several executors).
   * @default none
   */
  breaker?: CircuitBreaker;
}
