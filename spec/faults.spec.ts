/**
 * Fault injection: callbacks, tasks, inputs and signals that misbehave. Each case has a
 * defined outcome, listed in the README's "Reliability" section; the cases that the other
 * specs already pin down (failing map inputs, an already aborted signal, a throwing consumer
 * loop) are named there with their tests.
 */
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { asCompleted, CancelledError, ExecutorShutdownError, TimeoutError, wait, type Future } from '../lib/index.js';
import { capturingConsoleError } from './fixtures.js';
import { flush, gate, pool, type Gate } from './helpers.js';


/** Collects unhandled rejections while `body` runs (one extra turn included). */
async function collectingUnhandled(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    await flush();
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

/** Whether `promise` has settled after the event loop turned a few times. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  return settled;
}

describe('fault injection', () => {
  describe('done callbacks that throw', () => {
    it('are reported on console.error; the other callbacks, the executor, wait and asCompleted go on', async () => {
      const executor = pool({ maxWorkers: 1 });
      const first = gate<number>();
      const a = executor.submit(() => first.promise);
      const b = executor.submit(() => 2);
      const calls: string[] = [];
      const falsy = 0;
      const reports = await capturingConsoleError(async () => {
        a.addDoneCallback(() => calls.push('before'));
        a.addDoneCallback(() => {
          throw new Error('callback failure');
        });
        a.addDoneCallback(() => {
          throw falsy;
        });
        a.addDoneCallback(() => calls.push('after'));
        const waited = wait([a, b]);
        const completed: unknown[] = [];
        const consumer = (async () => {
          for await (const { result } of asCompleted([a, b])) completed.push(result.ok ? result.value : result.error);
        })();
        first.resolve(1);
        const { done, notDone } = await waited;
        await consumer;
        expect(done.size).to.equal(2);
        expect(notDone.size).to.equal(0);
        expect(completed).to.deep.equal([1, 2]);
      });
      expect(calls).to.deep.equal(['before', 'after']);
      expect(reports).to.have.length(2);
      expect(reports[0]![0]).to.match(/done callback threw/);
      expect(reports[0]![1]).to.be.an('error').with.property('message', 'callback failure');
      expect(reports[1]![1]).to.equal(0);
      expect([a.state, b.state]).to.deep.equal(['fulfilled', 'fulfilled']);
      expect(executor.stats).to.include({ completed: 2, running: 0, pending: 0 });
    });

    it('thrown on an already settled future: reported at once, addDoneCallback does not throw', async () => {
      const executor = pool();
      const future = executor.submit(() => 1);
      const reports = await capturingConsoleError(() => {
        expect(() =>
          future.addDoneCallback(() => {
            throw new Error('late');
          }),
        ).not.to.throw();
      });
      expect(reports).to.have.length(1);
    });

    it('do not stop shutdown({ cancelFutures }) from cancelling every queued task', async () => {
      const executor = pool({ maxWorkers: 1 });
      const running = gate();
      executor.submit(() => running.promise);
      const queued = Array.from({ length: 5 }, (_, index) => executor.submit(() => index));
      const reports = await capturingConsoleError(() => {
        for (const future of queued) {
          future.addDoneCallback(() => {
            throw new Error('callback failure');
          });
        }
        void executor.shutdown({ wait: false, cancelFutures: true });
      });
      expect(queued.map((future) => future.state)).to.deep.equal(Array(5).fill('cancelled'));
      expect(reports).to.have.length(5);
      running.resolve();
      await executor.onIdle();
      expect(executor.stats).to.include({ completed: 1, cancelled: 5, pending: 0, running: 0 });
    });

    it('keep the bound and the order when they re-enter the executor: submit, cancel, shut down', async () => {
      const executor = pool({ maxWorkers: 2 });
      const gates = new Map<string, Gate<string>>();
      const started: string[] = [];
      let inFlight = 0;
      let most = 0;
      const task = (name: string) => async (): Promise<string> => {
        started.push(name);
        inFlight++;
        most = Math.max(most, inFlight);
        const release = gate<string>();
        gates.set(name, release);
        try {
          return await release.promise;
        } finally {
          inFlight--;
        }
      };
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => executor.submit(task(name)));
      let e: Future<string> | undefined;
      a!.addDoneCallback(() => {
        e = executor.submit(task('e'));
        d!.cancel();
      });
      b!.addDoneCallback(() => void executor.shutdown({ wait: false }));
      await flush();
      gates.get('a')!.resolve('a');
      await flush();
      expect(started).to.deep.equal(['a', 'b', 'c']);
      gates.get('b')!.resolve('b');
      await flush();
      expect(started).to.deep.equal(['a', 'b', 'c', 'e']);
      expect(() => executor.submit(task('f'))).to.throw(ExecutorShutdownError);
      gates.get('c')!.resolve('c');
      gates.get('e')!.resolve('e');
      await executor.shutdown();
      expect(most).to.equal(2);
      expect([c!.state, d!.state, e?.state]).to.deep.equal(['fulfilled', 'cancelled', 'fulfilled']);
    });
  });

  describe('tasks that return misbehaving thenables', () => {
    it('a thenable that calls back twice counts once: the first call wins, the slot frees once', async () => {
      const executor = pool({ maxWorkers: 1 });
      const fulfilThenReject = executor.submit(() => ({
        then(resolve: (value: number) => void, reject: (error: unknown) => void) {
          resolve(1);
          reject(new Error('ignored'));
          resolve(3);
        },
      }));
      const rejectThenFulfil = executor.submit(() => ({
        then(resolve: (value: number) => void, reject: (error: unknown) => void) {
          reject(0);
          resolve(1);
        },
      }));
      const fulfilThenThrow = executor.submit(() => ({
        then(resolve: (value: number) => void) {
          resolve(1);
          throw new Error('ignored');
        },
      }));
      const after = executor.submit(() => 'after');
      await executor.onIdle();
      expect(await fulfilThenReject).to.equal(1);
      expect(rejectThenFulfil.state).to.equal('rejected');
      expect(await rejectThenFulfil.exception()).to.equal(0);
      expect(await fulfilThenThrow).to.equal(1);
      expect(await after).to.equal('after');
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 3, failed: 1, cancelled: 0 });
    });

    it('a thenable whose then getter throws fails its task with that error', async () => {
      const executor = pool({ maxWorkers: 1 });
      const error = new Error('getter');
      const future = executor.submit(() => ({
        get then(): never {
          throw error;
        },
      }));
      const next = executor.submit(() => 'next');
      expect(await future.exception()).to.equal(error);
      expect(await next).to.equal('next');
      expect(executor.stats).to.include({ failed: 1, completed: 1, running: 0 });
    });

    it('a thenable that never calls back keeps its slot for good: cancel and timeout settle the future, not the slot', async () => {
      const executor = pool({ maxWorkers: 1 });
      const never = { then() {} };
      const cancelled = executor.submit(() => never);
      const queued = executor.submit(() => 'queued');
      await flush();
      expect(cancelled.cancel()).to.equal(true);
      await flush();
      expect(cancelled.state).to.equal('cancelled');
      expect(queued.state).to.equal('pending');
      expect(executor.stats).to.include({ running: 1, pending: 1, cancelled: 1 });
      expect(await settles(executor.shutdown())).to.equal(false);
      expect(await settles(executor.shutdown({ wait: false }))).to.equal(true);

      const other = pool({ maxWorkers: 1 });
      const timedOut = other.run(() => never, { timeout: 0 });
      expect(await timedOut.exception()).to.be.instanceOf(TimeoutError);
      expect(other.stats).to.include({ running: 1, failed: 1 });
    });
  });

  describe('shutdown called from inside', () => {
    it('a task: shutdown({ cancelFutures }) cancels the queue, the task completes, then shutdown resolves', async () => {
      const executor = pool({ maxWorkers: 1 });
      const go = gate();
      const release = gate();
      let shutdown: Promise<void> | undefined;
      const caller = executor.submit(async () => {
        await go.promise;
        shutdown = executor.shutdown({ cancelFutures: true });
        await release.promise;
        return 'caller';
      });
      const queued = executor.submit(() => 'queued');
      go.resolve();
      await flush();
      expect(queued.state).to.equal('cancelled');
      expect(() => executor.submit(() => 'late')).to.throw(ExecutorShutdownError);
      expect(await settles(shutdown!)).to.equal(false);
      release.resolve();
      await shutdown;
      expect(await caller).to.equal('caller');
    });

    it('a task that awaits shutdown() waits for itself: neither settles while it waits (as in Python)', async () => {
      const executor = pool({ maxWorkers: 2 });
      const escape = gate();
      let shutdown: Promise<void> | undefined;
      const caller = executor.submit(async () => {
        shutdown = executor.shutdown();
        await Promise.race([shutdown, escape.promise]);
        return 'escaped';
      });
      await flush();
      expect(caller.state).to.equal('running');
      expect(await settles(shutdown!)).to.equal(false);
      escape.resolve();
      expect(await caller).to.equal('escaped');
      await shutdown;
    });

    it('a task that shuts down and then submits: the submit throws, so the task fails with ExecutorShutdownError', async () => {
      const executor = pool();
      const future = executor.submit(() => {
        void executor.shutdown({ wait: false });
        return executor.submit(() => 'never');
      });
      expect(await future.exception()).to.be.instanceOf(ExecutorShutdownError);
      expect(future.state).to.equal('rejected');
    });

    it('a done callback: with cancelFutures the next queued task never starts', async () => {
      const executor = pool({ maxWorkers: 1 });
      const release = gate();
      const first = executor.submit(() => release.promise);
      const started: string[] = [];
      const second = executor.submit(() => void started.push('second'));
      let shutdown: Promise<void> | undefined;
      first.addDoneCallback(() => (shutdown = executor.shutdown({ cancelFutures: true })));
      release.resolve();
      await shutdown;
      await flush();
      expect(shutdown).to.be.a('promise');
      expect(second.state).to.equal('cancelled');
      expect(started).to.deep.equal([]);
      expect(executor.stats).to.include({ completed: 1, cancelled: 1, pending: 0, running: 0 });
    });

    it('a done callback: shutdown() with wait resolves once the tasks still queued have run', async () => {
      const executor = pool({ maxWorkers: 1 });
      const release = gate();
      const first = executor.submit(() => release.promise);
      const rest = [executor.submit(() => 2), executor.submit(async () => 3)];
      let shutdown: Promise<void> | undefined;
      first.addDoneCallback(() => (shutdown = executor.shutdown()));
      release.resolve();
      await flush(1);
      await shutdown;
      expect(rest.map((future) => future.state)).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it('a done callback that submits while a queued task waits: the new task queues behind it; that task starts from a microtask and its callback shuts down, cancelling what the callbacks submitted', async () => {
      // The slot of `first` is free while its callbacks run: `second` takes it, but its function
      // is called from a microtask, never inside the submit of a callback. So both callbacks of
      // `first` submit before anything has shut down: `third` and `late` queue behind `second`,
      // whose callback then shuts down with cancelFutures and cancels them, as Python's
      // shutdown(cancel_futures=True) would; a submit made after the shutdown throws.
      const executor = pool({ maxWorkers: 1 });
      const release = gate();
      const started: string[] = [];
      const first = executor.submit(() => release.promise);
      const second = executor.submit(() => void started.push('second'));
      second.addDoneCallback(() => void executor.shutdown({ wait: false, cancelFutures: true }));
      let third: Future<void> | undefined;
      let stateAtReturn: string | undefined;
      let late: Future<void> | undefined;
      first.addDoneCallback(() => {
        third = executor.submit(() => void started.push('third'));
        stateAtReturn = third.state;
      });
      first.addDoneCallback(() => (late = executor.submit(() => void started.push('late'))));
      release.resolve();
      await flush();
      expect(executor.isShutdown).to.equal(true);
      expect(started).to.deep.equal(['second']);
      expect(stateAtReturn).to.equal('pending');
      expect(await third!.exception().catch((error: unknown) => error)).to.be.instanceOf(CancelledError);
      expect(await late!.exception().catch((error: unknown) => error)).to.be.instanceOf(CancelledError);
      expect(() => executor.submit(() => void started.push('after'))).to.throw(ExecutorShutdownError);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 2, failed: 0, cancelled: 2 });
    });

    it('BUG: a done callback of a cancelled future that calls shutdown({ cancelFutures }) again finds the rest cancelled', () => {
      // shutdown({ cancelFutures: true }) drains the whole queue first, then cancels each future.
      // A cancellation callback that calls shutdown({ cancelFutures: true }) again returns while
      // the rest of the queue is still pending (they are cancelled only when it returns).
      const executor = pool({ maxWorkers: 1 });
      const running = gate();
      executor.submit(() => running.promise);
      const a = executor.submit(() => 'a');
      const b = executor.submit(() => 'b');
      let seen: string | undefined;
      a.addDoneCallback(() => {
        void executor.shutdown({ wait: false, cancelFutures: true });
        seen = b.state;
      });
      void executor.shutdown({ wait: false, cancelFutures: true });
      expect(b.state).to.equal('cancelled');
      expect(seen).to.equal('cancelled');
    });

    it("a map's task: the map yields up to the first cancelled task, then throws its CancelledError", async () => {
      const executor = pool({ maxWorkers: 1 });
      const results: unknown[] = [];
      let thrown: unknown;
      try {
        const work = async (n: number) => {
          if (n === 1) void executor.shutdown({ wait: false, cancelFutures: true });
          return n;
        };
        for await (const value of executor.map(work, [0, 1, 2, 3, 4], { bufferSize: 3 })) results.push(value);
      } catch (error) {
        thrown = error;
      }
      expect(results).to.deep.equal([0, 1]);
      expect(thrown).to.be.instanceOf(CancelledError);
      expect(executor.stats).to.include({ completed: 2, cancelled: 1, pending: 0, running: 0 });
    });
  });

  describe('map inputs that cannot be opened', () => {
    it('map() throws the error of [Symbol.iterator]() at once and submits nothing', () => {
      const executor = pool();
      const error = new Error('cannot open');
      const input = {
        [Symbol.iterator](): Iterator<number> {
          throw error;
        },
      };
      expect(() => executor.map((n: number) => n, input)).to.throw(error);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 0 });
    });

    it('BUG: an input that cannot be opened closes the inputs opened before it', () => {
      // map opens every input with iterables.map(...): when a later one throws, the earlier
      // ones stay open (their return() is never called), unlike the other ways a map stops.
      const executor = pool();
      let closed = false;
      const first: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => ({ done: false, value: 1 }),
          return: () => {
            closed = true;
            return { done: true, value: undefined };
          },
        }),
      };
      const second = {
        [Symbol.iterator](): Iterator<number> {
          throw new Error('cannot open');
        },
      };
      expect(() => executor.map((a: number, b: number) => a + b, first, second)).to.throw('cannot open');
      expect(closed).to.equal(true);
    });
  });

  describe('signals', () => {
    it('a task that aborts the signal of the queued tasks: they are cancelled and never start; it completes', async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const go = gate();
      const started: number[] = [];
      const first = executor.submit(async () => {
        await go.promise;
        controller.abort('stop');
        return 'first';
      });
      const queued = [1, 2, 3].map((n) => executor.run(() => void started.push(n), { signal: controller.signal }));
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
      go.resolve();
      expect(await first).to.equal('first');
      await executor.onIdle();
      expect(started).to.deep.equal([]);
      for (const future of queued) expect(await future.exception().catch((error: unknown) => error)).to.be.instanceOf(CancelledError).and.include({ cause: 'stop' });
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      expect(executor.stats).to.include({ completed: 1, cancelled: 3 });
    });

    it('BUG: run() with a signal whose addEventListener throws fails and leaves nothing queued', async () => {
      // schedule() queues the future, then attaches the listener: when that throws, run() throws
      // but the task stays queued, runs later, and its future is out of the caller's reach.
      const executor = pool({ maxWorkers: 1 });
      const running = gate();
      executor.submit(() => running.promise);
      const signal = {
        aborted: false,
        reason: undefined,
        addEventListener(): never {
          throw new Error('cannot listen');
        },
        removeEventListener() {},
      } as unknown as AbortSignal;
      let ran = false;
      expect(() => executor.run(() => void (ran = true), { signal })).to.throw('cannot listen');
      running.resolve();
      await executor.onIdle();
      expect(ran).to.equal(false);
      expect(executor.stats).to.include({ completed: 1, pending: 0 });
    });
  });

  describe('consumers that fail', () => {
    it('an error thrown inside an asCompleted loop propagates unchanged; the futures and the executor carry on', async () => {
      const executor = pool({ maxWorkers: 2 });
      const release = gate<string>();
      const a = executor.submit(() => 'a');
      const b = executor.submit(() => release.promise);
      const error = new Error('consumer failure');
      const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
      await flush(1); // mocha starts its own test timer once the test has returned its promise
      const before = timers();
      const iterator = asCompleted([a, b], { timeout: 60_000 });
      expect(timers()).to.equal(before + 1);
      const unhandled = await collectingUnhandled(async () => {
        let caught: unknown;
        try {
          for await (const completion of iterator) {
            void completion;
            throw error;
          }
        } catch (thrown) {
          caught = thrown;
        }
        expect(caught).to.equal(error);
        expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
        expect(timers()).to.equal(before);
        release.resolve('b');
        expect(await b).to.equal('b');
      });
      expect(unhandled).to.deep.equal([]);
    });
  });

  describe('tasks that wait on their own executor', () => {
    it('wait forever when no slot is free (a deadlock, as in Python); cancelling the inner future frees both', async () => {
      const executor = pool({ maxWorkers: 1 });
      let inner: Future<string> | undefined;
      const outer = executor.submit(() => {
        inner = executor.submit(() => 'inner');
        return inner;
      });
      await flush();
      expect([outer.state, inner!.state]).to.deep.equal(['running', 'pending']);
      inner!.cancel();
      expect(await outer.exception()).to.be.instanceOf(CancelledError);
      await executor.onIdle();
      expect(executor.stats).to.include({ failed: 1, cancelled: 1, running: 0, pending: 0 });
    });
  });

  describe('failures nobody observes', () => {
    it('raise no unhandled rejection: rejected, timed out and cancelled futures, falsy errors included', async () => {
      const unhandled = await collectingUnhandled(async () => {
        const executor = pool({ maxWorkers: 2 });
        executor.submit(() => Promise.reject(undefined));
        executor.submit(() => {
          throw null;
        });
        const timedOut = executor.run(() => new Promise(() => {}), { timeout: 0 });
        executor.run(() => new Promise(() => {})).cancel(0);
        executor.submit(() => 'queued').cancel();
        // exception() waits without creating a rejection: the timed-out future stays unobserved.
        expect(await timedOut.exception()).to.be.instanceOf(TimeoutError);
        await executor.shutdown({ wait: false });
      });
      expect(unhandled).to.deep.equal([]);
    });
  });
});
