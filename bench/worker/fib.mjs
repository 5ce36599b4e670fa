/** The task every pool runs: naive recursive Fibonacci, pure CPU. */
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Piscina and Tinypool call the default export unless told a name; it is the same function. */
export default fib;
