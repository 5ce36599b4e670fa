/** The types of `taskpool/queue` (handlers, options), their checks, and how BullMQ is loaded. */
import { createRequire } from 'node:module';
import type { ExecutorOptions } from '../executor.js';
import type { AnyIterable } from '../map.js';
import { checkFiniteNumber, checkSignal, checkString, checkTimeout, describe, fail, type OptionChecks } from '../internal/validate.js';
import { checkAttempts } from '../policies/retry.js';

/**
 * What a handler receives after its arguments, on the worker.
 *
 * @example
 * ```ts
 * export const handlers = {
 *   resize: async (image: Uint8Array, width: number, { signal, attempt }: TaskContext) => resizeImage(image, width, { signal }),
 * };
 * ```
 */
export interface TaskContext {
  /** Aborts when the job is cancelled (from any client), times out, or the worker is stopped by force. */
  readonly signal: AbortSignal;
  /** The current attempt, from 1. */
  readonly attempt: number;
}

/**
 * Any handler: its arguments, then optionally a {@link TaskContext}.
 *
 * @example
 * ```ts
 * const add: Handler = (a: number, b: number) => a + b;
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (...args: any[]) => unknown;

/**
 * The handlers of a client built without a type argument: any name, any arguments, `unknown` results.
 *
 * @example
 * ```ts
 * const pool = new QueueExecutor({ queue: 'jobs', connection: 'redis://127.0.0.1:6379' }); // QueueExecutor<UntypedHandlers>
 * ```
 */
export type UntypedHandlers = Record<string, (...args: unknown[]) => unknown>;

/**
 * The names of `H`'s handlers.
 *
 * @typeParam H - the handlers' type.
 * @example
 * ```ts
 * type Names = HandlerName<typeof handlers>; // 'resize' | 'fib'
 * ```
 */
export type HandlerName<H> = { [K in keyof H]-?: H[K] extends Handler ? K : never }[keyof H] & string;

/**
 * The arguments a client sends to handler `K`: its parameters without a trailing {@link TaskContext}.
 *
 * @typeParam H - the handlers' type.
 * @typeParam K - the handler's name.
 * @example
 * ```ts
 * type ResizeArgs = HandlerArguments<typeof handlers, 'resize'>; // [image: Uint8Array, width: number]
 * ```
 */
export type HandlerArguments<H, K extends keyof H> = H[K] extends (...args: infer P) => unknown
  ? Required<P> extends [...infer A, infer Last]
    ? [Last] extends [TaskContext]
      ? A
      : P
    : P
  : unknown[];

/**
 * What handler `K` settles to, on the client.
 *
 * @typeParam H - the handlers' type.
 * @typeParam K - the handler's name.
 * @example
 * ```ts
 * type Resized = HandlerResult<typeof handlers, 'resize'>; // Uint8Array
 * ```
 */
export type HandlerResult<H, K extends keyof H> = H[K] extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/**
 * The iterables of `map()`, one per argument of the handler.
 *
 * @typeParam A - the handler's arguments.
 * @example
 * ```ts
 * const inputs: HandlerIterables<[number, string]> = [[1, 2], ['a', 'b']];
 * ```
 */
export type HandlerIterables<A extends readonly unknown[]> = { [K in keyof A]: AnyIterable<A[K]> };

/**
 * The backoff between attempts of a job, as it travels with the job: a fixed number of
 * milliseconds, or exponential with jitter (the policies' object form). A function cannot
 * travel between machines.
 *
 * @example
 * ```ts
 * const backoff: QueueBackoff = { initial: 200, max: 10_000, factor: 2, jitter: 'full' };
 * ```
 */
export type QueueBackoff =
  | number
  | {
      /** @default 100 */
      readonly initial?: number;
      /** @default 30_000 */
      readonly max?: number;
      /** @default 2 */
      readonly factor?: number;
      /** @default 'full' */
      readonly jitter?: 'full' | 'equal' | 'decorrelated' | 'none';
    };

/**
 * Retries of a job, decided on the worker: `attempts` counts runs, the first included.
 *
 * @example
 * ```ts
 * pool.run('fib', [30], { retry: { attempts: 4, backoff: { initial: 500 } } });
 * ```
 */
export interface QueueRetry {
  /** Runs at most, the first included (a positive integer). @default 1 */
  readonly attempts?: number;
  /** Milliseconds between attempts, or the exponential object form. @default `{ initial: 100, max: 30_000, factor: 2, jitter: 'full' }` */
  readonly backoff?: QueueBackoff;
}

