/**
 * The client side of `taskpool/queue`: an executor whose tasks are BullMQ jobs, run by
 * whichever worker takes them (see serve-queue.ts).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { CancelledError, submittedAfterShutdown, TimeoutError } from '../errors.js';
import { Executor, type ExecutorStats, type ShutdownOptions } from '../executor.js';
import { internals, type Future, type FutureOwner } from '../future.js';
import { splitMapArguments, type MapOptions, type MapResults } from '../map.js';
import { mapIterables } from '../map-futures.js';
import { checkBoolean, checkOptions, checkString, fail } from '../internal/validate.js';
import { decode, decodeCancelled, decodeFailure, decodeReason, encode, encodeReason } from './codec.js';
import { cancelChannel, cancelKey, cancels, createRedis, formatCancel, jobKey, parseCancel, type JobData, type RedisClient } from './keys.js';
import { rateLimitKey, STARTED_EVENT, STARTED_FIELD } from './rate-limit.js';
import {
  CLIENT_OPTIONS,
  connectionOptions,
  DAY,
  jobIdOf,
  loadBullMQ,
  RUN_OPTIONS,
  showConnection,
  type HandlerArguments,
  type HandlerIterables,
  type HandlerName,
  type HandlerResult,
  type QueueConnection,
  type QueueExecutorOptions,
  type QueueRunOptions,
  type UntypedHandlers,
} from './options.js';

/**
 * A future of a job: a {@link Future} with the job's id.
 *
 * @typeParam T - the handler's result.
 * @example
 * ```ts
 * const future: QueueFuture<number> = pool.submit('fib', 30);
 * console.log(future.id); // attach to it from another process with pool.attach(id)
 * ```
 */
export type QueueFuture<T> = Future<T> & {
  /** The job's id: `attach(id)` follows the job from any process. */
  readonly id: string;
};

/** What a {@link Tracked} job tells its client: one of its futures was cancelled. */
type CancelledListener = (tracked: Tracked, future: Future<unknown>, wasRunning: boolean, reason: unknown) => void;

/** A job this client follows; the owner of the futures that follow it (their `attempt`, their cancellation). */
class Tracked implements FutureOwner {
  /** Unsettled futures following the job (several with `key` or `attach`). */
  futures: Future<unknown>[] = [];
  /** The job is in Redis (its add succeeded, or it was attached). */
  added = false;
  started = false;
  /** The attempt the job is at: 0 before it starts, then the number of each attempt as a worker starts it. */
  attempt = 0;
  /** Waiting out a backoff after a failed attempt (BullMQ's delayed state): its running futures count in `stats.retrying`. */
  retrying = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the job was added (BullMQ's `timestamp`), once known: its cancellation is for that instance of its id. */
  timestamp: number | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    /** What to add, until it is added. */
    public add: { data: JobData; opts: Record<string, unknown> } | undefined,
    /** How many attempts the job may make: 1 without retries, `undefined` when not known (an attached job). */
    readonly attempts: number | undefined,
    /** The limits the client times itself, from the job's first start. */
    readonly timeout: number | undefined,
    readonly deadline: number | undefined,
    /** Its id was made from a `key`. */
    readonly keyed: boolean,
    readonly onCancelled: CancelledListener,
    /** The client's name, for the messages of its futures' errors. */
    readonly executorName: string,
  ) {}

  futureCancelled(future: Future<unknown>, wasRunning: boolean, reason: unknown): void {
    this.onCancelled(this, future, wasRunning, reason);
  }
}

/** The approximate length BullMQ keeps the queue's event stream at. */
const EVENTS_MAX_LEN = 100_000;
/** Jobs added per `addBulk` call. */
const BATCH = 1_000;
/**
 * BullMQ's priority of a job of priority 0. Ours: higher first, from -500,000 to 500,000;
 * BullMQ's: lower first, from 1 to 2,097,151, and a job without one before all the others.
 * Priority `p` is BullMQ's `PRIORITY_ZERO - 2 * p`, an even number; the odd one just below it
 * (taken just before) is left free for the retries of priority `p`, which the worker moves
 * there, so that a retry queues again ahead of the jobs of its priority and behind those of
 * higher ones.
 */
