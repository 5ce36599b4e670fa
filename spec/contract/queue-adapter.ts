/**
 * The shared contracts (`suite.ts`, `policies-suite.ts`) run against QueueExecutor: a client
 * on a private Redis, with the workers that serve it (`serveQueue`). Run by
 * `spec/queue/contract.test.ts` (`npm run test:queue`), where a Redis is started.
 *
 * - Executor contract: one in-process worker per test, its `concurrency` the contract's
 *   `maxWorkers`; gated handlers wait on in-memory gates and, like the task pool's tasks, ignore
 *   their signal (a cancelled or timed-out job keeps its worker's slot until released).
 * - Policies contract: that suite installs a fake clock in this thread, which must not reach
 *   BullMQ's workers: they run in a worker thread (spec/fixtures/queue/board-server.mjs), on
 *   real time, their gated handlers on the shared board of the worker pool's harness; those
 *   handlers stop when their signal aborts (the worker's cancellation), so this backend counts
 *   as preemptive there.
 *
 * A job runs elsewhere: a handler has started before the client hears of it. `started(id)`
 * therefore also waits until the futures following that call are no longer `pending` here, and
 * `quiesce()` until every started call's future is.
 *
 * Cases whose meaning does not hold across machines are listed in `notApplicable`, with the
 * reason and where the queue's own specs cover what they stand for.
 */
import { Worker } from 'node:worker_threads';
import type { ExecutorOptions, Future, MapOptions, RunOptions } from '../../lib/index.js';
import type { QueueExecutor, QueueRunOptions } from '../../lib/queue/index.js';
import { Board } from '../fixtures/worker/harness.js';
import { gateBoard } from '../helpers.js';
import { queueName, type Harness } from '../queue/harness.js';
import type { PoliciesAdapter, PoliciesHarness, PolicyExecutor, PolicyExecutorOptions, PolicyFuture, PolicyRunOptions } from './policies-suite.js';
import type { ContractAdapter, ContractHarness } from './suite.js';

/** The real timer, taken before any test installs the policies contract's fake clock. */
const realSetTimeout = globalThis.setTimeout;

/** Resolves once `condition()` holds, polled on real time (the client hears of a job through Redis). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => realSetTimeout(resolve, 1));
}

/** Whether the client has heard that the job of `future` started (or it settled). */
const heard = (future: Future<unknown>): boolean => future.state !== 'pending';

const SLOT_HELD = "a client counts its own futures: a cancelled or timed-out job no longer counts as running there, while its worker's slot stays taken until the handler returns (spec/queue/contract.test.ts checks the worker's slot)";
const NOT_RUNNING_AT_SUBMIT = 'a job is pending until a worker takes it, never already running when submit returns (spec/queue/client.test.ts covers the states of a job in flight and a waiting one)';

/** The Executor contract's adapter: in-process workers, in-memory gates. */
export function queueContractAdapter(h: Harness): ContractAdapter {
  const executors = new Set<QueueExecutor>();
  const releases = new Set<() => void>();
  const servers = new Set<Promise<{ close(options?: { abort?: boolean }): Promise<void> } | undefined>>();
  return {
    name: 'QueueExecutor',
    preemptive: false,
    notApplicable: {
      'cancels a running task at once; its slot frees only when the task is gone': SLOT_HELD,
      'rejects a running task with a TimeoutError and keeps its slot until the task is gone': SLOT_HELD,
      'cancels pending futures with cancelFutures, and is idempotent': NOT_RUNNING_AT_SUBMIT,
      'keeps stats and resolves onIdle when nothing is pending or running': NOT_RUNNING_AT_SUBMIT,
    },
    create(options: ExecutorOptions = {}): ContractHarness {
      const { maxWorkers = 4, ...clientOptions } = options;
      const queue = queueName();
      const { gateOf, startOf, releaseAll } = gateBoard();
      const startedOrder: number[] = [];
      const following = new Map<number, Future<unknown>[]>();
      let inFlight = 0;
      let maxInFlight = 0;
      releases.add(releaseAll);
      const handlers = {
        echo: <T>(value: T): T => value,
        fail: (message: string): never => {
          throw new Error(message);
        },
        gated: async (id: number): Promise<number> => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          startedOrder.push(id);
          startOf(id).resolve();
          try {
            return await gateOf(id).promise;
          } finally {
            inFlight--;
          }
        },
      };
      const executor = h.client<typeof handlers>({ queue, ...clientOptions });
      executors.add(executor);
      servers.add(h.serve({ queue, handlers, concurrency: maxWorkers }).catch(() => undefined));
      const follow = <T>(id: number, future: Future<T>): Future<T> => {
        following.set(id, [...(following.get(id) ?? []), future]);
        return future;
      };
      return {
        executor,
        value: <T>(value: T, runOptions?: RunOptions) => executor.run('echo', [value], runOptions as QueueRunOptions) as Future<T>,
        error: (message: string, runOptions?: RunOptions) => executor.run('fail', [message], runOptions as QueueRunOptions),
        gated: (id: number, runOptions?: RunOptions) => follow(id, executor.run('gated', [id], runOptions as QueueRunOptions)),
        mapGated: (ids: Iterable<number> | AsyncIterable<number>, mapOptions?: MapOptions) => executor.map('gated', ids, mapOptions),
        started: async (id: number) => {
          await startOf(id).promise;
          await until(() => (following.get(id) ?? []).every(heard));
        },
        hasStarted: (id: number) => startedOrder.includes(id),
        release: (id: number) => gateOf(id).resolve(id),
        fail: (id: number) => gateOf(id).reject(new Error(`task ${id} failed`)),
        get startedOrder() {
          return [...startedOrder];
        },
        get maxInFlight() {
          return maxInFlight;
        },
      };
    },
    async cleanup() {
      const done = [...executors].map((executor) => executor.shutdown({ cancelFutures: true }));
      executors.clear();
      for (const release of releases) release();
      releases.clear();
      await Promise.all(done);
      const all = [...servers];
      servers.clear();
      await Promise.all(all.map(async (serving) => (await serving)?.close({ abort: true })));
    },
  };
}

