/**
 * Rate limit: never more than `limit` task starts in any window of `interval` milliseconds.
 *
 * The window slides: the limiter remembers the last `limit` start times, and a new start is
 * allowed once the oldest of them is `interval` ms old. Unlike fixed buckets (p-queue's
 * `interval`/`intervalCap`), there is no double burst at a bucket boundary.
 *
 * @module
 */
import { checkOptions, checkPositiveInteger, type Check } from '../internal/validate.js';
import { checkPositiveMilliseconds, checkRequired } from './check.js';

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

const RATE_LIMIT_OPTIONS = { limit: checkPositiveInteger, interval: checkPositiveMilliseconds };

/**
 * Checks a `rateLimit` option: an object with exactly the keys of {@link RateLimitOptions},
 * both given. Messages name the nested option, e.g. `'rateLimit.limit'`.
 *
 * @throws {TypeError} for a missing or mistyped value or an unknown key; `RangeError`
 *   for `limit` not a positive integer or `interval` not a positive finite number.
 */
export const checkRateLimit: Check = (value, action, name) => {
  const { limit, interval } = checkOptions(value as Partial<RateLimitOptions>, RATE_LIMIT_OPTIONS, action, name);
  checkRequired(limit, 'a positive integer', action, `${name}.limit`);
  checkRequired(interval, 'a positive finite number of milliseconds', action, `${name}.interval`);
};

/**
 * A sliding-window limiter over task starts, kept by an executor and shared by its tasks.
 * The scheduler asks {@link RateLimiter.delay} before it starts a task (or a retry) and calls
 * {@link RateLimiter.take} when it does; a task held back waits `delay` ms in the queue.
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

  /** @param options - checked beforehand with {@link checkRateLimit}. */
  constructor(options: RateLimitOptions) {
    this.limit = options.limit;
    this.interval = options.interval;
  }

  /**
   * Checks `options` (named `name` in messages) and builds the limiter.
   *
   * @throws {TypeError | RangeError} as {@link checkRateLimit}.
   */
  static from(options: unknown, action: string, name = 'rateLimit'): RateLimiter {
    checkRateLimit(options, action, name);
    return new RateLimiter(options as RateLimitOptions);
  }

  /**
   * Milliseconds from `now` until a start is allowed: 0 when one is allowed now. A start at
   * `now + delay(now)` keeps every window of `interval` ms at `limit` starts or fewer.
   */
  delay(now: number): number {
    if (this.#starts.length < this.limit) return 0;
    return Math.max(0, this.#starts[this.#oldest]! + this.interval - now);
  }

  /**
   * Records a start at `now`. Call it only when {@link RateLimiter.delay} is 0 at `now`;
   * `now` never goes below the last start (a clock that steps back counts as standing still).
   */
  take(now: number): void {
    const starts = this.#starts;
    if (starts.length < this.limit) {
      starts.push(Math.max(now, starts.at(-1) ?? now));
      return;
    }
    const newest = starts[(this.#oldest + this.limit - 1) % this.limit]!;
    starts[this.#oldest] = Math.max(now, newest);
    this.#oldest = (this.#oldest + 1) % this.limit;
  }
}
