import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  BrokenExecutorError,
  CancelledError,
  Executor,
  ExecutorShutdownError,
  Future,
  TaskPoolExecutor,
  TimeoutError,
  type ExecutorOptions,
  type RunOptions,
} from '../lib/index.js';
import type { Item, WorkItem } from '../lib/work-item.js';
import { FifoQueue, PriorityQueue } from '../lib/internal/queue.js';
import { cancelTimer, startTimer } from '../lib/internal/timers.js';
import { flush, gate, instrumented, pool, track, watchingTimers, type Gate } from './helpers.js';
import { rejectionOf, unhandledRejectionsDuring } from './fixtures.js';

/** A deterministic permutation of 0..n-1 (a small LCG: same order on every run). */
function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let state = seed;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Waits for a timer of `ms` to fire (a never-settling future's `result(ms)`), without sleeping in a test of timing. */
async function timerTurn(ms: number): Promise<void> {
  const never = Future.from(new Promise(() => {}));
  await never.result(ms).catch(() => undefined);
}

/** `global.gc`, exposing it at run time when node was started without `--expose-gc`. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('TaskPoolExecutor', () => {
  describe('submit', () => {
    it('runs a sync function and fulfills with its value', async () => {
      const executor = pool({ maxWorkers: 2 });
      const future = executor.submit((a: number, b: number) => a + b, 2, 3);
      expect(await future).to.equal(5);
      expect(future.state).to.equal('fulfilled');
    });

    it('is running when submit returns, and its function is called from a microtask, never inside submit', async () => {
      const executor = pool({ maxWorkers: 1 });
      let started = false;
      const future = executor.submit(async () => {
        started = true;
        await new Promise(() => {});
      });
      expect(future.state).to.equal('running');
      expect(executor.stats).to.include({ running: 1, pending: 0 });
      expect(started).to.equal(false);
      await Promise.resolve();
      expect(started).to.equal(true);
    });

    it('lets a task read its own future: `const f = pool.submit(() => f.cancel())` cancels it', async () => {
      const executor = pool({ maxWorkers: 1 });
      const seen: unknown[] = [];
      const future: Future<unknown> = executor.submit(() => {
        seen.push(future.state, future.cancel('from inside'), future.state);
        return 'value';
      });
      const error = await rejectionOf(future);
      expect(seen).to.deep.equal(['running', true, 'cancelled']);
      expect(error).to.be.instanceOf(CancelledError).and.include({ message: 'from inside', cause: 'from inside' });
      await executor.onIdle();
      expect(executor.stats).to.include({ cancelled: 1, completed: 0, running: 0 });
    });

    it('runs sync tasks that submit sync tasks 5,000 deep without overflowing the stack: onIdle resolves, none stays running', async () => {
      // Every slot free: were a task called inside the submit that scheduled it, each level would nest a stack frame deeper.
      const executor = pool({ maxWorkers: 10_000 });
      const futures: Future<number>[] = [];
      const nest = (depth: number): number => {
        if (depth < 5_000) futures.push(executor.submit(nest, depth + 1));
        return depth;
      };
      futures.push(executor.submit(nest, 0));
      await executor.onIdle();
      expect(futures).to.have.length(5_001);
      expect(futures.filter((future) => future.state !== 'fulfilled')).to.deep.equal([]);
      expect(await Promise.all(futures)).to.deep.equal(Array.from({ length: 5_001 }, (_, i) => i));
      expect(executor.stats).to.include({ completed: 5_001, running: 0, pending: 0 });
    });

    it('passes the arguments and no this', async () => {
      const executor = pool();
      const future = executor.submit(function (this: unknown, ...args: unknown[]) {
        return { self: this, args };
      }, 1, 'two', undefined);
      expect(await future).to.deep.equal({ self: undefined, args: [1, 'two', undefined] });
    });

    it('turns a synchronous throw into a rejected future', async () => {
      const executor = pool();
      const error = new Error('boom');
      const future = executor.submit(() => {
        throw error;
      });
      expect(await future.exception()).to.equal(error);
      expect(future.state).to.equal('rejected');
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

    it('unwraps a returned thenable or future', async () => {
      const executor = pool({ maxWorkers: 2 });
      const thenable = { then: (resolve: (value: string) => void) => resolve('thenable') };
      expect(await executor.submit(() => thenable as PromiseLike<string>)).to.equal('thenable');
      const inner = gate<number>();
      const innerFuture = executor.submit(() => inner.promise);
      const outer = executor.submit(() => innerFuture);
      inner.resolve(8);
      expect(await outer).to.equal(8);
    });

    it('throws ExecutorShutdownError after shutdown, naming the executor and what to do instead', async () => {
      const executor = pool({ name: 'fetchers' });
      await executor.shutdown();
      expect(() => executor.submit(() => 1))
        .to.throw(ExecutorShutdownError)
        .with.property('message', "Cannot submit to executor 'fetchers' as it has been shut down: submit before shutdown(), or create a new executor");
    });

    it('names itself after its class by default', () => {
      const executor = pool();
      expect(executor.name).to.match(/^TaskPoolExecutor-\d+$/);
      expect(pool().name).not.to.equal(executor.name);
    });
  });

  describe('concurrency', () => {
    for (const maxWorkers of [1, 2, 5]) {
      it(`never has more than ${maxWorkers} tasks in flight, released in any order, started FIFO`, async () => {
        const executor = pool({ maxWorkers });
        const task = instrumented();
        const count = 12;
        const futures = Array.from({ length: count }, (_, i) => executor.submit(task.fn, i));
        await flush();
        expect(task.inFlight).to.equal(maxWorkers);
        expect(executor.stats).to.deep.include({ running: maxWorkers, pending: count - maxWorkers });
        const order = shuffled(count, maxWorkers * 7);
        while (order.length > 0) {
          const next = order.findIndex((id) => task.gates[id] !== undefined);
          const [id] = order.splice(next, 1);
          task.release(id!);
          await flush();
          expect(task.inFlight).to.be.at.most(maxWorkers);
        }
        expect(await Promise.all(futures)).to.deep.equal(Array.from({ length: count }, (_, i) => i));
        expect(task.maxInFlight).to.equal(maxWorkers);
        expect(task.started).to.deep.equal(Array.from({ length: count }, (_, i) => i));
        expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: count, failed: 0, cancelled: 0 });
      });
    }

    it('keeps the bound with sync, failing and async tasks mixed', async () => {
      const executor = pool({ maxWorkers: 2 });
      let inFlight = 0;
      let maxInFlight = 0;
      const gates: Gate[] = [];
      const task = (kind: number): unknown => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (kind === 0) {
          inFlight--;
          return 'sync';
        }
        if (kind === 1) {
          inFlight--;
          throw new Error('sync failure');
        }
        const g = gate();
        gates.push(g);
        return g.promise.finally(() => inFlight--);
      };
      const futures = [2, 0, 1, 2, 0, 2, 1, 0, 2].map((kind) => executor.submit(task, kind));
      await flush();
      while (gates.length > 0) {
        gates.shift()!.resolve();
        await flush();
      }
      await executor.onIdle();
      expect(maxInFlight).to.equal(2);
      expect(futures.map((f) => f.state)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    });

    it('keeps the bound and FIFO order when tasks and done callbacks submit more work', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      const first = executor.submit(task.fn, 0);
      executor.submit(task.fn, 1);
      executor.submit(task.fn, 2);
      first.addDoneCallback(() => void executor.submit(task.fn, 3));
      const nested = executor.submit(() => executor.submit(task.fn, 4));
      await flush();
      task.release(0);
      await flush();
      expect(task.started).to.deep.equal([0, 1, 2]);
      // The nested task holds its slot while it awaits task 4, queued behind task 3.
      for (const id of [1, 2, 3]) {
        task.release(id);
        await flush();
      }
      expect(task.started).to.deep.equal([0, 1, 2, 3, 4]);
      task.release(4);
      expect(await nested).to.equal(4);
      await executor.onIdle();
      expect(task.maxInFlight).to.equal(2);
    });

    it('runs a long queue of sync tasks without growing the stack', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const futures = Array.from({ length: 20_000 }, (_, i) => executor.submit(() => i));
      blocker.resolve();
      await executor.onIdle();
      expect(futures.at(-1)!.state).to.equal('fulfilled');
      expect(executor.stats.completed).to.equal(20_001);
    });
  });

  describe('priority', () => {
    it('starts queued tasks by priority, higher first, then FIFO', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const order: string[] = [];
      const record = (name: string) => () => void order.push(name);
      executor.run(record('low'), { priority: -1 });
      executor.run(record('a'));
      executor.run(record('high'), { priority: 5 });
      executor.run(record('b'), { priority: 0 });
      executor.run(record('mid'), { priority: 2.5 });
      executor.run(record('high2'), { priority: 5 });
      executor.run(record('low2'), { priority: -1 });
      blocker.resolve();
      await executor.onIdle();
      expect(order).to.deep.equal(['high', 'high2', 'mid', 'a', 'b', 'low', 'low2']);
    });

    it('does not preempt a running task and orders work queued later too', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      executor.run(() => task.fn(0), { priority: -10 });
      executor.run(() => task.fn(1), { priority: -5 });
      executor.run(() => task.fn(2), { priority: 10 });
      await flush();
      expect(task.started).to.deep.equal([0]);
      task.release(0);
      await flush();
      executor.run(() => task.fn(3), { priority: 1 });
      task.release(2);
      await flush();
      task.release(3);
      await flush();
      task.release(1);
      await executor.onIdle();
      expect(task.started).to.deep.equal([0, 2, 3, 1]);
    });
  });

  describe('cancel', () => {
    it('cancels a pending task: it never starts', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      executor.submit(task.fn, 0);
      const second = executor.submit(task.fn, 1);
      const third = executor.submit(task.fn, 2);
      expect(second.cancel()).to.equal(true);
      expect(second.state).to.equal('cancelled');
      expect(executor.stats).to.deep.include({ pending: 1, running: 1, cancelled: 1 });
      await flush();
      task.release(0);
      await flush();
      task.release(2);
      await executor.onIdle();
      expect(task.started).to.deep.equal([0, 2]);
      expect(await third).to.equal(2);
      expect(await second.exception().catch((e: unknown) => e)).to.be.instanceOf(CancelledError);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 2, failed: 0, cancelled: 1 });
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
      expect(executor.stats).to.deep.include({ running: 1, pending: 1, cancelled: 1 });
      task.release(0);
      await flush();
      expect(first.state).to.equal('cancelled');
      expect(second.state).to.equal('running');
      task.release(1);
      expect(await second).to.equal(1);
      expect(task.maxInFlight).to.equal(1);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 0, cancelled: 1 });
    });

    it("aborts the running task's signal with the future's CancelledError, the reason as its cause", async () => {
      const executor = pool({ maxWorkers: 2, name: 'api' });
      const seen: unknown[] = [];
      const forever = (context: { signal: AbortSignal }) =>
        new Promise((_, reject) => {
          context.signal.addEventListener('abort', () => {
            seen.push(context.signal.reason);
            reject(context.signal.reason);
          });
        });
      const plain = executor.run(forever);
      const reason = { custom: true };
      const withReason = executor.run(forever);
      await flush();
      plain.cancel();
      withReason.cancel(reason);
      expect(seen[0]).to.be.instanceOf(CancelledError).and.include({ message: "Task on executor 'api' cancelled while running" }).and.not.have.property('cause');
      expect(seen[1]).to.be.instanceOf(CancelledError).and.include({ message: "Task on executor 'api' cancelled while running", cause: reason });
      expect(await rejectionOf(plain)).to.equal(seen[0]);
      expect(await rejectionOf(withReason)).to.equal(seen[1]);
      await executor.onIdle();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 2 });
    });

    it('ignores the late outcome of a cancelled running task, a rejection too', async () => {
      const executor = pool({ maxWorkers: 1 });
      const late = gate();
      const future = executor.submit(() => late.promise);
      await flush();
      future.cancel();
      const seen = await unhandledRejectionsDuring(() => late.reject(new Error('late')));
      expect(seen).to.deep.equal([]);
      expect(future.cancelled()).to.equal(true);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 1 });
    });

    it('returns false for a settled future and true again for a cancelled one', async () => {
      const executor = pool();
      const done = executor.submit(() => 1);
      await flush();
      expect(done.cancel()).to.equal(false);
      const failed = executor.submit(() => Promise.reject(new Error('x')));
      await flush();
      expect(failed.cancel()).to.equal(false);
      const blocker = gate();
      const running = executor.submit(() => blocker.promise);
      await flush();
      running.cancel();
      expect(running.cancel()).to.equal(true);
      blocker.resolve();
      await executor.onIdle();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 1 });
    });

    it('drops thousands of cancelled queued tasks without starting any', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      let started = 0;
      const futures = Array.from({ length: 2_500 }, () => executor.submit(() => void started++));
      const kept = executor.submit(() => 'kept');
      for (const future of futures) future.cancel();
      expect(executor.stats).to.deep.include({ pending: 1, running: 1, cancelled: 2_500 });
      const later = executor.submit(() => 'later');
      blocker.resolve();
      expect(await kept).to.equal('kept');
      expect(await later).to.equal('later');
      expect(started).to.equal(0);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 3, failed: 0, cancelled: 2_500 });
    });
  });

  describe('run', () => {
    it('hands the task a context whose signal is the future signal', async () => {
      const executor = pool();
      let signal: AbortSignal | undefined;
      const future = executor.run((context) => {
        signal = context.signal;
        return 'ran';
      });
      expect(await future).to.equal('ran');
      expect(signal).to.equal(future.signal);
      expect(Object.keys(signal!)).to.deep.equal([]);
    });

    it('times out a task that never settles, keeping its slot', async () => {
      const executor = pool({ maxWorkers: 1, name: 'slow' });
      let signal: AbortSignal | undefined;
      const forever = gate();
      const future = executor.run((context) => {
        signal = context.signal;
        return forever.promise;
      }, { timeout: 5 });
      const next = executor.submit(() => 'next');
      let abortedInCallback: boolean | undefined;
      future.addDoneCallback((f) => (abortedInCallback = f.signal.aborted));
      const error = await future.exception();
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as Error).message).to.equal("Task on executor 'slow' timed out after 5 ms");
      expect(future.state).to.equal('rejected');
      expect(abortedInCallback).to.equal(true);
      expect(signal!.aborted).to.equal(true);
      expect(signal!.reason).to.equal(error);
      expect(next.state).to.equal('pending');
      expect(executor.stats).to.deep.include({ running: 1, pending: 1, failed: 1 });
      forever.resolve();
      expect(await next).to.equal('next');
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 0 });
    });

    it('times out a task whose signal nobody read: the signal is aborted when read', async () => {
      const executor = pool({ maxWorkers: 1 });
      const forever = gate();
      const future = executor.submit(() => forever.promise);
      const timedOut = executor.run(() => forever.promise, { timeout: 0 });
      forever.resolve();
      await future;
      const error = await timedOut.exception();
      expect(timedOut.signal.reason).to.equal(error);
    });

    it('counts the timeout from the start, not from submission', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const queued = executor.run(() => 'quick', { timeout: 1 });
      await timerTurn(5);
      expect(queued.state).to.equal('pending');
      blocker.resolve();
      expect(await queued).to.equal('quick');
    });

    it('applies taskTimeout to submit and run, queued or not; a per-task timeout overrides it', async () => {
      const executor = pool({ maxWorkers: 1, taskTimeout: 1 });
      const forever = new Promise(() => {});
      const first = executor.submit(() => forever);
      const queued = executor.submit(() => forever);
      const overridden = executor.run(() => forever, { timeout: Infinity });
      expect(await first.exception()).to.be.instanceOf(TimeoutError);
      expect(first.state).to.equal('rejected');
      expect(queued.state).to.equal('pending');
      expect(overridden.state).to.equal('pending');
      expect(executor.stats).to.deep.include({ running: 1, failed: 1 });
    });

    it('applies a per-task timeout to a task with a signal that starts at once', async () => {
      const executor = pool({ maxWorkers: 1 });
      const forever = gate();
      const future = executor.run(() => forever.promise, { timeout: 0, signal: new AbortController().signal });
      expect(future.state).to.equal('running');
      expect(await future.exception()).to.be.instanceOf(TimeoutError);
      forever.resolve();
      await executor.onIdle();
    });

    it('applies a per-task timeout to a queued task', async () => {
      const executor = pool({ maxWorkers: 1, taskTimeout: 1_000_000 });
      const blocker = gate();
      const forever = gate();
      executor.submit(() => blocker.promise);
      const queued = executor.run(() => forever.promise, { timeout: 0 });
      blocker.resolve();
      expect(await queued.exception()).to.be.instanceOf(TimeoutError);
      forever.resolve();
      await executor.onIdle();
    });

    it('leaves no timer behind when a task with a timeout finishes first', async () => {
      const timers = watchingTimers();
      try {
        const executor = pool({ maxWorkers: 1, taskTimeout: 60_000 });
        const done = gate();
        const future = executor.submit(() => done.promise);
        executor.run(() => 'sync', { timeout: 60_000 });
        await flush();
        expect(timers.live()).to.equal(1);
        done.resolve();
        await future;
        await executor.onIdle();
        expect(timers.live()).to.equal(0);
      } finally {
        timers.restore();
      }
    });

    it('leaves no timer behind when a running task with a 30-minute timeout is cancelled and never settles', async () => {
      const timers = watchingTimers();
      try {
        const executor = pool({ maxWorkers: 2, taskTimeout: 30 * 60_000 });
        const byRun = executor.run(() => new Promise(() => {}), { timeout: 30 * 60_000 + 1 });
        const bySubmit = executor.submit(() => new Promise(() => {}));
        await flush();
        expect([byRun.state, bySubmit.state]).to.deep.equal(['running', 'running']);
        expect(timers.live()).to.equal(2);
        byRun.cancel();
        expect(timers.live()).to.equal(1);
        bySubmit.cancel('not needed');
        expect(timers.live()).to.equal(0);
        // The slots stay taken by tasks that never settle, and nothing will ever fire.
        expect(executor.stats).to.include({ running: 2, cancelled: 2 });
      } finally {
        timers.restore();
      }
    });

    it('cancels the future when its signal aborts, with a CancelledError caused by the reason', async () => {
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
      expect(executor.stats.pending).to.equal(0);
      blocker.resolve();
      await executor.onIdle();
      expect(started).to.equal(false);
      const error = await future.exception().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CancelledError).and.include({ message: `Task on executor '${executor.name}' cancelled before it started`, cause: reason });
    });

    it("cancels a running task when its signal aborts: the task signal aborts with the future's CancelledError", async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const forever = gate();
      let taskSignal: AbortSignal | undefined;
      const future = executor.run(({ signal }) => {
        taskSignal = signal;
        return forever.promise;
      }, { signal: controller.signal });
      expect(future.state).to.equal('running');
      await flush();
      controller.abort('user left');
      expect(future.state).to.equal('cancelled');
      expect(taskSignal!.reason).to.be.instanceOf(CancelledError).and.include({ message: 'user left', cause: 'user left' });
      expect(executor.stats.running).to.equal(1);
      forever.resolve();
      await executor.onIdle();
      expect(await rejectionOf(future)).to.equal(taskSignal!.reason);
    });

    it('cancels at once with an already aborted signal, and never starts the task', async () => {
      const executor = pool();
      let started = false;
      const reason = new Error('before');
      const future = executor.run(() => void (started = true), { signal: AbortSignal.abort(reason) });
      expect(future.cancelled()).to.equal(true);
      await executor.onIdle();
      expect(started).to.equal(false);
      expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ cause: reason });
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 1 });
    });

    it('keeps one abort listener on a shared signal, removed once every future settles, whatever the outcome', async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const { signal } = controller;
      const blocker = gate();
      const futures = [
        executor.run(() => blocker.promise, { signal }),
        executor.run(() => 'value', { signal }),
        executor.run(() => Promise.reject(new Error('x')), { signal }),
        executor.run(() => 'cancelled', { signal }),
        executor.run(() => 'shut down', { signal }),
      ];
      expect(getEventListeners(signal, 'abort')).to.have.length(1);
      futures[3]!.cancel();
      blocker.resolve();
      await flush();
      const pendingOne = executor.run(() => new Promise(() => {}), { signal });
      executor.run(() => 'queued', { signal });
      await executor.shutdown({ wait: false, cancelFutures: true });
      pendingOne.cancel();
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
    });

    it('keeps one abort listener on a signal shared by many queued tasks: no MaxListenersExceededWarning, and none left once they settle', async () => {
      const executor = pool({ maxWorkers: 1 });
      const warnings: Error[] = [];
      const onWarning = (warning: Error): void => void warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const blocker = gate();
        executor.submit(() => blocker.promise);
        const shared = new AbortController();
        const completing = Array.from({ length: 20 }, (_, i) => executor.run(() => i, { signal: shared.signal }));
        const aborted = new AbortController();
        const cancelling = Array.from({ length: 20 }, (_, i) => executor.run(() => i, { signal: aborted.signal }));
        expect(getEventListeners(shared.signal, 'abort')).to.have.length(1);
        expect(getEventListeners(aborted.signal, 'abort')).to.have.length(1);
        aborted.abort('stop');
        expect(getEventListeners(aborted.signal, 'abort')).to.have.length(0);
        for (const future of cancelling) expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ cause: 'stop' });
        blocker.resolve();
        expect(await Promise.all(completing)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
        expect(getEventListeners(shared.signal, 'abort')).to.have.length(0);
        await flush(); // a warning is emitted on the next tick
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.map((warning) => warning.name)).not.to.include('MaxListenersExceededWarning');
    });

    it('reads each run() option once: a getter whose second value is invalid changes nothing', async () => {
      const executor = pool({ maxWorkers: 1 });
      const controller = new AbortController();
      const reads = { signal: 0, timeout: 0, priority: 0 };
      const options = {
        get signal() {
          return reads.signal++ === 0 ? controller.signal : 'not a signal';
        },
        get timeout() {
          return reads.timeout++ === 0 ? 60_000 : -1;
        },
        get priority() {
          return reads.priority++ === 0 ? 1 : NaN;
        },
      } as unknown as RunOptions;
      const blocker = gate();
      const future = executor.run(() => blocker.promise.then(() => 'done'), options);
      expect(reads).to.deep.equal({ signal: 1, timeout: 1, priority: 1 });
      await timerTurn(5);
      expect(future.state).to.equal('running');
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
      blocker.resolve();
      expect(await future).to.equal('done');
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });

    it('accepts any AbortSignal-like object', async () => {
      const executor = pool();
      const listeners: (() => void)[] = [];
      const signal = {
        aborted: false,
        reason: undefined as unknown,
        addEventListener: (_type: string, listener: () => void) => void listeners.push(listener),
        removeEventListener: (_type: string, listener: () => void) => void listeners.splice(listeners.indexOf(listener), 1),
      };
      const forever = gate();
      const future = executor.run(() => forever.promise, { signal: signal as unknown as AbortSignal });
      expect(listeners).to.have.length(1);
      signal.aborted = true;
      signal.reason = 'fake';
      listeners[0]!();
      expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ message: 'fake', cause: 'fake' });
      expect(listeners).to.have.length(0);
      forever.resolve();
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
      expect(executor.isShutdown).to.equal(true);
      await flush();
      task.release(0);
      await flush();
      expect(finished).to.equal(false);
      task.release(1);
      await done;
      expect([a.state, b.state]).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it('with wait: false, resolves at once; queued tasks still run', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      executor.submit(task.fn, 0);
      const queued = executor.submit(task.fn, 1);
      let resolved = false;
      void executor.shutdown({ wait: false }).then(() => (resolved = true));
      await flush();
      expect(resolved).to.equal(true);
      task.release(0);
      await flush();
      task.release(1);
      expect(await queued).to.equal(1);
    });

    it('cancels pending futures with cancelFutures, and is idempotent', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      const a = executor.submit(task.fn, 0);
      const b = executor.submit(task.fn, 1);
      const c = executor.submit(task.fn, 2);
      const done = executor.shutdown({ cancelFutures: true });
      expect(b.cancelled()).to.equal(true);
      expect(c.cancelled()).to.equal(true);
      expect(a.running()).to.equal(true);
      await executor.shutdown({ wait: false });
      const again = executor.shutdown({ cancelFutures: true });
      await flush();
      task.release(0);
      await Promise.all([done, again]);
      await executor.shutdown();
      expect(a.state).to.equal('fulfilled');
      expect(task.started).to.deep.equal([0]);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 0, cancelled: 2 });
    });

    it('waits until a cancelled or timed-out running task really settles', async () => {
      const executor = pool({ maxWorkers: 2 });
      const one = gate();
      const two = gate();
      const cancelled = executor.submit(() => one.promise);
      const timed = executor.run(() => two.promise, { timeout: 0 });
      await flush();
      cancelled.cancel();
      await timed.exception();
      let finished = false;
      const done = executor.shutdown().then(() => (finished = true));
      one.resolve();
      await flush();
      expect(finished).to.equal(false);
      two.resolve();
      await done;
    });

    it('resolves at once when nothing was submitted', async () => {
      await pool().shutdown();
    });

    it('refuses run and map after shutdown too', async () => {
      const executor = pool({ name: 'closed' });
      void executor.shutdown({ wait: false });
      expect(() => executor.run(() => 1)).to.throw(ExecutorShutdownError, /'closed'/);
      expect(() => executor.map((x: number) => x, [1])).to.throw(ExecutorShutdownError, /'closed'/);
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

    it('supports await using: waits for the tasks at block exit', async () => {
      const blocker = gate();
      let future: Future<string> | undefined;
      let executor: TaskPoolExecutor | undefined;
      const block = (async () => {
        await using scoped = new TaskPoolExecutor({ maxWorkers: 1 });
        executor = scoped;
        future = scoped.submit(() => blocker.promise.then(() => 'disposed after me'));
      })();
      await flush();
      expect(executor!.isShutdown).to.equal(true);
      expect(future!.state).to.equal('running');
      blocker.resolve();
      await block;
      expect(future!.state).to.equal('fulfilled');
    });

    it('rejects bad options, naming them', () => {
      const executor = pool({ name: 'opts' });
      expect(() => executor.shutdown(null as never)).to.throw(TypeError, "Cannot shut down executor 'opts' as 'options' must be an object: current value is null");
      expect(() => executor.shutdown(true as never)).to.throw(TypeError, /'options' must be an object: current value is true/);
      expect(() => executor.shutdown({ wait: 'yes' as never })).to.throw(TypeError, `Cannot shut down executor 'opts' as 'wait' must be a boolean: current value is "yes"`);
      expect(() => executor.shutdown({ cancelFutures: 1 as never })).to.throw(TypeError, /'cancelFutures' must be a boolean: current value is 1/);
      expect(() => executor.shutdown({ cancel_futures: true } as never)).to.throw(TypeError, /unknown key "cancel_futures": the known keys are 'wait', 'cancelFutures'/);
      expect(executor.isShutdown).to.equal(false);
    });
  });

  describe('stats', () => {
    it('counts pending, running, completed, failed and cancelled', async () => {
      const executor = pool({ maxWorkers: 2 });
      const task = instrumented();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 0 });
      const futures = [0, 1, 2, 3, 4].map((id) => executor.submit(task.fn, id));
      expect(executor.stats).to.deep.equal({ pending: 3, running: 2, retrying: 0, completed: 0, failed: 0, cancelled: 0 });
      futures[4]!.cancel();
      expect(executor.stats).to.deep.equal({ pending: 2, running: 2, retrying: 0, completed: 0, failed: 0, cancelled: 1 });
      await flush();
      task.release(0);
      await flush();
      expect(executor.stats).to.deep.equal({ pending: 1, running: 2, retrying: 0, completed: 1, failed: 0, cancelled: 1 });
      task.fail(1, new Error('x'));
      await flush();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 2, retrying: 0, completed: 1, failed: 1, cancelled: 1 });
      futures[2]!.cancel();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 2, retrying: 0, completed: 1, failed: 1, cancelled: 2 });
      task.release(2);
      task.release(3);
      await executor.onIdle();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 2, failed: 1, cancelled: 2 });
    });

    it('is up to date inside done callbacks', async () => {
      const executor = pool({ maxWorkers: 1 });
      const seen: Record<string, unknown> = {};
      const watch = (name: string, future: Future<unknown>): void => future.addDoneCallback(() => (seen[name] = executor.stats));
      const blocker = gate();
      const never = gate();
      const running = executor.submit(() => blocker.promise);
      watch('fulfilled', running);
      const queued = executor.submit(() => 'never');
      watch('cancelledPending', queued);
      queued.cancel();
      blocker.resolve();
      await running;
      const failing = executor.submit(() => Promise.reject(new Error('x')));
      watch('rejected', failing);
      await failing.exception();
      const cancelled = executor.submit(() => never.promise);
      watch('cancelledRunning', cancelled);
      await flush();
      cancelled.cancel();
      never.resolve();
      await executor.onIdle();
      const timedOut = executor.run(() => new Promise(() => {}), { timeout: 0 });
      watch('timedOut', timedOut);
      await timedOut.exception();
      expect(seen).to.deep.equal({
        cancelledPending: { pending: 0, running: 1, retrying: 0, completed: 0, failed: 0, cancelled: 1 },
        fulfilled: { pending: 0, running: 0, retrying: 0, completed: 1, failed: 0, cancelled: 1 },
        rejected: { pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 1 },
        cancelledRunning: { pending: 0, running: 1, retrying: 0, completed: 1, failed: 1, cancelled: 2 },
        timedOut: { pending: 0, running: 1, retrying: 0, completed: 1, failed: 2, cancelled: 2 },
      });
    });

    it('returns a snapshot', async () => {
      const executor = pool();
      const before = executor.stats;
      executor.submit(() => 1);
      await executor.onIdle();
      expect(before.completed).to.equal(0);
      expect(executor.stats.completed).to.equal(1);
      expect(executor.stats).not.to.equal(executor.stats);
    });
  });

  describe('onIdle', () => {
    it('resolves at once when idle', async () => {
      await pool().onIdle();
    });

    it('resolves every waiter when nothing is pending or running', async () => {
      const executor = pool({ maxWorkers: 1 });
      const task = instrumented();
      executor.submit(task.fn, 0);
      executor.submit(task.fn, 1);
      let idle = 0;
      const waiters = [executor.onIdle(), executor.onIdle()].map((p) => p.then(() => idle++));
      await flush();
      task.release(0);
      await flush();
      expect(idle).to.equal(0);
      task.release(1);
      await Promise.all(waiters);
      expect(idle).to.equal(2);
    });

    it('resolves when the last queued task is cancelled and nothing runs', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      const running = executor.submit(() => blocker.promise);
      const queued = executor.submit(() => 1);
      let idle = false;
      const waiter = executor.onIdle().then(() => (idle = true));
      await flush();
      queued.cancel();
      await flush();
      expect(idle).to.equal(false);
      running.cancel();
      await flush();
      expect(idle).to.equal(false);
      blocker.resolve();
      await waiter;
      expect(idle).to.equal(true);
    });

    it('can be awaited again after more work', async () => {
      const executor = pool();
      const one = gate();
      executor.submit(() => one.promise);
      const first = executor.onIdle();
      one.resolve();
      await first;
      const two = gate();
      executor.submit(() => two.promise);
      const second = executor.onIdle();
      two.resolve();
      await second;
    });
  });

  describe('detached methods', () => {
    it('submit, run, map, shutdown and onIdle work without their object', async () => {
      const { submit, run, map, shutdown, onIdle } = pool({ maxWorkers: 2 });
      expect(await submit((x: string) => x, 'x')).to.equal('x');
      expect(await run(() => 'ran')).to.equal('ran');
      const mapped: number[] = [];
      for await (const value of map((n: number) => n * 2, [1, 2, 3])) mapped.push(value);
      expect(mapped).to.deep.equal([2, 4, 6]);
      await onIdle();
      await shutdown();
      expect(() => submit(() => 1)).to.throw(ExecutorShutdownError);
    });
  });

  describe('async context', () => {
    it('runs each queued task in the async context of its submit call', async () => {
      const executor = pool({ maxWorkers: 1 });
      const storage = new AsyncLocalStorage<string>();
      const blocker = gate();
      executor.submit(() => blocker.promise);
      const futures = ['a', 'b', 'c'].map((name) => storage.run(name, () => executor.submit(async () => storage.getStore())));
      blocker.resolve();
      expect(await Promise.all(futures)).to.deep.equal(['a', 'b', 'c']);
    });

    it('keeps the context of each task when it is started by another task settling in another context', async () => {
      const executor = pool({ maxWorkers: 1 });
      const storage = new AsyncLocalStorage<string>();
      const gates = [gate(), gate(), gate()];
      const seen: (string | undefined)[] = [];
      const task = (index: number) => async (): Promise<string | undefined> => {
        seen.push(storage.getStore());
        await gates[index]!.promise;
        return storage.getStore();
      };
      const futures = [
        storage.run('first', () => executor.submit(task(0))),
        storage.run('second', () => executor.run(task(1), { timeout: 1_000_000 })),
        storage.run('third', () => executor.run(task(2), { signal: new AbortController().signal, priority: 1 })),
      ];
      const outside = executor.submit(() => storage.getStore());
      storage.run('releaser', () => gates[0]!.resolve());
      await flush();
      gates[2]!.resolve();
      await flush();
      gates[1]!.resolve();
      expect(await Promise.all(futures)).to.deep.equal(['first', 'second', 'third']);
      expect(seen).to.deep.equal(['first', 'third', 'second']);
      expect(await outside).to.equal(undefined);
    });

    it('runs a task that starts at once in the caller context', async () => {
      const executor = pool();
      const storage = new AsyncLocalStorage<number>();
      expect(await storage.run(7, () => executor.submit(() => storage.getStore()))).to.equal(7);
    });

    it('captures no context where the runtime has none', async () => {
      const proc = process as { getBuiltinModule?: unknown };
      const original = proc.getBuiltinModule;
      type AsyncContextModule = typeof import('../lib/internal/async-context.js');
      const load = (name: string): Promise<AsyncContextModule> =>
        import(new URL(`../lib/internal/async-context.js?${name}`, import.meta.url).href) as Promise<AsyncContextModule>;
      try {
        proc.getBuiltinModule = () => {
          throw new Error('no such module');
        };
        const throwing = await load('throwing');
        proc.getBuiltinModule = undefined;
        const absent = await load('absent');
        for (const module of [throwing, absent]) {
          expect(module.captureContext()).to.equal(undefined);
        }
      } finally {
        proc.getBuiltinModule = original;
      }
    });
  });

  describe('validation', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
      it(`rejects maxWorkers ${bad} with a RangeError naming it`, () => {
        expect(() => new TaskPoolExecutor({ maxWorkers: bad })).to.throw(
          RangeError,
          `Cannot create TaskPoolExecutor as 'maxWorkers' must be a positive integer: current value is ${bad}`,
        );
      });
    }
    for (const [bad, shown] of [['4', '"4"'], [true, 'true'], [4n, '4n'], [{ n: 4 }, '{"n":4}']] as const) {
      it(`rejects maxWorkers ${shown} with a TypeError naming it`, () => {
        expect(() => new TaskPoolExecutor({ maxWorkers: bad as never })).to.throw(TypeError, `'maxWorkers' must be a positive integer: current value is ${shown}`);
      });
    }

    it('falls back to navigator.hardwareConcurrency, then 1, where node:os is missing', () => {
      const proc = process as { getBuiltinModule?: unknown };
      const original = proc.getBuiltinModule;
      const global = globalThis as { navigator?: unknown };
      const navigatorDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
      try {
        proc.getBuiltinModule = () => undefined;
        Object.defineProperty(globalThis, 'navigator', { value: { hardwareConcurrency: 2 }, configurable: true, writable: true });
        expect(new TaskPoolExecutor().maxWorkers).to.equal(6);
        global.navigator = { hardwareConcurrency: 64 };
        expect(new TaskPoolExecutor().maxWorkers).to.equal(32);
        global.navigator = undefined;
        expect(new TaskPoolExecutor().maxWorkers).to.equal(5);
      } finally {
        proc.getBuiltinModule = original;
        if (navigatorDescriptor === undefined) delete global.navigator;
        else Object.defineProperty(globalThis, 'navigator', navigatorDescriptor);
      }
    });

    it('takes maxWorkers undefined, or null as Python takes None, as the default: min(32, cores + 4)', () => {
      const executor = new TaskPoolExecutor({ maxWorkers: undefined });
      expect(executor.maxWorkers).to.be.within(5, 32);
      expect(new TaskPoolExecutor().maxWorkers).to.equal(executor.maxWorkers);
      expect(new TaskPoolExecutor({ maxWorkers: null as never }).maxWorkers).to.equal(executor.maxWorkers);
    });

    it('rejects a bad taskTimeout', () => {
      expect(() => new TaskPoolExecutor({ taskTimeout: -1 })).to.throw(RangeError, "Cannot create TaskPoolExecutor as 'taskTimeout' must be a non-negative number of milliseconds: current value is -1");
      expect(() => new TaskPoolExecutor({ taskTimeout: NaN })).to.throw(RangeError, /'taskTimeout'.*NaN/);
      expect(() => new TaskPoolExecutor({ taskTimeout: '10' as never })).to.throw(TypeError, /'taskTimeout'.*"10"/);
      expect(new TaskPoolExecutor({ taskTimeout: 0 }).maxWorkers).to.be.a('number');
      expect(new TaskPoolExecutor({ taskTimeout: Infinity }).maxWorkers).to.be.a('number');
    });

    it('rejects a name that is not a string', () => {
      expect(() => new TaskPoolExecutor({ name: 7 as never })).to.throw(TypeError, "Cannot create TaskPoolExecutor as 'name' must be a string: current value is 7");
      expect(() => new TaskPoolExecutor({ name: Symbol('s') as never })).to.throw(TypeError, /current value is Symbol\(s\)/);
    });

    it('shows an unprintable value as its tag', () => {
      const circular: { self?: unknown } = {};
      circular.self = circular;
      expect(() => new TaskPoolExecutor({ maxWorkers: circular as never })).to.throw(TypeError, "'maxWorkers' must be a positive integer: current value is [object Object]");
      expect(() => pool().submit(Object.create(null) as never)).to.throw(TypeError, 'current value is {}');
    });

    it('rejects unknown option keys and options that are not an object', () => {
      expect(() => new TaskPoolExecutor({ maxWorker: 4 } as never)).to.throw(
        TypeError,
        "Cannot create TaskPoolExecutor as 'options' has an unknown key \"maxWorker\": the known keys are 'maxWorkers', 'name', 'taskTimeout'",
      );
      expect(() => new TaskPoolExecutor({ maxWorkers: 2, timeout: undefined } as ExecutorOptions)).to.throw(TypeError, /unknown key "timeout"/);
      expect(() => new TaskPoolExecutor(null as never)).to.throw(TypeError, "Cannot create TaskPoolExecutor as 'options' must be an object: current value is null");
      expect(() => new TaskPoolExecutor(4 as never)).to.throw(TypeError, /'options' must be an object: current value is 4/);
    });

    for (const [bad, shown] of [[42, '42'], ['f', '"f"'], [null, 'null'], [undefined, 'undefined'], [{}, '{}'], [Promise.resolve(), 'Promise {}']] as const) {
      it(`rejects a task ${shown} with a TypeError`, () => {
        const executor = pool({ name: 'checks' });
        expect(() => executor.submit(bad as never)).to.throw(TypeError, `Cannot submit to executor 'checks' as 'fn' must be a function: current value is ${shown}`);
        expect(() => executor.run(bad as never)).to.throw(TypeError, `Cannot run a task on executor 'checks' as 'task' must be a function: current value is ${shown}`);
        expect(executor.stats.pending + executor.stats.running).to.equal(0);
      });
    }

    it('rejects bad run options, naming each and its value', () => {
      const executor = pool({ name: 'opts' });
      const cases: [RunOptions, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, string][] = [
        [{ timeout: -1 }, RangeError, "Cannot run a task on executor 'opts' as 'timeout' must be a non-negative number of milliseconds: current value is -1"],
        [{ timeout: NaN }, RangeError, "'timeout' must be a non-negative number of milliseconds: current value is NaN"],
        [{ timeout: '5' as never }, TypeError, `'timeout' must be a non-negative number of milliseconds: current value is "5"`],
        [{ priority: NaN }, RangeError, "Cannot run a task on executor 'opts' as 'priority' must be a finite number: current value is NaN"],
        [{ priority: Infinity }, RangeError, "'priority' must be a finite number: current value is Infinity"],
        [{ priority: '1' as never }, TypeError, `'priority' must be a finite number: current value is "1"`],
        [{ signal: {} as never }, TypeError, "Cannot run a task on executor 'opts' as 'signal' must be an AbortSignal: current value is {}"],
        [{ signal: null as never }, TypeError, "'signal' must be an AbortSignal: current value is null"],
        [{ signal: 'abort' as never }, TypeError, `'signal' must be an AbortSignal: current value is "abort"`],
        [{ signal: { aborted: false } as never }, TypeError, `'signal' must be an AbortSignal: current value is {"aborted":false}`],
        [{ priorty: 1 } as never, TypeError, `Cannot run a task on executor 'opts' as 'options' has an unknown key "priorty": the known keys are 'signal', 'timeout', 'priority'`],
        [null as never, TypeError, "'options' must be an object: current value is null"],
      ];
      for (const [options, type, message] of cases) {
        expect(() => executor.run(() => 1, options), message).to.throw(type, message);
      }
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, cancelled: 0 });
    });

    it('accepts undefined option values, a zero timeout and fractional or negative priorities', async () => {
      const executor = pool();
      expect(await executor.run(() => 1, { timeout: undefined, priority: undefined, signal: undefined })).to.equal(1);
      expect(await executor.run(() => 2, { timeout: 0, priority: -0.5 })).to.equal(2);
      expect(await executor.run(() => 3, {})).to.equal(3);
    });

    it('checks options before refusing a shut down executor', async () => {
      const executor = pool();
      await executor.shutdown();
      expect(() => executor.submit(1 as never)).to.throw(TypeError);
      expect(() => executor.run(() => 1, { timeout: -1 })).to.throw(RangeError);
    });
  });

  describe('memory', () => {
    it('drops the task and its arguments once the future settles or is cancelled', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      const running = executor.submit((arg: object) => blocker.promise.then(() => arg), { big: true });
      const queued = executor.submit((arg: object) => arg, { big: true });
      const cancelled = executor.submit((arg: object) => arg, { big: true });
      // A task's future is its work item.
      const item = (future: Future<unknown>): Item => future as unknown as Item;
      expect(item(queued as Future<unknown>).args).to.deep.equal([{ big: true }]);
      cancelled.cancel();
      for (const key of ['task', 'args', 'context'] as const) expect(item(cancelled as Future<unknown>)[key]).to.equal(undefined);
      blocker.resolve();
      await executor.onIdle();
      for (const future of [running, queued]) {
        for (const key of ['task', 'args', 'context'] as const) expect(item(future as Future<unknown>)[key]).to.equal(undefined);
      }
    });

    it('keeps no reference to a finished task, its arguments, its result or its future', async () => {
      const gc = collector();
      const executor = pool({ maxWorkers: 1 });
      let releaseFirst: () => void = () => {};
      // Made in a plain function, so that no suspended async frame of the test holds them.
      const makeTask = (): Record<string, WeakRef<object>> => {
        const result = { result: true };
        const argument = { argument: true };
        const fn = async (_arg: object) => {
          await new Promise<void>((resolve) => (releaseFirst = resolve));
          return result;
        };
        const future = executor.submit(fn, argument);
        return { result: new WeakRef(result), argument: new WeakRef(argument), fn: new WeakRef(fn), future: new WeakRef(future) };
      };
      const refs = makeTask();
      const next = gate();
      const still = executor.submit(() => next.promise);
      const queued = executor.submit(() => 'queued');
      await flush();
      releaseFirst();
      releaseFirst = () => {};
      await flush();
      expect(still.running()).to.equal(true);
      gc();
      await flush();
      gc();
      const alive = Object.entries(refs).filter(([, ref]) => ref.deref() !== undefined).map(([name]) => name);
      expect(alive, 'still referenced while the executor runs the next task').to.deep.equal([]);
      next.resolve();
      expect(await queued).to.equal('queued');
    });
  });

  describe('a custom backend', () => {
    class ManualExecutor extends Executor {
      readonly interrupted: [Future<unknown>, unknown][] = [];
      readonly executed: unknown[] = [];
      constructor(options?: ExecutorOptions & { label?: unknown }, checkLabel?: (value: unknown, action: string, name: string) => void) {
        // `label`: an option of this backend's own, checked by `checkLabel` when there is one.
        super(options, 3, { label: checkLabel });
      }
      override submit<R>(task: () => R): Future<Awaited<R>> {
        return this.schedule(task, 'args');
      }
      fail(error: BrokenExecutorError): void {
        this.breakExecutor(error);
      }
      protected checkTask(): void {}
      protected execute(item: WorkItem): unknown {
        this.executed.push(item.args);
        return (item.task as () => unknown)();
      }
      protected override interrupt(item: WorkItem, reason: unknown): void {
        this.interrupted.push([item as unknown as Future<unknown>, reason]);
      }
    }

    it('uses its default maxWorkers and its own class name, and binds methods', async () => {
      const executor = track(new ManualExecutor());
      expect(executor.maxWorkers).to.equal(3);
      expect(executor.name).to.match(/^ManualExecutor-\d+$/);
      const { submit } = executor;
      expect(await submit(() => 'bound')).to.equal('bound');
      expect(executor.executed).to.deep.equal(['args']);
    });

    it('checks the options it adds with the checks it gives, and lists them among the known keys', () => {
      class LabelledExecutor extends ManualExecutor {
        constructor(options?: ExecutorOptions & { label?: unknown }) {
          // A check for `label`, called only when it is given.
          const checkLabel = (value: unknown, action: string, name: string): void => {
            if (typeof value !== 'string') throw new TypeError(`Cannot ${action} as '${name}' must be a string: current value is ${String(value)}`);
          };
          super(options, checkLabel);
        }
      }
      expect(() => track(new LabelledExecutor({ label: 'ok' }))).not.to.throw();
      expect(() => track(new LabelledExecutor({ label: undefined }))).not.to.throw();
      expect(() => new LabelledExecutor({ label: 5 })).to.throw(TypeError, "Cannot create LabelledExecutor as 'label' must be a string: current value is 5");
      expect(() => new LabelledExecutor({ labl: 'x' } as never)).to.throw(
        TypeError,
        `Cannot create LabelledExecutor as 'options' has an unknown key "labl": the known keys are 'maxWorkers', 'name', 'taskTimeout', 'retry', 'rateLimit', 'breaker', 'label'`,
      );
    });

    it('is told to interrupt a cancelled or timed-out running task', async () => {
      const executor = track(new ManualExecutor({ maxWorkers: 2, taskTimeout: 0 }));
      const forever = gate();
      const cancelled = executor.submit(() => forever.promise);
      const timedOut = executor.submit(() => forever.promise);
      const reason = new Error('why');
      cancelled.cancel(reason);
      const error = await timedOut.exception();
      const cancellation = await rejectionOf(cancelled);
      expect(cancellation).to.be.instanceOf(CancelledError).and.include({ cause: reason });
      expect(executor.interrupted).to.have.length(2);
      expect(executor.interrupted[0]![0]).to.equal(cancelled);
      expect(executor.interrupted[0]![1]).to.equal(cancellation);
      expect(executor.interrupted[1]![0]).to.equal(timedOut);
      expect(executor.interrupted[1]![1]).to.equal(error);
      forever.resolve();
      await executor.onIdle();
    });

    it('breakExecutor fails queued futures, refuses new work, and keeps running tasks', async () => {
      const executor = track(new ManualExecutor({ maxWorkers: 1 }));
      const running = gate<string>();
      const first = executor.submit(() => running.promise);
      const queued = executor.submit(() => 'never');
      const cancelled = executor.submit(() => 'never');
      cancelled.cancel();
      const broken = new BrokenExecutorError("Executor 'manual' is broken: create a new one", { cause: new Error('worker died') });
      executor.fail(broken);
      executor.fail(new BrokenExecutorError('second call is ignored'));
      expect(queued.state).to.equal('rejected');
      expect(await queued.exception()).to.equal(broken);
      expect(cancelled.state).to.equal('cancelled');
      expect(executor.isShutdown).to.equal(true);
      expect(() => executor.submit(() => 1)).to.throw(BrokenExecutorError, /broken/);
      running.resolve('still finishes');
      expect(await first).to.equal('still finishes');
      await executor.shutdown();
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 1 });
    });

    it('accepts the extra option keys it declares', () => {
      expect(track(new ManualExecutor({ label: 'x' })).maxWorkers).to.equal(3);
    });
  });

  describe('internal queue and timers', () => {
    it('FifoQueue keeps order through compaction of its consumed prefix', () => {
      const queue = new FifoQueue<number>();
      for (let i = 0; i < 3_000; i++) queue.push(i);
      const out: number[] = [];
      for (let i = 0; i < 1_600; i++) out.push(queue.shift()!);
      expect(queue.size).to.equal(1_400);
      expect(queue.peek()).to.equal(1_600);
      queue.compact((n) => n % 2 === 0);
      expect(queue.size).to.equal(700);
      expect(queue.shift()).to.equal(1_601);
      expect(queue.drain()).to.have.length(699);
      expect(queue.shift()).to.equal(undefined);
      expect(queue.size).to.equal(0);
      expect(out.every((n, i) => n === i)).to.equal(true);
    });

    it('PriorityQueue takes the highest priority first, FIFO within one', () => {
      const queue = new PriorityQueue<string>();
      expect(queue.shift()).to.equal(undefined);
      queue.push('a0');
      queue.push('b5', 5);
      queue.push('c0', 0);
      queue.push('d-1', -1);
      queue.push('e5', 5);
      expect([queue.shift(), queue.shift(), queue.shift()]).to.deep.equal(['b5', 'e5', 'a0']);
      queue.push('f9', 9);
      expect(queue.drain()).to.deep.equal(['f9', 'c0', 'd-1']);
      expect(queue.shift()).to.equal(undefined);
      queue.push('g', 1);
      queue.push('h', 2);
      queue.push('i', 1);
      queue.compact((item) => item === 'h');
      expect([queue.shift(), queue.shift(), queue.shift()]).to.deep.equal(['g', 'i', undefined]);
      queue.push('j', 3);
      queue.push('k', 3);
      expect([queue.shift(), queue.shift(), queue.shift()]).to.deep.equal(['j', 'k', undefined]);
      queue.push('l', 0);
      expect([queue.shift(), queue.shift()]).to.deep.equal(['l', undefined]);
    });

    it('startTimer starts no timer for delays beyond what timers represent', () => {
      expect(startTimer(2 ** 31, () => {})).to.equal(undefined);
      expect(startTimer(Infinity, () => {})).to.equal(undefined);
      const handle = startTimer(1_000, () => {});
      expect(handle).not.to.equal(undefined);
      cancelTimer(handle);
      cancelTimer(undefined);
    });
  });
});
