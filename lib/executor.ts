import { BrokenExecutorError, ExecutorShutdownError, TimeoutError } from './errors.js';
import { Future, internals, type FutureOwner } from './future.js';
import { captureContext, type Context } from './internal/async-context.js';
import { PriorityQueue } from './internal/queue.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkBoolean, checkFiniteNumber, checkOptions, checkPositiveInteger, checkSignal, checkString, checkTimeout, isThenable, type OptionChecks } from './internal/validate.js';

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
   * a running one sees its own signal abort. The future rejects with `signal.reason`.
   */
  signal?: AbortSignal;
  /**
   * Milliseconds from the task's start; then its signal aborts with a {@link TimeoutError} and
   * the future rejects with it. Overrides the executor's `taskTimeout`.
   * @default the executor's `taskTimeout` (none)
   */
  timeout?: number;
  /**
   * Queued tasks start highest priority first, in submission order within a priority.
   * @default 0
   */
  priority?: number;
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
}

const RUN_OPTIONS: OptionChecks = { signal: checkSignal, timeout: checkTimeout, priority: checkFiniteNumber };
const SHUTDOWN_OPTIONS: OptionChecks = { wait: checkBoolean, cancelFutures: checkBoolean };
const NO_OPTIONS: RunOptions = {};
/** Cancelled futures may pile up in the queue before it is compacted. */
const COMPACT_MIN = 1024;

/**
 * What the executor remembers of a queued task until it starts: its async context, plus its
 * timeout when that differs from the executor's `taskTimeout` (rare, so kept apart).
 */
type QueuedExtra = Context | [timeout: number | undefined, context: Context];

const counters = new Map<string, number>();

function defaultName(kind: string): string {
  const count = (counters.get(kind) ?? 0) + 1;
  counters.set(kind, count);
  return `${kind}-${count}`;
}

function isNotPending(future: Future<unknown>): boolean {
  return future.state !== 'pending';
}

/**
 * The contract every executor keeps, as Python's `concurrent.futures.Executor`: a bounded
 * number of tasks in flight, a queue that starts tasks in submission order (then by
 * priority), futures that settle exactly once, cancellation, timeouts and shutdown.
 * A backend says only how one task runs ({@link Executor.execute}).
 *
 * Guarantees: never more than `maxWorkers` task functions in flight (a timed-out or
 * cancelled task keeps its slot until its promise really settles); a cancelled task never
 * starts; any thrown value counts as a failure, falsy ones too; a task runs in the async
 * context (AsyncLocalStorage) of the call that scheduled it; methods work detached
 * (`const { shutdown } = pool`); nothing is kept of a finished task.
 *
 * @example
 * ```ts
 * await using pool = new TaskPoolExecutor({ maxWorkers: 4 });
 * const future = pool.submit(fetchJson, url);
 * console.log(pool.stats, await future);
 * ```
 */
export abstract class Executor implements AsyncDisposable {
  /** The name used in messages. */
  readonly name: string;
  /** The most task functions in flight at once. */
  readonly maxWorkers: number;
  readonly #taskTimeout: number | undefined;
  readonly #queue = new PriorityQueue<Future<unknown>>();
  #pending = 0;
  #running = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  /** Cancelled futures still sitting in the queue. */
  #queuedCancelled = 0;
  #shutdown = false;
  #broken: BrokenExecutorError | undefined = undefined;
  #idleWaiters: (() => void)[] = [];

  /**
   * @param options - see {@link ExecutorOptions}.
   * @param defaultMaxWorkers - used when `options.maxWorkers` is absent.
   * @param extraOptions - further options the subclass accepts, each with a check of its value
   *   (called with the action and the option's name, it throws for a bad value) or `undefined`
   *   when the subclass checks it itself.
   */
  protected constructor(
    options: ExecutorOptions | undefined,
    defaultMaxWorkers: number,
    extraOptions?: Readonly<Record<string, ((value: unknown, action: string, name: string) => void) | undefined>>,
  ) {
    const kind = new.target.name;
    const action = `create ${kind}`;
    // `maxWorkers: null` means the default too: it is checked once resolved.
    const checked = checkOptions(options, { maxWorkers: undefined, name: checkString, taskTimeout: checkTimeout, ...extraOptions }, action);
    const maxWorkers = checked.maxWorkers ?? defaultMaxWorkers;
    checkPositiveInteger(maxWorkers, action, 'maxWorkers');
    this.maxWorkers = maxWorkers;
    this.name = checked.name ?? defaultName(kind);
    this.#taskTimeout = checked.taskTimeout;
    // Methods work detached: `const { submit } = pool`.
    const self = this as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>;
    for (const method of ['submit', 'run', 'map', 'shutdown', 'onIdle']) self[method] &&= self[method]!.bind(this);
  }

