// taskpool demo: fetch 300 URLs from a local test server, at most 16 at a time.
//
//   npm run demo            (builds dist/, then runs this file)
//   node examples/demo.mjs  (once dist/ is built)
//
// The server answers each path after 5–80 ms (pseudo-random but the same on every run);
// some paths fail on purpose: a 500, a reset connection, or an answer too slow for the
// per-task timeout; some are flaky: a 503 the first time, fine after. The demo shows
// submit, run with a timeout and an AbortSignal, retry with backoff and a rate limit on the
// pool, asCompleted with Result values, settle, and a clean shutdown.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { TaskPoolExecutor, TimeoutError, asCompleted, settle } from 'taskpool';

const URL_COUNT = 300;
const MAX_WORKERS = 16;
const TASK_TIMEOUT_MS = 250;
/** Flaky and failing pages get up to 3 attempts, with a short exponential backoff between them. */
const RETRY = { attempts: 3, backoff: { initial: 10, max: 100 }, retryIf: (error) => isTransient(error) };
/** At most 100 requests started in any 100 ms (a sliding window). */
const RATE_LIMIT = { limit: 100, interval: 100 };
/** "One at a time" is measured for real on every SAMPLE_STRIDE-th URL, then scaled up. */
const SAMPLE_STRIDE = 5;

// ---------------------------------------------------------------------------------------
// The local server
// ---------------------------------------------------------------------------------------

