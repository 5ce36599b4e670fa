import { TimeoutError } from './errors.js';
import { FifoQueue, compactInPlace } from './internal/queue.js';
import { Settled } from './work-item.js';
import { cancelTimer, startTimer, type TimerHandle } from './internal/timers.js';
import { checkBoolean, checkOptions, checkPositiveInteger, checkSignal, checkTimeout, fail, isSyncIterable, type OptionChecks } from './internal/validate.js';
import { keepShape, newList } from './internal/shapes.js';

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

/**
 * What `map` keeps of one submitted item: the executors' map work items are one (they have
 * no future), and a future is seen through a {@link FutureItem}.
 * @internal
 */
export interface MapItem {
  /** How it ended, once done. */
  readonly settled: Settled;
  /** Once settled: the value, the error or the `CancelledError`. */
  readonly outcome: unknown;
  done(): boolean;
  /** As `future.cancel(reason)`. */
  cancel(reason?: unknown): boolean;
  /** Tells `map` once it has settled (at once if it has). One map per item. */
  whenDone(map: MapListener): void;
  /** Where the map keeps it (set by the map). */
  position: number;
}

/** Compacted once this many positions have been yielded and they are half of what is kept. */
const COMPACT_AT = 1024;

/**
 * An ordered map's items in input order, from the next to yield on. An item that fulfils gives
 * its place to its value: a map whose consumer lags behind keeps values, not items.
 */
class InputOrder {
  /** The item of each position, `undefined` once it fulfilled (its value is then in `#values`). */
  #items: (MapItem | undefined)[] = newList();
  #values: unknown[] = newList();
  /** The next position to yield, in the arrays. */
  #head = 0;
  /** The position of the arrays' first element. */
  #base = 0;

  push(item: MapItem): void {
    item.position = this.#base + this.#items.length;
    this.#items.push(item);
    this.#values.push(undefined);
  }

  /** `item` settled: a value takes its place. Whether it is next to yield. */
  settled(item: MapItem): boolean {
    const index = item.position - this.#base;
    if (item.settled === Settled.FULFILLED) {
      this.#items[index] = undefined;
      this.#values[index] = item.outcome;
    }
    return index === this.#head;
  }

  /** Whether the next to yield is a value. */
  headFulfilled(): boolean {
    return this.#head < this.#items.length && this.#items[this.#head] === undefined;
  }

