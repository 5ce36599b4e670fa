/**
 * Runs one generated program against a real executor and checks it as it goes.
 *
 * Every operation runs at a quiet moment (no microtask left), then the driver lets the event
 * loop turn once and checks the invariants. Concurrent consumers (`map`, `wait`,
 * `asCompleted`, `result()`, `onIdle()`, `shutdown()`) are actors: they start with their
 * operation, run between operations, and check what they receive when they receive it; at
 * every quiet moment each actor also checks that it is not stuck (anything it could have
 * received by now, it has). When the operations are done the driver releases every task, lets
 * everything finish, shuts the executor down, and checks that nothing is left behind: no
 * pending future, no timer, no signal listener, no unhandled rejection.
 */
import { getEventListeners } from 'node:events';
import { ExecutorShutdownError, type Future, type RunOptions } from '../../lib/index.js';
import { internals } from '../../lib/future.js';
import { AsCompletedActor, CallbackActor, IdleActor, ResultActor, ShutdownActor, WaitActor, type Actor } from './actors.js';
import { FakeClock } from './clock.js';
import { MapActor } from './map-actor.js';
import { makeReason, Model, show, Violation, type CancelCause, type TaskRecord } from './model.js';
import type { Op, Program } from './program.js';

/** One turn of the event loop: every microtask queued so far has run when it resolves. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

/** What `runProgram` reports, for the figures. */
export interface ProgramSummary {
  tasks: number;
  futures: number;
  timersFired: number;
  /** Events by name: final states, how maps and iterators ended, operations that threw. */
  tally: Map<string, number>;
}

export async function runProgram(program: Program): Promise<ProgramSummary> {
  const clock = new FakeClock();
  const driver = new Driver(program, clock);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  const originalError = console.error;
  const timeoutsBefore = activeTimeouts();
  console.error = (...args: unknown[]) => driver.report(args);
  process.on('unhandledRejection', onUnhandled);
  clock.install();
  try {
    await driver.run();
    await turn();
    if (unhandled.length > 0) throw new Violation(`unhandled rejection: ${unhandled.map(show).join(', ')}`);
    // Only more is a leak: a timer that code outside the program started may fire meanwhile.
    if (activeTimeouts() > timeoutsBefore) throw new Violation(`real timers left behind: ${activeTimeouts() - timeoutsBefore}`);
    return { tasks: driver.model.tasks.length, futures: driver.model.submitted.length, timersFired: clock.fired, tally: driver.model.tally };
  } finally {
    clock.uninstall();
    console.error = originalError;
    process.off('unhandledRejection', onUnhandled);
  }
}

/** Runs the operations of one program and owns what they make. */
export class Driver {
  readonly model: Model;
  readonly actors: Actor[] = [];
  /** External signals handed to `run` and `map`, not yet aborted. */
  readonly controllers: AbortController[] = [];
  readonly allControllers: AbortController[] = [];
  /** Done callbacks that throw, and the reports they must cause. */
  expectedReports = 0;
  readonly reports: unknown[][] = [];
  #mapCount = 0;

  constructor(
    readonly program: Program,
    readonly clock: FakeClock,
  ) {
    this.model = new Model(clock, program);
  }

  get executor() {
    return this.model.executor;
  }

  report(args: unknown[]): void {
    this.reports.push(args);
    if (typeof args[0] !== 'string' || !args[0].startsWith('taskpool: a done callback threw')) {
      this.model.fail(`unexpected console.error: ${args.map(show).join(' ')}`);
    }
  }

  async run(): Promise<void> {
    const { ops } = this.program;
    for (let index = 0; index < ops.length; index++) {
      this.model.opIndex = index;
      this.#perform(ops[index]!);
      await turn();
      this.#checkQuiet(`after op ${index} (${ops[index]!.type})`);
    }
    await this.#finish();
  }

