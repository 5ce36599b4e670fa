/**
 * The benchmark scenarios: sizes, concurrency and the task bodies every library runs.
 *
 * Every task is an async function, so that no library gets a synchronous fast path the
 * others lack. Submit-per-task libraries get one closure per task (`async () => i`), as a
 * user writes them; map-style libraries get one mapper called with each item.
 */

/** Sizes used by a full run and by `--quick`. */
export const FULL_N = 100_000;
export const QUICK_N = 20_000;

/**
 * @typedef {object} Scenario
 * @property {number} id
 * @property {'time' | 'memory' | 'stream'} kind
 * @property {string} title
 * @property {string} detail what one task does, for the README and the report
 * @property {number} concurrency
 * @property {'trivial' | 'turn' | 'gate' | 'shuffle'} body
 * @property {number} [bufferSize]
 */

/** @type {Record<number, Scenario>} */
export const SCENARIOS = {
  1: {
    id: 1,
    kind: 'time',
    title: 'trivial async tasks, concurrency 16',
    detail: 'each task is `async () => i`',
    concurrency: 16,
    body: 'trivial',
  },
  2: {
    id: 2,
    kind: 'time',
    title: 'trivial async tasks, concurrency 1',
    detail: 'each task is `async () => i`',
    concurrency: 1,
    body: 'trivial',
  },
  3: {
    id: 3,
    kind: 'time',
    title: 'tasks that yield one event-loop turn, concurrency 1000',
    detail: 'each task awaits `new Promise((resolve) => setImmediate(resolve))`, then returns i',
    concurrency: 1000,
    body: 'turn',
  },
  4: {
    id: 4,
    kind: 'memory',
    title: 'heap bytes per queued task (tasks blocked behind a gate), concurrency 16',
    detail: 'each task awaits one shared gate promise; all tasks are submitted, then the heap is measured after GC',
    concurrency: 16,
    body: 'gate',
  },
  5: {
    id: 5,
    kind: 'stream',
    title: 'ordered streaming map over a generator, concurrency 16, bufferSize 64',
    detail: 'item i takes (3i mod 4) microtask hops, so completion order differs from input order; results are consumed in input order',
    concurrency: 16,
    bufferSize: 64,
    body: 'shuffle',
  },
};

/** One event-loop turn. */
export function turn() {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Task factories for one scenario: `task(i)` makes the zero-argument async task a
 * submit-per-task API receives; `mapper(i)` is what a map-style API calls per item.
 *
 * @param {Scenario['body']} body
 * @param {Promise<void>} [gate] the promise gated tasks wait for (scenario 4)
 */
export function taskFactories(body, gate) {
  switch (body) {
    case 'trivial':
      return {
        task: (i) => async () => i,
        mapper: async (i) => i,
      };
    case 'turn':
      return {
        task: (i) => async () => {
          await turn();
          return i;
        },
        mapper: async (i) => {
          await turn();
          return i;
        },
      };
    case 'gate':
      return {
        task: (i) => async () => {
          await gate;
          return i;
        },
        mapper: async (i) => {
          await gate;
          return i;
        },
      };
    case 'shuffle': {
      const mapper = async (i) => {
        for (let hops = (i * 3) & 3; hops > 0; hops--) await undefined;
        return i;
      };
      return { task: (i) => () => mapper(i), mapper };
    }
    default:
      throw new Error(`unknown task body ${body}`);
  }
}

/** `[0, 1, ..., n - 1]`. */
export function range(n) {
  const items = new Array(n);
  for (let i = 0; i < n; i++) items[i] = i;
  return items;
}

/** A generator of `0 .. n - 1`: the streaming input of scenario 5. */
export function* count(n) {
  for (let i = 0; i < n; i++) yield i;
}

/**
 * Throws unless `results` holds exactly `0 .. n - 1` in order: so that no adapter can skip
 * work or return results out of the promised order.
 */
export function checkResults(results, n, label) {
  if (!Array.isArray(results)) throw new Error(`${label}: result is not an array`);
  if (results.length !== n) throw new Error(`${label}: ${results.length} results, expected ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (results[i] !== i) throw new Error(`${label}: result ${i} is ${results[i]} (order or value wrong)`);
    sum += results[i];
  }
  if (sum !== (n * (n - 1)) / 2) throw new Error(`${label}: sum ${sum}, expected ${(n * (n - 1)) / 2}`);
}
