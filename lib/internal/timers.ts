/** The one module that touches timers, so that every timer the library starts is easy to audit. */

/** The largest delay `setTimeout` honours; longer ones would fire at once. */
const MAX_DELAY = 2_147_483_647;

/** An opaque handle for {@link cancelTimer}. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * Calls `callback` after `ms` milliseconds. A delay beyond what timers can represent (about
 * 24.8 days, `Infinity` included) starts no timer and returns `undefined`: it never fires.
 */
export function startTimer(ms: number, callback: () => void): TimerHandle | undefined {
  if (ms > MAX_DELAY) return undefined;
  return setTimeout(callback, ms);
}

/** Stops a timer from {@link startTimer}; `undefined` is ignored. */
export function cancelTimer(handle: TimerHandle | undefined): void {
  if (handle !== undefined) clearTimeout(handle);
}

/** `Date.now` as the library found it. */
const systemNow = Date.now;

/**
 * The current time in milliseconds, for the policies that measure time between events (rate
 * limits, circuit breakers, caches), on `Date.now`'s scale but to a fraction of a millisecond
 * (`performance`'s clock): in whole milliseconds, a rate limit's window could be up to one
 * short. Once `Date.now` has been replaced (a fake clock), it reads `Date.now`, so that the
 * fake clock moves it too.
 */
export function now(): number {
  return Date.now === systemNow ? performance.timeOrigin + performance.now() : Date.now();
}
