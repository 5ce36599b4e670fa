import { BrokenExecutorError, submittedAfterShutdown, TimeoutError } from './errors.js';
import { reportError } from './internal/report.js';
import { isCircuitBreaker, type CircuitBreaker } from './policies/circuit-breaker.js';
import { checkRateLimit, RateLimiter } from './policies/rate-limit.js';
import { checkRetry, RetryPolicy } from './policies/retry.js';
import { SingleFlight } from './policies/single-flight.js';
import type { ExecutorOptions, ExecutorStats, RunOptions, ShutdownOptions } from './executor-options.js';

export type { ExecutorOptions, ExecutorStats, RunOptions, ShutdownOptions } from './executor-options.js';
import { internals, type Future, type FutureOwner } from './future.js';
import { captureContext, type Context } from './internal/async-context.js';
import { mapWorkItems, splitMapArguments, type MapListener, type MapResults, type MapTasks } from './map.js';
import { keepShape } from './internal/shapes.js';
import { MAP_SOURCE, MapSource, MapWorkItem, Phase, TaskItem, type Item, type ItemState, type ItemOwner, type TaskPolicy, type WorkItem } from './work-item.js';
import { PriorityQueue } from './internal/queue.js';
import { cancelTimer, now, startTimer, type TimerHandle } from './internal/timers.js';
import { checkBoolean, checkFiniteNumber, checkOptions, checkPositiveInteger, checkSignal, checkString, checkTimeout, fail, isThenable, type OptionChecks } from './internal/validate.js';

const RUN_OPTIONS: OptionChecks = { signal: checkSignal, timeout: checkTimeout, priority: checkFiniteNumber, retry: checkRetry, deadline: checkTimeout, key: checkString };

function checkBreaker(value: unknown, action: string, name: string): void {
  if (!isCircuitBreaker(value)) fail(TypeError, 'a CircuitBreaker', action, name, value);
}
const SHUTDOWN_OPTIONS: OptionChecks = { wait: checkBoolean, cancelFutures: checkBoolean };
/** Cancelled items may pile up in the queue before it is compacted. */
const COMPACT_MIN = 1024;
/** The arguments of every task submitted without any: one shared array, never written to. */
const NO_ARGS: unknown[] = [];

const counters = new Map<string, number>();

function defaultName(kind: string): string {
  const count = (counters.get(kind) ?? 0) + 1;
  counters.set(kind, count);
  return `${kind}-${count}`;
}

function isStale(item: Item): boolean {
  return item.phase !== Phase.QUEUED;
}

/** What the classes below reach of an executor (set by `Executor`). */
let friend: {
  itemCancelled(executor: Executor, item: Item, future: Future<unknown> | undefined, error: unknown): void;
  restEnded(executor: Executor, count: number, cancelled: boolean): void;
  scheduleMapItem(executor: Executor, task: unknown, args: unknown[]): MapWorkItem;
  scheduleMapSource(executor: Executor, task: unknown, tuples: unknown[], arity: number, map: MapListener): MapSource;
};

/**
 * What an executor's work items call back into, and the owner of its tasks' futures (a task of
 * `submit` or `run` is its own future). A class, one object per executor, rather than closures:
 * see internal/shapes.ts.
 */
class ItemOwnerOf implements ItemOwner, FutureOwner {
  readonly #executor: Executor;

  constructor(executor: Executor) {
    this.#executor = executor;
  }