  #checkQuiet(where: string): void {
    this.model.checkQuiet();
    for (const actor of this.actors) if (!actor.finished) actor.checkQuiet();
    if (this.reports.length !== this.expectedReports) {
      this.model.fail(`${this.reports.length} errors reported for ${this.expectedReports} throwing done callbacks`);
    }
    if (this.model.violations.length > 0) {
      throw new Violation(`${where}:\n  ${this.model.violations.join('\n  ')}`);
    }
  }

  /** Runs `action` with one cause of cancellation set, restoring the previous one after (callbacks nest). */
  withCause<K extends keyof CancelCause, R>(key: K, value: CancelCause[K], action: () => R): R {
    const cause = this.model.cause;
    const previous = cause[key];
    cause[key] = value;
    try {
      return action();
    } finally {
      this.model.causeEnding();
      cause[key] = previous;
    }
  }

  /** The tasks that have a future, for operations that pick one. */
  pickFuture(pick: number): TaskRecord | undefined {
    const submitted = this.model.held;
    return submitted.length === 0 ? undefined : submitted[pick % submitted.length];
  }

  #perform(op: Op): void {
    const model = this.model;
    switch (op.type) {
      case 'submit':
        this.submit(op);
        break;
      case 'release': {
        const waiting = model.tasks.filter((record) => !record.released && !record.discarded && record.kind !== 'sync' && record.kind !== 'never');
        const running = waiting.filter((record) => record.started);
        const choices = op.pick % 4 !== 0 && running.length > 0 ? running : waiting;
        if (choices.length > 0) model.release(choices[op.pick % choices.length]!);
        break;
      }
      case 'cancel': {
        const record = this.pickFuture(op.pick);
        if (record === undefined) break;
        this.cancel(record, makeReason(op.reason, op.pick));
        break;
      }
      case 'abort': {
        if (this.controllers.length === 0) break;
        const [controller] = this.controllers.splice(op.pick % this.controllers.length, 1);
        const owners = model.submitted.filter((record) => record.controller === controller && !record.future!.done());
        const reason = makeReason(op.reason, op.pick);
        this.withCause('aborting', controller!.signal, () => (reason === undefined ? controller!.abort() : controller!.abort(reason)));
        for (const record of owners) {
          if (record.future!.state !== 'cancelled') model.fail(`${record.describe()} not cancelled by its signal`);
        }
        break;
      }
      case 'advance':
        this.withCause('advancing', true, () => this.clock.advance(op.ms));
        break;
      case 'map':
        this.#startMap(op);
        break;
      case 'wait':
        this.actors.push(new WaitActor(this, op));
        break;
      case 'asCompleted':
        this.actors.push(new AsCompletedActor(this, op));
        break;
      case 'result': {
        const record = this.pickFuture(op.pick);
        if (record !== undefined) this.actors.push(new ResultActor(this, record, op));
        break;
      }
      case 'callback': {
        const record = this.pickFuture(op.pick);
        if (record !== undefined) this.actors.push(new CallbackActor(this, record, op));
        break;
      }
      case 'shutdown':
        this.actors.push(new ShutdownActor(this, op));
        break;
      case 'onIdle':
        this.actors.push(new IdleActor(this));
        break;
    }
  }

  /** `future.cancel(reason)`, checking what it returns and does. */
  cancel(record: TaskRecord, reason: unknown): void {
    const model = this.model;
    const future = record.future!;
    const before = future.state;
    const returned = this.withCause('cancelling', { future, reason }, () => (reason === undefined ? future.cancel() : future.cancel(reason)));
    const expected = before !== 'fulfilled' && before !== 'rejected';
    if (returned !== expected) model.fail(`cancel() of ${record.describe()} (was ${before}) returned ${returned}`);
    if (expected && future.state !== 'cancelled') model.fail(`cancel() of ${record.describe()} left it ${future.state}`);
    if (!expected && future.state !== before) model.fail(`cancel() of settled ${record.describe()} changed it to ${future.state}`);
  }

  submit(op: Extract<Op, { type: 'submit' }>): void {
    const model = this.model;
    const record = model.newTask(op.task, op.via === 'run' ? 'run' : 'submit');
    const options: RunOptions = {};
    if (op.via === 'run') {
      if (op.priority !== undefined) options.priority = record.priority = op.priority;
      if (op.timeout !== undefined) options.timeout = op.timeout;
      if (op.signal !== 'none') {
        const controller = new AbortController();
        this.allControllers.push(controller);
        if (op.signal === 'aborted') controller.abort({ abortedBefore: record.id });
        else this.controllers.push(controller);
        record.controller = controller;
        options.signal = controller.signal;
      }
    }
    record.timeout = options.timeout ?? this.program.taskTimeout;
    const shutDown = model.shutdownCalled;
    let future: Future<unknown>;
    try {
      if (op.via === 'run') {
        future = this.withCause('submittingAborted', op.signal === 'aborted' ? record : undefined, () => this.executor.run(model.runTask(record), options));
      } else if (op.via === 'detached') {
        const { submit } = this.executor;
        future = submit(model.taskFunction, record);
      } else {
        future = this.executor.submit(model.taskFunction, record);
      }
    } catch (error) {
      record.discarded = true;
      model.count('submit refused after shutdown');
      if (!shutDown || !(error instanceof ExecutorShutdownError)) model.fail(`${op.via} threw ${show(error)}`);
      return;
    }
    if (shutDown) model.fail(`${op.via} after shutdown did not throw`);
    if (record.future !== future) model.fail(`${op.via} returned a future the executor did not schedule`);
    if (op.signal === 'aborted' && op.via === 'run') {
      if (future.state !== 'cancelled' || record.started) model.fail(`${record.describe()} run with an aborted signal is ${future.state}`);
      if (getEventListeners(record.controller!.signal, 'abort').length !== 0) model.fail('a listener was added to an aborted signal');
    }
  }

  #startMap(op: Extract<Op, { type: 'map' }>): void {
    const actor = new MapActor(this, op, this.#mapCount++);
    this.actors.push(actor);
    actor.start();
  }

  /** Releases everything, lets it all finish, shuts down, and checks nothing is left. */
  async #finish(): Promise<void> {
    const model = this.model;
    model.opIndex = this.program.ops.length;
    model.cleaningUp = true;
    let quiet = false;
    for (let round = 0; round < 50 && !quiet; round++) {
      for (const record of model.tasks) if (!record.released && !record.discarded) model.release(record);
      await turn();
      this.#checkQuiet('while finishing');
      quiet = model.idle && this.actors.every((actor) => actor.finished || actor instanceof ShutdownActor || actor instanceof IdleActor);
    }
    if (!quiet) {
      const stuck = this.actors.filter((actor) => !actor.finished).map((actor) => actor.name);
      throw new Violation(`never settled down: in flight ${model.inFlight}, stats ${JSON.stringify(this.executor.stats)}, actors stuck: ${stuck.join(', ')}`);
    }
    const final = new ShutdownActor(this, { type: 'shutdown', wait: true, cancelFutures: false, dispose: false });
    this.actors.push(final);
    await turn();
    this.#checkQuiet('after the final shutdown');
    const stuck = this.actors.filter((actor) => !actor.finished);
    if (stuck.length > 0) throw new Violation(`still waiting at the end: ${stuck.map((actor) => actor.name).join(', ')}`);

    const stats = this.executor.stats;
    if (stats.pending + stats.running !== 0) model.fail(`stats at the end: ${JSON.stringify(stats)}`);
    if (stats.completed + stats.failed + stats.cancelled !== model.submitted.length) {
      model.fail(`stats count ${stats.completed + stats.failed + stats.cancelled} settled futures of ${model.submitted.length}`);
    }
    for (const record of model.submitted) {
      if (record.settleCount !== 1) model.fail(`${record.describe()} settled ${record.settleCount} times`);
    }
    const outcomes = await Promise.allSettled(model.submitted.map((record) => record.future!));
    outcomes.forEach((outcome, index) => {
      const record = model.submitted[index]!;
      const future = record.future!;
      const expected = internals.outcome(future);
      const agrees = outcome.status === 'fulfilled' ? future.state === 'fulfilled' && Object.is(outcome.value, expected) : future.state !== 'fulfilled' && Object.is(outcome.reason, expected);
      if (!agrees) model.fail(`awaiting ${record.describe()} gave ${outcome.status} while it is ${future.state}`);
    });
    if (this.clock.pending !== 0) model.fail(`timers left behind: ${this.clock.describePending()}`);
    for (const controller of this.allControllers) {
      const listeners = getEventListeners(controller.signal, 'abort').length;
      if (listeners !== 0) model.fail(`${listeners} abort listeners left on an external signal`);
    }
    if (model.maxInFlight > model.maxWorkers) model.fail(`${model.maxInFlight} task functions were in flight at once`);
    this.#checkQuiet('at the end');
  }
}
