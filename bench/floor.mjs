/**
 * Baselines: the least a bounded pool can cost, written as plainly as possible. They keep
 * the concurrency bound and the order of results, and nothing else (no cancellation, no
 * error isolation, no async-context propagation, no stats): a real library cannot be
 * cheaper than these, so each library's ratio to them is its overhead.
 */

/**
 * "floor": `concurrency` async workers pulling the next index of a shared array.
 * The least a bounded map over an array can cost.
 *
 * @template T, R
 * @param {T[]} items
 * @param {(item: T) => Promise<R>} mapper
 * @param {number} concurrency
 * @returns {Promise<R[]>} the results in input order
 */
export async function floorMap(items, mapper, concurrency) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await mapper(items[index]);
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(concurrency, items.length); w++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

/**
 * "floor-submit": one promise and one record per task, pushed on an array that
 * `concurrency` workers drain. The least a submit-per-task API can cost.
 *
 * @param {number} concurrency
 * @returns {(task: () => Promise<unknown>) => Promise<unknown>} submit
 */
export function floorSubmit(concurrency) {
  let queue = [];
  let head = 0;
  let active = 0;
  const worker = async () => {
    while (head < queue.length) {
      const record = queue[head];
      queue[head++] = undefined;
      try {
        record.resolve(await record.task());
      } catch (error) {
        record.reject(error);
      }
    }
    // Drained: drop the consumed array (the other workers see it empty too).
    queue = [];
    head = 0;
    active--;
  };
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push({ task, resolve, reject });
      if (active < concurrency) {
        active++;
        worker();
      }
    });
}

/**
 * "floor" for streaming: `concurrency` workers pull from a shared iterator and write into a
 * ring of `bufferSize` slots; the consumer yields the slots in input order. At most
 * `bufferSize` items are pulled and not yet yielded. The least an ordered, bounded,
 * streaming map can cost.
 *
 * @template T, R
 * @param {Iterable<T>} iterable
 * @param {(item: T) => Promise<R>} mapper
 * @param {number} concurrency
 * @param {number} bufferSize
 * @returns {AsyncGenerator<R>}
 */
export async function* floorStream(iterable, mapper, concurrency, bufferSize) {
  const iterator = iterable[Symbol.iterator]();
  const values = new Array(bufferSize);
  const filled = new Uint8Array(bufferSize);
  let pulled = 0;
  let yielded = 0;
  let inputDone = false;
  let active = 0;
  let wakeConsumer;
  const waitingWorkers = [];
  const notifyConsumer = () => {
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };
  const worker = async () => {
    for (;;) {
      while (pulled - yielded >= bufferSize) await new Promise((resolve) => waitingWorkers.push(resolve));
      if (inputDone) break;
      const step = iterator.next();
      if (step.done) {
        inputDone = true;
        break;
      }
      const index = pulled++;
      const value = await mapper(step.value);
      const slot = index % bufferSize;
      values[slot] = value;
      filled[slot] = 1;
      if (index === yielded) notifyConsumer();
    }
    active--;
    if (active === 0) notifyConsumer();
  };
  for (let w = 0; w < concurrency; w++) {
    active++;
    worker();
  }
  for (;;) {
    const slot = yielded % bufferSize;
    if (filled[slot] === 0) {
      if (active === 0 && yielded === pulled) return;
      await new Promise((resolve) => (wakeConsumer = resolve));
      continue;
    }
    const value = values[slot];
    values[slot] = undefined;
    filled[slot] = 0;
    yielded++;
    waitingWorkers.shift()?.();
    yield value;
  }
}
