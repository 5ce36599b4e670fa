/** Argument checks shared by every public entry point. Messages follow one pattern:
 * "Cannot <action> as '<name>' must be <requirement>: current value is <value>". */

/** Renders a value for an error message: strings quoted, everything else as it prints. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

function message(action: string, name: string, requirement: string, value: unknown): string {
  return `Cannot ${action} as '${name}' must be ${requirement}: current value is ${describe(value)}`;
}

/** Throws unless `value` is a positive safe integer. */
export function checkPositiveInteger(value: unknown, action: string, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(message(action, name, 'a positive integer', value));
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(message(action, name, 'a positive integer', value));
  }
}

/** Throws unless `value` is undefined or a non-negative number of milliseconds (`Infinity` allowed). */
export function checkTimeout(value: unknown, action: string, name: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(message(action, name, 'a non-negative number of milliseconds', value));
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(message(action, name, 'a non-negative number of milliseconds', value));
  }
}

/** Throws unless `value` is a function. */
export function checkFunction(value: unknown, action: string, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(message(action, name, 'a function', value));
}

/** Throws unless `value` is undefined or an `AbortSignal`-like object. */
export function checkSignal(value: unknown, action: string, name: string): asserts value is AbortSignal | undefined {
  if (value === undefined) return;
  if (
    typeof value !== 'object' || value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(message(action, name, 'an AbortSignal', value));
  }
}

/** Throws unless `value` is undefined or a finite number. */
export function checkFiniteNumber(value: unknown, action: string, name: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new TypeError(message(action, name, 'a finite number', value));
  if (!Number.isFinite(value)) throw new RangeError(message(action, name, 'a finite number', value));
}

/** Throws unless `value` is undefined or a boolean. */
export function checkBoolean(value: unknown, action: string, name: string): asserts value is boolean | undefined {
  if (value === undefined) return;
  if (typeof value !== 'boolean') throw new TypeError(message(action, name, 'a boolean', value));
}

/** Throws unless `value` is undefined or a string. */
export function checkString(value: unknown, action: string, name: string): asserts value is string | undefined {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new TypeError(message(action, name, 'a string', value));
}

/**
 * Throws unless `options` is undefined or an object whose keys are all in `known`.
 * Returns the options, or an empty object.
 */
export function checkOptions<T extends object>(options: T | undefined, known: readonly string[], action: string): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(message(action, 'options', 'an object', options));
  }
  for (const key in options) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot ${action} as 'options' has an unknown key ${describe(key)}: the known keys are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    }
  }
  return options;
}
