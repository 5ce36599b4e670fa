/** Compile-only tests of the types of TaskPoolExecutor: submit, run, map, shutdown, options. */
import {
  type MapResults,
  Executor,
  TaskPoolExecutor,
  type ExecutorOptions,
  type ExecutorStats,
  type Future,
  type RunOptions,
  type ShutdownOptions,
  type TaskContext,
} from '../../lib/index.js';
import { accepts, assertType, type Equal, type NotAny } from './type-utils.js';

declare const pool: TaskPoolExecutor;

export async function submitTypes(): Promise<void> {
  const _asyncIdentity = pool.submit(async (a: number) => a, 1);
  assertType<Equal<typeof _asyncIdentity, Future<number>>>();
  const _sync = pool.submit((a: number, b: string) => `${a}${b}`, 1, 'x');
  assertType<Equal<typeof _sync, Future<string>>>();
  const _nested = pool.submit(() => Promise.resolve(Promise.resolve(true)));
  assertType<Equal<typeof _nested, Future<boolean>>>();
  const _ofFuture = pool.submit(() => pool.submit(() => 'inner'));
  assertType<Equal<typeof _ofFuture, Future<string>>>();
  const _nothing = pool.submit(() => {});
  assertType<Equal<typeof _nothing, Future<void>>>();
  const _optional = pool.submit((a: number, b?: string) => b ?? a, 1);
  assertType<Equal<typeof _optional, Future<string | number>>>();
  const _rest = pool.submit((...values: number[]) => values.length, 1, 2, 3);
  assertType<Equal<typeof _rest, Future<number>>>();
  assertType<NotAny<Awaited<typeof _asyncIdentity>>>();

  // @ts-expect-error an argument of the wrong type
  pool.submit((a: number) => a, 'one');
  // @ts-expect-error a missing argument
  pool.submit((a: number) => a);
  // @ts-expect-error one argument too many
  pool.submit((a: number) => a, 1, 2);
  // @ts-expect-error not a function
  pool.submit(42);

  // Detached methods keep their types.
  const { submit, run, map, shutdown, onIdle } = pool;
  const _detached = submit((s: string) => s.length, 'abc');
  assertType<Equal<typeof _detached, Future<number>>>();
  const _ran = run(() => 1);
  assertType<Equal<typeof _ran, Future<number>>>();
  const _mapped = map((n: number) => n, [1]);
  assertType<Equal<typeof _mapped, MapResults<number>>>();
  const _shutDown = shutdown();
  assertType<Equal<typeof _shutDown, Promise<void>>>();
  const _idle = onIdle();
  assertType<Equal<typeof _idle, Promise<void>>>();
}

export function runTypes(): void {
  const _fetched = pool.run(({ signal }) => {
    assertType<Equal<typeof signal, AbortSignal>>();
    return Promise.resolve(signal.aborted);
  }, { timeout: 10, priority: 1, signal: new AbortController().signal });
  assertType<Equal<typeof _fetched, Future<boolean>>>();
  pool.run((context: TaskContext) => context.signal.reason);
  // @ts-expect-error an unknown option (excess property check)
  pool.run(() => 1, { priorty: 1 });
  // @ts-expect-error a timeout of the wrong type
  pool.run(() => 1, { timeout: '10' });
  // @ts-expect-error a signal of the wrong type
  pool.run(() => 1, { signal: 'abort' });
  // @ts-expect-error the task takes a context, not arguments
  pool.run((a: number) => a);
  accepts<RunOptions>({});
}

export async function mapTypes(): Promise<void> {
  const _one = pool.map(async (n: number) => String(n), [1, 2]);
  assertType<Equal<typeof _one, MapResults<string>>>();
  const two = pool.map((a: number, b: string) => ({ a, b }), [1, 2], ['x', 'y']);
  assertType<Equal<typeof two, MapResults<{ a: number; b: string }>>>();
  for await (const _item of two) {
    assertType<Equal<typeof _item, { a: number; b: string }>>();
  }
  const _inferred = pool.map((a, b) => a + b.length, [1], new Set(['x']));
  assertType<Equal<typeof _inferred, MapResults<number>>>();
  const _three = pool.map((a: number, b: string, c: boolean) => (c ? a : b), [1], ['b'], [true], { bufferSize: 2, ordered: false });
  assertType<Equal<typeof _three, MapResults<number | string>>>();
  async function* numbers(): AsyncGenerator<number> {
    yield 1;
  }
  const _fromAsync = pool.map((n: number) => n * 2, numbers(), { timeout: 100 });
  assertType<Equal<typeof _fromAsync, MapResults<number>>>();
  // @ts-expect-error the second iterable does not match the second parameter
  pool.map((a: number, b: string) => a + b, [1], [2]);
  // @ts-expect-error the first iterable does not match the first parameter
  pool.map((a: number) => a, ['x']);
  // @ts-expect-error an unknown map option
  pool.map((a: number) => a, [1], { buffersize: 2 });
}

export async function lifecycleTypes(): Promise<void> {
  await pool.shutdown();
  await pool.shutdown({ wait: false, cancelFutures: true });
  // @ts-expect-error an unknown shutdown option (excess property check)
  await pool.shutdown({ cancel_futures: true });
  // @ts-expect-error wait is a boolean
  await pool.shutdown({ wait: 'yes' });
  accepts<ShutdownOptions>({ wait: true });
  accepts<AsyncDisposable>(pool);
  await pool[Symbol.asyncDispose]();
  await pool.onIdle();
  const stats = pool.stats;
  assertType<Equal<typeof stats, ExecutorStats>>();
  assertType<Equal<typeof stats.pending, number>>();
  // @ts-expect-error stats are read-only
  stats.pending = 1;
  assertType<Equal<typeof pool.name, string>>();
  assertType<Equal<typeof pool.maxWorkers, number>>();
  assertType<Equal<typeof pool.isShutdown, boolean>>();
  accepts<Executor>(pool);
}

export function optionTypes(): void {
  new TaskPoolExecutor();
  new TaskPoolExecutor({});
  new TaskPoolExecutor({ maxWorkers: 4, name: 'fetchers', taskTimeout: 1_000 });
  // @ts-expect-error an unknown option (excess property check)
  new TaskPoolExecutor({ maxWorker: 4 });
  // @ts-expect-error maxWorkers is a number
  new TaskPoolExecutor({ maxWorkers: '4' });
  // @ts-expect-error name is a string
  new TaskPoolExecutor({ name: 1 });
  accepts<ExecutorOptions>({ taskTimeout: 5 });
  // @ts-expect-error Executor is abstract
  new Executor({}, 1);
}

export async function awaitUsingTypes(): Promise<void> {
  await using scoped = new TaskPoolExecutor({ maxWorkers: 2 });
  const _future = scoped.submit(() => 1);
  assertType<Equal<typeof _future, Future<number>>>();
}
