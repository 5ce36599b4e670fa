/**
 * The worker side of `taskpool/queue`: a BullMQ `Worker` that runs named handlers, with
 * cancellation from any client, timeouts and deadlines, and retries decided here.
 *
 * @module
 */
import { CancelledError, TimeoutError } from '../errors.js';
import { checkFunction, checkOptions, checkPositiveInteger, checkTimeout, describe, fail, type OptionChecks } from '../internal/validate.js';
import { withDefaults } from '../policies/retry.js';
import { cancelledMessage, decode, decodeReason, encode, failureMessage } from './codec.js';
import { cancelChannel, cancelKey, cancels, createRedis, parseCancel, type CancelNote, type JobData, type RedisClient } from './keys.js';
import { checkConnection, checkQueueName, connectionOptions, loadBullMQ, showConnection, type Handler, type ServeQueueOptions, type TaskContext } from './options.js';
import { pauseOnlyLimiter, rateLimitKey, slidingWindow } from './rate-limit.js';

/**
 * Counts kept by a {@link QueueServer} since it started.
 *
 * @example
 * ```ts
 * const { active, completed, failed, retried, cancelled } = server.stats;
 * ```
 */
export interface QueueServerStats {
  /** Jobs running now. */
  readonly active: number;
  /** Jobs that fulfilled. */
  readonly completed: number;
  /** Jobs that failed for good (no attempt left, or not to be retried). */
  readonly failed: number;
  /** Failed attempts followed by another attempt. */
  readonly retried: number;
  /** Jobs cancelled while they ran here (by a client, or by `close({ abort: true })`). */
  readonly cancelled: number;
}

/**
 * Options of {@link QueueServer.close}.
 *
 * @example
 * ```ts
 * await server.close({ abort: true });
 * ```
 */
export interface QueueServerCloseOptions {
  /**
   * Abort the signals of the jobs running here (with a `CancelledError`) instead of waiting
   * for them; they go back to the queue for another worker.
   * @default false
   */
  abort?: boolean;
}

/**
 * A worker serving a queue, made by {@link serveQueue}.
 *
 * @example
 * ```ts
 * const server = await serveQueue({ queue: 'images', connection, handlers });
 * process.on('SIGTERM', () => void server.close());
 * ```
 */
export interface QueueServer extends AsyncDisposable {
  /** The queue's name. */
  readonly queue: string;
  /** Counts since it started. */
  readonly stats: QueueServerStats;
  /**
   * Stops taking jobs and waits for the running ones (gracefully), then disconnects. With
   * `abort`, their signals abort first and they go back to the queue. Idempotent.
   *
   * @param options - `{ abort = false }`.
   * @returns a promise that resolves once the worker has stopped.
   * @example
   * ```ts
   * process.once('SIGTERM', () => void server.close());
   * process.once('SIGINT', () => void server.close({ abort: true }));
   * ```
   */
  close(options?: QueueServerCloseOptions): Promise<void>;
}

/**
 * One job running here. Its handler's signal is created on first use (a handler that never
 * reads it costs no AbortController), already aborted when the job was stopped before.
 */
class Running {
  constructor(
    /** When the job was added (BullMQ's `timestamp`): which instance of its id this is. */
    readonly timestamp: number,
  ) {}

  /** Why it was cancelled by a client, when it was. */
  cancelled: { reason: unknown } | undefined;
  /** Stopped by `close({ abort: true })`. */
  forced = false;
  /** Set once stopped (a client's cancel, a timeout or deadline, a forced close): the reason. */
  stopped: { reason: unknown } | undefined;
  #controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.stopped !== undefined) this.#controller.abort(this.stopped.reason);
    }
    return this.#controller.signal;
  }

  throwIfStopped(): void {
    if (this.stopped !== undefined) throw this.stopped.reason;
  }

  /** Stops the job (the first reason wins), aborting its handler's signal. */
  abort(reason: unknown): void {
    if (this.stopped !== undefined) return;
    this.stopped = { reason };
    this.#controller?.abort(reason);
  }
}

