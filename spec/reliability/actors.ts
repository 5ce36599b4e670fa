/**
 * The actors of a generated program: consumers that run alongside the operations (`wait`,
 * `asCompleted`, `result()`, done callbacks, `shutdown()`, `onIdle()`). Each checks what it
 * receives when it receives it, and, at every quiet moment, that it is not stuck.
 */
import { asCompleted, TimeoutError, wait, type Completion, type Future } from '../../lib/index.js';
import { internals } from '../../lib/future.js';
import type { Driver } from './driver.js';
import { dueAt, show, type TaskRecord } from './model.js';
import type { Op } from './program.js';

/** Something running alongside the operations. */
export interface Actor {
  readonly name: string;
  readonly finished: boolean;
  /** Called at quiet moments: fail if the actor should have moved on by now. */
  checkQuiet(): void;
}

/** Settled inside, or settled others from, a done callback (see {@link TaskRecord.reentered}). */
export function tangled(record: TaskRecord): boolean {
  return record.reentered || record.settled?.nested === true;
}

/** `wait(futures, { returnWhen, timeout })`. */
export class WaitActor implements Actor {
  readonly name: string;
  finished = false;
  readonly futures: Future<unknown>[];
  readonly startedAt: number;

  constructor(
    readonly driver: Driver,
    readonly op: Extract<Op, { type: 'wait' }>,
  ) {
    const submitted = driver.model.held;
    this.futures = submitted.length === 0 ? [] : op.picks.map((pick) => submitted[pick % submitted.length]!.future!);
    this.name = `wait(${this.futures.length} futures, ${op.returnWhen}, timeout ${op.timeout})`;
    this.startedAt = driver.clock.now;
    const options = op.timeout === undefined ? { returnWhen: op.returnWhen } : { returnWhen: op.returnWhen, timeout: op.timeout };
    wait(this.futures, options).then(
      (result) => this.#check(result.done, result.notDone),
      (error: unknown) => driver.model.fail(`${this.name} rejected with ${show(error)}`),
    );
  }

