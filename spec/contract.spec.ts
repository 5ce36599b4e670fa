/** The Executor contract, run against every backend. */
import { TaskPoolExecutor, type ExecutorOptions, type Future, type MapOptions, type RunOptions } from '../lib/index.js';
import { executorContract, type ContractAdapter, type ContractHarness } from './contract/suite.js';
import { cleanupWorkerPools, workerPool } from './fixtures/worker/harness.js';
import { gate, type Gate } from './helpers.js';

function taskPoolAdapter(): ContractAdapter {
  const executors = new Set<TaskPoolExecutor>();
  const releases = new Set<() => void>();
  return {
    name: 'TaskPoolExecutor',
    preemptive: false,
    create(options?: ExecutorOptions): ContractHarness {
      const executor = new TaskPoolExecutor(options);
      executors.add(executor);
      const gates = new Map<number, Gate<number>>();
      const starts = new Map<number, Gate>();
      const startedOrder: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const gateOf = (id: number): Gate<number> => {
        let g = gates.get(id);
        if (g === undefined) {
          g = gate<number>();
          g.promise.catch(() => {});
          gates.set(id, g);
        }
        return g;
      };
      const startOf = (id: number): Gate => {
        let g = starts.get(id);
        if (g === undefined) starts.set(id, (g = gate()));
        return g;
      };
      releases.add(() => {
        for (let id = 0; id < 64; id++) gateOf(id).resolve(id);
      });
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
