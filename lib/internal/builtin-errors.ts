/** The built-in error classes that errors sent between threads or processes are rebuilt as, by name. */
export const BUILT_IN_ERRORS: Readonly<Record<string, new (message?: string) => Error>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