  #elapsed(): boolean {
    const { timeout } = this.op;
    return timeout !== undefined && (timeout === 0 || this.driver.clock.now >= dueAt(this.startedAt, timeout));
  }

  #satisfied(done: Set<Future<unknown>>, notDone: Set<Future<unknown>>): boolean {
    if (notDone.size === 0) return true;
    if (this.op.returnWhen === 'FIRST_COMPLETED') return done.size > 0;
    if (this.op.returnWhen === 'FIRST_EXCEPTION') return [...done].some((future) => future.state === 'rejected');
    return false;
  }

  #check(done: Set<Future<unknown>>, notDone: Set<Future<unknown>>): void {
    const model = this.driver.model;
    this.finished = true;
    const unique = new Set(this.futures);
    if (done.size + notDone.size !== unique.size || [...unique].some((future) => done.has(future) === notDone.has(future))) {
      model.fail(`${this.name}: done and notDone do not split the futures`);
    }
    for (const future of done) if (!future.done()) model.fail(`${this.name}: a ${future.state} future is in done`);
    for (const future of notDone) {
      const record = model.recordOf(future);
      if (future.done() && record?.settled?.op !== model.opIndex) model.fail(`${this.name}: ${record?.describe()} settled at op ${record?.settled?.op} is in notDone`);
    }
    if (!this.#elapsed() && !this.#satisfied(done, notDone)) model.fail(`${this.name}: resolved before its condition or its timeout`);
    model.count(notDone.size > 0 ? 'wait returned early' : 'wait returned all');
  }

  checkQuiet(): void {
    const done = new Set(this.futures.filter((future) => future.done()));
    const notDone = new Set(this.futures.filter((future) => !future.done()));
    if (this.#elapsed()) this.driver.model.fail(`${this.name}: not resolved after its timeout`);
    else if (this.#satisfied(done, notDone)) this.driver.model.fail(`${this.name}: not resolved although its condition is met`);
  }
}

/** `for await (const { future, result } of asCompleted(futures, { timeout }))`, maybe left early. */
export class AsCompletedActor implements Actor {
  readonly name: string;
  finished = false;
  readonly unique: Future<unknown>[];
  readonly initiallyDone: Future<unknown>[];
  readonly yielded = new Set<Future<unknown>>();
  readonly startedAt: number;
  #last: TaskRecord | undefined;

  constructor(
    readonly driver: Driver,
    readonly op: Extract<Op, { type: 'asCompleted' }>,
  ) {
    const submitted = driver.model.held;
    const futures = submitted.length === 0 ? [] : op.picks.map((pick) => submitted[pick % submitted.length]!.future!);
    this.unique = [...new Set(futures)];
    this.initiallyDone = this.unique.filter((future) => future.done());
    this.name = `asCompleted(${this.unique.length} futures, timeout ${op.timeout}, break after ${op.breakAfter})`;
    this.startedAt = driver.clock.now;
    const iterator = asCompleted(futures, op.timeout === undefined ? undefined : { timeout: op.timeout });
    void this.#consume(iterator);
  }

  async #consume(iterator: AsyncIterableIterator<Completion<unknown>>): Promise<void> {
    const model = this.driver.model;
    try {
      for (;;) {
        if (this.op.breakAfter !== undefined && this.yielded.size >= this.op.breakAfter) {
          await iterator.return!();
          const after = await iterator.next();
          if (!after.done) model.fail(`${this.name}: next() after return() gave a value`);
          return;
        }
        let step: IteratorResult<Completion<unknown>>;
        try {
          step = await iterator.next();
        } catch (error) {
          this.#checkThrow(error);
          return;
        }
        if (step.done) {
          if (this.yielded.size !== this.unique.length) model.fail(`${this.name}: ended after ${this.yielded.size} futures`);
          model.count('asCompleted completed');
          return;
        }
        this.#checkItem(step.value);
      }
    } catch (error) {
      model.fail(`${this.name}: the consumer failed: ${show(error)}`);
    } finally {
      this.finished = true;
    }
  }

  #checkItem({ future, result }: Completion<unknown>): void {
    const model = this.driver.model;
    const record = model.recordOf(future);
    if (record === undefined || !this.unique.includes(future)) return model.fail(`${this.name}: yielded a future it was not given`);
    if (this.yielded.has(future)) return model.fail(`${this.name}: yielded ${record.describe()} twice`);
    if (!future.done()) return model.fail(`${this.name}: yielded ${record.describe()} while ${future.state}`);
    const outcome = internals.outcome(future);
    const agrees = result.ok ? future.state === 'fulfilled' && Object.is(result.value, outcome) : future.state !== 'fulfilled' && Object.is(result.error, outcome);
    if (!agrees) model.fail(`${this.name}: result of ${record.describe()} disagrees with its ${future.state} future`);
    const position = this.yielded.size;
    if (position < this.initiallyDone.length) {
      if (this.initiallyDone[position] !== future) model.fail(`${this.name}: futures done at the call must come first, in order`);
    } else {
      if (this.initiallyDone.includes(future)) model.fail(`${this.name}: ${record.describe()} came late`);
      const last = this.#last;
      // Done callbacks that settle other futures interleave the callbacks of both: there,
      // completion order is the order in which asCompleted's own callbacks ran, not observable.
      const interleaved = tangled(record) || (last !== undefined && tangled(last));
      if (last !== undefined && !interleaved && record.settled!.seq < last.settled!.seq) {
        model.fail(`${this.name}: ${record.describe()} yielded out of completion order`);
      }
      this.#last = record;
    }
    this.yielded.add(future);
  }

  #checkThrow(error: unknown): void {
    const model = this.driver.model;
    const { timeout } = this.op;
    if (!(error instanceof TimeoutError) || timeout === undefined || this.driver.clock.now < dueAt(this.startedAt, timeout)) {
      return model.fail(`${this.name}: threw ${show(error)}`);
    }
    model.count('asCompleted timed out');
    if (this.yielded.size === this.unique.length) model.fail(`${this.name}: timed out with every future yielded`);
    for (const future of this.unique) {
      const record = model.recordOf(future)!;
      if (future.done() && record.settled!.op < model.opIndex && !this.yielded.has(future)) {
        model.fail(`${this.name}: timed out before yielding ${record.describe()}, settled earlier`);
      }
    }
  }

  checkQuiet(): void {
    const model = this.driver.model;
    const { timeout } = this.op;
    if (timeout !== undefined && this.driver.clock.now >= dueAt(this.startedAt, timeout)) model.fail(`${this.name}: not stopped after its timeout`);
    const ready = this.unique.filter((future) => future.done() && !this.yielded.has(future));
    if (ready.length > 0) model.fail(`${this.name}: waiting with ${ready.length} settled futures not yielded`);
    else if (this.yielded.size === this.unique.length) model.fail(`${this.name}: every future yielded but not ended`);
  }
}

