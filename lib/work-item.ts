import { cancellation } from './errors.js';
import { Future, internals, type FutureOwner } from './future.js';
import type { Context } from './internal/async-context.js';
import type { MapItem, MapListener } from './map.js';
import type { TimerHandle } from './internal/timers.js';
import type { CircuitPermit } from './policies/circuit-breaker.js';
import type { RetryPolicy } from './policies/retry.js';
import { keepShape } from './internal/shapes.js';

/** The options in force for a task whose options differ from its executor's plain defaults. @internal */
export interface TaskPolicy {
  /** Milliseconds an attempt may run. */
  readonly timeout: number | undefined;
  /** Milliseconds from the first start for the whole task, attempts and waits included. */
  readonly deadline: number | undefined;
  readonly retry: RetryPolicy | undefined;
}

/** What the policies keep for one task while it lives (made only for a task that needs it). @internal */
export interface ItemState {
  /** The task's options, when they differ from the executor's plain defaults. */
  readonly policy: TaskPolicy | undefined;
  /** Queued tasks start highest priority first (0 for a task without state). */
  readonly priority: number;
  /** The current attempt's timeout timer, or a backoff's timer (a task with a timeout has a state). */
  timer: TimerHandle | undefined;
  /** The last backoff delay ('decorrelated' jitter grows from it). */
  previousDelay: number | undefined;
  deadlineTimer: TimerHandle | undefined;
  /** What the circuit breaker let the running attempt start as. */
  permit: Extract<CircuitPermit, 'start' | 'probe'> | undefined;
  /** Single-flight: the key, and the callers' futures that follow this task. */
  key: string | undefined;
  followers: Set<Future<unknown>> | undefined;
  /** The error of the attempt before, while the task waits to retry: the cause of a start an open breaker refuses. */
  failure: unknown;
}

/** Where a work item is in its life. @internal */
export const Phase = {
  /** In the queue, waiting for a slot (first start or a retry). */
  QUEUED: 0,
  /** An attempt is running in a slot. */
  RUNNING: 1,
  /** Between attempts: waiting out a retry's backoff, holding no slot. */
  BACKOFF: 2,
  /** Settled (or cancelled): nothing more happens to it. */
  DONE: 3,
} as const;

/** One of the {@link Phase} values. @internal */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** The owners and the map of the items kept for their shapes (see internal/shapes.ts), which never run. */
const NO_OWNER: ItemOwner & FutureOwner = { itemCancelled() {}, restEnded() {}, futureCancelled() {} };
const NO_MAP: MapListener = { itemSettled() {}, itemTaken() {}, sourceEnded() {} };

/**
 * One task as a backend sees it in `execute(item)` (CPython's `_WorkItem`): `task` and `args`
 * as given to `schedule`, `attempt`, and `signal`, the current attempt's `AbortSignal`.
 *
 * @example
 * ```ts
 * class InlineExecutor extends Executor {
 *   constructor() {
 *     super(undefined, 4);
 *   }
 *   protected checkTask(task: unknown): void {
 *     if (typeof task !== 'function') throw new TypeError('a task is a function');
 *   }
 *   protected execute(item: WorkItem): unknown {
 *     return (item.task as (signal: AbortSignal) => unknown)(item.signal);
 *   }
 * }
 * ```
 */
export interface WorkItem {
  /** The backend's description of the task (a function, an export's name...). Dropped once done. */
  readonly task: unknown;
  /** The backend's description of its arguments. Dropped once done. */
  readonly args: unknown;
  /**
   * The current attempt, 1-based once started (above 1 only for a task with a `retry` policy).
   *
   * @example
   * ```ts
   * const execute = (item: WorkItem) => console.log(`attempt ${item.attempt} of ${String(item.task)}`);
   * ```
   */
  readonly attempt: number;
  /**
   * The current attempt's signal: aborts on cancellation, on the attempt's timeout and on the deadline.
   *
   * @example
   * ```ts
   * const execute = (item: WorkItem) => fetch(item.task as string, { signal: item.signal });
   * ```
   */
  readonly signal: AbortSignal;
}

/**
 * What the scheduler keeps for one task: the backend's description of it, the async context it
 * was scheduled in, and where it stands (a task item is also the future the caller holds). Per-task options and policies (priority,
 * retry, deadline, breaker permit, single-flight followers...) are kept in `policyState`, which
 * stays `undefined` for the common task that uses none. Two kinds: a {@link TaskItem} (a task
 * of `submit` or `run`, which is its own future) and the items of a `map` call (no future).
 * @internal
 */
export interface Item extends WorkItem {
  /** The async context to run it in (none when it started inside its `schedule` call). */
  readonly context: Context;
  phase: Phase;
  attempt: number;
  /** Its options and what the policies keep for it: only for a task that has any. */
  policyState: ItemState | undefined;
  /** Aborts the current attempt's signal with `reason`. */
  abortAttempt(reason: unknown): void;
  /** Done: keeps nothing of the task (its function, its arguments, its context). */
  release(): void;
  /** Cancels the task (as `future.cancel()`). */
  cancel(reason?: unknown): boolean;
}

