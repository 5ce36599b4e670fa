/**
 * taskpool/queue in one process: a client (QueueExecutor) and a worker (serveQueue) on a
 * private Redis. Handlers wait on gates the tests resolve by hand.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { CancelledError, ExecutorShutdownError, TimeoutError, settle, wait, asCompleted } from '../../lib/index.js';
import { QueueExecutor, serveQueue, type TaskContext } from '../../lib/queue/index.js';
import { decode, encode } from '../../lib/queue/codec.js';
import { capturingConsoleError } from '../fixtures.js';
import { gate, type Gate } from '../helpers.js';
import { freePort } from './redis.js';
import { queueName, useQueueHarness } from './harness.js';

const require = createRequire(import.meta.url);
const { Queue } = require('bullmq') as typeof import('bullmq');

class CustomError extends Error {
  code = 'E_CUSTOM';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CustomError';
  }
}

/** Handlers whose `held` calls wait on gates the test opens; `calls` records every start. */
function heldHandlers() {
  const gates: Gate<unknown>[] = [];
  const started: Gate<{ signal: AbortSignal; attempt: number }>[] = [];
  const startGate = (index: number): Gate<{ signal: AbortSignal; attempt: number }> => (started[index] ??= gate());
  let awaited = 0;
  const calls: unknown[][] = [];
  const handlers = {
    add: (a: number, b: number) => a + b,
    echo: <T>(value: T): T => value,
    throwIt: (value: unknown) => {
      throw value;
    },
    held: async (label: string, { signal, attempt }: TaskContext): Promise<string> => {
      calls.push([label, attempt]);
      const g = gate<unknown>();
      gates.push(g);
      startGate(calls.length - 1).resolve({ signal, attempt });
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      await Promise.race([g.promise, aborted]);
      return `${label}:${attempt}`;
    },
  };
  /** Resolves with the context of the next `held` call. */
  const nextStart = (): Promise<{ signal: AbortSignal; attempt: number }> => startGate(awaited++).promise;
  return { handlers, gates, calls, nextStart };
}

