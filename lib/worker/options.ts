/** Options of `WorkerPoolExecutor` and of its `run()`, the types that follow a task module, and their checks. */
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, type ResourceLimits, type TransferListItem, type WorkerOptions } from 'node:worker_threads';
import type { ExecutorOptions, RunOptions } from '../executor.js';
import type { AnyIterable } from '../map.js';
import { checkTimeout, describe, type OptionChecks } from '../internal/validate.js';

/**
 * Options of `WorkerPoolExecutor`: those of every executor (`maxWorkers`, `name`,
 * `taskTimeout`) plus where the tasks live and how the worker threads are made.
 *
 * @example
 * ```ts
 * new WorkerPoolExecutor({ filename: new URL('./tasks.js', import.meta.url), maxWorkers: 4, idleTimeout: 5_000 });
 * ```
 */
export interface WorkerPoolExecutorOptions extends ExecutorOptions {
  /**
   * The module whose exported functions are the tasks: a path (relative to the current
   * directory) or a `file:` URL. ES modules and CommonJS both work; it is loaded with
   * `import()` in each worker, so TypeScript needs a loader of the user's choice.
   */
  filename: string | URL;
  /**
   * How many tasks run at once, one per worker thread (a positive integer).
   * @default `os.availableParallelism()`
   */
  maxWorkers?: number;
  /**
   * Workers started at once and kept however long they idle (an integer from 0 to `maxWorkers`).
   * If the module cannot load in them, the executor is broken from the start.
   * @default 0
   */
  minWorkers?: number;
  /**
   * Milliseconds an idle worker (beyond `minWorkers`) is kept warm before it exits; `Infinity`
   * keeps it until shutdown. Idle workers never keep the process alive.
   * @default 10_000
   */
  idleTimeout?: number;
  /**
   * Heap and stack limits of each worker, as `new Worker(..., { resourceLimits })`: any of
   * `maxOldGenerationSizeMb`, `maxYoungGenerationSizeMb` and `codeRangeSizeMb` (positive
   * numbers of megabytes) and `stackSizeMb` (from 1 to 1024 megabytes).
   */
  resourceLimits?: ResourceLimits;
  /** A cloneable value each worker sees as `workerData` from `node:worker_threads`. */
  workerData?: unknown;
  /**
   * The workers' `process.env`, as `new Worker(..., { env })`: an object, or `SHARE_ENV`.
   * @default a copy of the main thread's `process.env`
   */
  env?: Record<string, string | undefined> | typeof SHARE_ENV;
}

/**
 * Per-task options of `WorkerPoolExecutor.run()`: those of every executor plus `transfer`.
 *
 * @example
 * ```ts
 * pool.run('crunch', [data], { timeout: 2_000, transfer: [data.buffer], signal, priority: 1 });
 * ```
 */
export interface WorkerRunOptions extends RunOptions {
  /**
   * Objects to transfer rather than copy (`ArrayBuffer`s, `MessagePort`s...), as in
   * `postMessage(value, transfer)`. They are transferred when the task starts: a cancelled
   * task that never started leaves them usable. Not on a task that may be retried (a retry
   * would be sent them emptied): `run()` throws a `TypeError` when its `retry`, or the
   * executor's, allows more than one attempt.
   */
  transfer?: readonly TransferListItem[];
}

/**
 * The type of a task module for an executor built without one: any name, any arguments.
 *
 * @example
 * ```ts
 * const pool = new WorkerPoolExecutor({ filename: './tasks.js' }); // WorkerPoolExecutor<UntypedTaskModule>
 * ```
 */
export type UntypedTaskModule = Record<string, (...args: unknown[]) => unknown>;

/**
 * The names of `M`'s function-valued exports.
 *
 * @typeParam M - the task module's type.
 * @example
 * ```ts
 * type Names = TaskName<typeof import('./tasks.js')>; // 'resize' | 'hash'
 * ```
 */
export type TaskName<M> = { [K in keyof M]-?: M[K] extends (...args: never[]) => unknown ? K : never }[keyof M] & string;

/**
 * The parameters of `M`'s export `K`.
 *
 * @typeParam M - the task module's type.
 * @typeParam K - the export's name.
 * @example
 * ```ts
 * type ResizeArgs = TaskArguments<typeof import('./tasks.js'), 'resize'>; // [bytes: Uint8Array, width: number]
 * ```
 */
