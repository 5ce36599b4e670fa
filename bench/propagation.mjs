/**
 * Which submit-per-task libraries run a queued task in the AsyncLocalStorage context of the
 * call that queued it. Four tasks are queued at concurrency 1, each under its own
 * `als.run(i)`; each task returns the store it sees. "1, 2, 3, 4" means the context is
 * carried over; "1, 1, 1, 1" means queued tasks run in the context of whatever started the
 * worker.
 *
 *   node bench/propagation.mjs
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LIBRARIES } from './adapters.mjs';

const als = new AsyncLocalStorage();
const task = async () => als.getStore();

for (const library of LIBRARIES.filter((candidate) => candidate.style === 'submit')) {
  const { createSubmit } = await library.load();
  const { submit, close } = createSubmit(1);
  const stores = await Promise.all([1, 2, 3, 4].map((store) => als.run(store, () => submit(task))));
  await close();
  const carried = stores.every((store, index) => store === index + 1);
  console.log(`${library.label.padEnd(14)} ${stores.join(', ')}  ${carried ? 'carried over' : 'not carried over'}`);
}
