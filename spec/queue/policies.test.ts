/**
 * taskpool/queue: the policies as the client sees them (API.md, "Policies" and "taskpool/queue"):
 * the attempt number and `stats.retrying` following a job retried on a worker, a cancellation
 * seen by every client as a cancellation, a `signal` aborted after the job started, priority
 * order (priority 0 included), and `serveQueue`'s rate limit across two workers.
 *
 * Handlers wait on gates the tests open by hand. A backoff is made long and ended by promoting
 * the delayed job (BullMQ's `job.promote()`), so no test waits for time to pass; what the test
 * cannot be told about (a Redis state, an event reaching the client) is polled.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { CancelledError } from '../../lib/index.js';
import type { TaskContext } from '../../lib/queue/index.js';
import { rejectionOf } from '../fixtures.js';
import { gate, type Gate } from '../helpers.js';
import { queueName, useQueueHarness } from './harness.js';

const require = createRequire(import.meta.url);
const { Queue } = require('bullmq') as typeof import('bullmq');

/** Polls `condition` (a state the test cannot be told about) until it holds. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Handlers whose every call waits on its own gate: call k (0-based, in start order) is `calls[k]`. */
function gatedHandlers() {
  const calls: { label: string; attempt: number; signal: AbortSignal; gate: Gate<void> }[] = [];
  const starts: Gate<void>[] = [];
  const startOf = (index: number): Gate<void> => (starts[index] ??= gate());
  const handlers = {
    step: async (label: string, { signal, attempt }: TaskContext): Promise<string> => {
      const g = gate<void>();
      calls.push({ label, attempt, signal, gate: g });
      startOf(calls.length - 1).resolve();
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      await Promise.race([g.promise, aborted]);
      return `${label}:${attempt}`;
    },
  };
  /** Resolves with call `index` once it has started. */
  const started = async (index: number) => {
    await startOf(index).promise;
    return calls[index]!;
  };
  return { handlers, calls, started };
}

/**
 * Asserts that no window of `interval` ms holds more than `limit` of the sorted `starts`: start
 * k and start k + limit are at least `interval` apart, less `SLACK` ms for the time between the
 * window's decision (on Redis' clock) and the stamp (the same machine's clock), which a busy
 * machine stretches. The boundary case misses by far more (40% of an interval).
 */
function expectSliding(starts: number[], { limit, interval }: { limit: number; interval: number }): void {
  const SLACK = 50;
  for (let index = 0; index + limit < starts.length; index++) {
    expect(starts[index + limit]! - starts[index]!, `starts ${starts.map((start) => start - starts[0]!).join(', ')} ms`).to.be.at.least(interval - SLACK);
  }
}

