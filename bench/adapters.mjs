/**
 * One adapter per library and API style. Each is written the way a user of that library
 * would write it, and every library gets the same task functions (scenarios.mjs).
 *
 * Styles:
 * - `submit`: one call per task returning a promise (or future) of its result; the caller
 *   keeps every handle and awaits `Promise.all(handles)`. `createSubmit(concurrency)`
 *   returns `{ submit(task), close() }`.
 * - `map`: one call over the whole input array, results in input order.
 *   `map(items, mapper, concurrency)` returns a promise of the results array.
 * - `stream`: an ordered, bounded, streaming map over an iterable (scenario 5).
 *   `stream(iterable, mapper, { concurrency, bufferSize })` returns an async iterable.
 */
import { pathToFileURL } from 'node:url';
import { mapLimit, queue as asyncQueue } from 'async';
import { PromisePool } from '@supercharge/promise-pool';
import pLimit from 'p-limit';
import pMap, { pMapIterable } from 'p-map';
import PQueue from 'p-queue';
import { floorMap, floorStream, floorSubmit } from './floor.mjs';

/** Where our package comes from: the build in `dist/`, or `TASKPOOL_DIST` (a path to another build's `index.js`). */
export const TASKPOOL_URL = process.env.TASKPOOL_DIST
  ? pathToFileURL(process.env.TASKPOOL_DIST).href
  : new URL('../dist/index.js', import.meta.url).href;

async function loadTaskpool() {
  return import(TASKPOOL_URL);
}

/**
 * @typedef {object} Library
 * @property {string} id used by `--lib`
 * @property {string} label shown in tables
 * @property {string} api the call measured
 * @property {string} [streamApi] the call measured in scenario 5, when another
 * @property {'submit' | 'map'} style
 * @property {number[]} scenarios the scenarios it takes part in
 * @property {boolean} [ours] our own package
 * @property {() => Promise<object>} load returns the adapter functions
 */

