import { BrokenExecutorError, ExecutorShutdownError, TimeoutError } from './errors.js';
import { internals, type Future } from './future.js';
import { captureContext } from './internal/async-context.js';
import { mapIterables, splitMapArguments, type MapResults } from './map.js';
import { WorkItem, Phase, type ItemOwner } from './work-item.js';
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
   * a running one sees its own signal abort. The future rejects with a {@link CancelledError}
   * whose `cause` is `signal.reason`. One listener per signal and executor, however many tasks share it.
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
/** Cancelled items may pile up in the queue before it is compacted. */
const COMPACT_MIN = 1024;
/** The arguments of every task submitted without any: one shared array, never written to. */
const NO_ARGS: unknown[] = [];

/** What `policy` holds for a task whose options differ from the executor's. */
interface TaskPolicy {
  /** Milliseconds an attempt may run. */
  readonly timeout: number | undefined;
}

const counters = new Map<string, number>();

function defaultName(kind: string): string {
  const count = (counters.get(kind) ?? 0) + 1;
  counters.set(kind, count);
  return `${kind}-${count}`;
}

function isStale(item: WorkItem): boolean {
  return item.phase !== Phase.QUEUED;
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
  readonly #queue = new PriorityQueue<WorkItem>();
  #pending = 0;
  #running = 0;
  #retrying = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  /** Cancelled items still sitting in the queue. */
  #queuedCancelled = 0;
  #shutdown = false;
  #broken: BrokenExecutorError | undefined = undefined;
  #idleWaiters: (() => void)[] = [];
  /** One abort listener per caller's signal, and the items it cancels. */
  readonly #watched = new Map<AbortSignal, { items: Set<WorkItem>; onAbort: () => void }>();
  /** Which signal watches an item (only items scheduled with one). */
  readonly #watchOf = new WeakMap<WorkItem, AbortSignal>();

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
      retrying: this.#retrying,
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
   * Schedules a task with its arguments and returns its future, as Python's `submit`. What a
   * task is depends on the executor: a function for `TaskPoolExecutor`, an export's name for
   * `WorkerPoolExecutor`. The task never runs inside this call: when a slot is free the future
   * is already `running` on return and the task is called from a microtask.
   *
   * @param task - the task (see the executor).
   * @param args - its arguments.
   * @returns the task's future.
   * @throws {TypeError} for a task of the wrong kind.
   * @throws {ExecutorShutdownError} after `shutdown()`; `BrokenExecutorError` once broken.
   * @example
   * ```ts
   * const future = pool.submit(async (a: number, b: number) => a + b, 1, 2);
   * console.log(await future); // 3
   * ```
   */
  submit(task: unknown, ...args: unknown[]): Future<unknown> {
    this.checkTask(task, 'submit to');
    return this.schedule(task, args.length === 0 ? NO_ARGS : args);
  }

  /**
   * Maps a task over one or more iterables (zipped, shortest wins), as Python's
   * `Executor.map`, yielding the results **in input order** (`ordered: false`: as they
   * complete). Inputs may be sync or async iterables, infinite ones included.
   *
   * - Without `bufferSize`, sync inputs are consumed and every task submitted at call time.
   * - With `bufferSize`, never more than `bufferSize` tasks are submitted and not yet
   *   yielded: an infinite or async input runs in bounded memory.
   * - An error is thrown at its item's position and cancels every outstanding task; so does
   *   `break` (or `return()`).
   * - `timeout`: one deadline for the whole map, from the call (`TimeoutError`); `signal`
   *   stops the map with `signal.reason`.
   * - If the executor shuts down while a buffered map still has input, the map submits
   *   nothing more, yields what was submitted, then throws `ExecutorShutdownError`.
   *
   * @param task - the task (see the executor), called with one item of each iterable.
   * @param iterables - the inputs, then optionally {@link MapOptions}.
   * @returns an async iterator of the results.
   * @throws {TypeError} for a task of the wrong kind, an input that is not iterable, or bad options.
   * @throws {RangeError} for a bad `bufferSize` or `timeout`.
   * @throws {ExecutorShutdownError} when called after `shutdown()`.
   * @example
   * ```ts
   * for await (const page of pool.map(fetchPage, urls, { bufferSize: 16 })) save(page);
   * ```
   */
  map(task: unknown, ...iterables: unknown[]): MapResults<unknown> {
    this.checkTask(task, 'map over');
    const action = `map over executor '${this.name}'`;
    const split = splitMapArguments(iterables, action);
    return mapIterables((values) => this.schedule(task, values), split.iterables, split.options, action, () => this.assertOpen());
  }

  /**
   * Stops accepting work, as Python's `shutdown(wait, cancel_futures)`. With `cancelFutures`
   * every task that has not started is cancelled, and so is every task waiting to retry. With
   * `wait` (the default) the promise resolves when every started task, and every queued task
   * not cancelled, has settled.
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
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) if (item.phase === Phase.QUEUED) item.future.cancel();
      this.#queuedCancelled = 0;
      for (const item of this.#backoff) item.future.cancel();
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
   * Resolves when nothing is pending, running or waiting to retry (p-queue's `onIdle`).
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
   * Throws unless `task` is a task this backend runs (a function, an export's name...).
   * `verb` starts the action in the message: "Cannot `verb` executor 'x' as ...".
   */
  protected abstract checkTask(task: unknown, verb: string): void;

  /**
   * Runs one attempt of a task: the backend's single job. Returns the value or a thenable of
   * it, or throws. `item.task` and `item.args` are what {@link Executor.schedule} was given;
   * `item.signal` aborts on cancellation, on the attempt's timeout and on the deadline.
   */
  protected abstract execute(item: WorkItem): unknown;

  /**
   * Called when a running attempt is cancelled or times out, with the reason. The default
   * does nothing: the attempt's signal has already aborted. A backend that can stop a task by
   * force (a worker) does it here; the slot stays occupied until `execute`'s thenable settles.
   */
  protected interrupt(item: WorkItem, reason: unknown): void {
    void item;
    void reason;
  }

  /**
   * Queues a task and returns its future; `submit`, `map` and the backends' `run` call this.
   *
   * @throws {ExecutorShutdownError} after shutdown; {@link BrokenExecutorError} once broken;
   *   `TypeError`/`RangeError` for bad options.
   */
  protected schedule<T>(task: unknown, args: unknown, options?: RunOptions): Future<T> {
    let timeout = this.#taskTimeout;
    let priority = 0;
    let signal: AbortSignal | undefined;
    let policy: TaskPolicy | undefined;
    if (options !== undefined) {
      const checked = checkOptions(options, RUN_OPTIONS, `run a task on executor '${this.name}'`);
      if (checked.timeout !== undefined && checked.timeout !== timeout) policy = { timeout: (timeout = checked.timeout) };
      priority = checked.priority ?? 0;
      signal = checked.signal;
    }
    this.assertOpen();
    const startNow = signal === undefined && this.#running < this.maxWorkers && this.#pending === 0;
    // A task that starts now runs in its caller's context (#work continues in it): none is captured.
    const item = new WorkItem(this.#itemOwner, task, args, startNow ? undefined : captureContext());
    item.policy = policy;
    const future = (item.future = internals.create<unknown>(item));
    if (startNow) {
      this.#running++;
      this.#begin(item);
      void this.#work(item);
      return future as Future<T>;
    }
    // Watched first: if the signal refuses the listener, nothing has been queued.
    if (signal !== undefined) this.#watch(item, signal);
    this.#pending++;
    this.#queue.push(item, priority);
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
    for (const item of [...this.#queue.drain(), ...this.#backoff]) {
      if (item.phase === Phase.QUEUED) this.#pending--;
      else if (item.phase === Phase.BACKOFF) this.#retrying--;
      else continue;
      this.#finish(item, false, error);
    }
    this.#queuedCancelled = 0;
    this.#notifyIdle();
  }

  /** Items waiting out a retry's backoff. */
  readonly #backoff = new Set<WorkItem>();

  /** What this executor's work items call back into: one of their futures was cancelled. */
  readonly #itemOwner: ItemOwner = {
    itemCancelled: (item, _future, _wasRunning, error) => {
      this.#cancelled++;
      const phase = item.phase;
      this.#retire(item);
      if (phase === Phase.RUNNING) {
        this.interrupt(item, error);
      } else if (phase === Phase.BACKOFF) {
        this.#retrying--;
        this.#backoff.delete(item);
      } else if (phase === Phase.QUEUED) {
        this.#pending--;
        this.#queuedCancelled++;
        // The queue holds the pending items and the cancelled ones: compacted once half are cancelled.
        if (this.#queuedCancelled >= COMPACT_MIN && this.#queuedCancelled >= this.#pending) {
          this.#queue.compact(isStale);
          this.#queuedCancelled = 0;
        }
      }
      this.#notifyIdle();
    },
  };

  /** Starts an attempt of an item that holds a slot: the future is `running` from the first one on. */
  #begin(item: WorkItem): void {
    item.phase = Phase.RUNNING;
    if (item.attempt++ === 0) internals.start(item.future);
    else internals.newAttempt(item.future);
  }

  /** Cancels `item` when `signal` aborts: one listener per signal, however many items it watches. */
  #watch(item: WorkItem, signal: AbortSignal): void {
    let watch = this.#watched.get(signal);
    if (watch === undefined) {
      const items = new Set<WorkItem>();
      const onAbort = (): void => {
        for (const watched of items) watched.future.cancel(signal.reason);
      };
      watch = { items, onAbort };
      // The listener goes on first: if the signal refuses it, nothing is watched.
      if (!signal.aborted) signal.addEventListener('abort', onAbort, { once: true });
      this.#watched.set(signal, watch);
    }
    watch.items.add(item);
    this.#watchOf.set(item, signal);
  }

  /** The item is done: it keeps nothing of the task, and no signal watches it any more. */
  #retire(item: WorkItem): void {
    item.phase = Phase.DONE;
    item.task = item.args = item.context = undefined;
    cancelTimer(item.timer);
    item.timer = undefined;
    const signal = this.#watchOf.get(item);
    if (signal === undefined) return;
    this.#watchOf.delete(item);
    const watch = this.#watched.get(signal)!;
    watch.items.delete(item);
    if (watch.items.size === 0) {
      signal.removeEventListener('abort', watch.onAbort);
      this.#watched.delete(signal);
    }
  }

  /** Settles an item's future with the outcome of its last attempt. */
  #finish(item: WorkItem, fulfilled: boolean, outcome: unknown): void {
    this.#retire(item);
    if (fulfilled) {
      this.#completed++;
      internals.resolve(item.future, outcome);
    } else {
      this.#failed++;
      internals.reject(item.future, outcome);
    }
  }

  /** Starts a worker loop per free slot while tasks are queued. */
  #startWorkers(): void {
    for (let item = this.#takeNext(); item !== undefined; item = this.#takeNext()) {
      this.#running++;
      void this.#work(item);
    }
  }

  /**
   * The start gate (CPython's `set_running_or_notify_cancel`): the next queued item that is
   * still pending, now running, when a slot is free. Cancelled items are dropped here and
   * nowhere else.
   */
  #takeNext(): WorkItem | undefined {
    while (this.#running < this.maxWorkers) {
      const item = this.#queue.shift();
      if (item === undefined) return undefined;
      if (item.phase !== Phase.QUEUED) {
        this.#queuedCancelled--;
        continue;
      }
      this.#pending--;
      this.#begin(item);
      return item;
    }
    return undefined;
  }

  /**
   * One slot: runs an attempt, settles its item, then takes the next queued item, until the
   * queue is empty. Awaiting the task here (rather than attaching callbacks) keeps the
   * per-task cost to what the task itself allocates. The first task waits a microtask: no
   * task function is ever called inside the `submit` that scheduled it.
   */
  async #work(item: WorkItem): Promise<void> {
    await undefined;
    // The parameter is reassigned for each task: a suspended async function keeps its
    // parameters alive, so a copy of it would pin the first task's item.
    for (;;) {
      // Cancelled between the gate and now: the task is never called.
      if (item.phase === Phase.RUNNING) {
        const attempt = item.attempt;
        const timeout = item.policy === undefined ? this.#taskTimeout : (item.policy as TaskPolicy).timeout;
        if (timeout !== undefined) item.timer = this.#startTimeout(item, timeout);
        let fulfilled = true;
        let outcome: unknown;
        try {
          const context = item.context;
          outcome = context === undefined ? this.execute(item) : context.runInAsyncScope(this.#execute, this, item);
          if (isThenable(outcome)) outcome = await outcome;
        } catch (error) {
          fulfilled = false;
          outcome = error;
        }
        this.#running--;
        // Counted before settling, so that done callbacks see up-to-date stats. An attempt that
        // timed out, or whose task was cancelled, has been dealt with already.
        if (item.phase === Phase.RUNNING && item.attempt === attempt) this.#attemptEnded(item, fulfilled, outcome);
      } else {
        this.#running--;
      }
      const next = this.#takeNext();
      if (next === undefined) {
        this.#notifyIdle();
        return;
      }
      this.#running++;
      item = next;
    }
  }

  readonly #execute = (item: WorkItem): unknown => this.execute(item);

  /** An attempt ended (its task settled, or it timed out): the item settles. */
  #attemptEnded(item: WorkItem, fulfilled: boolean, outcome: unknown): void {
    cancelTimer(item.timer);
    item.timer = undefined;
    this.#finish(item, fulfilled, outcome);
  }

  /** Out of `#work`: a closure made there would keep the loop's variables alive. */
  #startTimeout(item: WorkItem, timeout: number): TimerHandle | undefined {
    const attempt = item.attempt;
    return startTimer(timeout, () => {
      if (item.phase !== Phase.RUNNING || item.attempt !== attempt) return;
      item.timer = undefined;
      const error = new TimeoutError(`Task on executor '${this.name}' timed out after ${timeout} ms`);
      internals.abortAttempt(item.future, error);
      this.interrupt(item, error);
      this.#attemptEnded(item, false, error);
    });
  }

  /** Resolves the `onIdle()` promises when nothing is pending, running or waiting to retry. */
  #notifyIdle(): void {
    if (this.#pending !== 0 || this.#running !== 0 || this.#retrying !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