export type TaskArguments<M, K extends keyof M> = M[K] extends (...args: infer A) => unknown ? A : unknown[];

/**
 * What a task `M[K]` settles to (its return value, awaited).
 *
 * @typeParam M - the task module's type.
 * @typeParam K - the export's name.
 * @example
 * ```ts
 * type Resized = TaskResult<typeof import('./tasks.js'), 'resize'>; // Uint8Array
 * ```
 */
export type TaskResult<M, K extends keyof M> = M[K] extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/**
 * The iterables of `map()`, one per parameter of the task.
 *
 * @typeParam A - the task's parameters.
 * @example
 * ```ts
 * const inputs: TaskIterables<[Uint8Array, number]> = [images, [800, 400]];
 * ```
 */
export type TaskIterables<A extends readonly unknown[]> = { [I in keyof A]: AnyIterable<A[I]> };

/** Options beyond those of every executor (checked by {@link checkWorkerOptions}). */
export const EXTRA_OPTIONS: OptionChecks = { filename: undefined, minWorkers: undefined, idleTimeout: undefined, resourceLimits: undefined, workerData: undefined, env: undefined };
const DEFAULT_IDLE_TIMEOUT = 10_000;

/** The default `maxWorkers`: one worker per core. */
export function defaultMaxWorkers(): number {
  return availableParallelism();
}

/** What the executor keeps of its options once checked. */
export interface CheckedWorkerOptions {
  /** The task module's URL. */
  readonly filename: string;
  readonly minWorkers: number;
  readonly idleTimeout: number;
  /** What every `new Worker()` is given. */
  readonly workerOptions: WorkerOptions;
}

/**
 * Checks the options `Executor` does not know (it has checked the others and the keys).
 *
 * @throws {TypeError} a missing `filename`, an option of the wrong type, an unknown key of `resourceLimits`.
 * @throws {RangeError} `minWorkers` out of range, a negative `idleTimeout`, a limit of `resourceLimits` out of range.
 */
export function checkWorkerOptions(options: Partial<WorkerPoolExecutorOptions> | undefined, maxWorkers: number): CheckedWorkerOptions {
  const action = 'create WorkerPoolExecutor';
  const { filename, minWorkers = 0, idleTimeout = DEFAULT_IDLE_TIMEOUT, resourceLimits, workerData, env } = options ?? {};
  const moduleUrl = toModuleUrl(filename, action);
  if (typeof minWorkers !== 'number') throw new TypeError(`Cannot ${action} as 'minWorkers' must be an integer from 0 to maxWorkers: current value is ${describe(minWorkers)}`);
  if (!Number.isSafeInteger(minWorkers) || minWorkers < 0 || minWorkers > maxWorkers) {
    throw new RangeError(`Cannot ${action} as 'minWorkers' must be an integer from 0 to maxWorkers (${maxWorkers}): current value is ${describe(minWorkers)}`);
  }
  checkTimeout(idleTimeout, action, 'idleTimeout');
  const limits = resourceLimits === undefined ? undefined : checkResourceLimits(resourceLimits, action);
  if (env !== undefined && env !== SHARE_ENV && (typeof env !== 'object' || env === null)) {
    throw new TypeError(`Cannot ${action} as 'env' must be an object or SHARE_ENV: current value is ${describe(env)}`);
  }
  try {
    structuredClone(workerData);
  } catch (error) {
    throw new TypeError(`Cannot ${action} as 'workerData' must be cloneable: ${messageOf(error)}`, { cause: error });
  }
  const workerOptions: WorkerOptions = {};
  const execArgv = workerExecArgv();
  if (execArgv !== undefined) workerOptions.execArgv = execArgv;
  if (workerData !== undefined) workerOptions.workerData = workerData;
  if (env !== undefined) workerOptions.env = env;
  if (limits !== undefined) workerOptions.resourceLimits = limits;
  return { filename: moduleUrl, minWorkers, idleTimeout, workerOptions };
}

/**
 * The keys of `resourceLimits`, each with the range Node can start a worker with: a heap limit
 * of 0 or less fails every start, a stack under about 0.3 MB, or a huge one, takes
 * the whole process down, not only the worker.
 */