/** `future.result(timeout)`, `future.exception(timeout)` or `await future`. */
export class ResultActor implements Actor {
  readonly name: string;
  finished = false;
  readonly startedAt: number;

  constructor(
    readonly driver: Driver,
    readonly record: TaskRecord,
    readonly op: Extract<Op, { type: 'result' }>,
  ) {
    const future = record.future!;
    const timeout = op.method === 'await' ? undefined : op.timeout;
    this.name = `${op.method}(${timeout ?? ''}) of ${record.describe()}`;
    this.startedAt = driver.clock.now;
    const promise = op.method === 'result' ? future.result(timeout) : op.method === 'exception' ? future.exception(timeout) : Promise.resolve(future);
    promise.then(
      (value) => this.#check(true, value, timeout),
      (error: unknown) => this.#check(false, error, timeout),
    );
  }

  #check(ok: boolean, value: unknown, timeout: number | undefined): void {
    this.finished = true;
    const model = this.driver.model;
    const future = this.record.future!;
    const state = future.state;
    const outcome = internals.outcome(future);
    let agrees: boolean;
    if (this.op.method === 'exception') {
      agrees = ok ? (state === 'rejected' && Object.is(value, outcome)) || (state === 'fulfilled' && value === undefined) : state === 'cancelled' && Object.is(value, outcome);
    } else {
      agrees = ok ? state === 'fulfilled' && Object.is(value, outcome) : (state === 'rejected' || state === 'cancelled') && Object.is(value, outcome);
    }
    if (agrees) return;
    const timedOut =
      !ok &&
      value instanceof TimeoutError &&
      timeout !== undefined &&
      this.driver.clock.now >= dueAt(this.startedAt, timeout) &&
      (!future.done() || this.record.settled!.op === model.opIndex);
    if (timedOut) model.count(`${this.op.method}() timed out`);
    else model.fail(`${this.name}: ${ok ? 'gave' : 'rejected with'} ${show(value)} while the future is ${state} with ${show(outcome)}`);
  }

  checkQuiet(): void {
    const future = this.record.future!;
    const { timeout } = this.op;
    if (future.done()) this.driver.model.fail(`${this.name}: not resolved though the future is ${future.state}`);
    else if (this.op.method !== 'await' && timeout !== undefined && this.driver.clock.now >= dueAt(this.startedAt, timeout)) {
      this.driver.model.fail(`${this.name}: not rejected after its timeout`);
    }
  }
}

/**
 * `future.addDoneCallback(cb)`, where `cb` may throw, or re-enter the executor while it is
 * settling a future: submit a task, cancel another future, or shut the executor down.
 */
export class CallbackActor implements Actor {
  readonly name: string;
  calls = 0;

  constructor(
    readonly driver: Driver,
    readonly record: TaskRecord,
    op: Extract<Op, { type: 'callback' }>,
  ) {
    this.name = `done callback (${op.action}) on ${record.describe()}`;
    const future = record.future!;
    const wasDone = future.done();
    const thrown = op.pick % 2 === 0 ? new Error(`callback ${op.pick}`) : undefined;
    future.addDoneCallback((settled) => {
      this.calls++;
      if (settled !== future) driver.model.fail(`${this.name}: called with another future`);
      if (!settled.done()) driver.model.fail(`${this.name}: called while ${settled.state}`);
      const model = driver.model;
      const before = model.settlements;
      model.callbackDepth++;
      try {
        this.#act(op, thrown);
      } finally {
        model.callbackDepth--;
        if (model.settlements !== before) record.reentered = true;
      }
    });
    if (wasDone && this.calls !== 1) driver.model.fail(`${this.name}: not called at once on a settled future`);
  }