/**
 * Per-job options of `QueueExecutor.run()`.
 *
 * @example
 * ```ts
 * pool.run('resize', [image, 200], { timeout: 5_000, priority: 1, retry: { attempts: 3 }, signal });
 * ```
 */
export interface QueueRunOptions {
  /** Cancels the job when it aborts (already aborted included), as `future.cancel(signal.reason)`. */
  signal?: AbortSignal;
  /**
   * Milliseconds an attempt may run on the worker; then the handler's signal aborts with a
   * `TimeoutError`, which counts as a failed attempt. The client's future rejects on time too.
   * @default the client's `taskTimeout` (none)
   */
  timeout?: number;
  /**
   * Milliseconds from the job's first start to its end, attempts and backoff waits included;
   * then the future rejects with a `TimeoutError` and the job is cancelled.
   * @default none
   */
  deadline?: number;
  /** Retries on the worker (attempts and backoff travel with the job). @default none */
  retry?: QueueRetry;
  /**
   * Waiting jobs are taken higher priority first, then in the order they were added (an integer
   * from -500,000 to 500,000; 0 sits between negative and positive ones, unlike a BullMQ job
   * without a priority, which goes before all of them). A retry queues again ahead of the
   * waiting jobs of its priority, behind those of higher ones.
   * @default 0
   */
  priority?: number;
  /**
   * Single-flight across clients: the job's id is made from the key (the key itself when BullMQ
   * accepts it as an id, otherwise with `%` and `:` escaped). While that job waits or runs, a
   * run with the key adds nothing and its future follows the job (BullMQ's deduplication by
   * id); once it has finished, the key is free again (the finished job is removed then).
   * @default a random UUID as the id
   */
  key?: string;
}

/**
 * How to reach Redis: a `redis://` or `rediss://` URL, or ioredis options (`{ host, port, password... }`).
 *
 * @example
 * ```ts
 * const connection: QueueConnection = { host: '10.0.0.5', port: 6379, password: process.env.REDIS_PASSWORD };
 * ```
 */
export type QueueConnection = string | Readonly<Record<string, unknown>>;

/**
 * Options shared by a client and a worker: the queue and the Redis it lives in.
 *
 * @example
 * ```ts
 * const where: QueueLocation = { queue: 'images', connection: 'redis://10.0.0.5:6379', prefix: 'bull' };
 * ```
 */
export interface QueueLocation {
  /** The queue's name. */
  queue: string;
  /** Redis: a URL or ioredis options. */
  connection: QueueConnection;
  /** BullMQ's key prefix. @default 'bull' */
  prefix?: string;
}

/**
 * Options of `new QueueExecutor()`: where the queue is, plus those of every executor except
 * `maxWorkers` (a client runs nothing itself: concurrency is the workers').
 *
 * @example
 * ```ts
 * new QueueExecutor<typeof handlers>({ queue: 'images', connection: 'redis://10.0.0.5:6379', taskTimeout: 60_000 });
 * ```
 */
export interface QueueExecutorOptions extends Omit<ExecutorOptions, 'maxWorkers'>, QueueLocation {
  /**
   * Milliseconds finished jobs are kept in Redis, so that any process can still `attach` to
   * them (BullMQ removes older ones as new jobs finish).
   * @default 86_400_000 (one day)
   */
  retention?: number;
  /**
   * Milliseconds between checks of the state of this client's unfinished jobs in Redis, which
   * settle futures whose events were lost. A check also runs after every reconnection.
   * @default 5_000
   */
  checkInterval?: number;
  /**
   * Milliseconds a job may wait for Redis to answer its `add` before its future rejects (Redis
   * down or unreachable).
   * @default 10_000
   */
  connectTimeout?: number;
}

/**
 * What `onRetry` of `serveQueue` receives before each retry's wait.
 *
 * @example
 * ```ts
 * await serveQueue({ queue: 'images', connection, handlers, onRetry: ({ id, attempt, delay }) => console.log(`job ${id}: attempt ${attempt} failed, next in ${delay} ms`) });
 * ```
 */
export interface RetryInfo {
  /** The job's id. */
  readonly id: string;
  /** The handler's name. */
  readonly name: string;
  /** What the attempt threw. */
  readonly error: unknown;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** Milliseconds before the next attempt. */
  readonly delay: number;
}