  /**
   * Counts of pending, running, completed, failed and cancelled tasks.
   *
   * @example
   * ```ts
   * console.log(`${pool.stats.running} running, ${pool.stats.pending} queued`);
   * ```
   */
  get stats(): ExecutorStats {
    return {
      pending: this.#pending,
      running: this.#running,
      completed: this.#completed,
      failed: this.#failed,
      cancelled: this.#cancelled,
    };
  }

  /**
   * Whether `shutdown()` has been called.
   *
   * @example
   * ```ts
   * if (!pool.isShutdown) pool.submit(work);
   * ```
   */
  get isShutdown(): boolean {
    return this.#shutdown;
  }

  /**
   * Stops accepting work, as Python's `shutdown(wait, cancel_futures)`. With `cancelFutures`
   * every task that has not started is cancelled. With `wait` (the default) the promise
   * resolves when every started task, and every queued task not cancelled, has settled.
   * Calling it again is harmless (and applies `cancelFutures` again).
   *
   * @param options - `{ wait = true, cancelFutures = false }`.
   * @returns a promise that resolves as described.
   * @throws {TypeError} for options of the wrong type or unknown keys.
   * @example
   * ```ts
   * await pool.shutdown({ cancelFutures: true });
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    const action = `shut down executor '${this.name}'`;
    const { wait = true, cancelFutures = false } = checkOptions(options, SHUTDOWN_OPTIONS, action);
    this.#shutdown = true;
    if (cancelFutures) {
      // One at a time: a done callback that shuts down again finds only what is left.
      for (let future = this.#queue.shift(); future !== undefined; future = this.#queue.shift()) future.cancel();
      this.#queuedCancelled = 0;
    }
    return wait ? this.onIdle() : Promise.resolve();
  }

  /**
   * `shutdown({ wait: true })`, for `await using pool = new TaskPoolExecutor()`.
   *
   * @returns a promise that resolves when every task has settled.
   * @example
   * ```ts
   * {
   *   await using pool = new TaskPoolExecutor({ maxWorkers: 2 });
   *   pool.submit(work);
   * } // waits for work here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }

  /**
   * Resolves when nothing is pending or running (p-queue's `onIdle`).
   *
   * @returns a promise that resolves at the next idle moment (at once when idle now).
   * @example
   * ```ts
   * items.forEach((item) => pool.submit(handle, item));
   * await pool.onIdle();
   * ```
   */
  onIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#notifyIdle();
    });
  }

  /**
   * Runs one task: the backend's single job. Returns the value or a thenable of it, or throws.
   * `task` and `args` are what {@link Executor.schedule} was given; `future` is the task's future
   * (its `signal` aborts on cancellation or timeout).
   */
  protected abstract execute(task: unknown, args: unknown, future: Future<unknown>): unknown;

  /**
   * Called when a running task's future is cancelled or times out, with the reason. The
   * default does nothing: the task's signal has already aborted. A backend that can stop a
   * task by force (a worker) does it here; the slot stays occupied until `execute`'s thenable
   * settles.
   */
  protected interrupt(future: Future<unknown>, reason: unknown): void {
    void future;
    void reason;
  }

  /**
   * Queues a task and returns its future; the backend's `submit`/`run` call this.
   *
   * @throws {ExecutorShutdownError} after shutdown; {@link BrokenExecutorError} once broken;
   *   `TypeError`/`RangeError` for bad options.
   */
  protected schedule<T>(task: unknown, args: unknown, options?: RunOptions): Future<T> {
    if (options !== undefined) checkOptions(options, RUN_OPTIONS, `run a task on executor '${this.name}'`);
    const { timeout = this.#taskTimeout, priority = 0, signal } = options ?? NO_OPTIONS;
    this.assertOpen();
    const startNow = signal === undefined && this.#running < this.maxWorkers && this.#pending === 0;
    // A task that starts now runs in the caller's context: none is captured for it.
    const context = startNow ? undefined : captureContext();
    const extra: QueuedExtra = timeout === this.#taskTimeout ? context : [timeout, context];
    const future = internals.create<T>(this.#owner, task, args, extra) as Future<unknown>;
    if (startNow) {
      internals.start(future);
      this.#running++;
      void this.#work(future);
      return future as Future<T>;
    }
    // The abort listener goes on first: if the signal refuses it, nothing has been queued.
    let onAbort: (() => void) | undefined;
    if (signal !== undefined && !signal.aborted) {
      onAbort = (): void => void future.cancel(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#pending++;
    this.#queue.push(future, priority);
    if (onAbort !== undefined) future.addDoneCallback(() => signal!.removeEventListener('abort', onAbort));
    if (signal?.aborted) future.cancel(signal.reason);
    else this.#startWorkers();
    return future as Future<T>;
  }

  /**
   * Throws unless the executor accepts work.
   *
   * @throws {ExecutorShutdownError} after shutdown; {@link BrokenExecutorError} once broken.
   */
  protected assertOpen(): void {
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#shutdown) {
      throw new ExecutorShutdownError(`Cannot submit to executor '${this.name}' as it has been shut down`);
    }
  }

  /**
   * Marks the executor broken: it accepts no more work and every queued future fails with
   * `error`. For backends that can no longer run tasks (a worker module that cannot load).
   */
  protected breakExecutor(error: BrokenExecutorError): void {
    if (this.#broken !== undefined) return;
    this.#broken = error;
    this.#shutdown = true;
    for (const future of this.#queue.drain()) {
      if (future.done()) continue;
      this.#pending--;
      this.#failed++;
      internals.reject(future, error);
    }
    this.#queuedCancelled = 0;
    this.#notifyIdle();
  }

  /** What this executor's futures call back into: a future of this executor was cancelled. */
  readonly #owner: FutureOwner = {
    futureCancelled: (future, wasRunning, reason) => {
      this.#cancelled++;
      if (wasRunning) {
        this.interrupt(future, reason);
        return;
      }
      this.#pending--;
      this.#queuedCancelled++;
      // The queue holds the pending futures and the cancelled ones: compacted once half are cancelled.
      if (this.#queuedCancelled >= COMPACT_MIN && this.#queuedCancelled >= this.#pending) {
        this.#queue.compact(isNotPending);
        this.#queuedCancelled = 0;
      }
      this.#notifyIdle();
    },
  };

  /** Starts a worker loop per free slot while tasks are queued. */
  #startWorkers(): void {
    for (let future = this.#takeNext(); future !== undefined; future = this.#takeNext()) {
      this.#running++;
      void this.#work(future);
    }
  }

  /**
   * The start gate (CPython's `set_running_or_notify_cancel`): the next queued future that is
   * still pending, now running, when a slot is free. Cancelled futures are dropped here and
   * nowhere else.
   */
  #takeNext(): Future<unknown> | undefined {
    while (this.#running < this.maxWorkers) {
      const future = this.#queue.shift();
      if (future === undefined) return undefined;
      if (internals.start(future)) {
        this.#pending--;
        return future;
      }
      this.#queuedCancelled--;
    }
    return undefined;
  }

  /**
   * One slot: runs a task, settles its future, then takes the next queued task, until the
   * queue is empty. Awaiting the task here (rather than attaching callbacks) keeps the
   * per-task cost to what the task itself allocates.
   */
  async #work(future: Future<unknown>): Promise<void> {
    // The parameter is reassigned for each task: a suspended async function keeps its
    // parameters alive, so a copy of it would pin the first task's future.
    for (;;) {
      // What was kept for the task until it started: its context, and its timeout when that is not the executor's.
      // (It stays in the future until the future settles: nothing else reads it meanwhile.)
      const extra = internals.extra(future) as QueuedExtra;
      const timed = Array.isArray(extra);
      const timeout = timed ? extra[0] : this.#taskTimeout;
      const context = timed ? extra[1] : extra;
      const timer = timeout === undefined ? undefined : this.#startTimeout(future, timeout);
      let fulfilled = true;
      let outcome: unknown;
      try {
        outcome = context === undefined ? this.#invoke(future) : context.runInAsyncScope(this.#invoke, undefined, future);
        if (isThenable(outcome)) outcome = await outcome;
      } catch (error) {
        fulfilled = false;
        outcome = error;
      }
      cancelTimer(timer);
      this.#running--;
      // Counted before settling, so that done callbacks see up-to-date stats.
      if (!future.done()) {
        if (fulfilled) {
          this.#completed++;
          internals.resolve(future, outcome);
        } else {
          this.#failed++;
          internals.reject(future, outcome);
        }
      }
      const next = this.#takeNext();
      if (next === undefined) {
        this.#notifyIdle();
        return;
      }
      this.#running++;
      future = next;
    }
  }

  readonly #invoke = (future: Future<unknown>): unknown => this.execute(internals.task(future), internals.args(future), future);

  /** Out of `#work`: a closure made there would keep the loop's variables alive. */
  #startTimeout(future: Future<unknown>, timeout: number): TimerHandle | undefined {
    return startTimer(timeout, () => {
      if (future.done()) return;
      const error = new TimeoutError(`Task on executor '${this.name}' timed out after ${timeout} ms`);
      this.#failed++;
      internals.reject(future, error, true);
      this.interrupt(future, error);
    });
  }

  /** Resolves the `onIdle()` promises when nothing is pending or running. */
  #notifyIdle(): void {
    if (this.#pending !== 0 || this.#running !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

