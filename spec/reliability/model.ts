/**
 * The model side of generated programs: a record of every task (what it was told to do,
 * what it did, how its future settled), an executor probe that reports every submission and
 * every start, and the invariants checked at each settlement, each start and each quiet moment.
 *
 * Checks made inside callbacks cannot throw (a done-callback's error would be reported and
 * swallowed by design), so they collect {@link Violation}s that the driver throws at the next
 * quiet moment.
 */
import { CancelledError, TaskPoolExecutor, TimeoutError, type ExecutorOptions, type Future, type RunOptions, type TaskContext } from '../../lib/index.js';
import { internals } from '../../lib/future.js';
import { MapWorkItem, Settled, type MapSource, type WorkItem } from '../../lib/work-item.js';
import type { MapListener } from '../../lib/map.js';
import type { FakeClock } from './clock.js';
import type { ReasonKind, TaskKind, TaskSpec, ValueKind } from './program.js';

/** A broken invariant. */
export class Violation extends Error {
  override name = 'Violation';
}

/** Node's rule for timers, which the fake clock follows: a delay below 1 ms is 1 ms. */
export function dueAt(start: number, delay: number): number {
  return start + Math.max(1, delay);
}

/** A fresh value of the given kind (objects and errors are new, so identity can be checked). */
export function makeValue(kind: ValueKind, id: number): unknown {
  switch (kind) {
    case 'undefined':
      return undefined;
    case 'null':
      return null;
    case 'zero':
      return 0;
    case 'empty':
      return '';
    case 'false':
      return false;
    case 'nan':
      return NaN;
    case 'number':
      return id;
    case 'string':
      return `value of task ${id}`;
    case 'object':
      return { task: id };
    case 'error':
      return new Error(`failure of task ${id}`);
  }
}

/** The reason passed to `cancel()` / `abort()`; `undefined` means none. */
export function makeReason(kind: ReasonKind, id: number): unknown {
  switch (kind) {
    case 'none':
      return undefined;
    case 'object':
      return { reason: id };
    case 'zero':
      return 0;
    case 'null':
      return null;
  }
}

