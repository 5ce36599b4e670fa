/** Compile-only tests of the types of Future, Future.from and the errors. */
import { CancelledError, Future, FutureState, type DoneCallback } from '../../lib/index.js';
import { accepts, assertType, type Equal, type NotAny } from './type-utils.js';

declare const future: Future<number>;
declare const text: Future<string>;

export async function futureTypes(): Promise<void> {
  // await, result() and then() give the value type; exception() gives unknown, never any.
  assertType<Equal<Awaited<typeof future>, number>>();
  assertType<Equal<ReturnType<typeof future.result>, Promise<number>>>();
  assertType<Equal<ReturnType<typeof future.exception>, Promise<unknown>>>();
  assertType<Equal<Awaited<ReturnType<typeof future.exception>>, unknown>>();
  assertType<Equal<typeof future.state, FutureState>>();
  assertType<Equal<FutureState, 'pending' | 'running' | 'fulfilled' | 'rejected' | 'cancelled'>>();
  assertType<Equal<typeof future.signal, AbortSignal>>();
  assertType<Equal<ReturnType<typeof future.cancel>, boolean>>();
  const _value = await future;
  assertType<Equal<typeof _value, number>>();
  const _mapped = await future.then((n) => String(n));
  assertType<Equal<typeof _mapped, string>>();
  const _both = await future.then(
    (n) => n,
    (_error) => {
      assertType<Equal<typeof _error, unknown>>();
      return 'fallback' as const;
    },
  );
  assertType<Equal<typeof _both, number | 'fallback'>>();
  const _caught = await future.catch(() => null);
  assertType<Equal<typeof _caught, number | null>>();
  const _finished = await future.finally(() => undefined);
  assertType<Equal<typeof _finished, number>>();

  // Promise combinators see futures as the values they hold.
  const _all = await Promise.all([future, text]);
  assertType<Equal<typeof _all, [number, string]>>();
  const _race = await Promise.race([future, text]);
  assertType<Equal<typeof _race, number | string>>();
  const _any = await Promise.any([future, text]);
  assertType<Equal<typeof _any, number | string>>();
  const _settled = await Promise.allSettled([future, text]);
  assertType<Equal<typeof _settled, [PromiseSettledResult<number>, PromiseSettledResult<string>]>>();
  accepts<PromiseLike<number>>(future);

  // Covariance: a Future<number> is a Future<unknown>, not a Future<string>.
  const widened: Future<unknown> = future;
  const union: Future<number | string> = future;
  void widened;
  void union;
  // @ts-expect-error a Future<number> is not a Future<string>
  const wrong: Future<string> = future;
  void wrong;

  // addDoneCallback gets the future itself.
  future.addDoneCallback((_settledFuture) => {
    assertType<Equal<typeof _settledFuture, Future<number>>>();
  });
  const callback: DoneCallback<unknown> = () => {};
  future.addDoneCallback(callback);
  // @ts-expect-error the callback must be a function
  future.addDoneCallback('nope');
  // @ts-expect-error a callback for another value type
  future.addDoneCallback((f: Future<string>) => f);

  // Future.from keeps the value type and returns futures as they are.
  const _fromPromise = Future.from(Promise.resolve(1));
  assertType<Equal<typeof _fromPromise, Future<number>>>();
  const _fromNested = Future.from(Promise.resolve(Promise.resolve('s')));
  assertType<Equal<typeof _fromNested, Future<string>>>();
  const _fromFuture = Future.from(future);
  assertType<Equal<typeof _fromFuture, Future<number>>>();
  // @ts-expect-error not a thenable
  Future.from(42);
  // @ts-expect-error futures are made by executors and Future.from only
  new Future<number>();

  // result/exception take only a number of milliseconds.
  // @ts-expect-error a string timeout
  void future.result('10');
  void future.result(undefined);

  // Errors take ErrorOptions.
  const _error = new CancelledError('stopped', { cause: new Error('why') });
  assertType<NotAny<typeof _error.cause>>();
  accepts<Error>(_error);
}