  /** The next item to yield, unless it fulfilled (or there is none). */
  head(): MapItem | undefined {
    // Not read past the end (see FifoQueue.peek).
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Takes the next position: its value, if it fulfilled. */
  shift(): unknown {
    const head = this.#head;
    const value = this.#values[head];
    this.#items[head] = undefined;
    this.#values[head] = undefined;
    this.#head = head + 1;
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) {
      // In place: the arrays stay the same objects (see compactInPlace).
      compactInPlace(this.#items, this.#head);
      compactInPlace(this.#values, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return value;
  }

  /** The items not yet yielded that have not fulfilled. */
  items(): MapItem[] {
    return this.#items.slice(this.#head).filter((item) => item !== undefined);
  }

  /** {@link InputOrder.items}, and nothing is kept any more. */
  drain(): MapItem[] {
    const items = this.items();
    this.#base += this.#items.length;
    this.#items.length = this.#values.length = 0;
    this.#head = 0;
    return items;
  }

  static {
    // See internal/shapes.ts: drained, its base has changed (as a map's does at its end).
    const order = new InputOrder();
    order.push({ position: 0 } as MapItem);
    order.drain();
    keepShape(order);
  }
}

/**
 * What a map hears from the items it submitted. Methods of the map, not closures: see
 * internal/shapes.ts (a closure made per map and called per task would take the optimized
 * code along when it is collected).
 * @internal
 */
export interface MapListener {
  /** An item settled. */
  itemSettled(item: MapItem): void;
  /** A task of the source starts: its own item, in input order. */
  itemTaken(item: MapItem): void;
  /** The tasks the source still held were cancelled or failed, all at once. */
  sourceEnded(source: MapItem): void;
}

/** What a map submits its tasks through. @internal */
export interface MapTasks {
  /** Submits one task: its handle. */
  submit(values: unknown[]): MapItem;
  /**
   * Submits every task at once (sync inputs, no `bufferSize`): one handle for the tasks not yet
   * started, each task's own handle given to `map.itemTaken` as it starts, in input order.
   * That one handle settles only when the tasks it still holds are cancelled or fail.
   */
  submitAll?(tuples: unknown[], arity: number, map: MapListener): MapItem;
}

const MAP_OPTIONS: OptionChecks = { bufferSize: checkPositiveInteger, timeout: checkTimeout, signal: checkSignal, ordered: checkBoolean };

/** A plain array's own iteration (taken at load: an array that has another is read through it). */
const ARRAY_VALUES = Array.prototype[Symbol.iterator];
/** Stands for the iterator of an array read by index: at its end already. */
const READ: Iterator<unknown> = ARRAY_VALUES.call([]);

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isIterable(value: unknown): boolean {
  return isSyncIterable(value) || isAsyncIterable(value);
}

function ignore(): void {}

const resolved = Promise.resolve();

/** Calls `callback` from a microtask: a promise job, which costs less than Node's `queueMicrotask` (an async resource each). */
function later(callback: () => void): void {
  void resolved.then(callback);
}

/**
 * Splits `map(fn, ...iterables, options?)`'s rest arguments and checks the iterables. None is
 * fine: there is nothing to zip, so the map yields nothing (as Python's `map(fn)` and `zip()`).
 * @internal
 */
export function splitMapArguments(rest: unknown[], action: string): { iterables: AnyIterable<unknown>[]; options: MapOptions | undefined } {
  const last = rest.at(-1);
  // A last argument that is an object but not iterable is the options; so is `undefined` after
  // an input (options left out), but not alone: `map(fn, undefined)` is an input that is missing
  // (Python's `executor.map(fn, None)` raises too), not a map over nothing.
  const hasOptions = last === undefined ? rest.length !== 1 : typeof last === 'object' && last !== null && !isIterable(last);
  const iterables = hasOptions ? rest.slice(0, -1) : rest;
  iterables.forEach((iterable, index) => isIterable(iterable) || fail(TypeError, 'an iterable or async iterable', action, `iterables[${index}]`, iterable));
  return { iterables: iterables as AnyIterable<unknown>[], options: hasOptions ? (last as MapOptions | undefined) : undefined };
}

/**
 * Runs the tasks over zipped inputs and yields their outcomes in input or completion order,
 * keeping at most `bufferSize` submitted and not yet yielded: the `Executor` base's `map`, for
 * every backend (items that are their own handles); with `tasks.submitAll`, a sync input
 * without `bufferSize` is submitted at once. `action` names the call in messages ("map over
 * executor 'x'"); `assertOpen`, called once the arguments are valid, throws when the executor
 * takes no work. A backend whose `submit` gives futures: map-futures.ts.
 * @internal
 */
export function mapWorkItems<R>(tasks: MapTasks, iterables: AnyIterable<unknown>[], options: MapOptions | undefined, action: string, assertOpen?: () => void): MapResults<R> {
  const checked = checkOptions(options, MAP_OPTIONS, action);
  assertOpen?.();
  return new MapResultsIterator(tasks, iterables, checked, action);
}

/** A call of `next()`, `return()` or `throw()`; `end` (for the last two) ends the iterator and gives the call's outcome. */
interface Call<T> {
  readonly promise: Promise<IteratorResult<T>>;
  readonly resolve: (result: IteratorResult<T>) => void;
  readonly reject: (error: unknown) => void;
  end: (() => Promise<IteratorResult<T>>) | undefined;
}

let capturedResolve: ((result: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function capture(resolve: (result: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A call with its promise and that promise's resolving functions (no closure of its own). */
function newCall<T>(end: Call<T>['end']): Call<T> {
  const promise = new Promise<IteratorResult<T>>(capture as never);
  const call: Call<T> = { promise, resolve: capturedResolve!, reject: capturedReject!, end };
  capturedResolve = capturedReject = undefined;
  return call;
}

// See internal/shapes.ts: a call's shape (an object literal's) lasts as long as one call does.
keepShape(newCall(undefined));

/** Stands for a `next()` being served at once, until it must wait. */
const SERVING = {} as Call<unknown>;

/**
 * The iterator `map()` returns, and the state of that call.
 *
 * Calls are served one after the other, in the order they were made, as by an async
 * generator, without a generator's cost: a call is served at once when none is before it, so
 * a `next()` whose result is ready settles at once; one that must wait sleeps until a result
 * settles, the input stops, or the map is stopped (deadline, signal, `return()`), and the
 * calls made meanwhile wait behind it. `#step()` is one turn of the generator's loop.
 *
 * `#count` is the number of tasks submitted and not yet yielded, where an item counts as
 * yielded once the consumer asks for the next one: then the bound holds for any observer,
 * the consumer included (CPython 3.14 lets one more in).
 *
 * Ordered, `#queue` holds every submitted item in input order; unordered, it holds the
 * settled ones in completion order and `#unsettled` the others. `#unfinished` counts the
 * submitted items not settled: once the input has ended and none is left, the deadline can
 * no longer matter and its timer is stopped.
 *
 * The map listens to its signal only while something is under way (a task, or a read; a
 * call waits only for these): a map its consumer dropped then holds nothing on a long-lived
 * signal, and can be collected with its results. An abort meanwhile is seen by the next call.
 * @internal
 */
export class MapResultsIterator<R> implements AsyncIterableIterator<R>, AsyncDisposable, MapListener {
  readonly #tasks: MapTasks;
  /** The tasks submitted at once: the handle of those not yet started. */
  #source: MapItem | undefined;
  /** How many tasks the source holds (not yet started, not settled). */
  #sourceLeft = 0;
  /** The tuples read by a fill that submits them all at once, until it does. */
  #batch: unknown[] | undefined;
  readonly #iterators: AnyIterator[];
  /** The one input, when it is an array read all at once by index (#fillAll), until it is read. */
  #array: unknown[] | undefined;
  readonly #async: boolean;
  readonly #bufferSize: number;
  readonly #ordered: boolean;
  readonly #timeout: number | undefined;
  /** Unset once the map no longer watches it (it closed, or the deadline passed). */
  #signal: AbortSignal | undefined;
  readonly #action: string;
  /** Ordered: the items in input order. */
  readonly #order = new InputOrder();
  /** Unordered: the settled items in completion order, and the others. */
  readonly #queue = new FifoQueue<MapItem>();
  readonly #unsettled = new Set<MapItem>();
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
  /** Inputs are being read synchronously. */
  #filling = false;
  /** An async input's step is awaited. */
  #pulling = false;
  #listening = false;
  #timer: TimerHandle | undefined;
  /** The calls not yet settled, oldest first; the first one is being served. */
  readonly #calls: Call<R>[] = newList();
  /** The first call waits for `#wake()`. */
  #asleep = false;

  constructor(tasks: MapTasks, iterables: AnyIterable<unknown>[], options: MapOptions, action: string) {
    this.#tasks = tasks;
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
        if (isAsyncIterable(iterable)) iterators.push(iterable[Symbol.asyncIterator]());
        else {
          const iterate = (iterable as Iterable<unknown>)[Symbol.iterator];
          // Read by index (#fillAll): no iterator of its own, which would keep the array.
          if (iterables.length === 1 && iterate === ARRAY_VALUES && Array.isArray(iterable) && this.#readsAll()) {
            this.#array = iterable;
            iterators.push(READ);
          } else iterators.push(iterate.call(iterable));
        }
      }
    } catch (error) {
      this.#closeInputs(-1); // as zip does: close the inputs opened before the one that failed
      throw error;
    }
    // Zipping no input at all gives nothing.
    this.#inputDone = !iterators.length;
    // An already aborted signal closes the map at once: nothing is submitted.
    this.#listen();
    if (this.#closed) return;
    if (this.#timeout !== undefined && !this.#inputDone) this.#timer = startTimer(this.#timeout, this.#onDeadline);
    this.#fill();
  }

  next(): Promise<IteratorResult<R>> {
    const calls = this.#calls;
    if (calls.length !== 0) return this.#call(undefined);
    // The common turn, as `#step` takes it: every task submitted, the next result a value.
    if (this.#inputDone && this.#ordered && !this.#closed && this.#order.headFulfilled() && this.#signal?.aborted !== true) {
      if (!this.#held) this.#held = true;
      else this.#count--;
      return Promise.resolve({ value: this.#order.shift() as R, done: false });
    }
    // Nothing before it: served at once, and a result that is ready settles it without a
    // pending promise. Calls made meanwhile wait behind it, and are served once it has settled.
    calls.push(SERVING as Call<R>);
    let promise: Promise<IteratorResult<R>>;
    try {
      const result = this.#step();
      promise = result ? Promise.resolve(result) : ((this.#asleep = true), (calls[0] = newCall<R>(undefined)).promise);
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (!this.#asleep && calls.shift() && calls.length) later(this.#serveLater);
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

  #call(end: Call<R>['end']): Promise<IteratorResult<R>> {
    const call = newCall<R>(end);
    // A call made while another is served (by an input, a task, a listener) waits its turn.
    if (this.#calls.push(call) === 1) this.#serve();
    return call.promise;
  }

  /** Serves the calls, in order, until one must wait or none is left. */
  #serve(): void {
    const calls = this.#calls;
    for (let call = calls[0]; call !== undefined; call = calls[0]) {
      if (call.end !== undefined) {
        // `return()` or `throw()`: the iterator ends; the calls after it wait until it has settled.
        this.#end();
        call.end().then(call.resolve, call.reject).then(() => {
          calls.shift();
          this.#serve();
        });
        return;
      }
      try {
        const result = this.#step();
        if (result === undefined) {
          this.#asleep = true;
          return;
        }
        call.resolve(result);
      } catch (error) {
        call.reject(error);
      }
      calls.shift();
    }
  }

  /** {@link #serve} for a microtask (direct calls go to the method: see internal/shapes.ts). */
  readonly #serveLater = (): void => this.#serve();

  /** Something changed (a result settled, the input stopped, the map stopped): serves the call that sleeps. */
  #wake(): void {
    if (!this.#asleep) return;
    this.#asleep = false;
    later(this.#serveLater);
  }

  /**
   * One `next()`: its result, or `undefined` when it must wait; throws what the iterator
   * throws. One turn of an async generator's loop.
   */
  #step(): IteratorResult<R> | undefined {
    if (this.#held) {
      this.#held = false;
      this.#count--;
    }
    try {
      // The signal aborted while the map was not listening.
      if (this.#signal?.aborted) this.#onAbort();
      // Reading the input may abort the map (its signal fires meanwhile).
      if (!this.#closed && !this.#inputDone) this.#fill();
      if (this.#aborted !== undefined) throw this.#aborted.error;
      if (!this.#closed) {
        const order = this.#order;
        if (this.#ordered && order.headFulfilled()) {
          this.#held = true;
          return { value: order.shift() as R, done: false };
        }
        // Ordered, the tasks the source still holds come after every started one (the head is
        // not a value here: without an item, no position is left).
        const head = this.#ordered ? (order.head() ?? this.#source) : this.#queue.peek();
        if (head !== undefined && head.done()) {
          if (!this.#ordered) this.#queue.shift();
          else if (head !== this.#source) order.shift();
          const { outcome, settled } = head;
          // Cancelled by the deadline: its CancelledError's cause is the map's TimeoutError.
          if (settled === Settled.CANCELLED && this.#deadline !== undefined && (outcome as Error).cause === this.#deadline) throw this.#deadline;
          if (settled !== Settled.FULFILLED) throw outcome;
          this.#held = true;
          return { value: outcome as R, done: false };
        }
        if (this.#deadline !== undefined) throw this.#deadline;
        // Something is under way (a task or a read): the map listens to its signal.
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

  /** The consumer is gone: cancels what is outstanding, closes the inputs, stops timer and listener. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#source?.cancel();
    for (const item of [...this.#order.drain(), ...this.#queue.drain(), ...this.#unsettled]) item.cancel();
    this.#unsettled.clear();
    this.#wake();
  }

  readonly #onAbort = (): void => {
    this.#aborted = { error: this.#signal!.reason };
    this.#close();
  };

  /** The deadline: cancels what is not done (with the `TimeoutError`); the rest stays to be yielded. */
  readonly #onDeadline = (): void => {
    this.#stop();
    const error = new TimeoutError(`Cannot ${this.#action} beyond its 'timeout' of ${this.#timeout} ms: ${this.#unfinished} unfinished`);
    this.#deadline = error;
    // Cancelling an item that has settled changes nothing.
    this.#source?.cancel(error);
    for (const item of [...this.#order.items(), ...this.#queue.toArray(), ...this.#unsettled]) item.cancel(error);
    this.#wake();
  };

  /** An item settled. @internal */
  itemSettled(item: MapItem): void {
    if (this.#closed) return;
    if (!--this.#unfinished) {
      // Once the input has ended and every submitted item has settled, nothing can time out.
      if (this.#inputDone) cancelTimer(this.#timer);
      this.#idle();
    }
    if (this.#ordered) {
      if (!this.#order.settled(item) || !this.#asleep) return;
      // The sleeping call's result is a value now, and nothing is left to read: it is settled
      // here (its caller resumes from a microtask all the same) rather than from a turn of its own.
      if (this.#inputDone && this.#order.headFulfilled()) {
        this.#asleep = false;
        this.#serve();
      } else this.#wake();
    } else if (this.#unsettled.delete(item)) {
      this.#queue.push(item);
      this.#wake();
    }
  }

  /** A task of the source starts: the map holds it from now on, as if submitted alone. @internal */
  itemTaken(item: MapItem): void {
    this.#sourceLeft--;
    if (this.#ordered) this.#order.push(item);
    else this.#unsettled.add(item);
    item.whenDone(this);
  }

  /** The tasks the source still held were cancelled or failed, all at once. @internal */
  sourceEnded(source: MapItem): void {
    if (this.#closed) return;
    this.#unfinished -= this.#sourceLeft;
    this.#sourceLeft = 0;
    if (!this.#unfinished) {
      if (this.#inputDone) cancelTimer(this.#timer);
      this.#idle();
    }
    // Unordered, they come after the results settled so far; ordered, after every started task.
    if (!this.#ordered) this.#queue.push(source);
    this.#wake();
  }

  /** Listens to the signal (something is under way), or takes its abort that came meanwhile. */
  #listen(): void {
    const signal = this.#signal;
    if (signal === undefined || this.#listening) return;
    if (signal.aborted) return this.#onAbort();
    this.#listening = true;
    signal.addEventListener('abort', this.#onAbort);
  }

  /** Stops listening once nothing is under way (`always`: in any case). */
  #idle(always?: boolean): void {
    if (this.#listening && (always || (this.#unfinished === 0 && !this.#filling && !this.#pulling))) {
      this.#listening = false;
      this.#signal!.removeEventListener('abort', this.#onAbort);
    }
  }

  /**
   * Stops the timer and the listener, reads no more input, and closes every input unless that
   * has already happened.
   */
  #stop(): void {
    cancelTimer(this.#timer);
    this.#idle(true);
    this.#signal = undefined;
    if (this.#inputDone) return;
    this.#inputDone = true;
    this.#closeInputs(-1);
  }

  /** Submits more work while the buffer allows and the inputs give their items at once. */
  #fill(): void {
    this.#filling = true;
    if (this.#readsAll()) this.#fillAll(this.#tasks);
    else {
      while (!this.#inputDone && !this.#pulling && this.#count < this.#bufferSize) {
        const values = this.#read(0, new Array<unknown>(this.#iterators.length));
        if (values === undefined || !this.#submitOne(values)) break;
      }
    }
    this.#filling = false;
    this.#idle();
  }

  /**
   * Reads a plain array as its iterator would: the length at every step (a getter may change
   * it), until the map stops. A method of its own, so that the long loop over a large array is
   * compiled alone, without the submission around it.
   */
  #copy(array: readonly unknown[], tuples: unknown[]): void {
    for (let index = 0; index < array.length; index++) {
      const value = array[index];
      if (this.#inputDone) return;
      tuples.push(value);
    }
  }

  /** Whether the inputs are read to their end and every task submitted at once (#fillAll). */
  #readsAll(): boolean {
    return this.#tasks.submitAll !== undefined && !this.#async && this.#bufferSize === Infinity;
  }

  /**
   * Sync inputs without a bound: reads them to the end, then submits every task at once (the
   * executor then keeps their arguments and nothing else until each starts).
   */
  #fillAll(tasks: MapTasks): void {
    if (this.#inputDone) return;
    // One input: its items alone, not in tuples (the executor keeps them so while they are queued).
    const arity = this.#iterators.length;
    const tuples: unknown[] = newList();
    this.#batch = tuples;
    const one = arity === 1 ? [undefined] : undefined;
    const array = this.#array;
    if (array !== undefined) {
      this.#array = undefined;
      let failure: { error: unknown } | undefined;
      try {
        this.#copy(array, tuples);
      } catch (error) {
        failure = { error };
      }
      if (!this.#inputDone) this.#inputEnded(0, failure);
    } else {
      for (;;) {
        const values = this.#read(0, one ?? new Array<unknown>(arity));
        if (values === undefined) break;
        tuples.push(one === undefined ? values : values[0]);
      }
    }
    this.#batch = undefined;
    if (tuples.length === 0) return;
    let source: MapItem;
    try {
      source = tasks.submitAll!(tuples, arity, this);
    } catch (error) {
      // Shut down (or broken) while the input was read: thrown once the results are yielded.
      this.#inputError = { error };
      if (!this.#unfinished) cancelTimer(this.#timer);
      this.#wake();
      return;
    }
    if (this.#closed) {
      // Stopped while reading (its signal aborted): what was read is cancelled, as if submitted
      // one by one, as #close cancels (nothing has gone into #queue since: the map is closed).
      source.cancel();
      for (const item of [...this.#order.drain(), ...this.#queue.drain(), ...this.#unsettled]) item.cancel();
      this.#unsettled.clear();
      return;
    }
    this.#source = source;
    this.#count += tuples.length;
    this.#unfinished += tuples.length;
    this.#sourceLeft += tuples.length;
    this.#listen();
    source.whenDone(this);
  }

  /**
   * Reads the inputs from `index` on into `values`, one after the other (as `zip`: a later
   * input is not read once an earlier one has ended). Gives the tuple once complete, or
   * `undefined` when an input ended or failed, or when a step is awaited: an async map awaits
   * every step (as `for await`), then reads on, submits the tuple and fills the buffer.
   */
  #read(index: number, values: unknown[]): unknown[] | undefined {
    const iterators = this.#iterators;
    for (; index < iterators.length; index++) {
      let step: unknown;
      try {
        step = iterators[index]!.next();
      } catch (error) {
        this.#took(index, values, undefined, { error });
        return undefined;
      }
      if (this.#async) {
        this.#pulling = true;
        this.#listen();
        Promise.resolve(step).then(
          (step) => this.#readOn(index, values, step, undefined),
          (error: unknown) => this.#readOn(index, values, undefined, { error }),
        );
        return undefined;
      }
      if (!this.#took(index, values, step, undefined)) return undefined;
    }
    return values;
  }

  /** An awaited step has come: reads on, submits, fills; wakes the waiting call once reading stops. */
  #readOn(index: number, values: unknown[], step: unknown, failure: { error: unknown } | undefined): void {
    this.#pulling = false;
    if (this.#took(index, values, step, failure)) {
      const tuple = this.#read(index + 1, values);
      if (tuple !== undefined && this.#submitOne(tuple)) this.#fill();
    }
    if (!this.#pulling) {
      this.#idle();
      this.#wake();
    }
  }

  /**
   * Takes input `index`'s step (or its `failure`) into `values`: whether the tuple goes on.
   * A step that is not an object is a `TypeError`, as `for...of` throws.
   */
  #took(index: number, values: unknown[], step: unknown, failure: { error: unknown } | undefined): boolean {
    // The map may have stopped while this input was read.
    if (this.#inputDone) return false;
    try {
      if (failure !== undefined) throw failure.error;
      if (Object(step) !== step) fail(TypeError, 'an object', this.#action, `iterables[${index}].next()`, step);
      if (!(step as IteratorResult<unknown>).done) {
        values[index] = (step as IteratorResult<unknown>).value;
        return true;
      }
    } catch (error) {
      failure = { error };
    }
    this.#inputEnded(index, failure);
    return false;
  }

  #submitOne(values: unknown[]): boolean {
    let item: MapItem;
    try {
      item = this.#tasks.submit(values);
    } catch (error) {
      // The executor was shut down (or broke): yield what was submitted, then throw this.
      this.#inputEnded(-1, { error });
      return false;
    }
    this.#count++;
    this.#unfinished++;
    if (this.#ordered) this.#order.push(item);
    else this.#unsettled.add(item);
    this.#listen();
    item.whenDone(this);
    return true;
  }

  /** Input `index` ended (or failed with `failure`; -1: submit failed): closes the other inputs. */
  #inputEnded(index: number, failure: { error: unknown } | undefined): void {
    this.#inputDone = true;
    this.#inputError = failure;
    this.#closeInputs(index);
    // Nothing is read any more: what the iterators hold (a generator its arguments) is let go.
    this.#iterators.length = 0;
    // Tuples read by this fill are about to be submitted: the deadline still applies to them.
    if (!this.#unfinished && !this.#batch?.length) cancelTimer(this.#timer);
    this.#wake();
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

  static {
    // See internal/shapes.ts: ended, the fields that change as a map ends have changed.
    const iterator = new MapResultsIterator({ submit: () => undefined as never }, [], {}, 'map over nothing');
    void iterator.return();
    keepShape(iterator);
  }
}