/** Polls `condition` (a Redis state the test cannot be told about) until it holds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('taskpool/queue: QueueExecutor and serveQueue', () => {
  const h = useQueueHarness();

  describe('values and errors on the wire', () => {
    it('keeps structured-clone values: Date, Map, Set, BigInt, typed arrays, cycles', () => {
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      const value = { date: new Date(5), map: new Map([[1, new Set([2n])]]), bytes: new Uint8Array([1, 2, 3]), cyclic, nothing: undefined };
      const back = decode(encode(value)) as typeof value;
      expect(back.date).to.deep.equal(new Date(5));
      expect(back.map.get(1)!.has(2n)).to.equal(true);
      expect(back.bytes).to.deep.equal(new Uint8Array([1, 2, 3]));
      expect((back.cyclic as Record<string, unknown>).self).to.equal(back.cyclic);
      expect(back).to.have.property('nothing', undefined);
    });

    it("rebuilds errors with their class, name, message, stack, cause and own properties, taskpool's own classes included", () => {
      const error = new CustomError('outer', { cause: new RangeError('inner', { cause: new TimeoutError('deep') }) });
      const back = decode(encode({ error, list: [new CancelledError('c')] })) as { error: CustomError; list: Error[] };
      expect(back.error).to.be.instanceOf(Error);
      expect(back.error.name).to.equal('CustomError');
      expect(back.error.message).to.equal('outer');
      expect(back.error.stack).to.equal(error.stack);
      expect(back.error.code).to.equal('E_CUSTOM');
      expect(back.error.cause).to.be.instanceOf(RangeError);
      expect((back.error.cause as Error).cause).to.be.instanceOf(TimeoutError);
      expect(back.list[0]).to.be.instanceOf(CancelledError);
    });

    it('sends what JSON keeps exactly as JSON, and everything else through the serializer', () => {
      for (const value of ['text', '', true, null, 0, 42.5, -7, [1, 'two', false, null], []]) {
        const text = encode(value);
        expect(text[0], JSON.stringify(value)).to.equal('j');
        expect(decode(text)).to.deep.equal(value);
      }
      const extra = Object.assign([1, 2], { label: 'kept' });
      const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
      class Row extends Array<number> {}
      for (const value of [-0, NaN, Infinity, undefined, 10n, [undefined], sparse, extra, Row.from([1]), { a: 1 }, Array.from({ length: 65 }, () => 1)]) {
        expect(encode(value)[0], String(value)).to.equal('v');
      }
      for (const value of [-0, NaN, Infinity, undefined, 10n, [undefined]]) expect(decode(encode(value))).to.deep.equal(value);
      expect(Object.is(decode(encode(-0)), -0)).to.equal(true);
      expect(1 in (decode(encode(sparse)) as unknown[])).to.equal(false);
      expect((decode(encode(extra)) as typeof extra).label).to.equal('kept');
      expect(() => decode('j[1')).to.throw(TypeError, /JSON/);
    });

    it('refuses a value that cannot travel with a TypeError saying why', () => {
      expect(() => encode({ f: () => 1 })).to.throw(TypeError, /could not be cloned/);
      expect(() => decode('not wire text')).to.throw(TypeError, /wire text/);
    });
  });

  describe('submit, run, map', () => {
    it('runs a job on the worker and types the future from the handlers', async () => {
      const queue = queueName();
      const { handlers } = heldHandlers();
      await h.serve({ queue, handlers, concurrency: 2 });
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.submit('add', 2, 3);
      expect(future.id).to.match(/^[0-9a-f-]{36}$/);
      const sum: number = await future;
      expect(sum).to.equal(5);
      expect(pool.stats).to.include({ pending: 0, running: 0, completed: 1, failed: 0, cancelled: 0 });
      // Names and arguments are checked against the handlers; the context is not sent.
      // @ts-expect-error -- no handler of that name
      expect(() => pool.submit('nope', 1)).to.not.throw();
      // @ts-expect-error -- 'add' takes two numbers
      await pool.submit('add', 'two', 3).exception();
      const label: Promise<string> = pool.run('held', ['x'], { timeout: 1 }).catch(() => 'timed out');
      expect(await label).to.be.a('string');
    });

    it('is pending while the job waits, running once a worker took it, then settled', async () => {
      const queue = queueName();
      const { handlers, gates, nextStart } = heldHandlers();
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.submit('held', 'a');
      // No worker yet: the job waits in Redis.
      await until(async () => (await h.raw.hget(`bull:${queue}:${future.id}`, 'name')) === 'held');
      expect(future.state).to.equal('pending');
      await h.serve({ queue, handlers });
      await nextStart();
      await until(async () => future.state === 'running');
      gates[0]!.resolve(undefined);
      expect(await future).to.equal('a:1');
      expect(future.state).to.equal('fulfilled');
    });

    it('sends arguments and results with structured-clone fidelity', async () => {
      const queue = queueName();
      const { handlers } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const value = { when: new Date(7), ids: new Set([1n, 2n]), nested: new Map([['k', new Float64Array([0.5])]]) };
      expect(await pool.submit('echo', value)).to.deep.equal(value);
    });

    it('rejects with the error the handler threw, rebuilt', async () => {
      const queue = queueName();
      const { handlers } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const thrown = new CustomError('nope', { cause: new TypeError('why') });
      const error = (await pool.submit('throwIt', thrown).exception()) as CustomError;
      expect(error.name).to.equal('CustomError');
      expect(error.code).to.equal('E_CUSTOM');
      expect(error.cause).to.be.instanceOf(TypeError);
      expect(await pool.submit('throwIt', 0).exception()).to.equal(0);
      expect(await pool.submit('throwIt', new TimeoutError('ours')).exception()).to.be.instanceOf(TimeoutError);
    });

    it('rejects an argument that cannot travel with a TypeError, and adds no job', async () => {
      const queue = queueName();
      const pool = h.client({ queue });
      const future = pool.submit('echo', Symbol('no'));
      const error = await future.exception();
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/Cannot submit job 'echo' to queue '.+' as its arguments cannot travel/);
      expect(await h.raw.exists(`bull:${queue}:${future.id}`)).to.equal(0);
    });

    it('rejects a job naming a handler the worker does not have, naming it, without retrying', async () => {
      const queue = queueName();
      const { handlers } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client({ queue });
      const error = (await pool.run('resize', [1], { retry: { attempts: 3 } }).exception()) as Error;
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.contain('has no handler named "resize"').and.contain("'add', 'echo'");
    });

    it('maps in input order with bufferSize, and works with wait, asCompleted and settle', async () => {
      const queue = queueName();
      const { handlers } = heldHandlers();
      await h.serve({ queue, handlers, concurrency: 8 });
      const pool = h.client<typeof handlers>({ queue });
      const results: number[] = [];
      for await (const sum of pool.map('add', [1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60], { bufferSize: 2 })) results.push(sum);
      expect(results).to.deep.equal([11, 22, 33, 44, 55, 66]);
      const futures = [pool.submit('add', 1, 1), pool.submit('throwIt', new Error('x'))];
      const { done } = await wait(futures);
      expect(done.size).to.equal(2);
      let count = 0;
      for await (const { result } of asCompleted(futures)) count += result.ok ? 1 : 10;
      expect(count).to.equal(11);
      expect(await settle(futures[0]!)).to.deep.equal({ ok: true, value: 2 });
    });

    it('follows the existing job when run with the key of one in flight', async () => {
      const queue = queueName();
      const { handlers, gates, calls, nextStart } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const first = pool.run('held', ['k'], { key: 'same-key' });
      const second = pool.run('held', ['k'], { key: 'same-key' });
      await nextStart();
      gates[0]!.resolve(undefined);
      expect(await first).to.equal('k:1');
      expect(await second).to.equal('k:1');
      expect(first.id).to.equal('same-key');
      expect(calls).to.have.length(1);
    });
  });

  describe('cancel', () => {
    it('removes a waiting job: it never runs', async () => {
      const queue = queueName();
      const { handlers, calls } = heldHandlers();
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.submit('held', 'never');
      await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      expect(future.cancel('not needed')).to.equal(true);
      expect(future.state).to.equal('cancelled');
      await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 0);
      const server = await h.serve({ queue, handlers });
      expect(await pool.submit('add', 1, 1)).to.equal(2);
      expect(calls).to.deep.equal([]);
      expect(server.stats.completed).to.equal(1);
    });

    it("aborts a running job's signal from another client process, with the reason as cause, and does not retry it", async () => {
      const queue = queueName();
      const { handlers, calls, nextStart } = heldHandlers();
      const server = await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.run('held', ['long'], { retry: { attempts: 3, backoff: 0 } });
      const { signal } = await nextStart();
      // Another client, as another process would, attaches by id and cancels.
      const other = h.client({ queue });
      const attached = other.attach(future.id);
      await until(async () => attached.state === 'running');
      const aborted = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
      attached.cancel('user pressed stop');
      const reason = await aborted;
      expect(reason).to.be.instanceOf(CancelledError).and.include({ message: `Cancelled by a client of queue '${queue}'` });
      expect((reason as Error).cause).to.equal('user pressed stop');
      // The submitting client's future settles as cancelled too, with the other client's reason.
      const seen = (await future.then(
        () => undefined,
        (error: unknown) => error,
      )) as Error;
      expect(future.state).to.equal('cancelled');
      expect(seen).to.be.instanceOf(CancelledError);
      expect(seen.cause).to.equal('user pressed stop');
      expect(pool.stats).to.include({ cancelled: 1, failed: 0, running: 0 });
      await until(async () => server.stats.cancelled === 1);
      expect(calls).to.have.length(1);
      expect(server.stats).to.include({ cancelled: 1, retried: 0 });
    });

    it('cancelling right after submit (racing the start) never leaves the handler running', async () => {
      const queue = queueName();
      const { handlers, calls } = heldHandlers();
      const server = await h.serve({ queue, handlers, concurrency: 4 });
      const pool = h.client<typeof handlers>({ queue });
      const futures = Array.from({ length: 20 }, (_, i) => pool.submit('held', `race${i}`));
      await until(async () => calls.length > 0 || futures.every((f) => f.state === 'pending'));
      for (const future of futures) future.cancel();
      expect(futures.every((f) => f.cancelled())).to.equal(true);
      // Every job that started had its signal aborted: nothing stays active on the worker.
      await until(async () => server.stats.active === 0);
      expect(server.stats.completed).to.equal(0);
      expect(pool.stats).to.include({ pending: 0, running: 0, cancelled: 20 });
    });

    it('runs a job whose key was used by a job cancelled just before: the cancellation was for that one', async () => {
      const queue = queueName();
      const { handlers, gates, calls, nextStart } = heldHandlers();
      const server = await h.serve({ queue, handlers, concurrency: 1 });
      const pool = h.client<typeof handlers>({ queue });
      const blocker = pool.submit('held', 'blocker');
      await nextStart();
      const first = pool.run('held', ['first'], { key: 'order:7' });
      await until(async () => (await h.raw.exists(`bull:${queue}:${first.id}`)) === 1);
      // The worker hears the cancellation (it keeps it a while, for a start that races it).
      first.cancel();
      await until(async () => (await h.raw.exists(`bull:${queue}:${first.id}`)) === 0);
      const second = pool.run('held', ['second'], { key: 'order:7' });
      expect(second.id).to.equal(first.id);
      await until(async () => (await h.raw.exists(`bull:${queue}:${second.id}`)) === 1);
      gates[0]!.resolve(undefined);
      expect(await blocker).to.equal('blocker:1');
      await nextStart();
      gates[1]!.resolve(undefined);
      expect(await second).to.equal('second:1');
      expect(calls.map(([label]) => label)).to.deep.equal(['blocker', 'second']);
      expect(server.stats).to.include({ cancelled: 0, completed: 2 });
    });

    it('cancels through a run signal, already aborted included', async () => {
      const queue = queueName();
      const pool = h.client({ queue });
      const controller = new AbortController();
      controller.abort('early');
      const future = pool.run('add', [1, 2], { signal: controller.signal });
      expect(future.cancelled()).to.equal(true);
      await pool.onIdle();
      expect(await h.raw.exists(`bull:${queue}:${future.id}`)).to.equal(0);
    });
  });

  describe('timeouts and retries', () => {
    it('times an attempt out on the worker (its signal aborts) and rejects with TimeoutError', async () => {
      const queue = queueName();
      const { handlers, nextStart } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const future = pool.run('held', ['slow'], { timeout: 50 });
      const { signal } = await nextStart();
      const error = await future.exception();
      expect(error).to.be.instanceOf(TimeoutError);
      await until(async () => signal.aborted);
      expect(signal.reason).to.be.instanceOf(TimeoutError);
    });

    it('retries with attempts and backoff on the worker, calling retryIf and onRetry there', async () => {
      const queue = queueName();
      let runs = 0;
      const retries: { attempt: number; delay: number }[] = [];
      const handlers = {
        flaky: (succeedOn: number, { attempt }: TaskContext) => {
          runs++;
          if (attempt < succeedOn) throw new Error(`attempt ${attempt}`);
          return attempt;
        },
      };
      await h.serve({ queue, handlers, onRetry: ({ attempt, delay }) => retries.push({ attempt, delay }), retryIf: (error) => !String((error as Error).message).includes('fatal') });
      const pool = h.client<typeof handlers>({ queue });
      expect(await pool.run('flaky', [3], { retry: { attempts: 4, backoff: { initial: 1, max: 5, jitter: 'none' } } })).to.equal(3);
      expect(retries).to.deep.equal([
        { attempt: 1, delay: 1 },
        { attempt: 2, delay: 2 },
      ]);
      const error = (await pool.run('flaky', [9], { retry: { attempts: 2, backoff: 0 } }).exception()) as Error;
      expect(error.message).to.equal('attempt 2');
      expect(runs).to.equal(5);
      // As many attempts as it takes (JSON has no Infinity: the job counts up to 2 ** 53 - 1).
      expect(await pool.run('flaky', [4], { retry: { attempts: Infinity, backoff: 0 } })).to.equal(4);
      expect(runs).to.equal(9);
    });

    it('does not retry when retryIf gives no boolean (an async retryIf), and reports why', async () => {
      const queue = queueName();
      let runs = 0;
      const handlers = {
        failing: () => {
          runs++;
          throw new Error('down');
        },
      };
      await h.serve({ queue, handlers, retryIf: (async () => true) as never });
      const pool = h.client<typeof handlers>({ queue });
      const reports = await capturingConsoleError(async () => {
        const error = (await pool.run('failing', [], { retry: { attempts: 3, backoff: 0 } }).exception()) as Error;
        expect(error.message).to.equal('down');
      });
      expect(runs).to.equal(1);
      const report = reports.find((args) => String(args[0]).includes('retryIf threw'));
      expect(String(report?.[1])).to.equal("TypeError: 'retryIf' must return a boolean: it returned Promise {}");
    });

    it('stops at a deadline over all attempts', async () => {
      const queue = queueName();
      const handlers = { never: (_: number, { signal }: TaskContext) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))) };
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const error = (await pool.run('never', [1], { deadline: 100, retry: { attempts: 50, backoff: 0 } }).exception()) as Error;
      expect(error).to.be.instanceOf(TimeoutError);
      expect(error.message).to.contain('deadline');
    });
  });

  describe('attach, lost and duplicate events, removed jobs', () => {
    it('attaches to a finished job and to a running one from another client; an unknown id rejects', async () => {
      const queue = queueName();
      const { handlers, gates, nextStart } = heldHandlers();
      await h.serve({ queue, handlers });
      const pool = h.client<typeof handlers>({ queue });
      const done = pool.submit('add', 20, 22);
      await done;
      const running = pool.submit('held', 'x');
      await nextStart();
      const other = h.client({ queue });
      expect(await other.attach(done.id)).to.equal(42);
      const attached = other.attach(running.id);
      gates[0]!.resolve(undefined);
      expect(await attached).to.equal('x:1');
      const error = (await other.attach('no-such-job').exception()) as Error;
      expect(error.message).to.match(/Cannot attach to job 'no-such-job' of queue '.+' as it does not exist/);
    });

    it('settles a future whose completion event was lost, and a duplicate event changes nothing', async () => {
      const queue = queueName();
      const { handlers, gates, nextStart } = heldHandlers();
      await h.serve({ queue, handlers, concurrency: 2 });
      const pool = h.client<typeof handlers>({ queue });
      const decoy = pool.submit('held', 'decoy');
      const real = pool.submit('held', 'real');
      await nextStart();
      await nextStart();
      const events = `bull:${queue}:events`;
      // The client reads a (forged) completion of the decoy far in the future of the stream...
      await h.raw.del(events);
      await h.raw.xadd(events, '9999999999999-0', 'event', 'completed', 'jobId', decoy.id, 'returnvalue', JSON.stringify(encode('forged')));
      expect(await decoy).to.equal('forged');
      // ...so the real completion, written with an earlier id, is never delivered to it.
      await h.raw.del(events);
      gates.forEach((g) => g.resolve(undefined));
      expect(await real).to.equal('real:1');
      // A second (duplicate) completion with another value does not settle it again.
      await h.raw.xadd(events, '*', 'event', 'completed', 'jobId', real.id, 'returnvalue', JSON.stringify(encode('twice')));
      expect(await real).to.equal('real:1');
      expect(pool.stats.completed).to.equal(2);
    });

    it('rejects with a clear error when the job is removed behind its back', async () => {
      const queue = queueName();
      const pool = h.client({ queue });
      const future = pool.submit('add', 1, 2);
      await until(async () => (await h.raw.exists(`bull:${queue}:${future.id}`)) === 1);
      const raw = new Queue(queue, { connection: { url: h.redis.url } });
      await raw.remove(future.id);
      await raw.close();
      const error = (await future.exception()) as Error;
      expect(error.message).to.match(/no longer exists in Redis/);
      // Deleted without any event: the next check finds it gone.
      const silent = pool.submit('add', 3, 4);
      await until(async () => (await h.raw.exists(`bull:${queue}:${silent.id}`)) === 1);
      await h.raw.del(`bull:${queue}:${silent.id}`);
      expect(((await silent.exception()) as Error).message).to.match(/no longer exists in Redis/);
    });
  });

  describe('shutdown and bad input', () => {
    it('waits for its jobs in flight, cancels waiting ones with cancelFutures, then refuses work', async () => {
      const queue = queueName();
      const { handlers, gates, nextStart } = heldHandlers();
      await h.serve({ queue, handlers, concurrency: 1 });
      const pool = h.client<typeof handlers>({ queue });
      const running = pool.submit('held', 'r');
      await nextStart();
      const waiting = pool.submit('held', 'w');
      await until(async () => (await h.raw.exists(`bull:${queue}:${waiting.id}`)) === 1);
      let shutDown = false;
      const closing = pool.shutdown({ cancelFutures: true }).then(() => (shutDown = true));
      expect(waiting.cancelled()).to.equal(true);
      expect(() => pool.submit('add', 1, 1)).to.throw(ExecutorShutdownError);
      await until(async () => running.state === 'running');
      expect(shutDown).to.equal(false);
      gates[0]!.resolve(undefined);
      await closing;
      expect(await running).to.equal('r:1');
    });

    it('checks its options, naming them', () => {
      expect(() => new QueueExecutor({ queue: 'q', connection: 'http://x' })).to.throw(TypeError, "Cannot create QueueExecutor as 'connection' must be a redis:// or rediss:// URL, or ioredis options: current value is \"http://x\"");
      expect(() => new QueueExecutor({ queue: 'a:b', connection: 'redis://x' })).to.throw(TypeError, /'queue' must be a non-empty string without ":"/);
      expect(() => new QueueExecutor({ queue: 'q', connection: 'redis://x', maxWorkers: 2 } as never)).to.throw(TypeError, /'maxWorkers' is not an option of a queue client/);
      expect(() => new QueueExecutor({ queue: 'q', connection: 'redis://x', colour: 1 } as never)).to.throw(TypeError, /unknown key "colour"/);
      expect(() => new QueueExecutor({ queue: 'q', connection: 'redis://x', rateLimit: { limit: 1, interval: 1 } } as never)).to.throw(TypeError, /'rateLimit' is not an option of a queue client: it is given on the workers/);
      const pool = h.client({ queue: queueName() });
      expect(() => pool.run('add', [1], { retry: { attempts: 0 } })).to.throw(RangeError, /'retry.attempts' must be a positive integer/);
      expect(() => pool.run('add', [1], { retry: { attempts: 2, backoff: (() => 1) as never } })).to.throw(TypeError, /cannot travel/);
      expect(() => pool.run('add', [1], { priority: 0.5 })).to.throw(RangeError, /'priority'/);
      // Two BullMQ priorities per priority (a job's and its retries'): half of BullMQ's range.
      expect(() => pool.run('add', [1], { priority: 500_001 })).to.throw(RangeError, /'priority' must be an integer from -500000 to 500000: current value is 500001$/);
      expect(() => pool.run('add', [1], { priority: -500_001 })).to.throw(RangeError, /'priority' must be an integer from -500000 to 500000: current value is -500001$/);
      expect(() => pool.submit('' as never)).to.throw(TypeError, /'name' must be the name of a handler/);
      expect(() => pool.attach(5 as never)).to.throw(TypeError, /'id' must be a string/);
    });

    it('rejects, never hangs, when Redis is down at start (client and worker)', async () => {
      const port = await freePort();
      const connection = `redis://127.0.0.1:${port}`;
      const pool = h.client({ queue: queueName(), connection, connectTimeout: 300 });
      const error = (await pool.submit('add', 1, 2).exception()) as Error;
      expect(error.message).to.match(/Cannot add job '.+' \(add\) to queue '.+' as Redis at redis:\/\/127\.0\.0\.1:\d+\/? did not accept it/);
      const serving = serveQueue({ queue: 'q', connection, handlers: { add: () => 1 }, connectTimeout: 300 });
      const problem = await serving.then(
        () => undefined,
        (reason: unknown) => reason as Error,
      );
      expect(problem?.message).to.match(/Cannot serve queue 'q' as Redis at .+ did not answer within 300 ms/);
    });
  });
});
