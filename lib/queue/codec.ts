/**
 * Values and errors on the wire between queue clients and workers.
 *
 * A BullMQ job carries JSON, so arguments and results travel as text: `v8.serialize` (the
 * structured-clone algorithm: Date, Map, Set, BigInt, typed arrays, cycles...) in base64.
 * `v8.serialize` keeps an error's message, stack and cause but turns its class into `Error`
 * and drops its `name` and own properties, so errors are encoded first into tagged plain
 * objects and rebuilt on the other side: the built-in classes and taskpool's own as
 * themselves, any other class as an `Error` with its `name`.
 *
 * Wire text: one letter, then the value. `v` a value with no error inside and `e` a value with
 * errors inside (revived on decoding), both in base64; `j` a value that JSON keeps exactly (a
 * string, a boolean, null, a finite number other than -0, or a plain array of at most
 * {@link JSON_ITEMS} of those), as JSON: the common arguments and results of a job skip the
 * serializer and base64.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { deserialize, serialize } from 'node:v8';
import { BrokenExecutorError, CancelledError, ExecutorShutdownError, InvalidStateError, TimeoutError } from '../errors.js';
import { BUILT_IN_ERRORS } from '../internal/builtin-errors.js';

/** Marks an encoded error apart from any plain object a task may send. */
const TAG = '__taskpoolError';

/** An error as plain data. */
interface ErrorData {
  name: string;
  message: string;
  stack: string | undefined;
  /** Which constructor rebuilds it: a built-in, one of taskpool's, or `'Error'`. */
  kind: string;
  cause?: unknown;
  errors?: unknown[];
  props?: Record<string, unknown>;
}

/** taskpool's error classes, rebuilt as themselves (their brand makes `instanceof` work). */
const OURS: Record<string, new (message?: string) => Error> = {
  CancelledError,
  TimeoutError,
  InvalidStateError,
  ExecutorShutdownError,
  BrokenExecutorError,
};

function isError(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

/** The constructor name an error is rebuilt with. */
function kindOf(error: Error): string {
  if (Object.hasOwn(OURS, error.name) && error instanceof OURS[error.name]!) return error.name;
  for (let proto = Object.getPrototypeOf(error) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = (proto.constructor as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && (Object.hasOwn(BUILT_IN_ERRORS, name) || name === 'AggregateError' || name === 'DOMException')) return name;
  }
  return 'Error';
}

/** Objects that hold no error and are cloned as they are. */
function isLeaf(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer);
}

/** Whether an error sits anywhere in `value`. */
function holdsError(value: unknown, seen: Set<object>): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value) || isLeaf(value)) return false;
  if (isError(value)) return true;
  seen.add(value);
  if (value instanceof Map) {
    for (const [key, item] of value) if (holdsError(key, seen) || holdsError(item, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const item of value) if (holdsError(item, seen)) return true;
    return false;
  }
  for (const key of Object.keys(value)) if (holdsError((value as Record<string, unknown>)[key], seen)) return true;
  return false;
}

/** Whether structured cloning takes `value` (errors' extra properties that cannot travel are dropped). */
function travels(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** A copy of `value` with every error replaced by `{ [TAG]: ErrorData }` (cycles kept). */
function encodeErrors(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || isLeaf(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (isError(value)) {
    const data: ErrorData = { name: String(value.name), message: String(value.message), stack: typeof value.stack === 'string' ? value.stack : undefined, kind: kindOf(value) };
    const tagged = { [TAG]: data };
    copies.set(value, tagged);
    if ('cause' in value) data.cause = travels(value.cause) || isError(value.cause) ? encodeErrors(value.cause, copies) : String(value.cause);
    if (Array.isArray((value as AggregateError).errors)) data.errors = encodeErrors((value as AggregateError).errors, copies) as unknown[];
    for (const key of Object.keys(value)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause' || key === 'errors') continue;
      const item = (value as unknown as Record<string, unknown>)[key];
      if (travels(item) || isError(item)) (data.props ??= {})[key] = encodeErrors(item, copies);
    }
    return tagged;
  }
  if (value instanceof Map) {
    const copy = new Map();
    copies.set(value, copy);
    for (const [key, item] of value) copy.set(encodeErrors(key, copies), encodeErrors(item, copies));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    copies.set(value, copy);
    for (const item of value) copy.add(encodeErrors(item, copies));
    return copy;
  }
  const copy: Record<string, unknown> = Array.isArray(value) ? (new Array(value.length) as never) : {};
  copies.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = encodeErrors((value as Record<string, unknown>)[key], copies);
  return copy;
}

function isTagged(value: unknown): value is { [TAG]: ErrorData } {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, TAG);
}

function rebuildError(data: ErrorData, revived: Map<object, unknown>, tagged: object): Error {
  let error: Error;
  if (data.kind === 'AggregateError') error = new AggregateError([], data.message);
  else if (data.kind === 'DOMException') error = new DOMException(data.message, data.name);
  else error = new (OURS[data.kind] ?? BUILT_IN_ERRORS[data.kind] ?? Error)(data.message);
  revived.set(tagged, error);
  const define = (key: string, value: unknown): void => void Object.defineProperty(error, key, { value, writable: true, configurable: true });
  if (error.name !== data.name) define('name', data.name);
  if (data.stack !== undefined) define('stack', data.stack);
  if ('cause' in data) define('cause', decodeErrors(data.cause, revived));
  if (data.errors !== undefined) define('errors', decodeErrors(data.errors, revived));
  if (data.props !== undefined) for (const [key, item] of Object.entries(data.props)) (error as unknown as Record<string, unknown>)[key] = decodeErrors(item, revived);
  return error;
}

/** Rebuilds the errors of {@link encodeErrors} in place (the value is a fresh copy). */
function decodeErrors(value: unknown, revived: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || isLeaf(value)) return value;
  if (revived.has(value)) return revived.get(value);
  if (isTagged(value)) return rebuildError(value[TAG], revived, value);
  revived.set(value, value);
  if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [key, item] of entries) value.set(decodeErrors(key, revived), decodeErrors(item, revived));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(decodeErrors(item, revived));
  } else {
    for (const key of Object.keys(value)) (value as Record<string, unknown>)[key] = decodeErrors((value as Record<string, unknown>)[key], revived);
  }
  return value;
}

