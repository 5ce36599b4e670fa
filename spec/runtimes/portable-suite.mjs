/**
 * The portable suite: one source, run against the built ESM package in Node, Deno, Bun and a
 * browser. It uses only what every runtime has (promises, timers, AbortController, async
 * iteration): no `node:*` module, no test framework, no DOM.
 *
 * Deterministic: tasks wait on deferreds resolved by hand; `turn()` only lets queued work run.
 * A timeout is checked against a task that never settles.
 *
 * Usage: `const { passed, failed, failures, skipped } = await runSuite(lib, { extra })`, where
 * `lib` is the module namespace of `taskpool` and `extra` lists further check groups
 * (`(lib, check, tools) => Promise<void>`), such as the `await using` checks.
 */

/** A promise resolved or rejected by hand. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and `rounds` timer turns run. */
export async function turn(rounds = 2) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function equal(actual, expected, message) {
  if (!Object.is(actual, expected)) {
    throw new Error(`${message}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function deepEqual(actual, expected, message) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${message}: expected ${b}, got ${a}`);
}

/** Awaits `promise` and returns what it rejected with; fails when it fulfils. */
export async function rejection(promise, message) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${message}: expected a rejection`);
}

function show(value) {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/**
 * Listens for unhandled rejections where the runtime reports them: the `unhandledrejection`
 * event (browsers, Deno) or `process.on('unhandledRejection')` (Node, Bun).
 * Returns the list that fills up and a function that stops listening.
 */
function watchUnhandled() {
  const seen = [];
  if (typeof globalThis.addEventListener === 'function' && 'onunhandledrejection' in globalThis) {
    const listener = (event) => {
      seen.push(event.reason);
      event.preventDefault();
    };
    globalThis.addEventListener('unhandledrejection', listener);
    return { seen, stop: () => globalThis.removeEventListener('unhandledrejection', listener) };
  }
  const proc = globalThis.process;
  if (proc !== undefined && typeof proc.on === 'function') {
    const listener = (reason) => seen.push(reason);
    proc.on('unhandledRejection', listener);
    return { seen, stop: () => proc.off('unhandledRejection', listener) };
  }
  return { seen, stop: () => {} };
}

/**
 * Runs every check and returns `{ passed, failed, failures, skipped }`; never throws.
 *
 * @param lib - the `taskpool` module namespace.
 * @param options - `{ extra: [(lib, check, tools) => Promise<void>], timeoutMs }`.
 */
export async function runSuite(lib, options = {}) {
  const { extra = [], timeoutMs = 5_000 } = options;
  const results = { passed: 0, failed: 0, failures: [], skipped: [] };
  const unhandled = watchUnhandled();

  /** Runs one named check; `skip(reason)` inside it records a skip. */
  async function check(name, body) {
    let skipReason;
    const skip = (reason) => {
      skipReason = reason;
    };
    let timer;
    try {
      await Promise.race([
        body(skip),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no result after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (skipReason !== undefined) results.skipped.push(`${name}: ${skipReason}`);
      else results.passed++;
    } catch (error) {
      results.failed++;
      results.failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  const tools = { deferred, turn, assert, equal, deepEqual, rejection };
  try {
    await coreChecks(lib, check);
    for (const group of extra) await group(lib, check, tools);
    await check('no unhandled rejection was raised by the library', async () => {
      await turn(3);
      equal(unhandled.seen.length, 0, `unhandled rejections (${unhandled.seen.map(String).join(', ')})`);
    });
  } catch (error) {
    results.failed++;
    results.failures.push(`suite aborted: ${error instanceof Error ? error.stack : String(error)}`);
  } finally {
    unhandled.stop();
  }
  return results;
}

async function coreChecks(lib, check) {
  const {
    TaskPoolExecutor,
    Future,
    FutureState,
    CancelledError,
    TimeoutError,
    InvalidStateError,
    ExecutorShutdownError,
    BrokenExecutorError,
    wait,
    asCompleted,
    settle,
    ok,
    err,
    isOk,
    isErr,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    ALL_COMPLETED,
  } = lib;

  await check('exports: every public name is present', async () => {
    const names = [
      'TaskPoolExecutor', 'Executor', 'Future', 'FutureState', 'CancelledError', 'TimeoutError', 'InvalidStateError',
      'ExecutorShutdownError', 'BrokenExecutorError', 'wait', 'asCompleted', 'settle', 'ok', 'err', 'isOk', 'isErr',
      'ReturnWhen', 'FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED',
    ];
    const missing = names.filter((name) => lib[name] === undefined);
    deepEqual(missing, [], 'missing exports');
  });

  await check('submit: sync and async functions, arguments, value', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 2, name: 'portable' });
    const sum = pool.submit((a, b) => a + b, 1, 2);
    const product = pool.submit(async (a, b) => a * b, 3, 4);
    equal(await sum, 3, 'sync task value');
    equal(await product.result(), 12, 'async task value');
    equal(sum.state, FutureState.FULFILLED, 'state');
    assert(sum.done() && !sum.cancelled() && !sum.running(), 'done() / cancelled() / running()');
    await pool.shutdown();
  });

  await check('submit: a sync throw (falsy included) becomes a rejected future', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const boom = new Error('boom');
    const failing = pool.submit(() => {
      throw boom;
    });
    const falsy = pool.submit(() => Promise.reject(0));
    equal(await rejection(failing, 'sync throw'), boom, 'error');
    equal(await falsy.exception(), 0, 'falsy rejection');
    equal(failing.state, 'rejected', 'state');
    equal(pool.stats.failed, 2, 'stats.failed');
    await pool.shutdown();
  });

  await check('maxWorkers bounds tasks in flight; queued tasks start in submission order', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 2 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started = [];
    const futures = gates.map((gate, index) =>
      pool.submit(async () => {
        started.push(index);
        return gate.promise;
      }),
    );
    await turn();
    deepEqual(started, [0, 1], 'started while two slots are busy');
    deepEqual(
      futures.map((future) => future.state),
      ['running', 'running', 'pending', 'pending'],
      'states',
    );
    equal(pool.stats.running, 2, 'stats.running');
    equal(pool.stats.pending, 2, 'stats.pending');
    gates[1].resolve('b');
    await turn();
    deepEqual(started, [0, 1, 2], 'one slot freed, one task started');
    gates.forEach((gate, index) => gate.resolve(index));
    deepEqual(await Promise.all(futures), [0, 'b', 2, 3], 'values');
    equal(pool.stats.completed, 4, 'stats.completed');
    await pool.shutdown();
  });

  await check('cancel: a pending task never starts; a running one sees its signal abort and keeps its slot', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gate = deferred();
    let signal;
    const running = pool.run((context) => {
      signal = context.signal;
      return gate.promise;
    });
    let queuedRan = false;
    const queued = pool.submit(() => {
      queuedRan = true;
    });
    const third = pool.submit(() => 'third');
    await turn(); // task functions are called from a microtask, never inside submit
    equal(queued.cancel(), true, 'cancel() of a pending future');
    equal(queued.state, 'cancelled', 'pending → cancelled');
    equal(running.cancel(), true, 'cancel() of a running future');
    assert(signal.aborted, 'the running task signal aborted');
    assert(signal.reason instanceof CancelledError, 'the abort reason is a CancelledError');
    const error = await rejection(running, 'awaiting a cancelled future');
    assert(error instanceof CancelledError && error.name === 'CancelledError', 'rejects with CancelledError');
    await turn();
    equal(pool.stats.running, 1, 'the cancelled task still holds its slot');
    equal(third.state, 'pending', 'so the next task waits');
    gate.resolve('late');
    equal(await third, 'third', 'the slot frees when the task really settles');
    assert(!queuedRan, 'the cancelled pending task never ran');
    equal(running.cancel(), true, 'cancel() again is true');
    equal(third.cancel(), false, 'cancel() of a fulfilled future is false');
    equal(pool.stats.cancelled, 2, 'stats.cancelled');
    await pool.shutdown();
  });

  await check('run: an aborted signal cancels; a timeout rejects with TimeoutError and aborts the task signal', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 2 });
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    const aborted = pool.run(() => 'never', { signal: controller.signal });
    equal(aborted.state, 'cancelled', 'an already aborted signal cancels at once');
    const cancellation = await rejection(aborted, 'aborted run');
    assert(cancellation instanceof CancelledError && cancellation.cause === reason, 'rejects with a CancelledError whose cause is signal.reason');
    let taskSignal;
    const forever = pool.run(({ signal }) => {
      taskSignal = signal;
      return new Promise(() => {});
    }, { timeout: 5 });
    const error = await rejection(forever, 'timed-out run');
    assert(error instanceof TimeoutError && error.name === 'TimeoutError', `TimeoutError, got ${error}`);
    equal(forever.state, 'rejected', 'a timeout rejects, it does not cancel');
    assert(taskSignal.aborted && taskSignal.reason === error, 'the task signal aborted with the TimeoutError');
    await pool.shutdown({ wait: false });
  });

  await check('result(timeout) rejects with TimeoutError and leaves the task alone', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gate = deferred();
    const future = pool.submit(() => gate.promise);
    const error = await rejection(future.result(5), 'result(5)');
    assert(error instanceof TimeoutError, 'TimeoutError');
    equal(future.state, 'running', 'the task is not cancelled');
    gate.resolve(7);
    equal(await future.result(), 7, 'value afterwards');
    await pool.shutdown();
  });

  await check('map with bufferSize: input order, never more than bufferSize outstanding, over an infinite input', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 4 });
    let pulled = 0;
    let maxOutstanding = 0;
    let yielded = 0;
    function* naturals() {
      for (let n = 0; ; n++) {
        pulled++;
        maxOutstanding = Math.max(maxOutstanding, pulled - yielded);
        yield n;
      }
    }
    // Later items finish first: results must still come in input order.
    const gates = new Map();
    const work = (n) => {
      const gate = deferred();
      gates.set(n, gate);
      return gate.promise.then(() => n * n);
    };
    const out = [];
    const iterator = pool.map(work, naturals(), { bufferSize: 3 });
    const consumer = (async () => {
      for await (const value of iterator) {
        out.push(value);
        yielded++;
        if (out.length === 6) break;
      }
    })();
    for (let n = 0; out.length < 6 && n < 100; n++) {
      await turn();
      for (const key of [...gates.keys()].sort((a, b) => b - a)) {
        gates.get(key).resolve();
        gates.delete(key);
      }
    }
    await consumer;
    deepEqual(out, [0, 1, 4, 9, 16, 25], 'squares in input order');
    assert(maxOutstanding <= 3, `at most 3 submitted and not yielded, saw ${maxOutstanding}`);
    assert(pulled <= 9, `pulled ${pulled} items for 6 results`);
    await pool.shutdown({ cancelFutures: true });
  });

  await check('map: zips several iterables, shortest wins; ordered: false yields in completion order', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 3 });
    const sums = [];
    for await (const sum of pool.map((a, b) => a + b, [1, 2, 3], [10, 20])) sums.push(sum);
    deepEqual(sums, [11, 22], 'zip');
    const gates = [deferred(), deferred(), deferred()];
    const unordered = pool.map((i) => gates[i].promise, [0, 1, 2], { ordered: false });
    const out = [];
    const consumer = (async () => {
      for await (const value of unordered) out.push(value);
    })();
    gates[2].resolve('c');
    await turn();
    gates[0].resolve('a');
    await turn();
    gates[1].resolve('b');
    await consumer;
    deepEqual(out, ['c', 'a', 'b'], 'completion order');
    await pool.shutdown();
  });

  await check('map: an error is thrown at its position and cancels what is outstanding; break cancels too', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const boom = new Error('item 1');
    const started = [];
    const seen = [];
    const failing = pool.map(
      (n) => {
        started.push(n);
        return gates[n].promise;
      },
      [0, 1, 2, 3],
    );
    const consumed = rejection(
      (async () => {
        for await (const value of failing) seen.push(value);
      })(),
      'map over a failing item',
    );
    gates[0].resolve(0);
    await turn();
    gates[1].reject(boom);
    equal(await consumed, boom, 'the item error');
    deepEqual(seen, [0], 'values before the failing position');
    deepEqual(started, [0, 1, 2], 'item 2 had taken the freed slot');
    equal(pool.stats.cancelled, 2, 'the running item 2 and the queued item 3 were cancelled');
    equal(pool.stats.pending, 0, 'nothing left queued');
    gates[2].resolve(2);
    await turn();
    deepEqual(started, [0, 1, 2], 'item 3 never started');

    const gate = deferred();
    const breakStarts = [];
    const broken = pool.map(
      (n) => {
        breakStarts.push(n);
        return n === 0 ? n : gate.promise;
      },
      [0, 1, 2],
    );
    for await (const value of broken) {
      equal(value, 0, 'first value');
      break;
    }
    equal(pool.stats.pending, 0, 'break left nothing queued');
    gate.resolve();
    await pool.shutdown();
    deepEqual(breakStarts, [0, 1], 'only the items started before the break ran');
  });

  await check('wait: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED and timeout', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 3 });
    const gates = [deferred(), deferred(), deferred()];
    const futures = gates.map((gate) => pool.submit(() => gate.promise));
    const first = wait(futures, { returnWhen: FIRST_COMPLETED });
    gates[1].resolve('b');
    const { done, notDone } = await first;
    assert(done.size === 1 && done.has(futures[1]) && notDone.size === 2, 'FIRST_COMPLETED');
    const exception = wait(futures, { returnWhen: FIRST_EXCEPTION });
    gates[2].reject(new Error('c'));
    const afterException = await exception;
    assert(afterException.done.has(futures[2]) && afterException.notDone.has(futures[0]), 'FIRST_EXCEPTION');
    const timedOut = await wait([futures[0]], { timeout: 5 });
    assert(timedOut.notDone.has(futures[0]) && timedOut.done.size === 0, 'a timeout resolves with what is done');
    equal(futures[0].state, 'running', 'the timeout cancels nothing');
    gates[0].resolve('a');
    const all = await wait([...futures, Promise.resolve('plain')], { returnWhen: ALL_COMPLETED });
    assert(all.done.size === 4 && all.notDone.size === 0, 'ALL_COMPLETED, plain promises included');
    await pool.shutdown();
  });

  await check('asCompleted: completion order, each future once, cancelled as Err(CancelledError)', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 3 });
    const gates = [deferred(), deferred(), deferred()];
    const futures = gates.map((gate) => pool.submit(() => gate.promise));
    const log = [];
    const consumer = (async () => {
      for await (const { future, result } of asCompleted([...futures, futures[0]])) {
        log.push([futures.indexOf(future), result.ok ? result.value : result.error.name]);
      }
    })();
    gates[2].resolve('c');
    await turn();
    futures[0].cancel();
    await turn();
    gates[1].resolve('b');
    await consumer;
    deepEqual(log, [[2, 'c'], [0, 'CancelledError'], [1, 'b']], 'completions');
    const forever = pool.submit(() => new Promise(() => {}));
    const error = await rejection(
      (async () => {
        for await (const completion of asCompleted([forever], { timeout: 5 })) void completion;
      })(),
      'asCompleted with a timeout',
    );
    assert(error instanceof TimeoutError, 'TimeoutError');
    equal(forever.state, 'running', 'the pending future is not cancelled');
    await pool.shutdown({ wait: false });
  });

  await check('settle, ok, err, isOk, isErr', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 2 });
    const good = await settle(pool.submit(() => 1));
    const bad = await settle(Promise.reject(new Error('no')));
    assert(isOk(good) && good.value === 1, 'Ok from a future');
    assert(isErr(bad) && bad.error.message === 'no', 'Err from a promise');
    const gate = deferred();
    const cancelled = pool.submit(() => gate.promise);
    cancelled.cancel();
    const cancelledResult = await settle(cancelled);
    assert(!cancelledResult.ok && cancelledResult.error instanceof CancelledError, 'Err(CancelledError)');
    gate.resolve();
    const results = [];
    const safe = settle((n) => {
      if (n === 2) throw new Error('two');
      return n;
    });
    for await (const result of pool.map(safe, [1, 2, 3])) results.push(result.ok ? result.value : result.error.message);
    deepEqual(results, [1, 'two', 3], 'map(settle(fn)) never stops on an error');
    deepEqual(ok(5), { ok: true, value: 5 }, 'ok()');
    deepEqual(err('x'), { ok: false, error: 'x' }, 'err()');
    await pool.shutdown();
  });

  await check('shutdown: wait, cancelFutures, idempotent; submit afterwards throws ExecutorShutdownError', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1, name: 'closing' });
    const gate = deferred();
    const running = pool.submit(() => gate.promise);
    const queued = pool.submit(() => 'never');
    let resolved = false;
    const shutdown = pool.shutdown({ cancelFutures: true }).then(() => {
      resolved = true;
    });
    equal(queued.state, 'cancelled', 'cancelFutures cancels queued work');
    assert(pool.isShutdown, 'isShutdown');
    let thrown;
    try {
      pool.submit(() => 1);
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof ExecutorShutdownError && thrown.name === 'ExecutorShutdownError', 'synchronous ExecutorShutdownError');
    assert(thrown.message.includes('closing'), 'the message names the executor');
    await turn();
    equal(resolved, false, 'shutdown waits for the running task');
    gate.resolve('done');
    await shutdown;
    equal(await running, 'done', 'the running task finished');
    await pool.shutdown();
    await pool.onIdle();
  });

  await check('Symbol.asyncDispose shuts down and waits (what await using calls)', async () => {
    assert(typeof Symbol.asyncDispose === 'symbol', 'the runtime has Symbol.asyncDispose');
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gate = deferred();
    const future = pool.submit(() => gate.promise);
    const disposed = pool[Symbol.asyncDispose]();
    assert(pool.isShutdown, 'disposal shuts down');
    gate.resolve(1);
    await disposed;
    assert(future.done(), 'disposal waited for the task');
  });

  await check('Future.from: thenables, Promise.all over futures, methods work detached', async () => {
    const wrapped = Future.from(Promise.resolve(4));
    equal(await wrapped, 4, 'Future.from value');
    assert(Future.from(wrapped) === wrapped, 'a future is returned as it is');
    const pool = new TaskPoolExecutor({ maxWorkers: 2 });
    const { submit, shutdown } = pool;
    deepEqual(await Promise.all([submit(() => 1), submit(async () => 2)]), [1, 2], 'Promise.all');
    equal(Object.prototype.toString.call(wrapped), '[object Future]', 'toStringTag');
    await shutdown();
  });

  await check('done callbacks: in order, at once when settled, a throwing one breaks nothing', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gate = deferred();
    const future = pool.submit(() => gate.promise);
    const order = [];
    const originalError = console.error;
    let reported = 0;
    console.error = () => {
      reported++;
    };
    try {
      future.addDoneCallback(() => order.push(1));
      future.addDoneCallback(() => {
        throw new Error('callback');
      });
      future.addDoneCallback(() => order.push(3));
      gate.resolve();
      await future;
      future.addDoneCallback(() => order.push(4));
    } finally {
      console.error = originalError;
    }
    deepEqual(order, [1, 3, 4], 'callback order');
    equal(reported, 1, 'the throwing callback was reported');
    await pool.shutdown();
  });

  await check('a failed future nobody awaits raises no unhandled rejection', async () => {
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    pool.submit(() => {
      throw new Error('unobserved');
    });
    pool.submit(() => Promise.reject(new Error('unobserved async')));
    await pool.shutdown();
    await turn(3);
  });

  await check('errors: names, instanceof, cause; invalid options throw RangeError/TypeError naming the option', async () => {
    for (const ErrorClass of [CancelledError, TimeoutError, InvalidStateError, ExecutorShutdownError, BrokenExecutorError]) {
      const cause = new Error('cause');
      const error = new ErrorClass('message', { cause });
      assert(error instanceof ErrorClass && error instanceof Error, `${ErrorClass.name} instanceof`);
      equal(error.name, ErrorClass.name, 'name');
      equal(error.cause, cause, 'cause');
    }
    assert(!(new TimeoutError() instanceof CancelledError), 'classes are distinct');
    let range;
    try {
      new TaskPoolExecutor({ maxWorkers: 0 });
    } catch (error) {
      range = error;
    }
    assert(range instanceof RangeError && range.message.includes('maxWorkers'), `RangeError naming maxWorkers, got ${range}`);
    let type;
    try {
      new TaskPoolExecutor().submit('not a function');
    } catch (error) {
      type = error;
    }
    assert(type instanceof TypeError && type.message.includes("'fn'"), `TypeError naming fn, got ${type}`);
  });

  await check('default maxWorkers is min(32, cores + 4)', async () => {
    const pool = new TaskPoolExecutor();
    assert(Number.isInteger(pool.maxWorkers) && pool.maxWorkers >= 5 && pool.maxWorkers <= 32, `maxWorkers ${pool.maxWorkers}`);
    await pool.shutdown();
  });

  await check('a queued task runs in the async context of its submit (where AsyncLocalStorage exists)', async (skip) => {
    let hooks;
    try {
      hooks = globalThis.process?.getBuiltinModule?.('node:async_hooks');
    } catch {
      hooks = undefined;
    }
    if (hooks?.AsyncLocalStorage === undefined) {
      skip('no AsyncLocalStorage in this runtime');
      return;
    }
    const storage = new hooks.AsyncLocalStorage();
    const pool = new TaskPoolExecutor({ maxWorkers: 1 });
    const gate = deferred();
    pool.submit(() => gate.promise);
    const queued = storage.run('request-1', () => pool.submit(() => storage.getStore()));
    gate.resolve();
    equal(await queued, 'request-1', 'the store seen by the queued task');
    await pool.shutdown();
  });
}
