/** Checks shared by the policies' option objects, which nest inside executor and `run()` options. */
import { describe, fail, type OptionChecks } from '../internal/validate.js';

/**
 * Throws unless `value` is an object whose keys are all in `checks`, and each value given
 * passes its check. Option `key` is named `'<name>.<key>'` in messages (`'retry.attempts'`),
 * so that a message says which nested option is wrong.
 */
export function checkNested(value: unknown, checks: OptionChecks, action: string, name: string): void {
  if (typeof value !== 'object' || value === null) fail(TypeError, 'an object', action, name, value);
  for (const key in value) {
    if (!Object.hasOwn(checks, key)) {
      throw new TypeError(`Cannot ${action} as '${name}' has an unknown key ${describe(key)}: the known keys are '${Object.keys(checks).join("', '")}'`);
    }
  }
  for (const key in checks) {
    const option = (value as Record<string, unknown>)[key];
    if (option !== undefined) checks[key]?.(option, action, `${name}.${key}`);
  }
}

/** Throws unless `value` is a finite number of milliseconds, 0 or more. */
export function checkMilliseconds(value: unknown, action: string, name: string): asserts value is number {
  if (typeof value !== 'number') fail(TypeError, 'a non-negative finite number of milliseconds', action, name, value);
  if (!(value >= 0 && value < Infinity)) fail(RangeError, 'a non-negative finite number of milliseconds', action, name, value);
}

/** Throws unless `value` is a finite number of milliseconds above 0. */
export function checkPositiveMilliseconds(value: unknown, action: string, name: string): asserts value is number {
  if (typeof value !== 'number') fail(TypeError, 'a positive finite number of milliseconds', action, name, value);
  if (!(value > 0 && value < Infinity)) fail(RangeError, 'a positive finite number of milliseconds', action, name, value);
}

/** Throws a `TypeError` naming `name` when a required option is missing. */
export function checkRequired(value: unknown, requirement: string, action: string, name: string): void {
  if (value === undefined) fail(TypeError, requirement, action, name, value);
}
