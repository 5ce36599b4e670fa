/**
 * Generated programs: what they are made of, and the fast-check arbitraries that make them.
 *
 * A program is an executor's options and a list of operations. Operations name tasks and
 * futures by a number (`pick`) taken modulo what exists when the operation runs, so that every
 * shrunk program is still a valid one.
 */
import fc from 'fast-check';

/** A value a task produces or throws: falsy ones included, objects made fresh per task. */
export type ValueKind = 'undefined' | 'null' | 'zero' | 'empty' | 'false' | 'nan' | 'number' | 'string' | 'object' | 'error';

/**
 * How a task behaves once started:
 * - `sync`: returns or throws at once;
 * - `async`: a promise settled when the program releases the task;
 * - `signal`: as `async`, but rejects with its signal's reason as soon as the signal aborts;
 * - `thenable`: returns a hand-made thenable that, once released, calls back twice (first
 *   with the task's outcome, then with the opposite one);
 * - `never`: as `async`, released only when the program has ended (it ignores its signal).
 */
export type TaskKind = 'sync' | 'async' | 'signal' | 'thenable' | 'never';

export interface TaskSpec {
  readonly kind: TaskKind;
  /** Fulfils (`true`) or fails (`false`, with {@link TaskSpec.value} as the error). */
  readonly ok: boolean;
  readonly value: ValueKind;
}

/** The reason given to `cancel()` or `abort()`: none, a fresh object, or a falsy value. */
export type ReasonKind = 'none' | 'object' | 'zero' | 'null';

export type Op =
  | {
      readonly type: 'submit';
      readonly task: TaskSpec;
      /** `submit(fn, arg)`, the same on a detached `submit`, or `run(task, options)`. */
      readonly via: 'submit' | 'detached' | 'run';
      readonly priority: number | undefined;
      readonly timeout: number | undefined;
      /** An external signal for `run`: none, one aborted later by an `abort` op, or one aborted already. */
      readonly signal: 'none' | 'live' | 'aborted';
    }
  | { readonly type: 'release'; readonly pick: number }
  | { readonly type: 'cancel'; readonly pick: number; readonly reason: ReasonKind }
  | { readonly type: 'abort'; readonly pick: number; readonly reason: ReasonKind }
  | { readonly type: 'advance'; readonly ms: number }
  | {
      readonly type: 'map';
      readonly items: readonly TaskSpec[];
      readonly input: 'sync' | 'async';
      /** The input throws (or rejects) instead of giving item `throwAt`. */
      readonly throwAt: number | undefined;
      /** A second, zipped input of this many numbers. */
      readonly zipLength: number | undefined;
      readonly bufferSize: number | undefined;
      readonly ordered: boolean;
      readonly timeout: number | undefined;
      readonly signal: boolean;
      /** The consumer calls `return()` after this many results. */
      readonly breakAfter: number | undefined;
    }
  | {
      readonly type: 'wait';
      readonly picks: readonly number[];
      readonly returnWhen: 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED';
      readonly timeout: number | undefined;
    }
  | { readonly type: 'asCompleted'; readonly picks: readonly number[]; readonly timeout: number | undefined; readonly breakAfter: number | undefined }
  | { readonly type: 'result'; readonly pick: number; readonly method: 'result' | 'exception' | 'await'; readonly timeout: number | undefined }
  | {
      readonly type: 'callback';
      readonly pick: number;
      /** What the done callback does besides counting its call: throw, or re-enter the executor. */
      readonly action: 'none' | 'throw' | 'submit' | 'cancel' | 'shutdown';
      /** For `submit`: the task. For `cancel`: which future. For `shutdown`: `cancelFutures`. */
      readonly task: TaskSpec;
      readonly target: number;
      readonly cancelFutures: boolean;
    }
  | { readonly type: 'shutdown'; readonly wait: boolean; readonly cancelFutures: boolean; readonly dispose: boolean }
  | { readonly type: 'onIdle' };

export interface Program {
  readonly maxWorkers: number;
  readonly taskTimeout: number | undefined;
  readonly ops: readonly Op[];
}

/** How long generated programs are. */
export interface ProgramSize {
  readonly minOps: number;
  readonly maxOps: number;
  readonly maxWorkers: number;
}

