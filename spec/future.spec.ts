import { expect } from 'chai';
import { CancelledError, Future, FutureState, TimeoutError, settle, wait } from '../lib/index.js';
import { internals } from '../lib/future.js';
import { Phase, TaskItem } from '../lib/work-item.js';
import {
  FIXTURE_VALUE,
  FUTURE_FIXTURES,
  FixtureError,
  cancelledFuture,
  cancelledRunningFuture,
  controlledFuture,
  fulfilledFuture,
  futureIn,
  pendingFuture,
  rejectedFuture,
  runningFuture,
  capturingConsoleError,
  countingAbortControllers,
  rejectionOf,
  unhandledRejectionsDuring,
} from './fixtures.js';
import { flush, gate, pool, watchingTimers } from './helpers.js';

describe('Future', () => {
  describe('states', () => {
    const expected: Record<FutureState, { done: boolean; cancelled: boolean; running: boolean }> = {
      pending: { done: false, cancelled: false, running: false },
      running: { done: false, cancelled: false, running: true },
      cancelled: { done: true, cancelled: true, running: false },
      rejected: { done: true, cancelled: false, running: false },
      fulfilled: { done: true, cancelled: false, running: false },
    };
    for (const { state, make } of FUTURE_FIXTURES) {
      it(`reports done/cancelled/running for a ${state} future`, () => {
        const future = make();
        expect(future.state).to.equal(state);
        expect({ done: future.done(), cancelled: future.cancelled(), running: future.running() }).to.deep.equal(expected[state]);
      });
    }

    it('exports the states as constants', () => {
      expect(FutureState).to.deep.equal({ PENDING: 'pending', RUNNING: 'running', FULFILLED: 'fulfilled', REJECTED: 'rejected', CANCELLED: 'cancelled' });
      expect(futureIn(FutureState.RUNNING).state).to.equal(FutureState.RUNNING);
    });

    it('settles exactly once', async () => {
      const control = controlledFuture<number>();
      expect(control.start()).to.equal(true);
      expect(control.start()).to.equal(false);
      expect(control.resolve(1)).to.equal(true);
      expect(control.resolve(2)).to.equal(false);
      expect(control.reject(new Error('late'))).to.equal(false);
      expect(control.future.cancel()).to.equal(false);
      expect(await control.future).to.equal(1);
      expect(control.future.state).to.equal('fulfilled');
    });

    it('never starts once cancelled (the start gate)', () => {
      const control = controlledFuture();
      control.future.cancel();
      expect(control.start()).to.equal(false);
      expect(control.future.state).to.equal('cancelled');
    });

    it('has a Future string tag', () => {
      expect(Object.prototype.toString.call(pendingFuture())).to.equal('[object Future]');
    });
  });

  describe('cancel', () => {
    it('cancels a pending future: true, state cancelled, CancelledError', async () => {
      const future = pendingFuture();
      expect(future.cancel()).to.equal(true);
      expect(future.state).to.equal('cancelled');
      const error = await rejectionOf(future);
      expect(error).to.be.instanceOf(CancelledError);
      expect((error as Error).message).to.match(/before it started/);
    });

    it('cancels a running future: true, state cancelled at once', async () => {
      const future = runningFuture();
      expect(future.cancel()).to.equal(true);
      expect(future.cancelled()).to.equal(true);
      expect((await rejectionOf(future.result())) as Error).to.be.instanceOf(CancelledError).and.have.property('message').that.matches(/Cancelled while running/);
    });

    it('returns true again for a cancelled future and keeps the first reason', async () => {
      const first = new Error('first');
      const future = cancelledFuture(first);
      expect(future.cancel(new Error('second'))).to.equal(true);
      expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ cause: first });
    });

    it('returns false for fulfilled and rejected futures and changes nothing', async () => {
      const fulfilled = fulfilledFuture();
      const rejected = rejectedFuture();
      expect(fulfilled.cancel()).to.equal(false);
      expect(rejected.cancel()).to.equal(false);
      expect(fulfilled.state).to.equal('fulfilled');
      expect(rejected.state).to.equal('rejected');
      expect(await fulfilled).to.equal(FIXTURE_VALUE);
      expect(await rejected.exception()).to.be.instanceOf(FixtureError);
    });

    it('rejects with a CancelledError whose cause is the reason, falsy reasons too; a string reason is its message', async () => {
      const reason = { why: 'user' };
      const future = cancelledFuture(reason);
      const error = await rejectionOf(future);
      expect(error).to.be.instanceOf(CancelledError).and.include({ message: 'Cancelled before it started', cause: reason });
      expect(await rejectionOf(future.result())).to.equal(error);
      expect(await rejectionOf(future.exception())).to.equal(error);
      expect(await rejectionOf(cancelledFuture('no longer needed'))).to.be.instanceOf(CancelledError).and.include({ message: 'no longer needed', cause: 'no longer needed' });
      for (const falsy of [0, '', null, false]) {
        const cancellation = await rejectionOf(cancelledFuture(falsy));
        expect(cancellation).to.be.instanceOf(CancelledError).and.have.property('cause', falsy);
      }
    });

    it('treats cancel(undefined) as no reason: a CancelledError', async () => {
      expect(await rejectionOf(cancelledFuture(undefined))).to.be.instanceOf(CancelledError);
    });
  });

  describe('signal', () => {
    it('is created lazily: a future nobody asks for a signal makes no AbortController', async () => {
      const executor = pool({ maxWorkers: 1 });
      const { result: futures, made } = countingAbortControllers(() => {
        const blocker = gate();
        const running = executor.submit(() => blocker.promise);
        const queued = executor.submit(() => 1);
        queued.cancel();
        running.cancel();
        blocker.resolve();
        return [running, queued];
      });
      expect(made).to.equal(0);
      await executor.onIdle();
      const { made: afterRead } = countingAbortControllers(() => futures[0]!.signal);
      expect(afterRead).to.equal(1);
    });

    it('is the same signal on every read', () => {
      const future = runningFuture();
      expect(future.signal).to.equal(future.signal);
    });

    it('is aborted with the CancelledError when first read after a cancellation', async () => {
      for (const future of [cancelledFuture(), cancelledRunningFuture()]) {
        const signal = future.signal;
        expect(signal.aborted).to.equal(true);
        expect(signal.reason).to.equal(await rejectionOf(future));
        expect(signal.reason).to.be.instanceOf(CancelledError);
      }
    });

    it("aborts with the future's CancelledError, the cancel reason as its cause", async () => {
      const reason = new Error('stop');
      const future = runningFuture();
      const signal = future.signal;
      let seen: unknown;
      signal.addEventListener('abort', () => (seen = signal.reason));
      future.cancel(reason);
      expect(seen).to.be.instanceOf(CancelledError).and.include({ message: 'Cancelled while running', cause: reason });
      expect(await rejectionOf(future)).to.equal(seen);
    });

    it('is already aborted inside done callbacks of a cancellation', () => {
      for (const read of [true, false]) {
        const future = runningFuture();
        if (read) void future.signal;
        let aborted: boolean | undefined;
        future.addDoneCallback((f) => (aborted = f.signal.aborted));
        future.cancel();
        expect(aborted, `signal ${read ? 'read' : 'not read'} before cancel`).to.equal(true);
      }
    });

    it('does not abort when the future fulfills or rejects', () => {
      expect(fulfilledFuture().signal.aborted).to.equal(false);
      expect(rejectedFuture().signal.aborted).to.equal(false);
      const future = runningFuture();
      const signal = future.signal;
      internals.resolve(future as Future<unknown>, 1);
      expect(signal.aborted).to.equal(false);
    });
  });

  describe('result and exception', () => {
    it('result() gives the value, exception() undefined, for a fulfilled future', async () => {
      const future = fulfilledFuture('v');
      expect(await future.result()).to.equal('v');
      expect(await future.exception()).to.equal(undefined);
      expect(await future.result(0)).to.equal('v');
      expect(await future.exception(0)).to.equal(undefined);
    });

    it('result() rejects with the error, exception() gives it', async () => {
      const error = new FixtureError();
      const future = rejectedFuture(error);
      expect(await rejectionOf(future.result())).to.equal(error);
      expect(await future.exception()).to.equal(error);
    });

    it('treats falsy errors as failures (throw undefined, null, 0, empty string)', async () => {
      const executor = pool();
      const futures = [
        executor.submit(() => {
          throw undefined;
        }),
        executor.submit(() => {
          throw null;
        }),
        executor.submit(() => {
          throw '';
        }),
        executor.submit(() => Promise.reject(0)),
        executor.submit(async () => {
          throw false;
        }),
      ];
      await executor.onIdle();
      expect(futures.map((f) => f.state)).to.deep.equal(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
      const errors = await Promise.all(futures.map((f) => f.exception()));
      expect(errors).to.deep.equal([undefined, null, '', 0, false]);
      const rejections = await Promise.all(futures.map((f) => f.result().then(() => 'fulfilled', (e: unknown) => ({ e }))));
      expect(rejections).to.deep.equal([{ e: undefined }, { e: null }, { e: '' }, { e: 0 }, { e: false }]);
      expect(executor.stats.failed).to.equal(5);
    });

    it('waits for a pending future to settle', async () => {
      const control = controlledFuture<string>();
      const result = control.future.result();
      const exception = control.future.exception(1_000_000);
      control.start();
      control.resolve('later');
      expect(await result).to.equal('later');
      expect(await exception).to.equal(undefined);
    });

    it('rejects with a TimeoutError when the timeout passes first, without cancelling the task', async () => {
      const executor = pool({ name: 'slow' });
      const forever = gate<string>();
      const future = executor.submit(() => forever.promise);
      const error = await rejectionOf(future.result(1));
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as Error).message).to.equal("Timed out after 1 ms waiting for a running task on executor 'slow': it goes on (cancel() stops it)");
      const plain = Future.from(forever.promise);
      expect(((await rejectionOf(plain.result(1))) as Error).message).to.equal('Timed out after 1 ms waiting for a running future');
      expect(await rejectionOf(future.exception(0))).to.be.instanceOf(TimeoutError);
      expect(future.state).to.equal('running');
      expect(future.signal.aborted).to.equal(false);
      forever.resolve('finally');
      expect(await future.result()).to.equal('finally');
    });

    it('does not keep a done callback or a timer after a timed-out wait', async () => {
      const control = controlledFuture();
      await rejectionOf(control.future.result(0));
      let calls = 0;
      control.future.addDoneCallback(() => calls++);
      control.resolve(1);
      expect(calls).to.equal(1);
    });

    it('forgets only its own done callback when it times out', async () => {
      const control = controlledFuture();
      const calls: string[] = [];
      control.future.addDoneCallback(() => calls.push('a'));
      const first = control.future.exception(0);
      control.future.addDoneCallback(() => calls.push('b'));
      const second = control.future.result(0);
      expect(await rejectionOf(first)).to.be.instanceOf(TimeoutError);
      expect(await rejectionOf(second)).to.be.instanceOf(TimeoutError);
      internals.removeDoneCallback(control.future as Future<unknown>, () => {});
      control.resolve(1);
      expect(calls).to.deep.equal(['a', 'b']);
    });

    it('stops its timer when the future settles first', async () => {
      const timers = watchingTimers();
      try {
        const control = controlledFuture();
        const result = control.future.result(60_000);
        expect(timers.live()).to.equal(1);
        control.resolve(5);
        expect(await result).to.equal(5);
        expect(timers.live()).to.equal(0);
      } finally {
        timers.restore();
      }
    });

    it('waits forever with an Infinity timeout and no timer', async () => {
      const control = controlledFuture();
      const result = control.future.result(Infinity);
      control.resolve(3);
      expect(await result).to.equal(3);
    });

    it('exception() rejects for a cancelled future', async () => {
      expect(await rejectionOf(cancelledFuture().exception())).to.be.instanceOf(CancelledError);
      const control = controlledFuture();
      const exception = control.future.exception();
      control.future.cancel('why');
      expect(await rejectionOf(exception)).to.be.instanceOf(CancelledError).and.include({ message: 'why', cause: 'why' });
    });

    it('throws for a bad timeout, naming it and its value', () => {
      const future = runningFuture();
      expect(() => future.result(-1)).to.throw(RangeError, "Cannot wait for the result as 'timeout' must be a non-negative number of milliseconds: current value is -1");
      expect(() => future.result(NaN)).to.throw(RangeError, /'timeout'.*NaN/);
      expect(() => future.exception('5' as never)).to.throw(TypeError, /Cannot wait for the exception as 'timeout'.*current value is "5"/);
    });
  });

  describe('addDoneCallback', () => {
    it('calls callbacks once, synchronously at settlement, in registration order', () => {
      const control = controlledFuture();
      const calls: string[] = [];
      for (const name of ['a', 'b', 'c']) control.future.addDoneCallback((f) => calls.push(`${name}:${f.state}`));
      control.start();
      expect(calls).to.deep.equal([]);
      control.resolve(1);
      expect(calls).to.deep.equal(['a:fulfilled', 'b:fulfilled', 'c:fulfilled']);
      control.reject(new Error('late'));
      expect(calls).to.have.length(3);
    });

    it('passes the future itself', () => {
      const future = runningFuture();
      let seen: unknown;
      future.addDoneCallback((f) => (seen = f));
      future.cancel();
      expect(seen).to.equal(future);
    });

    for (const { state, make } of FUTURE_FIXTURES.filter((fixture) => ['cancelled', 'rejected', 'fulfilled'].includes(fixture.state))) {
      it(`calls at once, synchronously, on an already ${state} future`, () => {
        const future = make();
        const calls: string[] = [];
        future.addDoneCallback((f) => calls.push(f.state));
        expect(calls).to.deep.equal([state]);
      });
    }

    it('runs a callback added by a callback at once', () => {
      const future = runningFuture();
      const calls: string[] = [];
      future.addDoneCallback((f) => {
        calls.push('outer');
        f.addDoneCallback(() => calls.push('inner'));
        calls.push('outer end');
      });
      future.addDoneCallback(() => calls.push('second'));
      future.cancel();
      expect(calls).to.deep.equal(['outer', 'inner', 'outer end', 'second']);
    });

    it('calls a callback registered twice twice, as Python', () => {
      const future = runningFuture();
      let calls = 0;
      const callback = (): void => void calls++;
      future.addDoneCallback(callback);
      future.addDoneCallback(callback);
      internals.resolve(future as Future<unknown>, 1);
      expect(calls).to.equal(2);
    });

    it('reports a throwing callback on console.error; the others still run', async () => {
      const boom = new Error('callback failure');
      const calls: string[] = [];
      const reported = await capturingConsoleError(() => {
        const future = runningFuture();
        future.addDoneCallback(() => calls.push('first'));
        future.addDoneCallback(() => {
          throw boom;
        });
        future.addDoneCallback(() => calls.push('third'));
        internals.resolve(future as Future<unknown>, 1);
        fulfilledFuture().addDoneCallback(() => {
          throw boom;
        });
      });
      expect(calls).to.deep.equal(['first', 'third']);
      expect(reported).to.have.length(2);
      expect(reported[0]![0]).to.match(/done callback threw/);
      expect(reported[0]).to.include(boom);
    });

    it('a throwing callback does not break the executor', async () => {
      const executor = pool({ maxWorkers: 1 });
      const blocker = gate();
      const reported = await capturingConsoleError(async () => {
        const first = executor.submit(() => blocker.promise);
        first.addDoneCallback(() => {
          throw new Error('bad callback');
        });
        const second = executor.submit(() => 'second');
        second.addDoneCallback(() => {
          throw new Error('bad callback');
        });
        blocker.resolve();
        expect(await second).to.equal('second');
        expect(await first).to.equal(undefined);
        await executor.onIdle();
      });
      expect(reported).to.have.length(2);
      expect(executor.stats).to.deep.include({ running: 0, pending: 0, completed: 2, failed: 0 });
      expect(await executor.submit(() => 'still works')).to.equal('still works');
    });

    it('rejects a non-function callback', () => {
      expect(() => runningFuture().addDoneCallback('x' as never)).to.throw(TypeError, `Cannot add a done callback as 'callback' must be a function: current value is "x"`);
    });
  });

  describe('unhandled rejections', () => {
    it('never raises one for failed futures that nobody observes', async () => {
      const executor = pool({ maxWorkers: 2 });
      const seen = await unhandledRejectionsDuring(async () => {
        executor.submit(() => {
          throw new Error('sync');
        });
        executor.submit(async () => {
          throw new Error('async');
        });
        executor.submit(() => Promise.reject(undefined));
        executor.run(() => new Promise(() => {}), { timeout: 0 });
        executor.submit(() => new Promise(() => {})).cancel();
        executor.submit(() => 1).cancel();
        rejectedFuture();
        cancelledFuture();
        cancelledRunningFuture(new Error('reason'));
        const later = gate();
        Future.from(later.promise).cancel();
        later.reject(new Error('ignored after cancel'));
        Future.from(Promise.reject(new Error('wrapped')));
        await flush();
      });
      expect(seen).to.deep.equal([]);
    });

    it('rejects only for whoever awaits', async () => {
      const future = rejectedFuture(new Error('seen'));
      const seen = await unhandledRejectionsDuring(async () => {
        expect(await rejectionOf(future)).to.have.property('message', 'seen');
        await future.catch(() => undefined);
      });
      expect(seen).to.deep.equal([]);
    });
  });

  describe('as a thenable', () => {
    it('works with await, then, catch and finally', async () => {
      expect(await fulfilledFuture(1)).to.equal(1);
      expect(await fulfilledFuture(1).then((v) => v + 1)).to.equal(2);
      expect(await rejectedFuture(new Error('x')).then(() => 'no', (e: unknown) => (e as Error).message)).to.equal('x');
      expect(await rejectedFuture(7).catch((e: unknown) => e)).to.equal(7);
      expect(await cancelledFuture('r').catch((e: unknown) => e)).to.be.instanceOf(CancelledError).and.include({ cause: 'r' });
      let finalized = 0;
      expect(await fulfilledFuture(2).finally(() => finalized++)).to.equal(2);
      expect(await rejectionOf(rejectedFuture(3).finally(() => finalized++))).to.equal(3);
      expect(finalized).to.equal(2);
      expect(await fulfilledFuture(4).then()).to.equal(4);
      expect(await fulfilledFuture(5).catch()).to.equal(5);
    });

    it('settles every then() of a pending future, in order', async () => {
      const control = controlledFuture<number>();
      const order: string[] = [];
      const a = control.future.then((v) => order.push(`a${v}`));
      const b = control.future.then((v) => order.push(`b${v}`));
      const c = control.future.finally(() => order.push('c'));
      control.resolve(1);
      await Promise.all([a, b, c]);
      expect(order).to.deep.equal(['a1', 'b1', 'c']);
      const rejecting = controlledFuture();
      const d = rejecting.future.catch((e: unknown) => e);
      const e = rejecting.future.then(undefined, (error: unknown) => error);
      rejecting.reject('boom');
      expect(await Promise.all([d, e])).to.deep.equal(['boom', 'boom']);
    });

    it('works unchanged with Promise.all, allSettled, race and any', async () => {
      const executor = pool({ maxWorkers: 4 });
      const one = gate<number>();
      const two = gate<string>();
      const f1 = executor.submit(() => one.promise);
      const f2 = executor.submit(() => two.promise);
      const all = Promise.all([f1, f2]);
      const race = Promise.race([f1, f2]);
      two.resolve('b');
      expect(await race).to.equal('b');
      one.resolve(1);
      expect(await all).to.deep.equal([1, 'b']);

      const failing = executor.submit(() => Promise.reject(new Error('no')));
      const cancelled = cancelledFuture();
      const settled = await Promise.allSettled([f1, failing, cancelled]);
      expect(settled.map((s) => s.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected']);
      expect((settled[2] as PromiseRejectedResult).reason).to.be.instanceOf(CancelledError);
      expect(await Promise.any([failing, cancelled, f2])).to.equal('b');
      const aggregate = await rejectionOf(Promise.any([failing, cancelled]));
      expect(aggregate).to.be.instanceOf(AggregateError);
      expect(await rejectionOf(Promise.all([f1, failing]))).to.have.property('message', 'no');
      expect(await Promise.resolve(f1)).to.equal(1);
    });

    it('is a native Promise that await and Promise.resolve take as it is; derived promises are plain', async () => {
      const future = fulfilledFuture();
      expect(future).to.be.instanceOf(Promise);
      expect(future).to.be.instanceOf(Future);
      expect(Promise.resolve(future)).to.equal(future);
      const derived = future.then((value) => value);
      expect(derived).not.to.be.instanceOf(Future);
      expect(Object.getPrototypeOf(derived)).to.equal(Promise.prototype);
      expect(Object.prototype.toString.call(future)).to.equal('[object Future]');
    });

    it("makes plain promises from the statics it inherits", async () => {
      const statics = Future as unknown as PromiseConstructor;
      const resolved = statics.resolve(1);
      expect(resolved).not.to.be.instanceOf(Future);
      expect(await resolved).to.equal(1);
      expect(await statics.all([statics.resolve(2), fulfilledFuture()])).to.have.length(2);
      await statics.reject(new Error('x')).catch(() => undefined);
    });
  });

  describe('Future.from', () => {
    it('follows a promise that fulfills', async () => {
      const deferred = gate<number>();
      const future = Future.from(deferred.promise);
      expect(future.state).to.equal('running');
      deferred.resolve(4);
      expect(await future).to.equal(4);
      expect(future.state).to.equal('fulfilled');
    });

    it('follows a promise that rejects, falsy errors too', async () => {
      const future = Future.from(Promise.reject(0));
      expect(await future.exception()).to.equal(0);
      expect(future.state).to.equal('rejected');
    });

    it('returns the same wrapper for the same promise, and a future as it is', () => {
      const promise = new Promise(() => {});
      const wrapper = Future.from(promise);
      expect(Future.from(promise)).to.equal(wrapper);
      expect(Future.from(wrapper)).to.equal(wrapper);
      const future = runningFuture();
      expect(Future.from(future)).to.equal(future);
      expect(Future.from(new Promise(() => {}))).not.to.equal(wrapper);
    });

    it('wraps any thenable, a function thenable too', async () => {
      const thenable = { then: (resolve: (v: string) => void) => resolve('custom') };
      expect(await Future.from(thenable as PromiseLike<string>)).to.equal('custom');
      const fnThenable = Object.assign(() => {}, { then: (resolve: (v: number) => void) => resolve(9) });
      expect(await Future.from(fnThenable as unknown as PromiseLike<number>)).to.equal(9);
      const throwing = { then: () => {
        throw new Error('bad then');
      } };
      expect(await Future.from(throwing).exception()).to.have.property('message', 'bad then');
    });

    it('cancel() settles the wrapper as cancelled; later outcomes are ignored', async () => {
      const later = gate<number>();
      const wrapper = Future.from(later.promise);
      let callbacks = 0;
      wrapper.addDoneCallback(() => callbacks++);
      expect(wrapper.cancel()).to.equal(true);
      expect(wrapper.state).to.equal('cancelled');
      expect(wrapper.signal.aborted).to.equal(true);
      later.resolve(1);
      await flush();
      expect(wrapper.state).to.equal('cancelled');
      expect(callbacks).to.equal(1);
      expect(await rejectionOf(wrapper)).to.be.instanceOf(CancelledError);
      expect(Future.from(later.promise)).to.equal(wrapper);
    });

    it('is not what settle(p) and wait([p]) follow: cancelling Future.from(p), before or after, changes nothing they report', async () => {
      const later = gate<number>();
      Future.from(later.promise).cancel('not for settle');
      const settled = settle(later.promise);
      const waited = wait([later.promise]);
      const afterwards = gate<number>();
      const settledFirst = settle(afterwards.promise);
      const waitedFirst = wait([afterwards.promise]);
      expect(Future.from(afterwards.promise).cancel()).to.equal(true);
      later.resolve(7);
      afterwards.resolve(8);
      expect(await settled).to.deep.equal({ ok: true, value: 7 });
      expect(await settledFirst).to.deep.equal({ ok: true, value: 8 });
      for (const [result, value] of [[await waited, 7], [await waitedFirst, 8]] as const) {
        expect(result.notDone.size).to.equal(0);
        const [future] = [...result.done];
        expect(future!.state).to.equal('fulfilled');
        expect(await future).to.equal(value);
      }
      expect(Future.from(later.promise).state).to.equal('cancelled');
    });

    it('names the value it was given', () => {
      expect(() => Future.from(function named() {} as never)).to.throw(TypeError, 'current value is function named');
      expect(() => Future.from((() => () => {})() as never)).to.throw(TypeError, 'current value is function (anonymous)');
      expect(() => Future.from({ toJSON: () => undefined } as never)).to.throw(TypeError, 'current value is [object Object]');
    });

    for (const bad of [42, null, undefined, 'text', { then: 1 }]) {
      it(`rejects ${JSON.stringify(bad) ?? String(bad)} with a TypeError`, () => {
        expect(() => Future.from(bad as never)).to.throw(TypeError, /Cannot wrap a value in a future as 'promise' must be a promise or thenable: current value is/);
      });
    }
  });

  describe("a task item's progress, kept in the future's state field", () => {
    const owner = { futureCancelled(): void {} };

    it('keeps phase, attempt and state apart, and exact beyond 32 bits', async () => {
      const item = new TaskItem(() => 1, [], undefined, owner);
      expect([item.state, item.phase, item.attempt]).to.deep.equal(['pending', Phase.QUEUED, 0]);
      for (const attempt of [1, 2 ** 29, 2 ** 31 + 1, 2 ** 40 + 3]) {
        item.attempt = attempt;
        item.phase = Phase.BACKOFF;
        expect([item.state, item.phase, item.attempt], `attempt ${attempt}`).to.deep.equal(['pending', Phase.BACKOFF, attempt]);
      }
      expect(internals.start(item)).to.equal(true);
      item.phase = Phase.RUNNING;
      expect([item.state, item.phase, item.attempt]).to.deep.equal(['running', Phase.RUNNING, 2 ** 40 + 3]);
      item.attempt++;
      expect(item.attempt).to.equal(2 ** 40 + 4);
      expect(item.cancel('enough')).to.equal(true);
      expect([item.state, item.phase, item.attempt, item.cancelled(), item.done()]).to.deep.equal(['cancelled', Phase.RUNNING, 2 ** 40 + 4, true, true]);
      const outcome = await settle(item);
      expect(outcome.ok).to.equal(false);
    });
  });
});