  itemCancelled(item: Item, future: Future<unknown> | undefined, error: unknown): void {
    friend.itemCancelled(this.#executor, item, future, error);
  }

  restEnded(count: number, cancelled: boolean): void {
    friend.restEnded(this.#executor, count, cancelled);
  }

  get executorName(): string {
    return this.#executor.name;
  }

  /** A task's own future (its item) was cancelled. */
  futureCancelled(future: Future<unknown>, _wasRunning: boolean, error: unknown): void {
    friend.itemCancelled(this.#executor, future as TaskItem, future, error);
  }
}

/** The tasks of one `map` call, which its iterator submits. A class, for the reason above. */
class MapTasksOf implements MapTasks {
  static {
    // See internal/shapes.ts.
    keepShape(new MapTasksOf(undefined as never, undefined));
  }
  readonly #executor: Executor;
  readonly #task: unknown;

  constructor(executor: Executor, task: unknown) {
    this.#executor = executor;
    this.#task = task;
  }

  submit(values: unknown[]): MapWorkItem {
    return friend.scheduleMapItem(this.#executor, this.#task, values);
  }

  submitAll(tuples: unknown[], arity: number, map: MapListener): MapSource {
    return friend.scheduleMapSource(this.#executor, this.#task, tuples, arity, map);
  }
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
  static {
    friend = {
      itemCancelled: (executor, item, future, error) => executor.#itemCancelled(item, future, error),
      restEnded: (executor, count, cancelled) => executor.#restEnded(count, cancelled),
      scheduleMapItem: (executor, task, args) => executor.scheduleMapItem(task, args),
      scheduleMapSource: (executor, task, tuples, arity, map) => executor.scheduleMapSource(task, tuples, arity, map),
    };
  }
  /** The name used in messages. */
  readonly name: string;
  /** The most task functions in flight at once. */
  readonly maxWorkers: number;
  readonly #taskTimeout: number | undefined;
  /** The policy of a task scheduled without options: `undefined` unless the executor has a `retry`. */
  readonly #defaultPolicy: TaskPolicy | undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #breaker: CircuitBreaker | undefined;
  /** No rate limit and no breaker: a task may start inside `schedule` without asking the gate. */
  readonly #ungated: boolean;
  /** Set while the gate waits for the rate limit or a breaker's probe (nothing starts meanwhile): stops the wait. */
  #gateWait: (() => void) | undefined;
  /** What its work items call back into. */
  readonly #owner = new ItemOwnerOf(this);
  /** Single-flight: the task in flight for each key. */
  readonly #flights = new SingleFlight();
  readonly #queue = new PriorityQueue<Item>();
  #pending = 0;
  #running = 0;
  #retrying = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  /** Cancelled items still sitting in the queue. */
  #queuedCancelled = 0;
  #shutdown = false;
  #broken: BrokenExecutorError | undefined;
  #idleWaiters: (() => void)[] = [];
  /** One abort listener per caller's signal, and the items it cancels. */
  readonly #watched = new Map<AbortSignal, { futures: Set<Future<unknown>>; onAbort: () => void }>();
  /** Which signal watches a future (only futures of tasks scheduled with one). */
  readonly #watchOf = new WeakMap<Future<unknown>, AbortSignal>();

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
    const checked = checkOptions(
      options,
      { maxWorkers: undefined, name: checkString, taskTimeout: checkTimeout, retry: checkRetry, rateLimit: checkRateLimit, breaker: checkBreaker, ...extraOptions },
      action,
    );
    const maxWorkers = checked.maxWorkers ?? defaultMaxWorkers;
    checkPositiveInteger(maxWorkers, action, 'maxWorkers');
    this.maxWorkers = maxWorkers;
    this.name = checked.name ?? defaultName(kind);
    this.#taskTimeout = checked.taskTimeout;
    this.#defaultPolicy = checked.retry === undefined ? undefined : { timeout: checked.taskTimeout, deadline: undefined, retry: new RetryPolicy(checked.retry) };
    this.#limiter = checked.rateLimit === undefined ? undefined : new RateLimiter(checked.rateLimit);
    this.#breaker = checked.breaker;
    this.#ungated = this.#limiter === undefined && this.#breaker === undefined;
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
    return mapWorkItems(new MapTasksOf(this, task), split.iterables, split.options, action, () => this.assertOpen());
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
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) if (item.phase === Phase.QUEUED) item.cancel();
      this.#queuedCancelled = 0;
      for (const item of this.#backoff) item.cancel();
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
    return this.shutdown();
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
    let policy = this.#defaultPolicy;
    let priority = 0;
    let signal: AbortSignal | undefined;
    let key: string | undefined;
    if (options !== undefined) {
      const checked = checkOptions(options, RUN_OPTIONS, `run a task on executor '${this.name}'`);
      const { timeout = this.#taskTimeout, deadline, retry } = checked;
      if (timeout !== this.#taskTimeout || deadline !== undefined || retry !== undefined) {
        policy = { timeout, deadline, retry: retry === undefined ? this.#defaultPolicy?.retry : new RetryPolicy(retry) };
      }
      priority = checked.priority ?? 0;
      signal = checked.signal;
      key = checked.key;
    }
    this.assertOpen();
    if (key !== undefined) {
      const flight = this.#flights.get(key);
      if (flight !== undefined) return this.#follow<T>(flight, signal);
    }
    const startNow = signal === undefined && key === undefined && this.#running < this.maxWorkers && this.#pending === 0 && this.#ungated;
    // A task that starts now runs in its caller's context (#work continues in it): none is captured.
    const item = new TaskItem(task, args, startNow ? undefined : captureContext(), this.#owner);
    // A task with the executor's own policy has no state until it needs one (a retry): see #policyOf.
    if (policy !== this.#defaultPolicy || priority !== 0) item.policyState = this.#newState(policy, priority);
    if (startNow) {
      this.#running++;
      this.#begin(item);
      void this.#work(item);
      return item as Future<T>;
    }
    // Watched first: if the signal refuses the listener, nothing has been queued.
    if (signal !== undefined && key === undefined) {
      // A task with a state is looked up when it retires: one with none was never watched.
      this.#stateOf(item);
      this.#watch(item, signal);
    }
    this.#pending++;
    this.#queue.push(item, priority);
    if (key !== undefined) {
      this.#flights.lead(item, this.#stateOf(item), key);
      return this.#follow<T>(item, signal);
    }
    if (signal?.aborted) item.cancel(signal.reason);
    else this.#startWorkers();
    return item as Future<T>;
  }

  /**
   * Queues one task of a `map` call: a work item without a future (the map alone sees its
   * outcome), with the executor's own options.
   * @internal
   */
  protected scheduleMapItem(task: unknown, args: unknown[]): MapWorkItem {
    this.assertOpen();
    const startNow = this.#running < this.maxWorkers && this.#pending === 0 && this.#ungated;
    const item = new MapWorkItem(task, args, startNow ? undefined : captureContext(), this.#owner);
    if (startNow) {
      this.#running++;
      this.#begin(item);
      void this.#work(item);
      return item;
    }
    this.#pending++;
    this.#queue.push(item);
    this.#startWorkers();
    return item;
  }

  /**
   * Queues the tasks of a `map` call at once, in the caller's async context: one queue entry
   * for all of them, whose tasks become work items one at a time as they start (each given to
   * `map.itemTaken` first). They count as pending from now on.
   * @internal
   */
  protected scheduleMapSource(task: unknown, tuples: unknown[], arity: number, map: MapListener): MapSource {
    this.assertOpen();
    const source = new MapSource(task, tuples, arity, captureContext(), this.#owner, map);
    this.#pending += tuples.length;
    this.#queue.push(source);
    // The workers started here run in the source's context already.
    this.#startWorkers(source.context);
    return source;
  }

  /** The tasks of a map source not yet taken were cancelled, or failed: `count` queued tasks at once. */
  #restEnded(count: number, cancelled: boolean): void {
    if (cancelled) this.#cancelled += count;
    else this.#failed += count;
    // The source is one entry of the queue: it stays there until the gate drops it.
    this.#pending -= count - 1;
    this.#dequeued();
    this.#notifyIdle();
  }

  /**
   * Throws unless the executor accepts work.
   *
   * @throws {ExecutorShutdownError} after shutdown; {@link BrokenExecutorError} once broken.
   */
  protected assertOpen(): void {
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#shutdown) {
      throw submittedAfterShutdown(this.name);
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
    // The queue holds queued and cancelled items; the backoff set, items waiting to retry.
    for (const item of [...this.#queue.drain(), ...this.#backoff]) {
      if (item.phase === Phase.DONE) continue;
      if (item.args === MAP_SOURCE) {
        (item as MapSource).fail(error);
        continue;
      }
      this.#leave(item, item.phase);
      this.#finish(item, false, error);
    }
    this.#queuedCancelled = 0;
    this.#openGate();
    this.#notifyIdle();
  }

  /** Items waiting out a retry's backoff. */
  readonly #backoff = new Set<Item>();

  /** One of its work items was cancelled: through one of its futures, or a map item (`future` is then undefined). */
  #itemCancelled(item: Item, future: Future<unknown> | undefined, error: unknown): void {
    if (future !== undefined) this.#unwatch(future);
    // Single-flight: a follower left (the task is cancelled once none is left).
    if (this.#flights.cancelled(item, future, error)) return;
    this.#cancelled++;
    const phase = item.phase;
    this.#retire(item);
    this.#leave(item, phase, undefined, error);
    this.#flights.taskCancelled(item, error);
    this.#notifyIdle();
  }

  /**
   * The item leaves `phase` for good: a running attempt gives its breaker permit back (as
   * `outcome`) and is interrupted with `error`; an item in backoff or queued is no longer counted.
   */
  #leave(item: Item, phase: Phase, outcome?: 'failure', error?: unknown): void {
    if (phase === Phase.RUNNING) {
      this.#releasePermit(item, outcome);
      this.interrupt(item, error);
    } else if (phase === Phase.BACKOFF) {
      this.#retrying--;
      this.#backoff.delete(item);
    } else if (phase === Phase.QUEUED) this.#dequeued();
  }

  /** A queued item was cancelled or failed where it stands: it stays in the queue until the gate drops it. */
  #dequeued(): void {
    this.#pending--;
    this.#queuedCancelled++;
    // The queue holds the pending items and the cancelled ones: compacted once half are cancelled.
    if (this.#queuedCancelled >= COMPACT_MIN && this.#queuedCancelled >= this.#pending) {
      this.#queue.compact(isStale);
      this.#queuedCancelled = 0;
    }
    if (this.#pending === 0) this.#openGate();
  }

  #newState(policy: TaskPolicy | undefined, priority: number): ItemState {
    return { policy, priority, timer: undefined, previousDelay: undefined, deadlineTimer: undefined, permit: undefined, key: undefined, followers: undefined, failure: undefined };
  }

  /** The policies' state of an item, made on first need. */
  #stateOf(item: Item): ItemState {
    return (item.policyState ??= this.#newState(this.#defaultPolicy, 0));
  }

  /**
   * The options in force for an item: its own, or, when it has no state, the executor's (a
   * task scheduled with none makes no state object unless a policy needs one, retrying or not).
   */
  #policyOf(item: Item): TaskPolicy | undefined {
    const state = item.policyState;
    return state === undefined ? this.#defaultPolicy : state.policy;
  }

  /** Single-flight: a new future that follows `item` (same outcome); cancelling it cancels only it. */
  #follow<T>(item: TaskItem, signal: AbortSignal | undefined): Future<T> {
    const follower = this.#flights.follow(item, this.#stateOf(item));
    if (signal !== undefined) {
      try {
        this.#watch(follower, signal);
      } catch (error) {
        // A signal that refuses the listener: this follower leaves (the last one takes the task along).
        follower.cancel();
        throw error;
      }
    }
    if (signal?.aborted) follower.cancel(signal.reason);
    else this.#startWorkers();
    return follower as Future<T>;
  }

  /** Starts an attempt of an item that holds a slot: the future is `running` from the first one on. */
  #begin(item: Item): void {
    item.phase = Phase.RUNNING;
    if (item.attempt++ === 0) {
      // A task item is its own future; a map item has none.
      if (item instanceof TaskItem) internals.start(item);
      else (item as MapWorkItem).start();
      if (item.policyState !== undefined) this.#flights.started(item);
      const deadline = this.#policyOf(item)?.deadline;
      if (deadline !== undefined) this.#stateOf(item).deadlineTimer = startTimer(deadline, () => this.#deadlinePassed(item, deadline));
    } else {
      if (item instanceof TaskItem) internals.newAttempt(item);
      else (item as MapWorkItem).newAttempt();
    }
  }

  /** Cancels `future` when `signal` aborts: one listener per signal, however many futures it watches. */
  #watch(future: Future<unknown>, signal: AbortSignal): void {
    let watch = this.#watched.get(signal);
    if (watch === undefined) {
      const futures = new Set<Future<unknown>>();
      const onAbort = (): void => {
        for (const watched of futures) watched.cancel(signal.reason);
      };
      watch = { futures, onAbort };
      // The listener goes on first: if the signal refuses it, nothing is watched.
      if (!signal.aborted) signal.addEventListener('abort', onAbort, { once: true });
      this.#watched.set(signal, watch);
    }
    watch.futures.add(future);
    this.#watchOf.set(future, signal);
  }

  /** No signal watches `future` any more; the last future of a signal takes the listener off. */
  #unwatch(future: Future<unknown>): void {
    const signal = this.#watchOf.get(future);
    if (signal === undefined) return;
    this.#watchOf.delete(future);
    const watch = this.#watched.get(signal)!;
    watch.futures.delete(future);
    if (watch.futures.size === 0) {
      signal.removeEventListener('abort', watch.onAbort);
      this.#watched.delete(signal);
    }
  }

  /** The item is done: it keeps nothing of the task, its timers stop, its key is free again. */
  #retire(item: Item): void {
    item.phase = Phase.DONE;
    item.release();
    const state = item.policyState;
    // The common task has no state: no timer, no signal, no deadline, no key.
    if (state === undefined) return;
    cancelTimer(state.timer);
    state.timer = undefined;
    if (item instanceof TaskItem) this.#unwatch(item);
    if (state.followers !== undefined) for (const follower of state.followers) this.#unwatch(follower);
    cancelTimer(state.deadlineTimer);
    state.deadlineTimer = undefined;
    this.#flights.release(item);
  }

  /** Settles an item's future (and its followers) with the outcome of its last attempt. */
  #finish(item: Item, fulfilled: boolean, outcome: unknown): void {
    this.#retire(item);
    if (fulfilled) this.#completed++;
    else this.#failed++;
    if (!(item instanceof TaskItem)) (item as MapWorkItem).settle(fulfilled, outcome);
    else if (fulfilled) internals.resolve(item, outcome);
    else internals.reject(item, outcome);
    if (item.policyState !== undefined) this.#flights.settled(item, fulfilled, outcome);
  }

  /**
   * Starts a worker loop per free slot while tasks are queued. `home`: the context these loops
   * run in, when the caller knows it (a task captured in it is called without entering it).
   */
  #startWorkers(home?: Context): void {
    for (let item = this.#takeNext(); item !== undefined; item = this.#takeNext()) {
      this.#running++;
      void this.#work(item, home);
    }
  }