/** The longest array sent as JSON. */
const JSON_ITEMS = 64;

/** Whether JSON keeps `value` exactly: a string, a boolean, null, or a finite number other than -0. */
function isJsonScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
}

/** Whether JSON keeps `value` exactly: a JSON scalar, or a plain array of them with no hole and no other property. */
function isJsonExact(value: unknown): boolean {
  if (isJsonScalar(value)) return true;
  if (!Array.isArray(value) || value.length > JSON_ITEMS || Object.getPrototypeOf(value) !== Array.prototype) return false;
  for (let index = 0; index < value.length; index++) if (!(index in value) || !isJsonScalar(value[index])) return false;
  return Object.keys(value).length === value.length;
}

/**
 * A value as wire text.
 *
 * @throws {TypeError} when the value cannot travel (a function, a symbol, a class that cannot
 *   be cloned...): the message says why.
 */
export function encode(value: unknown): string {
  if (isJsonExact(value)) return `j${JSON.stringify(value)}`;
  const withErrors = holdsError(value, new Set());
  try {
    const bytes = serialize(withErrors ? encodeErrors(value, new Map()) : value);
    return (withErrors ? 'e' : 'v') + bytes.toString('base64');
  } catch (error) {
    throw new TypeError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * The value of wire text made by {@link encode}.
 *
 * @throws {TypeError} for text that {@link encode} did not make.
 */
export function decode(text: string): unknown {
  const kind = text[0];
  if (kind === 'j') {
    try {
      return JSON.parse(text.slice(1)) as unknown;
    } catch (error) {
      throw new TypeError(`Cannot decode a value as its JSON is not valid: ${(error as Error).message}`, { cause: error });
    }
  }
  if (kind !== 'v' && kind !== 'e') throw new TypeError(`Cannot decode a value as it is not taskpool's wire text: ${JSON.stringify(text.slice(0, 40))}`);
  const value = deserialize(Buffer.from(text.slice(1), 'base64'));
  return kind === 'e' ? decodeErrors(value, new Map()) : value;
}

/** Starts a BullMQ `failedReason` that carries a thrown value as wire text. */
const FAILURE = 'taskpool-failure:';

/** What a worker throws at BullMQ for a failed task: its message carries the thrown value. */
export function failureMessage(thrown: unknown): string {
  let text: string;
  try {
    text = encode(thrown);
  } catch (error) {
    text = encode(new TypeError(`The task threw a value that cannot travel: ${(error as Error).message}`));
  }
  return FAILURE + text;
}

/** Starts the `failedReason` of a job that a client cancelled: the reason follows, as wire text ('' for none). */
const CANCELLED = 'taskpool-cancelled:';

/** A cancellation's reason as wire text: '' for none, or for a reason that cannot travel. */
export function encodeReason(reason: unknown): string {
  if (reason === undefined) return '';
  try {
    return encode(reason);
  } catch {
    return '';
  }
}

/** The reason behind {@link encodeReason}'s text (`undefined` for '' or text it did not make). */
export function decodeReason(text: string): unknown {
  if (text === '') return undefined;
  try {
    return decode(text);
  } catch {
    return undefined;
  }
}

/** What a worker throws at BullMQ for a job that a client cancelled: the message carries the client's reason. */
export function cancelledMessage(reason: unknown): string {
  return CANCELLED + encodeReason(reason);
}

/**
 * Whether a BullMQ `failedReason` says that a client cancelled the job and, when it does, the
 * client's reason (`undefined` for none).
 */
export function decodeCancelled(failedReason: string | undefined): { reason: unknown } | undefined {
  if (failedReason?.startsWith(CANCELLED) !== true) return undefined;
  return { reason: decodeReason(failedReason.slice(CANCELLED.length)) };
}

/**
 * The thrown value behind a BullMQ `failedReason`: rebuilt from taskpool's encoding, or, for a
 * failure that BullMQ made itself (a job stalled too often), an `Error` with that reason.
 */
export function decodeFailure(reason: string | undefined, jobId: string, queue: string): unknown {
  if (reason?.startsWith(FAILURE) === true) {
    try {
      return decode(reason.slice(FAILURE.length));
    } catch {
      // Not ours after all: reported as text below.
    }
  }
  return new Error(`Job '${jobId}' of queue '${queue}' failed: ${reason ?? 'no reason given'}`);
}
