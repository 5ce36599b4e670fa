/**
 * Keeps one object of each of the scheduler's classes alive for as long as the module is loaded.
 *
 * V8 keeps an object's shape (hidden class) only while something refers to it: when a full
 * garbage collection finds no object of a class left, the shapes are dropped, and with them
 * all the optimized code specialised for them, so the next burst of work runs the scheduler
 * unoptimized and compiles it again. Code made of closures and plain promises does not pay
 * this; classes do, in a program that maps or submits in bursts with collections between
 * them. Seen with `--trace-deopt`: 12 bursts of 50,000 map tasks with a full collection
 * before each, and every hot function of the scheduler was thrown away ("weak objects") and
 * compiled again at each burst.
 *
 * Each class keeps one object made as every other one is (same constructor, same fields in
 * the same order), which so holds the very shapes the others have; so does the captured async
 * context (async-context.ts). The scheduler's lists are made by `newList()` for a like reason.
 *
 * A field that changes only as an object's life ends (a map's source when its last task is
 * taken, a map's input order at its first compaction, the iterator as it ends) is changed on
 * the kept object too, at load: optimized code relies on a field that has never changed, and
 * is thrown away when one does ("code dependencies"), which happened at the end of every first
 * map, and the second one compiled the scheduler again.
 */

const kept = new Set<object | undefined>();

/** Keeps `object`, and so its shape, alive for good (`undefined`: nothing to keep). */
export function keepShape(object: object | undefined): void {
  kept.add(object);
}

/**
 * An empty array that can hold anything from the start. An array literal starts out holding
 * only small integers, and V8 remembers per literal what its arrays came to hold; once that
 * memory is dropped (a full collection may), the next array starts small again, and code
 * optimized for the general kind is thrown away when it meets one ("not a Smi", at every burst).
 * For the scheduler's queues and lists, which hold objects and `undefined`.
 */
export function newList<T>(): T[] {
  const list: T[] = [undefined as T];
  list.pop();
  return list;
}
