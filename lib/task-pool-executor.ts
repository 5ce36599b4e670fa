import { Executor, type ExecutorOptions, type RunOptions } from './executor.js';
import type { Future } from './future.js';
import type { AnyIterable, MapOptions, MapResults } from './map.js';
import type { WorkItem } from './work-item.js';
import { builtinModule } from './internal/runtime.js';
import { checkFunction } from './internal/validate.js';
import { keepShape } from './internal/shapes.js';

/**
 * What `run()` hands to its task.
 *
 * @example
 * ```ts
 * pool.run(({ signal }) => fetch(url, { signal }));
 * ```
 */
export interface TaskContext {
  /** Aborts when the task is cancelled or its attempt times out: pass it on to whatever the task awaits. */
  readonly signal: AbortSignal;
  /** The current attempt, 1-based (above 1 only with a `retry` policy). */
  readonly attempt: number;
}

/** Marks a task scheduled by `run()`: it takes a {@link TaskContext}, not arguments. */
const RUN = Symbol('run');

/**
 * The iterables of `map()`, one per parameter of `fn`.
 *
 * @typeParam A - `fn`'s parameters.
 * @example
 * ```ts
 * const inputs: IterablesOf<[number, string]> = [[1, 2], ['a', 'b']];
 * ```
 */
export type IterablesOf<A extends readonly unknown[]> = { [K in keyof A]: AnyIterable<A[K]> };

function defaultMaxWorkers(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = builtinModule<{ availableParallelism: () => number }>('node:os')?.availableParallelism?.() ?? nav?.hardwareConcurrency ?? 1;
  return Math.min(32, cores + 4);
}

/**
 * The typed methods of {@link TaskPoolExecutor}: the {@link Executor} base implements them once
 * for every backend; these declarations type them for functions.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface TaskPoolExecutor {
  /**
   * Schedules `fn(...args)` and returns its future, as Python's `submit`. `fn` may be sync or
   * async; a synchronous throw becomes a rejected future, never a throw from `submit`. The
   * task starts when a slot is free (then the future is `running` on return and `fn` is called
   * from a microtask, never inside `submit`), otherwise when one frees, in submission order.
   *
   * @typeParam A - `fn`'s parameters.
   * @typeParam R - what `fn` returns (the future's value is `Awaited<R>`).
   * @param fn - the task function.
   * @param args - its arguments.
   * @returns the task's future.
   * @throws {TypeError} when `fn` is not a function.
   * @throws {ExecutorShutdownError} after `shutdown()`.
   * @example
   * ```ts
   * const future = pool.submit(async (a: number, b: number) => a + b, 1, 2); // Future<number>
   * console.log(await future); // 3
   * ```
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>>;

  /**
   * Maps `fn` over one or more iterables (zipped, shortest wins), as Python's
   * `Executor.map`, and yields the results **in input order** (`ordered: false`: as they
   * complete). See {@link Executor.map} for `bufferSize`, `timeout`, `signal` and errors.
   *
   * @typeParam T1 - the first iterable's items (and so on).
   * @typeParam R - what `fn` returns.
   * @param fn - called with one item of each iterable.
   * @param iterable - the first input; more may follow, then an optional {@link MapOptions}.
   * @returns an async iterator of the results.
   * @throws {TypeError} when `fn` is not a function, an input is not iterable, or for bad options.
   * @throws {RangeError} for a bad `bufferSize` or `timeout`.
   * @throws {ExecutorShutdownError} when called after `shutdown()`.
   * @example
   * ```ts
   * for await (const page of pool.map(fetchPage, urls, { bufferSize: 16 })) save(page);
   * for await (const sum of pool.map((a: number, b: number) => a + b, [1, 2], [10, 20])) console.log(sum);
   * ```
   */
  map<T1, R>(fn: (a: T1) => R, iterable: AnyIterable<T1>, options?: MapOptions): MapResults<Awaited<R>>;
  /**
   * `map` over two zipped inputs: `fn(a[i], b[i])` for each `i` below the shorter length.
   *
   * @typeParam T1 - the first iterable's items.
   * @typeParam T2 - the second iterable's items.
   * @typeParam R - what `fn` returns.
   * @param fn - called with one item of each iterable.
   * @param iterable1 - the first input.
   * @param iterable2 - the second input.
   * @param options - {@link MapOptions}.
   * @returns an async iterator of the results, in input order.
   * @example
   * ```ts
   * for await (const sum of pool.map((a: number, b: number) => a + b, [1, 2], [10, 20])) console.log(sum); // 11, 22
   * ```
   */
  map<T1, T2, R>(fn: (a: T1, b: T2) => R, iterable1: AnyIterable<T1>, iterable2: AnyIterable<T2>, options?: MapOptions): MapResults<Awaited<R>>;
  /**
   * `map` over three zipped inputs.
   *
   * @typeParam T1 - the first iterable's items.
   * @typeParam T2 - the second iterable's items.
   * @typeParam T3 - the third iterable's items.
   * @typeParam R - what `fn` returns.
   * @param fn - called with one item of each iterable.
   * @param iterable1 - the first input.
   * @param iterable2 - the second input.
   * @param iterable3 - the third input.
   * @param options - {@link MapOptions}.
   * @returns an async iterator of the results, in input order.
   * @example
   * ```ts
   * for await (const line of pool.map((a: string, b: number, c: boolean) => `${a}${b}${c}`, ['x'], [1], [true])) console.log(line);
   * ```
   */
  map<T1, T2, T3, R>(
    fn: (a: T1, b: T2, c: T3) => R,
    iterable1: AnyIterable<T1>,
    iterable2: AnyIterable<T2>,
    iterable3: AnyIterable<T3>,
    options?: MapOptions,
  ): MapResults<Awaited<R>>;
  /**
   * `map` over any number of zipped inputs, one per parameter of `fn`.
   *
   * @typeParam A - `fn`'s parameters.
   * @typeParam R - what `fn` returns.
   * @param fn - called with one item of each iterable.
   * @param iterables - one input per parameter, then optionally {@link MapOptions}.
   * @returns an async iterator of the results, in input order.
   * @example
   * ```ts
   * const inputs: IterablesOf<[number, number, number, number]> = [[1], [2], [3], [4]];
   * for await (const sum of pool.map((a: number, b: number, c: number, d: number) => a + b + c + d, ...inputs)) console.log(sum); // 10
   * ```
   */
  map<A extends unknown[], R>(fn: (...args: A) => R, ...iterables: IterablesOf<A> | [...IterablesOf<A>, MapOptions]): MapResults<Awaited<R>>;
  /**
   * `map` with no input: yields nothing, as Python's `zip()` of nothing.
   *
   * @typeParam R - what `fn` returns.
   * @param fn - never called.
   * @param options - {@link MapOptions}.
   * @returns an async iterator that ends at once.
   * @example
   * ```ts
   * for await (const never of pool.map(() => 1)) console.log(never); // prints nothing
   * ```
   */
  map<R>(fn: () => R, options?: MapOptions): MapResults<Awaited<R>>;
}

