/** Argument checks shared by every public entry point. Messages follow one pattern:
 * "Cannot <action> as '<name>' must be <requirement>: current value is <value>". */

/**
 * Renders a value for an error message: strings quoted, an object as JSON, preceded by its
 * class when it has one (`Promise {}`, not `{}`), everything else as it prints.
 */
export function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    const json = JSON.stringify(value) ?? Object.prototype.toString.call(value);
    const name: unknown = Array.isArray(value) ? '' : value.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `${name} ${json}` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Whether `value` is iterable (`for...of`). */
export function isSyncIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** Whether `value` is a promise or any other thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Throws an `ErrorType` saying what `name` must be, with `value` shown. */
export function fail(ErrorType: typeof TypeError, requirement: string, action: string, name: string, value: unknown): never {
  throw new ErrorType(`Cannot ${action} as '${name}' must be ${requirement}: current value is ${describe(value)}`);
}

/**
 * Throws a `TypeError` unless `typeof value` is `type` (`null` is no object here), then a
 * `RangeError` unless `inRange(value)`.
 */
export function check<T>(value: unknown, type: string, requirement: string, action: string, name: string, inRange?: (value: T) => boolean): void {
  if (typeof value !== type || value === null) fail(TypeError, requirement, action, name, value);
  if (inRange?.(value as T) === false) fail(RangeError, requirement, action, name, value);
}

/** Throws unless `value` is a positive safe integer. */
export function checkPositiveInteger(value: unknown, action: string, name: string): asserts value is number {
  check(value, 'number', 'a positive integer', action, name, (number: number) => Number.isSafeInteger(number) && number > 0);
}

/** Throws unless `value` is undefined or a non-negative number of milliseconds (`Infinity` allowed). */
export function checkTimeout(value: unknown, action: string, name: string): asserts value is number | undefined {
  if (value !== undefined) check(value, 'number', 'a non-negative number of milliseconds', action, name, (ms: number) => ms >= 0);
}

/** Throws unless `value` is a function. */
export function checkFunction(value: unknown, action: string, name: string): asserts value is (...args: never[]) => unknown {
  check(value, 'function', 'a function', action, name);
}

/** Throws unless `value` is an `AbortSignal`-like object. */
export function checkSignal(value: unknown, action: string, name: string): asserts value is AbortSignal {
  const signal = value as AbortSignal | null;
  if (typeof value !== 'object' || signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    fail(TypeError, 'an AbortSignal', action, name, value);
  }
}

/** Throws unless `value` is a finite number. */
export function checkFiniteNumber(value: unknown, action: string, name: string): asserts value is number {
  check(value, 'number', 'a finite number', action, name, Number.isFinite);
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(value: unknown, action: string, name: string): asserts value is boolean {
  check(value, 'boolean', 'a boolean', action, name);
}

/** Throws unless `value` is a string. */
export function checkString(value: unknown, action: string, name: string): asserts value is string {
  check(value, 'string', 'a string', action, name);
}

/** Checks the value of option `name` (never `undefined`: an option left out is not checked). */
export type Check = (value: unknown, action: string, name: string) => void;

/** The options a call accepts, in the order messages list them, each with its check (or none). */
export type OptionChecks = Readonly<Record<string, Check | undefined>>;

/**
 * Throws unless `options` is an object whose keys are all in `checks`, and each value given
 * passes its check. Without `name` (the options of a call) `undefined` is allowed and gives an
 * empty object, and a copy of the options is checked and returned (each read once). With
 * `name` (an option object nested in another, required) the object itself is checked and
 * returned, and option `key` is named `'<name>.<key>'` in messages (`'retry.attempts'`).
 */
export function checkOptions<T extends object>(options: T | undefined, checks: OptionChecks, action: string, name?: string): Partial<T> {
  if (options === undefined && name === undefined) return {};
  const label = name ?? 'options';
  check(options, 'object', 'an object', action, label);
  // A copy: every option is read once, so a getter cannot hand out an unchecked second value.
  const copy = (name === undefined ? { ...options } : options) as Record<string, unknown>;
  for (const key in copy) {
    if (!Object.hasOwn(checks, key)) {
      throw new TypeError(`Cannot ${action} as '${label}' has an unknown key ${describe(key)}: the known keys are '${Object.keys(checks).join("', '")}'`);
    }
  }
  for (const key in checks) {
    const value = copy[key];
    if (value !== undefined) checks[key]?.(value, action, name === undefined ? key : `${name}.${key}`);
  }
  return copy as Partial<T>;
}
