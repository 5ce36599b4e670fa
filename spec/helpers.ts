/** Test helpers: hand-resolved gates, event-loop flushing, and executor tracking. */
import pDefer, { type DeferredPromise } from 'p-defer';
import { TaskPoolExecutor, type ExecutorOptions } from '../lib/index.js';

export type Gate<T = void> = DeferredPromise<T>;

/** A promise the test resolves or rejects by hand. */
export function gate<T = void>(): Gate<T> {
  return pDefer<T>();
}

/** Lets every pending microtask and immediate run (`rounds` event-loop turns). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const executors = new Set<{ shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> }>();

/** A TaskPoolExecutor that the root `afterEach` hook shuts down. */
export function pool(options?: ExecutorOptions): TaskPoolExecutor {
  const executor = new TaskPoolExecutor(options);
  executors.add(executor);
  return executor;
}

/** Registers any executor for shutdown after the current test. */
export function track<E extends { shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> }>(executor: E): E {
  executors.add(executor);
  return executor;
}

/** Shuts every tracked executor down (called by the root hook). */
export async function shutdownAll(): Promise<void> {
  const all = [...executors];
  executors.clear();
  await Promise.all(all.map((executor) => executor.shutdown({ wait: false, cancelFutures: true })));
}

/**
 * A task function that records how many instances are in flight, and waits on a gate per call.
 * `release(i)` resolves call i; `maxInFlight` is the highest concurrency seen.
 */
export function instrumented<T = number>() {
  const gates: Gate<T>[] = [];
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fn = async (id: number): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    started.push(id);
    const g = gate<T>();
    gates[id] = g;
    try {
      return await g.promise;
    } finally {
      inFlight--;
    }
  };
  return {
    fn,
    started,
    gates,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    release(id: number, value?: T) {
      gates[id]!.resolve(value ?? (id as T));
    },
    fail(id: number, error: unknown) {
      gates[id]!.reject(error);
    },
  };
}
