/**
 * Single-flight (`run(task, { key })`): while a task with the same key is pending or running
 * on an executor, a new `run` with that key starts nothing; its future follows that task. The
 * task's own future is hidden: every caller, the first included, holds a follower. Cancelling
 * a follower cancels only it; the task is cancelled once no follower is left. Once the task
 * settles the key is free again.
 */
import type { CancelledError } from '../errors.js';
import { internals, type Future } from '../future.js';
import type { Item, ItemState, TaskItem } from '../work-item.js';

/** The tasks in flight by key on one executor. @internal */
export class SingleFlight {
  readonly #tasks = new Map<string, TaskItem>();

  /** The task in flight with `key`, if any. */
  get(key: string): TaskItem | undefined {
    return this.#tasks.get(key);
  }

  /** `item` (whose state is `state`) is the task in flight with `key` from now on. */
  lead(item: TaskItem, state: ItemState, key: string): void {
    state.key = key;
    this.#tasks.set(key, item);
  }

  /** A new future that follows `item`: `running` already when the task has started. */
  follow(item: TaskItem, state: ItemState): Future<unknown> {
    const follower = internals.create<unknown>(item);
    (state.followers ??= new Set()).add(follower);
    if (item.attempt > 0) internals.start(follower);
    return follower;
  }

  /** The task starts: so do its followers. */
  started(item: Item): void {
    const followers = item.policyState?.followers;
    if (followers !== undefined) for (const follower of followers) internals.start(follower);
  }

  /** The task settled: its followers settle alike. */
  settled(item: Item, fulfilled: boolean, outcome: unknown): void {
    const followers = item.policyState?.followers;
    if (followers === undefined) return;
    for (const follower of followers) {
      if (fulfilled) internals.resolve(follower, outcome);
      else internals.reject(follower, outcome);
    }
  }

  /**
   * `item` was cancelled through `future`. A follower leaves (the last one to leave cancels the
   * task) and `true` is returned; `false` when it is the task itself (a task item is its own
   * future; a map item has none).
   */
  cancelled(item: Item, future: Future<unknown> | undefined, error: unknown): boolean {
    if (future === undefined || future === (item as unknown)) return false;
    const followers = item.policyState?.followers;
    if (followers?.delete(future) === true && followers.size === 0) item.cancel((error as CancelledError).cause);
    return true;
  }

  /** The task itself was cancelled (a deadline, a shutdown...): the followers left are cancelled too. */
  taskCancelled(item: Item, error: unknown): void {
    const followers = item.policyState?.followers;
    if (followers !== undefined) for (const follower of followers) follower.cancel((error as CancelledError).cause);
  }

  /** The task is done: its key is free. */
  release(item: Item): void {
    const key = item.policyState?.key;
    if (key !== undefined && this.#tasks.get(key) === item) this.#tasks.delete(key);
  }
}
