/** The trivial job of the queue benchmark, for `taskpool worker`. */
export const handlers = { add: (a, b) => a + b };
