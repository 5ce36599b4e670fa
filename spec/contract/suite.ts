/**
 * The Executor contract, once for every backend. A backend supplies an adapter that says how
 * to make its executor and how to express, in its own terms, a task that resolves to a value,
 * one that rejects, and a gated task: it marks itself started, then blocks until the test
 * releases (or fails) it, recording how many gated tasks are in flight.
 *
 * Everything is gated by hand: no sleeps, no timed assertions. A timeout is tested against a
 * gated task that is never released while it runs.
 */
import { expect } from 'chai';
import {
  asCompleted,
  CancelledError,
  ExecutorShutdownError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  settle,
  TimeoutError,
  wait,
  type Executor,
  type ExecutorOptions,
  type Future,
  type MapOptions,
  type RunOptions,
} from '../../lib/index.js';
import { rejectionOf } from '../fixtures.js';
import { flush } from '../helpers.js';

/** One executor under test, with the tasks the contract needs expressed for its backend. */
export interface ContractHarness {
  readonly executor: Executor;
  /** A task that resolves to `value`. */
  value<T>(value: T, options?: RunOptions): Future<T>;
  /** A task that rejects with an `Error` whose message is `message`. */
  error(message: string, options?: RunOptions): Future<never>;
  /** Gated task `id` (0 to 63): resolves to `id` once released, rejects with `Error('task <id> failed')` once failed. */
  gated(id: number, options?: RunOptions): Future<number>;
  /** `map` of gated tasks over `ids`. */
  mapGated(ids: Iterable<number> | AsyncIterable<number>, options?: MapOptions): AsyncIterableIterator<number>;
  /** Resolves once gated task `id` has started. */
  started(id: number): Promise<void>;
  hasStarted(id: number): boolean;
  release(id: number): void;
  fail(id: number): void;
  /** Gated ids in the order their tasks started. */
  readonly startedOrder: number[];
  /** The most gated tasks seen in flight at once. */
  readonly maxInFlight: number;
}

/** How to build a {@link ContractHarness} for one backend. */
export interface ContractAdapter {
  /** Names the backend in test titles. */
  readonly name: string;
  /**
   * Whether cancelling or timing out a running task stops it by force (a worker is
   * terminated): its slot then frees without releasing it. Otherwise the slot frees only once
   * the test releases the task.
   */
  readonly preemptive: boolean;
  /** A new executor (shut down and cleaned up by the adapter after each test). */
  create(options?: ExecutorOptions): ContractHarness;
  /** Called after each test: release every gate, shut everything down. */
  cleanup(): Promise<void>;
  /**
   * Cases whose meaning does not hold for this backend, by title, each with the reason: they
   * are listed as pending with it (the backend's own specs cover what they stand for).
   */
  readonly notApplicable?: Readonly<Record<string, string>>;
}

/** Frees the slot of a task that was cancelled or timed out while running. */
function freeSlot(adapter: ContractAdapter, harness: ContractHarness, id: number): void {
  if (!adapter.preemptive) harness.release(id);
}

