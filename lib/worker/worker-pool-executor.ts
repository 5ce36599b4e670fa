import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type TransferListItem, type WorkerOptions } from 'node:worker_threads';
import { BrokenExecutorError } from '../errors.js';
import { Executor, type ShutdownOptions } from '../executor.js';
import type { Future } from '../future.js';
import type { MapOptions, MapResults } from '../map.js';
import type { WorkItem } from '../work-item.js';
import { reportError } from '../internal/report.js';
import { cancelTimer, startTimer, type TimerHandle } from '../internal/timers.js';
import { describe } from '../internal/validate.js';
import { WorkerCrashError } from './errors.js';
import {
  checkName,
  checkWorkerOptions,
  defaultMaxWorkers,
  EXTRA_OPTIONS,
  messageOf,
  startFailure,
  type TaskArguments,
  type TaskIterables,
  type TaskName,
  type TaskResult,
  type UntypedTaskModule,
  type WorkerPoolExecutorOptions,
  type WorkerRunOptions,
} from './options.js';
import { deserializeError, isSerializedError, Status, type InitMessage, type ReplyMessage, type TaskMessage } from './protocol.js';

/** The worker program, next to this module: `worker-thread.js` (ESM) or `.cjs` (CommonJS). */
const THREAD_URL = new URL(`./worker-thread${import.meta.url.endsWith('.cjs') ? '.cjs' : '.js'}`, import.meta.url);

/** Arguments of `run()` with a transfer list. */
class Transfer {
  constructor(
    readonly args: readonly unknown[],
    readonly list: readonly TransferListItem[],
  ) {}
}

/** One worker thread and the task it runs. */
class Thread {
  /** The module has loaded in it. */
  ready = false;
  /** On the idle stack. */
  idle = false;
  /** `worker.ref()` is in effect. */
  referenced = true;
  /** Being terminated, or exiting because its module failed to load. */
  stopping = false;
  /** The running task's id: 0 when idle, -1 once interrupted. */
  taskId = 0;
  taskName = '';
  item: WorkItem | undefined = undefined;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  /** Why its task was interrupted: its future's rejection, to settle the slot with. */
  reason: unknown = undefined;
  /** The worker's uncaught error ('error' event), if any. */
  error: { value: unknown } | undefined = undefined;
  idleSince = 0;
  timer: TimerHandle | undefined = undefined;

  constructor(
    readonly worker: Worker,
    /** The main thread's end of the channel for tasks and replies. */
    readonly port: MessagePort,
  ) {}

  /** Forgets the task; returns its `[resolve, reject]`. */
  take(): [(value: unknown) => void, (error: unknown) => void] | undefined {
    const { resolve, reject } = this;
    if (resolve === undefined || reject === undefined) return undefined;
    this.taskId = 0;
    this.item = this.resolve = this.reject = undefined;
    return [resolve, reject];
  }
}

function unrefTimer(timer: TimerHandle | undefined): TimerHandle | undefined {
  (timer as { unref?: () => void } | undefined)?.unref?.();
  return timer;
}

/**
 * The typed methods of {@link WorkerPoolExecutor}: the {@link Executor} base implements them
 * once for every backend; these declarations type them from the task module.
 *
 * @typeParam M - the task module's exports.
 */
export interface WorkerPoolExecutor<M extends object = UntypedTaskModule> {
  /**
   * Runs the module's export `name` with `args` in a worker and returns its future, as
   * Python's `submit`. The arguments are structured-cloned when the task starts; one that
   * cannot be cloned fails the future with a `TypeError`, as does an unknown `name`.
   *
   * @typeParam K - the export's name.
   * @param name - a function exported by the task module.
   * @param args - its arguments.
   * @returns the task's future.
   * @throws {TypeError} when `name` is not a non-empty string.
   * @throws {ExecutorShutdownError} after `shutdown()`; `BrokenExecutorError` once broken.
   * @example
   * ```ts
   * const future = pool.submit('resize', imageBytes, 800);
   * console.log(await future);
   * ```
   */
  submit<K extends TaskName<M>>(name: K, ...args: TaskArguments<M, K>): Future<TaskResult<M, K>>;