describe('taskpool/queue: policies seen from the client', () => {
  const h = useQueueHarness();

  /** Ends the backoff of delayed job `id` now. */
  async function promote(queue: string, id: string): Promise<void> {
    const raw = new Queue(queue, { connection: { url: h.redis.url } });
    try {
      await (await raw.getJob(id))!.promote();
    } finally {
      await raw.close();
    }
  }

  describe('attempts and stats.retrying', () => {
    it('follows the attempts made on the worker: future.attempt, and retrying while the job waits out its backoff', async () => {
      const queue = queueName();
      const { handlers, started } = gatedHandlers();
      await h.serve({ queue, handlers, concurrency: 2 });
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.run('step', ['x'], { retry: { attempts: 3, backoff: 3_600_000 } });
      expect(future.attempt).to.equal(0);
      const first = await started(0);
      expect(first.attempt).to.equal(1);
      await until(() => future.state === 'running');
      expect(future.attempt).to.equal(1);
      expect(pool.stats).to.include({ running: 1, retrying: 0 });

      first.gate.reject(new Error('attempt 1 failed'));
      await until(() => pool.stats.retrying === 1);
      expect(future.state).to.equal('running');
      expect(future.attempt).to.equal(1);
      expect(pool.stats).to.include({ pending: 0, running: 0, retrying: 1 });
      // A client attaching now reads the same from Redis.
      const other = h.client({ queue });
      const attached = other.attach(future.id);
      await until(() => other.stats.retrying === 1);
      expect(attached.state).to.equal('running');
      expect((attached as typeof attached & { attempt: number }).attempt).to.equal(1);

      await promote(queue, future.id);
      const second = await started(1);
      expect(second.attempt).to.equal(2);
      await until(() => pool.stats.retrying === 0);
      await until(() => future.attempt === 2);
      expect(pool.stats).to.include({ running: 1, retrying: 0 });
      second.gate.resolve();
      expect(await future).to.equal('x:2');
      expect(await attached).to.equal('x:2');
      expect(future.attempt).to.equal(2);
      expect(pool.stats).to.include({ running: 0, retrying: 0, completed: 1, failed: 0 });
    });

    it('counts an attempt retried without backoff (no delayed state) from the job in Redis', async () => {
      const queue = queueName();
      const { handlers, started } = gatedHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.run('step', ['y'], { retry: { attempts: 2, backoff: 0 } });
      (await started(0)).gate.reject(new Error('once'));
      const second = await started(1);
      await until(() => future.attempt === 2);
      expect(pool.stats.retrying).to.equal(0);
      second.gate.resolve();
      expect(await future).to.equal('y:2');
    });

    it('cancelling during the backoff cancels the job: no further attempt, every client sees it cancelled', async () => {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      const server = await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const other = h.client({ queue });
      const future = pool.run('step', ['z'], { retry: { attempts: 3, backoff: 3_600_000 } });
      (await started(0)).gate.reject(new Error('first'));
      await until(() => pool.stats.retrying === 1);
      const attached = other.attach(future.id);
      await until(() => other.stats.retrying === 1);
      expect(future.cancel('enough')).to.equal(true);
      expect(pool.stats).to.include({ retrying: 0, cancelled: 1 });
      const error = await rejectionOf(attached);
      expect(attached.state).to.equal('cancelled');
      expect(error).to.be.instanceOf(CancelledError).and.include({ cause: 'enough' });
      expect(other.stats).to.include({ retrying: 0, cancelled: 1, failed: 0 });
      expect(await h.raw.exists(`bull:${queue}:${future.id}`)).to.equal(0);
      expect(calls).to.have.length(1);
      expect(server.stats.retried).to.equal(1);
    });
    it('shutdown({ cancelFutures: true }) cancels a retry waiting out its backoff; shutdown({ wait: true }) waits for one to finish', async () => {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      await h.serve({ queue, handlers, concurrency: 2 });
      const waiting = h.client<typeof handlers>({ queue });
      const cancelling = h.client<typeof handlers>({ queue });
      const kept = waiting.run('step', ['kept'], { retry: { attempts: 2, backoff: 3_600_000 } });
      const dropped = cancelling.run('step', ['dropped'], { retry: { attempts: 2, backoff: 3_600_000 } });
      const [first, second] = [await started(0), await started(1)];
      first.gate.reject(new Error('fails once'));
      second.gate.reject(new Error('fails once'));
      await until(() => waiting.stats.retrying === 1 && cancelling.stats.retrying === 1);

      await cancelling.shutdown({ cancelFutures: true });
      expect(dropped.state).to.equal('cancelled');
      expect(cancelling.stats).to.include({ retrying: 0, cancelled: 1 });
      expect(await h.raw.exists(`bull:${queue}:${dropped.id}`)).to.equal(0);

      let finished = false;
      const closing = waiting.shutdown({ wait: true }).then(() => (finished = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(finished).to.equal(false);
      expect(kept.state).to.equal('running');
      await promote(queue, kept.id);
      const retry = await started(2);
      expect(retry.label).to.equal('kept');
      expect(finished).to.equal(false);
      retry.gate.resolve();
      await closing;
      expect(await kept).to.equal('kept:2');
      // The cancelled one never ran again.
      expect(calls.filter(({ label }) => label === 'dropped')).to.have.length(1);
    });
  });

  describe('cancellation seen by every client', () => {
    it('a waiting job cancelled by one client is cancelled, with its reason, for a client attached to it', async () => {
      const queue = queueName();
      const pool = h.client({ queue });
      const other = h.client({ queue });
      const future = pool.submit('step', 'never');
      await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      const attached = other.attach(future.id);
      const again = other.attach(future.id);
      await until(() => other.stats.pending === 2);
      expect(future.cancel({ why: 'user' })).to.equal(true);
      const error = await rejectionOf(attached);
      expect(attached.state, String(error)).to.equal('cancelled');
      expect(again.state).to.equal('cancelled');
      expect(error).to.be.instanceOf(CancelledError);
      expect((error as Error).cause).to.deep.equal({ why: 'user' });
      expect(other.stats).to.include({ pending: 0, cancelled: 2, failed: 0 });
    });

    it('a job removed by anything else still rejects with an error saying it is gone', async () => {
      const queue = queueName();
      const pool = h.client({ queue });
      const future = pool.submit('step', 'gone');
      await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      const raw = new Queue(queue, { connection: { url: h.redis.url } });
      await raw.remove(future.id);
      await raw.close();
      expect(((await rejectionOf(future)) as Error).message).to.match(/no longer exists in Redis/);
      expect(future.state).to.equal('rejected');
    });
  });

  describe('signal', () => {
    it("a signal aborted after the job started aborts the handler's signal on the worker; the future is cancelled, the job not retried", async () => {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      const server = await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const controller = new AbortController();
      const future = pool.run('step', ['s'], { signal: controller.signal, retry: { attempts: 3, backoff: 0 } });
      const call = await started(0);
      await until(() => future.state === 'running');
      const aborted = new Promise<unknown>((resolve) => call.signal.addEventListener('abort', () => resolve(call.signal.reason), { once: true }));
      controller.abort('stop now');
      expect(future.state).to.equal('cancelled');
      const reason = await aborted;
      expect(reason).to.be.instanceOf(CancelledError).and.include({ cause: 'stop now' });
      expect(await rejectionOf(future)).to.be.instanceOf(CancelledError).and.include({ cause: 'stop now' });
      await until(() => server.stats.cancelled === 1);
      expect(server.stats).to.include({ retried: 0, failed: 0, active: 0 });
      expect(calls).to.have.length(1);
      expect(pool.stats).to.include({ cancelled: 1, running: 0, failed: 0 });
    });
  });

  describe('priority', () => {
    it('starts waiting jobs by priority, higher first, then FIFO; priority 0 sits between negative and positive ones', async () => {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      const pool = h.client<typeof handlers>({ queue });
      await h.serve({ queue, handlers, concurrency: 1 });
      const blocker = pool.submit('step', 'blocker');
      await started(0);
      const futures = [
        pool.run('step', ['low'], { priority: -1 }),
        pool.run('step', ['zero-a']),
        pool.run('step', ['high'], { priority: 5 }),
        pool.run('step', ['zero-b'], { priority: 0 }),
        pool.run('step', ['top'], { priority: 500_000 }),
        pool.run('step', ['bottom'], { priority: -500_000 }),
      ];
      for (const future of futures) await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      calls[0]!.gate.resolve();
      for (let index = 1; index <= futures.length; index++) (await started(index)).gate.resolve();
      await Promise.all([blocker, ...futures]);
      expect(calls.map(({ label }) => label)).to.deep.equal(['blocker', 'top', 'high', 'zero-a', 'zero-b', 'low', 'bottom']);
    });

    /**
     * One worker taking one job at a time: `retried` fails its first attempt while jobs of its
     * priority, one above it and one below it wait. Its retry must come after the one above and
     * before the others of its priority (BullMQ alone queues it behind them).
     */
    async function retryAmongWaiting(backoff: number, endBackoff: (queue: string, id: string) => Promise<void>): Promise<string[]> {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      const pool = h.client<typeof handlers>({ queue });
      await h.serve({ queue, handlers, concurrency: 1 });
      const retried = pool.run('step', ['retried'], { priority: 3, retry: { attempts: 2, backoff } });
      const first = await started(0);
      const waiting = [
        pool.run('step', ['same-a'], { priority: 3 }),
        pool.run('step', ['above'], { priority: 4 }),
        pool.run('step', ['same-b'], { priority: 3 }),
        pool.run('step', ['below'], { priority: 2 }),
      ];
      for (const future of waiting) await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      first.gate.reject(new Error('attempt 1 failed'));
      // The job above starts at once; the retry queues again while it runs.
      const above = await started(1);
      await endBackoff(queue, retried.id);
      above.gate.resolve();
      for (let index = 2; index <= waiting.length + 1; index++) (await started(index)).gate.resolve();
      expect(await retried).to.equal('retried:2');
      await Promise.all(waiting);
      return calls.map(({ label, attempt }) => `${label}:${attempt}`);
    }

    it('queues a retry again ahead of the waiting jobs of its priority, behind those of a higher one (after a backoff)', async () => {
      const order = await retryAmongWaiting(3_600_000, async (queue, id) => {
        await until(async () => (await h.raw.zscore(`bull:${queue}:delayed`, id)) !== null);
        await promote(queue, id);
      });
      expect(order).to.deep.equal(['retried:1', 'above:1', 'retried:2', 'same-a:1', 'same-b:1', 'below:1']);
    });

    it('queues a retry again ahead of the waiting jobs of its priority, behind those of a higher one (no backoff)', async () => {
      const order = await retryAmongWaiting(0, async (queue, id) => {
        await until(async () => (await h.raw.zscore(`bull:${queue}:prioritized`, id)) !== null);
      });
      expect(order).to.deep.equal(['retried:1', 'above:1', 'retried:2', 'same-a:1', 'same-b:1', 'below:1']);
    });
  });

  describe("serveQueue's rate limit", () => {
    it('holds across two workers: never more than limit starts in one window of interval ms (start times from the jobs)', async () => {
      const queue = queueName();
      const handlers = { stamp: (n: number) => n };
      const rateLimit = { limit: 2, interval: 250 };
      const servers = [await h.serve({ queue, handlers, concurrency: 4, rateLimit }), await h.serve({ queue, handlers, concurrency: 4, rateLimit })];
      const pool = h.client<typeof handlers>({ queue });
      const futures = Array.from({ length: 8 }, (_, n) => pool.submit('stamp', n));
      expect(await Promise.all(futures)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
      // Both workers took jobs: the limit is the queue's, not each worker's.
      expect(servers.map((server) => server.stats.completed).every((count) => count > 0)).to.equal(true);
      const starts = (await Promise.all(futures.map((future) => h.raw.hget(`bull:${queue}:${future.id}`, 'processedOn')))).map(Number).sort((a, b) => a - b);
      // A start's stamp is its worker's clock read when it took the job, just before it asks the
      // window (on Redis' clock), so stamps may be off by the time of a round trip or two (more on
      // a busy machine): allowed below. Without a limit for the whole queue (none, or one per
      // worker), more than two of the eight start within the same few ms.
      expectSliding(starts, rateLimit);
    });

    /** Stamps each call of `stamp` with the time it started, and lets a test wait for call k (0-based). */
    function stampingHandlers() {
      const stamps: { label: string; at: number; attempt: number }[] = [];
      const starts: Gate<void>[] = [];
      const startOf = (index: number): Gate<void> => (starts[index] ??= gate());
      const handlers = {
        stamp: (label: string, { attempt }: TaskContext): string => {
          stamps.push({ label, at: Date.now(), attempt });
          startOf(stamps.length - 1).resolve();
          if (label === 'flaky' && attempt < 3) throw new Error(`attempt ${attempt} failed`);
          return label;
        },
      };
      const started = async (index: number) => {
        await startOf(index).promise;
        return stamps[index]!;
      };
      return { handlers, stamps, started };
    }

    it('slides: a start late in one window leaves no room for two at the next boundary (two workers)', async () => {
      const queue = queueName();
      const { handlers, stamps, started } = stampingHandlers();
      const rateLimit = { limit: 2, interval: 600 };
      await h.serve({ queue, handlers, concurrency: 4, rateLimit });
      await h.serve({ queue, handlers, concurrency: 4, rateLimit });
      const pool = h.client<typeof handlers>({ queue });
      const first = pool.submit('stamp', 'first');
      const { at } = await started(0);
      // The second start comes late in the first start's window: 60% of it has passed. Fixed
      // windows (BullMQ's limiter) start two more at the first window's end, 40% of an interval
      // after it; the sliding window starts one there, the next one a whole interval after it.
      await until(() => Date.now() >= at + 0.6 * rateLimit.interval);
      const rest = ['a', 'b', 'c', 'd', 'e'].map((label) => pool.submit('stamp', label));
      expect(await Promise.all([first, ...rest])).to.deep.equal(['first', 'a', 'b', 'c', 'd', 'e']);
      expectSliding(
        stamps.map(({ at: time }) => time).sort((a, b) => a - b),
        rateLimit,
      );
    });

    it('a job held back stays pending though a worker took it, and cancelling it uses no start', async () => {
      const queue = queueName();
      const { handlers, calls, started } = gatedHandlers();
      const rateLimit = { limit: 1, interval: 60_000 };
      // A worker with the rate limit has served the queue: the client knows it from the start.
      await (await h.serve({ queue, handlers, rateLimit })).close();
      const pool = h.client<typeof handlers>({ queue });
      // Both wait before the next worker starts, so that it takes both at once: the window (one
      // start a minute) lets the first start and holds the second back.
      const first = pool.submit('step', 'first');
      const held = pool.submit('step', 'held');
      for (const future of [first, held]) await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      await h.serve({ queue, handlers, concurrency: 2, rateLimit });
      (await started(0)).gate.resolve();
      // Taken (BullMQ made it active), then handed back to the queue.
      await until(async () => (await h.raw.hget(`bull:${queue}:${held.id}`, 'ats')) === '1' && (await h.raw.zscore(`bull:${queue}:prioritized`, held.id)) !== null);
      // The first job's outcome comes after the held one was taken, by event or by a check.
      expect(await first).to.equal('first:1');
      expect(held.state).to.equal('pending');
      expect(pool.stats).to.include({ pending: 1, running: 0 });
      expect(held.cancel()).to.equal(true);
      expect(held.state).to.equal('cancelled');
      await until(async () => (await h.raw.exists(`bull:${queue}:${held.id}`)) === 0);
      expect(calls.map(({ label }) => label)).to.deep.equal(['first']);
      expect(await h.raw.zcard(`bull:${queue}:taskpool:starts`)).to.equal(1);
    });

    it('counts retries as starts', async () => {
      const queue = queueName();
      const { handlers, stamps } = stampingHandlers();
      const rateLimit = { limit: 2, interval: 400 };
      const server = await h.serve({ queue, handlers, concurrency: 2, rateLimit });
      const pool = h.client<typeof handlers>({ queue });
      // Three attempts without backoff: the third waits until the first leaves the window.
      expect(await pool.run('stamp', ['flaky'], { retry: { attempts: 3, backoff: 0 } })).to.equal('flaky');
      expect(stamps.map(({ attempt }) => attempt)).to.deep.equal([1, 2, 3]);
      expect(server.stats).to.include({ retried: 2, completed: 1, failed: 0 });
      expectSliding(
        stamps.map(({ at }) => at),
        rateLimit,
      );
    });
  });
});