/** Runs the Executor contract against `adapter`'s backend. */
export function executorContract(adapter: ContractAdapter): void {
  const it = applicableCases(adapter.notApplicable);
  describe(`Executor contract: ${adapter.name}`, () => {
    afterEach(() => adapter.cleanup());

    describe('submit and run', () => {
      it('fulfills with the value and rejects with the error', async () => {
        const { executor, value, error } = adapter.create({ maxWorkers: 2 });
        const ok = value({ answer: 42 });
        const ko = error('boom');
        expect(await ok).to.deep.equal({ answer: 42 });
        const thrown = await rejectionOf(ko);
        expect(thrown).to.be.instanceOf(Error);
        expect((thrown as Error).message).to.equal('boom');
        expect([ok.state, ko.state]).to.deep.equal(['fulfilled', 'rejected']);
        expect(executor.stats).to.include({ completed: 1, failed: 1, pending: 0, running: 0 });
      });

      it('never has more than maxWorkers tasks in flight and starts them in FIFO order', async () => {
        const harness = adapter.create({ maxWorkers: 2 });
        const futures = [0, 1, 2, 3, 4, 5].map((id) => harness.gated(id));
        await harness.started(0);
        await harness.started(1);
        expect(harness.hasStarted(2)).to.equal(false);
        expect(harness.executor.stats).to.include({ running: 2, pending: 4 });
        // One slot frees at a time, and the next release waits for the task that took it: the
        // order seen inside the tasks is then the order the executor started them in.
        for (let id = 0; id < 6; id++) {
          harness.release(id);
          await futures[id];
          if (id + 2 < 6) await harness.started(id + 2);
        }
        expect(await Promise.all(futures)).to.deep.equal([0, 1, 2, 3, 4, 5]);
        expect(harness.maxInFlight).to.equal(2);
        // The first two start together (in two workers, in either order); then one at a time.
        const order = harness.startedOrder;
        expect([...order.slice(0, 2)].sort()).to.deep.equal([0, 1]);
        expect(order.slice(2)).to.deep.equal([2, 3, 4, 5]);
      });

      it('starts queued tasks by priority, then FIFO', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const blocker = harness.gated(0);
        await harness.started(0);
        const low = harness.gated(1, { priority: -1 });
        const a = harness.gated(2);
        const high = harness.gated(3, { priority: 5 });
        const b = harness.gated(4);
        for (const id of [1, 2, 3, 4]) harness.release(id);
        harness.release(0);
        await Promise.all([blocker, low, a, high, b]);
        expect(harness.startedOrder).to.deep.equal([0, 3, 2, 4, 1]);
      });

      it('works detached', async () => {
        const { executor, value } = adapter.create();
        const { shutdown, onIdle } = executor;
        expect(await value('x')).to.equal('x');
        await onIdle();
        await shutdown();
        expect(executor.isShutdown).to.equal(true);
      });
    });

    describe('cancel', () => {
      it('cancels a pending task: it never starts', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const first = harness.gated(0);
        const second = harness.gated(1);
        expect(second.cancel()).to.equal(true);
        expect(second.state).to.equal('cancelled');
        harness.release(1);
        harness.release(0);
        expect(await first).to.equal(0);
        await harness.executor.onIdle();
        expect(harness.hasStarted(1)).to.equal(false);
        expect(await rejectionOf(second)).to.be.instanceOf(CancelledError);
        expect(harness.executor.stats).to.include({ completed: 1, cancelled: 1, pending: 0 });
      });

      it('cancels a running task at once; its slot frees only when the task is gone', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const first = harness.gated(0);
        const second = harness.gated(1);
        await harness.started(0);
        expect(first.cancel()).to.equal(true);
        expect(first.state).to.equal('cancelled');
        expect(first.cancel()).to.equal(true);
        expect(await rejectionOf(first)).to.be.instanceOf(CancelledError);
        expect(second.state).to.equal('pending');
        expect(harness.executor.stats.running).to.equal(1);
        freeSlot(adapter, harness, 0);
        await harness.started(1);
        expect(second.state).to.equal('running');
        harness.release(1);
        expect(await second).to.equal(1);
        expect(harness.executor.stats).to.include({ cancelled: 1, completed: 1, running: 0 });
      });

      it('cancels with an aborted signal: a CancelledError whose cause is the reason', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const blocker = harness.gated(0);
        const controller = new AbortController();
        const future = harness.gated(1, { signal: controller.signal });
        const reason = new Error('stop');
        controller.abort(reason);
        expect(future.state).to.equal('cancelled');
        expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ cause: reason });
        const early = harness.value(1, { signal: AbortSignal.abort(reason) });
        expect(early.cancelled()).to.equal(true);
        expect(await rejectionOf(early)).to.be.instanceOf(CancelledError).and.include({ cause: reason });
        harness.release(0);
        await blocker;
        await harness.executor.onIdle();
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it("cancel(reason) rejects with a CancelledError: the reason is its cause (and message), the task's signal aborts with it, settle gives Err with it", async () => {
        const harness = adapter.create({ maxWorkers: 1, name: 'cancelling' });
        const running = harness.gated(0);
        const queued = harness.gated(1, { signal: new AbortController().signal });
        const blocker = harness.gated(2);
        await harness.started(0);
        expect(running.cancel('no longer needed')).to.equal(true);
        const error = await rejectionOf(running);
        expect(error).to.be.instanceOf(CancelledError).and.include({ name: 'CancelledError', message: 'no longer needed', cause: 'no longer needed' });
        expect(running.signal.aborted).to.equal(true);
        expect(running.signal.reason).to.equal(error);
        expect(await settle(running)).to.deep.equal({ ok: false, error });
        const reason = { why: 'user' };
        expect(queued.cancel(reason)).to.equal(true);
        const queuedError = await rejectionOf(queued);
        expect(queuedError).to.be.instanceOf(CancelledError).and.include({ message: "Task on executor 'cancelling' cancelled before it started", cause: reason });
        expect(queued.signal.reason).to.equal(queuedError);
        expect(await queued.exception().catch((e: unknown) => e)).to.equal(queuedError);
        freeSlot(adapter, harness, 0);
        await harness.started(2);
        harness.release(2);
        await blocker;
        await harness.executor.onIdle();
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('returns false for a settled future', async () => {
        const { value } = adapter.create();
        const future = value(1);
        await future;
        expect(future.cancel()).to.equal(false);
        expect(future.state).to.equal('fulfilled');
      });
    });

    describe('timeout', () => {
      it('rejects a running task with a TimeoutError and keeps its slot until the task is gone', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const slow = harness.gated(0, { timeout: 5 });
        const next = harness.value('next');
        const error = await rejectionOf(slow);
        expect(error).to.be.instanceOf(TimeoutError);
        expect(slow.state).to.equal('rejected');
        expect(next.state).to.equal('pending');
        expect(harness.executor.stats).to.include({ running: 1, failed: 1 });
        freeSlot(adapter, harness, 0);
        expect(await next).to.equal('next');
      });

      it("applies the executor's taskTimeout, which a per-task timeout overrides", async () => {
        const harness = adapter.create({ maxWorkers: 2, taskTimeout: 5 });
        const timed = harness.gated(0);
        const untimed = harness.gated(1, { timeout: Infinity });
        expect(await rejectionOf(timed)).to.be.instanceOf(TimeoutError);
        await harness.started(1);
        freeSlot(adapter, harness, 0);
        harness.release(1);
        expect(await untimed).to.equal(1);
      });
    });

    describe('shutdown', () => {
      it('waits for running and queued tasks', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const a = harness.gated(0);
        const b = harness.gated(1);
        let finished = false;
        const done = harness.executor.shutdown().then(() => (finished = true));
        await harness.started(0);
        harness.release(0);
        await harness.started(1);
        await flush();
        expect(finished).to.equal(false);
        harness.release(1);
        await done;
        expect([a.state, b.state]).to.deep.equal(['fulfilled', 'fulfilled']);
      });

      it('cancels pending futures with cancelFutures, and is idempotent', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const a = harness.gated(0);
        const b = harness.gated(1);
        const done = harness.executor.shutdown({ cancelFutures: true });
        expect(b.cancelled()).to.equal(true);
        await harness.executor.shutdown({ wait: false });
        harness.release(0);
        await done;
        await harness.executor.shutdown();
        expect(a.state).to.equal('fulfilled');
        expect(harness.hasStarted(1)).to.equal(false);
        expect(harness.executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 0, cancelled: 1 });
      });

      it('throws ExecutorShutdownError on submit after shutdown, naming the executor', async () => {
        const harness = adapter.create({ name: 'contract-pool' });
        await harness.executor.shutdown();
        expect(() => harness.value(1)).to.throw(ExecutorShutdownError, /'contract-pool'/);
        expect(() => harness.mapGated([1])).to.throw(ExecutorShutdownError);
      });

      it('supports await using', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        let future: Future<number>;
        {
          await using executor = harness.executor;
          future = harness.gated(0);
          await harness.started(0);
          harness.release(0);
          expect(executor.isShutdown).to.equal(false);
        }
        expect(future.state).to.equal('fulfilled');
        expect(harness.executor.isShutdown).to.equal(true);
      });
    });

    describe('map', () => {
      it('yields in input order with at most bufferSize tasks submitted and not yet yielded', async () => {
        const harness = adapter.create({ maxWorkers: 4 });
        const results = harness.mapGated([0, 1, 2, 3, 4], { bufferSize: 2 });
        const first = results.next();
        await harness.started(0);
        await harness.started(1);
        harness.release(1);
        await flush();
        expect(harness.hasStarted(2)).to.equal(false);
        harness.release(0);
        expect(await first).to.deep.equal({ done: false, value: 0 });
        for (const id of [4, 3, 2]) harness.release(id);
        const rest: number[] = [];
        for await (const value of results) rest.push(value);
        expect(rest).to.deep.equal([1, 2, 3, 4]);
        expect(harness.maxInFlight).to.be.at.most(2);
        expect([...harness.startedOrder].sort()).to.deep.equal([0, 1, 2, 3, 4]);
      });

      it('throws a failure at its position and cancels what is outstanding', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const results = harness.mapGated([0, 1, 2]);
        harness.release(0);
        harness.fail(1);
        expect(await results.next()).to.deep.equal({ done: false, value: 0 });
        const error = await rejectionOf(results.next());
        expect((error as Error).message).to.equal('task 1 failed');
        // Task 2 may have started once task 1 failed: either way it is cancelled.
        freeSlot(adapter, harness, 2);
        await harness.executor.onIdle();
        expect(harness.executor.stats).to.include({ completed: 1, failed: 1, cancelled: 1 });
      });

      it('cancels outstanding tasks on break, running ones included', async () => {
        const harness = adapter.create({ maxWorkers: 2 });
        harness.release(0);
        for await (const value of harness.mapGated([0, 1, 2, 3])) {
          expect(value).to.equal(0);
          await harness.started(1);
          break;
        }
        // Task 2 took task 0's slot: both running tasks were cancelled, and the queued one.
        freeSlot(adapter, harness, 1);
        freeSlot(adapter, harness, 2);
        await harness.executor.onIdle();
        expect(harness.executor.stats).to.include({ completed: 1, cancelled: 3, running: 0, pending: 0 });
      });
    });

    describe('wait, asCompleted, settle', () => {
      it('wait returns at the first completion, then at the first exception', async () => {
        const harness = adapter.create({ maxWorkers: 3 });
        const futures = [0, 1, 2].map((id) => harness.gated(id));
        harness.release(1);
        const first = await wait(futures, { returnWhen: FIRST_COMPLETED });
        expect([...first.done]).to.have.ordered.members([futures[1]]);
        harness.fail(2);
        const failed = await wait(futures, { returnWhen: FIRST_EXCEPTION });
        expect(failed.done.has(futures[2]!)).to.equal(true);
        expect(failed.notDone.has(futures[0]!)).to.equal(true);
        harness.release(0);
        const all = await wait(futures);
        expect(all.notDone.size).to.equal(0);
      });

      it('asCompleted yields in completion order', async () => {
        const harness = adapter.create({ maxWorkers: 3 });
        const futures = [0, 1, 2].map((id) => harness.gated(id));
        const order: number[] = [];
        const consuming = (async () => {
          for await (const { future, result } of asCompleted(futures)) {
            order.push(futures.indexOf(future));
            if (order.length < 3) harness.release([2, 0][order.length - 1]!);
            expect(result.ok).to.equal(true);
          }
        })();
        harness.release(1);
        await consuming;
        expect(order).to.deep.equal([1, 2, 0]);
      });

      it('settle gives Ok, Err, and Err(CancelledError)', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const ok = harness.value(7);
        const ko = harness.error('bad');
        const blocker = harness.gated(0);
        const cancelled = harness.value(8);
        cancelled.cancel();
        harness.release(0);
        expect(await settle(ok)).to.deep.equal({ ok: true, value: 7 });
        const failure = await settle(ko);
        expect(failure.ok).to.equal(false);
        expect((failure as { error: Error }).error.message).to.equal('bad');
        const cancellation = await settle(cancelled);
        expect((cancellation as { error: unknown }).error).to.be.instanceOf(CancelledError);
        expect(await settle(blocker)).to.deep.equal({ ok: true, value: 0 });
      });
    });

    it('keeps stats and resolves onIdle when nothing is pending or running', async () => {
      const harness = adapter.create({ maxWorkers: 1 });
      const a = harness.gated(0);
      const b = harness.error('no');
      const c = harness.value(3);
      c.cancel();
      expect(harness.executor.stats).to.deep.equal({ pending: 1, running: 1, retrying: 0, completed: 0, failed: 0, cancelled: 1 });
      let idle = false;
      const idling = harness.executor.onIdle().then(() => (idle = true));
      await harness.started(0);
      expect(idle).to.equal(false);
      harness.release(0);
      await idling;
      expect(await a).to.equal(0);
      expect(b.state).to.equal('rejected');
      expect(harness.executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 1 });
    });
  });
}

/** `it`, except that the cases in `notApplicable` are pending, their title saying why. */
export function applicableCases(notApplicable: Readonly<Record<string, string>> = {}): (title: string, test: Mocha.AsyncFunc | Mocha.Func) => Mocha.Test {
  return (title, test) => (Object.hasOwn(notApplicable, title) ? globalThis.it.skip(`${title} [not applicable: ${notApplicable[title]}]`) : globalThis.it(title, test));
}
