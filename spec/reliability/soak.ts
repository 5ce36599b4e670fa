/**
 * Soak and leak test: many tasks with mixed outcomes (values, errors and falsy errors, sync
 * throws, cancellations before and during the run, aborted signals, timeouts, priorities,
 * thenables that call back twice) through one executor, and many items through one buffered
 * `map`. Every future is accounted for, and the heap, measured after a full garbage
 * collection at checkpoints, must not grow with the number of tasks.
 */
import { TaskPoolExecutor, TimeoutError, type Future } from '../../lib/index.js';

/** Heap in use after a full collection, in MB. */
export function heapMB(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** The kinds of task the soak cycles through, by `index % KINDS`. */
const KINDS = 64;
type Outcome = 'fulfilled' | 'rejected' | 'cancelled';

/** What task `index` does, and how its future must end. */
function kindOf(index: number): { kind: string; outcome: Outcome } {
  switch (index % KINDS) {
    case 1:
      return { kind: 'sync value', outcome: 'fulfilled' };
    case 2:
      return { kind: 'sync throw undefined', outcome: 'rejected' };
    case 3:
      return { kind: 'async error', outcome: 'rejected' };
    case 4:
      return { kind: 'Promise.reject(0)', outcome: 'rejected' };
    case 5:
    case 6:
      return { kind: 'cancelled after submit', outcome: 'cancelled' };
    case 7:
      return { kind: 'external signal aborted', outcome: 'cancelled' };
    case 8:
      return { kind: 'timeout, honours its signal', outcome: 'rejected' };
    case 9:
      return { kind: 'priority', outcome: 'fulfilled' };
    case 10:
      return { kind: 'cancelled while running, ignores its signal', outcome: 'cancelled' };
    case 11:
      return { kind: 'thenable calling back twice', outcome: 'fulfilled' };
    default:
      return { kind: 'async value', outcome: 'fulfilled' };
  }
}

export interface SoakResult {
  tasks: number;
  /** Heap after GC (MB) at each checkpoint, by number of tasks done. */
  heap: { tasks: number; mb: number }[];
  seconds: number;
  outcomes: Record<Outcome, number>;
  expected: Record<Outcome, number>;
  stats: TaskPoolExecutor['stats'];
  timedOut: number;
}

/**
 * Runs `total` tasks through one executor in waves, awaiting `onIdle()` after each wave.
 *
 * @param checkpoints - task counts (multiples of the wave size) where the heap is measured.
 */
export async function soakExecutor(total: number, checkpoints: readonly number[], gc: (() => void) | undefined, wave = 1_000): Promise<SoakResult> {
  const executor = new TaskPoolExecutor({ maxWorkers: 16, name: 'soak' });
  const outcomes: Record<Outcome, number> = { fulfilled: 0, rejected: 0, cancelled: 0 };
  const expected: Record<Outcome, number> = { fulfilled: 0, rejected: 0, cancelled: 0 };
  let timedOut = 0;
  const count = (future: Future<unknown>): void => {
    outcomes[future.state as Outcome]++;
  };
  const countTimeout = (future: Future<unknown>): void => {
    count(future);
    if (future.state === 'rejected') {
      void future.exception().then((error) => {
        if (error instanceof TimeoutError) timedOut++;
      });
    }
  };
  const heap: { tasks: number; mb: number }[] = [];
  const started = performance.now();
  const honour = ({ signal }: { signal: AbortSignal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  for (let done = 0; done < total; ) {
    const end = Math.min(total, done + wave);
    for (let index = done; index < end; index++) {
      expected[kindOf(index).outcome]++;
      let future: Future<unknown>;
      switch (index % KINDS) {
        case 1:
          future = executor.submit((n: number) => n, index);
          break;
        case 2:
          future = executor.submit(() => {
            throw undefined;
          });
          break;
        case 3:
          future = executor.submit(async (n: number) => {
            throw new Error(`task ${n}`);
          }, index);
          break;
        case 4:
          future = executor.submit(() => Promise.reject(0));
          break;
        case 5:
        case 6:
          future = executor.submit(async (n: number) => n, index);
          future.cancel();
          break;
        case 7: {
          const controller = new AbortController();
          future = executor.run(async () => index, { signal: controller.signal });
          controller.abort();
          break;
        }
        case 8:
          future = executor.run(honour, { timeout: 0 });
          future.addDoneCallback(countTimeout);
          continue;
        case 9:
          future = executor.run(async () => index, { priority: index % 3 });
          break;
        case 10:
          future = executor.submit(async () => {
            await null;
            return 'ignored';
          });
          future.cancel();
          break;
        case 11:
          future = executor.submit(() => ({
            then(resolve: (value: number) => void, reject: (error: unknown) => void) {
              resolve(index);
              reject(new Error('ignored'));
            },
          }));
          break;
        default:
          future = executor.submit(async (n: number) => n, index);
      }
      future.addDoneCallback(count);
    }
    await executor.onIdle();
    done = end;
    if (gc !== undefined && checkpoints.includes(done)) heap.push({ tasks: done, mb: heapMB(gc) });
  }
  await executor.shutdown();
  await null;
  return { tasks: total, heap, seconds: (performance.now() - started) / 1000, outcomes, expected, stats: executor.stats, timedOut };
}

export interface MapSoakResult {
  items: number;
  heap: { items: number; mb: number }[];
  seconds: number;
  /** The first item out of order, if any. */
  misordered: number | undefined;
  /** The most tasks submitted and not yet yielded that were seen (pulled minus yielded). */
  maxAhead: number;
  stats: TaskPoolExecutor['stats'];
}

/** Runs `total` items through one `map` with `bufferSize`, from a lazy input (sync or async). */
export async function soakMap(total: number, bufferSize: number, checkpoints: readonly number[], gc: (() => void) | undefined, input: 'sync' | 'async'): Promise<MapSoakResult> {
  const executor = new TaskPoolExecutor({ maxWorkers: 16, name: 'soak-map' });
  let pulled = 0;
  let received = 0;
  let maxAhead = 0;
  const note = (): void => {
    pulled++;
    maxAhead = Math.max(maxAhead, pulled - received);
  };
  function* syncInput(): Generator<number> {
    for (let index = 0; index < total; index++) {
      note();
      yield index;
    }
  }
  async function* asyncInput(): AsyncGenerator<number> {
    for (let index = 0; index < total; index++) {
      note();
      yield index;
    }
  }
  const heap: { items: number; mb: number }[] = [];
  const started = performance.now();
  let misordered: number | undefined;
  const double = (n: number): number | Promise<number> => (n % 2 === 0 ? n * 2 : Promise.resolve(n * 2));
  const results = executor.map(double, input === 'sync' ? syncInput() : asyncInput(), { bufferSize });
  for await (const value of results) {
    if (value !== received * 2 && misordered === undefined) misordered = received;
    received++;
    if (gc !== undefined && checkpoints.includes(received)) heap.push({ items: received, mb: heapMB(gc) });
  }
  await executor.shutdown();
  return { items: received, heap, seconds: (performance.now() - started) / 1000, misordered, maxAhead, stats: executor.stats };
}
