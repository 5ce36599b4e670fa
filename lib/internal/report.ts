/**
 * Reports an error that has nobody to go to (a throwing done-callback), without letting it
 * break the caller. Like Python's `concurrent.futures`, which logs such errors, it is written
 * to the console's error stream rather than thrown.
 *
 * Reporting never throws: when `console.error` throws (a test setup that turns output into
 * failures), or formatting the error does (a throwing `stack` getter, `toString` or
 * `Symbol.toPrimitive`, a Proxy that throws on every trap), it tries once more with a plain
 * description that touches nothing of the error but its `typeof`, then gives up silently.
 * The callbacks after the failing one still run and the executor keeps starting tasks.
 */
export function reportError(context: string, error: unknown): void {
  try {
    console.error(`taskpool: ${context}:`, error);
    return;
  } catch {
    // console.error threw, or formatting the error did: fall back to a plain description.
  }
  try {
    console.error(`taskpool: ${context}: ${describeSafely(error)}`);
  } catch {
    // console.error itself throws: there is nowhere left to report to.
  }
}

/**
 * A one-line description of any value that cannot throw: the name and message of an error-like
 * object, the string form of a primitive, or only its type when reading it throws.
 */
function describeSafely(value: unknown): string {
  try {
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
      const { name, message } = value as { name?: unknown; message?: unknown };
      const text = [name, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
      return text === '' ? `a value of type ${typeof value}` : text;
    }
    return String(value);
  } catch {
    return `a value of type ${typeof value} that cannot be described`;
  }
}
