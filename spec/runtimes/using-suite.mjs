/**
 * Checks written with the real `await using` syntax. Loaded only where the runtime parses it
 * (Deno, Bun, recent browsers; not Node 20), as an extra group of the portable suite.
 */

/** @param lib - the `taskpool` module namespace. */
export async function usingChecks(lib, check, { deferred, turn, assert, equal }) {
  const { TaskPoolExecutor, asCompleted } = lib;

  await check('await using: the executor shuts down and waits for its tasks at block exit', async () => {
    const gate = deferred();
    let pool;
    let future;
    const block = (async () => {
      await using executor = new TaskPoolExecutor({ maxWorkers: 1 });
      pool = executor;
      future = executor.submit(() => gate.promise);
    })();
    await turn();
    assert(pool.isShutdown, 'shut down at block exit');
    equal(future.state, 'running', 'disposal is waiting for the running task');
    gate.resolve('done');
    await block;
    equal(future.state, 'fulfilled', 'the block ended after the task settled');
  });

  await check('await using: disposal also runs when the block throws', async () => {
    const boom = new Error('inside the block');
    let pool;
    let caught;
    try {
      await using executor = new TaskPoolExecutor({ maxWorkers: 2 });
      pool = executor;
      executor.submit(() => 1);
      throw boom;
    } catch (error) {
      caught = error;
    }
    equal(caught, boom, 'the block error propagates');
    assert(pool.isShutdown, 'shut down although the block threw');
    equal(pool.stats.completed, 1, 'the submitted task finished before the block ended');
  });

  await check('await using: an asCompleted iterator detaches from its futures at block exit', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 2 });
    const gate = deferred();
    const fast = pool.submit(() => 'fast');
    const slow = pool.submit(() => gate.promise);
    let first;
    {
      await using completions = asCompleted([fast, slow]);
      first = (await completions.next()).value;
    }
    equal(first.future, fast, 'the first completion');
    gate.resolve('slow');
    equal(await slow, 'slow', 'the slow future still settles');
    await pool.shutdown();
  });
}
