/**
 * A fake clock for the policies' programs: while installed it replaces `setTimeout`,
 * `clearTimeout` and `Date.now` (which the library's time source reads), so that time moves
 * only when the program advances it.
 *
 * Unlike spec/reliability/clock.ts it fires timers as Node does: one at a time, with every
 * microtask drained between two callbacks (Node runs microtasks after each timer callback), so
 * that what a timer's callback schedules (a task function called a microtask after its start
 * was decided) happens before the next timer due at the same moment fires. Like Node, a delay
 * below 1 ms (or not a number) counts as 1 ms, and timers due at the same moment fire in
 * creation order.
 */

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: (...args: unknown[]) => void;
  readonly args: unknown[];
}

/** The handle the fake `setTimeout` returns: shaped like Node's `Timeout`. */
class FakeHandle {
  constructor(readonly id: number) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

/** Lets every microtask queued so far run (`setImmediate` is not faked). */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class StepClock {
  /** Milliseconds since the clock was made. */
  now = 0;
  /** How many timers fired. */
  fired = 0;
  /** Called with the id of the next timer started (then forgotten). */
  onNextTimer: ((id: number) => void) | undefined = undefined;
  readonly #timers = new Map<number, FakeTimer>();
  #nextId = 1;
  #saved: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout; dateNow: typeof Date.now } | undefined;

  /** Timers started and neither fired nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** The due times of the live timers, for messages. */
  describePending(): string {
    return [...this.#timers.values()].map((timer) => `#${timer.id}@${timer.due}`).join(', ');
  }

  install(): void {
    if (this.#saved !== undefined) throw new Error('fake clock already installed');
    this.#saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, dateNow: Date.now };
    const epoch = Date.now() - this.now;
    const fakeSetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): FakeHandle => {
      const delay = typeof ms === 'number' && ms >= 1 ? Math.floor(ms) : 1;
      const id = this.#nextId++;
      this.#timers.set(id, { id, due: this.now + delay, callback, args });
      const onNextTimer = this.onNextTimer;
      this.onNextTimer = undefined;
      onNextTimer?.(id);
      return new FakeHandle(id);
    };
    const realClearTimeout = this.#saved.clearTimeout;
    const fakeClearTimeout = (handle: unknown): void => {
      if (handle instanceof FakeHandle) this.#timers.delete(handle.id);
      else realClearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    };
    globalThis.setTimeout = fakeSetTimeout as unknown as typeof setTimeout;
    globalThis.clearTimeout = fakeClearTimeout as unknown as typeof clearTimeout;
    Date.now = () => epoch + this.now;
  }

  uninstall(): void {
    if (this.#saved === undefined) return;
    globalThis.setTimeout = this.#saved.setTimeout;
    globalThis.clearTimeout = this.#saved.clearTimeout;
    Date.now = this.#saved.dateNow;
    this.#saved = undefined;
  }

  /** Whether timer `id` has fired (or been cleared): every timer started is either live or gone. */
  isGone(id: number): boolean {
    return id < this.#nextId && !this.#timers.has(id);
  }

  /** When the next timer falls due, if any does. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const timer of this.#timers.values()) if (next === undefined || timer.due < next) next = timer.due;
    return next;
  }

  /**
   * Moves the clock `ms` forward, firing every timer that falls due on the way, earliest first,
   * draining the microtasks after each one; `afterTimer` runs after each drain too.
   */
  async advance(ms: number, afterTimer?: () => void): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.due <= target && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.id < next.id))) next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.now = next.due;
      this.fired++;
      next.callback(...next.args);
      await drainMicrotasks();
      afterTimer?.();
    }
    this.now = target;
  }
}
