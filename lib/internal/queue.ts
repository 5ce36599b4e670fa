import { keepShape, newList } from './shapes.js';

/**
 * Queues behind the start gate.
 *
 * `FifoQueue` is an array with a moving head: `shift()` on a long array copies it, this does
 * not; the consumed prefix is dropped once it is at least half of the array.
 * `PriorityQueue` keeps one FIFO per distinct priority, highest first: with the default
 * priority only it costs one extra comparison per operation. Items that will be skipped
 * anyway (cancelled) stay until shifted, unless `compact()` is called.
 */

const COMPACT_AT = 1024;

/**
 * Drops the first `count` elements of `array`, which stays the same object. Optimized code
 * relies on what a field held: assigning a new array to a hot field throws that code away.
 * A plain loop: `copyWithin` takes each element through the generic property path, some 25
 * times slower (100 ns against 4 ns an element, a map of 100,000 items spent a sixth of its
 * time there).
 * @internal
 */
export function compactInPlace(array: unknown[], count: number): void {
  const kept = array.length - count;
  for (let index = 0; index < kept; index++) array[index] = array[index + count];
  array.length = kept;
}

/** A first-in, first-out queue with amortised O(1) `push` and `shift`. */
export class FifoQueue<T> {
  #items: (T | undefined)[] = newList();
  #head = 0;

  /** Number of items not yet shifted (dropped items included until compaction). */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an item. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Puts an item back at the front (it is shifted next). */
  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  /** The oldest item, left in place, or `undefined`. */
  peek(): T | undefined {
    // Not read past the end: optimized code that has only read within bounds is thrown away when it does.
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Removes and returns the oldest item, or `undefined`. */
  shift(): T | undefined {
    const items = this.#items;
    if (this.#head === items.length) return undefined;
    const item = items[this.#head];
    items[this.#head++] = undefined;
    // Once empty, or once the consumed prefix is large: the rest moves to the front.
    if (this.#head === items.length || (this.#head >= COMPACT_AT && this.#head * 2 >= items.length)) {
      compactInPlace(items, this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes every item for which `isDropped` is true (a whole pass: call it rarely). */
  compact(isDropped: (item: T) => boolean): void {
    const kept = this.drain().filter((item) => !isDropped(item));
    for (const item of kept) this.#items.push(item);
  }

  /** The items, oldest first. */
  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const rest = this.toArray();
    this.#items.length = 0;
    this.#head = 0;
    return rest;
  }

  static {
    // See shapes.ts: emptied, its head has moved (the executor's queue's head moves only once
    // a map's source leaves it).
    const queue = new FifoQueue<unknown>();
    queue.push(undefined);
    queue.shift();
    keepShape(queue);
  }
}

/** One FIFO per priority; `shift()` takes from the highest priority first, ties in FIFO order. */
export class PriorityQueue<T> {
  /** Buckets sorted by priority, highest first. */
  #buckets: { priority: number; queue: FifoQueue<T> }[] = [];

  /** Appends `item` behind the others of the same priority. */
  push(item: T, priority = 0): void {
    this.#bucket(priority).push(item);
  }

  /** Puts `item` at the front of the others of the same priority. */
  unshift(item: T, priority = 0): void {
    this.#bucket(priority).unshift(item);
  }

  /** The queue of `priority`, made (in its sorted place) when there is none. */
  #bucket(priority: number): FifoQueue<T> {
    const buckets = this.#buckets;
    let index = 0;
    while (index < buckets.length && buckets[index]!.priority > priority) index++;
    if (buckets[index]?.priority !== priority) buckets.splice(index, 0, { priority, queue: new FifoQueue<T>() });
    return buckets[index]!.queue;
  }

  /** Removes and returns the next item, or `undefined` when empty. */
  shift(): T | undefined {
    const buckets = this.#buckets;
    // Empty buckets ahead are dropped; the last one stays, to be reused by the next push.
    while (buckets.length > 1 && buckets[0]!.queue.size === 0) buckets.shift();
    return buckets[0]?.queue.shift();
  }

  /** The item `shift()` would give, left in place. */
  peek(): T | undefined {
    const buckets = this.#buckets;
    while (buckets.length > 1 && buckets[0]!.queue.size === 0) buckets.shift();
    return buckets[0]?.queue.peek();
  }

  /** Drops every item for which `isDropped` is true. */
  compact(isDropped: (item: T) => boolean): void {
    for (const bucket of this.#buckets) bucket.queue.compact(isDropped);
    this.#buckets = this.#buckets.filter((bucket) => bucket.queue.size > 0);
  }

  /** Removes and returns every item in the order `shift()` would have given them. */
  drain(): T[] {
    const all = this.#buckets.flatMap((bucket) => bucket.queue.drain());
    this.#buckets = [];
    return all;
  }

  static {
    // See shapes.ts: with a bucket.
    const queue = new PriorityQueue<unknown>();
    queue.#bucket(0);
    keepShape(queue);
  }
}
