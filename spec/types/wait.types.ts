/** Compile-only tests of the types of wait() and asCompleted(): futures of different types mixed with promises. */
import { TaskPoolExecutor, asCompleted, wait, type Completion, type Future, type WaitResult } from '../../lib/index.js';
import { assertType, type Equal } from './type-utils.js';

interface User {
  id: number;
  name: string;
}
declare function fetchUser(id: number): Promise<User>;
declare function parsePrice(text: string): number;
declare const numbers: Future<number>[];
declare function _generic<T>(futures: Future<T>[]): Promise<WaitResult<T>>;

export async function waitTypes(pool: TaskPoolExecutor): Promise<void> {
  // Mixed futures and promises: the union, without any annotation.
  const { done: _done, notDone: _notDone } = await wait([pool.submit(fetchUser, 1), pool.submit(parsePrice, '2'), fetchUser(9)]);
  assertType<Equal<typeof _done, Set<Future<User | number>>>>();
  assertType<Equal<typeof _notDone, Set<Future<User | number>>>>();
  const _mixed = await wait([Promise.resolve('a'), pool.submit(() => 1)], { returnWhen: 'FIRST_COMPLETED', timeout: 10 });
  assertType<Equal<typeof _mixed, WaitResult<string | number>>>();

  // One type stays as it was, for arrays, sets and generic code alike.
  const _same = await wait(numbers);
  assertType<Equal<typeof _same, WaitResult<number>>>();
  const _set = await wait(new Set(numbers));
  assertType<Equal<typeof _set, WaitResult<number>>>();
  assertType<Equal<Awaited<ReturnType<typeof _generic<string>>>, WaitResult<string>>>();
  const _explicit = await wait<number>(numbers);
  assertType<Equal<typeof _explicit, WaitResult<number>>>();

  for await (const completion of asCompleted([pool.submit(fetchUser, 1), pool.submit(parsePrice, '2'), fetchUser(9)])) {
    assertType<Equal<typeof completion, Completion<User | number>>>();
    assertType<Equal<typeof completion.future, Future<User | number>>>();
    if (completion.result.ok) assertType<Equal<typeof completion.result.value, User | number>>();
  }
  for await (const { future: _future } of asCompleted(numbers, { timeout: 5 })) assertType<Equal<typeof _future, Future<number>>>();
  assertType<Equal<ReturnType<typeof asCompleted<number>>, AsyncIterableIterator<Completion<number>> & AsyncDisposable>>();

  // Anything else is refused.
  // @ts-expect-error not a future or promise
  void wait([1, 2]);
  // @ts-expect-error not a future or promise
  void wait([pool.submit(parsePrice, '1'), 'text']);
  // @ts-expect-error not a future or promise
  void asCompleted([null]);
  // @ts-expect-error not iterable
  void wait(pool.submit(parsePrice, '1'));
}
