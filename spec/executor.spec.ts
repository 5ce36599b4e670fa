import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { CancelledError, ExecutorShutdownError, Future, TaskPoolExecutor, TimeoutError } from '../lib/index.js';
import { flush, gate, instrumented, pool } from './helpers.js';

describe('TaskPoolExecutor', () => {
  describe('submit', () => {
    it('runs a sync function and fulfills with its value', async () => {
      const executor = pool({ maxWorkers: 2 });
      const future = executor.submit((a: number, b: number) => a + b, 2, 3);
      expect(await future).to.equal(5);
      expect(future.state).to.equal('fulfilled');
    });

    it('turns a synchronous throw into a rejected future', async () => {
      const executor = pool();
      const error = new Error('boom');
      const future = executor.submit(() => {
        throw error;
      });
      expect(future.state).to.equal('rejected');
      expect(await future.exception()).to.equal(error);
    });

    it('counts falsy thrown values as failures', async () => {
      const executor = pool();
      const a = executor.submit(() => {
        throw undefined;
      });
      const b = executor.submit(() => Promise.reject(0));
      await flush();
      expect(a.state).to.equal('rejected');
      expect(b.state).to.equal('rejected');
      expect(await b.exception()).to.equal(0);
      expect(executor.stats.failed).to.equal(2);
    });

    it('never has more than maxWorkers tasks in flight and starts them in FIFO order', async () => {
      const executor = pool({ maxWorkers: 3 });
      const task = instrumented();
      const futures = Array.from({ length: 10 }, (_, i) => executor.submit(task.fn, i));
      await flush();
      expect(task.inFlight).to.equal(3);
      for (let i = 0; i < 10; i++) {
        task.release(i);
        await flush();
      }
      expect(await Promise.all(futures)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(task.maxInFlight).to.equal(3);
      expect(task.started).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('throws ExecutorShutdownError after shutdown, naming the executor', async () => {
      const executor = pool({ name: 'fetchers' });
      await executor.shutdown();
      expect(() => executor.submit(() => 1)).to.throw(ExecutorShutdownError, /'fetchers'/);
    });

    it('rejects a non-function with a TypeError naming it', () => {
      const executor = pool();
      expect(() => executor.submit(42 as never)).to.throw(TypeError, /'fn' must be a function: current value is 42/);
    });

    it('works detached', async () => {
      const { submit, shutdown } = pool();
      expect(await submit(() => 'x')).to.equal('x');
      await shutdown();
    });

    it('runs each task in the async context of its submit call', async () => {
      const executor = pool({ maxWorkers: 1 });
      const storage = new AsyncLocalStorage<string>();
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const futures = ['a', 'b', 'c'].map((name) => storage.run(name, () => executor.submit(async () => storage.getStore())));
      blocker.resolve();
      expect(await Promise.all(futures)).to.deep.equal(['a', 'b', 'c']);
    });
  });

  describe('run', () => {
    it('times out a task that never settles, keeping its slot', async () => {
      const executor = pool({ maxWorkers: 1 });
      let signal: AbortSignal | undefined;
      const forever = gate();
      const future = executor.run((context) => {
        signal = context.signal;
        return forever.promise;
      }, { timeout: 5 });
      const next = executor.submit(() => 'next');
      const error = await future.exception();
      expect(error).to.be.instanceOf(TimeoutError);
      expect(future.state).to.equal('rejected');
      expect(signal!.aborted).to.equal(true);
      expect(signal!.reason).to.equal(error);
      expect(next.state).to.equal('pending');
      forever.resolve();
      expect(await next).to.equal('next');
    });

    it('starts queued tasks by priority, then FIFO', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const order: string[] = [];
      const record = (name: string) => () => void order.push(name);
      executor.run(record('low'), { priority: -1 });
      executor.run(record('a'));
      executor.run(record('high'), { priority: 5 });
      executor.run(record('b'));
      executor.run(record('high2'), { priority: 5 });
      blocker.resolve();
      await executor.onIdle();
      expect(order).to.deep.equal(['high', 'high2', 'a', 'b', 'low']);
    });

    it('cancels the future when its signal aborts, with the reason unchanged', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const controller = new AbortController();
      let started = false;
      const future = executor.run(() => {
        started = true;
      }, { signal: controller.signal });
      const reason = new Error('stop');
      controller.abort(reason);
      expect(future.state).to.equal('cancelled');
      blocker.resolve();
      await executor.onIdle();
      expect(started).to.equal(false);
      expect(await future.exception().catch((e: unknown) => e)).to.equal(reason);
    });

    it('cancels at once with an already aborted signal', () => {
      const executor = pool();
      const future = executor.run(() => 1, { signal: AbortSignal.abort() });
      expect(future.cancelled()).to.equal(true);
    });
  });

  describe('cancel', () => {
    it('cancels a pending task: it never starts', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      executor.submit(task.fn, 0);
      const second = executor.submit(task.fn, 1);
      expect(second.cancel()).to.equal(true);
      expect(second.state).to.equal('cancelled');
      task.release(0);
      await executor.onIdle();
      expect(task.started).to.deep.equal([0]);
      expect(await second.exception().catch((e: unknown) => e)).to.be.instanceOf(CancelledError);
    });

    it('cancels a running task at once but keeps its slot until it settles', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const first = executor.submit(task.fn, 0);
      const second = executor.submit(task.fn, 1);
      await flush();
      expect(first.cancel()).to.equal(true);
      expect(first.state).to.equal('cancelled');
      expect(first.signal.aborted).to.equal(true);
      await flush();
      expect(second.state).to.equal('pending');
      expect(executor.stats.running).to.equal(1);
      task.release(0);
      await flush();
      expect(second.state).to.equal('running');
      task.release(1);
      expect(await second).to.equal(1);
      expect(task.maxInFlight).to.equal(1);
    });

    it('returns false for a settled future and true again for a cancelled one', async () => {
      const executor = pool();
      const done = executor.submit(() => 1);
      expect(done.cancel()).to.equal(false);
      const blocker = gate();
      const running = executor.submit(() => blocker.promise);
      running.cancel();
      expect(running.cancel()).to.equal(true);
      blocker.resolve();
    });
  });

  describe('shutdown', () => {
    it('waits for running and queued tasks', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const a = executor.submit(task.fn, 0);
      const b = executor.submit(task.fn, 1);
      let finished = false;
      const done = executor.shutdown().then(() => (finished = true));
      task.release(0);
      await flush();
      expect(finished).to.equal(false);
      task.release(1);
      await done;
      expect([a.state, b.state]).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it('cancels pending futures with cancelFutures, and is idempotent', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const a = executor.submit(task.fn, 0);
      const b = executor.submit(task.fn, 1);
      const done = executor.shutdown({ cancelFutures: true });
      expect(b.cancelled()).to.equal(true);
      await executor.shutdown({ wait: false });
      task.release(0);
      await done;
      await executor.shutdown();
      expect(a.state).to.equal('fulfilled');
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, completed: 1, failed: 0, cancelled: 1 });
    });

    it('supports Symbol.asyncDispose', async () => {
      const executor = new TaskPoolExecutor({ maxWorkers: 1 });
      const blocker = gate();
      const future = executor.submit(() => blocker.promise.then(() => 'ok'));
      const disposing = executor[Symbol.asyncDispose]();
      blocker.resolve();
      await disposing;
      expect(future.state).to.equal('fulfilled');
      expect(executor.isShutdown).to.equal(true);
    });
  });

  describe('options', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      it(`rejects maxWorkers ${bad} with a RangeError`, () => {
        expect(() => new TaskPoolExecutor({ maxWorkers: bad })).to.throw(RangeError, /'maxWorkers' must be a positive integer: current value is/);
      });
    }
    it("rejects maxWorkers '4' with a TypeError", () => {
      expect(() => new TaskPoolExecutor({ maxWorkers: '4' as never })).to.throw(TypeError, /'maxWorkers'.*current value is "4"/);
    });
    it('rejects unknown keys', () => {
      expect(() => new TaskPoolExecutor({ maxWorker: 4 } as never)).to.throw(TypeError, /unknown key "maxWorker"/);
    });
    it('rejects a negative timeout', () => {
      expect(() => pool().run(() => 1, { timeout: -1 })).to.throw(RangeError, /'timeout'.*-1/);
    });
    it('defaults maxWorkers as Python does', () => {
      expect(new TaskPoolExecutor().maxWorkers).to.be.within(5, 32);
    });
  });

  it('Future.from follows a promise', async () => {
    const deferred = gate<number>();
    const future = Future.from(deferred.promise);
    expect(future.state).to.equal('running');
    deferred.resolve(4);
    expect(await future).to.equal(4);
  });
});