const SERVE_OPTIONS: OptionChecks = {
  queue: checkQueueName,
  connection: checkConnection,
  prefix: checkQueueName,
  handlers: checkHandlers,
  concurrency: checkPositiveInteger,
  lockDuration: checkPositive,
  stalledInterval: checkPositive,
  maxStalledCount: checkCount,
  rateLimit: checkRateLimit,
  retryIf: checkFunction,
  onRetry: checkFunction,
  onFailure: checkFunction,
};

function checkPositive(value: unknown, action: string, name: string): void {
  checkTimeout(value, action, name);
  if (value === 0 || value === Infinity) fail(RangeError, 'a positive finite number of milliseconds', action, name, value);
}

function checkCount(value: unknown, action: string, name: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(typeof value === 'number' ? RangeError : TypeError, 'a non-negative integer', action, name, value);
}

function checkHandlers(value: unknown, action: string, name: string): void {
  if (typeof value !== 'object' || value === null) fail(TypeError, 'an object of functions', action, name, value);
  if (!Object.values(value).some((item) => typeof item === 'function')) fail(TypeError, 'an object with at least one function', action, name, value);
}

function checkRateLimit(value: unknown, action: string, name: string): void {
  if (typeof value !== 'object' || value === null) fail(TypeError, 'an object { limit, interval }', action, name, value);
  const { limit, interval } = value as { limit?: unknown; interval?: unknown };
  checkPositiveInteger(limit, action, `${name}.limit`);
  checkPositive(interval, action, `${name}.interval`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The default `retryIf`: every failure except a cancellation (and an open circuit). */
function retryByDefault(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name !== 'CancelledError' && name !== 'BrokenCircuitError';
}

/** Milliseconds before attempt `attempt + 1`, from the backoff that travelled with the job. */
function backoffDelay(backoff: JobData['b'], attempt: number, previous: number | undefined): number {
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return backoff;
  const { initial, max, factor, jitter } = withDefaults(backoff);
  const d = Math.min(max, initial * factor ** (attempt - 1));
  switch (jitter) {
    case 'none':
      return d;
    case 'equal':
      return Math.round(d / 2 + Math.random() * (d / 2));
    case 'decorrelated': {
      const low = initial;
      const high = Math.max(low, (previous ?? initial) * 3);
      return Math.round(Math.min(max, low + Math.random() * (high - low)));
    }
    default:
      return Math.round(Math.random() * d);
  }
}

/**
 * Serves a queue: runs its jobs with `handlers` on this process, `concurrency` at a time, as
 * `celery worker` / `rq worker` do. Each handler is called with the job's arguments, then a
 * {@link TaskContext} (`{ signal, attempt }`).
 *
 * - A job cancelled by any client aborts its handler's `signal` here and is not retried.
 * - `timeout` (per attempt) and `deadline` (whole job) are enforced here: the signal aborts
 *   with a `TimeoutError`. A timed-out attempt is retried like any failure, when attempts are left.
 * - Retries: `attempts` and `backoff` travel with the job; `retryIf` and `onRetry` are given
 *   here, since functions do not travel.
 * - Delivery is at least once: if this process dies, its jobs go back to the queue after
 *   `lockDuration` (+ up to `stalledInterval`) and another worker runs them again. Handlers
 *   should be idempotent.
 * - A job naming a handler this worker does not have fails (not retried) with a `TypeError`
 *   naming it.
 * - `rateLimit: { limit, interval }`: never more than `limit` starts in any window of
 *   `interval` ms across every worker of the queue (a sliding window in Redis, on Redis'
 *   clock; one round trip per start). Retries count as starts; a job held back goes back to
 *   the queue without using an attempt.
 * - A retry queues again ahead of the waiting jobs of its priority, behind those of higher ones.
 *
 * @typeParam H - the handlers' type; give it to `QueueExecutor<typeof handlers>` on clients.
 * @param options - see {@link ServeQueueOptions}.
 * @returns the running worker, once connected.
 * @throws {TypeError} for bad options; an `Error` when Redis cannot be reached within
 *   `connectTimeout` ms, or BullMQ is not installed.
 * @example
 * ```ts
 * import { serveQueue } from 'taskpool/queue';
 * const handlers = { add: (a: number, b: number) => a + b };
 * const server = await serveQueue({ queue: 'sums', connection: 'redis://127.0.0.1:6379', handlers, concurrency: 8 });
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export async function serveQueue<H extends object>(options: ServeQueueOptions<H> & { connectTimeout?: number }): Promise<QueueServer> {
  const action = 'serve a queue';
  checkOptions(options, { ...SERVE_OPTIONS, connectTimeout: checkTimeout }, action);
  if (options.queue === undefined) fail(TypeError, 'a non-empty string without ":"', action, 'queue', undefined);
  if (options.connection === undefined) fail(TypeError, 'a redis:// or rediss:// URL, or ioredis options', action, 'connection', undefined);
  if (options.handlers === undefined) fail(TypeError, 'an object of functions', action, 'handlers', undefined);
  const { queue, connection, prefix = 'bull', handlers, concurrency = 1, lockDuration = 30_000, stalledInterval = 30_000, maxStalledCount = 1 } = options;
  const { rateLimit, retryIf = retryByDefault, onRetry, onFailure, connectTimeout = 10_000 } = options;
  const { Worker, UnrecoverableError, WaitingError, RateLimitError } = loadBullMQ();
  const table = handlers as Record<string, unknown>;
  const names = Object.keys(table).filter((name) => typeof table[name] === 'function');

  const active = new Map<string, Running>();
  /** The errors of passed deadlines: never retried. */
  const deadlineErrors = new WeakSet<object>();
  /** Backoff delays decided by the processor, for BullMQ's backoff strategy. */
  const delays = new Map<string, number>();
  const previousDelays = new Map<string, number>();
  let completed = 0;
  let failed = 0;
  let retried = 0;
  let cancelled = 0;
  let closing: Promise<void> | undefined;

  const redis: RedisClient = createRedis(connection, { maxRetriesPerRequest: null });
  const subscriber: RedisClient = createRedis(connection, { maxRetriesPerRequest: null });
  let lastError: unknown;
  redis.on('error', (error: unknown) => (lastError = error));
  subscriber.on('error', (error: unknown) => (lastError = error));
  /** One start asked of the queue's sliding window (one round trip): 0, or ms until it has room. */
  const takeStart = rateLimit === undefined ? undefined : slidingWindow(redis, prefix, queue, rateLimit.limit, rateLimit.interval);

  const cancelFor = (running: Running, note: CancelNote): void => {
    if (running.cancelled !== undefined || !cancels(note, running.timestamp)) return;
    const reason = decodeReason(note.reason);
    running.cancelled = { reason };
    running.abort(new CancelledError(`Cancelled by a client of queue '${queue}'`, reason === undefined ? undefined : { cause: reason }));
  };

  /** Cancels heard lately, for jobs that start just after (kept a minute, at most 10,000). */
  const recentCancels = new Map<string, CancelNote>();
  const recentTimes: [number, string][] = [];
  subscriber.on('message', (_channel: string, message: string) => {
    const space = message.indexOf(' ');
    const id = space === -1 ? message : message.slice(0, space);
    const note = parseCancel(space === -1 ? '' : message.slice(space + 1));
    const running = active.get(id);
    if (running !== undefined) cancelFor(running, note);
    const now = Date.now();
    recentCancels.set(id, note);
    recentTimes.push([now, id]);
    while (recentTimes.length > 0 && (recentTimes.length > 10_000 || recentTimes[0]![0] < now - 60_000)) recentCancels.delete(recentTimes.shift()![1]);
  });

  const processor = async (job: import('bullmq').Job, token?: string): Promise<string> => {
    const id = job.id!;
    const attempt = job.attemptsMade + 1;
    const attempts = Math.max(1, job.opts.attempts ?? 1);
    const data = job.data as JobData;
    const running = new Running(job.timestamp);
    active.set(id, running);
    let timer: ReturnType<typeof setTimeout> | undefined;
    /** Thrown when the rate limit holds the job back: it goes back to the queue, no attempt used. */
    let heldBack: Error | undefined;
    try {
      try {
        const handler = Object.hasOwn(table, job.name) ? table[job.name] : undefined;
        if (typeof handler !== 'function') {
          throw new TypeError(`Cannot run job '${id}' of queue '${queue}' as this worker has no handler named ${describe(job.name)}: its handlers are '${names.join("', '")}'`);
        }
        // Cancelled before it started here: a client's cancel may have raced the start. Every
        // worker hears every cancel; one that may have missed it (the job ran before, on a worker
        // that died or in an earlier attempt) reads the key the client left.
        const recent = recentCancels.get(id);
        if (recent !== undefined) cancelFor(running, recent);
        else if (job.attemptsStarted > 1) {
          const cancelledBefore = await redis.get(cancelKey(prefix, queue, id));
          if (cancelledBefore !== null) cancelFor(running, parseCancel(cancelledBefore));
        }
        // Every start counts, retries included; a job already stopped uses none. When the window is
        // full, the job goes back to the queue ahead of its priority (BullMQ's manual rate limit: no
        // attempt counted), and this worker, like every worker of the queue, pauses until the window
        // has room (the script has set BullMQ's limiter key for that long).
        if (takeStart !== undefined && running.stopped === undefined) {
          const wait = await takeStart(id);
          if (wait > 0) throw (heldBack = new RateLimitError());
        }
        let limit = data.t;
        let limitError: TimeoutError | undefined;
        if (data.d !== undefined) {
          let firstStart = data.s;
          if (firstStart === undefined) {
            firstStart = Date.now();
            await job.updateData({ ...data, s: firstStart });
          }
          const left = data.d - (Date.now() - firstStart);
          const deadlineError = new TimeoutError(`Job '${id}' (${job.name}) of queue '${queue}' passed its deadline of ${data.d} ms`);
          deadlineErrors.add(deadlineError);
          if (left <= 0) throw deadlineError;
          if (limit === undefined || left < limit) {
            limit = left;
            limitError = deadlineError;
          }
        }
        if (limit !== undefined) {
          const error = limitError ?? new TimeoutError(`Job '${id}' (${job.name}) of queue '${queue}' timed out after ${limit} ms`);
          timer = setTimeout(() => running.abort(error), limit);
        }
        running.throwIfStopped();
        const args = decode(data.a) as unknown[];
        const context: TaskContext = {
          get signal() {
            return running.signal;
          },
          attempt,
        };
        const value = await (handler as Handler)(...args, context);
        running.throwIfStopped();
        let text: string;
        try {
          text = encode(value);
        } catch (error) {
          throw new TypeError(`Cannot send the result of job '${id}' (${job.name}) of queue '${queue}' as it cannot travel: ${messageOf(error)}`);
        }
        completed++;
        return text;
      } catch (thrown) {
        clearTimeout(timer);
        if (heldBack !== undefined && thrown === heldBack) throw thrown;
        // A stopped job's reason decides the outcome, whatever the handler made of it.
        const error: unknown = running.stopped !== undefined ? running.stopped.reason : thrown;
        if (running.forced && running.cancelled === undefined && token !== undefined) {
          // Stopped by force: back to the queue for another worker, no attempt used.
          await job.moveToWait(token).catch(() => undefined);
          throw new WaitingError();
        }
        const isCancel = running.cancelled !== undefined;
        const isDeadline = deadlineErrors.has(error as object);
        let retrying = false;
        let delay = 0;
        if (!isCancel && !isDeadline && attempt < attempts && !(error instanceof TypeError && error.message.includes('has no handler named'))) {
          try {
            const verdict = retryIf(error, attempt);
            if (typeof verdict !== 'boolean') throw new TypeError(`'retryIf' must return a boolean: it returned ${describe(verdict)}`);
            retrying = verdict;
          } catch (problem) {
            console.error(`taskpool worker: retryIf threw for job '${id}':`, problem);
          }
        }
        if (retrying) {
          delay = backoffDelay(data.b, attempt, previousDelays.get(id));
          if (data.d !== undefined && data.s !== undefined && Date.now() + delay - data.s >= data.d) retrying = false;
        }
        if (isCancel) cancelled++;
        else if (retrying) retried++;
        else failed++;
        onFailure?.({ id, name: job.name, error, attempt, attempts, retrying, cancelled: isCancel });
        // A client's cancellation is marked as such: every client settles its futures as cancelled, with the client's reason.
        if (isCancel) throw new UnrecoverableError(cancelledMessage(running.cancelled!.reason));
        if (!retrying) throw new UnrecoverableError(failureMessage(error));
        delays.set(id, delay);
        previousDelays.set(id, delay);
        // A retry queues again ahead of the jobs of its priority: in the free BullMQ priority just
        // above theirs (see queue-executor.ts), read when BullMQ queues it again after the backoff.
        const priority = Number(job.priority);
        if (priority > 0 && priority % 2 === 0) await job.changePriority({ priority: priority - 1 }).catch((problem: unknown) => (lastError = problem));
        try {
          onRetry?.({ id, name: job.name, error, attempt, delay });
        } catch (problem) {
          console.error(`taskpool worker: onRetry threw for job '${id}':`, problem);
        }
        throw new Error(failureMessage(error));
      }
    } finally {
      clearTimeout(timer);
      active.delete(id);
      // A job held back keeps its last backoff for the attempt it has yet to make.
      if (!delays.has(id) && heldBack === undefined) previousDelays.delete(id);
    }
  };

  const worker = new Worker(queue, processor, {
    connection: connectionOptions(connection, { maxRetriesPerRequest: null }) as never,
    prefix,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    autorun: false,
    ...(rateLimit === undefined ? {} : { limiter: pauseOnlyLimiter(rateLimit.interval) }),
    settings: {
      backoffStrategy: (_attemptsMade: number, _type?: string, _error?: Error, job?: { id?: string }) => {
        const id = job?.id ?? '';
        const delay = delays.get(id) ?? 0;
        delays.delete(id);
        return delay;
      },
    },
  });
  worker.on('error', (error: unknown) => (lastError = error));

  const stopConnections = async (): Promise<void> => {
    subscriber.disconnect();
    redis.disconnect();
  };

  try {
    await withTimeout(
      Promise.all([
        worker.waitUntilReady(),
        // Tells the clients whether to follow the starts the window grants or BullMQ's `active`.
        rateLimit === undefined ? redis.del(rateLimitKey(prefix, queue)) : redis.set(rateLimitKey(prefix, queue), JSON.stringify({ limit: rateLimit.limit, interval: rateLimit.interval })),
        subscriber.subscribe(cancelChannel(prefix, queue)),
      ]),
      connectTimeout,
      () => new Error(`Cannot serve queue '${queue}' as Redis at ${showConnection(connection)} did not answer within ${connectTimeout} ms${lastError === undefined ? '' : `: ${messageOf(lastError)}`}`, { cause: lastError }),
    );
  } catch (error) {
    await worker.close(true).catch(() => undefined);
    await stopConnections();
    throw error;
  }
  void worker.run().catch((error: unknown) => (lastError = error));

  const server: QueueServer = {
    queue,
    get stats(): QueueServerStats {
      return { active: active.size, completed, failed, retried, cancelled };
    },
    close(closeOptions?: QueueServerCloseOptions): Promise<void> {
      const { abort = false } = checkOptions(closeOptions, { abort: undefined }, `close the worker of queue '${queue}'`);
      if (abort) {
        for (const running of active.values()) {
          running.forced = true;
          running.abort(new CancelledError(`The worker of queue '${queue}' was stopped`));
        }
      }
      closing ??= (async () => {
        await worker.close();
        await stopConnections();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/** `promise`, or a rejection with `error()` after `ms` milliseconds. */
async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
