/**
 * Reports an error that has nobody to go to (a throwing done-callback), without letting it
 * break the caller. Like Python's `concurrent.futures`, which logs such errors, it is written
 * to the console's error stream rather than thrown.
 */
export function reportError(context: string, error: unknown): void {
  console.error(`taskpool: ${context}:`, error);
}
