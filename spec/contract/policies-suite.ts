/**
 * The policies' contract (API.md, "Policies: retry, rate limit, circuit breaker, single-flight,
 * memoize"), once for every backend, in the shape of the Executor contract in `suite.ts`: a
 * backend supplies a {@link PoliciesAdapter} that makes its executor with policy options and
 * expresses, in its own terms, the tasks the contract needs.
 *
 * Time runs on the fake clock of `spec/reliability/clock.ts` (installed around every test):
 * backoff waits, rate-limit delays, `halfOpenAfter`, `timeout`, `deadline` and `ttl` pass only
 * when a test advances it. Tasks are gated by hand. No sleeps, no timed assertions.
 *
 * The types below are written from API.md, not from the library's current declarations, so
 * the suite compiles before the scheduler has the policies; once it has them, an adapter
 * passes its executor and futures as they are.
 */
import { expect } from 'chai';
import {
  BrokenCircuitError,
  CancelledError,
  CircuitBreaker,
  memoize,
  TimeoutError,
  TaskPoolExecutor,
  type ExecutorOptions,
  type ExecutorStats,
  type Future,
  type RateLimitOptions,
  type RetryInfo,
  type RetryOptions,
  type RunOptions,
} from '../../lib/index.js';
import { rejectionOf } from '../fixtures.js';
import { flush, gateBoard } from '../helpers.js';
import { FakeClock } from '../reliability/clock.js';
import { applicableCases } from './suite.js';

/** Executor options with the policies (API.md). */
export interface PolicyExecutorOptions {
  maxWorkers?: number;
  name?: string;
  taskTimeout?: number;
  retry?: RetryOptions;
  rateLimit?: RateLimitOptions;
  breaker?: CircuitBreaker;
}

/** `run()` options with the policies (API.md). */
export interface PolicyRunOptions {
  signal?: AbortSignal;
  timeout?: number;
  priority?: number;
  deadline?: number;
  retry?: RetryOptions;
  key?: string;
}

/** A future with `attempt` (API.md). */
export type PolicyFuture<T> = Future<T> & { readonly attempt: number };

/** Stats with `retrying` (API.md). */
export type PolicyStats = ExecutorStats & { readonly retrying: number };

/** What the contract uses of an executor. */
export interface PolicyExecutor {
  readonly stats: PolicyStats;
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void>;
  onIdle(): Promise<void>;
}

/** One executor under test, with the tasks the contract needs expressed for its backend. */
export interface PoliciesHarness {
  readonly executor: PolicyExecutor;
  /** A task that resolves to `value`. */
  value<T>(value: T, options?: PolicyRunOptions): PolicyFuture<T>;
  /** A task whose every attempt rejects with an `Error` whose message is `message`. */
  error(message: string, options?: PolicyRunOptions): PolicyFuture<never>;
  /**
   * Gated task `id` (0 to 63): every call of it waits on gate `id`; resolves to `id` once
   * released, rejects with `Error('task <id> failed')` once failed.
   */
  gated(id: number, options?: PolicyRunOptions): PolicyFuture<number>;
  /**
   * A task whose attempt `k` (from its context) is gated call `ids[k - 1]` (the last id for
   * attempts beyond the list): each attempt can be released or failed on its own.
   */
  attempts(ids: readonly number[], options?: PolicyRunOptions): PolicyFuture<number>;
  /** Resolves once gated call `id` has started. */
  started(id: number): Promise<void>;
  hasStarted(id: number): boolean;
  release(id: number): void;
  fail(id: number): void;
  /** The `attempt` that gated call `id` found in its task context (`undefined` before it starts). */
  attemptSeen(id: number): number | undefined;
  /**
   * The reason gated call `id`'s signal aborted with: `undefined` while it has not aborted.
   * Only asked of backends that are not preemptive (a terminated worker cannot say).
   */
  abortReason(id: number): unknown;
  /** Gated ids in the order their calls started. */
  readonly startedOrder: number[];
  /** The most gated calls seen in flight at once. */
  readonly maxInFlight: number;
  /**
   * For a backend whose tasks run elsewhere (a worker): resolves once the executor has
   * received every outcome its gated calls have produced so far.
   */
  quiesce?(): Promise<void>;
}

