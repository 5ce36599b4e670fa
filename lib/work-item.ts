import type { Future } from './future.js';
import type { Context } from './internal/async-context.js';
import type { TimerHandle } from './internal/timers.js';
import type { CircuitPermit } from './policies/circuit-breaker.js';
import type { RetryPolicy } from './policies/retry.js';

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
  /** The last backoff delay ('decorrelated' jitter grows from it). */
  previousDelay: number | undefined;
  deadlineTimer: TimerHandle | undefined;
  /** What the circuit breaker let the running attempt start as. */
  permit: Extract<CircuitPermit, 'start' | 'probe'> | undefined;
  /** Single-flight: the key, and the callers' futures that follow this task. */
  key: string | undefined;
  followers: Set<Future<unknown>> | undefined;
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

/**
 * What the scheduler keeps for one task (CPython's `_WorkItem`): the backend's description of
 * the task, the async context it was scheduled in, its future, and where it stands. Per-task
 * options and policies (priority, retry, deadline, breaker permit, single-flight followers...)
 * are kept in `state`, which stays `undefined` for the common task that uses none.
 *
 * A backend sees it in `execute(item)`: `task` and `args` as given to `schedule`, `attempt`,
 * and `signal`, the current attempt's `AbortSignal`.
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
export abstract class WorkItem {
  /** The future the caller holds, settled from this item (single-flight: the task's own, which its followers follow). */
  future!: Future<unknown>;
  /** The backend's description of the task (a function, an export's name...). Dropped once done. */
  task: unknown;
  /** The backend's description of its arguments. Dropped once done. */
  args: unknown;
  /** The async context to run it in (none when it started inside its `schedule` call). @internal */
  context: Context;
  /** Where it stands. @internal */
  phase: Phase = Phase.QUEUED;
  /** 1-based once started. */
  attempt = 0;
  /** The current attempt's timeout timer, or a backoff's timer. @internal */
  timer: TimerHandle | undefined;
  /** Its options and what the policies keep for it: only for a task that has any. @internal */
  state: ItemState | undefined;

  /** @internal */
  constructor(task: unknown, args: unknown, context: Context) {
    this.task = task;
    this.args = args;
    this.context = context;
  }

  /**
   * The current attempt's signal: aborts on cancellation, on the attempt's timeout and on the deadline.
   *
   * @example
   * ```ts
   * const execute = (item: WorkItem) => fetch(item.task as string, { signal: item.signal });
   * ```
   */
  get signal(): AbortSignal {
    return this.future.signal;
  }

  /** Tells its executor (each executor has a subclass of its own, so that this costs a task nothing). @internal */
  abstract futureCancelled(future: Future<unknown>, wasRunning: boolean, error: unknown): void;
}
