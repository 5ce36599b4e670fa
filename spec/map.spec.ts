import { expect } from 'chai';
import fc from 'fast-check';
import { CancelledError, ExecutorShutdownError, Future, TimeoutError, isErr, isOk, settle, type Result, type TaskPoolExecutor } from '../lib/index.js';
import type { AnyIterable, MapResults, MapOptions } from '../lib/map.js';
import { mapIterables } from '../lib/map-futures.js';
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cleanupWorkerPools, workerPool } from './fixtures/worker/harness.js';
import { flush, gate, instrumented, liveTimersAfter, pool, type Gate } from './helpers.js';
import { FakeClock } from './reliability/clock.js';

type Drained<T> = { values: T[]; threw: boolean; error?: unknown };

/** Reads an iterator to its end; an error ends the reading and is returned, not thrown. */
async function drain<T>(iterator: AsyncIterator<T>): Promise<Drained<T>> {
  const values: T[] = [];
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done) return { values, threw: false };
      values.push(step.value);
    }
  } catch (error) {
    return { values, threw: true, error };
  }
}

/** What a promise settles to, as data (so that falsy rejections can be told apart). */
async function outcome<T>(promise: Promise<T>): Promise<Result<T>> {
  return settle(promise);
}

/** `map` over `executor.submit(fn)` that records every future it submits. */
function recorded<R>(executor: TaskPoolExecutor, fn: (...args: never[]) => R) {
  const futures: Future<Awaited<R>>[] = [];
  const submit = (values: unknown[]): Future<Awaited<R>> => {
    const future = executor.submit(fn as (...args: unknown[]) => R, ...values);
    futures.push(future);
    return future;
  };
  return {
    futures,
    map: (iterables: AnyIterable<unknown>[], options?: MapOptions): MapResults<Awaited<R>> =>
      mapIterables(submit, iterables, options, "map over executor 'recorded'"),
  };
}

/** A sync iterator over 0, 1, 2, … (endless unless `length`), recording what happened to it. */
function counting(length = Infinity) {
  const state = { pulled: 0, returned: 0, finished: false };
  function* generate(): Generator<number> {
    try {
      for (let i = 0; i < length; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.finished = true;
    }
  }
  const iterator = generate();
  const originalReturn = iterator.return.bind(iterator);
  iterator.return = (value) => {
    state.returned++;
    return originalReturn(value);
  };
  return { iterator, state };
}

/** An AbortSignal that counts its 'abort' listeners. */
function spySignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const counts = { added: 0, removed: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
    counts.added++;
    add(...args);
  }) as AbortSignal['addEventListener'];
  signal.removeEventListener = ((...args: Parameters<AbortSignal['removeEventListener']>) => {
    counts.removed++;
    remove(...args);
  }) as AbortSignal['removeEventListener'];
  return { controller, signal, counts };
}

/** A task that never settles. */
function never(): Promise<never> {
  return new Promise<never>(() => {});
}

