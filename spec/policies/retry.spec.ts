import { expect } from 'chai';
import { BrokenCircuitError, CancelledError, settle, TaskPoolExecutor, TimeoutError } from '../../lib/index.js';
import { capturingConsoleError } from '../fixtures.js';
import { checkRetry, isRetryable, RetryPolicy, type RetryOptions } from '../../lib/policies/retry.js';

const ACTION = 'run a task';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

function policy(options: RetryOptions, random?: () => number): RetryPolicy {
  checkRetry(options, ACTION, 'retry');
  return new RetryPolicy(options, random);
}

describe('policies: retry', () => {
  describe('checkRetry', () => {
    const cases: [unknown, typeof TypeError, string][] = [
      [5, TypeError, "Cannot run a task as 'retry' must be an object: current value is 5"],
      [null, TypeError, "Cannot run a task as 'retry' must be an object: current value is null"],
      [{ attempt: 2 }, TypeError, `Cannot run a task as 'retry' has an unknown key "attempt": the known keys are 'attempts', 'backoff', 'retryIf', 'onRetry'`],
      [{ attempts: 0 }, RangeError, "Cannot run a task as 'retry.attempts' must be a positive integer or Infinity: current value is 0"],
      [{ attempts: 1.5 }, RangeError, "Cannot run a task as 'retry.attempts' must be a positive integer or Infinity: current value is 1.5"],
      [{ attempts: '3' }, TypeError, `Cannot run a task as 'retry.attempts' must be a positive integer or Infinity: current value is "3"`],
      [{ backoff: -1 }, RangeError, "Cannot run a task as 'retry.backoff' must be a non-negative finite number of milliseconds: current value is -1"],
      [{ backoff: Infinity }, RangeError, "Cannot run a task as 'retry.backoff' must be a non-negative finite number of milliseconds: current value is Infinity"],
      [{ backoff: 'fast' }, TypeError, `Cannot run a task as 'retry.backoff' must be a number of milliseconds, an object or a function: current value is "fast"`],
      [{ backoff: { jitter: 'half' } }, RangeError, `Cannot run a task as 'retry.backoff.jitter' must be one of 'full', 'equal', 'decorrelated', 'none': current value is "half"`],
      [{ backoff: { jitter: 1 } }, TypeError, `Cannot run a task as 'retry.backoff.jitter' must be one of 'full', 'equal', 'decorrelated', 'none': current value is 1`],
      [{ backoff: { initial: -5 } }, RangeError, "Cannot run a task as 'retry.backoff.initial' must be a non-negative finite number of milliseconds: current value is -5"],
      [{ backoff: { max: NaN } }, RangeError, "Cannot run a task as 'retry.backoff.max' must be a non-negative finite number of milliseconds: current value is NaN"],
      [{ backoff: { factor: '2' } }, TypeError, `Cannot run a task as 'retry.backoff.factor' must be a finite number of 1 or more: current value is "2"`],
      [{ backoff: { initial: '5' } }, TypeError, `Cannot run a task as 'retry.backoff.initial' must be a non-negative finite number of milliseconds: current value is "5"`],
      [{ backoff: { factor: 0.5 } }, RangeError, "Cannot run a task as 'retry.backoff.factor' must be a finite number of 1 or more: current value is 0.5"],
      [{ backoff: { initial: 500, max: 100 } }, RangeError, "Cannot run a task as 'retry.backoff.max' must be at least 'retry.backoff.initial' (500): current value is 100"],
      [{ backoff: { delay: 5 } }, TypeError, `Cannot run a task as 'retry.backoff' has an unknown key "delay": the known keys are 'initial', 'max', 'factor', 'jitter'`],
      [{ retryIf: true }, TypeError, "Cannot run a task as 'retry.retryIf' must be a function: current value is true"],
      [{ onRetry: 'log' }, TypeError, `Cannot run a task as 'retry.onRetry' must be a function: current value is "log"`],
    ];
    for (const [value, ErrorType, message] of cases) {
      it(`throws ${ErrorType.name} for ${JSON.stringify(value) ?? String(value)}`, () => {
        expect(() => checkRetry(value, ACTION, 'retry'))
          .to.throw(ErrorType)
          .with.property('message', message);
      });
    }

    it('accepts every documented form', () => {
      for (const value of [{}, { attempts: 3 }, { backoff: 0 }, { backoff: 250 }, { backoff: () => 1 }, { backoff: {} }, { backoff: { initial: 0, max: 0 } }, { backoff: { max: 50 } }, { backoff: { initial: 40_000 } }]) {
        expect(() => checkRetry(value, ACTION, 'retry')).not.to.throw();
      }
      expect(() => checkRetry({ attempts: undefined, backoff: { jitter: undefined } }, ACTION, 'retry')).not.to.throw();
    });
  });

  describe('shouldRetry', () => {
    it('defaults to one attempt: no retry', () => {
      const retry = policy({});
      expect(retry.attempts).to.equal(1);
      expect(retry.shouldRetry(new Error('x'), 1)).to.equal(false);
    });

    it('retries until the attempts are used up', () => {
      const retry = policy({ attempts: 3 });
      expect(retry.shouldRetry(new Error('x'), 1)).to.equal(true);
      expect(retry.shouldRetry(new Error('x'), 2)).to.equal(true);
      expect(retry.shouldRetry(new Error('x'), 3)).to.equal(false);
    });

    it('retries every failure but a cancellation and a refusal by a breaker by default', () => {
      const retry = policy({ attempts: 5 });
      for (const error of [new Error('x'), new TimeoutError(), undefined, 0, null, 'text']) expect(retry.shouldRetry(error, 1)).to.equal(true);
      expect(retry.shouldRetry(new CancelledError(), 1)).to.equal(false);
      expect(retry.shouldRetry(new BrokenCircuitError(), 1)).to.equal(false);
      expect(isRetryable(new CancelledError())).to.equal(false);
    });

    it('asks retryIf with the error and the attempt that just failed, and only while attempts remain', () => {
      const calls: [unknown, number][] = [];
      const error = new Error('x');
      const retry = policy({ attempts: 3, retryIf: (e, attempt) => (calls.push([e, attempt]), attempt === 1) });
      expect(retry.shouldRetry(error, 1)).to.equal(true);
      expect(retry.shouldRetry(error, 2)).to.equal(false);
      expect(retry.shouldRetry(error, 3)).to.equal(false);
      expect(calls).to.deep.equal([
        [error, 1],
        [error, 2],
      ]);
    });

    it('takes attempts: Infinity, retrying until something else stops it', async () => {
      expect(policy({ attempts: Infinity }).shouldRetry(new Error('x'), 1_000_000)).to.equal(true);
      const pool = new TaskPoolExecutor({ retry: { attempts: Infinity, backoff: 0 } });
      let calls = 0;
      expect(await pool.submit(() => (++calls < 6 ? Promise.reject(new Error(`call ${calls}`)) : calls))).to.equal(6);
      expect(policy({ attempts: Infinity, retryIf: (_, attempt) => attempt < 3 }).shouldRetry(new Error('x'), 3)).to.equal(false);
      await pool.shutdown();
    });

    it('retries a cancellation when retryIf says so', () => {
      expect(policy({ attempts: 2, retryIf: () => true }).shouldRetry(new CancelledError(), 1)).to.equal(true);
    });

    it('throws a TypeError when retryIf gives anything but a boolean (an async retryIf, say), and the executor then reports it and does not retry', async () => {
      const error = new Error('x');
      expect(() => policy({ attempts: 2, retryIf: () => 1 as never }).shouldRetry(error, 1)).to.throw(TypeError, "'retryIf' must return a boolean: it returned 1");
      expect(() => policy({ attempts: 2, retryIf: (async () => true) as never }).shouldRetry(error, 1)).to.throw(TypeError, "'retryIf' must return a boolean: it returned Promise {}");
      expect(policy({ attempts: 1, retryIf: () => 1 as never }).shouldRetry(error, 1)).to.equal(false);
      const pool = new TaskPoolExecutor({ name: 'strict', retry: { attempts: 3, backoff: 0, retryIf: (async () => true) as never } });
      let calls = 0;
      const reports = await capturingConsoleError(async () => {
        const outcome = await settle(
          pool.submit(() => {
            calls++;
            throw error;
          }),
        );
        expect(!outcome.ok && outcome.error).to.equal(error);
      });
      await pool.shutdown();
      expect(calls).to.equal(1);
      expect(reports).to.have.length(1);
      expect(reports[0]![0]).to.equal("taskpool: the retry policy of a task on executor 'strict' threw, so the task is not retried:");
      expect(String(reports[0]![1])).to.equal("TypeError: 'retryIf' must return a boolean: it returned Promise {}");
    });

    it('exposes onRetry for the scheduler', () => {
      const onRetry = (): void => {};
      expect(policy({ onRetry }).onRetry).to.equal(onRetry);
      expect(policy({}).onRetry).to.equal(undefined);
    });
  });

  describe('delay', () => {
    it('waits a fixed number of milliseconds', () => {
      const retry = policy({ attempts: 5, backoff: 250 });
      expect([1, 2, 3].map((attempt) => retry.delay(attempt, new Error(), 250))).to.deep.equal([250, 250, 250]);
    });

    it("defaults to { initial: 100, max: 30_000, factor: 2, jitter: 'full' }", () => {
      const retry = policy({ attempts: 20 }, () => 0.5);
      expect([1, 2, 3, 10].map((attempt) => retry.delay(attempt, undefined, undefined))).to.deep.equal([50, 100, 200, 15_000]);
      const top = policy({ attempts: 20 }, () => 0.999_999);
      expect(top.delay(20, undefined, undefined)).to.be.closeTo(30_000, 0.1);
    });

    it('takes one bound alone with the other at its default, the delay capped as always: { max: 50 } waits 50 ms, { initial: 40_000 } 30 s', () => {
      const capped = policy({ attempts: 5, backoff: { max: 50, jitter: 'none' } });
      expect([1, 2, 3].map((attempt) => capped.delay(attempt, undefined, undefined))).to.deep.equal([50, 50, 50]);
      const small = policy({ attempts: 5, backoff: { max: 500, jitter: 'none' } });
      expect([1, 2, 3, 4].map((attempt) => small.delay(attempt, undefined, undefined))).to.deep.equal([100, 200, 400, 500]);
      const slow = policy({ attempts: 5, backoff: { initial: 40_000, jitter: 'none' } });
      expect([1, 2].map((attempt) => slow.delay(attempt, undefined, undefined))).to.deep.equal([30_000, 30_000]);
      const decorrelated = policy({ attempts: 5, backoff: { max: 50, jitter: 'decorrelated' } }, () => 0.5);
      expect(decorrelated.delay(1, undefined, undefined)).to.equal(50);
    });

    it("'none' grows by factor up to max", () => {
      const retry = policy({ backoff: { initial: 10, factor: 3, max: 200, jitter: 'none' } });
      expect([1, 2, 3, 4, 5].map((attempt) => retry.delay(attempt, undefined, undefined))).to.deep.equal([10, 30, 90, 200, 200]);
    });

    it("'full' is random(0, d)", () => {
      const retry = policy({ backoff: { initial: 100, jitter: 'full' } }, sequence(0, 0.25));
      expect(retry.delay(3, undefined, undefined)).to.equal(0);
      expect(retry.delay(3, undefined, undefined)).to.equal(100);
    });

    it("'equal' is d/2 + random(0, d/2)", () => {
      const retry = policy({ backoff: { initial: 100, jitter: 'equal' } }, sequence(0, 0.5));
      expect(retry.delay(2, undefined, undefined)).to.equal(100);
      expect(retry.delay(2, undefined, undefined)).to.equal(150);
    });

    it("'decorrelated' is min(max, random(initial, previous * 3)), from initial", () => {
      const retry = policy({ backoff: { initial: 100, max: 1_000, jitter: 'decorrelated' } }, sequence(0, 1, 0.5));
      expect(retry.delay(1, undefined, undefined)).to.equal(100);
      expect(retry.delay(2, undefined, 100)).to.equal(300);
      expect(retry.delay(3, undefined, 300)).to.equal(500);
      expect(policy({ backoff: { initial: 100, max: 1_000, jitter: 'decorrelated' } }, () => 0.9).delay(9, undefined, 900)).to.equal(1_000);
    });

    it('asks a backoff function with the failed attempt and its error; undefined stops', () => {
      const seen: unknown[] = [];
      const error = new Error('throttled');
      const retry = policy({ attempts: 5, backoff: (info) => (seen.push(info), info.attempt < 2 ? 1_000 : undefined) });
      expect(retry.delay(1, error, undefined)).to.equal(1_000);
      expect(retry.delay(2, error, 1_000)).to.equal(undefined);
      expect(seen).to.deep.equal([
        { attempt: 1, error },
        { attempt: 2, error },
      ]);
    });

    it('refuses a bad value from a backoff function, naming it', () => {
      expect(() => policy({ backoff: () => -1 }).delay(1, undefined, undefined))
        .to.throw(RangeError)
        .with.property(
          'message',
          "Cannot wait before the next attempt as the value returned by 'retry.backoff' must be undefined or a non-negative finite number of milliseconds: current value is -1",
        );
      expect(() => policy({ backoff: () => '5' as unknown as number }).delay(1, undefined, undefined)).to.throw(TypeError);
    });
  });
});
