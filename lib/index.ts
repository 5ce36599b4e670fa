/**
 * taskpool: Python's `concurrent.futures` for JavaScript. The runtime-neutral core: executors,
 * futures, `map`, `wait`, `asCompleted`, `settle` and `Result`.
 *
 * @module taskpool
 */
export { BrokenCircuitError, BrokenExecutorError, CancelledError, ExecutorShutdownError, InvalidStateError, TimeoutError } from './errors.js';
export { Future, FutureState, type DoneCallback } from './future.js';
export { Executor, type ExecutorOptions, type ExecutorStats, type RunOptions, type ShutdownOptions } from './executor.js';
export type { WorkItem } from './work-item.js';
export { TaskPoolExecutor, type IterablesOf, type TaskContext } from './task-pool-executor.js';
export type { AnyIterable, MapOptions, MapResults } from './map.js';
export { wait, ReturnWhen, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, type WaitOptions, type WaitResult } from './wait.js';
export { asCompleted, type AsCompletedOptions, type Completion } from './as-completed.js';
export { settle } from './settle.js';
export { ok, err, isOk, isErr, type Result, type Ok, type Err } from './result.js';
export type { BackoffFunction, BackoffInfo, BackoffOptions, Jitter, RetryInfo, RetryOptions } from './policies/retry.js';
export type { RateLimitOptions } from './policies/rate-limit.js';
export { CircuitBreaker, CircuitState, type CircuitBreakerOptions, type CircuitStateListener } from './policies/circuit-breaker.js';
export { memoize, type MemoizeOptions } from './policies/memoize.js';