/** @type {Library[]} */
export const LIBRARIES = [
  {
    id: 'floor',
    label: 'floor',
    api: 'N workers over a shared index (baseline)',
    streamApi: 'N workers into a ring of bufferSize slots (baseline)',
    style: 'map',
    scenarios: [1, 2, 3, 5],
    load: async () => ({
      map: floorMap,
      stream: (iterable, mapper, { concurrency, bufferSize }) => floorStream(iterable, mapper, concurrency, bufferSize),
    }),
  },
  {
    id: 'floor-submit',
    label: 'floor-submit',
    api: 'promise + record per task (baseline)',
    style: 'submit',
    scenarios: [1, 2, 3, 4],
    load: async () => ({
      createSubmit: (concurrency) => ({ submit: floorSubmit(concurrency), close: () => {} }),
    }),
  },
  {
    id: 'taskpool-submit',
    label: 'taskpool',
    api: '`pool.submit(fn)`',
    style: 'submit',
    ours: true,
    scenarios: [1, 2, 3, 4],
    load: async () => {
      const { TaskPoolExecutor } = await loadTaskpool();
      return {
        createSubmit: (concurrency) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          return { submit: (task) => pool.submit(task), close: () => pool.shutdown() };
        },
      };
    },
  },
  {
    id: 'taskpool-map',
    label: 'taskpool',
    api: '`pool.map(fn, items)`',
    streamApi: '`pool.map(fn, gen, { bufferSize })`',
    style: 'map',
    ours: true,
    scenarios: [1, 2, 3, 4, 5],
    load: async () => {
      const { TaskPoolExecutor } = await loadTaskpool();
      return {
        map: async (items, mapper, concurrency) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          const results = [];
          for await (const value of pool.map(mapper, items)) results.push(value);
          await pool.shutdown();
          return results;
        },
        // Scenario 4: the iterator is made (which submits every item, as Python does) and
        // kept; `collect()` then drains it.
        mapIterator: (items, mapper, concurrency) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          const iterator = pool.map(mapper, items);
          return {
            collect: async () => {
              const results = [];
              for await (const value of iterator) results.push(value);
              await pool.shutdown();
              return results;
            },
          };
        },
        stream: (iterable, mapper, { concurrency, bufferSize }) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          return pool.map(mapper, iterable, { bufferSize });
        },
      };
    },
  },
  {
    // Another build of taskpool, for before/after figures from one run:
    // TASKPOOL_REFERENCE_DIST=/path/to/other/dist/index.js node bench/run.mjs --lib taskpool-submit,taskpool-submit-reference
    id: 'taskpool-submit-reference',
    label: 'taskpool (reference build)',
    api: '`pool.submit(fn)`',
    style: 'submit',
    scenarios: process.env.TASKPOOL_REFERENCE_DIST ? [1, 2, 3, 4] : [],
    load: async () => {
      const { TaskPoolExecutor } = await import(pathToFileURL(process.env.TASKPOOL_REFERENCE_DIST).href);
      return {
        createSubmit: (concurrency) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          return { submit: (task) => pool.submit(task), close: () => pool.shutdown() };
        },
      };
    },
  },
  {
    // Another build of taskpool, for before/after figures from one run:
    // TASKPOOL_REFERENCE_DIST=/path/to/other/dist/index.js node bench/run.mjs --lib taskpool-map,taskpool-map-reference
    id: 'taskpool-map-reference',
    label: 'taskpool (reference build)',
    api: '`pool.map(fn, items)`',
    streamApi: '`pool.map(fn, gen, { bufferSize })`',
    style: 'map',
    scenarios: process.env.TASKPOOL_REFERENCE_DIST ? [1, 2, 3, 5] : [],
    load: async () => {
      const { TaskPoolExecutor } = await import(pathToFileURL(process.env.TASKPOOL_REFERENCE_DIST).href);
      return {
        map: async (items, mapper, concurrency) => {
          const pool = new TaskPoolExecutor({ maxWorkers: concurrency });
          const results = [];
          for await (const value of pool.map(mapper, items)) results.push(value);
          await pool.shutdown();
          return results;
        },
        stream: (iterable, mapper, { concurrency, bufferSize }) => new TaskPoolExecutor({ maxWorkers: concurrency }).map(mapper, iterable, { bufferSize }),
      };
    },
  },
  {
    id: 'p-limit',
    label: 'p-limit',
    api: '`limit(fn)`',
    style: 'submit',
    scenarios: [1, 2, 3, 4],
    load: async () => ({
      createSubmit: (concurrency) => ({ submit: pLimit(concurrency), close: () => {} }),
    }),
  },
  {
    id: 'p-queue',
    label: 'p-queue',
    api: '`queue.add(fn)`',
    style: 'submit',
    scenarios: [1, 2, 3, 4],
    load: async () => ({
      createSubmit: (concurrency) => {
        const queue = new PQueue({ concurrency });
        return { submit: (task) => queue.add(task), close: () => queue.onIdle() };
      },
    }),
  },
  {
    id: 'async-queue',
    label: 'async',
    api: '`queue.pushAsync(fn)`',
    style: 'submit',
    scenarios: [1, 2, 3, 4],
    load: async () => ({
      createSubmit: (concurrency) => {
        const queue = asyncQueue(async (task) => task(), concurrency);
        return { submit: (task) => queue.pushAsync(task), close: () => {} };
      },
    }),
  },
  {
    id: 'p-map',
    label: 'p-map',
    api: '`pMap(items, fn)`',
    streamApi: '`pMapIterable(gen, fn, { backpressure })`',
    style: 'map',
    scenarios: [1, 2, 3, 5],
    load: async () => ({
      map: (items, mapper, concurrency) => pMap(items, mapper, { concurrency }),
      stream: (iterable, mapper, { concurrency, bufferSize }) => pMapIterable(iterable, mapper, { concurrency, backpressure: bufferSize }),
    }),
  },
  {
    id: 'promise-pool',
    label: '@supercharge/promise-pool',
    api: '`PromisePool…process(fn)`',
    style: 'map',
    scenarios: [1, 2, 3],
    load: async () => ({
      map: async (items, mapper, concurrency) => {
        const { results, errors } = await PromisePool.withConcurrency(concurrency).for(items).useCorrespondingResults().process(mapper);
        if (errors.length > 0) throw errors[0];
        return results;
      },
    }),
  },
  {
    id: 'async-mapLimit',
    label: 'async',
    api: '`mapLimit(items, n, fn)`',
    style: 'map',
    scenarios: [1, 2, 3],
    load: async () => ({
      map: (items, mapper, concurrency) => mapLimit(items, concurrency, mapper),
    }),
  },
];

/** The library with this id. */
export function findLibrary(id) {
  const library = LIBRARIES.find((candidate) => candidate.id === id);
  if (library === undefined) throw new Error(`unknown library '${id}': known are ${LIBRARIES.map((l) => l.id).join(', ')}`);
  return library;
}