/** Why the policies that run on the workers' clock cannot be driven by the contract's fake clock. */
const WORKER_CLOCK = "backoff, timeouts and deadlines are timed on the worker, which the contract's fake clock cannot drive";
const RETRY_COVERED = `${WORKER_CLOCK} (spec/queue/policies.test.ts follows attempts, stats.retrying and cancellation through a backoff, ending it by hand)`;
const NO_FUNCTIONS = 'functions do not travel with a job: retryIf and onRetry are given to serveQueue, a backoff is a number or an object (spec/queue/client.test.ts)';
const NO_BREAKER = 'a queue client has no circuit breaker (it refuses the option, saying so: spec/queue/client.test.ts)';
const RATE_LIMIT = "rateLimit is serveQueue's, on Redis' clock (spec/queue/policies.test.ts measures it across two workers, at a window's boundary too)";
const NOT_CLIENT_OPTION = "not an option of a queue client (retry is given per job, rateLimit to serveQueue, and there is no breaker): the client refuses it with a TypeError saying where it goes (spec/queue/client.test.ts)";

/** The policies contract's adapter: workers in a thread on real time, gates on a shared board. */
export function queuePoliciesAdapter(h: Harness): PoliciesAdapter & { dispose(): Promise<void> } {
  let thread: Worker | undefined;
  const replies = new Map<string, (error?: string) => void>();
  let nextServer = 0;
  const made: { executor: QueueExecutor; board: Board; close: () => Promise<void> }[] = [];

  const threadOf = (): Worker => {
    if (thread === undefined) {
      thread = new Worker(new URL('../../../spec/fixtures/queue/board-server.mjs', import.meta.url));
      thread.on('message', (message: { started?: number; closed?: number; error?: string }) => {
        const key = message.started !== undefined ? `started:${message.started}` : `closed:${message.closed}`;
        replies.get(key)?.(message.error);
        replies.delete(key);
      });
    }
    return thread;
  };
  const ask = (message: object, key: string): Promise<void> =>
    new Promise((resolve, reject) => {
      replies.set(key, (error) => (error === undefined ? resolve() : reject(new Error(error))));
      threadOf().postMessage(message);
    });

  const executorCase = (name: string, shown: string, type: string): string => `the executor refuses ${name} = ${shown} with a ${type}`;
  return {
    name: 'QueueExecutor',
    preemptive: true,
    notApplicable: {
      'calls the task at most `attempts` times and rejects with the last error': RETRY_COVERED,
      'takes the executor default and lets run() override it': NOT_CLIENT_OPTION,
      "keeps the executor's retry for a task that also has a signal, a priority or a circuit breaker's permit": `${NOT_CLIENT_OPTION}; ${NO_BREAKER}`,
      'stays running through the backoff wait, holding no slot (stats.retrying)': RETRY_COVERED,
      'queues a retry ahead of tasks of the same priority submitted after it': `${WORKER_CLOCK} (spec/queue/policies.test.ts checks the order of a retry among waiting jobs, ending its backoff by hand)`,
      "gives each attempt its number in the task's context and on future.attempt": RETRY_COVERED,
      'tells retryIf, a backoff function and onRetry the attempt that just failed': NO_FUNCTIONS,
      'stops when a backoff function returns undefined, with that attempt’s error': NO_FUNCTIONS,
      "gives each attempt its own signal; a timed-out attempt is retried and the next one's signal is fresh": WORKER_CLOCK,
      'cancelling during the wait settles the future as cancelled at once, clears the timer, and starts nothing more': RETRY_COVERED,
      'shutdown({ cancelFutures: true }) cancels the retries waiting out a backoff': RETRY_COVERED,
      'shutdown({ wait: true }) waits for retries to finish': RETRY_COVERED,
      'does not retry a BrokenCircuitError by default': NO_BREAKER,
      'a retry refused by an open breaker rejects with a BrokenCircuitError whose cause is the error before': NO_BREAKER,
      'deadline bounds every attempt and wait: the running attempt aborts with the TimeoutError the future rejects with': `${WORKER_CLOCK} (spec/queue/client.test.ts: a deadline over all attempts)`,
      'deadline ends a backoff wait at once': WORKER_CLOCK,
      'slides: never more than limit starts in any window of interval ms': RATE_LIMIT,
      'counts a start as the task is called, not as the scheduler lets it through': RATE_LIMIT,
      'a task let through and cancelled before it is called uses no start': RATE_LIMIT,
      'a place freed that way is taken at once, not when a timer set while it was held fires': RATE_LIMIT,
      'counts retries as starts': RATE_LIMIT,
      'a task held back stays pending, and cancelling it uses no start': RATE_LIMIT,
      'open: a task that would start is rejected with BrokenCircuitError and never runs': NO_BREAKER,
      'half-open: one probe at a time, the others wait queued; a successful probe closes it': NO_BREAKER,
      'half-open: a failed probe opens it again and the tasks queued behind it are refused': NO_BREAKER,
      'is shared by several executors': NO_BREAKER,
      'does not count cancellations, nor errors isFailure rejects; counts timeouts': NO_BREAKER,
      'shares the call in flight and its value for ttl ms; a rejection is not kept':
        "it counts this thread's timers, and the client's event reader (BullMQ's QueueEvents) keeps a watchdog timer while it waits on Redis, from the client's first use (memoize itself is the core's, backend-neutral)",
      [executorCase('retry.attempts', '0', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry', '3', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry', 'tries', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry.backoff', '-5', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry.backoff.jitter', 'half', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry.backoff.factor', '0', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry.retryIf', 'always', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('retry.onRetry', '1', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('rateLimit.interval', 'undefined', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('rateLimit.limit', 'undefined', 'TypeError')]: NOT_CLIENT_OPTION,
      [executorCase('rateLimit.limit', '0', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('rateLimit.interval', '-1', 'RangeError')]: NOT_CLIENT_OPTION,
      [executorCase('breaker', 'consecutiveFailures', 'TypeError')]: NOT_CLIENT_OPTION,
    },
    create(options: PolicyExecutorOptions = {}): PoliciesHarness {
      const { maxWorkers = 4, ...clientOptions } = options;
      const queue = queueName();
      // Bad options throw here, before a worker is started.
      const executor = h.client({ queue, ...(clientOptions as object) });
      const board = new Board();
      const server = ++nextServer;
      const serving = ask({ start: { id: server, queue, url: h.redis.url, concurrency: maxWorkers, board: board.buffer } }, `started:${server}`);
      serving.catch(() => {});
      made.push({
        executor,
        board,
        close: async () => {
          await serving.catch(() => undefined);
          await ask({ close: server }, `closed:${server}`);
        },
      });
      /** The futures following each gated call, by id. */
      const following = new Map<number, Future<unknown>[]>();
      const run = <T>(name: string, args: unknown[], ids: readonly number[], runOptions?: PolicyRunOptions): PolicyFuture<T> => {
        const future = executor.run(name, args, runOptions as QueueRunOptions) as unknown as PolicyFuture<T>;
        for (const id of ids) following.set(id, [...(following.get(id) ?? []), future]);
        return future;
      };
      const heardOf = (id: number): boolean => !board.hasStarted(id) || (following.get(id) ?? []).every(heard);
      return {
        executor: executor as unknown as PolicyExecutor,
        value: (value, runOptions) => run('echo', [value], [], runOptions),
        error: (message, runOptions) => run('fail', [message], [], runOptions),
        gated: (id, runOptions) => run('gated', [id], [id], runOptions),
        attempts: (ids, runOptions) => run('attempts', [ids], ids, runOptions),
        started: async (id) => {
          await board.started(id);
          await until(() => heardOf(id));
        },
        hasStarted: (id) => board.hasStarted(id),
        release: (id) => board.release(id),
        fail: (id) => board.fail(id),
        attemptSeen: (id) => board.attemptSeen(id),
        abortReason: () => undefined,
        get startedOrder() {
          return board.startedOrder;
        },
        get maxInFlight() {
          return board.maxInFlight;
        },
        // Every started call's future has heard of its start.
        async quiesce() {
          await until(() => [...following.keys()].every(heardOf));
        },
      };
    },
    async cleanup() {
      const all = made.splice(0);
      await Promise.all(
        all.map(async ({ executor, board, close }) => {
          const done = executor.shutdown({ cancelFutures: true });
          board.releaseAll();
          await done;
          await close();
        }),
      );
    },
    async dispose() {
      await thread?.terminate();
      thread = undefined;
    },
  };
}