const RESOURCE_LIMITS: Readonly<Record<keyof ResourceLimits, { readonly requirement: string; readonly inRange: (value: number) => boolean }>> = {
  maxOldGenerationSizeMb: { requirement: 'a positive number of megabytes', inRange: (value) => value > 0 && value < Infinity },
  maxYoungGenerationSizeMb: { requirement: 'a positive number of megabytes', inRange: (value) => value > 0 && value < Infinity },
  codeRangeSizeMb: { requirement: 'a positive number of megabytes', inRange: (value) => value > 0 && value < Infinity },
  stackSizeMb: { requirement: 'a number of megabytes from 1 to 1024', inRange: (value) => value >= 1 && value <= 1024 },
};

/**
 * Checks `resourceLimits`: an object of known keys, each `undefined` or a number in its range.
 * Returns a copy, each value read once, for `new Worker()`.
 *
 * @throws {TypeError} not an object, an unknown key, a value that is not a number.
 * @throws {RangeError} a value out of its range.
 */
function checkResourceLimits(resourceLimits: unknown, action: string): ResourceLimits {
  if (typeof resourceLimits !== 'object' || resourceLimits === null || Array.isArray(resourceLimits)) {
    throw new TypeError(`Cannot ${action} as 'resourceLimits' must be an object: current value is ${describe(resourceLimits)}`);
  }
  const limits: Record<string, number> = {};
  for (const key of Object.keys(resourceLimits)) {
    if (!Object.hasOwn(RESOURCE_LIMITS, key)) {
      throw new TypeError(`Cannot ${action} as 'resourceLimits' has an unknown key ${describe(key)}: the known keys are '${Object.keys(RESOURCE_LIMITS).join("', '")}'`);
    }
    const value: unknown = (resourceLimits as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const { requirement, inRange } = RESOURCE_LIMITS[key as keyof ResourceLimits];
    const name = `resourceLimits.${key}`;
    if (typeof value !== 'number') throw new TypeError(`Cannot ${action} as '${name}' must be ${requirement}: current value is ${describe(value)}`);
    if (!inRange(value)) throw new RangeError(`Cannot ${action} as '${name}' must be ${requirement}: current value is ${describe(value)}`);
    limits[key] = value;
  }
  return limits;
}

/**
 * Why a worker that exited before its module loaded failed through its options rather than
 * the module: it ran out of memory under `resourceLimits`. `undefined` when the module is to
 * blame (it threw, could not be found, or exited).
 */
export function startFailure(cause: unknown, workerOptions: WorkerOptions): string | undefined {
  if ((cause as { code?: unknown } | null | undefined)?.code !== 'ERR_WORKER_OUT_OF_MEMORY') return undefined;
  const limits = workerOptions.resourceLimits === undefined ? 'the default limits' : `'resourceLimits' ${describe(workerOptions.resourceLimits)}`;
  return `it ran out of memory while starting, under ${limits}: raise them (${messageOf(cause)})`;
}

/**
 * The main thread's `execArgv` less `--input-type`, when it has one: a worker inherits it and
 * then refuses to load its file (as in `node --input-type=module -e '...'`). Otherwise
 * `undefined`, and the worker inherits the main thread's options as Node does by default.
 */
function workerExecArgv(): string[] | undefined {
  const inherited = process.execArgv;
  if (!inherited.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const args: string[] = [];
  for (let i = 0; i < inherited.length; i++) {
    const arg = inherited[i]!;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) args.push(arg);
  }
  return args;
}

function toModuleUrl(filename: unknown, action: string): string {
  if (filename instanceof URL) return filename.href;
  if (typeof filename === 'string' && filename !== '') {
    return /^(?:file|data):/i.test(filename) ? filename : pathToFileURL(resolvePath(filename)).href;
  }
  throw new TypeError(`Cannot ${action} as 'filename' must be a path or file URL of the task module: current value is ${describe(filename)}`);
}

/** The message of an error, or the value described: for the messages that quote a failure. */
export function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : describe(value);
}

/** Throws unless `name` can name an export: a non-empty string. */
export function checkName(name: unknown, action: string): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`Cannot ${action} as 'name' must be the name of a function exported by the task module: current value is ${describe(name)}`);
  }
}

