// wait() as Python's concurrent.futures.wait: take the first answer, cancel the rest.
//
// Three "mirrors" serve the same file at different speeds. wait() with FIRST_COMPLETED
// resolves as soon as one settles; cancel() then aborts the others through their signals.
import { TaskPoolExecutor, FIRST_COMPLETED, wait } from 'taskpool';

/** Resolves after `ms`, or rejects at once with the signal's reason when it aborts. */
function download(mirror, ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(`file from ${mirror}`), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      console.log(`  ${mirror}: stopped (${signal.reason.name})`);
      reject(signal.reason);
    });
  });
}

const mirrors = { 'eu.example': 120, 'us.example': 40, 'ap.example': 300 };
const pool = new TaskPoolExecutor({ maxWorkers: 3 });
try {
  const futures = Object.entries(mirrors).map(([mirror, ms]) => pool.run(({ signal }) => download(mirror, ms, signal)));

  const { done, notDone } = await wait(futures, { returnWhen: FIRST_COMPLETED });
  const [first] = done;
  console.log(`first: ${await first}; ${notDone.size} still running`);
  for (const future of notDone) future.cancel();

  // With a timeout, wait() resolves with what is done so far (it does not throw).
  const late = pool.submit(() => new Promise((resolve) => setTimeout(resolve, 200)));
  const partial = await wait([late], { timeout: 20 });
  console.log(`after 20 ms: ${partial.done.size} done, ${partial.notDone.size} not done (state: ${late.state})`);
  late.cancel();
} finally {
  await pool.shutdown();
}
console.log('stats:', pool.stats);
