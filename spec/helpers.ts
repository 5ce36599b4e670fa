/** Test helpers: hand-resolved gates, event-loop flushing, and executor tracking. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pDefer, { type DeferredPromise } from 'p-defer';
import { TaskPoolExecutor, type DoneCallback, type ExecutorOptions, type Future } from '../lib/index.js';
import { internals } from '../lib/future.js';

export type Gate<T = void> = DeferredPromise<T>;

/** A promise the test resolves or rejects by hand. */
export function gate<T = void>(): Gate<T> {
  return pDefer<T>();
}

/** The per-task gates of a contract adapter, by task id. */
export interface GateBoard {
  /** Settles task `id`'s result by hand (its rejection is handled, so a failed gate nobody awaits is no unhandled rejection). */
  gateOf(id: number): Gate<number>;
  /** Resolves once task `id` has started. */
  startOf(id: number): Gate;
  /** Releases tasks 0–63 with their ids (for the end of a test). */
  releaseAll(): void;
}

/** A board of gates a contract adapter's tasks wait on: one result gate and one start gate per task id. */
export function gateBoard(): GateBoard {
  const gates = new Map<number, Gate<number>>();
  const starts = new Map<number, Gate>();
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
  return {
    gateOf,
    startOf,
    releaseAll: () => {
      for (let id = 0; id < 64; id++) gateOf(id).resolve(id);
    },
  };
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

/** A pool of `count` workers running `count` tasks that each wait on a gate the test resolves. */
export function gated(count: number) {
  const executor = pool({ maxWorkers: count });
  const gates = Array.from({ length: count }, () => gate<number>());
  const futures = gates.map((g) => executor.submit(() => g.promise));
  return { executor, gates, futures };
}

/**
 * Records the done callbacks added to `futures` and those removed through the internal
 * `removeDoneCallback`; `attached()` is how many are still attached to unsettled futures.
 */
export function callbackSpy(futures: Future<unknown>[]) {
  const added = new Map<Future<unknown>, DoneCallback<never>[]>();
  for (const future of futures) {
    const original = future.addDoneCallback.bind(future);
    added.set(future, []);
    future.addDoneCallback = (callback) => {
      added.get(future)!.push(callback as DoneCallback<never>);
      original(callback);
    };
  }
  const originalRemove = internals.removeDoneCallback;
  internals.removeDoneCallback = (future, callback) => {
    const list = added.get(future);
    const index = list?.indexOf(callback) ?? -1;
    if (index !== -1) list!.splice(index, 1);
    originalRemove(future, callback);
  };
  return {
    added: (future: Future<unknown>) => added.get(future)!.length,
    attached: () => [...added].filter(([future]) => !future.done()).reduce((sum, [, list]) => sum + list.length, 0),
    restore: () => {
      internals.removeDoneCallback = originalRemove;
    },
  };
}

/**
 * Records the timers started with the global `setTimeout` until `restore()`: `live()` counts
 * those neither cleared nor fired.
 */
export function watchingTimers(): { live(): number; restore(): void } {
  const originalSet = globalThis.setTimeout;
  const originalClear = globalThis.clearTimeout;
  const live = new Set<unknown>();
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle: unknown = originalSet((...values: unknown[]) => {
      live.delete(handle);
      callback(...values);
    }, ms, ...args);
    live.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
    live.delete(handle);
    originalClear(handle);
  }) as typeof clearTimeout;
  return {
    live: () => live.size,
    restore: () => {
      globalThis.setTimeout = originalSet;
      globalThis.clearTimeout = originalClear;
    },
  };
}

/** Runs `body` with setTimeout/clearTimeout recorded; returns how many timers are live at its end. */
export async function liveTimersAfter(body: (live: () => number) => Promise<void>): Promise<number> {
  const timers = watchingTimers();
  try {
    await body(timers.live);
  } finally {
    timers.restore();
  }
  return timers.live();
}

/** The package root: the nearest directory up from this file with a package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}