  /**
   * The start gate (CPython's `set_running_or_notify_cancel`): the next queued item that is
   * still pending, now running, when a slot is free. Cancelled items are dropped here and
   * nowhere else. Without one (the queue empty, the slots full, the gate closed), the waiters
   * of `onIdle()` hear it here once nothing is left.
   */
  #takeNext(): Item | undefined {
    while (this.#running < this.maxWorkers && this.#gateWait === undefined) {
      const limiter = this.#limiter;
      if (limiter !== undefined && this.#pending > 0) {
        const delay = limiter.delay(now());
        if (delay > 0) {
          this.#closeGate(delay);
          return undefined;
        }
      }
      const queue = this.#queue;
      let item = queue.peek();
      // Out through the end, as when the slots are full: a path taken at every start of work
      // (optimized code meeting a path for the first time is thrown away).
      if (item === undefined) break;
      if (item.phase !== Phase.QUEUED) {
        queue.shift();
        this.#queuedCancelled--;
        continue;
      }
      if (item.args === MAP_SOURCE) {
        // The map's next task: the source stays at the head until its last one is taken.
        const source = item as MapSource;
        item = source.take();
        if (source.phase !== Phase.QUEUED) queue.shift();
      } else queue.shift();
      const breaker = this.#breaker;
      if (breaker !== undefined) {
        const permit = breaker.acquire(now());
        if (permit === 'wait') {
          this.#queue.unshift(item, item.policyState?.priority);
          this.#closeGate(undefined);
          return undefined;
        }
        if (permit === 'refuse') {
          // A refused start is an attempt that failed without running: it takes no slot and no rate.
          this.#pending--;
          this.#begin(item);
          this.#attemptFailed(item, breaker.refusal(this.name, now(), item.policyState?.failure));
          continue;
        }
        this.#stateOf(item).permit = permit;
      }
      limiter?.reserve();
      this.#pending--;
      this.#begin(item);
      return item;
    }
    // The gate may have settled every queued task (refused by an open breaker).
    this.#notifyIdle();
    return undefined;
  }

  /**
   * Holds every queued task until `delay` ms have passed (rate limit; `Infinity`: until a task
   * let through is called, see #work) or, without one, until the breaker wakes us.
   */
  #closeGate(delay: number | undefined): void {
    if (delay === undefined) this.#gateWait = this.#breaker!.subscribeWake(this.#reopenGate);
    else {
      const timer = startTimer(delay, this.#reopenGate);
      this.#gateWait = () => cancelTimer(timer);
    }
  }

  readonly #reopenGate = (): void => {
    this.#openGate();
    this.#startWorkers();
  };

  /** Nothing is queued any more: the gate stops waiting (no timer left behind). */
  #openGate(): void {
    this.#gateWait?.();
    this.#gateWait = undefined;
  }

  /**
   * One slot: runs an attempt, settles its item, then takes the next queued item, until the
   * queue is empty. Awaiting the task here (rather than attaching callbacks) keeps the
   * per-task cost to what the task itself allocates. The first task waits a microtask: no
   * task function is ever called inside the `submit` that scheduled it. A loop runs in the
   * context it was started in: a task of that context (`home`) is called as it is.
   */
  async #work(item: Item, home?: Context): Promise<void> {
    await undefined;
    // The parameter is reassigned for each task: a suspended async function keeps its
    // parameters alive, so a copy of it would pin the first task's item.
    for (;;) {
      // Cancelled between the gate and now: the task is never called.
      if (item.phase === Phase.RUNNING) {
        const attempt = item.attempt;
        const policy = this.#policyOf(item);
        const timeout = policy === undefined ? this.#taskTimeout : policy.timeout;
        if (timeout !== undefined) this.#stateOf(item).timer = this.#startTimeout(item, timeout);
        let fulfilled = true;
        let outcome: unknown;
        try {
          const context = item.context;
          if (this.#limiter !== undefined) outcome = this.#callCounted(item, context, home);
          else outcome = context === undefined || context === home ? this.execute(item) : context.runInAsyncScope(this.execute, this, item);
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
        // Its place in the rate window is free again: the gate's timer was set while it held it.
        if (this.#limiter !== undefined) {
          this.#limiter.release();
          this.#openGate();
        }
      }
      const next = this.#takeNext();
      if (next === undefined) return;
      this.#running++;
      item = next;
    }
  }

  /**
   * Calls the task of an executor with a rate limit and counts the start: at the time read just
   * before `execute`, inside the task's own async context (entering it the first time takes a
   * while, and a start counted before that could let the next one in less than `interval`
   * after the task's code ran), recorded once the call returns or throws. A gate that waited
   * for this start opens.
   */
  #callCounted(item: Item, context: Context, home: Context | undefined): unknown {
    return context === undefined || context === home ? this.#executeCounted(item) : context.runInAsyncScope(this.#executeCounted, this, item);
  }

  #executeCounted(item: Item): unknown {
    const calledAt = now();
    try {
      return this.execute(item);
    } finally {
      if (this.#limiter!.start(calledAt)) this.#reopenGate();
    }
  }

  /** An attempt ended (its task settled, or it timed out): the item settles, or retries. */
  #attemptEnded(item: Item, fulfilled: boolean, outcome: unknown): void {
    const state = item.policyState;
    if (state !== undefined) {
      cancelTimer(state.timer);
      state.timer = undefined;
    }
    const verdict = fulfilled ? 'success' : this.#breaker?.classify(outcome);
    if (fulfilled) this.#finish(item, true, outcome);
    else this.#attemptFailed(item, outcome);
    // Last: the breaker may wake the start gate, which must find this item settled or waiting to retry.
    this.#releasePermit(item, verdict);
  }

  /** Tells the breaker how the running attempt ended (`undefined`: it was cancelled). */
  #releasePermit(item: Item, outcome: 'success' | 'failure' | 'ignore' | undefined): void {
    const state = item.policyState;
    if (state?.permit === undefined) return;
    this.#breaker!.release(state.permit, outcome ?? 'ignore', now());
    state.permit = undefined;
  }

  /**
   * An attempt failed: the item waits out a backoff, holding no slot, when its retry policy
   * says so (then it queues again ahead of the tasks of its priority); otherwise it rejects
   * with the error, unchanged.
   */
  #attemptFailed(item: Item, error: unknown): void {
    const retry = this.#policyOf(item)?.retry;
    let delay: number | undefined;
    if (retry !== undefined && retry.attempts > item.attempt) {
      const state = this.#stateOf(item);
      try {
        if (retry.shouldRetry(error, item.attempt)) delay = retry.delay(item.attempt, error, state.previousDelay);
      } catch (thrown) {
        reportError(`the retry policy of a task on executor '${this.name}' threw, so the task is not retried`, thrown);
        delay = undefined;
      }
      if (delay !== undefined) {
        state.previousDelay = delay;
        try {
          retry.onRetry?.({ error, attempt: item.attempt, delay });
        } catch (thrown) {
          reportError(`the 'onRetry' of a task on executor '${this.name}' threw`, thrown);
        }
      }
    }
    // `onRetry` may have cancelled it.
    if (item.phase === Phase.DONE) return;
    if (delay === undefined) {
      this.#finish(item, false, error);
      return;
    }
    item.phase = Phase.BACKOFF;
    this.#retrying++;
    this.#backoff.add(item);
    const state = this.#stateOf(item);
    state.failure = error;
    state.timer = startTimer(delay, () => this.#backoffEnded(item));
  }

  /** The backoff is over: the item queues again, ahead of the tasks of its priority. */
  #backoffEnded(item: Item): void {
    if (item.phase !== Phase.BACKOFF) return;
    item.policyState!.timer = undefined;
    this.#leave(item, Phase.BACKOFF);
    if (this.#broken !== undefined) {
      this.#finish(item, false, this.#broken);
      this.#notifyIdle();
      return;
    }
    item.phase = Phase.QUEUED;
    this.#pending++;
    this.#queue.unshift(item, item.policyState?.priority);
    this.#startWorkers();
  }

  /** The deadline of a task passed: whatever it is doing stops, and it rejects with a TimeoutError. */
  #deadlinePassed(item: Item, deadline: number): void {
    const state = item.policyState!;
    state.deadlineTimer = undefined;
    const error = new TimeoutError(`Task on executor '${this.name}' passed its deadline of ${deadline} ms`);
    const phase = item.phase;
    if (phase === Phase.DONE) return;
    if (phase === Phase.RUNNING) item.abortAttempt(error);
    this.#leave(item, phase, 'failure', error);
    this.#finish(item, false, error);
    this.#notifyIdle();
  }

  /** Out of `#work`: a closure made there would keep the loop's variables alive. */
  #startTimeout(item: Item, timeout: number): TimerHandle | undefined {
    const attempt = item.attempt;
    return startTimer(timeout, () => {
      if (item.phase !== Phase.RUNNING || item.attempt !== attempt) return;
      item.policyState!.timer = undefined;
      const error = new TimeoutError(`Task on executor '${this.name}' timed out after ${timeout} ms`);
      item.abortAttempt(error);
      this.interrupt(item, error);
      this.#attemptEnded(item, false, error);
    });
  }

  /** Resolves the `onIdle()` promises when nothing is pending, running or waiting to retry. */
  #notifyIdle(): void {
    // Nobody waiting first: the check that ends it almost always, so that the others are seldom reached.
    if (this.#idleWaiters.length === 0 || this.#pending !== 0 || this.#running !== 0 || this.#retrying !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