/** How to build a {@link PoliciesHarness} for one backend. */
export interface PoliciesAdapter {
  /** Names the backend in test titles. */
  readonly name: string;
  /** Whether cancelling or timing out a running task stops it by force (see `suite.ts`). */
  readonly preemptive: boolean;
  /** A new executor (cleaned up by the adapter after each test); bad options throw from here. */
  create(options?: PolicyExecutorOptions): PoliciesHarness;
  /** Called after each test: release every gate, shut everything down. */
  cleanup(): Promise<void>;
  /**
   * Cases whose meaning does not hold for this backend, by title, each with the reason: they
   * are listed as pending with it (the backend's own specs cover what they stand for).
   */
  readonly notApplicable?: Readonly<Record<string, string>>;
}

/** The harnesses made in the current test: {@link settleDown} waits for each to be quiet. */
const live = new Set<PoliciesHarness>();

/**
 * Lets the scheduler react to settlements and timers: microtasks and a few event-loop turns,
 * and, for a backend whose tasks run elsewhere, until every outcome they sent has arrived.
 */
async function settleDown(): Promise<void> {
  await flush(5);
  for (const harness of live) await harness.quiesce?.();
  await flush(5);
}

/** Runs the policies' contract against `adapter`'s backend. */
export function policiesContract(adapter: PoliciesAdapter): void {
  const it = applicableCases(adapter.notApplicable);
  describe(`Policies contract: ${adapter.name}`, () => {
    let clock: FakeClock;
    beforeEach(() => {
      clock = new FakeClock();
      clock.install();
    });
    afterEach(async () => {
      live.clear();
      try {
        await adapter.cleanup();
      } finally {
        clock.uninstall();
      }
    });
    const create = adapter.create.bind(adapter);
    adapter = {
      ...adapter,
      create: (options) => {
        const harness = create(options);
        live.add(harness);
        return harness;
      },
    };

    /** Frees the slot of an attempt that was cancelled or timed out while running. */
    const freeSlot = (harness: PoliciesHarness, id: number): void => {
      if (!adapter.preemptive) harness.release(id);
    };

    /** Advances the fake clock by `ms`, then lets the scheduler act on the timers that fired. */
    const advance = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await settleDown();
    };

    describe('retry', () => {
      it('calls the task at most `attempts` times and rejects with the last error', async () => {
        const harness = adapter.create({ maxWorkers: 2 });
        const future = harness.attempts([0, 1, 2, 3], { retry: { attempts: 3, backoff: 10 } });
        await harness.started(0);
        expect(future.attempt).to.equal(1);
        harness.fail(0);
        await settleDown();
        expect(harness.hasStarted(1)).to.equal(false);
        await advance(10);
        await harness.started(1);
        expect(future.attempt).to.equal(2);
        harness.fail(1);
        await settleDown();
        await advance(10);
        await harness.started(2);
        harness.fail(2);
        const error = await rejectionOf(future);
        expect(error).to.be.instanceOf(Error);
        expect((error as Error).message).to.equal('task 2 failed');
        await advance(1_000);
        expect(harness.hasStarted(3)).to.equal(false);
        expect(future.state).to.equal('rejected');
        expect(future.attempt).to.equal(3);
        expect(harness.executor.stats).to.include({ failed: 1, retrying: 0, running: 0, pending: 0 });
      });

      it('has no retry by default: attempts is 1', async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1]);
        await harness.started(0);
        harness.fail(0);
        expect(((await rejectionOf(future)) as Error).message).to.equal('task 0 failed');
        await advance(60_000);
        expect(harness.hasStarted(1)).to.equal(false);
        expect(future.attempt).to.equal(1);
      });

      it('takes the executor default and lets run() override it', async () => {
        const harness = adapter.create({ retry: { attempts: 2, backoff: 5 } });
        const byDefault = harness.attempts([0, 1]);
        const overridden = harness.attempts([2, 3], { retry: { attempts: 1 } });
        await harness.started(0);
        await harness.started(2);
        harness.fail(0);
        harness.fail(2);
        await settleDown();
        await advance(5);
        await harness.started(1);
        harness.release(1);
        expect(await byDefault).to.equal(1);
        expect(((await rejectionOf(overridden)) as Error).message).to.equal('task 2 failed');
        expect(harness.hasStarted(3)).to.equal(false);
      });

      it("keeps the executor's retry for a task that also has a signal, a priority or a circuit breaker's permit", async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 100, halfOpenAfter: 1_000 });
        const harness = adapter.create({ maxWorkers: 3, retry: { attempts: 2, backoff: 5 }, breaker });
        const futures = [
          harness.attempts([0, 1], { signal: new AbortController().signal }),
          harness.attempts([2, 3], { priority: 1 }),
          harness.attempts([4, 5]),
        ];
        for (const id of [0, 2, 4]) await harness.started(id);
        for (const id of [0, 2, 4]) harness.fail(id);
        await settleDown();
        await advance(5);
        for (const id of [1, 3, 5]) {
          await harness.started(id);
          harness.release(id);
        }
        expect(await Promise.all(futures)).to.deep.equal([1, 3, 5]);
        expect(futures.map((future) => future.attempt)).to.deep.equal([2, 2, 2]);
      });

      it('stays running through the backoff wait, holding no slot (stats.retrying)', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const flaky = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 100 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        expect(flaky.state).to.equal('running');
        expect(harness.executor.stats).to.include({ retrying: 1, running: 0 });
        // The slot is free during the wait: another task takes it.
        const other = harness.gated(2);
        await harness.started(2);
        expect(harness.executor.stats).to.include({ retrying: 1, running: 1 });
        await advance(100);
        expect(harness.executor.stats.retrying).to.equal(0);
        expect(harness.hasStarted(1)).to.equal(false);
        harness.release(2);
        await other;
        await harness.started(1);
        harness.release(1);
        expect(await flaky).to.equal(1);
        expect(harness.maxInFlight).to.equal(1);
        expect(harness.executor.stats).to.include({ completed: 2, failed: 0, retrying: 0 });
      });

      it('queues a retry ahead of tasks of the same priority submitted after it', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const flaky = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 10 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        const blocker = harness.gated(2);
        await harness.started(2);
        const later = harness.gated(3);
        const urgent = harness.gated(4, { priority: 1 });
        await advance(10);
        harness.release(2);
        await blocker;
        await harness.started(4);
        harness.release(4);
        await urgent;
        await harness.started(1);
        expect(harness.hasStarted(3)).to.equal(false);
        harness.release(1);
        harness.release(3);
        await Promise.all([flaky, later]);
        expect(harness.startedOrder).to.deep.equal([0, 2, 4, 1, 3]);
      });

      it("gives each attempt its number in the task's context and on future.attempt", async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 1 } });
        await harness.started(0);
        expect(harness.attemptSeen(0)).to.equal(1);
        expect(future.attempt).to.equal(1);
        harness.fail(0);
        await settleDown();
        expect(future.attempt).to.equal(1);
        await advance(1);
        await harness.started(1);
        expect(harness.attemptSeen(1)).to.equal(2);
        expect(future.attempt).to.equal(2);
        harness.release(1);
        await future;
        expect(future.attempt).to.equal(2);
      });

      it('tells retryIf, a backoff function and onRetry the attempt that just failed', async () => {
        const harness = adapter.create();
        const seen: string[] = [];
        const future = harness.attempts([0, 1, 2], {
          retry: {
            attempts: 3,
            retryIf: (error, attempt) => (seen.push(`retryIf ${attempt} ${(error as Error).message}`), true),
            backoff: ({ attempt }) => (seen.push(`backoff ${attempt}`), attempt * 10),
            onRetry: ({ attempt, delay, error }: RetryInfo) => void seen.push(`onRetry ${attempt} ${delay} ${(error as Error).message}`),
          },
        });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        await advance(10);
        await harness.started(1);
        harness.fail(1);
        await settleDown();
        await advance(20);
        await harness.started(2);
        harness.release(2);
        expect(await future).to.equal(2);
        expect(seen).to.deep.equal([
          'retryIf 1 task 0 failed',
          'backoff 1',
          'onRetry 1 10 task 0 failed',
          'retryIf 2 task 1 failed',
          'backoff 2',
          'onRetry 2 20 task 1 failed',
        ]);
      });

      it('stops when a backoff function returns undefined, with that attempt’s error', async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1], { retry: { attempts: 5, backoff: () => undefined } });
        await harness.started(0);
        harness.fail(0);
        expect(((await rejectionOf(future)) as Error).message).to.equal('task 0 failed');
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it("gives each attempt its own signal; a timed-out attempt is retried and the next one's signal is fresh", async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 10 }, timeout: 50 });
        await harness.started(0);
        await advance(50);
        if (!adapter.preemptive) expect(harness.abortReason(0)).to.be.instanceOf(TimeoutError);
        freeSlot(harness, 0);
        await settleDown();
        expect(future.state).to.equal('running');
        await advance(10);
        await harness.started(1);
        if (!adapter.preemptive) expect(harness.abortReason(1)).to.equal(undefined);
        harness.release(1);
        expect(await future).to.equal(1);
      });

      it('cancelling during the wait settles the future as cancelled at once, clears the timer, and starts nothing more', async () => {
        const harness = adapter.create();
        const baseline = clock.pending;
        const future = harness.attempts([0, 1], { retry: { attempts: 3, backoff: 1_000 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        expect(harness.executor.stats.retrying).to.equal(1);
        expect(clock.pending).to.equal(baseline + 1);
        expect(future.cancel()).to.equal(true);
        expect(future.state).to.equal('cancelled');
        expect(clock.pending).to.equal(baseline);
        expect(harness.executor.stats).to.include({ retrying: 0, cancelled: 1 });
        expect(await rejectionOf(future)).to.be.instanceOf(CancelledError);
        await advance(5_000);
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('cancelling a running attempt aborts its signal and does not retry', async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1], { retry: { attempts: 3, backoff: 1 } });
        await harness.started(0);
        future.cancel();
        expect(future.state).to.equal('cancelled');
        if (!adapter.preemptive) expect(harness.abortReason(0)).to.be.instanceOf(CancelledError);
        freeSlot(harness, 0);
        await settleDown();
        await advance(100);
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('shutdown({ cancelFutures: true }) cancels the retries waiting out a backoff', async () => {
        const harness = adapter.create();
        const baseline = clock.pending;
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 1_000 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        const done = harness.executor.shutdown({ cancelFutures: true });
        expect(future.state).to.equal('cancelled');
        expect(clock.pending).to.equal(baseline);
        await done;
        await advance(5_000);
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('shutdown({ wait: true }) waits for retries to finish', async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 1_000 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        let finished = false;
        const done = harness.executor.shutdown({ wait: true }).then(() => (finished = true));
        await settleDown();
        expect(finished).to.equal(false);
        expect(future.state).to.equal('running');
        await advance(1_000);
        await harness.started(1);
        expect(finished).to.equal(false);
        harness.release(1);
        await done;
        expect(await future).to.equal(1);
      });

      it('does not retry a BrokenCircuitError by default', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 60_000 });
        const harness = adapter.create({ breaker, retry: { attempts: 5, backoff: 1 } });
        const opener = harness.attempts([0, 1], { retry: { attempts: 1 } });
        await harness.started(0);
        harness.fail(0);
        await rejectionOf(opener);
        const refused = harness.attempts([2, 3]);
        expect(await rejectionOf(refused)).to.be.instanceOf(BrokenCircuitError);
        expect(refused.attempt).to.equal(1);
        await advance(100);
        expect(harness.hasStarted(2)).to.equal(false);
      });

      it('a retry refused by an open breaker rejects with a BrokenCircuitError whose cause is the error before', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 60_000 });
        const harness = adapter.create({ breaker });
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 10 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        expect(breaker.state).to.equal('open');
        await advance(10);
        const error = (await rejectionOf(future)) as BrokenCircuitError;
        expect(error).to.be.instanceOf(BrokenCircuitError);
        expect((error.cause as Error).message).to.equal('task 0 failed');
        expect(future.attempt).to.equal(2);
        expect(harness.hasStarted(1)).to.equal(false);
        // A first start refused has no error before it.
        expect(((await rejectionOf(harness.attempts([2]))) as Error).cause).to.equal(undefined);
      });

      it('deadline bounds every attempt and wait: the running attempt aborts with the TimeoutError the future rejects with', async () => {
        const harness = adapter.create();
        const future = harness.attempts([0, 1, 2], { retry: { attempts: 3, backoff: 100 }, deadline: 150 });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        await advance(100);
        await harness.started(1);
        await advance(50);
        const error = await rejectionOf(future);
        expect(error).to.be.instanceOf(TimeoutError);
        expect(future.state).to.equal('rejected');
        if (!adapter.preemptive) expect(harness.abortReason(1)).to.equal(error);
        freeSlot(harness, 1);
        await advance(1_000);
        expect(harness.hasStarted(2)).to.equal(false);
      });

      it('deadline ends a backoff wait at once', async () => {
        const harness = adapter.create();
        const baseline = clock.pending;
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 1_000 }, deadline: 200 });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        await advance(200);
        expect(future.state).to.equal('rejected');
        expect(await rejectionOf(future)).to.be.instanceOf(TimeoutError);
        expect(harness.executor.stats.retrying).to.equal(0);
        expect(clock.pending).to.equal(baseline);
        await advance(1_000);
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('counts stats.retrying from 0, always present', () => {
        const harness = adapter.create();
        expect(harness.executor.stats.retrying).to.equal(0);
      });
    });

    describe('rate limit', () => {
      it('slides: never more than limit starts in any window of interval ms', async () => {
        const harness = adapter.create({ maxWorkers: 8, rateLimit: { limit: 2, interval: 1_000 } });
        harness.gated(0);
        await harness.started(0);
        await advance(900);
        harness.gated(1);
        const held = harness.gated(2);
        await harness.started(1);
        await settleDown();
        expect(held.state).to.equal('pending');
        expect(harness.executor.stats).to.include({ pending: 1, running: 2 });
        await advance(100);
        await harness.started(2);
        // Fixed one-second buckets would let this one start now, the second in [1000, 2000).
        harness.gated(3);
        await settleDown();
        expect(harness.hasStarted(3)).to.equal(false);
        await advance(899);
        expect(harness.hasStarted(3)).to.equal(false);
        await advance(1);
        await harness.started(3);
      });

      it('counts a start as the task is called, not as the scheduler lets it through', async () => {
        const harness = adapter.create({ rateLimit: { limit: 1, interval: 1_000 } });
        harness.gated(0);
        // A second passes before task 0 is called (it never is inside the submit that queued it).
        clock.advance(1_000);
        harness.gated(1);
        await harness.started(0);
        await settleDown();
        expect(harness.hasStarted(1)).to.equal(false);
        await advance(999);
        expect(harness.hasStarted(1)).to.equal(false);
        await advance(1);
        await harness.started(1);
      });

      it('a task let through and cancelled before it is called uses no start', async () => {
        const harness = adapter.create({ rateLimit: { limit: 1, interval: 1_000 } });
        const first = harness.gated(0);
        expect(first.cancel()).to.equal(true);
        harness.gated(1);
        await harness.started(1);
        expect(harness.hasStarted(0)).to.equal(false);
      });

      it('a place freed that way is taken at once, not when a timer set while it was held fires', async () => {
        const harness = adapter.create({ rateLimit: { limit: 2, interval: 1_000 } });
        harness.gated(0);
        const second = harness.gated(1);
        harness.gated(2);
        expect(second.cancel()).to.equal(true);
        await harness.started(0);
        await harness.started(2);
        expect(harness.hasStarted(1)).to.equal(false);
      });

      it('counts retries as starts', async () => {
        const harness = adapter.create({ rateLimit: { limit: 1, interval: 1_000 } });
        const future = harness.attempts([0, 1], { retry: { attempts: 2, backoff: 10 } });
        await harness.started(0);
        harness.fail(0);
        await settleDown();
        await advance(10);
        expect(harness.hasStarted(1)).to.equal(false);
        await advance(989);
        expect(harness.hasStarted(1)).to.equal(false);
        await advance(1);
        await harness.started(1);
        harness.release(1);
        expect(await future).to.equal(1);
      });

      it('a task held back stays pending, and cancelling it uses no start', async () => {
        const harness = adapter.create({ rateLimit: { limit: 1, interval: 1_000 } });
        const baseline = clock.pending;
        harness.gated(0);
        await harness.started(0);
        const held = harness.gated(1);
        await settleDown();
        expect(held.state).to.equal('pending');
        expect(held.cancel()).to.equal(true);
        const next = harness.gated(2);
        await advance(1_000);
        await harness.started(2);
        expect(harness.hasStarted(1)).to.equal(false);
        harness.release(2);
        expect(await next).to.equal(2);
        expect(clock.pending).to.equal(baseline);
      });
    });

    describe('circuit breaker', () => {
      it('open: a task that would start is rejected with BrokenCircuitError and never runs', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 2, halfOpenAfter: 1_000 });
        const harness = adapter.create({ breaker });
        await rejectionOf(harness.error('down'));
        expect(breaker.state).to.equal('closed');
        await rejectionOf(harness.error('down'));
        expect(breaker.state).to.equal('open');
        const refused = harness.gated(0);
        expect(await rejectionOf(refused)).to.be.instanceOf(BrokenCircuitError);
        expect(refused.state).to.equal('rejected');
        expect(harness.hasStarted(0)).to.equal(false);
      });

      it('half-open: one probe at a time, the others wait queued; a successful probe closes it', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
        const changes: string[] = [];
        breaker.onStateChange((state, previous) => changes.push(`${previous}>${state}`));
        const harness = adapter.create({ maxWorkers: 4, breaker });
        await rejectionOf(harness.error('down'));
        await advance(1_000);
        const probe = harness.gated(0);
        const waiting = harness.gated(1);
        await harness.started(0);
        await settleDown();
        expect(breaker.state).to.equal('half-open');
        expect(waiting.state).to.equal('pending');
        expect(harness.hasStarted(1)).to.equal(false);
        harness.release(0);
        await probe;
        await harness.started(1);
        harness.release(1);
        expect(await waiting).to.equal(1);
        expect(changes).to.deep.equal(['closed>open', 'open>half-open', 'half-open>closed']);
      });

      it('half-open: a failed probe opens it again and the tasks queued behind it are refused', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
        const harness = adapter.create({ maxWorkers: 4, breaker });
        await rejectionOf(harness.error('down'));
        await advance(1_000);
        const probe = harness.gated(0);
        const waiting = harness.gated(1);
        await harness.started(0);
        harness.fail(0);
        await rejectionOf(probe);
        expect(await rejectionOf(waiting)).to.be.instanceOf(BrokenCircuitError);
        expect(harness.hasStarted(1)).to.equal(false);
        expect(breaker.state).to.equal('open');
      });

      it('is shared by several executors', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
        const first = adapter.create({ breaker });
        const second = adapter.create({ breaker });
        await rejectionOf(first.error('down'));
        expect(await rejectionOf(second.gated(0))).to.be.instanceOf(BrokenCircuitError);
        expect(second.hasStarted(0)).to.equal(false);
        await advance(1_000);
        const probe = first.gated(1);
        await first.started(1);
        const waiting = second.gated(2);
        await settleDown();
        expect(second.hasStarted(2)).to.equal(false);
        first.release(1);
        await probe;
        await second.started(2);
        second.release(2);
        expect(await waiting).to.equal(2);
      });

      it('does not count cancellations, nor errors isFailure rejects; counts timeouts', async () => {
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 1_000, isFailure: (error) => (error as Error).message !== 'not found' });
        const harness = adapter.create({ breaker });
        const cancelled = harness.gated(0);
        await harness.started(0);
        cancelled.cancel();
        freeSlot(harness, 0);
        await settleDown();
        await rejectionOf(harness.error('not found'));
        expect(breaker.state).to.equal('closed');
        const slow = harness.gated(1, { timeout: 10 });
        await harness.started(1);
        await advance(10);
        expect(await rejectionOf(slow)).to.be.instanceOf(TimeoutError);
        freeSlot(harness, 1);
        await settleDown();
        expect(breaker.state).to.equal('open');
      });
    });

    describe('single-flight', () => {
      it('a run with the key of a task in flight starts nothing and follows it', async () => {
        const harness = adapter.create();
        const first = harness.gated(0, { key: 'user:1' });
        const second = harness.gated(0, { key: 'user:1' });
        const other = harness.gated(1, { key: 'user:2' });
        expect(second).not.to.equal(first);
        await harness.started(0);
        await harness.started(1);
        harness.release(0);
        harness.release(1);
        expect(await Promise.all([first, second, other])).to.deep.equal([0, 0, 1]);
        expect(harness.startedOrder.filter((id) => id === 0)).to.have.length(1);
      });

      it('follows a pending task too, and shares its failure', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const blocker = harness.gated(0);
        const first = harness.gated(1, { key: 'k' });
        const second = harness.gated(1, { key: 'k' });
        harness.release(0);
        await blocker;
        await harness.started(1);
        harness.fail(1);
        expect(((await rejectionOf(first)) as Error).message).to.equal('task 1 failed');
        expect(((await rejectionOf(second)) as Error).message).to.equal('task 1 failed');
        expect(harness.startedOrder).to.deep.equal([0, 1]);
      });

      it('cancelling a follower cancels only that follower', async () => {
        const harness = adapter.create({ name: 'flights' });
        const first = harness.gated(0, { key: 'k' });
        const second = harness.gated(0, { key: 'k' });
        await harness.started(0);
        expect(first.cancel()).to.equal(true);
        expect(first.state).to.equal('cancelled');
        expect(await rejectionOf(first)).to.be.instanceOf(CancelledError).and.include({ message: "Task on executor 'flights' cancelled while running" });
        expect(second.state).to.equal('running');
        if (!adapter.preemptive) expect(harness.abortReason(0)).to.equal(undefined);
        harness.release(0);
        expect(await second).to.equal(0);
      });

      it('the shared task is cancelled once every follower is', async () => {
        const harness = adapter.create({ maxWorkers: 1 });
        const blocker = harness.gated(0);
        const first = harness.gated(1, { key: 'k' });
        const second = harness.gated(1, { key: 'k' });
        first.cancel();
        second.cancel();
        harness.release(0);
        await blocker;
        await harness.executor.onIdle();
        expect(harness.hasStarted(1)).to.equal(false);
        expect(harness.executor.stats.pending).to.equal(0);

        const running = harness.gated(2, { key: 'r' });
        const follower = harness.gated(2, { key: 'r' });
        await harness.started(2);
        running.cancel();
        follower.cancel();
        if (!adapter.preemptive) expect(harness.abortReason(2)).to.be.instanceOf(CancelledError);
      });

      it('frees the key once the task settles', async () => {
        const harness = adapter.create();
        const first = harness.gated(0, { key: 'k' });
        await harness.started(0);
        harness.release(0);
        await first;
        const again = harness.gated(1, { key: 'k' });
        await harness.started(1);
        harness.release(1);
        expect(await again).to.equal(1);
      });
    });

    describe('memoize over an executor', () => {
      it('shares the call in flight and its value for ttl ms; a rejection is not kept', async () => {
        const harness = adapter.create();
        const baseline = clock.pending;
        let calls = 0;
        const ids = [0, 1, 2];
        const cached = memoize((name: string) => (calls++, harness.gated(name === 'fail' ? 2 : ids[calls - 1]!)), { ttl: 1_000 });
        const first = cached('a');
        const second = cached('a');
        expect(second).to.equal(first);
        await harness.started(0);
        harness.release(0);
        expect(await first).to.equal(0);
        await advance(999);
        expect(await cached('a')).to.equal(0);
        expect(calls).to.equal(1);
        await advance(1);
        const third = cached('a');
        await harness.started(1);
        harness.release(1);
        expect(await third).to.equal(1);
        expect(calls).to.equal(2);
        const failing = cached('fail');
        await harness.started(2);
        harness.fail(2);
        await rejectionOf(failing);
        void cached('fail').catch(() => {});
        expect(calls).to.equal(4);
        expect(clock.pending).to.equal(baseline);
      });
    });

    describe('bad options', () => {
      /** Expects `make` to throw `ErrorType` with a message naming `name` and showing `shown`. */
      const throwsNaming = (make: () => unknown, ErrorType: typeof TypeError, name: string, shown: string): void => {
        let thrown: unknown;
        try {
          make();
        } catch (error) {
          thrown = error;
        }
        expect(thrown, `${name} = ${shown}`).to.be.instanceOf(ErrorType);
        expect((thrown as Error).message).to.include(`'${name}'`).and.include(shown);
      };
      const executorCases: [PolicyExecutorOptions, typeof TypeError, string, string][] = [
        [{ retry: { attempts: 0 } }, RangeError, 'retry.attempts', '0'],
        [{ retry: 3 as never }, TypeError, 'retry', '3'],
        [{ retry: { attempts: 2, tries: 3 } as never }, TypeError, 'retry', 'tries'],
        [{ retry: { backoff: -5 } }, RangeError, 'retry.backoff', '-5'],
        [{ retry: { backoff: { jitter: 'half' as never } } }, RangeError, 'retry.backoff.jitter', 'half'],
        [{ retry: { backoff: { factor: 0 } } }, RangeError, 'retry.backoff.factor', '0'],
        [{ retry: { retryIf: 'always' as never } }, TypeError, 'retry.retryIf', 'always'],
        [{ retry: { onRetry: 1 as never } }, TypeError, 'retry.onRetry', '1'],
        [{ rateLimit: { limit: 5 } as never }, TypeError, 'rateLimit.interval', 'undefined'],
        [{ rateLimit: { interval: 5 } as never }, TypeError, 'rateLimit.limit', 'undefined'],
        [{ rateLimit: { limit: 0, interval: 1_000 } }, RangeError, 'rateLimit.limit', '0'],
        [{ rateLimit: { limit: 1, interval: -1 } }, RangeError, 'rateLimit.interval', '-1'],
        [{ breaker: { consecutiveFailures: 1, halfOpenAfter: 1 } as never }, TypeError, 'breaker', 'consecutiveFailures'],
      ];
      for (const [options, ErrorType, name, shown] of executorCases) {
        it(`the executor refuses ${name} = ${shown} with a ${ErrorType.name}`, () => {
          throwsNaming(() => adapter.create(options), ErrorType, name, shown);
        });
      }

      const runCases: [PolicyRunOptions, typeof TypeError, string, string][] = [
        [{ retry: { attempts: 1.5 } }, RangeError, 'retry.attempts', '1.5'],
        [{ retry: { backoff: { initial: 10, max: 5 } } }, RangeError, 'retry.backoff.max', '5'],
        [{ deadline: -1 }, RangeError, 'deadline', '-1'],
        [{ deadline: '5s' as never }, TypeError, 'deadline', '5s'],
        [{ key: 5 as never }, TypeError, 'key', '5'],
      ];
      for (const [options, ErrorType, name, shown] of runCases) {
        it(`run() refuses ${name} = ${shown} with a ${ErrorType.name}, synchronously`, () => {
          const harness = adapter.create();
          throwsNaming(() => harness.value(1, options), ErrorType, name, shown);
          expect(harness.executor.stats).to.include({ pending: 0, running: 0 });
        });
      }

      it('CircuitBreaker and memoize refuse bad options, naming them', () => {
        throwsNaming(() => new CircuitBreaker({ consecutiveFailures: 1 } as never), TypeError, 'halfOpenAfter', 'undefined');
        throwsNaming(() => new CircuitBreaker({ halfOpenAfter: 1, failureRatio: 2 }), RangeError, 'failureRatio', '2');
        throwsNaming(() => memoize(() => 1, {} as never), TypeError, 'ttl', 'undefined');
        throwsNaming(() => memoize(() => 1, { ttl: 1, maxSize: -1 }), RangeError, 'maxSize', '-1');
      });
    });
  });
}