/** `arbitrary`'s values in `percent` % of cases, else `undefined`. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary, weight: percent });

const valueKind: fc.Arbitrary<ValueKind> = fc.constantFrom('undefined', 'null', 'zero', 'empty', 'false', 'nan', 'number', 'string', 'object', 'error');
const reasonKind: fc.Arbitrary<ReasonKind> = fc.constantFrom('none', 'none', 'object', 'zero', 'null');

/** A task that fulfils in `percentOk` % of cases. */
const taskSpec = (kinds: fc.Arbitrary<TaskKind>, percentOk: number): fc.Arbitrary<TaskSpec> =>
  fc.record({ kind: kinds, ok: fc.oneof({ arbitrary: fc.constant(true), weight: percentOk }, { arbitrary: fc.constant(false), weight: 100 - percentOk }), value: valueKind });

const anyTask = taskSpec(fc.constantFrom<TaskKind>('sync', 'async', 'async', 'async', 'signal', 'signal', 'thenable', 'never'), 60);
/** `map` passes no signal to its function: its tasks cannot honour one. Most succeed, so that maps run long. */
const mapTask = taskSpec(fc.constantFrom<TaskKind>('sync', 'async', 'async', 'async', 'thenable', 'never'), 85);
const smallTimeout = fc.integer({ min: 0, max: 4 });
const pick = fc.nat({ max: 1_000 });

const submitOp: fc.Arbitrary<Op> = fc.record({
  type: fc.constant('submit' as const),
  task: anyTask,
  via: fc.constantFrom('submit' as const, 'detached' as const, 'run' as const, 'run' as const),
  priority: maybe(fc.integer({ min: -2, max: 2 }), 30),
  timeout: maybe(smallTimeout, 30),
  signal: fc.constantFrom('none' as const, 'none' as const, 'live' as const, 'aborted' as const),
});

const mapOp: fc.Arbitrary<Op> = fc.record({
  type: fc.constant('map' as const),
  items: fc.array(mapTask, { maxLength: 8 }),
  input: fc.constantFrom('sync' as const, 'async' as const),
  throwAt: maybe(fc.nat({ max: 8 }), 20),
  zipLength: maybe(fc.nat({ max: 9 }), 25),
  bufferSize: maybe(fc.integer({ min: 1, max: 4 }), 60),
  ordered: fc.constantFrom(true, true, true, false),
  timeout: maybe(fc.integer({ min: 0, max: 8 }), 20),
  signal: fc.boolean(),
  breakAfter: maybe(fc.nat({ max: 6 }), 30),
});

export function programArbitrary(size: ProgramSize): fc.Arbitrary<Program> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: submitOp, weight: 10 },
    { arbitrary: fc.record({ type: fc.constant('release' as const), pick }), weight: 10 },
    { arbitrary: fc.record({ type: fc.constant('cancel' as const), pick, reason: reasonKind }), weight: 3 },
    { arbitrary: fc.record({ type: fc.constant('abort' as const), pick, reason: reasonKind }), weight: 2 },
    { arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 8 }) }), weight: 4 },
    { arbitrary: mapOp, weight: 3 },
    {
      arbitrary: fc.record({
        type: fc.constant('wait' as const),
        picks: fc.array(pick, { maxLength: 4 }),
        returnWhen: fc.constantFrom('FIRST_COMPLETED' as const, 'FIRST_EXCEPTION' as const, 'ALL_COMPLETED' as const),
        timeout: maybe(fc.integer({ min: 0, max: 6 }), 40),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        type: fc.constant('asCompleted' as const),
        picks: fc.array(pick, { maxLength: 4 }),
        timeout: maybe(fc.integer({ min: 0, max: 6 }), 40),
        breakAfter: maybe(fc.nat({ max: 3 }), 30),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        type: fc.constant('result' as const),
        pick,
        method: fc.constantFrom('result' as const, 'exception' as const, 'await' as const),
        timeout: maybe(fc.integer({ min: 0, max: 6 }), 40),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        type: fc.constant('callback' as const),
        pick,
        action: fc.constantFrom('none' as const, 'throw' as const, 'throw' as const, 'submit' as const, 'submit' as const, 'cancel' as const, 'shutdown' as const),
        task: anyTask,
        target: pick,
        cancelFutures: fc.boolean(),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({ type: fc.constant('shutdown' as const), wait: fc.boolean(), cancelFutures: fc.boolean(), dispose: fc.boolean() }),
      weight: 1,
    },
    { arbitrary: fc.record({ type: fc.constant('onIdle' as const) }), weight: 1 },
  );
  return fc.record({
    maxWorkers: fc.integer({ min: 1, max: size.maxWorkers }),
    taskTimeout: maybe(fc.integer({ min: 0, max: 6 }), 20),
    ops: fc.array(op, { minLength: size.minOps, maxLength: size.maxOps }),
  });
}