/**
 * Runs functions on the current event loop with at most `maxWorkers` in flight: Python's
 * `ThreadPoolExecutor` for promises. Tasks may be sync or async; each gets a {@link Future}.
 *
 * Options: `maxWorkers` (default `min(32, availableParallelism + 4)`, as Python), `name`,
 * `taskTimeout`. Invalid options throw `TypeError`/`RangeError` naming the option.
 *
 * @example
 * ```ts
 * await using pool = new TaskPoolExecutor({ maxWorkers: 8, name: 'fetchers' });
 * const future = pool.submit(async (url: string) => (await fetch(url)).status, 'https://example.com');
 * console.log(await future); // 200
 * for await (const size of pool.map(async (n: number) => n * 2, [1, 2, 3], { bufferSize: 2 })) console.log(size);
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TaskPoolExecutor extends Executor {
  static {
    // See internal/shapes.ts.
    keepShape(new TaskPoolExecutor({ name: 'TaskPoolExecutor-shape' }));
  }

  /**
   * @param options - `{ maxWorkers, name, taskTimeout }`.
   * @throws {RangeError} `maxWorkers` not a positive integer, a negative `taskTimeout`.
   * @throws {TypeError} an option of the wrong type, or an unknown option.
   */
  constructor(options?: ExecutorOptions) {
    super(options, defaultMaxWorkers());
  }

  /**
   * Schedules `task({ signal, attempt })` with per-task options: the primitive under `submit`.
   * An aborted `options.signal` (already aborted included) cancels the future; `timeout` ms
   * after an attempt starts, its signal aborts with a {@link TimeoutError} and the future
   * rejects with it (state `rejected`); the slot stays occupied until the task settles.
   *
   * @typeParam R - what `task` returns.
   * @param task - called with a {@link TaskContext}.
   * @param options - `{ signal, timeout, priority }`.
   * @returns the task's future.
   * @throws {TypeError} when `task` is not a function, or for bad options.
   * @throws {RangeError} for a negative `timeout` or a non-finite `priority`.
   * @throws {ExecutorShutdownError} after `shutdown()`.
   * @example
   * ```ts
   * const future = pool.run(({ signal }) => fetch(url, { signal }), { timeout: 5_000, priority: 1 });
   * ```
   */
  run<R>(task: (context: TaskContext) => R, options?: RunOptions): Future<Awaited<R>> {
    this.checkTask(task, 'run a task on');
    return this.schedule(task, RUN, options);
  }

  protected checkTask(task: unknown, verb: string): void {
    // The message is built only when it is needed: this is the hot path.
    if (typeof task !== 'function') checkFunction(task, `${verb} executor '${this.name}'`, verb === 'run a task on' ? 'task' : 'fn');
  }

  protected execute(item: WorkItem): unknown {
    const { task, args } = item;
    if (args === RUN) {
      // Getters: a task that never reads its signal costs no AbortController.
      return (task as (context: TaskContext) => unknown)({
        get signal() {
          return item.signal;
        },
        get attempt() {
          return item.attempt;
        },
      });
    }
    if ((args as unknown[]).length === 0) return (task as () => unknown)();
    return (task as (...values: unknown[]) => unknown)(...(args as unknown[]));
  }
}
