/** The Executor contract, run against every backend. */
import { TaskPoolExecutor, type ExecutorOptions, type Future, type MapOptions, type RunOptions } from '../lib/index.js';
import { executorContract, type ContractAdapter, type ContractHarness } from './contract/suite.js';
import { cleanupWorkerPools, workerPool } from './fixtures/worker/harness.js';
import { gateBoard } from './helpers.js';

function taskPoolAdapter(): ContractAdapter {
  const executors = new Set<TaskPoolExecutor>();
  const releases = new Set<() => void>();
  return {
    name: 'TaskPoolExecutor',
    preemptive: false,
    create(options?: ExecutorOptions): ContractHarness {
      const executor = new TaskPoolExecutor(options);
      executors.add(executor);
      const { gateOf, startOf, releaseAll } = gateBoard();
      const startedOrder: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      releases.add(releaseAll);
      const task = async (id: number): Promise<number> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        startedOrder.push(id);
        startOf(id).resolve();
        try {
          return await gateOf(id).promise;
        } finally {
          inFlight--;
        }
      };
      return {
        executor,
        value: <T>(value: T, options?: RunOptions) => executor.run(() => value, options) as Future<T>,
        error: (message: string, options?: RunOptions) =>
          executor.run(() => {
            throw new Error(message);
          }, options),
        gated: (id: number, options?: RunOptions) => executor.run(() => task(id), options),
        mapGated: (ids: Iterable<number> | AsyncIterable<number>, options?: MapOptions) => executor.map(task, ids, options),
        started: (id: number) => startOf(id).promise,
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
      const all = [...executors];
      executors.clear();
      const done = all.map((executor) => executor.shutdown({ cancelFutures: true }));
      for (const release of releases) release();
      releases.clear();
      await Promise.all(done);
    },
  };
}

function workerPoolAdapter(): ContractAdapter {
  return {
    name: 'WorkerPoolExecutor',
    preemptive: true,
    create(options?: ExecutorOptions): ContractHarness {
      const { executor, board } = workerPool(options);
      return {
        executor,
        value: <T>(value: T, options?: RunOptions) => executor.run('echo', [value], options) as Future<T>,
        error: (message: string, options?: RunOptions) => executor.run('fail', [message], options) as Future<never>,
        gated: (id: number, options?: RunOptions) => executor.run('gated', [id], options) as Future<number>,
        mapGated: (ids: Iterable<number> | AsyncIterable<number>, options?: MapOptions) =>
          executor.map('gated', ids, options) as AsyncIterableIterator<number>,
        started: (id: number) => board.started(id),
        hasStarted: (id: number) => board.hasStarted(id),
        release: (id: number) => board.release(id),
        fail: (id: number) => board.fail(id),
        get startedOrder() {
          return board.startedOrder;
        },
        get maxInFlight() {
          return board.maxInFlight;
        },
      };
    },
    cleanup: cleanupWorkerPools,
  };
}

executorContract(taskPoolAdapter());
executorContract(workerPoolAdapter());
