/**
 * Compile-time assertions for the type tests in this folder. These files are checked by
 * `tsc -p tsconfig.json` and never run: a wrong type fails the build.
 *
 * `assertType<Equal<A, B>>()` fails to compile unless `A` and `B` are the same type;
 * `// @ts-expect-error` marks a line that must NOT compile.
 */

/** `true` when `X` and `Y` are identical (not merely mutually assignable; `any` is only equal to `any`). */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** `true` when `T` is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false;

/** `true` when `T` is not `any`. */
export type NotAny<T> = IsAny<T> extends true ? false : true;

/** Compiles only when `T` is `true`. */
export function assertType<_T extends true>(): void {}

/** Checks that `value` is assignable to `T` (no runtime effect). */
export function accepts<T>(value: T): void {
  void value;
}
