import pDefer, { type DeferredPromise } from 'p-defer';
import { TimeoutError } from './errors.js';
import { internals, type Future } from './future.js';
import { FifoQueue } from './internal/queue.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkBoolean, checkOptions, checkPositiveInteger, checkSignal, checkTimeout, fail, isSyncIterable, type OptionChecks } from './internal/validate.js';

/**
 * A sync or async iterable of `T`: what `map()` accepts as input.
 *
 * @typeParam T - the items.
 * @example
 * ```ts
 * const inputs: AnyIterable<number> = (async function* () { yield 1; yield 2; })();
 * ```
 */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/**
 * What `map()` returns: an async iterator of the results that can also be disposed of with
 * `await using` (disposing of it is `return()`: what is outstanding is cancelled).
 *
 * @typeParam T - the results.
 * @example
 * ```ts
 * await using results = pool.map(work, items, { bufferSize: 8 });
 * for await (const result of results) console.log(result);
 * ```
 */
export type MapResults<T> = AsyncIterableIterator<T> & AsyncDisposable;

/**
 * Options of `map()`.
 *
 * @example
 * ```ts
 * pool.map(work, items, { bufferSize: 64, timeout: 60_000, signal, ordered: false });
 * ```
 */
export interface MapOptions {
  /**
   * The most tasks submitted and not yet yielded (strictly). Without it, sync inputs are
   * consumed and every task submitted at call time, as Python does.
   * @default unbounded
   */
  bufferSize?: number;
  /**
   * One deadline for the whole map, in milliseconds from the call. When it passes, what is
   * outstanding is cancelled and the inputs are closed; the results done by then are still
   * yielded, then the iterator throws a `TimeoutError`. Once the input has ended and every
   * task has settled, the deadline no longer applies (as Python's `map`).
   * @default none
   */
  timeout?: number;
  /**
   * Stops the map: the iterator throws `signal.reason` (unchanged) at once and what is
   * outstanding is cancelled. An already aborted signal submits nothing.
   * @default none
   */
  signal?: AbortSignal;
  /**
   * `true`: results in input order. `false`: in completion order (an error is then thrown
   * as soon as its task fails and every result before it has been yielded).
   * @default true
   */
  ordered?: boolean;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

const MAP_OPTIONS: OptionChecks = { bufferSize: checkPositiveInteger, timeout: checkTimeout, signal: checkSignal, ordered: checkBoolean };

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isIterable(value: unknown): boolean {
  return isSyncIterable(value) || isAsyncIterable(value);
}

function ignore(): void {}

/** Splits `map(fn, ...iterables, options?)`'s rest arguments and checks the iterables. @internal */
export function splitMapArguments(rest: unknown[], action: string): { iterables: AnyIterable<unknown>[]; options: MapOptions | undefined } {
  const last = rest.at(-1);
  // A last argument that is undefined, or an object that is not iterable, is the options.
  const hasOptions = rest.length > 0 && (last === undefined || (typeof last === 'object' && last !== null && !isIterable(last)));
  const iterables = hasOptions ? rest.slice(0, -1) : rest;
  if (iterables.length === 0) fail(TypeError, 'at least one iterable', action, 'iterables', []);
  iterables.forEach((iterable, index) => isIterable(iterable) || fail(TypeError, 'an iterable or async iterable', action, `iterables[${index}]`, iterable));
  return { iterables: iterables as AnyIterable<unknown>[], options: hasOptions ? (last as MapOptions | undefined) : undefined };
}

/**
 * Runs `submit` over zipped inputs and yields the outcomes in input or completion order,
 * keeping at most `bufferSize` submitted and not yet yielded. Built once on an executor's
 * submit, for every backend. `action` names the call in messages ("map over executor 'x'");
 * `assertOpen`, called once the arguments are valid, throws when the executor takes no work.
 * @internal
 */
export function mapIterables<R>(
  submit: (values: unknown[]) => Future<R>,
  iterables: AnyIterable<unknown>[],
  options: MapOptions | undefined,
  action: string,
  assertOpen?: () => void,
): MapResults<R> {
  const checked = checkOptions(options, MAP_OPTIONS, action);
  assertOpen?.();
  return new MapResultsIterator(submit, iterables, checked, action);
}

/**
 * A call that waits for its turn. `end` is set for `return()` and `throw()`: it ends the
 * iterator and gives the call's outcome.
 */
interface Request<R> extends DeferredPromise<IteratorResult<R>> {
  end?: (() => Promise<IteratorResult<R>>) | undefined;
}

/**
 * The iterator `map()` returns, and the state of that call.
 *
 * Calls are served one after the other, in the order they were made, as by an async
 * generator, without a generator's cost: a call made while none is pending is served at
 * once, so a `next()` whose result is ready returns an already settled promise; one that
 * must wait sleeps until a result settles, the input pump stops, or the map is stopped
 * (deadline, signal, `return()`), and the calls made meanwhile wait behind it.
 *
 * `#count` is the number of tasks submitted and not yet yielded, where an item counts as
 * yielded once the consumer asks for the next one: then the bound holds for any observer,
 * the consumer included (CPython 3.14 lets one more in).
 *
 * Ordered, `#queue` holds every submitted future in input order; unordered, it holds the
 * settled ones in completion order and `#unsettled` the others. `#unfinished` counts the
 * submitted futures not settled: once the input has ended and none is left, the deadline can
 * no longer matter and its timer is stopped.
 * @internal
 */
export class MapResultsIterator<R> implements AsyncIterableIterator<R>, AsyncDisposable {
  readonly #submit: (values: unknown[]) => Future<R>;
  readonly #iterators: AnyIterator[];
  readonly #async: boolean;
  readonly #bufferSize: number;
  readonly #ordered: boolean;
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #action: string;
  readonly #queue = new FifoQueue<Future<R>>();
  readonly #unsettled = new Set<Future<R>>();
  #count = 0;
  #unfinished = 0;
  /** The last result handed out still counts against the buffer (until the next `next()`). */
  #held = false;
  /** No more input is read: it ended, failed, or the map stopped. */
  #inputDone = false;
  /** Thrown once every submitted result has been yielded: the input's error, or submit's. */
  #inputError: { error: unknown } | undefined;
  /** Thrown at once, by one call: the signal's reason. Cleared once the iterator has ended. */
  #aborted: { error: unknown } | undefined;
  /** The deadline passed: thrown once the results done by then have been yielded. */
  #deadline: TimeoutError | undefined;
  /** The consumer is gone: `return()`, an error thrown, or the end. */
  #closed = false;
  /** A call is being served, or calls wait in `#requests`: a new call waits its turn. */
  #busy = false;
  /** The calls waiting, oldest first; the first one is being served. */
  #requests: Request<R>[] = [];
  #pulling = false;
  #listening = false;
  #timer: TimerHandle | undefined;
  #wake: (() => void) | undefined;

