/**
 * The `map` actor of a generated program: hand-made inputs that record every read, and a
 * consumer that checks every result, error and stop as it happens.
 */
import { ExecutorShutdownError, TimeoutError, type MapOptions } from '../../lib/index.js';
import { internals } from '../../lib/future.js';
import { tangled, type Actor } from './actors.js';
import type { Driver } from './driver.js';
import { dueAt, show, type Model, type TaskRecord } from './model.js';
import type { Op } from './program.js';

/** `executor.map(...)` consumed by a loop that checks every result as it arrives. */
export class MapActor implements Actor {
  readonly name: string;
  finished = false;
  /** Tasks pulled from the input, in input order (the last may never be submitted: zip). */
  readonly pulled: TaskRecord[] = [];
  received = 0;
  readonly yielded = new Set<TaskRecord>();
  mainEnded = false;
  mainFailed = false;
  mainClosed = false;
  zipEnded = false;
  zipClosed = false;
  inputError: Error | undefined;
  controller: AbortController | undefined;
  startedAt = 0;
  #iterator: AsyncIterator<unknown> | undefined;

  constructor(
    readonly driver: Driver,
    readonly op: Extract<Op, { type: 'map' }>,
    readonly id: number,
  ) {
    this.name = `map ${id}`;
  }

  get model(): Model {
    return this.driver.model;
  }

  /** Submitted tasks, in input order. */
  get submittedTasks(): TaskRecord[] {
    return this.pulled.filter((record) => record.future !== undefined);
  }

