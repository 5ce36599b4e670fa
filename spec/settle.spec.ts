import { expect } from 'chai';
import { CancelledError, err, isErr, isOk, ok, settle, type Result } from '../lib/index.js';
import {
  FIXTURE_VALUE,
  FixtureError,
  cancelledFuture,
  controlledFuture,
  fulfilledFuture,
  rejectedFuture,
  unhandledRejectionsDuring,
} from './fixtures.js';
import { gate, pool } from './helpers.js';

describe('Result', () => {
  it('ok and err make plain data', () => {
    expect(ok(3)).to.deep.equal({ ok: true, value: 3 });
    const error = new Error('e');
    expect(err(error)).to.deep.equal({ ok: false, error });
    expect(Object.keys(ok(1))).to.deep.equal(['ok', 'value']);
    expect(Object.keys(err(1))).to.deep.equal(['ok', 'error']);
  });

  it('isOk and isErr tell them apart', () => {
    const results: Result<number, string>[] = [ok(1), err('no'), ok(2)];
    expect(results.filter(isOk).map((r) => r.value)).to.deep.equal([1, 2]);
    expect(results.filter(isErr).map((r) => r.error)).to.deep.equal(['no']);
    expect(isOk(err(undefined))).to.equal(false);
    expect(isErr(ok(undefined))).to.equal(false);
  });

  it('survives JSON and structuredClone', () => {
    const results = [ok({ a: [1, 2] }), err('message')];
    expect(JSON.parse(JSON.stringify(results))).to.deep.equal(results);
    expect(structuredClone(results)).to.deep.equal(results);
    const cloned = structuredClone(err(new RangeError('range')));
    expect(cloned.error).to.be.instanceOf(RangeError).and.have.property('message', 'range');
  });
});

describe('settle', () => {
  describe('of a future or promise', () => {
    it('gives Ok with the value of a fulfilled future', async () => {
      expect(await settle(fulfilledFuture())).to.deep.equal({ ok: true, value: FIXTURE_VALUE });
    });

    it('gives Err with the error of a rejected future, falsy errors too', async () => {
      const result = await settle(rejectedFuture());
      expect(result.ok).to.equal(false);
      expect(!result.ok && result.error).to.be.instanceOf(FixtureError);
      for (const falsy of [undefined, null, 0, '', false]) {
        expect(await settle(rejectedFuture(falsy))).to.deep.equal({ ok: false, error: falsy });
      }
    });

    it('gives Err with the CancelledError of a cancelled future, the reason as its cause', async () => {
      const result = await settle(cancelledFuture());
      expect(!result.ok && result.error).to.be.instanceOf(CancelledError);
      const withReason = cancelledFuture('why');
      const error = await withReason.exception().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CancelledError).and.include({ message: 'why', cause: 'why' });
      expect(await settle(withReason)).to.deep.equal({ ok: false, error });
    });

    it('waits for a pending future', async () => {
      const control = controlledFuture<string>();
      const settled = settle(control.future);
      control.start();
      control.resolve('done');
      expect(await settled).to.deep.equal({ ok: true, value: 'done' });
      const failing = controlledFuture();
      const failed = settle(failing.future);
      failing.future.cancel();
      expect((await failed).ok).to.equal(false);
    });

    it('settles promises and thenables', async () => {
      expect(await settle(Promise.resolve('p'))).to.deep.equal({ ok: true, value: 'p' });
      expect(await settle(Promise.reject(0))).to.deep.equal({ ok: false, error: 0 });
      const thenable = { then: (_: unknown, reject: (e: unknown) => void) => reject('thenable') };
      expect(await settle(thenable as PromiseLike<never>)).to.deep.equal({ ok: false, error: 'thenable' });
    });

    it('settles executor futures', async () => {
      const executor = pool();
      const blocker = gate<number>();
      const future = executor.submit(() => blocker.promise);
      const settled = settle(future);
      blocker.resolve(7);
      expect(await settled).to.deep.equal({ ok: true, value: 7 });
      expect(await settle(executor.submit(() => Promise.reject(new Error('x'))))).to.have.property('ok', false);
    });

    it('never rejects and leaves no unhandled rejection', async () => {
      const seen = await unhandledRejectionsDuring(async () => {
        const results = await Promise.all([settle(Promise.reject(new Error('a'))), settle(rejectedFuture()), settle(cancelledFuture())]);
        expect(results.map((r) => r.ok)).to.deep.equal([false, false, false]);
      });
      expect(seen).to.deep.equal([]);
    });

    for (const [bad, shown] of [[42, '42'], [null, 'null'], [undefined, 'undefined'], [{ then: 'no' }, '{"then":"no"}']] as const) {
      it(`throws a TypeError for ${shown}`, () => {
        expect(() => settle(bad as never)).to.throw(TypeError, `Cannot settle as 'future' must be a future or promise: current value is ${shown}`);
      });
    }
  });

  describe('of a function', () => {
    it('wraps a sync function', async () => {
      const add = settle((a: number, b: number) => a + b);
      expect(await add(1, 2)).to.deep.equal({ ok: true, value: 3 });
    });

    it('turns a synchronous throw into Err, falsy ones too', async () => {
      const error = new Error('sync');
      expect(
        await settle(() => {
          throw error;
        })(),
      ).to.deep.equal({ ok: false, error });
      expect(
        await settle(() => {
          throw undefined;
        })(),
      ).to.deep.equal({ ok: false, error: undefined });
    });

    it('wraps an async function and its rejection', async () => {
      expect(await settle(async (s: string) => s.toUpperCase())('a')).to.deep.equal({ ok: true, value: 'A' });
      expect(await settle(() => Promise.reject(0))()).to.deep.equal({ ok: false, error: 0 });
    });

    it('passes this through', async () => {
      const object = {
        base: 10,
        plus: settle(function (this: { base: number }, n: number) {
          return this.base + n;
        }),
      };
      expect(await object.plus(5)).to.deep.equal({ ok: true, value: 15 });
    });

    it('keeps a map going past errors', async () => {
      const executor = pool({ maxWorkers: 2 });
      const results: Result<number>[] = [];
      const half = settle((n: number) => {
        if (n % 2 === 1) throw new RangeError(`odd ${n}`);
        return n / 2;
      });
      for await (const result of executor.map(half, [0, 1, 2, 3])) results.push(result);
      expect(results.map((r) => (r.ok ? r.value : (r.error as Error).message))).to.deep.equal([0, 'odd 1', 1, 'odd 3']);
    });

    it('treats a function that is also a thenable as a thenable', async () => {
      const fnThenable = Object.assign(() => 'called', { then: (resolve: (v: string) => void) => resolve('awaited') });
      expect(await settle(fnThenable as unknown as PromiseLike<string>)).to.deep.equal({ ok: true, value: 'awaited' });
    });
  });
});