export function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}(${JSON.stringify(value.message)})`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

export type Origin = 'submit' | 'run' | 'map';

/** Everything known about one task. */
export class TaskRecord {
  /** What it produces (a value, or the error it throws). */
  readonly value: unknown;
  /** What a `thenable` task passes to its second, ignored, callback. */
  readonly second: unknown;
  priority = 0;
  /** The timeout that applies to it (its own, else the executor's `taskTimeout`). */
  timeout: number | undefined;
  /** The external signal it was run with. */
  controller: AbortController | undefined;
  /** The map it belongs to, and its index in the input. */
  mapId = -1;
  mapIndex = -1;
  future: Future<unknown> | undefined;
  /** Order of submission (used to check that queued tasks start in order). */
  submitSeq = -1;
  /** Submission threw (after shutdown): this task does not exist for the executor. */
  discarded = false;
  released = false;
  /** Settles the task function's promise (or thenable) as the spec says. */
  deliver: (() => void) | undefined;
  started = false;
  startedAt = -1;
  /** How the task function settled, first time only. */
  fnOutcome: { ok: boolean; value: unknown } | undefined;
  /** `nested`: it settled inside another future's done callback. */
  settled: { state: string; outcome: unknown; seq: number; op: number; nested: boolean } | undefined;
  /** One of its done callbacks settled other futures: their callbacks ran amid its own. */
  reentered = false;
  settleCount = 0;
  cancelledBeforeStart = false;
  /** Cancelled by its map (closing, deadline) rather than by the program. */
  cancelledByMap = false;
  /**
   * While its `schedule()` call runs: the causes of cancellation set meanwhile. That call may
   * start queued tasks whose done callbacks cancel or shut down; a future that settles inside
   * its own `schedule()` is checked only when the call returns, with these causes.
   */
  causesWhileScheduling: CancelCause[] | undefined;

  constructor(
    readonly id: number,
    readonly spec: TaskSpec,
    readonly origin: Origin,
  ) {
    this.value = makeValue(spec.value, id);
    this.second = { ignored: id };
  }

  get kind(): TaskKind {
    return this.spec.kind;
  }

  describe(): string {
    return `task ${this.id} (${this.origin}${this.mapId >= 0 ? ` ${this.mapId}[${this.mapIndex}]` : ''}, ${this.spec.kind}, ${this.spec.ok ? 'fulfils' : 'fails'} with ${show(this.value)})`;
  }
}

/** A TaskPoolExecutor that reports every submission and start to the model. */
export class Probe extends TaskPoolExecutor {
  readonly #model: Model;

  constructor(options: ExecutorOptions, model: Model) {
    super(options);
    this.#model = model;
  }

  protected override schedule<T>(task: unknown, args: unknown, options?: RunOptions): Future<T> {
    const record = this.#model.scheduling(task, args);
    let future: Future<T>;
    try {
      future = super.schedule<T>(task, args, options);
    } finally {
      this.#model.scheduleReturned(record);
    }
    this.#model.scheduled(task, args, future as Future<unknown>);
    return future;
  }

  /** A map item has no future: the model follows it through a mirror future that settles with it. */
  protected override scheduleMapItem(task: unknown, args: unknown[]): MapWorkItem {
    const record = this.#model.scheduling(task, args);
    let item: MapWorkItem;
    try {
      item = super.scheduleMapItem(task, args);
    } finally {
      this.#model.scheduleReturned(record);
    }
    this.#model.scheduled(task, args, follow(item));
    return item;
  }

  /** The tasks of a map submitted at once: each is scheduled now, and followed once it starts. */
  protected override scheduleMapSource(task: unknown, tuples: unknown[], arity: number, map: MapListener): MapSource {
    const all = tuples.map((entry) => (arity === 1 ? [entry] : (entry as unknown[])));
    const records = all.map((args) => this.#model.scheduling(task, args));
    // Taken in input order: each item takes the next mirror.
    const made = all.map(() => newMirror());
    const waiting = [...made];
    const taken: MapListener = {
      itemTaken: (item) => {
        mirrors.set((item as MapWorkItem).args as unknown[], waiting.shift()!);
        follow(item as MapWorkItem);
        map.itemTaken(item);
      },
      itemSettled: (item) => map.itemSettled(item),
      sourceEnded: (source) => map.sourceEnded(source),
    };
    let source: MapSource;
    try {
      source = super.scheduleMapSource(task, tuples, arity, taken);
    } finally {
      for (const record of records.reverse()) this.#model.scheduleReturned(record);
    }
    const { cancel, fail } = source;
    const rest = (): void => {
      if (source.settled === Settled.NOT_YET) return;
      for (const { future } of waiting.splice(0)) {
        if (source.settled === Settled.CANCELLED) internals.cancel(future, source.outcome);
        else internals.reject(future, source.outcome);
      }
    };
    source.cancel = (reason) => {
      const cancelled = cancel.call(source, reason);
      rest();
      return cancelled;
    };
    source.fail = (error) => {
      fail.call(source, error);
      rest();
    };
    all.forEach((args, index) => this.#model.scheduled(task, args, made[index]!.future));
    return source;
  }

  protected override execute(item: WorkItem): unknown {
    this.#model.starting(item.task, item.args, item instanceof MapWorkItem ? follow(item) : (item as unknown as Future<unknown>));
    return super.execute(item);
  }
}

/** The future that stands for a map task (by its argument tuple), and its work item once it has one. */
interface Mirror {
  future: Future<unknown>;
  item: MapWorkItem | undefined;
}

const mirrors = new WeakMap<unknown[], Mirror>();

function newMirror(): Mirror {
  const owner = {
    get attempt(): number {
      return mirror.item?.attempt ?? 0;
    },
    futureCancelled: (): void => {},
  };
  const mirror: Mirror = { future: internals.create<unknown>(owner), item: undefined };
  return mirror;
}

function mirrorOf(args: unknown[]): Mirror {
  let mirror = mirrors.get(args);
  if (mirror === undefined) mirrors.set(args, (mirror = newMirror()));
  return mirror;
}

/**
 * The mirror future of a map item: `running` when it starts, settled (or cancelled, with the
 * same error) when it does, right after the item itself. Nobody outside the model sees it.
 */
function follow(item: MapWorkItem): Future<unknown> {
  const mirror = mirrorOf(item.args as unknown[]);
  const made = mirror.future;
  if (mirror.item === item) return made;
  mirror.item = item;
  const sync = (): void => {
    if (item.settled === Settled.FULFILLED) internals.resolve(made, item.outcome);
    else if (item.settled === Settled.REJECTED) internals.reject(made, item.outcome);
    else if (item.settled === Settled.CANCELLED) internals.cancel(made, item.outcome);
  };
  if (item.attempt > 0) internals.start(made);
  sync();
  const { start, abortAttempt, settle, cancel } = item;
  item.start = () => {
    start.call(item);
    internals.start(made);
  };
  item.abortAttempt = (reason) => {
    abortAttempt.call(item, reason);
    internals.abortAttempt(made, reason);
  };
  item.settle = (fulfilled, outcome) => {
    settle.call(item, fulfilled, outcome);
    sync();
  };
  item.cancel = (reason) => {
    const cancelled = cancel.call(item, reason);
    sync();
    return cancelled;
  };
  return made;
}

/** Why a future may be cancelled right now: set by the driver around the call that does it. */
export interface CancelCause {
  /** `future.cancel(reason)` on this future. */
  cancelling?: { future: Future<unknown>; reason: unknown };
  /** `controller.abort()` on this signal. */
  aborting?: AbortSignal;
  /** `run()` with an already aborted signal, for this task. */
  submittingAborted?: TaskRecord;
  /** `shutdown({ cancelFutures: true })`. */
  shuttingDown?: boolean;
  /** The fake clock is advancing: timers fire. */
  advancing?: boolean;
}

export class Model {
  readonly executor: Probe;
  readonly maxWorkers: number;
  readonly tasks: TaskRecord[] = [];
  /** Tasks that have a future (a map's: a mirror of its item), in submission order. */
  readonly submitted: TaskRecord[] = [];
  /** Tasks whose future the program holds (not a map's), in submission order. */
  readonly held: TaskRecord[] = [];
  readonly violations: string[] = [];
  /** What the program exercised: counts by event, for the figures. */
  readonly tally = new Map<string, number>();
  readonly cause: CancelCause = {};
  /** Task functions started and not settled. */
  inFlight = 0;
  maxInFlight = 0;
  /** Incremented each time the model sees nothing pending and nothing in flight. */
  idleEpoch = 0;
  opIndex = -1;
  /** Tasks made from now on are released before they start (the program has ended). */
  cleaningUp = false;
  shutdownCalled = false;
  /** How many program-supplied done callbacks are running (they may settle other futures). */
  callbackDepth = 0;
  /** Tasks whose `schedule()` call is running, innermost last. */
  readonly #inSchedule: TaskRecord[] = [];
  readonly #byFuture = new Map<Future<unknown>, TaskRecord>();
  readonly #runTasks = new WeakMap<object, TaskRecord>();
  #settleSeq = 0;
  #submitSeq = 0;

  constructor(
    readonly clock: FakeClock,
    options: { maxWorkers: number; taskTimeout: number | undefined },
  ) {
    this.maxWorkers = options.maxWorkers;
    const executorOptions: ExecutorOptions = { maxWorkers: options.maxWorkers, name: 'generated' };
    if (options.taskTimeout !== undefined) executorOptions.taskTimeout = options.taskTimeout;
    this.executor = new Probe(executorOptions, this);
  }

  count(event: string): void {
    this.tally.set(event, (this.tally.get(event) ?? 0) + 1);
  }

  fail(message: string): void {
    this.violations.push(`op ${this.opIndex}: ${message}`);
  }

  newTask(spec: TaskSpec, origin: Origin): TaskRecord {
    const record = new TaskRecord(this.tasks.length, spec, origin);
    if (this.cleaningUp) record.released = true;
    this.tasks.push(record);
    return record;
  }

  /** How many futures have settled so far. */
  get settlements(): number {
    return this.#settleSeq;
  }

  recordOf(future: Future<unknown>): TaskRecord | undefined {
    return this.#byFuture.get(future);
  }

  /** The function given to `submit` and `map`: its argument is the task's record. */
  readonly taskFunction = (record: TaskRecord): unknown => this.#invoke(record, undefined);

  /** A function for `run`, bound to its record. */
  runTask(record: TaskRecord): (context: TaskContext) => unknown {
    const task = (context: TaskContext): unknown => this.#invoke(record, record.kind === 'signal' ? context.signal : undefined);
    this.#runTasks.set(task, record);
    return task;
  }

  release(record: TaskRecord): void {
    record.released = true;
    record.deliver?.();
  }

  #find(task: unknown, args: unknown): TaskRecord | undefined {
    if (typeof task === 'function') {
      const record = this.#runTasks.get(task);
      if (record !== undefined) return record;
    }
    const first = Array.isArray(args) ? (args as unknown[])[0] : undefined;
    return first instanceof TaskRecord ? first : undefined;
  }

  #bind(record: TaskRecord, future: Future<unknown>): void {
    if (record.future === future) return;
    if (record.future !== undefined) this.fail(`${record.describe()} was given a second future`);
    record.future = future;
    this.#byFuture.set(future, record);
    this.submitted.push(record);
    if (record.origin !== 'map') this.held.push(record);
  }

  /**
   * Probe hook: `schedule` was called. Submission order is the order of these calls (a call
   * made from a done callback inside another `schedule` returns first, but came later).
   */
  scheduling(task: unknown, args: unknown): TaskRecord | undefined {
    const record = this.#find(task, args);
    if (record === undefined) return undefined;
    if (record.submitSeq < 0) record.submitSeq = this.#submitSeq++;
    record.causesWhileScheduling = [];
    this.#inSchedule.push(record);
    return record;
  }

  /** Probe hook: `schedule` returned or threw. */
  scheduleReturned(record: TaskRecord | undefined): void {
    if (record === undefined) return;
    const index = this.#inSchedule.lastIndexOf(record);
    if (index !== -1) this.#inSchedule.splice(index, 1);
  }

  /** The driver is about to unset a cause of cancellation: the tasks being scheduled remember it. */
  causeEnding(): void {
    for (const record of this.#inSchedule) record.causesWhileScheduling!.push({ ...this.cause });
  }

  /** Probe hook: `schedule` returned `future`. */
  scheduled(task: unknown, args: unknown, future: Future<unknown>): void {
    const record = this.#find(task, args);
    if (record === undefined) {
      this.fail('a future was scheduled for a task the program does not know');
      return;
    }
    this.#bind(record, future);
    // Runs at once when the future settled inside schedule(): checked with the causes seen there.
    future.addDoneCallback(this.#onSettled);
    if (future.state === 'pending' && record.causesWhileScheduling?.some((cause) => cause.shuttingDown)) {
      this.fail(`${record.describe()} was queued when a shutdown({ cancelFutures: true }) ran inside its submit, and is still pending`);
    }
    record.causesWhileScheduling = undefined;
  }

  /** Probe hook: the executor is about to call the task function of `future`. */
  starting(task: unknown, args: unknown, future: Future<unknown>): void {
    const record = this.#find(task, args);
    if (record === undefined) {
      this.fail('the executor started a task the program does not know');
      return;
    }
    this.#bind(record, future);
    if (future.state !== 'running') this.fail(`${record.describe()} started while its future is ${future.state}`);
    if (record.started) this.fail(`${record.describe()} started twice`);
    if (record.cancelledBeforeStart) this.fail(`${record.describe()} started after it was cancelled`);
    for (const other of this.submitted) {
      if (other === record || other.future?.state !== 'pending') continue;
      if (other.priority > record.priority || (other.priority === record.priority && other.submitSeq < record.submitSeq)) {
        this.fail(`${record.describe()} (priority ${record.priority}) started before queued ${other.describe()} (priority ${other.priority})`);
      }
    }
  }

  #invoke(record: TaskRecord, signal: AbortSignal | undefined): unknown {
    // Task functions are called from a microtask, never inside a submit, run or map call.
    if (this.#inSchedule.length > 0) this.fail(`${record.describe()}: its function was called inside the schedule() of ${this.#inSchedule.at(-1)!.describe()}`);
    record.started = true;
    record.startedAt = this.clock.now;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.inFlight === this.maxWorkers) this.count('slots full');
    if (this.inFlight > this.maxWorkers) this.fail(`${this.inFlight} task functions in flight with maxWorkers ${this.maxWorkers}`);
    const { ok } = record.spec;
    switch (record.kind) {
      case 'sync':
        this.#fnSettled(record, ok, record.value);
        if (!ok) throw record.value;
        return record.value;
      case 'thenable':
        return this.#thenable(record);
      default: {
        let settle!: (fulfil: boolean, value: unknown) => void;
        const promise = new Promise<unknown>((resolve, reject) => {
          settle = (fulfil, value) => (fulfil ? resolve(value) : reject(value));
        });
        if (signal !== undefined) {
          const onAbort = (): void => settle(false, signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          void promise.then(
            () => signal.removeEventListener('abort', onAbort),
            () => signal.removeEventListener('abort', onAbort),
          );
          if (signal.aborted) onAbort();
        }
        record.deliver = () => settle(ok, record.value);
        if (record.released) record.deliver();
        // Registered before the executor awaits the promise: this runs first, so the count of
        // task functions in flight drops no earlier than the executor can see the slot free.
        promise.then(
          (value) => this.#fnSettled(record, true, value),
          (error: unknown) => this.#fnSettled(record, false, error),
        );
        return promise;
      }
    }
  }

  /** A thenable that calls back twice once released: the outcome, then the opposite. */
  #thenable(record: TaskRecord): PromiseLike<unknown> {
    type Callbacks = [((value: unknown) => unknown) | null | undefined, ((reason: unknown) => unknown) | null | undefined];
    const waiting: Callbacks[] = [];
    let delivered = false;
    const call = ([onFulfilled, onRejected]: Callbacks): void => {
      if (record.fnOutcome === undefined) this.#fnSettled(record, record.spec.ok, record.value);
      if (record.spec.ok) {
        onFulfilled?.(record.value);
        onRejected?.(record.second);
      } else {
        onRejected?.(record.value);
        onFulfilled?.(record.second);
      }
    };
    record.deliver = () => {
      if (delivered) return;
      delivered = true;
      for (const callbacks of waiting.splice(0)) call(callbacks);
    };
    if (record.released) delivered = true;
    return {
      then(onFulfilled, onRejected) {
        const callbacks: Callbacks = [onFulfilled as Callbacks[0], onRejected as Callbacks[1]];
        if (delivered) call(callbacks);
        else waiting.push(callbacks);
        return undefined as never;
      },
    };
  }

  #fnSettled(record: TaskRecord, ok: boolean, value: unknown): void {
    if (record.fnOutcome !== undefined) {
      this.fail(`${record.describe()}: its function settled twice`);
      return;
    }
    record.fnOutcome = { ok, value };
    this.inFlight--;
    this.noteIdle();
  }

  /** Counts an idle moment when nothing is pending and no task function is in flight. */
  noteIdle(): void {
    if (this.inFlight !== 0) return;
    for (const record of this.submitted) if (record.future!.state === 'pending') return;
    this.idleEpoch++;
  }

  readonly #onSettled = (future: Future<unknown>): void => {
    const record = this.#byFuture.get(future)!;
    record.settleCount++;
    if (record.settleCount > 1) this.fail(`${record.describe()}: done callbacks ran twice`);
    const state = future.state;
    const outcome = internals.outcome(future);
    record.settled = { state, outcome, seq: this.#settleSeq++, op: this.opIndex, nested: this.callbackDepth > 0 };
    const fn = record.fnOutcome;
    this.count(state === 'cancelled' ? (record.started ? 'cancelled while running' : 'cancelled before start') : outcome instanceof TimeoutError && fn === undefined ? 'timed out' : state);
    switch (state) {
      case 'fulfilled':
        if (fn === undefined || !fn.ok || !Object.is(fn.value, outcome)) {
          this.fail(`${record.describe()} fulfilled with ${show(outcome)} but its function ${fn === undefined ? 'has not settled' : `gave ${fn.ok ? '' : 'error '}${show(fn.value)}`}`);
        }
        break;
      case 'rejected':
        if (fn !== undefined && !fn.ok && Object.is(fn.value, outcome)) break;
        if (outcome instanceof TimeoutError && fn === undefined) {
          this.#checkTimedOut(record, future, outcome);
          break;
        }
        this.fail(`${record.describe()} rejected with ${show(outcome)} but its function ${fn === undefined ? 'has not settled' : `gave ${fn.ok ? '' : 'error '}${show(fn.value)}`}`);
        break;
      case 'cancelled':
        this.#checkCancelled(record, future, outcome);
        break;
      default:
        this.fail(`${record.describe()}: a done callback ran while the future is ${state}`);
    }
    this.noteIdle();
  };

  #checkTimedOut(record: TaskRecord, future: Future<unknown>, error: TimeoutError): void {
    if (!this.cause.advancing) this.fail(`${record.describe()} timed out while the clock stood still`);
    else if (record.timeout === undefined) this.fail(`${record.describe()} timed out without a timeout`);
    else if (!record.started) this.fail(`${record.describe()} timed out before it started`);
    else if (this.clock.now < dueAt(record.startedAt, record.timeout)) {
      this.fail(`${record.describe()} timed out at ${this.clock.now} ms, started at ${record.startedAt} ms with timeout ${record.timeout}`);
    }
    if (!future.signal.aborted || future.signal.reason !== error) this.fail(`${record.describe()} timed out but its signal did not abort with the TimeoutError`);
  }

  #checkCancelled(record: TaskRecord, future: Future<unknown>, outcome: unknown): void {
    if (!record.started) record.cancelledBeforeStart = true;
    const causes = [this.cause, ...(record.causesWhileScheduling ?? [])];
    if (!causes.some((cause) => this.#explainsCancel(cause, record, future, outcome))) {
      if (record.origin === 'map') record.cancelledByMap = true;
      else this.fail(`${record.describe()} was cancelled and nothing cancelled it (outcome ${show(outcome)})`);
    }
    if (record.started && (!future.signal.aborted || !Object.is(future.signal.reason, outcome))) {
      this.fail(`${record.describe()} cancelled while running but its signal did not abort with the reason`);
    }
  }

  /** Whether `cause` accounts for the cancellation of `future`; if so, checks its outcome. */
  #explainsCancel(cause: CancelCause, record: TaskRecord, future: Future<unknown>, outcome: unknown): boolean {
    if (cause.cancelling?.future === future) {
      this.#checkCancelledError(record, outcome, cause.cancelling.reason, 'cancelled');
    } else if (cause.aborting !== undefined && record.controller?.signal === cause.aborting) {
      this.#checkCancelledError(record, outcome, cause.aborting.reason, 'cancelled by its signal');
    } else if (cause.submittingAborted === record) {
      this.#checkCancelledError(record, outcome, record.controller?.signal.reason, 'run with an aborted signal was cancelled');
    } else if (cause.shuttingDown && !record.started) {
      this.#checkCancelledError(record, outcome, undefined, 'cancelled by shutdown');
    } else {
      return false;
    }
    return true;
  }

  /** A cancelled future rejects with a CancelledError whose cause is the reason (none without one). */
  #checkCancelledError(record: TaskRecord, outcome: unknown, reason: unknown, what: string): void {
    const expected = reason === undefined ? 'a CancelledError' : `a CancelledError caused by ${show(reason)}`;
    if (!(outcome instanceof CancelledError)) this.fail(`${record.describe()} ${what} with ${show(outcome)}, expected ${expected}`);
    else if (reason === undefined ? 'cause' in outcome : !Object.is(outcome.cause, reason)) {
      this.fail(`${record.describe()} ${what} with ${show(outcome)} caused by ${show(outcome.cause)}, expected ${expected}`);
    }
  }

  /** Checks made when everything has settled down (no microtask left to run). */
  checkQuiet(): void {
    const stats = this.executor.stats;
    const count = { pending: 0, running: 0, fulfilled: 0, rejected: 0, cancelled: 0 };
    for (const record of this.submitted) {
      const future = record.future!;
      const state = future.state;
      count[state]++;
      if (future.done() !== (state !== 'pending' && state !== 'running')) this.fail(`${record.describe()}: done() disagrees with state ${state}`);
      if (future.cancelled() !== (state === 'cancelled')) this.fail(`${record.describe()}: cancelled() disagrees with state ${state}`);
      if (future.running() !== (state === 'running')) this.fail(`${record.describe()}: running() disagrees with state ${state}`);
      if (record.settled !== undefined) {
        if (state !== record.settled.state || !Object.is(internals.outcome(future), record.settled.outcome)) {
          this.fail(`${record.describe()} settled as ${record.settled.state} and is now ${state}`);
        }
      } else if (future.done()) {
        this.fail(`${record.describe()} is ${state} but its done callbacks never ran`);
      }
      if (state === 'pending' && record.started) this.fail(`${record.describe()} started but its future is pending`);
      if (state === 'running') {
        if (!record.started) this.fail(`${record.describe()} is running but its function was never called`);
        if (record.fnOutcome !== undefined) this.fail(`${record.describe()}: its function settled but its future is still running`);
        if (record.timeout !== undefined && this.clock.now >= dueAt(record.startedAt, record.timeout)) {
          this.fail(`${record.describe()} is still running at ${this.clock.now} ms: started at ${record.startedAt} ms with timeout ${record.timeout}`);
        }
      }
    }
    if (stats.pending !== count.pending) this.fail(`stats.pending is ${stats.pending}, ${count.pending} futures are pending`);
    if (stats.running !== this.inFlight) this.fail(`stats.running is ${stats.running}, ${this.inFlight} task functions are in flight`);
    if (stats.completed !== count.fulfilled) this.fail(`stats.completed is ${stats.completed}, ${count.fulfilled} futures fulfilled`);
    if (stats.failed !== count.rejected) this.fail(`stats.failed is ${stats.failed}, ${count.rejected} futures rejected`);
    if (stats.cancelled !== count.cancelled) this.fail(`stats.cancelled is ${stats.cancelled}, ${count.cancelled} futures cancelled`);
    if (count.pending > 0 && this.inFlight < this.maxWorkers) {
      this.fail(`${count.pending} tasks queued while only ${this.inFlight} of ${this.maxWorkers} slots are busy`);
    }
  }

  /** Nothing pending, no task function in flight. */
  get idle(): boolean {
    return this.inFlight === 0 && this.submitted.every((record) => record.future!.state !== 'pending');
  }
}
