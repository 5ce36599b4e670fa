// Ordered, bounded map over an infinite input.
//
// pool.map() with a bufferSize pulls from the input only as results are consumed: never more
// than bufferSize tasks are submitted and not yet yielded, so an endless generator is fine.
// Results come back in input order even though the tasks finish out of order.
import { TaskPoolExecutor } from 'taskpool';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let pulled = 0;
function* naturals() {
  for (let n = 1; ; n++) {
    pulled++;
    yield n;
  }
}

/** A task whose duration varies, so that later items often finish first. */
async function slowSquare(n) {
  await sleep(((n * 37) % 11) * 3);
  return n * n;
}

const pool = new TaskPoolExecutor({ maxWorkers: 4 });
try {
  const squares = [];
  for await (const square of pool.map(slowSquare, naturals(), { bufferSize: 8 })) {
    squares.push(square);
    if (squares.length === 20) break; // break cancels whatever is still outstanding
  }
  console.log(squares.join(' '));
  console.log(`20 results in input order; ${pulled} numbers pulled from an endless generator`);
} finally {
  await pool.shutdown();
}
