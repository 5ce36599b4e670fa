/**
 * The checks of `WorkerPoolExecutor`'s options that Node would not make, or would make only
 * once a worker starts and then blame the module: `resourceLimits` first.
 */
import { expect } from 'chai';
import type { WorkerOptions } from 'node:worker_threads';
import { BrokenExecutorError } from '../lib/index.js';
import { startFailure } from '../lib/worker/options.js';
import { WorkerPoolExecutor } from '../lib/worker/index.js';
import { rejectionOf } from './fixtures.js';
import { cleanupWorkerPools, TASKS, workerPool } from './fixtures/worker/harness.js';

const make = (resourceLimits: unknown) => () => new WorkerPoolExecutor({ filename: TASKS, resourceLimits: resourceLimits as never });

describe('WorkerPoolExecutor options', () => {
  afterEach(cleanupWorkerPools);

  describe('resourceLimits', () => {
    it('must be an object', () => {
      expect(make(5)).to.throw(TypeError, /^Cannot create WorkerPoolExecutor as 'resourceLimits' must be an object: current value is 5$/);
      expect(make(null)).to.throw(TypeError, /'resourceLimits' must be an object: current value is null$/);
      expect(make([1])).to.throw(TypeError, /'resourceLimits' must be an object: current value is \[1\]$/);
    });

    it('has only the keys Node knows, named in the message', () => {
      expect(make({ maxOldGenerationSizeMB: 64 })).to.throw(
        TypeError,
        /^Cannot create WorkerPoolExecutor as 'resourceLimits' has an unknown key "maxOldGenerationSizeMB": the known keys are 'maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'$/,
      );
    });

    for (const key of ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb']) {
      it(`${key}: a positive number of megabytes`, () => {
        for (const value of [-1, 0, Number.NaN, Infinity]) {
          expect(make({ [key]: value })).to.throw(RangeError, new RegExp(`^Cannot create WorkerPoolExecutor as 'resourceLimits\\.${key}' must be a positive number of megabytes: current value is ${String(value)}$`));
        }
        expect(make({ [key]: '64' })).to.throw(TypeError, new RegExp(`'resourceLimits\\.${key}' must be a positive number of megabytes: current value is "64"$`));
        expect(make({ [key]: 64n })).to.throw(TypeError, new RegExp(`'resourceLimits\\.${key}'.*current value is 64n$`));
        expect(make({ [key]: 0.5 })).not.to.throw();
      });
    }

    it('stackSizeMb: from 1 to 1024 megabytes (a smaller or huge stack takes the process down)', () => {
      for (const value of [0, 0.01, -4, 1025, 1e9, Number.NaN]) {
        expect(make({ stackSizeMb: value })).to.throw(RangeError, new RegExp(`^Cannot create WorkerPoolExecutor as 'resourceLimits\\.stackSizeMb' must be a number of megabytes from 1 to 1024: current value is ${String(value)}$`));
      }
      expect(make({ stackSizeMb: '4' })).to.throw(TypeError, /'resourceLimits\.stackSizeMb'.*current value is "4"$/);
      expect(make({ stackSizeMb: 1 })).not.to.throw();
      expect(make({ stackSizeMb: 1024 })).not.to.throw();
    });

    it('undefined values are left out; each value is read once, and the workers get what was checked', async () => {
      let reads = 0;
      const limits = {
        maxYoungGenerationSizeMb: undefined,
        get maxOldGenerationSizeMb(): number {
          reads++;
          return reads === 1 ? 256 : -1;
        },
      };
      const { executor } = workerPool({ resourceLimits: limits, maxWorkers: 1 });
      expect(reads).to.equal(1);
      expect(await executor.submit('add', 1, 2)).to.equal(3);
      expect(reads).to.equal(1);
    });

    it('a pool within valid limits runs tasks (stackSizeMb 1 included)', async () => {
      const { executor } = workerPool({ resourceLimits: { stackSizeMb: 1, maxOldGenerationSizeMb: 256 }, maxWorkers: 1 });
      expect(await executor.submit('fib', 10)).to.equal(55);
    });
  });

  describe('a worker that cannot start for a reason of its options', () => {
    it('startFailure names the limits when a worker ran out of memory while starting, and nothing else', () => {
      const oom = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });
      const options: WorkerOptions = { resourceLimits: { maxOldGenerationSizeMb: 1 } };
      expect(startFailure(oom, options)).to.equal(
        `it ran out of memory while starting, under 'resourceLimits' {"maxOldGenerationSizeMb":1}: raise them (Worker terminated due to reaching memory limit: JS heap out of memory)`,
      );
      expect(startFailure(oom, {})).to.match(/^it ran out of memory while starting, under the default limits: raise them/);
      expect(startFailure(new Error('Cannot find module'), options)).to.equal(undefined);
      expect(startFailure(undefined, options)).to.equal(undefined);
      expect(startFailure(null, options)).to.equal(undefined);
    });

    it('breaks the executor with a BrokenExecutorError (a heap too small to start in)', async () => {
      const { executor } = workerPool({ resourceLimits: { maxOldGenerationSizeMb: 1 }, maxWorkers: 1 });
      const error = await rejectionOf(executor.submit('add', 1, 2));
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect((error as Error).message).to.match(/memory/);
    });

    // Pending until WorkerPoolExecutor blames the options when startFailure() names a reason
    // (today the message says the module could not be loaded).
    it('says that the worker could not start under its resourceLimits, not that the module could not be loaded', async () => {
      const { executor } = workerPool({ resourceLimits: { maxOldGenerationSizeMb: 1 }, maxWorkers: 1, name: 'tiny' });
      const error = await rejectionOf(executor.submit('add', 1, 2));
      expect(error).to.be.instanceOf(BrokenExecutorError);
      expect((error as Error).message).to.match(
        /^Cannot run tasks on executor 'tiny' as a worker thread could not be started \(it ran out of memory while starting, under 'resourceLimits' \{"maxOldGenerationSizeMb":1\}: raise them \(.*\)\): check its options, then create a new executor$/,
      );
      expect((error as Error).message).not.to.match(/could not be loaded/);
    });
  });
});
