import { Executor, type ExecutorOptions, type RunOptions } from './executor.js';
import type { Future } from './future.js';
import { mapIterables, splitMapArguments, type AnyIterable, type MapOptions, type MapResults } from './map.js';
import { builtinModule } from './internal/runtime.js';
import { checkFunction } from './internal/validate.js';

/**
 * What `run()` hands to its task.
 *
 * @example
 * ```ts
 * pool.run(({ signal }) => fetch(url, { signal }));
 * ```
 */
export interface TaskContext {
  /** Aborts when the task is cancelled or times out: pass it on to whatever the task awaits. */
  readonly signal: AbortSignal;
}

/** The arguments of every task submitted without any: one shared array, never written to. */
const NO_ARGS: unknown[] = [];

/** Marks a future made by `run()`: its task takes a {@link TaskContext}, not arguments. */
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
export class TaskPoolExecutor extends Executor {
  /**
   * @param options - `{ maxWorkers, name, taskTimeout }`.
   * @throws {RangeError} `maxWorkers` not a positive integer, a negative `taskTimeout`.
   * @throws {TypeError} an option of the wrong type, or an unknown option.
   */
  constructor(options?: ExecutorOptions) {
    super(options, defaultMaxWorkers());
  }

  /**
   * Schedules `fn(...args)` and returns its future, as Python's `submit`. `fn` may be sync or
   * async; a synchronous throw becomes a rejected future, never a throw from `submit`. The
   * task starts at once when a slot is free, otherwise when one frees, in submission order.
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
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    // The message is built only when it is needed: this is the hot path.
    if (typeof fn !== 'function') checkFunction(fn, `submit to executor '${this.name}'`, 'fn');
    return this.schedule(fn, args.length === 0 ? NO_ARGS : args);
  }

  /**
   * Schedules `task({ signal })` with per-task options: the primitive under `submit`.
   * An aborted `options.signal` (already aborted included) cancels the future; `timeout` ms
   * after the task starts, its signal aborts with a {@link TimeoutError} and the future
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
    if (typeof task !== 'function') checkFunction(task, `run a task on executor '${this.name}'`, 'task');
    return this.schedule(task, RUN, options);
  }

  /**
   * Maps `fn` over one or more iterables (zipped, shortest wins), as Python's
   * `Executor.map`, and yields the results **in input order** (`ordered: false`: as they
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
   * for await (const page of pool.map(fetchPage, urls(), { bufferSize: 16 })) save(page);
   * for await (const sum of pool.map((a: number, b: number) => a + b, [1, 2], [10, 20])) console.log(sum);
   * ```
   */
  map<T1, R>(fn: (a: T1) => R, iterable: AnyIterable<T1>, options?: MapOptions): MapResults<Awaited<R>>;
  map<T1, T2, R>(fn: (a: T1, b: T2) => R, iterable1: AnyIterable<T1>, iterable2: AnyIterable<T2>, options?: MapOptions): MapResults<Awaited<R>>;
  map<T1, T2, T3, R>(
    fn: (a: T1, b: T2, c: T3) => R,
    iterable1: AnyIterable<T1>,
    iterable2: AnyIterable<T2>,
    iterable3: AnyIterable<T3>,
    options?: MapOptions,
  ): MapResults<Awaited<R>>;
  map<A extends unknown[], R>(fn: (...args: A) => R, ...iterables: IterablesOf<A> | [...IterablesOf<A>, MapOptions]): MapResults<Awaited<R>>;
  map(fn: (...args: unknown[]) => unknown, ...rest: unknown[]): MapResults<unknown> {
    const action = `map over executor '${this.name}'`;
    checkFunction(fn, action, 'fn');
    const { iterables, options } = splitMapArguments(rest, action);
    return mapIterables((values) => this.schedule(fn, values), iterables, options, action, () => this.assertOpen());
  }

  protected execute(task: unknown, args: unknown, future: Future<unknown>): unknown {
    // A getter: a task that never reads its signal costs no AbortController.
    if (args === NO_ARGS) return (task as () => unknown)();
    if (args === RUN) {
      return (task as (context: TaskContext) => unknown)({
        get signal() {
          return future.signal;
        },
      });
    }
    return (task as (...values: unknown[]) => unknown)(...(args as unknown[]));
  }
}
