/**
 * The program each worker thread of a `WorkerPoolExecutor` runs. The first message on
 * `parentPort` brings the task module's URL and a port of its own; the worker imports the
 * module, then runs one task per message on that port and replies there with its outcome.
 * `parentPort` is left to the task module. The worker's event loop stays free between tasks:
 * timers and I/O a task module starts keep running, and output reaches the main thread as usual.
 *
 * @module
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { isError, serializeError, Status, type InitMessage, type ReplyMessage, type TaskMessage } from './protocol.js';

type TaskFunction = (...args: unknown[]) => unknown;

if (parentPort === null) throw new Error('taskpool/worker-thread runs inside a worker thread started by WorkerPoolExecutor: it cannot run on the main thread');

let port: MessagePort;
/** The task module's namespace, once imported. */
let namespace: Record<string, unknown> | undefined;
/** Tasks received while the module is loading. */
let backlog: TaskMessage[] | undefined = [];
const cache = new Map<string, TaskFunction>();

parentPort.once('message', (init: InitMessage) => {
  port = init.port;
  port.on('message', (message: TaskMessage) => {
    if (backlog === undefined) runTask(message);
    else backlog.push(message);
  });
  void load(init.filename);
});

async function load(filename: string): Promise<void> {
  try {
    namespace = (await import(filename)) as Record<string, unknown>;
  } catch (error) {
    fail(0, error, Status.LOAD_FAILED);
    return;
  }
  const queued = backlog!;
  backlog = undefined;
  reply(0, Status.READY, undefined);
  for (const task of queued) runTask(task);
}

/** The module's function named `name`: an export, or a property of a CommonJS module's `module.exports`. */
function lookup(name: string): TaskFunction | undefined {
  let fn = cache.get(name);
  if (fn !== undefined) return fn;
  const exports = namespace!;
  let value = Object.hasOwn(exports, name) ? exports[name] : undefined;
  const fallback = exports.default;
  if (value === undefined && fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function') && Object.hasOwn(fallback, name)) {
    value = (fallback as Record<string, unknown>)[name];
  }
  if (typeof value !== 'function') return undefined;
  fn = value as TaskFunction;
  cache.set(name, fn);
  return fn;
}

/** The names the module exports as functions, for the message about an unknown one. */
function functionNames(): string[] {
  const exports = namespace!;
  const names = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
  const fallback = exports.default;
  if (fallback !== null && typeof fallback === 'object') {
    for (const key of Object.keys(fallback)) if (typeof (fallback as Record<string, unknown>)[key] === 'function' && !names.includes(key)) names.push(key);
  }
  return names;
}

function runTask(message: TaskMessage): void {
  const id = message[0];
  const fn = lookup(message[1]);
  if (fn === undefined) {
    reply(id, Status.NO_SUCH_TASK, functionNames());
    return;
  }
  let result: unknown;
  try {
    result = Reflect.apply(fn, undefined, message[2]);
  } catch (error) {
    fail(id, error);
    return;
  }
  if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
    Promise.resolve(result).then(
      (value) => succeed(id, value),
      (error: unknown) => fail(id, error),
    );
  } else {
    succeed(id, result);
  }
}

function succeed(id: number, value: unknown): void {
  try {
    port.postMessage([id, Status.FULFILLED, value] satisfies ReplyMessage);
  } catch (error) {
    reply(id, Status.RESULT_NOT_CLONEABLE, describeCloneError(error));
  }
}

/** Replies with what a task threw; or, with `LOAD_FAILED`, what importing the module threw. */
function fail(id: number, error: unknown, status: Status = isError(error) ? Status.THREW_ERROR : Status.THREW): void {
  try {
    port.postMessage([id, status, isError(error) ? serializeError(error) : error] satisfies ReplyMessage);
  } catch (cloneError) {
    if (status === Status.LOAD_FAILED) reply(id, status, String(error));
    else reply(id, Status.ERROR_NOT_CLONEABLE, describeCloneError(cloneError));
  }
}

function reply(id: number, status: Status, payload: unknown): void {
  port.postMessage([id, status, payload] satisfies ReplyMessage);
}

function describeCloneError(error: unknown): string {
  return isError(error) ? error.message : String(error);
}

