/** The policies' contract (retry, deadline, rate limit, breaker, single-flight), run against every backend. */
import type { Future } from '../lib/index.js';
import type { WorkerPoolExecutorOptions, WorkerRunOptions } from '../lib/worker/index.js';
import { policiesContract, taskPoolPoliciesAdapter, type PoliciesAdapter, type PolicyExecutor, type PolicyFuture, type PolicyRunOptions } from './contract/policies-suite.js';
import { cleanupWorkerPools, workerPool } from './fixtures/worker/harness.js';

function workerPoolPoliciesAdapter(): PoliciesAdapter {
  return {
    name: 'WorkerPoolExecutor',
    preemptive: true,
    create(options) {
      // No idle timers: the contract counts the timers the scheduler leaves.
      const { executor, board } = workerPool({ idleTimeout: Infinity, ...(options as Partial<WorkerPoolExecutorOptions>) });
      const run = <T>(name: string, args: unknown[], runOptions?: PolicyRunOptions): PolicyFuture<T> =>
        executor.run(name, args, runOptions as WorkerRunOptions) as Future<T> as PolicyFuture<T>;
      return {
        executor: executor as PolicyExecutor,
        value: (value, runOptions) => run('echo', [value], runOptions),
        error: (message, runOptions) => run('fail', [message], runOptions),
        gated: (id, runOptions) => run('gated', [id], runOptions),
        attempts: (ids, runOptions) => run('attempts', [ids], runOptions),
        started: (id) => board.started(id),
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
        // A call whose gate is open (or that is not gated) holds its slot until its reply arrives.
        async quiesce() {
          for (let turn = 0; turn < 10_000 && executor.stats.running > board.blocked; turn++) await new Promise(setImmediate);
        },
      };
    },
    cleanup: cleanupWorkerPools,
  };
}

policiesContract(taskPoolPoliciesAdapter());
policiesContract(workerPoolPoliciesAdapter());
