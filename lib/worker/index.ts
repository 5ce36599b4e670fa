/**
 * `taskpool/worker`: the executor contract over `node:worker_threads`.
 *
 * @example
 * ```ts
 * import { WorkerPoolExecutor } from 'taskpool/worker';
 * await using pool = new WorkerPoolExecutor({ filename: new URL('./tasks.js', import.meta.url) });
 * console.log(await pool.submit('fib', 30));
 * ```
 *
 * @module
 */
export { WorkerPoolExecutor } from './worker-pool-executor.js';
export {
  type WorkerPoolExecutorOptions,
  type WorkerRunOptions,
  type UntypedTaskModule,
  type TaskName,
  type TaskArguments,
  type TaskResult,
  type TaskIterables,
} from './options.js';
export { WorkerCrashError } from './errors.js';