  constructor(submit: (values: unknown[]) => Future<R>, iterables: AnyIterable<unknown>[], options: MapOptions, action: string) {
    this.#submit = submit;
    this.#action = action;
    this.#bufferSize = options.bufferSize ?? Infinity;
    this.#ordered = options.ordered ?? true;
    this.#timeout = options.timeout;
    this.#signal = options.signal;
    // As `for await`: an input that is both async and sync iterable is read asynchronously.
    this.#async = iterables.some(isAsyncIterable);
    const iterators: AnyIterator[] = [];
    this.#iterators = iterators;
    try {
      for (const iterable of iterables) {
        iterators.push(isAsyncIterable(iterable) ? iterable[Symbol.asyncIterator]() : (iterable as Iterable<unknown>)[Symbol.iterator]());
      }
    } catch (error) {
      this.#closeInputs(-1); // as zip does: close the inputs opened before the one that failed
      throw error;
    }
    const signal = this.#signal;
    if (signal?.aborted) {
      this.#aborted = { error: signal.reason };
      this.#close();
      return;
    }
    if (signal !== undefined) {
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#listening = true;
    }
    if (this.#timeout !== undefined) this.#timer = startTimer(this.#timeout, this.#onDeadline);
    this.#fill();
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#busy) return this.#call(undefined);
    // Busy while serving: a call made meanwhile (by an input, a task, a signal listener) waits.
    this.#busy = true;
    let promise: Promise<IteratorResult<R>>;
    try {
      const result = this.#step();
      if (result === undefined) {
        // It waits first in line, ahead of any call made meanwhile.
        promise = this.#call(undefined, true);
        void this.#sleep();
        return promise;
      }
      promise = Promise.resolve(result);
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (this.#requests.length === 0) this.#busy = false;
    else {
      // Calls made meanwhile are served once this one has settled, as a generator would.
      void this.#sleep();
      this.#wakeUp();
    }
    return promise;
  }

  /**
   * Cancels what is outstanding at once, even while a `next()` is waiting (it then ends);
   * settles, after the calls made before it, once `value` has (as a generator's does).
   */
  return(value?: unknown): Promise<IteratorResult<R>> {
    this.#close();
    return this.#call(async () => ({ value: (await value) as R, done: true }));
  }

  throw(error?: unknown): Promise<IteratorResult<R>> {
    this.#close();
    return this.#call(() => Promise.reject(error));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  get [Symbol.toStringTag](): string {
    return 'MapResults';
  }

  /** A call served once the calls before it have been (`first`: before every other). */
  #call(end: Request<R>['end'], first?: boolean): Promise<IteratorResult<R>> {
    const request: Request<R> = pDefer();
    request.end = end;
    this.#requests[first ? 'unshift' : 'push'](request);
    if (!this.#busy) {
      this.#busy = true;
      this.#serve();
    }
    return request.promise;
  }

  /**
   * One `next()`: its result, or `undefined` when it must wait; throws what the iterator
   * throws. Once it has thrown or returned `{ done: true }`, the map is closed and every later
   * call returns `{ done: true }`. One turn of an async generator's loop.
   */
  #step(): IteratorResult<R> | undefined {
    if (this.#held) {
      this.#held = false;
      this.#count--;
    }
    try {
      // Reading the input may abort the map (its signal fires meanwhile).
      if (!this.#closed) this.#fill();
      if (this.#aborted !== undefined) throw this.#aborted.error;
      if (!this.#closed) {
        const head = this.#queue.peek();
        if (head !== undefined && head.done()) {
          this.#queue.shift();
          const outcome = internals.outcome(head as Future<unknown>);
          // Cancelled by the deadline: its CancelledError's cause is the map's TimeoutError.
          if (head.cancelled() && this.#deadline !== undefined && (outcome as Error).cause === this.#deadline) throw this.#deadline;
          if (head.state !== 'fulfilled') throw outcome;
          this.#held = true;
          return { value: outcome as R, done: false };
        }
        if (this.#deadline !== undefined) throw this.#deadline;
        if (this.#count !== 0 || !this.#inputDone) return undefined;
        if (this.#inputError !== undefined) throw this.#inputError.error;
      }
    } catch (error) {
      this.#end();
      throw error;
    }
    this.#end();
    return { value: undefined, done: true };
  }

  /** The iterator has ended: from now on, every call is `{ done: true }`. */
  #end(): void {
    this.#aborted = undefined;
    this.#close();
  }

  /** Serves the calls waiting, in order, until one must wait or none is left. */
  #serve(): void {
    const requests = this.#requests;
    for (let request = requests[0]; request !== undefined; request = requests[0]) {
      if (request.end) {
        // `return()` or `throw()`: the iterator ends; the calls after it wait until it has settled.
        requests.shift();
        this.#end();
        request.end().then(
          (result) => {
            request.resolve(result);
            this.#serve();
          },
          (error: unknown) => {
            request.reject(error);
            this.#serve();
          },
        );
        return;
      }
      try {
        const result = this.#step();
        if (result === undefined) {
          void this.#sleep();
          return;
        }
        request.resolve(result);
      } catch (error) {
        request.reject(error);
      }
      requests.shift();
    }
    this.#busy = false;
  }

  /** Waits for a change (a result settles, the input stops, the map stops), then serves again. */
  async #sleep(): Promise<void> {
    await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#serve();
  }

  /** The consumer is gone: cancels what is outstanding, closes the inputs, stops timer and listener. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopInput();
    this.#release();
    for (const future of this.#queue.drain()) future.cancel();
    for (const future of this.#unsettled) future.cancel();
    this.#unsettled.clear();
    this.#count = 0;
    this.#wakeUp();
  }

  readonly #onAbort = (): void => {
    this.#aborted = { error: this.#signal!.reason };
    this.#close();
  };

  /** The deadline: cancels what is not done (with the `TimeoutError`); the rest stays to be yielded. */
  readonly #onDeadline = (): void => {
    this.#stopInput();
    this.#release();
    const error = new TimeoutError(`Cannot ${this.#action} beyond its 'timeout' of ${this.#timeout} ms: ${this.#unfinished} unfinished`);
    this.#deadline = error;
    // Cancelling a future that has settled changes nothing.
    for (const future of [...this.#queue.toArray(), ...this.#unsettled]) future.cancel(error);
    this.#wakeUp();
  };

  readonly #onSettled = (future: Future<R>): void => {
    if (this.#closed) return;
    this.#unfinished--;
    this.#stopTimerIfFinished();
    if (this.#ordered) {
      if (future === this.#queue.peek()) this.#wakeUp();
    } else if (this.#unsettled.delete(future)) {
      this.#queue.push(future);
      this.#wakeUp();
    }
  };

  /** Once the input has ended and every submitted future has settled, nothing can time out. */
  #stopTimerIfFinished(): void {
    if (this.#inputDone && this.#unfinished === 0) cancelTimer(this.#timer);
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #release(): void {
    cancelTimer(this.#timer);
    if (this.#listening) {
      this.#listening = false;
      this.#signal!.removeEventListener('abort', this.#onAbort);
    }
  }

  /** Reads no more input, and closes every input unless that has already happened. */
  #stopInput(): void {
    if (this.#inputDone) return;
    this.#inputDone = true;
    this.#closeInputs(-1);
  }

  /** Submits more work while the buffer allows: synchronously for sync inputs, else via the pump. */
  #fill(): void {
    if (this.#inputDone || this.#count >= this.#bufferSize) return;
    if (this.#async) {
      if (!this.#pulling) void this.#pump();
      return;
    }
    while (this.#count < this.#bufferSize) {
      const values = this.#pullSync();
      if (values === undefined || !this.#submitOne(values)) return;
    }
  }

  async #pump(): Promise<void> {
    this.#pulling = true;
    try {
      while (!this.#inputDone && this.#count < this.#bufferSize) {
        const values = await this.#pullAsync();
        // The map may have stopped in the turn between the read and this line.
        if (values === undefined || this.#inputDone || !this.#submitOne(values)) break;
      }
    } finally {
      this.#pulling = false;
      this.#wakeUp();
    }
  }

  /** The next zipped tuple, or `undefined` when an input ended or failed (or the map stopped). */
  #pullSync(): unknown[] | undefined {
    const iterators = this.#iterators as Iterator<unknown>[];
    const values = new Array<unknown>(iterators.length);
    for (let index = 0; index < iterators.length; index++) {
      let done: boolean | undefined;
      try {
        const step = iterators[index]!.next();
        done = step.done;
        values[index] = step.value;
      } catch (error) {
        this.#inputEnded(index, { error });
        return undefined;
      }
      if (this.#inputDone) return undefined;
      if (done) {
        this.#inputEnded(index, undefined);
        return undefined;
      }
    }
    return values;
  }

  /** As {@link MapRun.#pullSync}, one input after the other (as `zip`: a later input is not read once an earlier one ends). */
  async #pullAsync(): Promise<unknown[] | undefined> {
    const iterators = this.#iterators;
    const values = new Array<unknown>(iterators.length);
    for (let index = 0; index < iterators.length; index++) {
      let done: boolean | undefined;
      try {
        const step = await iterators[index]!.next();
        done = step.done;
        values[index] = step.value;
      } catch (error) {
        if (!this.#inputDone) this.#inputEnded(index, { error });
        return undefined;
      }
      if (this.#inputDone) return undefined;
      if (done) {
        this.#inputEnded(index, undefined);
        return undefined;
      }
    }
    return values;
  }

  #submitOne(values: unknown[]): boolean {
    let future: Future<R>;
    try {
      future = this.#submit(values);
    } catch (error) {
      // The executor was shut down (or broke): yield what was submitted, then throw this.
      this.#inputEnded(-1, { error });
      return false;
    }
    this.#count++;
    this.#unfinished++;
    if (this.#ordered) this.#queue.push(future);
    else this.#unsettled.add(future);
    future.addDoneCallback(this.#onSettled);
    return true;
  }

  /** Input `index` ended (or failed with `failure`; -1: submit failed): closes the other inputs. */
  #inputEnded(index: number, failure: { error: unknown } | undefined): void {
    this.#inputDone = true;
    this.#inputError = failure;
    this.#closeInputs(index);
    this.#stopTimerIfFinished();
    this.#wakeUp();
  }

  /** Calls `return()` on every input but `except`, without waiting and ignoring its errors. */
  #closeInputs(except: number): void {
    this.#iterators.forEach((iterator, index) => {
      if (index === except) return;
      try {
        // An async input's `return()` may reject: nobody waits for it.
        Promise.resolve(iterator.return?.()).catch(ignore);
      } catch {
        // An input that fails while being closed has nothing left to give.
      }
    });
  }
}