describe('map', () => {
  describe('order and inputs', () => {
    it('yields results in input order over an array', async () => {
      const executor = pool({ maxWorkers: 4 });
      const task = instrumented();
      const results = drain(executor.map(task.fn, [0, 1, 2, 3]));
      await flush();
      for (const id of [3, 1, 2, 0]) {
        task.release(id, id * 10);
        await flush();
      }
      expect(await results).to.deep.equal({ values: [0, 10, 20, 30], threw: false });
    });

    it('yields in completion order with ordered: false', async () => {
      const executor = pool({ maxWorkers: 4 });
      const task = instrumented();
      const results = drain(executor.map(task.fn, [0, 1, 2, 3], { ordered: false }));
      await flush();
      for (const id of [2, 0, 3, 1]) {
        task.release(id);
        await flush();
      }
      expect(await results).to.deep.equal({ values: [2, 0, 3, 1], threw: false });
    });

    it('zips several iterables: the shortest wins and the others are closed with return()', async () => {
      const executor = pool();
      const long = counting();
      const medium = counting(5);
      const results = await drain(executor.map((a: number, b: string, c: number) => `${a}${b}${c}`, long.iterator, ['x', 'y', 'z'], medium.iterator));
      expect(results.values).to.deep.equal(['0x0', '1y1', '2z2']);
      expect(long.state).to.deep.include({ returned: 1, finished: true, pulled: 4 });
      expect(medium.state).to.deep.include({ returned: 1, finished: true, pulled: 3 });
    });

    it('does not close the input that ended', async () => {
      const executor = pool();
      const short = counting(2);
      const long = counting();
      await drain(executor.map((a: number, b: number) => a + b, short.iterator, long.iterator));
      expect(short.state).to.deep.include({ returned: 0, finished: true });
      expect(long.state).to.deep.include({ returned: 1, finished: true });
    });

    it('mixes sync and async iterables', async () => {
      const executor = pool();
      async function* tens(): AsyncGenerator<number> {
        for (let i = 1; i <= 4; i++) {
          await null;
          yield i * 10;
        }
      }
      const results = await drain(executor.map((a: number, b: number) => a + b, [1, 2, 3], tens()));
      expect(results).to.deep.equal({ values: [11, 22, 33], threw: false });
    });

    it('reads an async generator input, one input after the other as zip does', async () => {
      const executor = pool();
      const order: string[] = [];
      async function* source(name: string, length: number): AsyncGenerator<string> {
        for (let i = 0; i < length; i++) {
          order.push(`${name}${i}`);
          await flush(1);
          yield `${name}${i}`;
        }
      }
      const results = await drain(executor.map(async (a: string, b: string) => a + b, source('a', 2), source('b', 3)));
      expect(results.values).to.deep.equal(['a0b0', 'a1b1']);
      // 'b' is not read once 'a' has ended.
      expect(order).to.deep.equal(['a0', 'b0', 'a1', 'b1']);
    });

    it('processes an infinite generator in bounded memory with bufferSize', async () => {
      const executor = pool({ maxWorkers: 2 });
      const input = counting();
      const seen: number[] = [];
      for await (const value of executor.map(async (n: number) => n * n, input.iterator, { bufferSize: 3 })) {
        seen.push(value);
        if (seen.length === 10) break;
      }
      expect(seen).to.deep.equal([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
      expect(input.state.pulled).to.be.at.most(13);
      expect(input.state.finished).to.equal(true);
    });

    it('reads an input that is both iterable and async iterable asynchronously, as for await', async () => {
      const executor = pool();
      const both = {
        *[Symbol.iterator]() {
          yield 'sync';
        },
        async *[Symbol.asyncIterator]() {
          yield 'async';
        },
      };
      expect((await drain(executor.map((x: string) => x, both))).values).to.deep.equal(['async']);
    });

    it('accepts iterators without return() and options given as undefined', async () => {
      const executor = pool();
      let i = 0;
      const bare: Iterable<number> = { [Symbol.iterator]: () => ({ next: () => (i < 3 ? { done: false, value: i++ } : { done: true, value: undefined }) }) };
      const asyncBare: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false, value: 1 }) }),
      };
      expect((await drain(executor.map((a: number, b: number) => a + b, bare, asyncBare, undefined))).values).to.deep.equal([1, 2, 3]);
    });

    it('serves concurrent next() calls in order', async () => {
      const executor = pool();
      const task = instrumented();
      const iterator = executor.map(task.fn, [0, 1]);
      const steps = [iterator.next(), iterator.next(), iterator.next()];
      await flush();
      task.release(1);
      task.release(0);
      expect(await Promise.all(steps)).to.deep.equal([
        { done: false, value: 0 },
        { done: false, value: 1 },
        { done: true, value: undefined },
      ]);
    });

    it('works detached from its executor', async () => {
      const { map } = pool();
      expect((await drain(map((x: number) => x + 1, [1, 2]))).values).to.deep.equal([2, 3]);
    });

    it('is its own async iterator and says what it is', () => {
      const iterator = pool().map((x: number) => x, [1]);
      expect(iterator[Symbol.asyncIterator]()).to.equal(iterator);
      expect(Object.prototype.toString.call(iterator)).to.equal('[object MapResults]');
    });

    it('yields Result values and never stops with settle(fn)', async () => {
      const executor = pool();
      const error = new Error('odd');
      const fn = settle(async (n: number) => {
        if (n % 2 === 1) throw error;
        return n;
      });
      const results = await drain(executor.map(fn, [0, 1, 2, 3]));
      expect(results.threw).to.equal(false);
      expect(results.values.map((result) => (isOk(result) ? result.value : result.error))).to.deep.equal([0, error, 2, error]);
      expect(results.values.filter(isErr)).to.have.length(2);
    });
  });

  describe('a plain array, read by index as its own iterator would', () => {
    /** Every property read of `target` through a proxy, as `get:key` (symbols by description). */
    function logged<T extends object>(target: T): { proxy: T; log: string[] } {
      const log: string[] = [];
      const proxy = new Proxy(target, {
        get(object, key, receiver) {
          log.push(`get:${typeof key === 'symbol' ? key.description : key}`);
          return Reflect.get(object, key, receiver) as unknown;
        },
      });
      return { proxy, log };
    }

    it('reads what for...of reads, in the same order, through a proxy', async () => {
      const expected = logged([1, 2, 3]);
      for (const _ of expected.proxy);
      const input = logged([1, 2, 3]);
      expect((await drain(pool().map((x: number) => x * 2, input.proxy))).values).to.deep.equal([2, 4, 6]);
      // Once the map has told what kind of input it is: the reads of the elements.
      const reads = (log: string[]): string[] => log.slice(log.indexOf('get:length'));
      expect(reads(input.log)).to.deep.equal(reads(expected.log)).and.to.have.length(7);
    });

    it('reads elements added while it reads, and gives holes as undefined', async () => {
      const input: number[] = [0, 1];
      Object.defineProperty(input, 1, { get: () => (input.push(input.length), 1), enumerable: true, configurable: true });
      const holes = [1, , 3]; // eslint-disable-line no-sparse-arrays
      const executor = pool();
      expect((await drain(executor.map((x: number) => x, input))).values).to.deep.equal([0, 1, 2]);
      expect((await drain(executor.map((x: number | undefined) => x, holes))).values).to.deep.equal([1, undefined, 3]);
    });

    it('yields what came before an element that throws, then throws its error', async () => {
      const error = new Error('element broke');
      const input = [1, 2, 3];
      Object.defineProperty(input, 2, {
        get: () => {
          throw error;
        },
      });
      expect(await drain(pool().map((x: number) => x * 10, input))).to.deep.equal({ values: [10, 20], threw: true, error });
    });

    it('stops at an element that aborts the map: that element is submitted and cancelled, the next never read', async () => {
      const executor = pool();
      const controller = new AbortController();
      const reason = new Error('from the input');
      const input = [1, 2, 3];
      const read: number[] = [];
      for (const index of [0, 1, 2]) {
        Object.defineProperty(input, index, {
          get: () => {
            read.push(index);
            if (index === 1) controller.abort(reason);
            return index;
          },
        });
      }
      let calls = 0;
      const iterator = executor.map(() => calls++, input, { signal: controller.signal });
      // As over a generator (see 'stops reading an input that aborts the signal while it is being read').
      expect(read).to.deep.equal([0, 1]);
      expect(executor.stats).to.include({ cancelled: 1, pending: 0 });
      expect(calls).to.equal(0);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: reason });
    });

    it('keeps neither the array nor an ended input once read, while the results are still being read', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const inputs: WeakRef<number[]>[] = [];
      function* each(array: number[]): Generator<number> {
        yield* array;
      }
      // The arrays live in their own call, so that no local of this test holds them. The
      // generator, once done, still holds its argument: the map must let go of the generator.
      const start = (): MapResults<unknown>[] => {
        const arrays = [0, 1, 2].map(() => Array.from({ length: 100 }, (_, index) => index));
        inputs.push(...arrays.map((array) => new WeakRef(array)));
        return [executor.map(task.fn, arrays[0]!), executor.map(task.fn, each(arrays[1]!)), executor.map(task.fn, each(arrays[2]!), { bufferSize: 200 })];
      };
      const results = start();
      await flush();
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      gc();
      await flush(1);
      expect(inputs.map((input) => input.deref() === undefined)).to.deep.equal([true, true, true]);
      for (const map of results) await map[Symbol.asyncDispose]();
    });

    it("uses an iterator of its own instead, or a subclass's", async () => {
      const executor = pool();
      const reversed = [1, 2, 3];
      reversed[Symbol.iterator] = function* () {
        yield* [3, 2, 1];
      } as () => ArrayIterator<number>;
      expect((await drain(executor.map((x: number) => x, reversed))).values).to.deep.equal([3, 2, 1]);
      class Evens extends Array<number> {
        override *[Symbol.iterator](): ArrayIterator<number> {
          for (let index = 0; index < this.length; index += 2) yield this[index]!;
        }
      }
      expect((await drain(executor.map((x: number) => x, Evens.from([0, 1, 2, 3, 4])))).values).to.deep.equal([0, 2, 4]);
    });
  });

  describe('bufferSize', () => {
    /** Maps fast tasks while consuming slowly; returns the results and max(calls of fn − yields). */
    async function boundOf(input: AnyIterable<number>, options: MapOptions, fn: (n: number) => unknown) {
      const executor = pool({ maxWorkers: 8 });
      let calls = 0;
      let yields = 0;
      let max = 0;
      const counted = (n: number): unknown => {
        calls++;
        max = Math.max(max, calls - yields);
        return fn(n);
      };
      const values: unknown[] = [];
      const iterator = executor.map(counted, input, options);
      await flush();
      for await (const value of iterator) {
        yields++;
        values.push(value);
        await flush(2);
      }
      return { values, max };
    }

    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    async function* asyncRange(n: number): AsyncGenerator<number> {
      for (let i = 0; i < n; i++) yield i;
    }

    it('never has more than bufferSize submitted and not yet yielded (sync input, async tasks)', async () => {
      const { values, max } = await boundOf(range(12), { bufferSize: 3 }, async (n) => n);
      expect(values).to.deep.equal(range(12));
      expect(max).to.equal(3);
    });

    it('holds the bound with tasks that settle synchronously', async () => {
      const { values, max } = await boundOf(range(12), { bufferSize: 4 }, (n) => n);
      expect(values).to.deep.equal(range(12));
      expect(max).to.equal(4);
    });

    it('holds the bound with an async input', async () => {
      const { values, max } = await boundOf(asyncRange(12), { bufferSize: 3 }, async (n) => n);
      expect(values).to.deep.equal(range(12));
      expect(max).to.equal(3);
    });

    it('holds the bound unordered', async () => {
      const { values, max } = await boundOf(asyncRange(12), { bufferSize: 2, ordered: false }, async (n) => n);
      expect([...values].sort((a, b) => (a as number) - (b as number))).to.deep.equal(range(12));
      expect(max).to.equal(2);
    });

    it('with bufferSize 1 runs one task at a time', async () => {
      const { values, max } = await boundOf(range(5), { bufferSize: 1 }, async (n) => n);
      expect(values).to.deep.equal(range(5));
      expect(max).to.equal(1);
    });

    it('submits only bufferSize tasks at call time', () => {
      const executor = pool({ maxWorkers: 1 });
      const input = counting(10);
      executor.map(never, input.iterator, { bufferSize: 3 });
      expect(input.state.pulled).to.equal(3);
      expect(executor.stats).to.deep.include({ running: 1, pending: 2 });
    });

    it('without bufferSize consumes sync iterables and submits every task at call time', async () => {
      const executor = pool({ maxWorkers: 2 });
      const input = counting(6);
      let calls = 0;
      executor.map(
        (n: number) => {
          calls++;
          return never().then(() => n);
        },
        input.iterator,
      );
      expect(input.state).to.deep.include({ pulled: 6, finished: true });
      expect(executor.stats).to.deep.include({ running: 2, pending: 4 });
      await flush();
      expect(calls).to.equal(2);
    });

    it('keeps order and the bound for any completion order (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 10 }),
          fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          fc.integer({ min: 1, max: 4 }),
          fc.boolean(),
          fc.option(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 10, maxLength: 10 }), { nil: undefined }),
          fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
          async (length, bufferSize, maxWorkers, ordered, delays, picks) => {
            const executor = pool({ maxWorkers });
            const gates = new Map<number, Gate<number>>();
            let submitted = 0;
            let yields = 0;
            let max = 0;
            const fn = (n: number): Promise<number> => {
              const g = gate<number>();
              gates.set(n, g);
              return g.promise;
            };
            const submit = (values: unknown[]): Future<number> => {
              submitted++;
              max = Math.max(max, submitted - yields);
              return executor.submit(fn, values[0] as number);
            };
            const inputs = Array.from({ length }, (_, i) => i);
            // An async input waits a few microtasks before each item when `delays` is given.
            async function* slowly(): AsyncGenerator<number> {
              for (const i of inputs) {
                for (let turn = 0; turn < delays![i]!; turn++) await null;
                yield i;
              }
            }
            const released: number[] = [];
            const values: number[] = [];
            let finished = false;
            const consumer = (async () => {
              for await (const value of mapIterables(submit, [delays === undefined ? inputs : slowly()], { bufferSize, ordered }, 'map')) {
                yields++;
                values.push(value);
              }
              finished = true;
            })();
            let turn = 0;
            while (!finished) {
              await flush(1);
              const open = [...gates.keys()].filter((n) => !released.includes(n));
              if (open.length === 0) continue;
              const n = open[picks[turn++ % picks.length]! % open.length]!;
              released.push(n);
              gates.get(n)!.resolve(n);
            }
            await consumer;
            await executor.shutdown();
            expect(values).to.deep.equal(ordered ? inputs : released);
            if (delays === undefined) expect(max).to.equal(Math.min(bufferSize ?? Infinity, length));
            else expect(max).to.be.at.most(bufferSize ?? Infinity);
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe('errors and stopping', () => {
    it('throws an error at its position, after the results before it, and cancels every outstanding future', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const { futures, map } = recorded(executor, task.fn);
      const iterator = map([[0, 1, 2, 3, 4]]);
      await flush();
      const error = new Error('task 1 failed');
      task.fail(1, error);
      await flush();
      expect(task.started).to.deep.equal([0, 1, 2]);
      const first = iterator.next();
      task.release(0);
      expect(await first).to.deep.equal({ done: false, value: 0 });
      await flush();
      expect(task.started).to.deep.equal([0, 1, 2, 3]);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error });
      expect(futures.map((future) => future.state)).to.deep.equal(['fulfilled', 'rejected', 'cancelled', 'cancelled', 'cancelled']);
      task.release(2);
      task.release(3);
      await flush();
      expect(task.started).to.deep.equal([0, 1, 2, 3]);
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 3 });
    });

    it('throws an error as soon as it happens with ordered: false, and cancels the rest', async () => {
      const executor = pool({ maxWorkers: 3 });
      const task = instrumented();
      const { futures, map } = recorded(executor, task.fn);
      const results = drain(map([[0, 1, 2, 3]], { ordered: false }));
      await flush();
      task.release(2);
      await flush();
      task.fail(1, 0);
      expect(await results).to.deep.equal({ values: [2], threw: true, error: 0 });
      // Task 3 started when task 2 freed its slot; it was cancelled while running.
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'rejected', 'fulfilled', 'cancelled']);
    });

    it('surfaces a synchronous throw of fn, falsy values included', async () => {
      const executor = pool();
      const error = new Error('sync');
      const fn = (n: number): number => {
        if (n === 1) throw error;
        if (n === 3) throw undefined;
        return n;
      };
      expect(await drain(executor.map(fn, [0, 1, 2]))).to.deep.equal({ values: [0], threw: true, error });
      const falsy = await drain(executor.map(fn, [2, 3, 4]));
      expect(falsy).to.deep.equal({ values: [2], threw: true, error: undefined });
      expect(await drain(executor.map(() => Promise.reject(0), [1]))).to.deep.equal({ values: [], threw: true, error: 0 });
    });

    it('cancels the rest on break', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const { futures, map } = recorded(executor, task.fn);
      const iterator = map([[0, 1, 2, 3]]);
      await flush();
      task.release(0);
      for await (const value of iterator) {
        expect(value).to.equal(0);
        break;
      }
      expect(futures.map((future) => future.state)).to.deep.equal(['fulfilled', 'cancelled', 'cancelled', 'cancelled']);
      task.release(1);
      task.release(2);
      await flush();
      // Task 3 was still queued: it never starts.
      expect(task.started).to.deep.equal([0, 1, 2]);
      expect(executor.stats).to.deep.include({ pending: 0, running: 0, cancelled: 3 });
    });

    it('return() while a next() is waiting ends that next() and cancels the rest', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const { futures, map } = recorded(executor, task.fn);
      const iterator = map([[0, 1, 2]]);
      const waiting = iterator.next();
      await flush();
      const returning = iterator.return!('bye');
      expect(futures.every((future) => future.cancelled())).to.equal(true);
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
      expect(await returning).to.deep.equal({ done: true, value: 'bye' });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
      expect(task.started).to.deep.equal([0, 1]);
    });

    it('return() before the first next() cancels everything and closes the inputs', async () => {
      const executor = pool({ maxWorkers: 1 });
      const input = counting();
      const { futures, map } = recorded(executor, never);
      const iterator = map([input.iterator], { bufferSize: 2 });
      expect(futures).to.have.length(2);
      expect(await iterator.return!()).to.deep.equal({ done: true, value: undefined });
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'cancelled']);
      expect(input.state.finished).to.equal(true);
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
      expect(executor.stats).to.deep.include({ pending: 0, cancelled: 2 });
    });

    it('return() while an async input is being read drops the item being read', async () => {
      const executor = pool();
      const item = gate<IteratorResult<number>>();
      let returned = 0;
      const input: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => item.promise,
          return: async () => {
            returned++;
            return { done: true, value: undefined };
          },
        }),
      };
      let calls = 0;
      const iterator = executor.map(() => calls++, input);
      const waiting = iterator.next();
      await flush();
      await iterator.return!();
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
      expect(returned).to.equal(1);
      item.resolve({ done: false, value: 1 });
      await flush();
      expect(calls).to.equal(0);
    });

    it('submits nothing for an item that arrives in the same turn as return()', async () => {
      const executor = pool();
      const item = gate<IteratorResult<number>>();
      const input: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => item.promise }) };
      const { futures, map } = recorded(executor, (n: number) => n);
      const iterator = map([input]);
      await flush();
      item.resolve({ done: false, value: 1 });
      // In the same turn: before the read resumes with the item.
      void iterator.return!();
      await flush();
      expect(futures).to.have.length(0);
    });

    it('ignores an input that fails after the map has stopped, and one that fails to close', async () => {
      const executor = pool();
      const item = gate<IteratorResult<number>>();
      const input: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => item.promise,
          return: () => Promise.reject(new Error('cannot close')),
        }),
      };
      const throwing: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => ({ done: false, value: 1 }),
          return: () => {
            throw new Error('cannot close either');
          },
        }),
      };
      const iterator = executor.map((a: number, b: number) => a + b, input, throwing);
      const waiting = iterator.next();
      await flush();
      await iterator.return!();
      item.reject(new Error('too late'));
      await flush();
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
    });

    it('disposes of the iterator with await using', async () => {
      const executor = pool({ maxWorkers: 1 });
      const input = counting();
      const { futures, map } = recorded(executor, never);
      {
        await using results = map([input.iterator], { bufferSize: 2 });
        void results;
      }
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'cancelled']);
      expect(input.state.finished).to.equal(true);
      // The executor's only slot stays taken by the cancelled task that never settles.
      await using mapped = pool().map((x: number) => x, [1]) as MapResults<number>;
      expect((await mapped.next()).value).to.equal(1);
    });

    it('throw() cancels the rest and rejects with the error', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, never);
      const iterator = map([[1, 2]]);
      const error = new Error('stop');
      expect(await outcome(iterator.throw!(error))).to.deep.equal({ ok: false, error });
      expect(futures.every((future) => future.cancelled())).to.equal(true);
    });

    it('throws an error from the consumer loop after cancelling the rest', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, (n: number) => (n === 0 ? n : never()));
      const error = new Error('consumer');
      const loop = async (): Promise<void> => {
        for await (const value of map([[0, 1, 2]])) {
          void value;
          throw error;
        }
      };
      expect(await outcome(loop())).to.deep.equal({ ok: false, error });
      expect(futures.map((future) => future.state)).to.deep.equal(['fulfilled', 'cancelled', 'cancelled']);
    });

    it('throws CancelledError when its executor cancels its futures', async () => {
      const executor = pool({ maxWorkers: 1 });
      executor.submit(never);
      const iterator = executor.map(never, [1, 2]);
      await executor.shutdown({ wait: false, cancelFutures: true });
      const result = await outcome(iterator.next());
      expect(isErr(result) && result.error).to.be.instanceOf(CancelledError);
    });
  });

  describe('failing inputs', () => {
    it('yields the results before a sync input throws, then throws its error and closes the other inputs', async () => {
      const executor = pool();
      const error = new Error('input broke');
      function* broken(): Generator<number> {
        yield 1;
        yield 2;
        throw error;
      }
      const other = counting();
      const results = await drain(executor.map((a: number, b: number) => a * 10 + b, broken(), other.iterator));
      expect(results).to.deep.equal({ values: [10, 21], threw: true, error });
      expect(other.state).to.deep.include({ returned: 1, finished: true });
    });

    it('does not close the sync input that threw, and closes the earlier ones', async () => {
      const executor = pool();
      const first = counting();
      let returned = 0;
      const broken: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => {
            throw 0;
          },
          return: () => {
            returned++;
            return { done: true, value: undefined };
          },
        }),
      };
      expect(await drain(executor.map((a: number, b: number) => a + b, first.iterator, broken))).to.deep.equal({ values: [], threw: true, error: 0 });
      expect(first.state.returned).to.equal(1);
      expect(returned).to.equal(0);
    });

    it('yields the results before an async input rejects, then throws its error', async () => {
      const executor = pool();
      async function* broken(): AsyncGenerator<number> {
        yield 1;
        await null;
        yield 2;
        throw undefined;
      }
      expect(await drain(executor.map(async (n: number) => n * 2, broken(), [7, 8, 9]))).to.deep.equal({ values: [2, 4], threw: true, error: undefined });
    });

    it('treats a malformed step of an async input as its error', async () => {
      const executor = pool();
      const malformed: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: async () => undefined as never }) };
      const result = await drain(executor.map((n: number) => n, malformed));
      expect(result.threw).to.equal(true);
      expect(result.error).to.be.instanceOf(TypeError);
    });

    it('throws a TypeError naming the input whose next() gives a non-object, after the results before it', async () => {
      const executor = pool();
      let i = 0;
      const sync: Iterable<number> = { [Symbol.iterator]: () => ({ next: () => (i < 2 ? { done: false, value: i++ } : (7 as never)) }) };
      const syncResult = await drain(executor.map((n: number) => n, sync));
      expect(syncResult.values).to.deep.equal([0, 1]);
      expect(syncResult.error).to.be.instanceOf(TypeError);
      expect((syncResult.error as Error).message).to.equal(
        "Cannot map over executor '" + executor.name + "' as 'iterables[0].next()' must be an object: current value is 7",
      );
      const closed = counting();
      const asyncInput: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: async () => 'step' as never }) };
      const asyncResult = await drain(executor.map((a: number, b: number) => a + b, closed.iterator, asyncInput));
      expect(asyncResult.values).to.deep.equal([]);
      expect(asyncResult.error).to.be.instanceOf(TypeError);
      expect((asyncResult.error as Error).message).to.match(/'iterables\[1\]\.next\(\)' must be an object: current value is "step"$/);
      expect(closed.state.returned).to.equal(1);
      expect((await drain(executor.map((n: number) => n, { [Symbol.iterator]: () => ({ next: () => null as never }) }))).error).to.be.instanceOf(TypeError);
    });

    it('throws the error of an input that fails at call time after nothing was yielded', async () => {
      const executor = pool();
      const error = new Error('at once');
      const broken: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => {
            throw error;
          },
        }),
      };
      const iterator = executor.map((n: number) => n, broken);
      expect(await drain(iterator)).to.deep.equal({ values: [], threw: true, error });
    });
  });

  describe('calls in order', () => {
    it('hands out results that are ready at once, even when return() follows in the same turn', async () => {
      const iterator = pool().map((n: number) => n * 2, [1, 2, 3]);
      await flush();
      const first = iterator.next();
      const second = iterator.next();
      const returned = iterator.return!('stop');
      expect(await first).to.deep.equal({ done: false, value: 2 });
      expect(await second).to.deep.equal({ done: false, value: 4 });
      expect(await returned).to.deep.equal({ done: true, value: 'stop' });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('settles next, return(value) and a later next in the order they were called', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const iterator = executor.map(task.fn, [0, 1]);
      await flush();
      const order: string[] = [];
      const record = (label: string, promise: Promise<IteratorResult<number>>): Promise<void> =>
        promise.then((step) => void order.push(`${label}: ${String(step.value)} ${step.done}`));
      const waiting = record('next', iterator.next());
      const value = gate<string>();
      const returning = record('return', iterator.return!(value.promise));
      const after = record('after', iterator.next());
      await flush();
      // The waiting next() has ended; return() waits for its value, and the next() after it waits for return().
      expect(order).to.deep.equal(['next: undefined true']);
      value.resolve('bye');
      await Promise.all([waiting, returning, after]);
      expect(order).to.deep.equal(['next: undefined true', 'return: bye true', 'after: undefined true']);
      expect(task.started).to.deep.equal([0]);
    });

    it('rejects return(value) when value rejects, and ends all the same', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, never);
      const iterator = map([[1, 2]]);
      const error = new Error('no value');
      expect(await outcome(iterator.return!(Promise.reject(error)))).to.deep.equal({ ok: false, error });
      expect(futures.every((future) => future.cancelled())).to.equal(true);
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('throw() while a next() waits: the next() ends, then throw() rejects, and the iterator is done', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, never);
      const iterator = map([[1, 2]]);
      const waiting = iterator.next();
      const error = new Error('stop');
      const throwing = outcome(iterator.throw!(error));
      expect(futures.every((future) => future.cancelled())).to.equal(true);
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
      expect(await throwing).to.deep.equal({ ok: false, error });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('disposing of it while a next() waits ends that next()', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, never);
      const iterator = map([[1, 2]]);
      const waiting = iterator.next();
      await iterator[Symbol.asyncDispose]();
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
      expect(futures.every((future) => future.cancelled())).to.equal(true);
    });

    it('when the signal aborts under several waiting next() calls, the first throws the reason and the others end', async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const iterator = executor.map(never, [1, 2], { signal: controller.signal });
      const first = outcome(iterator.next());
      const second = iterator.next();
      controller.abort(0);
      expect(await first).to.deep.equal({ ok: false, error: 0 });
      expect(await second).to.deep.equal({ done: true, value: undefined });
    });

    it('serves a next() that its own input makes after the next() being served', async () => {
      const executor = pool();
      const early: Promise<IteratorResult<number>>[] = [];
      const holder: { iterator?: MapResults<number> } = {};
      function* input(): Generator<number> {
        yield 0;
        yield 1;
        early.push(holder.iterator!.next()); // while the consumer's second next() reads this input
        yield 2;
        yield 3;
      }
      const iterator = executor.map((n: number) => n, input(), { bufferSize: 2 });
      holder.iterator = iterator;
      expect(await iterator.next()).to.deep.equal({ done: false, value: 0 });
      expect(await iterator.next()).to.deep.equal({ done: false, value: 1 });
      expect(early).to.have.length(1);
      expect(await iterator.next()).to.deep.equal({ done: false, value: 3 });
      expect(await early[0]).to.deep.equal({ done: false, value: 2 });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('once ended, settles return(value) with the value and throw(error) with the error', async () => {
      const iterator = pool().map((n: number) => n, [1]);
      expect((await drain(iterator)).values).to.deep.equal([1]);
      expect(await iterator.return!(5)).to.deep.equal({ done: true, value: 5 });
      expect(await outcome(iterator.throw!(undefined))).to.deep.equal({ ok: false, error: undefined });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });
  });

  describe('timeout', () => {
    it('throws TimeoutError at the deadline and cancels what is outstanding', async () => {
      const executor = pool({ maxWorkers: 2 });
      const { futures, map } = recorded(executor, never);
      const iterator = map([[0, 1, 2]], { timeout: 5 });
      const result = await outcome(iterator.next());
      expect(isErr(result) && result.error).to.be.instanceOf(TimeoutError);
      expect(isErr(result) && (result.error as Error).message).to.match(/^Cannot map over executor 'recorded' beyond its 'timeout' of 5 ms: 3 unfinished$/);
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'cancelled', 'cancelled']);
      expect(executor.stats).to.deep.include({ pending: 0, cancelled: 3 });
    });

    it('still yields the results done before the deadline, in order, then throws TimeoutError', async () => {
      // The deadline passes when the test says so, however slow the machine.
      const clock = new FakeClock();
      clock.install();
      const executor = pool({ maxWorkers: 4 });
      const task = instrumented();
      const input = counting();
      const { futures, map } = recorded(executor, task.fn);
      const iterator = map([input.iterator], { timeout: 5, bufferSize: 4 });
      await flush();
      task.release(0);
      task.release(1);
      task.release(3);
      await flush();
      clock.advance(5);
      clock.uninstall();
      await settle(futures[2]!);
      expect(futures.map((future) => future.state)).to.deep.equal(['fulfilled', 'fulfilled', 'cancelled', 'fulfilled']);
      expect(input.state.finished).to.equal(true);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0, 1]);
      expect(results.error).to.be.instanceOf(TimeoutError);
      expect(input.state.pulled).to.equal(4);
    });

    it('yields what completed before the deadline with ordered: false', async () => {
      const executor = pool({ maxWorkers: 3 });
      const task = instrumented();
      const { futures, map } = recorded(executor, task.fn);
      const clock = new FakeClock();
      clock.install();
      const iterator = map([[0, 1, 2]], { timeout: 5, ordered: false });
      await flush();
      task.release(2);
      await flush();
      clock.advance(5);
      clock.uninstall();
      await settle(futures[0]!);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([2]);
      expect(results.error).to.be.instanceOf(TimeoutError);
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'cancelled', 'fulfilled']);
    });

    it('times out while waiting on an input that never gives an item', async () => {
      const executor = pool();
      const input: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => never() }) };
      const result = await outcome(executor.map((n: number) => n, input, { timeout: 1 }).next());
      expect(isErr(result) && result.error).to.be.instanceOf(TimeoutError);
    });

    it('leaves no timer behind once the map ends', async () => {
      const executor = pool();
      const left = await liveTimersAfter(async (live) => {
        const iterator = executor.map(async (n: number) => n, [1, 2], { timeout: 60_000 });
        expect(live()).to.equal(1);
        expect((await drain(iterator)).values).to.deep.equal([1, 2]);
        expect(live()).to.equal(0);
        const broken = executor.map(async (n: number) => n, [1, 2], { timeout: 60_000 });
        await broken.next();
        await broken.return!();
        expect(live()).to.equal(0);
        await drain(executor.map(() => Promise.reject(new Error('x')), [1], { timeout: 60_000 }));
        const controller = new AbortController();
        const aborted = executor.map(never, [1], { timeout: 60_000, signal: controller.signal });
        controller.abort();
        await drain(aborted);
      });
      expect(left).to.equal(0);
    });

    it('stops its timer once the input has ended and every task has settled, and then never throws TimeoutError', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const left = await liveTimersAfter(async (live) => {
        const iterator = executor.map(task.fn, [0, 1], { timeout: 60_000 });
        expect(live()).to.equal(1);
        await flush();
        task.release(1);
        await flush();
        expect(live()).to.equal(1);
        task.release(0);
        await flush();
        expect(live()).to.equal(0);
        expect(await drain(iterator)).to.deep.equal({ values: [0, 1], threw: false });
      });
      expect(left).to.equal(0);
    });

    it('keeps its timer while the input has not ended, even with nothing running', async () => {
      const executor = pool();
      const items = gate<IteratorResult<number>>();
      const input: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => items.promise }) };
      const left = await liveTimersAfter(async (live) => {
        const iterator = executor.map((n: number) => n, input, { timeout: 60_000 });
        await flush();
        expect(live()).to.equal(1);
        items.resolve({ done: true, value: undefined });
        await flush();
        expect(live()).to.equal(0);
        expect(await drain(iterator)).to.deep.equal({ values: [], threw: false });
      });
      expect(left).to.equal(0);
    });

    it('accepts an Infinity timeout without starting a timer', async () => {
      const executor = pool();
      const left = await liveTimersAfter(async (live) => {
        const iterator = executor.map(async (n: number) => n, [1], { timeout: Infinity });
        expect(live()).to.equal(0);
        expect((await drain(iterator)).values).to.deep.equal([1]);
      });
      expect(left).to.equal(0);
    });
  });

  describe('signal', () => {
    it('rejects with signal.reason unchanged and cancels what is outstanding', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { futures, map } = recorded(executor, never);
      const { controller, signal, counts } = spySignal();
      const iterator = map([[1, 2, 3]], { signal });
      const waiting = iterator.next();
      await flush();
      const reason = { why: 'user left' };
      controller.abort(reason);
      expect(await outcome(waiting)).to.deep.equal({ ok: false, error: reason });
      expect(futures.map((future) => future.state)).to.deep.equal(['cancelled', 'cancelled', 'cancelled']);
      expect(counts).to.deep.equal({ added: 1, removed: 1 });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('throws the reason when the signal aborts while the input is being read', async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const reason = new Error('stopped while reading');
      function* input(): Generator<number> {
        yield 1;
        controller.abort(reason);
        yield 2;
      }
      const iterator = executor.map(async (n: number) => n, input(), { bufferSize: 1, signal: controller.signal });
      expect(await iterator.next()).to.deep.equal({ done: false, value: 1 });
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: reason });
      expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
    });

    it('throws a falsy reason too, even when a result is ready', async () => {
      const executor = pool();
      const controller = new AbortController();
      const iterator = executor.map((n: number) => n, [1, 2], { signal: controller.signal });
      controller.abort(0);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: 0 });
    });

    it('submits nothing when the signal is already aborted', async () => {
      const executor = pool();
      const input = counting();
      let calls = 0;
      const { controller, signal, counts } = spySignal();
      const reason = new Error('already');
      controller.abort(reason);
      const iterator = executor.map(() => calls++, input.iterator, { signal });
      expect(calls).to.equal(0);
      expect(input.state.pulled).to.equal(0);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: reason });
      expect(counts).to.deep.equal({ added: 0, removed: 0 });
    });

    it('stops reading an input that aborts the signal while it is being read', async () => {
      const executor = pool();
      const controller = new AbortController();
      const reason = new Error('from the input');
      function* input(): Generator<number> {
        yield 1;
        controller.abort(reason);
        yield 2;
      }
      let calls = 0;
      const iterator = executor.map(() => calls++, input(), { signal: controller.signal });
      // One task submitted, then cancelled by the abort before it was called; the second item never read.
      expect(executor.stats).to.include({ cancelled: 1, pending: 0 });
      expect(calls).to.equal(0);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: reason });
    });

    it('leaves no listener on a long-lived signal once a dropped map has nothing under way, and does not pin it', async () => {
      const executor = pool({ maxWorkers: 4 });
      const controller = new AbortController();
      const maps: WeakRef<object>[] = [];
      const results: WeakRef<object>[] = [];
      // Each map lives in its own call, so that no local of this test holds it.
      const dropAfterFirst = async (bounded: boolean): Promise<void> => {
        const map = executor.map(async (n: number) => ({ n }), [0, 1, 2, 3], { signal: controller.signal, ...(bounded ? { bufferSize: 2 } : {}) });
        results.push(new WeakRef((await map.next()).value as object));
        maps.push(new WeakRef(map));
      };
      for (let i = 0; i < 50; i++) await dropAfterFirst(i % 2 === 0);
      await flush();
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let round = 0; round < 3; round++) {
        gc();
        await flush(1);
      }
      expect(maps.filter((ref) => ref.deref() !== undefined)).to.have.length(0);
      expect(results.filter((ref) => ref.deref() !== undefined)).to.have.length(0);
    });

    it('sees an abort that came while it was not listening, and listens again when a call waits', async () => {
      const executor = pool();
      const task = instrumented();
      const controller = new AbortController();
      const input = counting(10);
      const iterator = executor.map((n: number) => n, input.iterator, { bufferSize: 1, signal: controller.signal });
      await flush();
      // Nothing under way: the one task has settled and no call waits.
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      const reason = new Error('meanwhile');
      controller.abort(reason);
      expect(await outcome(iterator.next())).to.deep.equal({ ok: false, error: reason });
      expect(input.state.finished).to.equal(true);

      const later = new AbortController();
      const waiting = executor.map(task.fn, [0, 1], { bufferSize: 1, signal: later.signal });
      await flush();
      task.release(0);
      expect(await waiting.next()).to.deep.equal({ done: false, value: 0 });
      await flush();
      const step = waiting.next();
      expect(getEventListeners(later.signal, 'abort')).to.have.length(1);
      later.abort('stop');
      expect(await outcome(step)).to.deep.equal({ ok: false, error: 'stop' });
      expect(getEventListeners(later.signal, 'abort')).to.have.length(0);
    });

    it('removes its listener however the map ends', async () => {
      const executor = pool();
      const ended = spySignal();
      await drain(executor.map((n: number) => n, [1, 2], { signal: ended.signal }));
      expect(ended.counts).to.deep.equal({ added: 1, removed: 1 });
      const failed = spySignal();
      await drain(executor.map(() => Promise.reject(new Error('x')), [1, 2], { signal: failed.signal }));
      expect(failed.counts).to.deep.equal({ added: 1, removed: 1 });
      const broken = spySignal();
      for await (const value of executor.map((n: number) => n, [1, 2], { signal: broken.signal })) {
        void value;
        break;
      }
      expect(broken.counts).to.deep.equal({ added: 1, removed: 1 });
      const timedOut = spySignal();
      await drain(executor.map(never, [1], { signal: timedOut.signal, timeout: 1 }));
      expect(timedOut.counts).to.deep.equal({ added: 1, removed: 1 });
    });
  });

  describe('executor shutdown', () => {
    it('submits nothing more, yields what was submitted, then throws ExecutorShutdownError', async () => {
      const executor = pool({ name: 'closing', maxWorkers: 4 });
      const task = instrumented();
      const input = counting(10);
      const iterator = executor.map(task.fn, input.iterator, { bufferSize: 2 });
      await flush();
      const shutdown = executor.shutdown();
      task.release(0);
      task.release(1);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0, 1]);
      expect(results.error).to.be.instanceOf(ExecutorShutdownError);
      expect((results.error as Error).message).to.match(/'closing'/);
      expect(task.started).to.deep.equal([0, 1]);
      expect(input.state.finished).to.equal(true);
      await shutdown;
    });

    it('does the same with an async input', async () => {
      const executor = pool({ maxWorkers: 4 });
      const task = instrumented();
      async function* source(): AsyncGenerator<number> {
        for (let i = 0; ; i++) yield i;
      }
      const iterator = executor.map(task.fn, source(), { bufferSize: 2 });
      await flush();
      void executor.shutdown();
      task.release(0);
      task.release(1);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0, 1]);
      expect(results.error).to.be.instanceOf(ExecutorShutdownError);
      expect(task.started).to.deep.equal([0, 1]);
    });

    it('throws synchronously when called after shutdown', async () => {
      const executor = pool();
      await executor.shutdown();
      expect(() => executor.map((n: number) => n, [1])).to.throw(ExecutorShutdownError);
    });
  });

  describe('arguments', () => {
    const fn = (n: number): number => n;

    it('rejects a non-function fn', () => {
      expect(() => pool().map(42 as never, [1])).to.throw(TypeError, /'fn' must be a function: current value is 42/);
    });

    it('yields nothing without iterables, as zip() (options alone included), and calls nothing', async () => {
      const executor = pool();
      let calls = 0;
      const counted = (): number => calls++;
      const mapOnly = executor.map as unknown as (fn: unknown, ...rest: unknown[]) => MapResults<number>;
      expect(await drain(mapOnly(counted))).to.deep.equal({ values: [], threw: false });
      expect(await drain(mapOnly(counted, { bufferSize: 2 }))).to.deep.equal({ values: [], threw: false });
      expect(await drain(mapOnly(counted, { timeout: 10, ordered: false }))).to.deep.equal({ values: [], threw: false });
      expect(calls).to.equal(0);
      expect(executor.stats.completed).to.equal(0);
    });

    it('yields nothing without iterables on the worker pool too', async () => {
      try {
        const { executor } = workerPool();
        const mapOnly = executor.map as unknown as (name: string, ...rest: unknown[]) => MapResults<number>;
        expect(await drain(mapOnly('add'))).to.deep.equal({ values: [], threw: false });
        expect(await drain(mapOnly('add', { bufferSize: 2 }))).to.deep.equal({ values: [], threw: false });
        expect(executor.stats.completed).to.equal(0);
      } finally {
        await cleanupWorkerPools();
      }
    });

    it('still checks the options and the executor without iterables', async () => {
      const executor = pool();
      const mapOnly = executor.map as unknown as (fn: unknown, ...rest: unknown[]) => unknown;
      expect(() => mapOnly(fn, { bufferSize: 0 })).to.throw(RangeError, /'bufferSize' must be a positive integer: current value is 0/);
      await executor.shutdown();
      expect(() => mapOnly(fn)).to.throw(ExecutorShutdownError);
    });

    it('takes undefined alone for a missing input, as Python takes None, and after an input for options left out', async () => {
      const executor = pool();
      const maybeItems = undefined as unknown as number[];
      expect(() => executor.map(fn, maybeItems)).to.throw(TypeError, "Cannot map over executor '" + executor.name + "' as 'iterables[0]' must be an iterable or async iterable: current value is undefined");
      expect(executor.stats.pending).to.equal(0);
      expect(await drain(executor.map(async (n: number) => n * 2, [1, 2], undefined))).to.deep.equal({ values: [2, 4], threw: false });
    });

    it('names a non-iterable input by its position', () => {
      const executor = pool();
      expect(() => executor.map(fn, [1], 5 as never, [3])).to.throw(TypeError, /'iterables\[1\]' must be an iterable or async iterable: current value is 5/);
      expect(() => executor.map(fn, [1], null as never)).to.throw(TypeError, /'iterables\[1\]'.*current value is null/);
    });

    const bad: [string, MapOptions, typeof TypeError | typeof RangeError, RegExp][] = [
      ['bufferSize 0', { bufferSize: 0 }, RangeError, /'bufferSize' must be a positive integer: current value is 0/],
      ['bufferSize -1', { bufferSize: -1 }, RangeError, /'bufferSize'.*current value is -1/],
      ['bufferSize 1.5', { bufferSize: 1.5 }, RangeError, /'bufferSize'.*current value is 1.5/],
      ['bufferSize NaN', { bufferSize: NaN }, RangeError, /'bufferSize'.*current value is NaN/],
      ["bufferSize '4'", { bufferSize: '4' as never }, TypeError, /'bufferSize'.*current value is "4"/],
      ['negative timeout', { timeout: -1 }, RangeError, /'timeout' must be a non-negative number of milliseconds: current value is -1/],
      ['timeout NaN', { timeout: NaN }, RangeError, /'timeout'.*current value is NaN/],
      ["timeout '5'", { timeout: '5' as never }, TypeError, /'timeout'.*current value is "5"/],
      ['ordered not boolean', { ordered: 'yes' as never }, TypeError, /'ordered' must be a boolean: current value is "yes"/],
      ['signal not a signal', { signal: {} as never }, TypeError, /'signal' must be an AbortSignal/],
      ['unknown option', { buffer: 2 } as never, TypeError, /unknown key "buffer"/],
    ];
    for (const [title, options, type, message] of bad) {
      it(`rejects ${title}, naming it and its value`, () => {
        const executor = pool();
        let calls = 0;
        expect(() => executor.map(() => calls++, [1, 2], options)).to.throw(type, message);
        expect(calls).to.equal(0);
        expect(executor.stats.pending + executor.stats.running + executor.stats.completed).to.equal(0);
      });
    }
  });
});