const PRIORITY_ZERO = 1_000_002;
const SHUTDOWN_OPTIONS = { wait: checkBoolean, cancelFutures: checkBoolean };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An executor over a BullMQ queue on Redis: the same contract as every executor (futures,
 * `map` with `bufferSize`, `wait`/`asCompleted`/`settle`, cancel, timeouts, `await using`),
 * across machines. Tasks are named: workers register handlers with {@link serveQueue},
 * clients submit by name, typed from the handlers' type.
 *
 * - A future is `pending` while its job waits, `running` once a worker took it, then settled
 *   from the job's outcome. Lost events never leave it hanging: the state of unfinished jobs
 *   is checked again every `checkInterval` ms, after a reconnection, and on `attach`.
 * - Arguments and results travel with structured-clone fidelity; errors come back with their
 *   class (built-in or taskpool's), `name`, `message`, `stack` and `cause`. An argument that
 *   cannot travel rejects its future with a `TypeError`.
 * - `cancel()`: a waiting job is removed; a running one's handler sees its signal abort on
 *   the worker that holds it, and it is not retried. The future settles as cancelled at once,
 *   and so do the futures of every other client following the job, with the same reason.
 * - Retries happen on the workers and the client follows them: `future.attempt` is the attempt
 *   a worker started last, and `stats.retrying` counts the futures whose job waits out its
 *   backoff (they stay `running`).
 * - `priority`: higher first, then in the order added; 0 sits between negative and positive.
 *   A retry queues again ahead of the waiting jobs of its priority.
 * - Job ids are random UUIDs (`future.id`); `attach(id)` follows a job from any process.
 *   Finished jobs are kept `retention` ms.
 * - Delivery is at least once: a job whose worker died runs again on another worker.
 *
 * The client connects on first use; `shutdown()` (or `await using`) disconnects it once this
 * client's jobs have settled.
 *
 * @typeParam H - the handlers' type (`typeof handlers`); without it any name is accepted and
 *   results are `unknown`.
 * @example
 * ```ts
 * await using pool = new QueueExecutor<typeof handlers>({ queue: 'images', connection: 'redis://10.0.0.5:6379' });
 * const thumbnail = await pool.submit('resize', image, 200);
 * for await (const n of pool.map('fib', [20, 25, 30], { bufferSize: 1_000 })) console.log(n);
 * ```
 */
export class QueueExecutor<H extends object = UntypedHandlers> extends Executor {
  /** The queue's name. */
  readonly queue: string;
  readonly #connection: QueueConnection;
  readonly #prefix: string;
  readonly #retention: number;
  /** BullMQ's removeOnComplete / removeOnFail: finished jobs are kept `retention` ms. */
  readonly #removeAfter: { age: number };
  readonly #checkInterval: number;
  readonly #connectTimeout: number;
  readonly #taskTimeout: number | undefined;
  /** Unsettled jobs of this client, by id. */
  readonly #jobs = new Map<string, Tracked>();
  #toAdd: Tracked[] = [];
  /** A flush is scheduled (on a microtask, or once the add in flight returns). */
  #flushing = false;
  /** Jobs being added, and the adds in flight. */
  #adding = 0;
  #addsInFlight = 0;
  #pending = 0;
  #running = 0;
  #retrying = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  #shutdown = false;
  #idleWaiters: (() => void)[] = [];
  /** Cancellations being sent (they never reject). */
  readonly #cancelling = new Set<Promise<void>>();
  #connected: Promise<Connections> | undefined;
  #closed: Promise<void> | undefined;
  #checkTimer: ReturnType<typeof setInterval> | undefined;
  #checking = false;
  #lastError: unknown;
  /**
   * The queue's workers have a rate limit (read at connection and at every check): a job
   * BullMQ made `active` may be held back by it, so a job starts when the workers' window
   * grants its start (an event of its own and a field of the job), not when it is active. A
   * client that connected before any such worker served the queue learns it at its next
   * check, or from the first start granted.
   */
  #rateLimited = false;

  /**
   * @param options - see {@link QueueExecutorOptions}; `queue` and `connection` are required.
   * @throws {TypeError} a missing or bad `queue` or `connection` (not a `redis://` URL nor
   *   options), an unknown option, `maxWorkers` (concurrency belongs to the workers).
   * @throws {Error} when BullMQ or ioredis is not installed.
   */
  constructor(options: QueueExecutorOptions) {
    super(options as never, 1, CLIENT_OPTIONS);
    const action = 'create QueueExecutor';
    if ((options as { maxWorkers?: unknown }).maxWorkers !== undefined) {
      throw new TypeError(`Cannot ${action} as 'maxWorkers' is not an option of a queue client: jobs run on the workers, whose 'concurrency' serveQueue sets`);
    }
    // Policies run where the jobs run: per job (`run(name, args, { retry })`) or on serveQueue.
    for (const [key, where] of [['retry', "per job, as run()'s 'retry' option"], ['rateLimit', "on the workers, as serveQueue's 'rateLimit'"], ['breaker', 'nowhere: a queue client has no circuit breaker']] as const) {
      if ((options as unknown as Record<string, unknown>)[key] !== undefined) throw new TypeError(`Cannot ${action} as '${key}' is not an option of a queue client: it is given ${where}`);
    }
    if (options.queue === undefined) fail(TypeError, 'a non-empty string without ":"', action, 'queue', undefined);
    if (options.connection === undefined) fail(TypeError, 'a redis:// or rediss:// URL, or ioredis options', action, 'connection', undefined);
    loadBullMQ();
    this.queue = options.queue;
    this.#connection = options.connection;
    this.#prefix = options.prefix ?? 'bull';
    this.#retention = options.retention ?? DAY;
    this.#removeAfter = { age: Math.ceil(this.#retention / 1000) };
    this.#checkInterval = options.checkInterval ?? 5_000;
    this.#connectTimeout = options.connectTimeout ?? 10_000;
    this.#taskTimeout = options.taskTimeout;
    this.attach = this.attach.bind(this);
  }

  /**
   * Counts of this client's futures: pending (job waiting), running (a worker has it),
   * retrying (a failed attempt's job waiting out its backoff before the next one), completed,
   * failed, cancelled.
   *
   * @example
   * ```ts
   * console.log(`${pool.stats.running} running, ${pool.stats.pending} waiting`);
   * ```
   */
  override get stats(): ExecutorStats {
    return { pending: this.#pending, running: this.#running, retrying: this.#retrying, completed: this.#completed, failed: this.#failed, cancelled: this.#cancelled };
  }

  /**
   * Whether `shutdown()` has been called.
   *
   * @example
   * ```ts
   * if (!pool.isShutdown) pool.submit('fib', 30);
   * ```
   */
  override get isShutdown(): boolean {
    return this.#shutdown;
  }

  /**
   * Adds a job for handler `name` with `args` and returns its future (Python's `submit`).
   *
   * @typeParam K - the handler's name.
   * @param name - a handler registered by the workers.
   * @param args - its arguments (without the context).
   * @returns the job's future; `future.id` is the job id.
   * @throws {TypeError} when `name` is not a non-empty string.
   * @throws {ExecutorShutdownError} after `shutdown()`.
   * @example
   * ```ts
   * const future = pool.submit('resize', image, 200); // QueueFuture<Uint8Array>
   * ```
   */
  override submit<K extends HandlerName<H>>(name: K, ...args: HandlerArguments<H, K>): QueueFuture<HandlerResult<H, K>> {
    return this.#enqueue(name, args, undefined, `submit to executor '${this.name}'`) as QueueFuture<HandlerResult<H, K>>;
  }

  /**
   * Adds a job with per-job options: `timeout` (per attempt), `deadline` (whole job), `retry`
   * (`{ attempts, backoff }`), `priority`, `signal`, and `key` (single-flight: the job id is made
   * from it, and while a job with that id waits or runs it is followed, not added again).
   *
   * @typeParam K - the handler's name.
   * @param name - a handler registered by the workers.
   * @param args - its arguments, as an array.
   * @param options - see {@link QueueRunOptions}.
   * @returns the job's future.
   * @throws {TypeError} / {RangeError} for a bad name, args or options.
   * @throws {ExecutorShutdownError} after `shutdown()`.
   * @example
   * ```ts
   * pool.run('resize', [image, 200], { timeout: 5_000, retry: { attempts: 3, backoff: 1_000 } });
   * ```
   */
  run<K extends HandlerName<H>>(name: K, args?: HandlerArguments<H, K>, options?: QueueRunOptions): QueueFuture<HandlerResult<H, K>> {
    const action = `run a task on executor '${this.name}'`;
    if (args !== undefined && !Array.isArray(args)) fail(TypeError, 'an array', action, 'args', args);
    return this.#enqueue(name, (args ?? []) as unknown[], options, action) as QueueFuture<HandlerResult<H, K>>;
  }

  /**
   * Maps handler `name` over iterables (zipped), yielding results in input order, as every
   * executor's `map`. With `bufferSize`, at most that many jobs are in the queue and not
   * yielded; the jobs are added in batches.
   *
   * @typeParam K - the handler's name.
   * @param name - a handler registered by the workers.
   * @param iterables - one iterable per argument, then optionally {@link MapOptions}.
   * @returns an async iterator of the results.
   * @throws {TypeError} for a bad name, input or options; {@link taskpool!ExecutorShutdownError} after shutdown.
   * @example
   * ```ts
   * for await (const n of pool.map('fib', inputs, { bufferSize: 1_000 })) total += n;
   * ```
   */
  override map<K extends HandlerName<H>>(
    name: K,
    ...iterables: HandlerIterables<HandlerArguments<H, K>> | [...HandlerIterables<HandlerArguments<H, K>>, MapOptions | undefined]
  ): MapResults<HandlerResult<H, K>>;
  override map(name: string, ...rest: unknown[]): MapResults<unknown> {
    const action = `map over executor '${this.name}'`;
    this.#checkName(name, action);
    const { iterables, options } = splitMapArguments(rest, action);
    return mapIterables((values) => this.#enqueue(name, values, undefined, action), iterables, options, action, () => this.#assertOpen());
  }

  /**
   * A future for an existing job of this queue, from any process (its id is `future.id`).
   * It settles from the job's outcome, at once if the job has finished; cancelling it
   * cancels the job.
   *
   * @param id - the job's id.
   * @returns the job's future; it rejects with an `Error` when no job has that id (never
   *   added, or removed after the retention of finished jobs).
   * @throws {TypeError} when `id` is not a non-empty string; {@link taskpool!ExecutorShutdownError} after shutdown.
   * @example
   * ```ts
   * const id = pool.submit('fib', 30).id;
   * // later, anywhere:
   * console.log(await otherPool.attach(id));
   * ```
   */
  attach(id: string): QueueFuture<unknown> {
    const action = `attach to a job of executor '${this.name}'`;
    checkString(id, action, 'id');
    if (id === '') fail(TypeError, 'a non-empty string', action, 'id', id);
    this.#assertOpen();
    const known = this.#jobs.get(id);
    if (known !== undefined) return this.#follow(known);
    const tracked = this.#track(id, '', undefined, undefined, undefined, undefined);
    tracked.added = true;
    const future = this.#follow(tracked);
    this.#jobs.set(id, tracked);
    this.#connect()
      .then(() => this.#check([tracked], true))
      .catch((error: unknown) => this.#fail(tracked, new Error(`Cannot attach to job '${id}' of queue '${this.queue}' as Redis at ${showConnection(this.#connection)} cannot be reached: ${messageOf(error)}`, { cause: error })));
    return future;
  }

  /**
   * Stops accepting jobs. `cancelFutures` cancels this client's waiting jobs; `wait` (the
   * default) resolves once this client's futures have settled. The connections to Redis
   * close once nothing is left. Workers are stopped with their own `close()`.
   *
   * @param options - `{ wait = true, cancelFutures = false }`.
   * @returns a promise that resolves as described.
   * @throws {TypeError} for bad options.
   * @example
   * ```ts
   * await pool.shutdown({ cancelFutures: true });
   * ```
   */
  override shutdown(options?: ShutdownOptions): Promise<void> {
    const { wait = true, cancelFutures = false } = checkOptions(options, SHUTDOWN_OPTIONS, `shut down executor '${this.name}'`);
    this.#shutdown = true;
    if (cancelFutures) {
      // Waiting jobs, and jobs waiting out a backoff between attempts.
      for (const tracked of [...this.#jobs.values()]) for (const future of [...tracked.futures]) if (future.state === 'pending' || tracked.retrying) future.cancel();
    }
    const closed = this.onIdle().then(() => this.#close());
    return wait ? closed : Promise.resolve();
  }

  /**
   * Resolves when none of this client's futures is pending or running.
   *
   * @returns a promise, resolved at once when idle.
   * @example
   * ```ts
   * await pool.onIdle();
   * ```
   */
  override onIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#notifyIdle();
    });
  }

  /** Checks a handler's name. */
  protected checkTask(task: unknown, verb: string): void {
    this.#checkName(task, `${verb} executor '${this.name}'`);
  }

  /** Never called: jobs run on the workers. */
  protected execute(): never {
    throw new Error('A queue client runs no task itself');
  }

  #assertOpen(): void {
    if (this.#shutdown) throw submittedAfterShutdown(this.name);
  }

  #checkName(name: unknown, action: string): asserts name is string {
    if (typeof name !== 'string' || name === '') fail(TypeError, 'the name of a handler (a non-empty string)', action, 'name', name);
  }

  /** A job to follow (not registered yet). */
  #track(id: string, name: string, add: Tracked['add'], attempts: number | undefined, timeout: number | undefined, deadline: number | undefined, keyed = false): Tracked {
    return new Tracked(id, name, add, attempts, timeout, deadline, keyed, this.#onFutureCancelled, this.name);
  }

  /** A new future following the job: pending, or running once the job has started. */
  #follow(tracked: Tracked): QueueFuture<unknown> {
    const future = internals.create<unknown>(tracked);
    Object.defineProperty(future, 'id', { value: tracked.id, enumerable: true });
    tracked.futures.push(future);
    if (tracked.started && internals.start(future)) {
      if (tracked.retrying) this.#retrying++;
      else this.#running++;
    } else this.#pending++;
    return future as QueueFuture<unknown>;
  }

  /** Takes a future out of the counts of what is in flight (pending, running or retrying). */
  #uncount(tracked: Tracked, wasRunning: boolean): void {
    if (!wasRunning) this.#pending--;
    else if (tracked.retrying) this.#retrying--;
    else this.#running--;
  }

  #enqueue(name: string, args: unknown[], options: QueueRunOptions | undefined, action: string): QueueFuture<unknown> {
    this.#checkName(name, action);
    if (options !== undefined) checkOptions(options, RUN_OPTIONS, action);
    this.#assertOpen();
    const { signal, timeout = this.#taskTimeout, deadline, retry, priority = 0, key } = options ?? {};
    const id = key === undefined ? randomUUID() : jobIdOf(key);
    const known = this.#jobs.get(id);
    let future: QueueFuture<unknown>;
    if (known !== undefined) {
      future = this.#follow(known);
    } else {
      let text: string;
      try {
        text = encode(args);
      } catch (error) {
        const tracked = this.#track(id, name, undefined, 1, undefined, undefined);
        future = this.#follow(tracked);
        tracked.futures = [];
        this.#pending--;
        this.#failed++;
        internals.reject(future, new TypeError(`Cannot submit job '${name}' to queue '${this.queue}' as its arguments cannot travel: ${messageOf(error)}`, { cause: error }));
        this.#notifyIdle();
        return future;
      }
      const data: { -readonly [K in keyof JobData]: JobData[K] } = { a: text };
      // No limit travels as none (JSON has no Infinity).
      if (timeout !== undefined && timeout !== Infinity) data.t = timeout;
      if (deadline !== undefined && deadline !== Infinity) data.d = deadline;
      // Every job has a BullMQ priority, 0 included: BullMQ takes the jobs without one before all the others.
      const opts: Record<string, unknown> = { jobId: id, priority: PRIORITY_ZERO - 2 * priority, removeOnComplete: this.#removeAfter, removeOnFail: this.#removeAfter };
      if (retry?.attempts !== undefined && retry.attempts > 1) {
        // JSON has no Infinity: as many attempts as a job can count.
        opts.attempts = Math.min(retry.attempts, Number.MAX_SAFE_INTEGER);
        opts.backoff = { type: 'taskpool', delay: 0 };
        data.b = retry.backoff ?? {};
      }
      const attempts = retry?.attempts ?? 1;
      // The client enforces a per-attempt timeout only when there is one attempt: with retries the worker does.
      const tracked = this.#track(id, name, { data, opts }, attempts, attempts === 1 ? data.t : undefined, data.d, key !== undefined);
      future = this.#follow(tracked);
      this.#jobs.set(id, tracked);
      this.#toAdd.push(tracked);
      if (!this.#flushing) {
        this.#flushing = true;
        // With no add in flight, at once (after this turn's other submits, which share the add); otherwise
        // once the add in flight returns, with every job submitted meanwhile (a map refilling as results arrive).
        if (this.#addsInFlight === 0) queueMicrotask(() => void this.#flush());
      }
    }
    if (signal !== undefined) {
      if (signal.aborted) future.cancel(signal.reason);
      else {
        const onAbort = (): void => void future.cancel(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        future.addDoneCallback(() => signal.removeEventListener('abort', onAbort));
      }
    }
    return future;
  }

  /** Adds the jobs submitted since the last flush, in batches sent together. */
  async #flush(): Promise<void> {
    const batch = this.#toAdd.filter((tracked) => tracked.futures.length > 0);
    this.#toAdd = [];
    this.#flushing = false;
    if (batch.length === 0) return;
    this.#adding += batch.length;
    this.#addsInFlight++;
    try {
      const { queue, redis } = await this.#connect();
      const keyed = batch.filter((tracked) => tracked.keyed);
      if (keyed.length > 0) await this.#freeKeys(queue, redis, keyed);
      const chunks: Tracked[][] = [];
      for (let start = 0; start < batch.length; start += BATCH) chunks.push(batch.slice(start, start + BATCH));
      await Promise.all(chunks.map((chunk) => this.#add(queue, chunk)));
    } catch (error) {
      for (const tracked of batch) if (!tracked.added) this.#fail(tracked, this.#unreachable(`add job '${tracked.id}' (${tracked.name}) to`, error));
    } finally {
      this.#adding -= batch.length;
      this.#addsInFlight--;
      // What was submitted while this add was in flight.
      if (this.#flushing && this.#addsInFlight === 0) void this.#flush();
      this.#notifyIdle();
    }
  }

  /**
   * Frees the keys of finished jobs before jobs with those keys are added: once a job has
   * settled, its key is free again (single-flight, not a cache). The finished job is removed
   * (until then `attach(id)` finds it), and the cancellation left for it, if any.
   */
  async #freeKeys(queue: import('bullmq').Queue, redis: RedisClient, keyed: Tracked[]): Promise<void> {
    const pipeline = redis.pipeline();
    for (const tracked of keyed) pipeline.hmget(jobKey(this.#prefix, this.queue, tracked.id), 'finishedOn');
    const replies = (await this.#withConnectTimeout(pipeline.exec())) ?? [];
    const finished = keyed.filter((_, index) => ((replies[index]?.[1] ?? [null]) as (string | null)[])[0] != null);
    await Promise.all(finished.map((tracked) => Promise.all([queue.remove(tracked.id), redis.del(cancelKey(this.#prefix, this.queue, tracked.id))])));
  }

  /** Adds one chunk of jobs: one job alone with `add` (no transaction), more with `addBulk`. */
  async #add(queue: import('bullmq').Queue, chunk: Tracked[]): Promise<void> {
    try {
      const [only] = chunk;
      const adding = chunk.length === 1 ? queue.add(only!.name, only!.add!.data, only!.add!.opts).then((job) => [job]) : queue.addBulk(chunk.map((tracked) => ({ name: tracked.name, data: tracked.add!.data, opts: tracked.add!.opts })));
      const jobs = await this.#withConnectTimeout(adding);
      chunk.forEach((tracked, index) => {
        // A job with a key may be an existing one, added at another time: read when checked.
        if (!tracked.keyed) tracked.timestamp = jobs[index]?.timestamp;
      });
      for (const tracked of chunk) {
        tracked.add = undefined;
        tracked.added = true;
        // Cancelled while it was being added.
        if (tracked.futures.length === 0) this.#cancelJob(tracked, undefined);
      }
    } catch (error) {
      for (const tracked of chunk) this.#fail(tracked, this.#unreachable(`add job '${tracked.id}' (${tracked.name}) to`, error));
    }
  }

  #unreachable(what: string, error: unknown): Error {
    return new Error(`Cannot ${what} queue '${this.queue}' as Redis at ${showConnection(this.#connection)} did not accept it: ${messageOf(error)}`, { cause: error });
  }

  /** `promise`, or a rejection once `connectTimeout` ms pass while Redis is not connected. */
  #withConnectTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#lastError ?? new Error(`no answer within ${this.#connectTimeout} ms`)), this.#connectTimeout);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  }

  /** Opens the connections once: BullMQ's Queue, QueueEvents from the current end of the event stream, a Redis client. */
  #connect(): Promise<Connections> {
    this.#connected ??= (async () => {
      const { Queue, QueueEvents } = loadBullMQ();
      const redis = createRedis(this.#connection, { maxRetriesPerRequest: 3 });
      redis.on('error', (error: unknown) => (this.#lastError = error));
      let readyBefore = false;
      redis.on('ready', () => {
        // A reconnection: events may have been lost meanwhile.
        if (readyBefore) void this.#checkAll();
        readyBefore = true;
      });
      const connection = connectionOptions(this.#connection, { maxRetriesPerRequest: null }) as never;
      // A longer event stream than BullMQ's 10,000: a client that falls behind loses fewer events (checks find the rest).
      const queue = new Queue(this.queue, { connection, prefix: this.#prefix, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
      queue.on('error', (error: unknown) => (this.#lastError = error));
      const connections: Connections = { queue, events: undefined, redis };
      try {
        // Events are read from the stream's current end, so that none after this point is missed.
        const [found, limited] = await this.#withConnectTimeout(
          Promise.all([(redis as unknown as { xrevrange: (...args: unknown[]) => Promise<[string, string[]][]> }).xrevrange(`${this.#prefix}:${this.queue}:events`, '+', '-', 'COUNT', 1), redis.get(rateLimitKey(this.#prefix, this.queue))]),
        );
        const last = found ?? [];
        this.#rateLimited = limited !== null;
        const events = new QueueEvents(this.queue, { connection, prefix: this.#prefix, autorun: false, lastEventId: last[0]?.[0] ?? '0-0' });
        connections.events = events;
        events.on('error', (error: unknown) => (this.#lastError = error));
        events.on('active', ({ jobId }: { jobId: string }) => {
          if (!this.#rateLimited) this.#onActive(jobId);
        });
        // An event of taskpool's own, which BullMQ's types do not list (QueueEvents emits every event of the stream).
        (events as unknown as { on(event: string, listener: (args: { jobId: string }) => void): unknown }).on(STARTED_EVENT, ({ jobId }) => {
          this.#rateLimited = true;
          this.#onActive(jobId);
        });
        events.on('completed', ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => this.#onCompleted(jobId, returnvalue));
        events.on('failed', ({ jobId, failedReason }: { jobId: string; failedReason: string }) => this.#onFailed(jobId, failedReason));
        events.on('delayed', ({ jobId }: { jobId: string }) => this.#onDelayed(jobId));
        events.on('removed', ({ jobId }: { jobId: string }) => {
          const tracked = this.#jobs.get(jobId);
          if (tracked?.added === true) void this.#onGone(tracked, this.#lostError(tracked, 'it was removed'));
        });
        void events.run().catch((error: unknown) => (this.#lastError = error));
      } catch (error) {
        await this.#disconnect(connections);
        this.#connected = undefined;
        throw error;
      }
      this.#checkTimer = setInterval(() => void this.#checkAll(), this.#checkInterval);
      (this.#checkTimer as { unref?: () => void }).unref?.();
      return connections;
    })();
    return this.#connected;
  }

  async #disconnect({ queue, events, redis }: Connections): Promise<void> {
    await Promise.allSettled([events?.close(), queue.close()]);
    redis.disconnect();
  }

  /** Closes the connections (once idle after shutdown). */
  #close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#checkTimer);
      const connected = this.#connected;
      if (connected === undefined) return;
      const connections = await connected.catch(() => undefined);
      // The cancellations sent last (shutdown({ cancelFutures: true })) reach Redis first.
      await Promise.all(this.#cancelling);
      if (connections !== undefined) await this.#disconnect(connections);
    })();
    return this.#closed;
  }

  /** A worker started an attempt of job `id`. */
  #onActive(id: string): void {
    const tracked = this.#jobs.get(id);
    if (tracked === undefined) return;
    // The next attempt after a backoff; otherwise the first, or the same one again (a stalled job
    // taken by another worker). A retry without backoff has no delayed state: the attempt is read.
    this.#started(tracked, tracked.retrying ? tracked.attempt + 1 : Math.max(1, tracked.attempt));
    if (tracked.attempts !== 1) void this.#readAttempt(tracked);
  }

  /** The job runs attempt `attempt` (or a later one): its futures are running, its timer started at its first start. */
  #started(tracked: Tracked, attempt: number): void {
    tracked.attempt = Math.max(tracked.attempt, attempt);
    if (tracked.retrying) {
      tracked.retrying = false;
      for (const future of tracked.futures) {
        if (future.state !== 'running') continue;
        this.#retrying--;
        this.#running++;
      }
    }
    if (tracked.started) return;
    tracked.started = true;
    for (const future of tracked.futures) {
      if (!internals.start(future)) continue;
      this.#pending--;
      this.#running++;
    }
    const limit = tracked.deadline ?? tracked.timeout;
    if (limit !== undefined && limit !== Infinity) {
      const isDeadline = tracked.deadline !== undefined && (tracked.timeout === undefined || tracked.deadline <= tracked.timeout);
      const ms = isDeadline ? tracked.deadline! : Math.min(limit, tracked.timeout ?? Infinity);
      const id = tracked.id;
      tracked.timer = setTimeout(() => {
        const text = isDeadline ? `passed its deadline of ${ms} ms` : `timed out after ${ms} ms`;
        this.#fail(tracked, new TimeoutError(`Job '${id}' (${tracked.name}) of queue '${this.queue}' ${text}`));
        // No further attempt: the worker is told to stop it.
        this.#cancelJob(tracked, undefined);
      }, ms);
    }
  }

  /** Job `id` failed an attempt and waits out its backoff before the next one (BullMQ's delayed state). */
  #onDelayed(id: string): void {
    const tracked = this.#jobs.get(id);
    if (tracked === undefined || !tracked.started || tracked.retrying) return;
    tracked.retrying = true;
    for (const future of tracked.futures) {
      if (future.state !== 'running') continue;
      this.#running--;
      this.#retrying++;
    }
  }

  /** Reads the attempts a job has made: the one running is the next. */
  async #readAttempt(tracked: Tracked): Promise<void> {
    try {
      const { redis } = await this.#connect();
      const made = await redis.hget(jobKey(this.#prefix, this.queue, tracked.id), 'atm');
      // Failed again meanwhile: the number read counts that failure, and the next attempt has not started.
      if (this.#jobs.get(tracked.id) !== tracked || tracked.retrying) return;
      tracked.attempt = Math.max(tracked.attempt, Number(made ?? 0) + 1);
    } catch (error) {
      this.#lastError = error;
    }
  }

  #onCompleted(id: string, returnvalue: unknown): void {
    const tracked = this.#jobs.get(id);
    if (tracked === undefined) return;
    let value: unknown;
    try {
      value = decode(String(returnvalue));
    } catch (error) {
      this.#fail(tracked, new TypeError(`Cannot read the result of job '${id}' of queue '${this.queue}': ${messageOf(error)}`, { cause: error }));
      return;
    }
    this.#settle(tracked, true, value);
  }

  #onFailed(id: string, failedReason: string | undefined): void {
    const tracked = this.#jobs.get(id);
    if (tracked === undefined) return;
    const cancelled = decodeCancelled(failedReason);
    if (cancelled !== undefined) this.#settleCancelled(tracked, cancelled.reason);
    else this.#fail(tracked, decodeFailure(failedReason, id, this.queue));
  }

  /**
   * The job is gone from Redis before it finished: cancelled by a client (which removes a
   * waiting job, leaving the reason in a key), or removed by something else (or lost with Redis's data).
   */
  async #onGone(tracked: Tracked, error: Error): Promise<void> {
    let text: string | null = null;
    let present = false;
    try {
      const { redis } = await this.#connect();
      const pipeline = redis.pipeline();
      pipeline.get(cancelKey(this.#prefix, this.queue, tracked.id));
      pipeline.hmget(jobKey(this.#prefix, this.queue, tracked.id), 'timestamp');
      const [cancelled, job] = (await this.#withConnectTimeout(pipeline.exec())) ?? [];
      text = (cancelled?.[1] ?? null) as string | null;
      const added = ((job?.[1] ?? [null]) as (string | null)[])[0] ?? null;
      // The job is there: what was removed was an earlier job of its id (a key used again).
      present = added !== null && (tracked.timestamp === undefined || Number(added) === tracked.timestamp);
      if (present) tracked.timestamp = Number(added);
    } catch (problem) {
      this.#lastError = problem;
    }
    if (this.#jobs.get(tracked.id) !== tracked || present) return;
    const note = text === null ? undefined : parseCancel(text);
    if (note !== undefined && cancels(note, tracked.timestamp)) this.#settleCancelled(tracked, decodeReason(note.reason));
    else this.#fail(tracked, error);
  }

  #lostError(tracked: Tracked, why: string): Error {
    return new Error(`Job '${tracked.id}' of queue '${this.queue}' no longer exists in Redis: ${why} before it finished`);
  }

  #fail(tracked: Tracked, error: unknown): void {
    this.#settle(tracked, false, error);
  }

  /** Forgets a settled job. */
  #forget(tracked: Tracked): Future<unknown>[] {
    if (this.#jobs.get(tracked.id) === tracked) this.#jobs.delete(tracked.id);
    clearTimeout(tracked.timer);
    const futures = tracked.futures;
    tracked.futures = [];
    return futures;
  }

  /** Settles every future following the job, and forgets it. */
  #settle(tracked: Tracked, fulfilled: boolean, outcome: unknown): void {
    for (const future of this.#forget(tracked)) {
      if (future.done()) continue;
      this.#uncount(tracked, future.state === 'running');
      if (fulfilled) {
        this.#completed++;
        internals.resolve(future, outcome);
      } else {
        this.#failed++;
        internals.reject(future, outcome);
      }
    }
    tracked.retrying = false;
    this.#notifyIdle();
  }

  /** Another client cancelled the job: every future following it here is cancelled with that client's reason. */
  #settleCancelled(tracked: Tracked, reason: unknown): void {
    // Forgotten first: these cancellations are not sent back to the workers.
    for (const future of this.#forget(tracked)) future.cancel(reason);
    tracked.retrying = false;
    this.#notifyIdle();
  }

  /** One of this client's futures was cancelled (by its caller, a signal, a map, a shutdown, or another client). */
  readonly #onFutureCancelled: CancelledListener = (tracked, future, wasRunning, reason) => {
    this.#uncount(tracked, wasRunning);
    this.#cancelled++;
    const index = tracked.futures.indexOf(future);
    if (index !== -1) {
      tracked.futures.splice(index, 1);
      if (tracked.futures.length === 0) {
        this.#forget(tracked);
        // A job not added yet is dropped from its batch, or cancelled once added.
        if (tracked.added) this.#cancelJob(tracked, reason);
      }
    }
    this.#notifyIdle();
  };


  /** Sends a job's cancellation; `shutdown()` waits for it before it disconnects. */
  #cancelJob(tracked: Tracked, reason: unknown): void {
    const sending = this.#sendCancel(tracked, reason);
    this.#cancelling.add(sending);
    void sending.then(() => this.#cancelling.delete(sending));
  }

  /**
   * Tells the workers that the job is cancelled: a key a worker checks when the job starts, a
   * message for the worker running it; then removes the job if it is still waiting.
   */
  async #sendCancel(tracked: Tracked, reason: unknown): Promise<void> {
    // The reason travels when it is the caller's own (a CancelledError's cause, or any other value).
    const reasonText = encodeReason(reason instanceof CancelledError ? reason.cause : reason);
    try {
      const { queue, redis } = await this.#connect();
      // Which instance of the id is cancelled, read when not known (a job with a key, an attached one).
      if (tracked.timestamp === undefined) {
        const added = await redis.hget(jobKey(this.#prefix, this.queue, tracked.id), 'timestamp');
        if (added !== null) tracked.timestamp = Number(added);
      }
      const text = formatCancel(tracked.timestamp, reasonText);
      // Sent together (one connection keeps their order); the job is removed once the key is set, so
      // that a client that sees it removed finds why.
      const marked = redis.set(cancelKey(this.#prefix, this.queue, tracked.id), text, 'PX', this.#retention);
      const published = redis.publish(cancelChannel(this.#prefix, this.queue), `${tracked.id} ${text}`);
      await marked;
      await Promise.all([published, queue.remove(tracked.id).catch(() => 0)]);
    } catch (error) {
      this.#lastError = error;
    }
  }

  /** Checks every unfinished job added by (or attached to) this client. */
  async #checkAll(): Promise<void> {
    if (this.#checking || this.#closed !== undefined) return;
    this.#checking = true;
    try {
      const { redis } = await this.#connect();
      this.#rateLimited = (await this.#withConnectTimeout(redis.get(rateLimitKey(this.#prefix, this.queue)))) !== null;
      await this.#check([...this.#jobs.values()].filter((tracked) => tracked.added), false);
    } catch (error) {
      this.#lastError = error;
    } finally {
      this.#checking = false;
    }
  }

  /**
   * Reads the jobs' state in Redis and settles what events did not: finished jobs, vanished
   * ones; marks started ones running.
   */
  async #check(jobs: Tracked[], attaching: boolean): Promise<void> {
    if (jobs.length === 0) return;
    const { redis } = await this.#connect();
    const delayedKey = `${this.#prefix}:${this.queue}:delayed`;
    for (let start = 0; start < jobs.length; start += BATCH) {
      const chunk = jobs.slice(start, start + BATCH);
      const pipeline = redis.pipeline();
      for (const tracked of chunk) {
        pipeline.hmget(jobKey(this.#prefix, this.queue, tracked.id), 'name', 'finishedOn', 'returnvalue', 'failedReason', 'processedOn', 'atm', 'timestamp', STARTED_FIELD);
        // Whether a job that may retry waits out a backoff.
        if (tracked.attempts !== 1) pipeline.zscore(delayedKey, tracked.id);
      }
      const replies = (await this.#withConnectTimeout(pipeline.exec())) ?? [];
      let next = 0;
      for (const tracked of chunk) {
        const [error, fields] = replies[next++] ?? [new Error('no reply'), undefined];
        const delayed = tracked.attempts === 1 ? null : ((replies[next++]?.[1] ?? null) as string | null);
        if (error !== null || this.#jobs.get(tracked.id) !== tracked) continue;
        const [name, finishedOn, returnvalue, failedReason, activeOn, made, added, granted] = fields as (string | null)[];
        // Taken by a worker; on a rate-limited queue, also let through by the window.
        const processedOn = this.#rateLimited ? granted : activeOn;
        if (name === null || name === undefined) {
          const why = attaching
            ? new Error(`Cannot attach to job '${tracked.id}' of queue '${this.queue}' as it does not exist: it was never added, or was removed after the retention of finished jobs`)
            : this.#lostError(tracked, 'it was removed, or Redis lost its data,');
          // A job cancelled by a client is cancelled here too.
          void this.#onGone(tracked, why);
          continue;
        }
        if (tracked.timestamp === undefined && added !== null && added !== undefined) tracked.timestamp = Number(added);
        if (finishedOn !== null && finishedOn !== undefined) {
          if (returnvalue !== null && returnvalue !== undefined) this.#onCompleted(tracked.id, JSON.parse(returnvalue) as unknown);
          else this.#onFailed(tracked.id, failedReason ?? undefined);
          continue;
        }
        if (processedOn === null || processedOn === undefined) continue;
        const attemptsMade = Number(made ?? 0);
        if (delayed !== null) {
          // Between attempts: the last one that ran is the current one.
          this.#started(tracked, Math.max(1, attemptsMade));
          this.#onDelayed(tracked.id);
        } else if (!tracked.retrying) this.#started(tracked, attemptsMade + 1);
      }
    }
  }

  #notifyIdle(): void {
    if (this.#pending !== 0 || this.#running !== 0 || this.#retrying !== 0 || this.#adding !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

interface Connections {
  queue: import('bullmq').Queue;
  events: import('bullmq').QueueEvents | undefined;
  redis: RedisClient;
}
