import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BrokenExecutorError, CancelledError, ExecutorShutdownError, TimeoutError, type Future } from '../lib/index.js';
import { WorkerCrashError, WorkerPoolExecutor } from '../lib/worker/index.js';
import { cleanupWorkerPools, fixture, TASKS, workerPool } from './fixtures/worker/harness.js';
import { rejectionOf } from './fixtures.js';

/** Waits for a condition that an event (a worker's exit) will make true; the mocha timeout bounds it. */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('WorkerPoolExecutor', () => {
  afterEach(cleanupWorkerPools);

  describe('tasks', () => {
    it('runs sync and async exports with structured-cloned arguments and results', async () => {
      const { executor } = workerPool({ maxWorkers: 2 });
      const value = { when: new Date(0), ids: new Map([[1n, [new Uint8Array([1, 2])]]]), nested: { list: [1, 'two', null] } };
      expect(await executor.submit('add', 2, 3)).to.equal(5);
      expect(await executor.submit('addAsync', 4, 5)).to.equal(9);
      expect(await executor.submit('thenable', 'then')).to.equal('then');
      const echoed = await executor.submit('echo', value);
      expect(echoed).to.deep.equal(value);
      expect(echoed).not.to.equal(value);
      expect(await executor.run('add', [1, 1])).to.equal(2);
      expect(executor.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 5, failed: 0, cancelled: 0 });
    });

    it('copies the arguments of run() when it is called', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const blocker = executor.run('gated', [0]);
      const args = [1, 2];
      const sum = executor.run('add', args);
      args[0] = 100;
      board.release(0);
      await blocker;
      expect(await sum).to.equal(3);
    });

    it('reuses an idle worker', async () => {
      const { executor } = workerPool({ maxWorkers: 2 });
      const { submit } = executor;
      const first = await submit('threadId');
      expect(await executor.submit('threadId')).to.equal(first);
      expect(executor.workerCount).to.equal(1);
    });

    it('loads CommonJS modules, whose module.exports functions are tasks', async () => {
      const { executor } = workerPool({ filename: fixture('tasks.cjs') });
      expect(await executor.submit('double', 21)).to.equal(42);
      expect(await executor.submit('describe')).to.equal('commonjs');
    });

    it("finds functions on an ES module's default export object", async () => {
      const { executor } = workerPool();
      expect(await executor.submit('fromDefault')).to.equal('default export object');
    });

    it('accepts a path relative to the current directory, or a file URL string', async () => {
      const path = relative(process.cwd(), fileURLToPath(TASKS));
      expect(await workerPool({ filename: path }).executor.submit('add', 1, 2)).to.equal(3);
      expect(await workerPool({ filename: TASKS.href }).executor.submit('add', 2, 2)).to.equal(4);
      expect(workerPool({ filename: path }).executor.filename).to.equal(pathToFileURL(fileURLToPath(TASKS)).href);
    });

    it('passes workerData and env through', async () => {
      const { executor } = workerPool({ workerData: { region: 'eu' }, env: { TASKPOOL_SPEC: 'yes' } });
      expect(await executor.submit('getWorkerData')).to.deep.equal({ region: 'eu' });
      expect(await executor.submit('getEnv', 'TASKPOOL_SPEC')).to.equal('yes');
    });

    it('fails an unknown export with a TypeError naming it, and keeps serving', async () => {
      const { executor } = workerPool({ name: 'named', maxWorkers: 1 });
      const unknown = await rejectionOf(executor.submit('nope' as never));
      expect(unknown).to.be.instanceOf(TypeError);
      expect((unknown as Error).message).to.match(/executor 'named' as 'name' must name a function exported by file:.*tasks\.mjs: current value is "nope" \(its functions: .*"gated"/);
      expect((await rejectionOf(executor.submit('notAFunction'))) as Error).to.be.instanceOf(TypeError);
      expect(await executor.submit('add', 1, 2)).to.equal(3);
      expect(executor.stats).to.include({ failed: 2, completed: 1 });
    });

    it('fails an argument that cannot be cloned with a TypeError naming the task; the worker stays', async () => {
      const { executor } = workerPool({ maxWorkers: 1 });
      const worker = await executor.submit('threadId');
      const error = await rejectionOf(executor.submit('echo', () => 'a function'));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/Cannot run task "echo" on executor '.*' as its arguments cannot be cloned: /);
      expect((error as Error).cause).to.have.property('name', 'DataCloneError');
      expect(await executor.submit('threadId')).to.equal(worker);
    });

    it('fails a result that cannot be cloned with a TypeError', async () => {
      const { executor } = workerPool();
      const error = await rejectionOf(executor.submit('returnUncloneable'));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/Cannot return the result of task "returnUncloneable" .* as it cannot be cloned/);
    });

    it('transfers buffers listed in transfer when the task starts', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const blocker = executor.run('gated', [0]);
      const moved = new Uint8Array([1, 2, 3]).buffer;
      const copied = new Uint8Array([4, 5]).buffer;
      const kept = new Uint8Array([6]).buffer;
      const sumMoved = executor.run('sum', [moved], { transfer: [moved] });
      const sumCopied = executor.run('sum', [copied], { transfer: undefined });
      const cancelled = executor.run('sum', [kept], { transfer: [kept] });
      cancelled.cancel();
      expect(moved.byteLength).to.equal(3);
      board.release(0);
      await blocker;
      expect(await sumMoved).to.equal(6);
      expect(moved.byteLength).to.equal(0);
      expect(await sumCopied).to.equal(9);
      expect(copied.byteLength).to.equal(2);
      expect(kept.byteLength).to.equal(1);
    });

    it('refuses transfer on a task that may be retried (a retry would get the moved buffer empty), and takes it on one that may not', async () => {
      const { executor } = workerPool({ maxWorkers: 1, retry: { attempts: 3 } });
      const buffer = new Uint8Array([1, 2, 3]).buffer;
      const message =
        "Cannot run a task on executor '" +
        executor.name +
        "' as 'transfer' cannot be given to a task that may be retried ('retry.attempts' is 3): what it lists moves to the worker of the first attempt, and a retry would get it emptied; copy the data instead (no 'transfer'), or give this task 'retry: { attempts: 1 }'";
      expect(() => executor.run('sum', [buffer], { transfer: [buffer] })).to.throw(TypeError).with.property('message', message);
      expect(() => executor.run('sum', [buffer], { transfer: [buffer], retry: { attempts: 2 } })).to.throw(TypeError, "('retry.attempts' is 2)");
      expect(buffer.byteLength).to.equal(3);
      expect(executor.stats.pending).to.equal(0);
      // Nothing listed, or a task that makes one attempt: accepted.
      expect(await executor.run('sum', [buffer], { transfer: [] })).to.equal(6);
      expect(await executor.run('sum', [buffer], { transfer: [buffer], retry: { attempts: 1 } })).to.equal(6);
      expect(buffer.byteLength).to.equal(0);
      const plain = workerPool({ maxWorkers: 1 }).executor;
      const other = new Uint8Array([4]).buffer;
      expect(() => plain.run('sum', [other], { transfer: [other], retry: { attempts: 2 } })).to.throw(TypeError, "('retry.attempts' is 2)");
      expect(await plain.run('sum', [other], { transfer: [other] })).to.equal(4);
    });

    it("leaves the worker's parentPort to the task module", async () => {
      const { executor } = workerPool({ maxWorkers: 1 });
      expect(await executor.submit('chatter')).to.equal('done');
      expect(await executor.submit('add', 1, 2)).to.equal(3);
    });

    it('maps an export over iterables', async () => {
      const { executor } = workerPool({ maxWorkers: 2 });
      const sums: number[] = [];
      for await (const sum of executor.map('add', [1, 2, 3], [10, 20, 30], { bufferSize: 2 })) sums.push(sum as number);
      expect(sums).to.deep.equal([11, 22, 33]);
    });
  });

  describe('errors', () => {
    it('rebuilds errors with their name, message, stack, cause and cloneable properties', async () => {
      const { executor } = workerPool();
      const error = (await rejectionOf(executor.submit('fail', 'bad input'))) as Error & Record<string, unknown>;
      expect(error).to.be.instanceOf(Error);
      expect(error.name).to.equal('Error');
      expect(error.message).to.equal('bad input');
      expect(error.stack).to.match(/tasks\.mjs/);
      expect(error.cause).to.be.instanceOf(RangeError);
      expect((error.cause as Error).message).to.equal('root cause');
      expect(error.code).to.equal('E_TASK');
      expect(error.details).to.deep.equal({ retry: false });
      expect(error).not.to.have.property('callback');
      expect(error).not.to.have.property('handle');
    });

    it('keeps the built-in class and the name of a subclass', async () => {
      const { executor } = workerPool();
      const parse = (await rejectionOf(executor.submit('failCustom'))) as SyntaxError & { line: number };
      expect(parse).to.be.instanceOf(SyntaxError);
      expect([parse.name, parse.message, parse.line]).to.deep.equal(['ParseError', 'unexpected token', 3]);
      const type = await rejectionOf(executor.submit('failAsync', 'async'));
      expect(type).to.be.instanceOf(TypeError);
      const aggregate = (await rejectionOf(executor.submit('failAggregate'))) as AggregateError;
      expect(aggregate).to.be.instanceOf(AggregateError);
      expect(aggregate.errors[0]).to.be.instanceOf(Error);
      expect(aggregate.errors[1]).to.equal('two');
      const dom = (await rejectionOf(executor.submit('failDomException'))) as DOMException;
      expect(dom).to.be.instanceOf(DOMException);
      expect([dom.name, dom.message]).to.deep.equal(['TimeoutError', 'took too long']);
    });

    it('fails with any thrown value, falsy ones included', async () => {
      const { executor } = workerPool();
      for (const value of [0, undefined, null, '', { plain: true }]) {
        const thrown = executor.submit('throwValue', value);
        const rejected = executor.submit('rejectValue', value);
        expect(await thrown.exception()).to.deep.equal(value);
        expect(await rejected.exception()).to.deep.equal(value);
        expect([thrown.state, rejected.state]).to.deep.equal(['rejected', 'rejected']);
      }
    });

    it('fails with a TypeError when what the task threw cannot be cloned', async () => {
      const { executor } = workerPool();
      const error = await rejectionOf(executor.submit('throwUncloneable'));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/Cannot report what task "throwUncloneable" threw .* as it cannot be cloned/);
    });
  });

  describe('preemption', () => {
    it('terminates the worker of a cancelled running task; a fresh one runs the next', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const first = await executor.submit('threadId');
      const running = executor.run('gated', [0]);
      const next = executor.submit('threadId');
      await board.started(0);
      running.cancel();
      expect(running.state).to.equal('cancelled');
      expect(executor.stats.running).to.equal(1);
      const fresh = await next;
      expect(fresh).not.to.equal(first);
      expect(executor.workerCount).to.equal(1);
      expect(executor.stats).to.include({ cancelled: 1, completed: 2, running: 0 });
    });

    it('terminates the worker of a task that times out, and rejects it with a TimeoutError', async () => {
      const { executor } = workerPool({ maxWorkers: 1, name: 'timed' });
      const first = await executor.submit('threadId');
      const slow = executor.run('gated', [0], { timeout: 10 });
      const error = await rejectionOf(slow);
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as Error).message).to.match(/'timed' timed out after 10 ms/);
      expect(slow.state).to.equal('rejected');
      expect(await executor.submit('threadId')).not.to.equal(first);
      expect(executor.workerCount).to.equal(1);
    });

    it('starts a fresh worker in place of a terminated one at once', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const old = await executor.submit('threadId');
      const running = executor.run('gated', [0]);
      await board.started(0);
      running.cancel();
      expect(executor.workerCount).to.equal(1);
      await eventually(() => executor.stats.running === 0);
      // The old worker is gone and its replacement is already there, before any new task.
      expect(executor.workerCount).to.equal(1);
      expect(await executor.submit('threadId')).not.to.equal(old);
    });

    it('terminates the worker when the signal of a running task aborts', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const controller = new AbortController();
      const running = executor.run('gated', [0], { signal: controller.signal });
      await board.started(0);
      const reason = new Error('no longer needed');
      controller.abort(reason);
      expect(await rejectionOf(running)).to.be.instanceOf(CancelledError).and.include({ cause: reason });
      expect(await executor.submit('add', 2, 2)).to.equal(4);
    });

    it('cancels a task whose worker is still loading the module', async () => {
      const { executor } = workerPool({ maxWorkers: 1 });
      const future = executor.submit('add', 1, 2);
      future.cancel();
      expect(await rejectionOf(future)).to.be.instanceOf(CancelledError);
      expect(await executor.submit('add', 2, 3)).to.equal(5);
      expect(executor.isShutdown).to.equal(false);
    });
  });

  describe('crashes', () => {
    it('fails only the task whose worker threw an uncaught error, and keeps serving', async () => {
      const { executor, board } = workerPool({ maxWorkers: 2, name: 'crashy' });
      const other = executor.run('gated', [0]);
      await board.started(0);
      const error = (await rejectionOf(executor.submit('crash', 'from a timer'))) as WorkerCrashError;
      expect(error).to.be.instanceOf(WorkerCrashError);
      expect(error.name).to.equal('WorkerCrashError');
      expect(error.message).to.equal(`A worker of executor 'crashy' crashed while running task "crash": uncaught from a timer`);
      expect(error.exitCode).to.equal(1);
      expect((error.cause as Error).message).to.equal('from a timer');
      class Subclass extends WorkerCrashError {}
      expect(error).not.to.be.instanceOf(Subclass);
      expect(new Subclass('x', 1)).to.be.instanceOf(Subclass).and.instanceOf(WorkerCrashError);
      expect(other.state).to.equal('running');
      board.release(0);
      expect(await other).to.equal(0);
      expect(await executor.submit('add', 1, 2)).to.equal(3);
      expect(executor.stats).to.include({ failed: 1, completed: 2 });
    });

    it('fails the task of a worker ended by an unhandled rejection', async () => {
      const { executor } = workerPool();
      const error = (await rejectionOf(executor.submit('rejectUnhandled', 'nobody caught me'))) as WorkerCrashError;
      expect(error).to.be.instanceOf(WorkerCrashError);
      expect(error.message).to.match(/crashed while running task "rejectUnhandled": uncaught nobody caught me/);
    });

    it('fails the task of a worker that calls process.exit, with its exit code', async () => {
      const { executor } = workerPool();
      const error = (await rejectionOf(executor.submit('exit', 7))) as WorkerCrashError;
      expect(error).to.be.instanceOf(WorkerCrashError);
      expect(error.exitCode).to.equal(7);
      expect(error.message).to.match(/exited with code 7 while running task "exit"/);
      expect(await executor.submit('add', 1, 2)).to.equal(3);
    });

    it('fails the task of a worker that runs out of memory under resourceLimits', async () => {
      const { executor } = workerPool({ resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } });
      const error = (await rejectionOf(executor.submit('exhaustMemory'))) as WorkerCrashError;
      expect(error).to.be.instanceOf(WorkerCrashError);
      expect(error.message).to.match(/ran out of memory while running task "exhaustMemory": raise 'resourceLimits'/);
      expect(error.cause).to.have.property('code', 'ERR_WORKER_OUT_OF_MEMORY');
      expect(await executor.submit('add', 1, 2)).to.equal(3);
    });

    it('delivers a result posted just before the worker ended', async () => {
      // One task per executor: a next task could land on the worker as it ends, and fail.
      const futures = [1, 2, 3].map((value) => workerPool({ maxWorkers: 1 }).executor.submit('exitAfterReturn', value));
      expect(await Promise.all(futures)).to.deep.equal([1, 2, 3]);
    });

    it('reports a worker that crashes while idle, and replaces it up to minWorkers', async () => {
      const { executor } = workerPool({ maxWorkers: 1, minWorkers: 1 });
      const reported: unknown[][] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void reported.push(args);
      try {
        expect(await executor.submit('crashWhenIdle', 'late')).to.equal('returned');
        await eventually(() => reported.length > 0);
      } finally {
        console.error = original;
      }
      expect(String(reported[0]![0])).to.match(/worker of executor '.*' exited with code 1 while idle/);
      expect((reported[0]![1] as Error).message).to.equal('late');
      expect(executor.workerCount).to.equal(1);
      expect(await executor.submit('add', 1, 2)).to.equal(3);
    });
  });

  describe('broken module', () => {
    it('fails the running and queued futures with BrokenExecutorError, then refuses work', async () => {
      const { executor } = workerPool({ filename: fixture('broken.mjs'), maxWorkers: 1, name: 'broken' });
      const running = executor.submit('never');
      const queued = executor.submit('never');
      const error = (await rejectionOf(running)) as BrokenExecutorError;
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect(error.message).to.match(/Cannot run tasks on executor 'broken' as its module file:.*broken\.mjs could not be loaded in a worker \(cannot load this module\)/);
      expect((error.cause as Error).message).to.equal('cannot load this module');
      expect(await rejectionOf(queued)).to.equal(error);
      expect(() => executor.submit('never')).to.throw(BrokenExecutorError);
      await executor.shutdown();
      expect(executor.workerCount).to.equal(0);
      expect(executor.stats).to.include({ failed: 2, pending: 0, running: 0 });
    });

    it('breaks at once when minWorkers cannot load the module', async () => {
      const { executor } = workerPool({ filename: fixture('broken.mjs'), minWorkers: 2, maxWorkers: 2 });
      expect(executor.workerCount).to.equal(2);
      await eventually(() => executor.workerCount === 0);
      expect(() => executor.submit('never')).to.throw(BrokenExecutorError, /cannot load this module/);
    });

    it('breaks when the module does not exist', async () => {
      const { executor } = workerPool({ filename: fixture('missing.mjs') });
      const error = await rejectionOf(executor.submit('anything'));
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect((error as Error).message).to.match(/missing\.mjs could not be loaded/);
    });

    it('breaks when the worker exits while loading the module', async () => {
      const { executor } = workerPool({ filename: fixture('exit-on-load.mjs') });
      const error = await rejectionOf(executor.submit('anything'));
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect((error as Error).message).to.match(/its worker exited with code 3 while loading it/);
    });

    it('breaks when a worker cannot be started', async () => {
      // `--input-type` is left out of the workers' execArgv; what remains is then passed
      // explicitly, and Node refuses a flag a worker cannot have.
      const { execArgv } = process;
      process.execArgv = ['--input-type=module', '--title=taskpool'];
      let executor: WorkerPoolExecutor;
      try {
        executor = workerPool().executor;
        expect(() => workerPool({ minWorkers: 1 })).to.throw(Error, /--title=taskpool/);
      } finally {
        process.execArgv = execArgv;
      }
      const error = await rejectionOf(executor.submit('add', 1, 2));
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect((error as Error).message).to.match(/as a worker thread could not be started \(.*--title=taskpool.*\): check its options/);
    });
  });

  describe('workers', () => {
    it('starts minWorkers at once and keeps them however long they idle', async () => {
      const { executor } = workerPool({ maxWorkers: 3, minWorkers: 2, idleTimeout: 0 });
      expect(executor.workerCount).to.equal(2);
      const futures = [1, 2, 3].map((n) => executor.submit('add', n, n));
      await Promise.resolve(); // each task is handed to a worker from a microtask
      expect(executor.workerCount).to.equal(3);
      expect(await Promise.all(futures)).to.deep.equal([2, 4, 6]);
      await eventually(() => executor.workerCount === 2);
      expect(await executor.submit('add', 0, 0)).to.equal(0);
    });

    it('lets an idle worker exit after idleTimeout', async () => {
      const { executor } = workerPool({ maxWorkers: 1, idleTimeout: 20 });
      expect(executor.workerCount).to.equal(0);
      await executor.submit('add', 1, 1);
      await executor.submit('add', 1, 1);
      expect(executor.workerCount).to.equal(1);
      await eventually(() => executor.workerCount === 0);
      expect(await executor.submit('add', 2, 2)).to.equal(4);
    });

    it('leaves no worker alive once shutdown resolves', async () => {
      const { executor, board } = workerPool({ maxWorkers: 3, minWorkers: 1 });
      const running = executor.run('gated', [0]);
      await executor.submit('add', 1, 1);
      await board.started(0);
      expect(executor.workerCount).to.equal(2);
      const done = executor.shutdown();
      expect(() => executor.submit('add', 1, 1)).to.throw(ExecutorShutdownError);
      board.release(0);
      await done;
      expect(running.state).to.equal('fulfilled');
      expect(executor.workerCount).to.equal(0);
    });

    it('runs queued tasks after shutdown without cancelFutures, then lets every worker go', async () => {
      const { executor, board } = workerPool({ maxWorkers: 1 });
      const first = executor.run('gated', [0]);
      const second = executor.submit('add', 2, 3);
      await executor.shutdown({ wait: false });
      board.release(0);
      expect(await first).to.equal(0);
      expect(await second).to.equal(5);
      await eventually(() => executor.workerCount === 0);
    });

    it('does not keep the process alive with idle workers, or after shutdown', async function () {
      this.timeout(10_000);
      const entry = new URL('../lib/worker/index.js', import.meta.url).href;
      const script = `
        import { WorkerPoolExecutor } from ${JSON.stringify(entry)};
        const idle = new WorkerPoolExecutor({ filename: ${JSON.stringify(TASKS.href)}, minWorkers: 1, idleTimeout: Infinity });
        const busy = new WorkerPoolExecutor({ filename: ${JSON.stringify(TASKS.href)} });
        console.log(await idle.submit('add', 1, 2), await busy.submit('addAsync', 2, 3));
        const late = busy.submit('addAsync', 3, 4);
        busy.shutdown({ wait: false });
        late.then((value) => console.log(value));
      `;
      const output = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 8_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        );
      });
      expect(output).to.equal('3 5\n7\n');
    });
  });

  describe('options', () => {
    it('defaults maxWorkers to the available parallelism', () => {
      expect(workerPool().executor.maxWorkers).to.equal(availableParallelism());
    });

    it('rejects bad options, naming them', () => {
      const make = (options: unknown) => () => new WorkerPoolExecutor(options as never);
      expect(make(undefined)).to.throw(TypeError, /Cannot create WorkerPoolExecutor as 'filename' must be a path or file URL of the task module: current value is undefined/);
      expect(make({ filename: 42 })).to.throw(TypeError, /'filename'.*current value is 42/);
      expect(make({ filename: TASKS, maxWorkers: 2, minWorkers: 3 })).to.throw(RangeError, /'minWorkers' must be an integer from 0 to maxWorkers \(2\): current value is 3/);
      expect(make({ filename: TASKS, minWorkers: -1 })).to.throw(RangeError, /'minWorkers'/);
      expect(make({ filename: TASKS, minWorkers: '1' })).to.throw(TypeError, /'minWorkers'.*current value is "1"/);
      expect(make({ filename: TASKS, idleTimeout: -1 })).to.throw(RangeError, /'idleTimeout'/);
      expect(make({ filename: TASKS, resourceLimits: 5 })).to.throw(TypeError, /'resourceLimits' must be an object: current value is 5/);
      expect(make({ filename: TASKS, env: 'PATH' })).to.throw(TypeError, /'env' must be an object or SHARE_ENV/);
      expect(make({ filename: TASKS, workerData: () => 1 })).to.throw(TypeError, /'workerData' must be cloneable/);
      expect(make({ filename: TASKS, maxWorkers: 0 })).to.throw(RangeError, /'maxWorkers'/);
      expect(make({ filename: TASKS, threads: 2 })).to.throw(TypeError, /unknown key "threads"/);
    });

    it('rejects bad task names, arguments and run options', () => {
      const { executor } = workerPool();
      expect(() => executor.submit(42 as never)).to.throw(TypeError, /Cannot submit to executor '.*' as 'name' must be the name of a function exported by the task module: current value is 42/);
      expect(() => executor.submit('' as never)).to.throw(TypeError, /current value is ""/);
      expect(() => executor.run('add', 1 as never)).to.throw(TypeError, /'args' must be an array: current value is 1/);
      expect(() => executor.run('add', [1, 2], { transfer: 'buffer' as never })).to.throw(TypeError, /'transfer' must be an array/);
      expect(() => executor.run('add', [1, 2], { transfer: [], retries: 1 } as never)).to.throw(TypeError, /unknown key "retries"/);
      expect(() => executor.run('add', [1, 2], { timeout: -1 })).to.throw(RangeError, /'timeout'/);
      expect(() => executor.map(7 as never, [1])).to.throw(TypeError, /Cannot map over executor/);
      expect(() => executor.map('add', 5 as never)).to.throw(TypeError, /'iterables\[0\]'/);
    });

    it('refuses to run the worker program on the main thread', async () => {
      const error = await rejectionOf(import(new URL('../lib/worker/worker-thread.js', import.meta.url).href));
      expect((error as Error).message).to.match(/runs inside a worker thread started by WorkerPoolExecutor/);
    });

    it("types tasks by the module's exports", async () => {
      interface Tasks {
        add(a: number, b: number): number;
        addAsync(a: number, b: number): Promise<number>;
        notAFunction: number;
      }
      const { executor } = workerPool();
      const typed = executor as unknown as WorkerPoolExecutor<Tasks>;
      const sum: Future<number> = typed.submit('add', 1, 2);
      const later: Future<number> = typed.run('addAsync', [3, 4], { timeout: 5_000 });
      // @ts-expect-error: 'add' takes numbers
      expect(() => typed.submit('add', '1', 2)).not.to.throw();
      // @ts-expect-error: not a function
      expect(() => typed.submit('notAFunction')).not.to.throw();
      const mapped: number[] = [];
      for await (const value of typed.map('add', [1], [2])) mapped.push(value);
      expect([await sum, await later, mapped]).to.deep.equal([3, 7, [3]]);
    });

    it('runs a task with no arguments through run()', async () => {
      const { executor } = workerPool();
      const future: Future<unknown> = executor.run('threadId');
      expect(await future).to.be.a('number');
    });
  });
});
