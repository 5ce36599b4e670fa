/**
 * The messages between a `WorkerPoolExecutor` and its worker threads, and how errors cross
 * between them.
 *
 * Main thread → worker: an {@link InitMessage} on `parentPort`, then one {@link TaskMessage}
 * per task on the port it carries. Worker → main thread, on that port: a {@link ReplyMessage}
 * `[id, status, payload]`; `id` is 0 for the messages about the worker itself (`READY`,
 * `LOAD_FAILED`).
 *
 * Structured cloning keeps an `Error`'s message and stack but not its own properties (`code`,
 * a subclass's `name`, a `cause` that is not an error...), so errors travel as
 * {@link SerializedError} plain objects and are rebuilt on the other side.
 *
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { BUILT_IN_ERRORS } from '../internal/builtin-errors.js';

/** The first message a worker receives. */
export interface InitMessage {
  /** URL of the module whose exports are the tasks. */
  readonly filename: string;
  /** The worker's end of the channel for tasks and replies. */
  readonly port: MessagePort;
}

/** A task: `[id, exportName, args]`. */
export type TaskMessage = readonly [id: number, name: string, args: readonly unknown[]];

/** A reply: `[id, status, payload]`. */
export type ReplyMessage = readonly [id: number, status: Status, payload: unknown];

/** What a reply says. */
export const Status = {
  /** The task returned `payload`. */
  FULFILLED: 0,
  /** The task threw `payload`, which is not an error object. */
  THREW: 1,
  /** The task threw the error `payload` (a {@link SerializedError}). */
  THREW_ERROR: 2,
  /** The module has no function of that name; `payload` lists the names it has. */
  NO_SUCH_TASK: 3,
  /** The result could not be cloned; `payload` is why. */
  RESULT_NOT_CLONEABLE: 4,
  /** What the task threw could not be cloned; `payload` is why. */
  ERROR_NOT_CLONEABLE: 5,
  /** The module has loaded; the worker is ready. */
  READY: 6,
  /** The module could not be loaded (`payload`: the {@link SerializedError} or the thrown value). */
  LOAD_FAILED: 7,
} as const;

/** One of the {@link Status} values. */
export type Status = (typeof Status)[keyof typeof Status];

/** Marks a {@link SerializedError} apart from any plain object a task may throw. */
const MARK = '__taskpoolSerializedError';

/** An `Error` as plain, cloneable data. */
export interface SerializedError {
  readonly [MARK]: true;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Which constructor to rebuild it with (`'Error'` for any user-defined class). */
  readonly kind: string;
  /** `cause`, serialized in turn when it is an error. */
  readonly cause?: unknown;
  /** `AggregateError.errors`, each serialized in turn. */
  readonly errors?: readonly unknown[];
  /** Other own enumerable properties (`code`, `errno`...), when they can be cloned. */
  readonly props?: Record<string, unknown>;
}

/** Whether `value` is an error object (a native one, or one that looks like it). */
export function isError(value: unknown): value is Error {
  if (value instanceof Error) return true;
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && typeof (value as Error).stack === 'string';
}

function cloneable(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'function' && typeof value !== 'symbol';
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Turns an error into plain data that survives `postMessage`, recursively for `cause`. */
export function serializeError(error: Error, depth = 0): SerializedError {
  let kind = 'Error';
  for (let proto = Object.getPrototypeOf(error) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = (proto.constructor as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && (name in BUILT_IN_ERRORS || name === 'AggregateError' || name === 'DOMException')) {
      kind = name;
      break;
    }
  }
  const serialized: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
    [MARK]: true,
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === 'string' ? error.stack : undefined,
    kind,
  };
  const convert = (value: unknown): unknown => (isError(value) && depth < 8 ? serializeError(value, depth + 1) : cloneable(value) ? value : String(value));
  if ('cause' in error) serialized.cause = convert(error.cause);
  if (kind === 'AggregateError' && Array.isArray((error as AggregateError).errors)) serialized.errors = (error as AggregateError).errors.map(convert);
  for (const key of Object.keys(error)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause' || key === 'errors') continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (!cloneable(value)) continue;
    (serialized.props ??= {})[key] = value;
  }
  return serialized;
}

/** Whether `value` came from {@link serializeError}. */
export function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[MARK] === true;
}

/** Rebuilds an error from {@link serializeError}'s data: same class when built in, name, message, stack, cause and properties. */
export function deserializeError(data: SerializedError): Error {
  const revive = (value: unknown): unknown => (isSerializedError(value) ? deserializeError(value) : value);
  let error: Error;
  if (data.kind === 'AggregateError') error = new AggregateError((data.errors ?? []).map(revive), data.message);
  else if (data.kind === 'DOMException') error = new DOMException(data.message, data.name);
  else error = new (BUILT_IN_ERRORS[data.kind] ?? Error)(data.message);
  if (error.name !== data.name) Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true });
  if (data.stack !== undefined) Object.defineProperty(error, 'stack', { value: data.stack, writable: true, configurable: true });
  if ('cause' in data) Object.defineProperty(error, 'cause', { value: revive(data.cause), writable: true, configurable: true });
  if (data.props !== undefined) Object.assign(error, data.props);
  return error;
}
