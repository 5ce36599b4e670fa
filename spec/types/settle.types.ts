/** Compile-only tests of the types of settle and Result. */
import { err, isErr, isOk, ok, settle, type Err, type Future, type Ok, type Result, type TaskPoolExecutor } from '../../lib/index.js';
import { assertType, type Equal, type NotAny } from './type-utils.js';

declare const future: Future<number>;
declare const pool: TaskPoolExecutor;

export async function settleTypes(): Promise<void> {
  const result = await settle(future);
  assertType<Equal<typeof result, Result<number>>>();
  if (result.ok) {
    assertType<Equal<typeof result.value, number>>();
    // @ts-expect-error no error on a success
    void result.error;
  } else {
    assertType<Equal<typeof result.error, unknown>>();
    // @ts-expect-error no value on a failure
    void result.value;
  }
  if (isOk(result)) assertType<Equal<typeof result, Ok<number>>>();
  if (isErr(result)) assertType<Equal<typeof result.error, unknown>>();

  const _fromPromise = await settle(Promise.resolve('s'));
  assertType<Equal<typeof _fromPromise, Result<string>>>();
  const _fromNested = await settle(Promise.resolve(Promise.resolve(1n)));
  assertType<Equal<typeof _fromNested, Result<bigint>>>();

  const wrapped = settle(async (a: number, b: string) => a + b.length);
  assertType<Equal<typeof wrapped, (a: number, b: string) => Promise<Result<number>>>>();
  const _syncWrapped = settle((s: string) => s.length > 0);
  assertType<Equal<Awaited<ReturnType<typeof _syncWrapped>>, Result<boolean>>>();
  // @ts-expect-error the wrapped function keeps its parameter types
  void wrapped('1', 2);

  for await (const _item of pool.map(settle(async (n: number) => n * 2), [1, 2])) {
    assertType<Equal<typeof _item, Result<number>>>();
    assertType<NotAny<typeof _item>>();
  }

  // @ts-expect-error neither a thenable nor a function
  void settle(42);

  const good = ok(1);
  assertType<Equal<typeof good, Ok<number>>>();
  const bad = err(new RangeError('r'));
  assertType<Equal<typeof bad, Err<RangeError>>>();
  const typed: Result<number, RangeError> = Math.random() > 0.5 ? good : bad;
  if (!typed.ok) assertType<Equal<typeof typed.error, RangeError>>();
  const _values = [good, bad].filter(isOk).map((r) => r.value);
  assertType<Equal<typeof _values, number[]>>();
  // @ts-expect-error results are read-only
  good.value = 2;
}