/**
 * What `onFailure` of `serveQueue` receives for every failed attempt.
 *
 * @example
 * ```ts
 * await serveQueue({ queue: 'images', connection, handlers, onFailure: ({ id, name, error, retrying }) => console.error(id, name, error, retrying) });
 * ```
 */
export interface FailureInfo {
  /** The job's id. */
  readonly id: string;
  /** The handler's name. */
  readonly name: string;
  /** What the attempt threw (or the abort reason of its signal). */
  readonly error: unknown;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** How many attempts the job may have. */
  readonly attempts: number;
  /** Whether another attempt follows. */
  readonly retrying: boolean;
  /** Whether the job was cancelled (by a client or by `close({ abort: true })`). */
  readonly cancelled: boolean;
}

/**
 * Options of {@link serveQueue}.
 *
 * @example
 * ```ts
 * await serveQueue({ queue: 'images', connection: 'redis://10.0.0.5:6379', handlers, concurrency: 8, lockDuration: 10_000 });
 * ```
 */
export interface ServeQueueOptions<H extends object = Record<string, Handler>> extends QueueLocation {
  /** The handlers, by name: `{ resize, fib }`. Each is called with the job's arguments, then a {@link TaskContext}. */
  handlers: H;
  /** Jobs run at once by this worker (a positive integer). @default 1 */
  concurrency?: number;
  /**
   * Milliseconds a job's lock lasts unless renewed (it is renewed every half of it while the
   * job runs). A worker that dies loses its jobs' locks after this long.
   * @default 30_000
   */
  lockDuration?: number;
  /**
   * Milliseconds between checks for jobs whose lock expired (their worker died): they go
   * back to the queue for another worker. Recovery takes between `lockDuration` and
   * `lockDuration + stalledInterval`.
   * @default 30_000
   */
  stalledInterval?: number;
  /** Times a job may be recovered from a dead worker before it fails. @default 1 */
  maxStalledCount?: number;
  /**
   * Never more than `limit` job starts in any window of `interval` ms, across every worker of
   * the queue on every machine: a sliding window kept in Redis, on Redis' clock (no double
   * burst at a window's boundary). Retries count as starts. Each start costs one round trip to
   * Redis; a job held back goes back to the queue (no attempt used) and the workers wait until
   * the window has room. Give every worker of a queue the same `rateLimit`.
   */
  rateLimit?: {
    /** Job starts allowed per `interval` (a positive integer). */
    readonly limit: number;
    /** The window, in milliseconds. */
    readonly interval: number;
  };
  /**
   * Whether a failed attempt is retried (when attempts are left); it must return a boolean
   * (anything else is reported, and the job is not retried). @default every failure except a cancellation
   */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /** Called before each retry's wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Called for every failed attempt (for logging). */
  onFailure?: (info: FailureInfo) => void;
}

/** Milliseconds in a day: the default retention of finished jobs. */
export const DAY = 86_400_000;

export const RUN_OPTIONS: OptionChecks = {
  signal: checkSignal,
  timeout: checkTimeout,
  deadline: checkTimeout,
  retry: checkRetry,
  priority: checkPriority,
  key: checkKey,
};

function checkKey(value: unknown, action: string, name: string): void {
  checkString(value, action, name);
  if (value === '') fail(TypeError, 'a non-empty string', action, name, value);
}

/**
 * The job id of a `key`: the key itself when BullMQ takes it as an id (not an integer, no `:`
 * nor `%`); otherwise `%` and `:` escaped as `%25` and `%3A`, behind `%k` for an integer (a
 * sequence no escape makes), so that two keys never share an id.
 */
export function jobIdOf(key: string): string {
  if (!/[%:]/.test(key) && `${Number.parseInt(key, 10)}` !== key) return key;
  const escaped = key.replaceAll('%', '%25').replaceAll(':', '%3A');
  return `${Number.parseInt(escaped, 10)}` === escaped ? `%k${escaped}` : escaped;
}

/** The highest priority of a job (and minus it the lowest): BullMQ has room for two slots per priority, a job's and its retries'. */
const MAX_PRIORITY = 500_000;

function checkPriority(value: unknown, action: string, name: string): void {
  checkFiniteNumber(value, action, name);
  if (!Number.isInteger(value) || Math.abs(value) > MAX_PRIORITY) fail(RangeError, `an integer from -${MAX_PRIORITY} to ${MAX_PRIORITY}`, action, name, value);
}

