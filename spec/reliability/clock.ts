/**
 * A fake clock for generated programs: while installed it replaces the global `setTimeout`
 * and `clearTimeout`, so that every timer the library starts (task timeouts, the deadlines of
 * `result()`, `wait()`, `asCompleted()` and `map()`) fires only when the program advances the
 * clock. Runs are then reproducible from their seed, whatever the machine's speed.
 *
 * It replaces `Date.now` too, which the library's time source reads (rate limits, circuit
 * breakers, caches): while installed, `Date.now()` is the real time of installation plus
 * {@link FakeClock.now}, so it moves only when the clock advances.
 *
 * Like Node, a delay below 1 ms (or not a number) counts as 1 ms. Timers due at the same
 * moment fire in creation order. Mocha keeps its own references to the real timer functions,
 * so its test timeouts still work while the fake clock is installed.
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

export class FakeClock {
  /** Milliseconds since the clock was made. */
  now = 0;
  /** How many timers have been started, and how many of those fired. */
  started = 0;
  fired = 0;
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
      this.started++;
      this.#timers.set(id, { id, due: this.now + delay, callback, args });
      return new FakeHandle(id);
    };
    const realClearTimeout = this.#saved.clearTimeout;
    const fakeClearTimeout = (handle: unknown): void => {
      if (handle instanceof FakeHandle) this.#timers.delete(handle.id);
      // A real timer started before the clock was installed (by code outside the program).
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

  /**
   * Moves the clock `ms` forward, firing every timer that falls due on the way, earliest
   * first (synchronously: what a timer's callback schedules runs after `advance` returns).
   */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.due <= target && (next === undefined || timer.due < next.due)) next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.now = next.due;
      this.fired++;
      next.callback(...next.args);
    }
    this.now = target;
  }
}