  #pull(index: number): IteratorResult<TaskRecord> {
    const { op, model } = this;
    if (this.mainEnded || this.mainFailed) model.fail(`${this.name}: input read after it ended`);
    if (this.mainClosed) model.fail(`${this.name}: input read after it was closed`);
    if (index === op.throwAt) {
      this.mainFailed = true;
      this.inputError = new Error(`input of ${this.name} fails at ${index}`);
      throw this.inputError;
    }
    if (index >= op.items.length) {
      this.mainEnded = true;
      return { done: true, value: undefined };
    }
    const record = model.newTask(op.items[index]!, 'map');
    record.mapId = this.id;
    record.mapIndex = index;
    record.timeout = this.driver.program.taskTimeout;
    this.pulled.push(record);
    if (op.bufferSize !== undefined && this.pulled.length - this.received > op.bufferSize) {
      model.fail(`${this.name}: item ${index} read with ${this.pulled.length - 1 - this.received} submitted and not yielded, bufferSize ${op.bufferSize}`);
    }
    return { done: false, value: record };
  }

  #mainInput(): Iterable<TaskRecord> | AsyncIterable<TaskRecord> {
    let index = 0;
    if (this.op.input === 'sync') {
      return {
        [Symbol.iterator]: () => ({
          next: () => this.#pull(index++),
          return: () => {
            this.mainClosed = true;
            return { done: true, value: undefined };
          },
        }),
      };
    }
    return {
      [Symbol.asyncIterator]: () => ({
        // The item is taken at the call and handed over a few microtasks later.
        next: () => {
          let step: IteratorResult<TaskRecord>;
          try {
            step = this.#pull(index++);
          } catch (error) {
            return Promise.resolve().then(() => Promise.reject(error));
          }
          return Promise.resolve().then(() => step);
        },
        return: () => {
          this.mainClosed = true;
          return Promise.resolve({ done: true as const, value: undefined });
        },
      }),
    };
  }

  #zipInput(length: number): Iterable<number> | AsyncIterable<number> {
    let index = 0;
    const step = (): IteratorResult<number> => {
      if (this.zipEnded) this.model.fail(`${this.name}: zipped input read after it ended`);
      if (index >= length) {
        this.zipEnded = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: index++ };
    };
    const close = (): IteratorResult<number> => {
      this.zipClosed = true;
      return { done: true, value: undefined };
    };
    if (this.op.input === 'sync') return { [Symbol.iterator]: () => ({ next: step, return: close }) };
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(step()), return: () => Promise.resolve(close()) }) };
  }

  start(): void {
    const { op, model, driver } = this;
    const options: MapOptions = { ordered: op.ordered };
    if (op.bufferSize !== undefined) options.bufferSize = op.bufferSize;
    if (op.timeout !== undefined) options.timeout = op.timeout;
    if (op.signal) {
      this.controller = new AbortController();
      driver.controllers.push(this.controller);
      driver.allControllers.push(this.controller);
      options.signal = this.controller.signal;
    }
    const inputs: (Iterable<unknown> | AsyncIterable<unknown>)[] = [this.#mainInput()];
    if (op.zipLength !== undefined) inputs.push(this.#zipInput(op.zipLength));
    this.startedAt = this.driver.clock.now;
    const shutDown = model.shutdownCalled;
    try {
      this.#iterator = driver.executor.map(model.taskFunction as (...args: unknown[]) => unknown, ...inputs, options);
    } catch (error) {
      this.finished = true;
      if (!shutDown || !(error instanceof ExecutorShutdownError)) model.fail(`${this.name}: map() threw ${show(error)}`);
      if (this.pulled.length > 0) model.fail(`${this.name}: map() read its input and threw`);
      return;
    }
    if (shutDown) model.fail(`${this.name}: map() after shutdown did not throw`);
    if (op.bufferSize === undefined && op.input === 'sync' && !this.#inputFinished()) {
      model.fail(`${this.name}: without bufferSize a sync input must be read at once`);
    }
    void this.#consume();
  }

  #inputFinished(): boolean {
    return this.mainEnded || this.mainFailed || this.zipEnded;
  }

  async #consume(): Promise<void> {
    const iterator = this.#iterator!;
    try {
      for (;;) {
        if (this.op.breakAfter !== undefined && this.received >= this.op.breakAfter) {
          const step = await iterator.return!();
          if (!step.done) this.model.fail(`${this.name}: return() did not end the iterator`);
          this.#checkStopped('return()');
          this.model.count('map left early');
          const after = await iterator.next();
          if (!after.done) this.model.fail(`${this.name}: next() after return() gave a value`);
          return;
        }
        let step: IteratorResult<unknown>;
        try {
          step = await iterator.next();
        } catch (error) {
          this.#checkThrow(error);
          this.#checkStopped(`throwing ${show(error)}`);
          return;
        }
        if (step.done) {
          this.#checkComplete();
          this.#checkStopped('the end');
          this.model.count('map completed');
          return;
        }
        this.#checkYield(step.value);
        this.received++;
      }
    } catch (error) {
      this.model.fail(`${this.name}: the consumer failed: ${show(error)}`);
    } finally {
      this.finished = true;
    }
  }

  /**
   * The submitted task the map must give next: in input order, or the first settled of those
   * not yielded yet. `matching`: unordered, when settlements interleaved in done callbacks,
   * any settled one that gives this outcome.
   */
  #next(matching?: (record: TaskRecord) => boolean): TaskRecord | undefined {
    const submitted = this.submittedTasks;
    if (this.op.ordered) return submitted[this.received];
    const settled = submitted.filter((record) => !this.yielded.has(record) && record.settled !== undefined);
    settled.sort((a, b) => a.settled!.seq - b.settled!.seq);
    const first = settled[0];
    if (first !== undefined && matching !== undefined && !matching(first) && settled.some(tangled)) return settled.find(matching) ?? first;
    return first;
  }

  #checkYield(value: unknown): void {
    const record = this.#next((candidate) => candidate.future!.state === 'fulfilled' && Object.is(internals.outcome(candidate.future!), value));
    if (record === undefined || record.future!.state !== 'fulfilled' || !Object.is(internals.outcome(record.future!), value)) {
      this.model.fail(`${this.name}: result ${this.received} is ${show(value)}, expected ${record === undefined ? 'none' : `the value of ${record.describe()}, now ${record.future!.state}`}`);
      return;
    }
    this.yielded.add(record);
  }

  #checkThrow(error: unknown): void {
    const { model, op } = this;
    const record = this.#next((candidate) => candidate.future!.state !== 'fulfilled' && Object.is(internals.outcome(candidate.future!), error));
    const all = this.received === this.submittedTasks.length;
    const ended = (how: string): void => model.count(`map threw: ${how}`);
    if (record !== undefined && record.future!.done() && record.future!.state !== 'fulfilled' && Object.is(internals.outcome(record.future!), error)) {
      const outcome = internals.outcome(record.future!);
      return ended(record.future!.state === 'rejected' ? "a task's error" : outcome instanceof TimeoutError ? 'deadline' : "a task's cancellation");
    }
    if (this.inputError !== undefined && error === this.inputError && all) return ended("the input's error");
    if (error instanceof ExecutorShutdownError && model.shutdownCalled && all) return ended('shut down');
    if (error instanceof TimeoutError && op.timeout !== undefined && this.driver.clock.now >= dueAt(this.startedAt, op.timeout)) return ended('deadline');
    if (this.controller?.signal.aborted && Object.is(error, this.controller.signal.reason)) return ended('signal');
    model.fail(`${this.name}: threw ${show(error)} after ${this.received} results, next expected ${record?.describe() ?? 'none'} (${record?.future?.state})`);
  }

  #checkComplete(): void {
    const submitted = this.submittedTasks;
    if (this.received !== submitted.length) this.model.fail(`${this.name}: ended after ${this.received} of ${submitted.length} results`);
    if (!this.mainEnded && !this.zipEnded) this.model.fail(`${this.name}: ended before its input did`);
    if (this.mainFailed) this.model.fail(`${this.name}: ended without throwing the input's error`);
  }

  /** After the map stopped: nothing outstanding, every input ended or closed. */
  #checkStopped(how: string): void {
    for (const record of this.submittedTasks) {
      if (!record.future!.done()) this.model.fail(`${this.name}: ${record.describe()} still ${record.future!.state} after ${how}`);
    }
    if (!this.mainEnded && !this.mainFailed && !this.mainClosed) this.model.fail(`${this.name}: input not closed after ${how}`);
    if (this.op.zipLength !== undefined && !this.zipEnded && !this.zipClosed) this.model.fail(`${this.name}: zipped input not closed after ${how}`);
  }

  checkQuiet(): void {
    const { model, op } = this;
    const clock = this.driver.clock;
    const next = this.#next();
    if (next?.future!.done()) model.fail(`${this.name}: waiting while ${next.describe()} is ${next.future!.state}`);
    const all = this.received === this.submittedTasks.length;
    if (all && this.#inputFinished()) model.fail(`${this.name}: every result yielded and the input ended, but it has not ended`);
    if (this.controller?.signal.aborted) model.fail(`${this.name}: still running after its signal aborted`);
    if (op.timeout !== undefined && clock.now >= dueAt(this.startedAt, op.timeout)) model.fail(`${this.name}: still running after its deadline`);
    const room = op.bufferSize === undefined || this.pulled.length - this.received < op.bufferSize;
    if (room && !this.#inputFinished() && !model.shutdownCalled) model.fail(`${this.name}: not reading its input with room in its buffer`);
    for (const record of this.pulled) {
      if (record.cancelledByMap) model.fail(`${this.name}: ${record.describe()} cancelled while the map runs`);
    }
  }
}