/** Future's constructor, which only the scheduler's own futures call. */
const FutureOf = Future as unknown as new (owner: FutureOwner) => Future<unknown>;

/**
 * A task of `submit` or `run`: its own future. One object per queued task rather than a
 * future and a record beside it: a queued task costs a header and two references less (40 B);
 * its phase and attempt share the future's state field.
 * What the scheduler keeps is in private fields, read through accessors that the futures of
 * other sources (`Future.from`, single-flight followers) do not have.
 * The future's owner is its executor (it hears of a cancellation); for a single-flight
 * follower, the item is the owner.
 * @internal
 */
export class TaskItem extends FutureOf implements Item, FutureOwner {
  static {
    // One item kept for good, made as every other one is: see internal/shapes.ts.
    keepShape(new TaskItem(undefined, undefined, undefined, NO_OWNER));
  }
  #task: unknown;
  #args: unknown;
  #context: Context;
  #policyState: ItemState | undefined;

  constructor(task: unknown, args: unknown, context: Context, owner: FutureOwner) {
    super(owner);
    this.#task = task;
    this.#args = args;
    this.#context = context;
  }

  get task(): unknown {
    return this.#task;
  }

  get args(): unknown {
    return this.#args;
  }

  get context(): Context {
    return this.#context;
  }

  release(): void {
    this.#task = this.#args = this.#context = undefined;
  }

  // Its phase and attempt are kept in the future's own state field, as `attempt * 4 + phase`
  // (arithmetic rather than shifts, so that no attempt count overflows 32 bits).

  get phase(): Phase {
    return (internals.progress(this) & 3) as Phase;
  }

  set phase(phase: Phase) {
    const progress = internals.progress(this);
    internals.setProgress(this, progress - (progress & 3) + phase);
  }

  override get attempt(): number {
    const progress = internals.progress(this);
    return (progress - (progress & 3)) / 4;
  }

  override set attempt(attempt: number) {
    internals.setProgress(this, attempt * 4 + (internals.progress(this) & 3));
  }

  get policyState(): ItemState | undefined {
    return this.#policyState;
  }

  set policyState(state: ItemState | undefined) {
    this.#policyState = state;
  }

  abortAttempt(reason: unknown): void {
    internals.abortAttempt(this, reason);
  }

  /** The executor's name, for the messages of its single-flight followers' errors. */
  get executorName(): string | undefined {
    return internals.owner(this)?.executorName;
  }

  /** A single-flight follower of this task was cancelled: its executor hears of it. */
  futureCancelled(follower: Future<unknown>, _wasRunning: boolean, error: unknown): void {
    (internals.owner(this) as unknown as ItemOwner).itemCancelled(this, follower, error);
  }
}

// Promises derived from it (`then`...) are plain ones, and `await` takes the native fast path: as for Future.
TaskItem.prototype.constructor = Promise;

/** How a {@link MapWorkItem} ended. @internal */
export const Settled = {
  NOT_YET: 0,
  FULFILLED: 1,
  REJECTED: 2,
  CANCELLED: 3,
} as const;

/** One of the {@link Settled} values. @internal */
export type Settled = (typeof Settled)[keyof typeof Settled];

/** What work items tell their executor. @internal */
export interface ItemOwner {
  /** The name of the executor, for the messages of its items' errors. */
  readonly executorName?: string;
  /** An item was cancelled: through its future (`future`), or a map item (no future). */
  itemCancelled(item: Item, future: Future<unknown> | undefined, error: unknown): void;
  /** `count` queued tasks of a map source were cancelled, or failed. */
  restEnded(count: number, cancelled: boolean): void;
}

/**
 * What a map item and a map source have in common: the scheduler's fields, an outcome the map
 * reads, and one listener. No future: nobody but the map sees the outcome.
 */
abstract class MapHandle implements Item, MapItem {
  task: unknown;
  args: unknown;
  context: Context;
  phase: Phase = Phase.QUEUED;
  attempt = 0;
  policyState: ItemState | undefined;
  /** Its executor: hears of a cancellation. */
  readonly owner: ItemOwner;
  /** Once settled: the value, the error or the `CancelledError`. */
  outcome: unknown;
  settled: Settled = Settled.NOT_YET;
  /** Where its map keeps it. */
  position = 0;
  /** Its map, once it has asked: told once, when it settles. */
  #listener: MapListener | undefined;
  /** Made when the task reads its signal, or when an attempt is aborted (a source never runs: it has none). */
  #controller: AbortController | undefined;

  constructor(task: unknown, args: unknown, context: Context, owner: ItemOwner) {
    this.task = task;
    this.args = args;
    this.context = context;
    this.owner = owner;
  }