function checkRetry(value: unknown, action: string, name: string): void {
  if (typeof value !== 'object' || value === null) fail(TypeError, 'an object', action, name, value);
  const { attempts, backoff, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new TypeError(`Cannot ${action} as '${name}' has an unknown key ${describe(extra[0])}: the known keys are 'attempts', 'backoff'`);
  if (attempts !== undefined) checkAttempts(attempts, action, `${name}.attempts`);
  if (backoff === undefined || typeof backoff === 'number') {
    if (typeof backoff === 'number') checkTimeout(backoff, action, `${name}.backoff`);
    return;
  }
  if (typeof backoff === 'function') fail(TypeError, 'a number or an object (a function cannot travel to the worker)', action, `${name}.backoff`, backoff);
  if (typeof backoff !== 'object' || backoff === null) fail(TypeError, 'a number or an object', action, `${name}.backoff`, backoff);
  const { initial, max, factor, jitter, ...others } = backoff as Record<string, unknown>;
  const unknownKeys = Object.keys(others);
  if (unknownKeys.length > 0) throw new TypeError(`Cannot ${action} as '${name}.backoff' has an unknown key ${describe(unknownKeys[0])}: the known keys are 'initial', 'max', 'factor', 'jitter'`);
  checkTimeout(initial, action, `${name}.backoff.initial`);
  checkTimeout(max, action, `${name}.backoff.max`);
  if (factor !== undefined) {
    checkFiniteNumber(factor, action, `${name}.backoff.factor`);
    if (factor < 1) fail(RangeError, 'a number >= 1', action, `${name}.backoff.factor`, factor);
  }
  if (jitter !== undefined && jitter !== 'full' && jitter !== 'equal' && jitter !== 'decorrelated' && jitter !== 'none') {
    fail(typeof jitter === 'string' ? RangeError : TypeError, "'full', 'equal', 'decorrelated' or 'none'", action, `${name}.backoff.jitter`, jitter);
  }
  const lowest = (initial as number | undefined) ?? 100;
  if (((max as number | undefined) ?? 30_000) < lowest) fail(RangeError, `at least '${name}.backoff.initial' (${lowest})`, action, `${name}.backoff.max`, max);
}

/** Throws unless `value` is a non-empty string without ':' (a queue's name). */
export function checkQueueName(value: unknown, action: string, name: string): asserts value is string {
  checkString(value, action, name);
  if (value === '' || value.includes(':')) fail(TypeError, 'a non-empty string without ":"', action, name, value);
}

/** Throws unless `value` is a `redis://`/`rediss://` URL or an options object. */
export function checkConnection(value: unknown, action: string, name: string): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return;
  if (typeof value === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url !== undefined && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '') return;
  }
  fail(TypeError, 'a redis:// or rediss:// URL, or ioredis options', action, name, value);
}

/** The ioredis options BullMQ is given for `connection`. */
export function connectionOptions(connection: QueueConnection, extra: Record<string, unknown>): Record<string, unknown> {
  if (typeof connection === 'string') return { url: connection, ...extra };
  return { ...connection, ...extra };
}

/** How the connection is shown in messages (without a password). */
export function showConnection(connection: QueueConnection): string {
  if (typeof connection === 'string') {
    const url = new URL(connection);
    url.password = url.password === '' ? '' : '***';
    return url.href;
  }
  const { host = '127.0.0.1', port = 6379 } = connection as { host?: string; port?: number };
  return `${String(host)}:${String(port)}`;
}

/** BullMQ's module, loaded once, with an error that says what to install when it is missing. */
export type BullMQ = typeof import('bullmq');
let bullmq: BullMQ | undefined;

/**
 * BullMQ (and, through it, ioredis): optional peer dependencies of `taskpool/queue` only.
 *
 * @throws {Error} saying what to install when they are not installed.
 */
export function loadBullMQ(): BullMQ {
  if (bullmq !== undefined) return bullmq;
  const require = createRequire(import.meta.url);
  for (const name of ['ioredis', 'bullmq']) {
    try {
      require.resolve(name);
    } catch (error) {
      throw new Error(`Cannot use taskpool/queue as the package '${name}' is not installed: install its peer dependencies with \`npm install bullmq@^6 ioredis\``, { cause: error });
    }
  }
  bullmq = require('bullmq') as BullMQ;
  return bullmq;
}

/** The names of the extra options each side accepts (for the base's unknown-key check). */
export const CLIENT_OPTIONS: OptionChecks = {
  queue: checkQueueName,
  connection: checkConnection,
  prefix: checkQueueName,
  retention: checkTimeout,
  checkInterval: checkTimeout,
  connectTimeout: checkTimeout,
};