  /**
   * Maps the export `name` over one or more iterables (zipped, shortest wins), as Python's
   * `Executor.map`, yielding results in input order (`ordered: false`: as they complete).
   * Same options and guarantees as every executor's `map`: `bufferSize` bounds the tasks
   * submitted and not yet yielded, an error is thrown at its item's position and cancels
   * the rest (terminating their workers), `timeout` is one deadline for the whole map.
   *
   * @typeParam K - the export's name.
   * @param name - a function exported by the task module.
   * @param iterables - one sync or async iterable per parameter, then optionally {@link MapOptions}.
   * @returns an async iterator of the results.
   * @throws {TypeError} for a bad `name`, an input that is not iterable, or bad options.
   * @throws {ExecutorShutdownError} when called after `shutdown()`.
   * @example
   * ```ts
   * for await (const digest of pool.map('hash', files, { bufferSize: 16 })) console.log(digest);
   * ```
   */
  map<K extends TaskName<M>>(
    name: K,
    ...iterables: TaskIterables<TaskArguments<M, K>> | [...TaskIterables<TaskArguments<M, K>>, MapOptions | undefined]
  ): MapResults<TaskResult<M, K>>;
}

/**
 * Runs the exported functions of a module on a pool of worker threads: Python's
 * `ProcessPoolExecutor` for JavaScript, with the same {@link Executor} contract as
 * `TaskPoolExecutor` (futures, `map`, `shutdown`, `await using`, `wait`/`asCompleted`/`settle`).
 *
 * - Tasks are named by export: `submit('resize', bytes, 800)` runs the module's `resize` in
 *   a worker. They may be sync or async; arguments and results are structured-cloned
 *   (`run(..., { transfer })` moves buffers instead).
 * - Cancelling a running task, or its `timeout`, terminates its worker: the future settles
 *   at once, and the slot frees once that worker is gone (then a fresh one takes over).
 * - A worker that dies (uncaught error, `process.exit()`, out of memory) fails only its own
 *   task, with a {@link WorkerCrashError}; an unknown export or an argument that cannot be
 *   cloned fails only that task, with a `TypeError`. Only a module that cannot load makes
 *   the executor broken: every queued future then fails with `BrokenExecutorError`.
 * - Idle workers stay warm for `idleTimeout` ms and never keep the process alive; after
 *   `shutdown()` no worker is left.
 *
 * Give the module's type to type the tasks: `new WorkerPoolExecutor<typeof import('./tasks.js')>(...)`.
 *
 * @typeParam M - the task module's exports.
 * @example
 * ```ts
 * await using pool = new WorkerPoolExecutor<typeof import('./tasks.js')>({
 *   filename: new URL('./tasks.js', import.meta.url),
 *   maxWorkers: 4,
 * });
 * const digest = await pool.submit('hash', bytes);
 * for await (const digest of pool.map('hash', files, { bufferSize: 16 })) console.log(digest);
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WorkerPoolExecutor<M extends object = UntypedTaskModule> extends Executor {
  /** The task module's URL. */
  readonly filename: string;
  readonly #minWorkers: number;
  readonly #idleTimeout: number;
  readonly #workerOptions: WorkerOptions;
  /** Every worker not yet exited. */
  readonly #threads = new Set<Thread>();
  /** Idle workers, the most recently used last. */
  #idle: Thread[] = [];
  #lastId = 0;
  #exitWaiters: (() => void)[] = [];
  #brokenError: BrokenExecutorError | undefined = undefined;
  /** The calls its `retry` option allows a task (1: no retry). */
  readonly #attempts: number;

  /**
   * @param options - see {@link WorkerPoolExecutorOptions}; `filename` is required.
   * @throws {TypeError} a missing `filename`, an option of the wrong type, an unknown option.
   * @throws {RangeError} `maxWorkers` not a positive integer, `minWorkers` beyond it, a negative timeout.
   */
  constructor(options: WorkerPoolExecutorOptions) {
    super(options, defaultMaxWorkers(), EXTRA_OPTIONS);
    this.#attempts = options?.retry?.attempts ?? 1;
    const { filename, minWorkers, idleTimeout, workerOptions } = checkWorkerOptions(options, this.maxWorkers);
    this.filename = filename;
    this.#minWorkers = minWorkers;
    this.#idleTimeout = idleTimeout;
    this.#workerOptions = workerOptions;
    try {
      for (let i = 0; i < minWorkers; i++) this.#release(this.#spawn());
    } catch (error) {
      for (const thread of this.#threads) this.#stop(thread);
      throw error;
    }
  }

  /**
   * How many worker threads are alive now: busy, idle, or exiting (a terminated worker counts
   * until it is gone). 0 once `shutdown()` has resolved.
   *
   * @example
   * ```ts
   * console.log(`${pool.workerCount} of ${pool.maxWorkers} workers started`);
   * ```
   */
  get workerCount(): number {
    return this.#threads.size;
  }

  /**
   * Runs the module's export `name` with `args`, with per-task options: `timeout` and
   * `signal` (either terminates the worker when the task is running), `priority`, and
   * `transfer` (transferables moved to the worker instead of copied).
   *
   * @typeParam K - the export's name.
   * @param name - a function exported by the task module.
   * @param args - its arguments, as an array.
   * @param options - `{ timeout, signal, priority, transfer }`.
   * @returns the task's future.
   * @throws {TypeError} for a bad `name`, `args` that is not an array, or bad options; for a
   *   non-empty `transfer` on a task that may be retried (a retry would be sent it emptied).
   * @throws {RangeError} for a negative `timeout` or a non-finite `priority`.
   * @throws {ExecutorShutdownError} after `shutdown()`; `BrokenExecutorError` once broken.
   * @example
   * ```ts
   * const data = new Float64Array(1_000_000);
   * const future = pool.run('crunch', [data], { timeout: 2_000, transfer: [data.buffer] });
   * ```
   */
  run<K extends TaskName<M>>(name: K, args?: TaskArguments<M, K>, options?: WorkerRunOptions): Future<TaskResult<M, K>> {
    const action = `run a task on executor '${this.name}'`;
    checkName(name, action);
    if (args !== undefined && !Array.isArray(args)) throw new TypeError(`Cannot ${action} as 'args' must be an array: current value is ${describe(args)}`);
    const copy = args === undefined ? [] : [...(args as unknown[])];
    if (options !== null && typeof options === 'object' && 'transfer' in options) {
      const { transfer, ...rest } = options;
      if (transfer === undefined) return this.schedule(name, copy, rest);
      if (!Array.isArray(transfer)) throw new TypeError(`Cannot ${action} as 'transfer' must be an array of transferable objects: current value is ${describe(transfer)}`);
      // What is transferred moves to the worker of the first attempt: a retry would be sent it emptied.
      const retry = rest.retry;
      const attempts = retry === undefined ? this.#attempts : (retry as { attempts?: unknown } | null)?.attempts ?? 1;
      if (transfer.length > 0 && typeof attempts === 'number' && attempts > 1) {
        throw new TypeError(
          `Cannot ${action} as 'transfer' cannot be given to a task that may be retried ('retry.attempts' is ${attempts}): ` +
            "what it lists moves to the worker of the first attempt, and a retry would get it emptied; copy the data instead (no 'transfer'), or give this task 'retry: { attempts: 1 }'",
        );
      }
      return this.schedule(name, new Transfer(copy, [...transfer]), rest);
    }
    return this.schedule(name, copy, options);
  }

  /**
   * Stops accepting work, as every executor's `shutdown`; idle workers exit at once and busy
   * ones as soon as nothing is left to run. With `wait` (the default) the promise resolves
   * once every task has settled and every worker thread has exited.
   *
   * @param options - `{ wait = true, cancelFutures = false }`.
   * @returns a promise that resolves as described.
   * @throws {TypeError} for options of the wrong type or unknown keys.
   * @example
   * ```ts
   * await pool.shutdown({ cancelFutures: true }); // no worker thread is left after this
   * ```
   */
  override shutdown(options?: ShutdownOptions): Promise<void> {
    const settled = super.shutdown(options);
    this.#stopIdle();
    void this.onIdle().then(() => this.#stopIdle());
    if (options?.wait === false) return settled;
    return settled.then(() => this.#allExited());
  }

  protected checkTask(task: unknown, verb: string): void {
    checkName(task, `${verb} executor '${this.name}'`);
  }

  protected execute(item: WorkItem): Promise<unknown> {
    const name = item.task as string;
    const args = item.args;
    const thread = this.#take();
    const id = ++this.#lastId;
    try {
      if (args instanceof Transfer) thread.port.postMessage([id, name, args.args] satisfies TaskMessage, args.list);
      else thread.port.postMessage([id, name, args as unknown[]] satisfies TaskMessage);
    } catch (error) {
      this.#release(thread);
      throw new TypeError(`Cannot run task "${name}" on executor '${this.name}' as its arguments cannot be cloned: ${messageOf(error)}`, { cause: error });
    }
    thread.taskId = id;
    thread.taskName = name;
    thread.item = item;
    return new Promise((resolve, reject) => {
      thread.resolve = resolve;
      thread.reject = reject;
    });
  }

  protected override interrupt(item: WorkItem, reason: unknown): void {
    for (const thread of this.#threads) {
      if (thread.item !== item) continue;
      thread.taskId = -1;
      thread.item = undefined;
      thread.reason = reason;
      this.#stop(thread);
      return;
    }
  }

  /** An idle worker (the most recently used), or a new one. */
  #take(): Thread {
    let thread = this.#idle.pop();
    if (thread === undefined) {
      try {
        thread = this.#spawn();
      } catch (error) {
        throw this.#break(messageOf(error), error, true);
      }
    } else {
      thread.idle = false;
    }
    if (!thread.referenced) {
      thread.referenced = true;
      thread.worker.ref();
    }
    return thread;
  }

  #spawn(): Thread {
    const worker = new Worker(THREAD_URL, this.#workerOptions);
    const { port1, port2 } = new MessageChannel();
    const thread = new Thread(worker, port1);
    this.#threads.add(thread);
    // The port never holds the process open by itself: a busy worker is ref()ed, an idle one not.
    port1.on('message', (message: ReplyMessage) => this.#onMessage(thread, message));
    port1.on('messageerror', (error: unknown) => this.#onMessageError(thread, error));
    port1.unref();
    worker.on('error', (error: unknown) => (thread.error = { value: error }));
    worker.on('exit', (code: number) => this.#onExit(thread, code));
    worker.postMessage({ filename: this.filename, port: port2 } satisfies InitMessage, [port2]);
    return thread;
  }

  /** Starts a worker that waits on the idle stack; breaks the executor if it cannot be started. */
  #spawnIdle(): void {
    let thread: Thread;
    try {
      thread = this.#spawn();
    } catch (error) {
      this.#break(messageOf(error), error, true);
      return;
    }
    this.#release(thread);
  }

  /** A worker that has finished its task goes back to the idle stack, or exits after shutdown. */
  #release(thread: Thread): void {
    if (this.isShutdown && this.stats.pending === 0) {
      this.#stop(thread);
      return;
    }
    thread.idle = true;
    this.#idle.push(thread);
    thread.referenced = false;
    thread.worker.unref();
    if (this.#idleTimeout === Infinity) return;
    thread.idleSince = performance.now();
    if (thread.timer === undefined) thread.timer = unrefTimer(startTimer(this.#idleTimeout, () => this.#idleCheck(thread)));
  }

  #idleCheck(thread: Thread): void {
    thread.timer = undefined;
    if (!thread.idle) return;
    const left = this.#idleTimeout - (performance.now() - thread.idleSince);
    if (left > 0) {
      thread.timer = unrefTimer(startTimer(left, () => this.#idleCheck(thread)));
      return;
    }
    let live = 0;
    for (const other of this.#threads) if (!other.stopping) live++;
    if (live > this.#minWorkers) this.#stop(thread);
  }

  /** Terminates a worker; its 'exit' event does the rest. */
  #stop(thread: Thread): void {
    if (thread.stopping) return;
    thread.stopping = true;
    this.#retire(thread);
    void thread.worker.terminate();
  }

  /** Takes a worker that is stopping or gone off the idle stack, and stops its idle timer. */
  #retire(thread: Thread): void {
    if (thread.idle) {
      thread.idle = false;
      this.#idle.splice(this.#idle.indexOf(thread), 1);
    }
    cancelTimer(thread.timer);
    thread.timer = undefined;
  }

  #stopIdle(): void {
    for (const thread of [...this.#idle]) this.#stop(thread);
  }

  #onMessage(thread: Thread, message: ReplyMessage): void {
    const [id, status, payload] = message;
    if (id === 0 || id !== thread.taskId) {
      if (status === Status.READY) thread.ready = true;
      else if (status === Status.LOAD_FAILED) this.#loadFailed(thread, isSerializedError(payload) ? deserializeError(payload) : payload);
      return;
    }
    const name = thread.taskName;
    const [resolve, reject] = thread.take()!;
    this.#release(thread);
    switch (status) {
      case Status.FULFILLED:
        resolve(payload);
        break;
      case Status.THREW:
        reject(payload);
        break;
      case Status.THREW_ERROR:
        reject(deserializeError(payload as never));
        break;
      case Status.NO_SUCH_TASK: {
        const names = (payload as string[]).map((exported) => `"${exported}"`).join(', ') || 'none';
        reject(
          new TypeError(
            `Cannot run task on executor '${this.name}' as 'name' must name a function exported by ${this.filename}: current value is ${describe(name)} (its functions: ${names})`,
          ),
        );
        break;
      }
      case Status.RESULT_NOT_CLONEABLE:
        reject(new TypeError(`Cannot return the result of task "${name}" from a worker of executor '${this.name}' as it cannot be cloned: ${String(payload)}`));
        break;
      default:
        reject(new TypeError(`Cannot report what task "${name}" threw in a worker of executor '${this.name}' as it cannot be cloned: ${String(payload)}`));
    }
  }

  /** A reply that could not be deserialized: its task fails, the worker carries on. */
  #onMessageError(thread: Thread, error: unknown): void {
    if (thread.taskId <= 0) return;
    const name = thread.taskName;
    const [, reject] = thread.take()!;
    this.#release(thread);
    reject(new TypeError(`Cannot receive the result of task "${name}" from a worker of executor '${this.name}': ${messageOf(error)}`, { cause: error }));
  }

  #onExit(thread: Thread, code: number): void {
    // What the worker posted before it ended comes first ('exit' may overtake it).
    for (let entry = receiveMessageOnPort(thread.port); entry !== undefined; entry = receiveMessageOnPort(thread.port)) {
      this.#onMessage(thread, entry.message as ReplyMessage);
    }
    thread.port.close();
    this.#threads.delete(thread);
    this.#retire(thread);
    const task = thread.take();
    if (!thread.ready && !thread.stopping) {
      const cause = thread.error?.value;
      const notTheModule = startFailure(cause, this.#workerOptions);
      const error =
        notTheModule !== undefined
          ? this.#break(notTheModule, cause, true)
          : this.#break(cause === undefined ? `its worker exited with code ${code} while loading it` : messageOf(cause), cause);
      task?.[1](error);
    } else if (task !== undefined) {
      // A worker stopped while it ran a task was interrupted: the slot settles with the reason.
      task[1](thread.stopping ? thread.reason : this.#crashError(thread, code));
    } else if (!thread.stopping) {
      reportError(`a worker of executor '${this.name}' exited with code ${code} while idle`, thread.error?.value);
    }
    if (!this.isShutdown) {
      // A worker lost with its task is replaced at once (it warms up for the next task), and
      // there are always minWorkers.
      let live = 0;
      for (const other of this.#threads) if (!other.stopping) live++;
      for (let wanted = Math.max(this.#minWorkers, task === undefined ? 0 : live + 1); live < wanted; live++) this.#spawnIdle();
    }
    if (this.#threads.size === 0) {
      const waiters = this.#exitWaiters;
      this.#exitWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #crashError(thread: Thread, code: number): WorkerCrashError {
    const task = `task "${thread.taskName}"`;
    const error = thread.error;
    if (error === undefined) {
      return new WorkerCrashError(`A worker of executor '${this.name}' exited with code ${code} while running ${task}: the task or something it started called process.exit()`, code);
    }
    const cause = error.value;
    if ((cause as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new WorkerCrashError(`A worker of executor '${this.name}' ran out of memory while running ${task}: raise 'resourceLimits' or make the task use less (${messageOf(cause)})`, code, { cause });
    }
    return new WorkerCrashError(`A worker of executor '${this.name}' crashed while running ${task}: uncaught ${messageOf(cause)}`, code, { cause });
  }

  #loadFailed(thread: Thread, cause: unknown): void {
    const error = this.#break(messageOf(cause), cause);
    thread.take()?.[1](error);
    this.#stop(thread);
  }

  /**
   * Breaks the executor (once): queued futures fail, idle workers exit. `why` is the module's
   * failure to load, or (with `unstartable`) a worker's failure to start.
   */
  #break(why: string, cause: unknown, unstartable = false): BrokenExecutorError {
    if (this.#brokenError === undefined) {
      const message = unstartable
        ? `Cannot run tasks on executor '${this.name}' as a worker thread could not be started (${why}): check its options, then create a new executor`
        : `Cannot run tasks on executor '${this.name}' as its module ${this.filename} could not be loaded in a worker (${why}): fix it, then create a new executor`;
      this.#brokenError = new BrokenExecutorError(message, { cause });
      this.breakExecutor(this.#brokenError);
      this.#stopIdle();
    }
    return this.#brokenError;
  }

  #allExited(): Promise<void> {
    if (this.#threads.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#exitWaiters.push(resolve));
  }
}
