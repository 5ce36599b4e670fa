/**
 * The tasks of `map`: they have no future. A sync input without `bufferSize` is submitted at
 * once as one queue entry (a map source) whose tasks become work items as they start; with a
 * bound, each task is a work item of its own. These specs pin down what either path keeps of
 * the contract: counts, order, cancellation, shutdown, errors, retry, a broken executor.
 */
import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { BrokenExecutorError, CancelledError, Executor, ExecutorShutdownError, TimeoutError, type ExecutorOptions } from '../lib/index.js';
import type { WorkItem } from '../lib/work-item.js';
import { FakeClock } from './reliability/clock.js';
import { flush, instrumented, pool, track } from './helpers.js';

type Drained<T> = { values: T[]; error?: unknown };

async function drain<T>(iterator: AsyncIterator<T>): Promise<Drained<T>> {
  const values: T[] = [];
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done) return { values };
      values.push(step.value);
    }
  } catch (error) {
    return { values, error };
  }
}

/** A backend that calls its task functions on this thread, and can be broken by hand. */
class BreakableExecutor extends Executor {
  constructor(options?: ExecutorOptions) {
    super(options, 2);
  }
  break(error: BrokenExecutorError): void {
    this.breakExecutor(error);
  }
  protected checkTask(): void {}
  protected execute(item: WorkItem): unknown {
    // The attempt's signal comes last, as a backend that can stop a task would pass it on.
    return (item.task as (...args: unknown[]) => unknown)(...(item.args as unknown[]), item.signal);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('map tasks (no futures)', () => {
  for (const bufferSize of [undefined, 2]) {
    const path = bufferSize === undefined ? 'submitted at once' : 'submitted one by one (bufferSize 2)';
    const options = bufferSize === undefined ? {} : { bufferSize };

    describe(path, () => {
      it('yields in input order and counts every task in stats', async () => {
        const executor = pool({ maxWorkers: 2 });
        const task = instrumented();
        const iterator = executor.map(task.fn, range(5), options);
        await flush();
        expect(task.started).to.deep.equal([0, 1]);
        task.release(1);
        task.release(0);
        const reading = drain(iterator);
        for (let id = 2; id < 5; id++) {
          await flush();
          task.release(id);
        }
        expect(await reading).to.deep.equal({ values: [0, 1, 2, 3, 4] });
        expect(executor.stats).to.include({ pending: 0, running: 0, completed: 5, failed: 0, cancelled: 0 });
        expect(task.maxInFlight).to.equal(2);
      });

      it('throws a failed task at its position and cancels the tasks after it, calling none that had not started', async () => {
        const executor = pool({ maxWorkers: 2 });
        const task = instrumented();
        const error = new Error('task 1');
        const iterator = executor.map(task.fn, range(6), options);
        await flush();
        task.release(0);
        task.fail(1, error);
        const results = await drain(iterator);
        expect(results.values).to.deep.equal([0]);
        expect(results.error).to.equal(error);
        await flush();
        expect(task.started.length).to.be.at.most(4);
        const stats = executor.stats;
        expect(stats).to.include({ pending: 0, completed: 1, failed: 1 });
        // At once: the four after it; one by one: the one submitted when 0 was yielded.
        expect(stats.cancelled).to.equal(bufferSize === undefined ? 4 : 1);
      });

      it('return() cancels the tasks left: the queued ones never start, the queue goes on with later work', async () => {
        const executor = pool({ maxWorkers: 1 });
        const task = instrumented();
        const iterator = executor.map(task.fn, range(5), options);
        await flush();
        task.release(0);
        expect(await iterator.next()).to.deep.equal({ value: 0, done: false });
        await flush();
        expect(task.started).to.deep.equal([0, 1]);
        await iterator.return?.();
        expect(executor.stats).to.include({ pending: 0, completed: 1 });
        // The running task, and the three queued at once (one by one: none queued).
        expect(executor.stats.cancelled).to.equal(bufferSize === undefined ? 4 : 1);
        const later = executor.submit(async () => 'later');
        // The running task keeps its slot until it settles.
        task.release(1);
        expect(await later).to.equal('later');
        expect(task.started).to.deep.equal([0, 1]);
      });
    });
  }

  describe('submitted at once', () => {
    it('counts them all as pending at the call, ahead of work submitted later', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const order: string[] = [];
      const iterator = executor.map(async (id: number) => (order.push(`map ${id}`), task.fn(id)), range(4));
      expect(executor.stats).to.include({ pending: 2, running: 2 });
      const later = executor.submit(async () => void order.push('later'));
      expect(executor.stats.pending).to.equal(3);
      const reading = drain(iterator);
      for (let id = 0; id < 4; id++) {
        await flush();
        task.release(id);
      }
      await later;
      expect((await reading).values).to.deep.equal([0, 1, 2, 3]);
      expect(order).to.deep.equal(['map 0', 'map 1', 'map 2', 'map 3', 'later']);
    });

    it('shutdown({ cancelFutures }) cancels the queued tasks: the started ones are yielded, then a CancelledError', async () => {
      const executor = pool({ maxWorkers: 2, name: 'mapper' });
      const task = instrumented();
      const iterator = executor.map(task.fn, range(5));
      await flush();
      const shutdown = executor.shutdown({ cancelFutures: true });
      expect(executor.stats).to.include({ pending: 0, running: 2, cancelled: 3 });
      task.release(0);
      task.release(1);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0, 1]);
      expect(results.error).to.be.instanceOf(CancelledError);
      expect((results.error as Error).message).to.equal("Task on executor 'mapper' cancelled before it started");
      await shutdown;
      expect(task.started).to.deep.equal([0, 1]);
      expect(executor.stats).to.include({ completed: 2, cancelled: 3 });
    });

    it('shutdown({ cancelFutures }) of an unordered map: the cancellation completes first, and is thrown first', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const iterator = executor.map(task.fn, range(3), { ordered: false });
      await flush();
      task.release(0);
      await flush();
      // Task 0 has completed, task 1 runs, task 2 is queued.
      void executor.shutdown({ cancelFutures: true });
      task.release(1);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0]);
      expect(results.error).to.be.instanceOf(CancelledError);
      // Task 1 is cancelled when the map throws, before its value comes.
      expect(executor.stats).to.include({ completed: 1, cancelled: 2 });
    });

    it('the timeout cancels the queued tasks with its TimeoutError', async () => {
      const clock = new FakeClock();
      clock.install();
      try {
        const executor = pool({ maxWorkers: 1 });
        const task = instrumented();
        const iterator = executor.map(task.fn, range(4), { timeout: 100 });
        await flush();
        task.release(0);
        await flush();
        clock.advance(100);
        const results = await drain(iterator);
        expect(results.values).to.deep.equal([0]);
        expect(results.error).to.be.instanceOf(TimeoutError);
        expect(executor.stats).to.include({ pending: 0, completed: 1, cancelled: 3 });
        expect(task.started).to.deep.equal([0, 1]);
      } finally {
        clock.uninstall();
      }
    });

    it("retries each task by the executor's retry policy, holding no slot while it waits", async () => {
      const clock = new FakeClock();
      clock.install();
      try {
        const executor = pool({ maxWorkers: 2, retry: { attempts: 2, backoff: 10 } });
        const calls = new Map<number, number>();
        const fn = async (id: number): Promise<number> => {
          const count = (calls.get(id) ?? 0) + 1;
          calls.set(id, count);
          if (count === 1 && id % 2 === 0) throw new Error(`first call of ${id}`);
          return id * 10;
        };
        const reading = drain(executor.map(fn, range(5)));
        await flush();
        expect(executor.stats.retrying).to.be.greaterThan(0);
        for (let round = 0; round < 5; round++) {
          clock.advance(10);
          await flush();
        }
        expect(await reading).to.deep.equal({ values: [0, 10, 20, 30, 40] });
        expect([...calls.entries()].sort((a, b) => a[0] - b[0])).to.deep.equal([
          [0, 2],
          [1, 1],
          [2, 2],
          [3, 1],
          [4, 2],
        ]);
        expect(executor.stats).to.include({ completed: 5, failed: 0, retrying: 0 });
      } finally {
        clock.uninstall();
      }
    });

    it('a broken executor fails the queued tasks with its error, once the started ones are yielded', async () => {
      const executor = track(new BreakableExecutor());
      const task = instrumented();
      const iterator = executor.map(task.fn, range(5));
      await flush();
      const error = new BrokenExecutorError('broken by the test');
      executor.break(error);
      expect(executor.stats).to.include({ pending: 0, running: 2, failed: 3 });
      task.release(0);
      task.release(1);
      const results = await drain(iterator);
      expect(results.values).to.deep.equal([0, 1]);
      expect(results.error).to.equal(error);
    });

    it('runs every task in the async context of the map call', async () => {
      const executor = pool({ maxWorkers: 2 });
      const storage = new AsyncLocalStorage<string>();
      const read = async (): Promise<string | undefined> => storage.getStore();
      const a = storage.run('a', () => executor.map(read, range(6)));
      const b = storage.run('b', () => executor.map(read, range(6)));
      expect((await drain(a)).values).to.deep.equal(Array(6).fill('a'));
      expect((await drain(b)).values).to.deep.equal(Array(6).fill('b'));
    });

    it('zips several inputs into the arguments of each task', async () => {
      const executor = pool({ maxWorkers: 1 });
      const results = await drain(executor.map((a: number, b: string) => `${a}${b}`, [1, 2, 3], ['x', 'y']));
      expect(results).to.deep.equal({ values: ['1x', '2y'] });
    });

    it("gives a backend each task's signal: it aborts when the map stops while the task runs", async () => {
      const executor = track(new BreakableExecutor());
      const signals: AbortSignal[] = [];
      const fn = (_id: number, signal: AbortSignal): Promise<never> => {
        signals.push(signal);
        return new Promise(() => {});
      };
      const iterator = executor.map(fn, range(3));
      await flush();
      expect(signals).to.have.length(2);
      expect(signals.some((signal) => signal.aborted)).to.equal(false);
      await iterator.return?.();
      expect(signals.every((signal) => signal.aborted && signal.reason instanceof CancelledError)).to.equal(true);
      expect(executor.stats).to.include({ pending: 0, running: 2, cancelled: 3 });
    });

    it("aborts a task's signal with the TimeoutError of the executor's taskTimeout", async () => {
      const clock = new FakeClock();
      clock.install();
      try {
        const executor = track(new BreakableExecutor({ taskTimeout: 50 }));
        const signals: AbortSignal[] = [];
        const fn = (_id: number, signal: AbortSignal): Promise<never> => {
          signals.push(signal);
          return new Promise(() => {});
        };
        const reading = drain(executor.map(fn, range(1)));
        await flush();
        clock.advance(50);
        const results = await reading;
        expect(results.error).to.be.instanceOf(TimeoutError);
        expect(signals[0]!.reason).to.equal(results.error);
      } finally {
        clock.uninstall();
      }
    });

    it('an input that shuts the executor down while it is read: nothing is submitted, then ExecutorShutdownError', async () => {
      const executor = pool({ maxWorkers: 1 });
      let calls = 0;
      function* input(): Generator<number> {
        yield 1;
        void executor.shutdown();
        yield 2;
      }
      const results = await drain(executor.map(() => calls++, input()));
      expect(results.values).to.deep.equal([]);
      expect(results.error).to.be.instanceOf(ExecutorShutdownError);
      expect(calls).to.equal(0);
    });

    it("an input step whose value throws: the input's error, after what was read before it", async () => {
      const executor = pool({ maxWorkers: 1 });
      const error = new Error('value');
      let index = 0;
      const input: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () =>
            index++ === 0
              ? { done: false, value: 7 }
              : {
                  done: false,
                  get value(): number {
                    throw error;
                  },
                },
        }),
      };
      const results = await drain(executor.map(async (n: number) => n, input));
      expect(results).to.deep.equal({ values: [7], error });
    });

    it('an input that fails part-way: the tasks read before are run and yielded, then its error', async () => {
      const executor = pool({ maxWorkers: 1 });
      const error = new Error('input');
      function* input(): Generator<number> {
        yield 1;
        yield 2;
        throw error;
      }
      const results = await drain(executor.map(async (n: number) => n * 2, input()));
      expect(results.values).to.deep.equal([2, 4]);
      expect(results.error).to.equal(error);
      expect(executor.stats).to.include({ completed: 2, cancelled: 0 });
    });
  });
});
