/** Checks shared by the policies' option objects, which nest inside executor and `run()` options. */
import { check, fail } from '../internal/validate.js';

/** Throws unless `value` is a finite number of milliseconds, 0 or more. */
export function checkMilliseconds(value: unknown, action: string, name: string): asserts value is number {
  check(value, 'number', 'a non-negative finite number of milliseconds', action, name, (ms: number) => ms >= 0 && ms < Infinity);
}

/** Throws unless `value` is a finite number of milliseconds above 0. */
export function checkPositiveMilliseconds(value: unknown, action: string, name: string): asserts value is number {
  check(value, 'number', 'a positive finite number of milliseconds', action, name, (ms: number) => ms > 0 && ms < Infinity);
}

/** Throws a `TypeError` naming `name` when a required option is missing. */
export function checkRequired<T>(value: T, requirement: string, action: string, name: string): asserts value is Exclude<T, undefined> {
  if (value === undefined) fail(TypeError, requirement, action, name, value);
}
