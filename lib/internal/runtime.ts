/**
 * A built-in module of the runtime (`node:os`...), or `undefined` where there is none: looked
 * up at run time, so that the core imports no `node:*` module. @internal
 */
export function builtinModule<T>(id: string): Partial<T> | undefined {
  try {
    return (globalThis as { process?: { getBuiltinModule?: (id: string) => T } }).process?.getBuiltinModule?.(id);
  } catch {
    return undefined;
  }
}
