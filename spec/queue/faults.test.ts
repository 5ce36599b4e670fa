/**
 * taskpool/queue under faults, with real worker processes (`taskpool worker`, dist/cli.js):
 * a worker killed mid-job, graceful and forced stops, Redis restarted with and without
 * persistence while hundreds of jobs are in flight, and the peer dependencies missing.
 *
 * The fixture handlers report their starts on the Redis list `started` and wait for a
 * `release:<tag>` list, so the tests know what runs where without sleeping.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settle } from '../../lib/index.js';
import { packageRoot } from '../helpers.js';
import { nextOf, queueName, useQueueHarness } from './harness.js';

/** The fixture handlers' types (spec/fixtures/queue/handlers.mjs). */
interface Handlers {
  add(a: number, b: number): number;
  hold(tag: string): Promise<number>;
  fail(message: string): never;
}

/** Resolves once `read()` contains `text` (a worker's output, as it arrives). */
async function outputContains(read: () => string, text: string): Promise<void> {
  while (!read().includes(text)) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('taskpool/queue: faults', () => {
  describe('worker processes', () => {
    const h = useQueueHarness();

    it('recovers the job of a worker killed with SIGKILL on another worker; the future settles once', async () => {
      const queue = queueName();
      const first = await h.workerProcess(queue);
      const pool = h.client<Handlers>({ queue });
      const future = pool.submit('hold', 'k1');
      let settlements = 0;
      future.addDoneCallback(() => settlements++);
      const [, firstPid] = (await nextOf(h.raw, 'started')).split(':');
      expect(Number(firstPid)).to.equal(first.child.pid);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await h.workerProcess(queue);
      // The job comes back (stalled-job recovery) and starts on the second worker.
      const [tag, secondPid] = (await nextOf(h.raw, 'started')).split(':');
      expect(tag).to.equal('k1');
      expect(Number(secondPid)).to.equal(second.child.pid);
      expect(future.state).to.equal('running');
      await h.raw.rpush('release:k1', 'go');
      expect(await future).to.equal(second.child.pid);
      expect(settlements).to.equal(1);
      expect(pool.stats).to.include({ completed: 1, failed: 0, pending: 0, running: 0 });
    });

    it('stops gracefully on SIGTERM (the running job finishes), logs failures, prints its counts', async () => {
      const queue = queueName();
      const worker = await h.workerProcess(queue, ['--concurrency', '2']);
      const pool = h.client<Handlers>({ queue });
      expect(await pool.run('fail', ['bad input'])
        .exception()
        .then((error) => (error as Error).message)).to.equal('bad input');
      const held = pool.submit('hold', 'g1');
      await nextOf(h.raw, 'started');
      worker.child.kill('SIGTERM');
      await outputContains(worker.stderr, 'SIGTERM: stopping');
      // It stops taking jobs: this one waits for another worker.
      const later = pool.submit('add', 1, 2);
      await h.raw.rpush('release:g1', 'go');
      expect(await held).to.equal(worker.child.pid);
      expect(await worker.exited).to.equal(0);
      expect(worker.stderr()).to.match(/job .+ \(fail\) failed \(attempt 1 of 1\): RangeError: bad input/);
      expect(worker.stderr()).to.contain('SIGTERM: stopping once the 1 running job(s) finish');
      expect(worker.stdout()).to.contain('taskpool worker: 1 completed, 1 failed, 0 retried, 0 cancelled');
      expect(later.state).to.equal('pending');
      await h.workerProcess(queue);
      expect(await later).to.equal(3);
    });

    it('aborts the running jobs on a second signal: they go back to the queue for another worker', async () => {
      const queue = queueName();
      const worker = await h.workerProcess(queue);
      const pool = h.client<Handlers>({ queue });
      const held = pool.submit('hold', 'a1');
      await nextOf(h.raw, 'started');
      worker.child.kill('SIGTERM');
      await outputContains(worker.stderr, 'SIGTERM: stopping');
      worker.child.kill('SIGINT');
      expect(await worker.exited).to.equal(0);
      expect(worker.stderr()).to.contain('SIGINT again: aborting the 1 running job(s)');
      const other = await h.workerProcess(queue);
      const [tag, pid, attempt] = (await nextOf(h.raw, 'started')).split(':');
      expect([tag, Number(pid), attempt]).to.deep.equal(['a1', other.child.pid, '1']);
      await h.raw.rpush('release:a1', 'go');
      expect(await held).to.equal(other.child.pid);
    });

    it('exits with 2 and the usage for bad arguments, 1 when Redis cannot be reached', async () => {
      const cli = join(packageRoot(), 'dist', 'cli.js');
      const run = (args: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) =>
          execFile(process.execPath, [cli, 'worker', ...args], (error, _stdout, stderr) => resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stderr })),
        );
      const missing = await run(['./handlers.js']);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.contain('--queue is required').and.contain('Usage: taskpool worker');
      const bad = await run(['--queue', 'q', '--concurrency', 'many', './handlers.js']);
      expect(bad.stderr).to.contain('--concurrency must be a positive integer: current value is "many"');
      const fixture = join(packageRoot(), 'spec', 'fixtures', 'queue', 'handlers.mjs');
      const badUrl = await run(['--queue', 'q', '--redis', 'http://nowhere', fixture]);
      expect(badUrl.code).to.equal(1);
      expect(badUrl.stderr).to.contain("'connection' must be a redis:// or rediss:// URL");
    });
  });

  for (const persistence of [true, false]) {
    describe(`Redis restarted with ${persistence ? 'persistence' : 'no persistence'} while 300 jobs are in flight`, () => {
      const h = useQueueHarness({ persistence });

      it(persistence ? 'settles every future with its outcome' : 'rejects every future with a clear error; none hangs', async function () {
        this.timeout(60_000);
        const queue = queueName();
        // Locks longer than the restart: no job is taken for stalled meanwhile.
        const options = ['--concurrency', '50', '--lock-duration', '10000', '--stalled-interval', '5000'];
        await Promise.all([h.workerProcess(queue, options), h.workerProcess(queue, options)]);
        const pool = h.client<Handlers>({ queue });
        const futures = Array.from({ length: 300 }, () => pool.submit('hold', 'r'));
        // 100 running (2 × 50), 200 waiting.
        while ((await h.raw.llen('started')) < 100) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(futures.filter((f) => f.state === 'running').length).to.be.at.most(100);
        await h.redis.kill();
        await h.redis.start();
        await h.raw.rpush('release:r', 'go');
        const outcomes = await Promise.all(futures.map((future) => settle(future)));
        if (persistence) {
          expect(outcomes.filter((outcome) => !outcome.ok)).to.deep.equal([]);
        } else {
          const messages = new Set(outcomes.map((outcome) => (outcome.ok ? 'fulfilled' : (outcome.error as Error).message.replace(/'[0-9a-f-]{36}'/, 'ID'))));
          expect([...messages]).to.deep.equal([`Job ID of queue '${queue}' no longer exists in Redis: it was removed, or Redis lost its data, before it finished`]);
        }
        expect(pool.stats).to.include({ pending: 0, running: 0 });
      });
    });
  }

  describe('without its peer dependencies', () => {
    it('importing taskpool/queue says what to install', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'taskpool-nopeer-'));
      try {
        cpSync(join(packageRoot(), 'dist'), join(dir, 'node_modules', 'taskpool', 'dist'), { recursive: true });
        cpSync(join(packageRoot(), 'package.json'), join(dir, 'node_modules', 'taskpool', 'package.json'));
        writeFileSync(join(dir, 'main.mjs'), "await import('taskpool/queue');\n");
        const stderr = await new Promise<string>((resolve) => execFile(process.execPath, ['main.mjs'], { cwd: dir }, (_error, _stdout, text) => resolve(text)));
        expect(stderr).to.contain("Cannot use taskpool/queue as the package 'ioredis' is not installed: install its peer dependencies with `npm install bullmq@^6 ioredis`");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
