/// <reference types="node" />
/** `taskpool`'s live progress line and final summary. */

/** Counts of one `taskpool` run. */
export interface Tally {
  /** Inputs in all, once they are all known (stdin ended). */
  total: number | undefined;
  /** Jobs running now. */
  running: number;
  /** Jobs that succeeded. */
  succeeded: number;
  /** Jobs that failed (after their retries). */
  failed: number;
  /** Jobs stopped by an interruption. */
  interrupted: number;
}

/** Jobs finished one way or another. */
export function finished(tally: Tally): number {
  return tally.succeeded + tally.failed + tally.interrupted;
}

/** `0:04`, `12:34`, `1:02:03`. */
export function formatClock(ms: number): string {
  const seconds = Math.floor(ms / 1_000);
  const hours = Math.floor(seconds / 3_600);
  const mm = String(Math.floor(seconds / 60) % 60);
  const ss = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** `0.42s`, `12.3s`, then a clock past a minute. */
export function formatElapsed(ms: number): string {
  if (ms < 10_000) return `${(ms / 1_000).toFixed(2)}s`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  return formatClock(ms);
}

/** The progress line: `taskpool: 3/10 done, 2 running, 1 failed, 0:04 elapsed, ETA 0:07`. */
export function formatProgress(tally: Tally, elapsed: number): string {
  const done = finished(tally);
  const total = tally.total === undefined ? '?' : String(tally.total);
  let eta = '?';
  if (tally.total !== undefined && done > 0) eta = formatClock(((tally.total - done) * elapsed) / done);
  return `taskpool: ${done}/${total} done, ${tally.running} running, ${tally.failed} failed, ${formatClock(elapsed)} elapsed, ETA ${eta}`;
}

/** The progress bar (`--bar`): `taskpool: [#######.............] 35% 7/20, 1 failed, ETA 0:12`. */
export function formatBar(tally: Tally, elapsed: number, width = 20): string {
  const done = finished(tally);
  const share = tally.total === undefined || tally.total === 0 ? undefined : Math.min(1, done / tally.total);
  const filled = share === undefined ? 0 : Math.round(share * width);
  const percent = share === undefined ? '?%' : `${Math.floor(share * 100)}%`;
  let eta = '?';
  if (tally.total !== undefined && done > 0) eta = formatClock(((tally.total - done) * elapsed) / done);
  const total = tally.total === undefined ? '?' : String(tally.total);
  return `taskpool: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent} ${done}/${total}, ${tally.failed} failed, ETA ${eta}`;
}

/**
 * The summary: `taskpool: 10 jobs in 3.21s: 9 succeeded, 1 failed`, with the jobs never
 * started and why the run stopped early when it did.
 */
export function formatSummary(tally: Tally, read: number, elapsed: number, stopped: string | undefined): string {
  const parts = [`${tally.succeeded} succeeded`, `${tally.failed} failed`];
  if (tally.interrupted > 0) parts.push(`${tally.interrupted} interrupted`);
  const notStarted = read - finished(tally);
  if (notStarted > 0) parts.push(`${notStarted} not started`);
  const jobs = read === 1 ? 'job' : 'jobs';
  return `taskpool: ${read} ${jobs} in ${formatElapsed(elapsed)}: ${parts.join(', ')}${stopped === undefined ? '' : ` (${stopped})`}`;
}

/** Erases the current terminal line. */
const CLEAR_LINE = '\r\x1b[2K';

/**
 * The progress line on a terminal: redrawn on `update()` at most every `minInterval` ms (the
 * latest state is drawn at the end of the interval), and every `refresh` ms so that the
 * elapsed time and ETA move on. `clear()` erases it before other output; `stop()` for good.
 */
export class ProgressLine {
  readonly #stream: NodeJS.WritableStream & { columns?: number };
  readonly #render: () => string;
  readonly #minInterval: number;
  readonly #refresh: ReturnType<typeof setInterval>;
  #shown = false;
  #stopped = false;
  #lastDraw = -Infinity;
  #pending: ReturnType<typeof setTimeout> | undefined;

  constructor(stream: NodeJS.WritableStream & { columns?: number }, render: () => string, minInterval = 100, refresh = 1_000) {
    this.#stream = stream;
    this.#render = render;
    this.#minInterval = minInterval;
    this.#refresh = setInterval(this.#draw, refresh);
  }

  /** Redraws now, or at the end of the current interval. */
  update(): void {
    if (this.#stopped) return;
    const wait = this.#lastDraw + this.#minInterval - performance.now();
    if (wait <= 0) this.#draw();
    else this.#pending ??= setTimeout(this.#draw, wait);
  }

  /** Erases the line (the next update draws it again). */
  clear(): void {
    if (!this.#shown) return;
    this.#stream.write(CLEAR_LINE);
    this.#shown = false;
  }

  /** Erases the line and stops drawing. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#refresh);
    clearTimeout(this.#pending);
    this.clear();
  }

  readonly #draw = (): void => {
    clearTimeout(this.#pending);
    this.#pending = undefined;
    if (this.#stopped) return;
    this.#lastDraw = performance.now();
    const line = this.#render();
    const columns = this.#stream.columns ?? 0;
    const width = columns > 0 ? columns : 80; // a terminal of unknown size reports 0 columns
    const text = line.length >= width ? `${line.slice(0, Math.max(0, width - 2))}…` : line;
    this.#stream.write(`${CLEAR_LINE}${text}`);
    this.#shown = true;
  };
}