/** What the server does for `/page/<n>`: fixed for a given n. */
function routeFor(n) {
  let hash = 2166136261; // FNV-1a of the path: a repeatable pseudo-random latency
  for (const char of `/page/${n}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  const delay = 5 + (hash % 76);
  if (n % 47 === 0) return { delay: 2_000, kind: 'slow' }; // beyond the task timeout
  if (n % 61 === 0) return { delay, kind: 'reset' }; // drops the connection
  if (n % 13 === 0) return { delay, kind: 'error' }; // answers 500
  if (n % 7 === 0) return { delay, kind: 'flaky' }; // a 503 the first time, then fine
  return { delay, kind: 'ok' };
}

/** Flaky paths already answered once with a 503. */
const seen = new Set();

function handle(request, response) {
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname === '/index.json') {
    const paths = Array.from({ length: URL_COUNT }, (_, i) => `/page/${i + 1}`);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(paths));
    return;
  }
  const n = Number(url.pathname.match(/^\/page\/(\d+)$/)?.[1]);
  if (!n) {
    response.statusCode = 404;
    response.end();
    return;
  }
  const { delay, kind } = routeFor(n);
  const timer = setTimeout(() => {
    if (kind === 'reset') return request.socket.destroy();
    const firstTry = kind === 'flaky' && !seen.has(n);
    seen.add(n);
    response.statusCode = kind === 'error' ? 500 : firstTry ? 503 : 200;
    response.end(`page ${n}\n`.repeat(n % 50 + 1));
  }, delay);
  response.on('close', () => clearTimeout(timer)); // the client gave up: stop waiting
}

async function startServer() {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1'); // port 0: any free port
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

// ---------------------------------------------------------------------------------------
// The tasks
// ---------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

let inFlight = 0;
let peakInFlight = 0;

/** Fetches one page and returns its size in bytes; `signal` aborts the request. */
async function fetchPage(url, signal) {
  peakInFlight = Math.max(peakInFlight, ++inFlight);
  try {
    const response = await fetch(url, { signal });
    const body = await response.text();
    if (!response.ok) throw new HttpError(response.status);
    return body.length;
  } finally {
    inFlight--;
  }
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new HttpError(response.status);
  return response.json();
}

/**
 * One task: `run` hands the task an AbortSignal, and aborts it with a TimeoutError when the
 * task runs longer than TASK_TIMEOUT_MS. The future then rejects with that TimeoutError,
 * while the worker slot stays taken until fetch has really stopped.
 */
function fetchTask(pool, url) {
  return pool.run(({ signal }) => fetchPage(url, signal), { timeout: TASK_TIMEOUT_MS });
}

/** Worth another attempt: a 503 or a dropped connection (a 500 or a page too slow would only fail again). */
function isTransient(error) {
  return (error instanceof HttpError && error.status === 503) || error?.cause?.code === 'UND_ERR_SOCKET';
}

/** A short label for why a task failed, to group failures by. */
function reasonOf(error) {
  if (error instanceof TimeoutError) return `timed out after ${TASK_TIMEOUT_MS} ms`;
  if (error instanceof HttpError) return error.message;
  if (error?.cause?.code === 'UND_ERR_SOCKET') return 'connection reset';
  return String(error?.message ?? error);
}

// ---------------------------------------------------------------------------------------
// Progress on the terminal
// ---------------------------------------------------------------------------------------

/** One line rewritten in place on a TTY; a plain line every 100 results otherwise. */
function progressReporter(total, pool, started) {
  const tty = process.stdout.isTTY === true;
  const counts = { ok: 0, failed: 0 };
  const line = () => {
    const done = counts.ok + counts.failed;
    const elapsed = ((performance.now() - started) / 1000).toFixed(2);
    return `${String(done).padStart(3)}/${total} done · ${counts.ok} ok · ${counts.failed} failed · ${pool.stats.running} running · ${elapsed} s`;
  };
  const draw = () => process.stdout.write(`\r\x1b[2K  ${line()}`);
  const timer = tty ? setInterval(draw, 80) : undefined;
  return {
    counts,
    record(result) {
      counts[result.ok ? 'ok' : 'failed']++;
      const done = counts.ok + counts.failed;
      if (!tty && (done % 100 === 0 || done === total)) console.log(`  ${line()}`);
    },
    stop() {
      clearInterval(timer);
      if (tty) process.stdout.write(`\r\x1b[2K  ${line()}\n`);
    },
  };
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** Fetches every URL, MAX_WORKERS at a time, and tallies the outcomes as they arrive. */
async function fetchAll(pool, urls) {
  const started = performance.now();
  // Queue every URL at once: the pool starts MAX_WORKERS tasks, then one more as each finishes.
  const futures = urls.map((url) => fetchTask(pool, url));
  const progress = progressReporter(futures.length, pool, started);
  const failures = new Map();
  let bytes = 0;
  let recovered = 0;
  let attempts = 0;
  try {
    // asCompleted: each future as it settles, with its outcome as a Result (it never throws).
    for await (const { future, result } of asCompleted(futures)) {
      progress.record(result);
      // future.attempt: how many calls the task took (above 1 only when it was retried).
      attempts += future.attempt;
      if (result.ok && future.attempt > 1) recovered++;
      if (result.ok) {
        bytes += result.value;
      } else {
        const reason = reasonOf(result.error);
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      }
    }
  } finally {
    progress.stop();
  }
  return { ...progress.counts, failures, bytes, recovered, attempts, time: performance.now() - started };
}

/** The same work one at a time (maxWorkers: 1), on `sample`. */
async function fetchOneAtATime(sample) {
  const started = performance.now();
  const single = new TaskPoolExecutor({ maxWorkers: 1, name: 'one-at-a-time', retry: RETRY });
  const progress = progressReporter(sample.length, single, started);
  try {
    // settle(future): a Result that never rejects, so Promise.all waits for every task.
    await Promise.all(sample.map(async (url) => progress.record(await settle(fetchTask(single, url)))));
  } finally {
    progress.stop();
    await single.shutdown({ cancelFutures: true });
  }
  return { ...progress.counts, time: performance.now() - started };
}

const { server, base } = await startServer();
// On Node 24+, `await using pool = new TaskPoolExecutor(...)` replaces try/finally + shutdown.
// Every task of this pool gets the retry policy and goes through the rate limit.
const pool = new TaskPoolExecutor({ maxWorkers: MAX_WORKERS, name: 'fetchers', retry: RETRY, rateLimit: RATE_LIMIT });
try {
  console.log(
    `Fetching ${URL_COUNT} URLs from ${base} with maxWorkers: ${MAX_WORKERS}, timeout: ${TASK_TIMEOUT_MS} ms per attempt, ` +
      `up to ${RETRY.attempts} attempts, at most ${RATE_LIMIT.limit} starts per ${RATE_LIMIT.interval} ms\n`,
  );

  // submit(fn, ...args) gives a Future; await it like a promise.
  const paths = await pool.submit(fetchJson, `${base}/index.json`);
  const urls = paths.map((path) => base + path);
  const all = await fetchAll(pool, urls);

  const sample = urls.filter((_, i) => i % SAMPLE_STRIDE === 0);
  console.log(`\nNow ${sample.length} of the same URLs one at a time (maxWorkers: 1)\n`);
  const one = await fetchOneAtATime(sample);
  const oneAtATimeTime = (one.time * urls.length) / sample.length;

  const row = (label, value, note = '') => console.log(`  ${label.padEnd(24)}${String(value).padStart(9)}  ${note}`.trimEnd());
  console.log('\nSummary');
  row('ok', all.ok, `${(all.bytes / 1024).toFixed(0)} KiB`);
  row('recovered by a retry', all.recovered, 'ok after a 503 or a reset');
  row('attempts made', all.attempts, `for ${urls.length} URLs`);
  row('failed', all.failed, `after up to ${RETRY.attempts} attempts`);
  for (const [reason, count] of [...all.failures].sort((a, b) => b[1] - a[1])) row(`  ${reason}`, count);
  row('peak tasks in flight', peakInFlight, `maxWorkers: ${MAX_WORKERS}`);
  row(`wall time, ${MAX_WORKERS} at a time`, seconds(all.time));
  row('one at a time', `≈ ${seconds(oneAtATimeTime)}`, `measured: ${sample.length} of the URLs (${one.ok} ok) took ${seconds(one.time)}, × ${urls.length / sample.length}`);
  row('speed-up', `≈ ${(oneAtATimeTime / all.time).toFixed(1)}×`);
} finally {
  // Nothing may keep the process alive: stop the pool, then the server and its connections.
  await pool.shutdown({ cancelFutures: true });
  server.close();
  server.closeAllConnections();
}