/**
 * The adapter for `TaskPoolExecutor`. Its options and futures are cast to the policy types
 * of API.md until the scheduler declares them.
 */
export function taskPoolPoliciesAdapter(): PoliciesAdapter {
  const executors = new Set<TaskPoolExecutor>();
  const releases = new Set<() => void>();
  return {
    name: 'TaskPoolExecutor',
    preemptive: false,
    create(options?: PolicyExecutorOptions): PoliciesHarness {
      const executor = new TaskPoolExecutor(options as ExecutorOptions);
      executors.add(executor);
      const { gateOf, startOf, releaseAll } = gateBoard();
      const attemptsSeen = new Map<number, number>();
      const signals = new Map<number, AbortSignal>();
      const startedOrder: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      releases.add(releaseAll);
      const call = async (id: number, context: { signal: AbortSignal; attempt?: number }): Promise<number> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        startedOrder.push(id);
        attemptsSeen.set(id, context.attempt ?? 1);
        signals.set(id, context.signal);
        startOf(id).resolve();
        try {
          return await gateOf(id).promise;
        } finally {
          inFlight--;
        }
      };
      const run = <T>(task: (context: { signal: AbortSignal; attempt?: number }) => T, options?: PolicyRunOptions): PolicyFuture<Awaited<T>> =>
        executor.run(task, options as RunOptions) as PolicyFuture<Awaited<T>>;
      return {
        executor: executor as unknown as PolicyExecutor,
        value: (value, options) => run(() => value, options) as never,
        error: (message, options) =>
          run(() => {
            throw new Error(message);
          }, options),
        gated: (id, options) => run((context) => call(id, context), options),
        attempts: (ids, options) => run((context) => call(ids[Math.min(context.attempt ?? 1, ids.length) - 1]!, context), options),
        started: (id) => startOf(id).promise,
        hasStarted: (id) => startedOrder.includes(id),
        release: (id) => gateOf(id).resolve(id),
        fail: (id) => gateOf(id).reject(new Error(`task ${id} failed`)),
        attemptSeen: (id) => attemptsSeen.get(id),
        abortReason: (id) => {
          const signal = signals.get(id);
          return signal?.aborted ? signal.reason : undefined;
        },
        get startedOrder() {
          return [...startedOrder];
        },
        get maxInFlight() {
          return maxInFlight;
        },
      };
    },
    async cleanup() {
      const all = [...executors];
      executors.clear();
      const done = all.map((executor) => executor.shutdown({ cancelFutures: true }));
      for (const release of releases) release();
      releases.clear();
      await Promise.all(done);
    },
  };
}