  #act(op: Extract<Op, { type: 'callback' }>, thrown: unknown): void {
    const driver = this.driver;
    switch (op.action) {
      case 'throw':
        driver.model.count('done callback threw');
        driver.expectedReports++;
        throw thrown;
      case 'submit':
        driver.submit({ type: 'submit', task: op.task, via: 'submit', priority: undefined, timeout: undefined, signal: 'none' });
        break;
      case 'cancel': {
        const target = driver.pickFuture(op.target);
        if (target !== undefined) driver.cancel(target, undefined);
        break;
      }
      case 'shutdown':
        driver.actors.push(new ShutdownActor(driver, { type: 'shutdown', wait: op.cancelFutures, cancelFutures: op.cancelFutures, dispose: false }));
        break;
      case 'none':
        break;
    }
  }

  get finished(): boolean {
    return this.calls > 0;
  }

  checkQuiet(): void {
    if (this.record.future!.done()) this.driver.model.fail(`${this.name}: not called though the future is ${this.record.future!.state}`);
  }
}

/** `shutdown({ wait, cancelFutures })` or `[Symbol.asyncDispose]()`. */
export class ShutdownActor implements Actor {
  readonly name: string;
  finished = false;
  readonly waits: boolean;

  constructor(
    readonly driver: Driver,
    op: Extract<Op, { type: 'shutdown' }>,
  ) {
    const model = driver.model;
    const executor = driver.executor;
    this.waits = op.dispose || op.wait;
    const cancels = !op.dispose && op.cancelFutures;
    this.name = op.dispose ? '[Symbol.asyncDispose]()' : `shutdown({ wait: ${op.wait}, cancelFutures: ${op.cancelFutures} })`;
    const pending = model.submitted.filter((record) => record.future!.state === 'pending');
    model.shutdownCalled = true;
    model.count(model.callbackDepth > 0 ? 'shutdown inside a done callback' : 'shutdown');
    const promise = driver.withCause('shuttingDown', cancels, () =>
      op.dispose ? executor[Symbol.asyncDispose]() : executor.shutdown({ wait: op.wait, cancelFutures: op.cancelFutures }),
    );
    if (!executor.isShutdown) model.fail(`${this.name}: isShutdown is false`);
    if (cancels) {
      for (const record of pending) if (record.future!.state !== 'cancelled') model.fail(`${this.name}: left ${record.describe()} ${record.future!.state}`);
    }
    promise.then(
      () => {
        this.finished = true;
        if (this.waits && !model.idle) model.fail(`${this.name} resolved with ${model.inFlight} task functions in flight or tasks pending`);
      },
      (error: unknown) => model.fail(`${this.name} rejected with ${show(error)}`),
    );
  }

  checkQuiet(): void {
    if (!this.waits) this.driver.model.fail(`${this.name}: not resolved at once`);
    else if (this.driver.model.idle) this.driver.model.fail(`${this.name}: not resolved though everything has settled`);
  }
}

/** `executor.onIdle()`. */
export class IdleActor implements Actor {
  readonly name = 'onIdle()';
  finished = false;

  constructor(readonly driver: Driver) {
    const model = driver.model;
    const epoch = model.idleEpoch;
    const idleNow = model.idle;
    driver.executor.onIdle().then(() => {
      this.finished = true;
      if (!idleNow && model.idleEpoch === epoch) model.fail('onIdle() resolved though the executor was never idle since the call');
    });
  }

  checkQuiet(): void {
    if (this.driver.model.idle) this.driver.model.fail('onIdle() not resolved though nothing is pending or running');
  }
}
