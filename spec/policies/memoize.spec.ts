import { expect } from 'chai';
import { memoize, type MemoizeOptions } from '../../lib/index.js';
import { FakeClock } from '../reliability/clock.js';
import { flush, gate, type Gate } from '../helpers.js';

describe('policies: memoize', () => {
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock();
    clock.install();
  });
  afterEach(() => clock.uninstall());

  /** A function whose calls are recorded and settled by hand. */
  function controlled() {
    const calls: { args: unknown[]; gate: Gate<string> }[] = [];
    const fn = (...args: unknown[]): Promise<string> => {
      const g = gate<string>();
      calls.push({ args, gate: g });
      return g.promise;
    };
    return { fn, calls };
  }

  it('shares one call while it is in flight, then its fulfilled promise for ttl ms', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 1_000 });
    const first = cached('a');
    const second = cached('a');
    expect(second).to.equal(first);
    expect(calls).to.have.length(1);
    calls[0]!.gate.resolve('A');
    expect(await first).to.equal('A');
    clock.advance(999);
    expect(cached('a')).to.equal(first);
    expect(calls).to.have.length(1);
    clock.advance(1);
    const third = cached('a');
    expect(third).not.to.equal(first);
    expect(calls).to.have.length(2);
    expect(clock.pending).to.equal(0);
  });

  it('counts ttl from fulfilment, not from the call', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 100 });
    const first = cached('a');
    clock.advance(500);
    calls[0]!.gate.resolve('A');
    await first;
    clock.advance(99);
    expect(cached('a')).to.equal(first);
    clock.advance(1);
    expect(cached('a')).not.to.equal(first);
  });

  it('never caches a rejection', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 1_000 });
    const first = cached('a');
    expect(cached('a')).to.equal(first);
    calls[0]!.gate.reject(new Error('down'));
    await first.catch(() => {});
    const second = cached('a');
    expect(second).not.to.equal(first);
    expect(calls).to.have.length(2);
    calls[1]!.gate.resolve('A');
    expect(await second).to.equal('A');
  });

  it('with ttl 0 shares only the call in flight', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 0 });
    const first = cached('a');
    expect(cached('a')).to.equal(first);
    calls[0]!.gate.resolve('A');
    await first;
    expect(cached('a')).not.to.equal(first);
  });

  it('keys by the first argument as a Map does (objects by identity), or by key(...args)', () => {
    const { fn, calls } = controlled();
    const byFirst = memoize(fn, { ttl: 1_000 });
    const object = { id: 1 };
    byFirst(object, 'x');
    byFirst(object, 'y');
    byFirst({ id: 1 });
    byFirst(NaN);
    byFirst(NaN);
    expect(calls.map(({ args }) => args)).to.deep.equal([[object, 'x'], [{ id: 1 }], [NaN]]);

    const sum = controlled();
    const byKey = memoize((a: number, b: number) => sum.fn(a, b), { ttl: 1_000, key: (a, b) => `${a}+${b}` });
    byKey(1, 2);
    byKey(1, 2);
    byKey(1, 3);
    expect(sum.calls.map(({ args }) => args)).to.deep.equal([
      [1, 2],
      [1, 3],
    ]);
  });

  it('keeps at most maxSize fulfilled results, dropping the least recently used', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 10_000, maxSize: 2 });
    const [a, b, c] = [cached('a'), cached('b'), cached('c')];
    calls[0]!.gate.resolve('A');
    calls[1]!.gate.resolve('B');
    await flush();
    expect(cached('a')).to.equal(a); // now the most recently used
    calls[2]!.gate.resolve('C');
    await flush(); // c comes in: b goes
    expect(cached('a')).to.equal(a);
    expect(cached('c')).to.equal(c);
    expect(cached('b')).to.not.equal(b);
    expect(calls.map(({ args }) => args[0])).to.deep.equal(['a', 'b', 'c', 'b']);
  });

  it('shares every call in flight, whatever maxSize is; a failed one frees its key', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 10_000, maxSize: 1 });
    const a = cached('a');
    const b = cached('b');
    expect(cached('a')).to.equal(a);
    expect(cached('b')).to.equal(b);
    expect(calls).to.have.length(2);
    calls[0]!.gate.reject(new Error('old call'));
    await a.catch(() => undefined);
    const again = cached('a');
    expect(again).to.not.equal(a);
    expect(cached('a')).to.equal(again);
    expect(calls).to.have.length(3);
  });

  it('always returns a promise: a synchronous throw, of fn or of key, becomes a rejection', async () => {
    const thrower = memoize(
      (): number => {
        throw new Error('sync');
      },
      { ttl: 1_000 },
    );
    const rejection = thrower();
    expect(rejection).to.be.instanceOf(Promise);
    expect(await rejection.catch((error: Error) => error.message)).to.equal('sync');
    const badKey = memoize((n: number) => n, {
      ttl: 1_000,
      key: () => {
        throw new Error('key');
      },
    });
    expect(await badKey(1).catch((error: Error) => error.message)).to.equal('key');
    const plain = memoize((n: number) => n * 2, { ttl: 1_000 });
    expect(await plain(21)).to.equal(42);
  });

  it('passes this and every argument through', async () => {
    const target = {
      factor: 3,
      times: memoize(function (this: { factor: number }, n: number, plus: number = 0) {
        return n * this.factor + plus;
      }, { ttl: 1_000 }),
    };
    expect(await target.times(2, 1)).to.equal(7);
  });

  it('drops expired entries as it goes, without a timer', async () => {
    const { fn, calls } = controlled();
    const cached = memoize(fn, { ttl: 10 });
    const first = cached('a');
    calls[0]!.gate.resolve('A');
    await first;
    clock.advance(10);
    cached('b');
    cached('b');
    expect(calls).to.have.length(2);
    for (const key of ['c', 'd', 'e']) cached(key);
    expect(calls).to.have.length(5);
    expect(clock.started).to.equal(0);
  });

  describe('options', () => {
    const ACTION = 'Cannot memoize a function as';
    const cases: [unknown, unknown, typeof TypeError, string][] = [
      ['f', { ttl: 1 }, TypeError, `${ACTION} 'fn' must be a function: current value is "f"`],
      [() => 1, undefined, TypeError, `${ACTION} 'options' must be an object: current value is undefined`],
      [() => 1, {}, TypeError, `${ACTION} 'ttl' must be a non-negative number of milliseconds: current value is undefined`],
      [() => 1, { ttl: -1 }, RangeError, `${ACTION} 'ttl' must be a non-negative number of milliseconds: current value is -1`],
      [() => 1, { ttl: '1m' }, TypeError, `${ACTION} 'ttl' must be a non-negative number of milliseconds: current value is "1m"`],
      [() => 1, { ttl: 1, maxSize: 0 }, RangeError, `${ACTION} 'maxSize' must be a positive integer: current value is 0`],
      [() => 1, { ttl: 1, key: 'id' }, TypeError, `${ACTION} 'key' must be a function: current value is "id"`],
      [() => 1, { ttl: 1, size: 3 }, TypeError, `${ACTION} 'options' has an unknown key "size": the known keys are 'ttl', 'maxSize', 'key'`],
    ];
    for (const [fn, options, ErrorType, message] of cases) {
      it(`throws ${ErrorType.name}: ${message.slice(ACTION.length + 1)}`, () => {
        expect(() => memoize(fn as () => number, options as MemoizeOptions<[]>))
          .to.throw(ErrorType)
          .with.property('message', message);
      });
    }
  });
});
