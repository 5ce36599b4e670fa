/**
 * Rate limit: never more than `limit` task starts in any window of `interval` milliseconds.
 *
 * The window slides: the limiter remembers the last `limit` start times, and a new start is
 * allowed once the oldest of them is `interval` ms old. Unlike fixed buckets (p-queue's
 * `interval`/`intervalCap`), there is no double burst at a bucket boundary. A start is the
 * moment the task is called, not the moment the scheduler lets it through: a task let through
 * is called a little later (never synchronously inside `submit`), and until then it holds a
 * place in the window whose time is not yet known.
 *
 * @module
 */
import { checkOptions, checkPositiveInteger, type Check } from '../internal/validate.js';
import { checkPositiveMilliseconds } from './check.js';

/**
 * The `rateLimit` option of an executor: at most `limit` starts in any `interval` ms. Retries
 * count as starts; a task held back stays `pending`.
 *
 * @example
 * ```ts
 * const pool = new TaskPoolExecutor({ maxWorkers: 8, rateLimit: { limit: 10, interval: 1_000 } }); // 10 per second
 * ```
 */
export interface RateLimitOptions {
  /** How many starts at most in any window (a positive integer). Required. */
  limit: number;
  /** The window's length in milliseconds (a positive finite number). Required. */
  interval: number;
}

/** The keys of a `rateLimit` option: both values are checked after, as both are required. */
const RATE_LIMIT_OPTIONS = { limit: undefined, interval: undefined };

/**
 * Checks a `rateLimit` option: an object with exactly the keys of {@link RateLimitOptions},
 * both given. Messages name the nested option, e.g. `'rateLimit.limit'`.
 *
 * @throws {TypeError} for a missing or mistyped value or an unknown key; `RangeError`
 *   for `limit` not a positive integer or `interval` not a positive finite number.
 */
export const checkRateLimit: Check = (value, action, name) => {
  const { limit, interval } = checkOptions(value as Partial<RateLimitOptions>, RATE_LIMIT_OPTIONS, action, name);
  // Both required: one left out fails its check as any other value of the wrong type.
  checkPositiveInteger(limit, action, `${name}.limit`);
  checkPositiveMilliseconds(interval, action, `${name}.interval`);
};

/**
 * A sliding-window limiter over task starts, kept by an executor and shared by its tasks.
 * The scheduler asks {@link RateLimiter.delay} before it lets a task (or a retry) through,
 * calls {@link RateLimiter.reserve} when it does, then {@link RateLimiter.start} as the task is
 * called (or {@link RateLimiter.release} when it never is); a task held back waits `delay` ms
 * in the queue.
 *
 * Memory: one number per start in the window, at most `limit` (grown as starts happen).
 *
 * @internal
 */
export class RateLimiter {
  readonly limit: number;
  readonly interval: number;
  /** The last `limit` start times, a ring: `#starts[#oldest]` is the oldest once full. */
  readonly #starts: number[] = [];
  #oldest = 0;
  /** The newest start time. */
  #newest = -Infinity;
  /** Tasks let through and not yet called: each will start, at a time not yet known. */
  #reserved = 0;

  /** @param options - checked beforehand with {@link checkRateLimit}. */
  constructor(options: RateLimitOptions) {
    this.limit = options.limit;
    this.interval = options.interval;
  }

  /**
   * Milliseconds from `now` until a task may be let through: 0 when one may be now, `Infinity`
   * while every place in the window is held by a task let through and not yet called (wait for
   * a {@link RateLimiter.start} or {@link RateLimiter.release}). The tasks let through start at
   * `now` or later, so a new one needs the window to hold at most `limit - reserved - 1` of the
   * starts made: the `limit - reserved`-th newest must be `interval` ms old.
   */
  delay(now: number): number {
    const free = this.limit - this.#reserved;
    if (free <= 0) return Infinity;
    const starts = this.#starts;
    const count = starts.length;
    if (count < free) return 0;
    return Math.max(0, starts[(this.#oldest + count - free) % count]! + this.interval - now);
  }

  /** A task is let through (when {@link RateLimiter.delay} is 0): it holds a place until it is called. */
  reserve(): void {
    this.#reserved++;
  }

  /**
   * A task let through is called at `now`. Returns whether every place had been held (a
   * scheduler waiting on `Infinity` should ask {@link RateLimiter.delay} again).
   */
  start(now: number): boolean {
    this.take(now);
    return this.#reserved-- === this.limit;
  }

  /**
   * A task let through will never be called (cancelled first): its place is free again, and a
   * new {@link RateLimiter.delay} may be shorter than the one asked while it held it.
   */
  release(): void {
    this.#reserved--;
  }

  /**
   * Records a start at `now` (of a task not reserved: {@link RateLimiter.start} records those);
   * `now` never goes below the last start (a clock that steps back counts as standing still).
   */
  take(now: number): void {
    const time = (this.#newest = Math.max(now, this.#newest));
    const starts = this.#starts;
    if (starts.length < this.limit) {
      starts.push(time);
    } else {
      starts[this.#oldest] = time;
      this.#oldest = (this.#oldest + 1) % this.limit;
    }
  }
}
