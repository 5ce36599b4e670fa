/**
 * `taskpool/queue`: the executor contract over a distributed job queue, BullMQ on Redis.
 * Workers serve named handlers ({@link serveQueue}); clients submit by name
 * ({@link QueueExecutor}), typed from the handlers' type. Needs the optional peer
 * dependencies `bullmq` (6.x) and `ioredis`: importing this entry point without them throws an
 * error that says what to install.
 *
 * @example
 * ```ts
 * import { QueueExecutor, serveQueue } from 'taskpool/queue';
 * const handlers = { add: (a: number, b: number) => a + b };
 * const server = await serveQueue({ queue: 'sums', connection: 'redis://127.0.0.1:6379', handlers });
 * await using pool = new QueueExecutor<typeof handlers>({ queue: 'sums', connection: 'redis://127.0.0.1:6379' });
 * console.log(await pool.submit('add', 1, 2)); // 3
 * await server.close();
 * ```
 *
 * @module
 */
import { loadBullMQ } from './options.js';

loadBullMQ();

export { QueueExecutor, type QueueFuture } from './queue-executor.js';
export { serveQueue, type QueueServer, type QueueServerStats, type QueueServerCloseOptions } from './serve-queue.js';
export type {
  TaskContext,
  Handler,
  UntypedHandlers,
  HandlerName,
  HandlerArguments,
  HandlerResult,
  HandlerIterables,
  QueueBackoff,
  QueueRetry,
  QueueRunOptions,
  QueueConnection,
  QueueLocation,
  QueueExecutorOptions,
  ServeQueueOptions,
  RetryInfo,
  FailureInfo,
} from './options.js';