  release(): void {
    this.task = this.args = this.context = undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.settled === Settled.CANCELLED) this.#controller.abort(this.outcome);
    }
    return this.#controller.signal;
  }

  /** Another attempt starts: the next read of `signal` gives a fresh one. */
  newAttempt(): void {
    if (this.settled === Settled.NOT_YET) this.#controller = undefined;
  }

  abortAttempt(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }

  /** Aborts the signal, if somebody has asked for it, as the item is cancelled with `error`. */
  protected abortSignal(error: unknown): void {
    this.#controller?.abort(error);
  }

  abstract cancel(reason?: unknown): boolean;

  done(): boolean {
    return this.settled !== Settled.NOT_YET;
  }

  whenDone(listener: MapListener): void {
    if (this.settled !== Settled.NOT_YET) this.notify(listener);
    else this.#listener = listener;
  }

  /** Tells its map that it has settled. */
  protected abstract notify(listener: MapListener): void;

  /** Settles as `settled` with `outcome`; `tell` (the executor) hears of it before the map. */
  protected end(settled: Settled, outcome: unknown, tell?: () => void): void {
    this.settled = settled;
    this.outcome = outcome;
    tell?.();
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) this.notify(listener);
  }
}

/**
 * A task of a `map` call: nobody but the map sees its outcome, so it has no future. It is its
 * own handle for the map (a {@link MapItem}): it keeps its outcome and tells the map once,
 * when it settles. It has no key, signal or deadline of its own (the map has them); the
 * executor's policies (retry, timeout, rate limit, breaker) apply to it as to any task.
 * @internal
 */
export class MapWorkItem extends MapHandle {
  static {
    // See internal/shapes.ts.
    keepShape(new MapWorkItem(undefined, undefined, undefined, NO_OWNER));
  }
  protected notify(listener: MapListener): void {
    listener.itemSettled(this);
  }

  /** The first attempt starts (nothing to do: `phase` and `attempt` say it). */
  start(): void {}

  /** Settles with the outcome of the last attempt, and tells the map. */
  settle(fulfilled: boolean, outcome: unknown): void {
    if (this.settled === Settled.NOT_YET) this.end(fulfilled ? Settled.FULFILLED : Settled.REJECTED, outcome);
  }

  /** As `future.cancel()`: the executor hears of it (as from a future), then the map. */
  cancel(reason?: unknown): boolean {
    if (this.settled !== Settled.NOT_YET) return this.settled === Settled.CANCELLED;
    const error = cancellation(reason, this.attempt !== 0, this.owner.executorName);
    this.end(Settled.CANCELLED, error, () => {
      this.abortSignal(error);
      this.owner.itemCancelled(this, undefined, error);
    });
    return true;
  }
}

/** The `args` of a {@link MapSource}: how the start gate tells one from a task. @internal */
export const MAP_SOURCE: unique symbol = Symbol('map source');

export class MapSource extends MapHandle {
  /** The tasks' arguments, from `next` on those not yet taken: tuples, or with `arity` 1 the arguments themselves. */
  #tuples: unknown[] | undefined;
  readonly #arity: number;
  #next = 0;
  /** Told of each item as it is taken, before it starts. */
  readonly #map: MapListener;

  /** @internal */
  constructor(task: unknown, tuples: unknown[], arity: number, context: Context, owner: ItemOwner, map: MapListener) {
    super(task, MAP_SOURCE, context, owner);
    this.#tuples = tuples;
    this.#arity = arity;
    this.#map = map;
  }

  protected notify(listener: MapListener): void {
    listener.sourceEnded(this);
  }

  /** How many tasks are not yet taken (0 once settled). */
  get remaining(): number {
    return this.#tuples === undefined ? 0 : this.#tuples.length - this.#next;
  }

  /** Takes the next task: its work item, told to the map first. The source must have one left. */
  take(): MapWorkItem {
    const tuples = this.#tuples!;
    const entry = tuples[this.#next];
    tuples[this.#next++] = undefined;
    // A one-argument task keeps its argument alone while queued: the array is made as it starts.
    const item = new MapWorkItem(this.task, this.#arity === 1 ? [entry] : (entry as unknown[]), this.context, this.owner);
    if (this.#next === tuples.length) this.#drop();
    this.#map.itemTaken(item);
    return item;
  }

  /** Cancels every task not yet taken (the items taken are the map's to cancel). */
  cancel(reason?: unknown): boolean {
    if (this.settled !== Settled.NOT_YET) return this.settled === Settled.CANCELLED;
    if (this.remaining === 0) return false;
    this.#endRest(Settled.CANCELLED, cancellation(reason, false, this.owner.executorName));
    return true;
  }

  /** Fails every task not yet taken with `error` (a broken executor). */
  fail(error: unknown): void {
    if (this.settled === Settled.NOT_YET && this.remaining !== 0) this.#endRest(Settled.REJECTED, error);
  }

  /** The executor hears (with how many tasks it ends) before the map. */
  #endRest(settled: Settled, outcome: unknown): void {
    const count = this.remaining;
    this.#drop();
    this.end(settled, outcome, () => this.owner.restEnded(count, settled === Settled.CANCELLED));
  }

  /** Holds no task any more: out of the queue (or a stale entry there). */
  #drop(): void {
    this.#tuples = undefined;
    this.phase = Phase.DONE;
    this.task = this.context = undefined;
  }

  static {
    // See internal/shapes.ts: its one task taken, its phase has changed (as a map's source's does at its end).
    const source = new MapSource(undefined, [undefined], 1, undefined, NO_OWNER, NO_MAP);
    source.take();
    keepShape(source);
  }
}
