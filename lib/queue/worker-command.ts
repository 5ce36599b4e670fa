/**
 * `taskpool worker`: a worker process serving a queue with a handlers module, as `celery
 * worker` and `rq worker` do.
 *
 * ```sh
 * taskpool worker --queue images --redis redis://10.0.0.5:6379 --concurrency 8 ./handlers.js
 * ```
 *
 * SIGTERM or SIGINT stops it gracefully (no new jobs, the running ones finish); a second
 * signal aborts the running ones (they go back to the queue). One line per failed attempt
 * on stderr; the counts at exit.
 *
 * @module
 */
import process from 'node:process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serveQueue, type QueueServer } from './serve-queue.js';
import type { FailureInfo, Handler } from './options.js';

const USAGE = `Usage: taskpool worker --queue NAME [--redis URL] [options] HANDLERS_MODULE

Serves a taskpool/queue queue with the handlers a module exports: its export \`handlers\`,
else its default export, else its exported functions.

Options:
  --queue NAME             the queue (required)
  --redis URL              Redis (default: $REDIS_URL, else redis://127.0.0.1:6379)
  --concurrency N          jobs run at once (default 1)
  --prefix P               BullMQ's key prefix (default bull)
  --lock-duration MS       a dead worker's jobs are recovered after this long (default 30000)
  --stalled-interval MS    how often dead workers' jobs are looked for (default 30000)
  --quiet                  no line per failure
  -h, --help               this text

SIGTERM or SIGINT: stop taking jobs and wait for the running ones; a second signal aborts them.`;

interface WorkerArguments {
  queue: string;
  redis: string;
  concurrency: number;
  prefix: string | undefined;
  lockDuration: number | undefined;
  stalledInterval: number | undefined;
  quiet: boolean;
  module: string;
}

class UsageError extends Error {}

function parse(argv: readonly string[]): WorkerArguments | 'help' {
  const values: Record<string, string> = {};
  let module: string | undefined;
  let quiet = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--quiet') {
      quiet = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (!['queue', 'redis', 'concurrency', 'prefix', 'lock-duration', 'stalled-interval'].includes(name)) throw new UsageError(`unknown option --${name}`);
      const value = eq === -1 ? argv[++index] : arg.slice(eq + 1);
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values[name] = value;
      continue;
    }
    if (module !== undefined) throw new UsageError(`one handlers module only: got ${JSON.stringify(module)} and ${JSON.stringify(arg)}`);
    module = arg;
  }
  if (values.queue === undefined) throw new UsageError('--queue is required');
  if (module === undefined) throw new UsageError('the handlers module is required');
  const number = (name: string, positiveInteger: boolean): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || (positiveInteger && !Number.isInteger(value))) throw new UsageError(`--${name} must be a positive ${positiveInteger ? 'integer' : 'number'}: current value is ${JSON.stringify(text)}`);
    return value;
  };
  return {
    queue: values.queue,
    redis: values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    concurrency: number('concurrency', true) ?? 1,
    prefix: values.prefix,
    lockDuration: number('lock-duration', false),
    stalledInterval: number('stalled-interval', false),
    quiet,
    module,
  };
}

/** The handlers a module exports: `handlers`, else the default export, else its functions. */
function handlersOf(module: Record<string, unknown>): Record<string, Handler> {
  for (const candidate of [module.handlers, module.default]) {
    if (typeof candidate === 'object' && candidate !== null && Object.values(candidate).some((value) => typeof value === 'function')) return candidate as Record<string, Handler>;
  }
  return Object.fromEntries(Object.entries(module).filter(([, value]) => typeof value === 'function')) as Record<string, Handler>;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function logFailure({ id, name, error, attempt, attempts, retrying, cancelled }: FailureInfo): void {
  const what = cancelled ? 'was cancelled' : `failed (attempt ${attempt} of ${attempts}${retrying ? ', will retry' : ''})`;
  process.stderr.write(`taskpool worker: job ${id} (${name}) ${what}: ${describeError(error)}\n`);
}

/**
 * Runs the command with `argv` (the arguments after `worker`) and resolves with the exit code
 * once the worker has stopped.
 *
 * @param argv - the command's arguments.
 * @returns the exit code: 0 after a stop by signal, 2 for bad arguments, 1 when the worker cannot start.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let args: WorkerArguments | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`taskpool worker: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let server: QueueServer;
  try {
    const module = (await import(pathToFileURL(resolve(args.module)).href)) as Record<string, unknown>;
    const handlers = handlersOf(module);
    server = await serveQueue({
      queue: args.queue,
      connection: args.redis,
      handlers,
      concurrency: args.concurrency,
      ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
      ...(args.lockDuration === undefined ? {} : { lockDuration: args.lockDuration }),
      ...(args.stalledInterval === undefined ? {} : { stalledInterval: args.stalledInterval }),
      ...(args.quiet ? {} : { onFailure: logFailure }),
    });
    process.stderr.write(`taskpool worker: serving queue '${args.queue}' with concurrency ${args.concurrency} (pid ${process.pid}; handlers: ${Object.keys(handlers).join(', ')})\n`);
  } catch (error) {
    process.stderr.write(`taskpool worker: cannot start: ${describeError(error)}\n`);
    return 1;
  }
  let signals = 0;
  const stopped = new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        process.stderr.write(`taskpool worker: ${signal}: stopping once the ${server.stats.active} running job(s) finish (send it again to abort them)\n`);
        void server.close().then(done, done);
      } else {
        process.stderr.write(`taskpool worker: ${signal} again: aborting the ${server.stats.active} running job(s)\n`);
        void server.close({ abort: true }).then(done, done);
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await stopped;
  const { completed, failed, retried, cancelled } = server.stats;
  process.stdout.write(`taskpool worker: ${completed} completed, ${failed} failed, ${retried} retried, ${cancelled} cancelled\n`);
  return 0;
}
